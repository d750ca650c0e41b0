use aegis_core::alert::{Notification, Status};
use aegis_core::events::{
    self, AnalysisCompleted, AnalysisRequested, AttributesReader, Event, Notice, Origin, Outcome,
    Payload, Received,
};
use aegis_feishu::{self as feishu, Outgoing, ReceiveIdType, Sent, message_uuid};
use axum::extract::State;
use axum::response::Response;

use crate::inbound::Inbound;
use crate::{
    NAME, Notifier, NotifyError, Style, alert_card, incident_card, request, result_card, route,
};

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

/// The alert group joins its incident (or opens one): the first group's card opens
/// the incident's thread (`@all` once), later groups go into that thread and the
/// incident's card is updated in place; then, policy permitting, the incident's
/// analysis is asked for (once, or again when the incident grew).
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
    let Some(chat) = route::chat_for(&n, &app.feishu).or(app.local.then_some(LOCAL_CHAT)) else {
        tracing::error!(event.id = %id, "no chat for this alert group: set FEISHU_DEFAULT_CHAT_ID or a matching AEGIS_CHAT_ROUTES entry; card dropped");
        return Ok(events::accepted());
    };
    let now = chrono::Utc::now();
    let assigned = app
        .incidents
        .assign(&n, id, Some(chat), made(event))
        .await
        .map_err(NotifyError::Incident)?;
    let mut incident = assigned.incident;
    tracing::info!(event.id = %id, incident = %incident.id, opened = assigned.opened, "alert group assigned to its incident");
    if incident.card.is_none() && !assigned.opened {
        // The opener is posting the card: wait for it rather than post it again.
        if let Some(posted) = wait_for_card(app, &incident.id).await? {
            incident = posted;
        }
    }
    let root = match &incident.card {
        Some(card) => Some(card.clone()),
        None => {
            // Whoever needs the card first posts it; its uuid is the incident's, so
            // two posters (or a redelivery) make one message.
            let card = incident_card::opening(&n, &incident, &app.style_for(Some(chat)), now);
            let sent = app
                .messenger
                .send(
                    ReceiveIdType::ChatId,
                    chat,
                    &Outgoing::Card(card),
                    &message_uuid(&incident.id, "incident-card"),
                )
                .await;
            match delivered(&app.sends, sent, id, "incident card")? {
                Some(sent) => {
                    tracing::info!(event.id = %id, incident = %incident.id, chat, message_id = %sent.message_id, "incident card posted");
                    incident = app
                        .incidents
                        .set_card(&incident.id, &sent.message_id)
                        .await
                        .map_err(NotifyError::Incident)?;
                    incident.card.clone()
                }
                None => None,
            }
        }
    };
    let Some(root) = root else {
        return Ok(events::accepted());
    };
    if !assigned.opened {
        // This group's own card, in the incident's thread and without `@all`.
        if app.store.get_card(id).await.ok().flatten().is_none() {
            let quiet = Style {
                mention_all: false,
                ..app.style_for(Some(chat))
            };
            let card = alert_card::render(&n, &quiet, now);
            let sent = app
                .messenger
                .reply(
                    &root,
                    &Outgoing::Card(card),
                    &message_uuid(id, "card"),
                    true,
                )
                .await;
            if let Some(sent) = delivered(&app.sends, sent, id, "alert card")? {
                tracing::info!(event.id = %id, incident = %incident.id, message_id = %sent.message_id, status = n.status.as_str(), "alert card posted in the incident's thread");
                if let Err(e) = app.store.put_card(id, &sent.message_id).await {
                    tracing::warn!(event.id = %id, error = %e, "card id not stored; a redelivery relies on the send's uuid");
                }
            }
        }
        update_incident_card(app, &incident.id, id).await?;
    }
    if n.status == Status::Firing && app.auto_analyzes(&n) {
        return ask_for_analysis(app, &incident.id, id).await;
    }
    Ok(events::accepted())
}

/// How long a later group waits for the opening group's card before posting it itself
/// (the opener may have died; the card's uuid keeps the two posts one message).
const CARD_WAIT: std::time::Duration = std::time::Duration::from_secs(10);

/// The incident once its card is recorded, or `None` after [`CARD_WAIT`].
async fn wait_for_card(
    app: &Notifier,
    incident_id: &str,
) -> Result<Option<aegis_core::incident::Incident>, NotifyError> {
    let deadline = tokio::time::Instant::now() + CARD_WAIT;
    while tokio::time::Instant::now() < deadline {
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        if let Some(posted) = incident(app, incident_id)
            .await?
            .filter(|i| i.card.is_some())
        {
            return Ok(Some(posted));
        }
    }
    Ok(None)
}

/// The incident `id` as the log has it.
async fn incident(
    app: &Notifier,
    id: &str,
) -> Result<Option<aegis_core::incident::Incident>, NotifyError> {
    app.incidents.get(id).await.map_err(NotifyError::Incident)
}

/// Rounds of "render, replace, read again" before an update gives up on catching up.
const UPDATE_ROUNDS: usize = 4;

/// Replaces the incident's card by its current state. Two notifiers updating one card
/// at once could leave the older state on it (the later replacement wins), so after
/// each replacement the incident is read again and, if it changed meanwhile, the card
/// is replaced again: whoever made the last change also makes the last replacement.
async fn update_incident_card(
    app: &Notifier,
    incident_id: &str,
    event_id: &str,
) -> Result<(), NotifyError> {
    let mut shown: Option<aegis_core::incident::Incident> = None;
    for _ in 0..UPDATE_ROUNDS {
        let Some(incident) = incident(app, incident_id).await? else {
            return Ok(());
        };
        if shown.as_ref() == Some(&incident) {
            return Ok(());
        }
        let Some(card_id) = incident.card.clone() else {
            return Ok(());
        };
        let card = incident_card::current(
            &incident,
            &app.style_for(incident.chat.as_deref()),
            app.public_base.as_deref(),
            chrono::Utc::now(),
        );
        let updated = app.messenger.update(&card_id, &card).await.map(|()| Sent {
            message_id: card_id.clone(),
        });
        if delivered(&app.sends, updated, event_id, "incident card update")?.is_none() {
            return Ok(());
        }
        shown = Some(incident);
    }
    Ok(())
}

/// The incident's next analysis, if it needs one, as the reply event.
async fn ask_for_analysis(
    app: &Notifier,
    incident_id: &str,
    event_id: &str,
) -> Result<Response, NotifyError> {
    let now = chrono::Utc::now();
    let asked = app
        .incidents
        .request_analysis(incident_id, event_id, now)
        .await
        .map_err(NotifyError::Incident)?;
    let Some((incident, analysis)) = asked else {
        tracing::debug!(event.id = %event_id, incident = incident_id, "no analysis due: one is running, or nothing new to cover");
        return Ok(events::accepted());
    };
    let lang = app.lang_of(incident.chat.as_deref());
    let data = request::for_incident(&incident, &analysis, now, lang);
    let reply = data
        .to_event(NAME, data.request_id.clone())
        .map_err(NotifyError::Encode)?;
    tracing::info!(event.id = %event_id, incident = %incident.id, request_id = %data.request_id, generation = analysis.generation, "incident analysis requested");
    Ok(events::reply(reply))
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
    let lang = req
        .request
        .language
        .unwrap_or_else(|| app.lang_of(req.reply_to.chat_id.as_deref()));
    let message = Outgoing::Text(result_card::ack(lang));
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
            None => {
                let lang = done
                    .language
                    .unwrap_or_else(|| app.lang_of(done.reply_to.chat_id.as_deref()));
                (result_card::apology(done.failure.as_ref(), lang), RESULT)
            }
        },
    };
    tracing::info!(event.id = %event.id(), request_id = %done.request_id, outcome = done.outcome.as_str(), what, "posting the completion");
    if let Some(incident_id) = done.reply_to.incident_id.clone() {
        return incident_result(app, event, &done, &incident_id, message, what).await;
    }
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

/// An incident's analysis: its result in the incident's thread, the earlier result
/// marked superseded, the incident's card updated; then a re-run when the incident
/// grew by services this analysis did not cover.
async fn incident_result(
    app: &Notifier,
    event: &Event,
    done: &AnalysisCompleted,
    incident_id: &str,
    message: Outgoing,
    what: &str,
) -> Result<Response, NotifyError> {
    let Some(incident) = incident(app, incident_id).await? else {
        return Err(NotifyError::Malformed(format!(
            "analysis of incident {incident_id}, which is not known"
        )));
    };
    let root = done.reply_to.message_id.clone().or(incident.card.clone());
    let uuid = message_uuid(event.id(), "result");
    let sent = match (&root, &incident.chat) {
        (Some(root), _) => app.messenger.reply(root, &message, &uuid, true).await,
        (None, Some(chat)) => {
            app.messenger
                .send(ReceiveIdType::ChatId, chat, &message, &uuid)
                .await
        }
        (None, None) => return Ok(events::accepted()),
    };
    let sent = delivered(&app.sends, sent, event.id(), what)?;
    let failure = done
        .failure
        .as_ref()
        .map(|f| format!("{}: {}", f.kind, f.message));
    let earlier = incident
        .analyses
        .iter()
        .rev()
        .find(|a| a.request_id != done.request_id && a.message.is_some())
        .cloned();
    tracing::info!(event.id = %event.id(), incident = incident_id, request_id = %done.request_id, "incident analysis done");
    app.incidents
        .analysis_done(
            incident_id,
            &done.request_id,
            done.report.as_ref(),
            failure.as_deref(),
            sent.as_ref().map(|s| s.message_id.as_str()),
            made(event),
        )
        .await
        .map_err(NotifyError::Incident)?;
    if let Some(earlier) = earlier
        && let Some(message_id) = &earlier.message
    {
        let lang = app.lang_of(incident.chat.as_deref());
        let card = incident_card::superseded(earlier.generation, earlier.top.as_deref(), lang);
        if let Err(e) = app.messenger.update(message_id, &card).await {
            tracing::warn!(incident = incident_id, error = %e, "the earlier result card was not marked superseded");
        }
    }
    update_incident_card(app, incident_id, event.id()).await?;
    ask_for_analysis(app, incident_id, event.id()).await
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
