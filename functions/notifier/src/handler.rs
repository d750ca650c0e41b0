use aegis_core::alert::{Notification, Status};
use aegis_core::events::{
    self, AnalysisCompleted, AnalysisRequested, AttributesReader, Event, Notice, Origin, Outcome,
    Payload, Received,
};
use aegis_feishu::{self as feishu, Outgoing, ReceiveIdType, Sent, message_uuid};
use axum::extract::State;
use axum::response::Response;

use crate::inbound::Inbound;
use crate::{NAME, Notifier, NotifyError, alert_card, request, result_card, route};

/// Where cards go in local use (the console messenger) when no chat is configured.
const LOCAL_CHAT: &str = "console";

/// One event in, at most one Feishu message out (plus, for severe firing alerts, the
/// reply event asking for an analysis). Every send carries a uuid derived from the
/// event id and its purpose, so a redelivery never posts twice.
pub async fn receive(
    State(app): State<Notifier>,
    Received { event, data }: Received<Inbound>,
) -> Result<Response, NotifyError> {
    match data {
        Inbound::Alert(n) => alert_group(&app, &event, n).await,
        Inbound::Requested(req) => analysis_requested(&app, &event, req).await,
        Inbound::Completed(done) => analysis_completed(&app, &event, done).await,
    }
}

/// The alert card, then (policy permitting) the automatic analysis request.
async fn alert_group(
    app: &Notifier,
    event: &Event,
    n: Notification,
) -> Result<Response, NotifyError> {
    n.validate()
        .map_err(|e| NotifyError::Malformed(e.to_string()))?;
    let id = event.id();
    // Held until the card is posted (or handed back), so the group's next card waits.
    let _turn = app
        .order
        .turn(&format!("group/{}", n.group_key), made(event))
        .await;
    let chat = route::chat_for(&n, &app.feishu).or(app.local.then_some(LOCAL_CHAT));
    let posted = match app.store.get_card(id).await {
        Ok(Some(message_id)) => {
            tracing::info!(event.id = %id, %message_id, "alert card already posted; not posting again");
            Some(message_id)
        }
        Ok(None) => None,
        Err(e) => {
            // The send's uuid still keeps a redelivery from posting twice.
            tracing::warn!(event.id = %id, error = %e, "card lookup failed; sending anyway");
            None
        }
    };
    let card_id = match posted {
        Some(message_id) => Some(message_id),
        None => {
            let Some(chat) = chat else {
                tracing::error!(event.id = %id, "no chat for this alert group: set FEISHU_DEFAULT_CHAT_ID or a matching AEGIS_CHAT_ROUTES entry; card dropped");
                return Ok(events::accepted());
            };
            let card = alert_card::render(&n, &app.style, chrono::Utc::now());
            let sent = app
                .messenger
                .send(
                    ReceiveIdType::ChatId,
                    chat,
                    &Outgoing::Card(card),
                    &message_uuid(id, "card"),
                )
                .await;
            let sent = delivered(&app.sends, sent, id, "alert card")?;
            if let Some(sent) = &sent {
                tracing::info!(event.id = %id, chat, message_id = %sent.message_id, status = n.status.as_str(), "alert card posted");
                if let Err(e) = app.store.put_card(id, &sent.message_id).await {
                    tracing::warn!(event.id = %id, error = %e, "card id not stored; analyses will post without a parent");
                }
            }
            sent.map(|s| s.message_id)
        }
    };
    let Some(card_id) = card_id else {
        return Ok(events::accepted());
    };
    if n.status == Status::Firing && app.auto_analyzes(&n) {
        let data = request::for_alert(&n, id, chat, &card_id, chrono::Utc::now());
        let reply = data
            .to_event(NAME, data.request_id.clone())
            .map_err(NotifyError::Encode)?;
        tracing::info!(event.id = %id, request_id = %data.request_id, "automatic analysis requested");
        return Ok(events::reply(reply));
    }
    Ok(events::accepted())
}

/// A chat question: acknowledge it under the user's message.
async fn analysis_requested(
    app: &Notifier,
    event: &Event,
    req: AnalysisRequested,
) -> Result<Response, NotifyError> {
    if req.origin != Origin::Feishu {
        return Ok(events::accepted());
    }
    let _turn = app
        .order
        .turn(&format!("request/{}", req.request_id), made(event))
        .await;
    let message = Outgoing::Text(result_card::ACK.to_string());
    let uuid = message_uuid(event.id(), "ack");
    let sent = match (&req.reply_to.message_id, &req.reply_to.chat_id) {
        (Some(parent), _) => app.messenger.reply(parent, &message, &uuid, false).await,
        (None, Some(chat)) => {
            app.messenger
                .send(ReceiveIdType::ChatId, chat, &message, &uuid)
                .await
        }
        (None, None) => {
            return Err(NotifyError::Malformed(
                "a chat request needs reply_to.message_id or reply_to.chat_id".into(),
            ));
        }
    };
    delivered(&app.sends, sent, event.id(), "acknowledgement")?;
    Ok(events::accepted())
}

/// Size of the card's chart, in pixels.
const CARD_CHART: (u32, u32) = (640, 240);

/// The top candidate's key series drawn as PNG and uploaded; its image key. `None`
/// when there is nothing to draw or the upload fails: the card goes out without it.
async fn chart_image(app: &Notifier, report: &aegis_core::report::Report) -> Option<String> {
    let chart = result_card::top_chart(report)?;
    let png = match aegis_view::chart::png(chart, report.clock(), CARD_CHART.0, CARD_CHART.1) {
        Ok(png) => png,
        Err(e) => {
            tracing::warn!(report = %report.id, error = %e, "the card's chart could not be drawn");
            return None;
        }
    };
    match app.messenger.upload_image(&png).await {
        Ok(key) => Some(key),
        Err(e) => {
            tracing::warn!(report = %report.id, error = %e, "the card's chart was not uploaded; sending the card without it");
            None
        }
    }
}

/// A finished analysis: the result card (or the apology) under the alert card or the
/// question; or a notice for the asker, posted as it is.
async fn analysis_completed(
    app: &Notifier,
    event: &Event,
    done: AnalysisCompleted,
) -> Result<Response, NotifyError> {
    // After the question's acknowledgement, should the result overtake it.
    let _turn = app
        .order
        .turn(&format!("request/{}", done.request_id), made(event))
        .await;
    let (message, what) = match (done.outcome, &done.report) {
        (Outcome::Ok, Some(report)) => {
            let chart = chart_image(app, report).await;
            (
                result_card::render(report, done.report_url.as_deref(), chart.as_deref()),
                RESULT,
            )
        }
        (Outcome::Ok, None) => {
            return Err(NotifyError::Malformed("outcome ok without a report".into()));
        }
        (Outcome::Notice, _) => match &done.notice {
            Some(notice) => (result_card::notice(notice), NOTICE),
            None => {
                return Err(NotifyError::Malformed(
                    "outcome notice without a notice".into(),
                ));
            }
        },
        (Outcome::Failed, _) => match done.failure.as_ref().and_then(failure_as_notice) {
            Some(notice) => (result_card::notice(&notice), NOTICE),
            None => (result_card::apology(done.failure.as_ref()), RESULT),
        },
    };
    tracing::info!(event.id = %event.id(), request_id = %done.request_id, outcome = done.outcome.as_str(), what, "posting the completion");
    let parent = match (&done.reply_to.message_id, &done.reply_to.alert_event_id) {
        (Some(message_id), _) => Some(message_id.clone()),
        (None, Some(alert_event_id)) => app
            .store
            .get_card(alert_event_id)
            .await
            .map_err(NotifyError::Store)?,
        (None, None) => None,
    };
    let uuid = message_uuid(event.id(), "result");
    let sent = match (parent, &done.reply_to.chat_id) {
        (Some(parent), _) => app.messenger.reply(&parent, &message, &uuid, false).await,
        (None, Some(chat)) => {
            app.messenger
                .send(ReceiveIdType::ChatId, chat, &message, &uuid)
                .await
        }
        (None, None) => {
            if done.origin != Origin::Api {
                tracing::warn!(event.id = %event.id(), request_id = %done.request_id, "analysis finished with nowhere to post it");
            }
            return Ok(events::accepted());
        }
    };
    delivered(&app.sends, sent, event.id(), what)?;
    Ok(events::accepted())
}

/// `what` on `aegis_feishu_sends_total` for a result card or an apology.
const RESULT: &str = "analysis result";
/// `what` for a notice: it is no analysis result, so help and refusals are not
/// counted as one.
const NOTICE: &str = "notice";

/// A notice in the shape it had before `Outcome::Notice`: a `failed` completion whose
/// failure kind names a notice, the message being the reply. feishu-event-handler sent
/// its notices so, and events already in flight during an upgrade (or waiting in a
/// dead letter sink) still arrive so; analyze's own `invalid` failure (a request that
/// failed validation) still does, and was always posted as it is.
fn failure_as_notice(failure: &aegis_core::events::Failure) -> Option<Notice> {
    matches!(
        failure.kind.as_str(),
        "usage" | "forbidden" | "busy" | "invalid"
    )
    .then(|| Notice {
        kind: failure.kind.clone(),
        text: failure.message.clone(),
    })
}

/// When `event` was made (its `time`; now if it has none).
fn made(event: &Event) -> chrono::DateTime<chrono::Utc> {
    event.time().copied().unwrap_or_else(chrono::Utc::now)
}

/// A send's outcome as the broker should see it: retryable failures become errors
/// (429/503, redelivered); permanent ones are logged with Feishu's code and message
/// and dropped, so a rejected card is not retried forever.
fn delivered(
    sends: &crate::Sends,
    result: Result<Sent, feishu::Error>,
    event_id: &str,
    what: &str,
) -> Result<Option<Sent>, NotifyError> {
    sends.record(what, result.as_ref().map(|_| ()));
    match result {
        Ok(sent) => Ok(Some(sent)),
        Err(e) if e.is_retryable() => Err(NotifyError::Feishu(e)),
        Err(e) => {
            tracing::error!(event.id = %event_id, error = %e, what, "Feishu refused the message for good; dropped");
            Ok(None)
        }
    }
}
