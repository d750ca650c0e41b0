//! The subscriber: a `feishu.message.received` event in, an `analysis.requested`
//! reply out (or a notice, or nothing).
//!
//! Notices (the usage, a refusal, "too many in flight") travel as
//! `io.aegis.analysis.completed.v1` with outcome `notice` and a [`Notice`] whose kind
//! says which (`usage`, `forbidden`, `busy`, `invalid`): only the notifier writes to
//! Feishu, it already replies to completed analyses under the question, and the event
//! catalog stays at four types. The outcome is its own, not `failed`, so help and
//! refusals are not counted as failed analyses.

use std::sync::Arc;
use std::time::Duration;

use aegis_core::events::{
    self, AnalysisCompleted, AnalysisRequested, AttributesReader, Notice, Origin, Outcome, Payload,
    Received, ReplyTarget,
};
use aegis_core::report::{Feedback, FeedbackValue};
use aegis_core::request::{Invalid, MAX_DESCRIPTION, Request};
use aegis_feishu::event::{CardAction, Envelope, MessageReceived, RawEnvelope};
use aegis_i18n::{Lang, t};
use aegis_store::{Claim, ReportStore};
use axum::extract::State;
use axum::response::Response;
use chrono::{DateTime, Utc};

use crate::bot::BotIdentity;
use crate::error::HandlerError;
use crate::question;
use crate::time_phrase;

/// Messages older than this are not answered (a redelivery long after the fact).
pub const MAX_AGE: Duration = Duration::from_secs(5 * 60);

/// Who may ask, and how much.
#[derive(Debug, Clone)]
pub struct Policy {
    /// Chats allowed to ask (empty: all).
    pub allowed_chats: Vec<String>,
    /// Users allowed to ask, by open_id, user_id or union_id (empty: all).
    pub allowed_users: Vec<String>,
    /// Analyses one chat may start per window (see `in_flight_slot`).
    pub chat_max_in_flight: usize,
    /// The analysis budget: the window of the in-flight limit.
    pub analysis_budget: Duration,
    /// Extra model aliases.
    pub model_aliases: Vec<String>,
    /// Zone of the time phrases.
    pub timezone: chrono_tz::Tz,
    /// The language each chat reads, for replies to messages with no words to tell.
    pub languages: aegis_core::request::Languages,
}

/// The subscriber's state.
#[derive(Clone)]
pub struct Handler {
    /// The bot's identity.
    pub bot: Arc<dyn BotIdentity>,
    /// Dedupe and in-flight markers.
    pub store: Arc<dyn ReportStore>,
    /// Who may ask.
    pub policy: Arc<Policy>,
    /// The incidents, for questions asked in an incident's thread.
    pub incidents: aegis_incident::Incidents,
}

impl Handler {
    /// The handler of `bot`, keeping markers and finding incidents in `store`, asking
    /// under `policy`.
    pub fn new(bot: Arc<dyn BotIdentity>, store: Arc<dyn ReportStore>, policy: Policy) -> Self {
        Self {
            bot,
            // Reading needs no grouping rule: the log holds every decision.
            incidents: aegis_incident::Incidents::new(
                store.clone(),
                aegis_incident::Rule::default(),
            ),
            store,
            policy: Arc::new(policy),
        }
    }
}

/// What the handler decided.
enum Decision {
    /// Nothing to do (not for us, a duplicate, too old): 202.
    Ignore(&'static str),
    /// Ask for an analysis.
    Analyze(AnalysisRequested),
    /// Tell the asker something instead.
    Notice(AnalysisCompleted),
}

/// `POST /`: one `feishu.message.received` event.
pub async fn receive(
    State(app): State<Handler>,
    Received { event, data }: Received<RawEnvelope>,
) -> Result<Response, HandlerError> {
    let envelope = data.envelope();
    let event_id = envelope
        .event_id()
        .unwrap_or_else(|| event.id())
        .to_string();
    let decision = decide(&app, envelope, &event_id, Utc::now()).await?;
    match decision {
        Decision::Ignore(why) => {
            tracing::debug!(event.id = %event_id, why, "chat event ignored");
            Ok(events::accepted())
        }
        Decision::Analyze(req) => {
            tracing::info!(event.id = %event_id, request_id = %req.request_id, model = ?req.request.model, "analysis requested from chat");
            let reply = req.to_event(crate::NAME, req.request_id.clone())?;
            Ok(events::reply(reply))
        }
        Decision::Notice(done) => {
            let kind = done.notice.as_ref().map(|n| n.kind.as_str());
            tracing::info!(event.id = %event_id, kind = ?kind, "chat notice");
            let reply = done.to_event(crate::NAME, done.request_id.clone())?;
            Ok(events::reply(reply))
        }
    }
}

/// A click on a result card's "right cause" / "wrong cause": the verdict is stored
/// with the report (a repeated click stores the same verdict again).
async fn feedback(
    app: &Handler,
    action: CardAction,
    now: DateTime<Utc>,
) -> Result<Decision, HandlerError> {
    let Ok(value) = serde_json::from_value::<FeedbackValue>(action.action.value) else {
        return Ok(Decision::Ignore("a card action that is not Aegis feedback"));
    };
    if value.action != FeedbackValue::ACTION || !aegis_store::key::is_plain(&value.report_id) {
        return Ok(Decision::Ignore("a card action that is not Aegis feedback"));
    }
    let verdict = Feedback {
        verdict: value.verdict,
        by: action.operator.open_id.clone(),
        at: now,
    };
    match app
        .store
        .put_feedback(&value.report_id, verdict, &aegis_view::views)
        .await
    {
        Ok(Some(_)) => {
            tracing::info!(report = %value.report_id, service = %value.service, verdict = value.verdict.words(), "feedback stored");
            Ok(Decision::Ignore("feedback stored"))
        }
        Ok(None) => Ok(Decision::Ignore("feedback on a report that is not stored")),
        Err(e) => Err(HandlerError::Store(e)),
    }
}

async fn decide(
    app: &Handler,
    envelope: &Envelope,
    event_id: &str,
    now: DateTime<Utc>,
) -> Result<Decision, HandlerError> {
    if let Some(action) = envelope.card_action() {
        return feedback(app, action, now).await;
    }
    let Some(MessageReceived { sender, message }) = envelope.message() else {
        return Ok(Decision::Ignore(
            "neither im.message.receive_v1 nor card.action.trigger",
        ));
    };
    if sender.sender_type != "user" {
        return Ok(Decision::Ignore("sent by an app or the bot itself"));
    }
    if let Some(at) = message.created_at()
        && now.signed_duration_since(at).to_std().unwrap_or_default() > MAX_AGE
    {
        return Ok(Decision::Ignore("older than 5 minutes"));
    }
    let Some(text) = message.text() else {
        return Ok(Decision::Ignore("neither text nor post"));
    };
    let bot = app.bot.open_id().await.map_err(HandlerError::Bot)?;
    let p2p = message.chat_type == "p2p";
    if !p2p && !question::mentions_bot(&message.mentions, bot.as_deref()) {
        return Ok(Decision::Ignore("a group message not addressed to the bot"));
    }
    if !claim(app, &format!("feishu-event/{event_id}")).await
        || (!message.message_id.is_empty()
            && !claim(app, &format!("feishu-message/{}", message.message_id)).await)
    {
        return Ok(Decision::Ignore("duplicate delivery"));
    }

    // A question is answered in the language it is asked in; one with no words to tell
    // (an empty mention, "?") in the chat's.
    let text = question::resolve_mentions(&text, &message.mentions, bot.as_deref());
    let lang =
        question::language(&text).unwrap_or_else(|| app.policy.languages.of_chat(&message.chat_id));
    let reply_to = ReplyTarget {
        chat_id: Some(message.chat_id.clone()).filter(|c| !c.is_empty()),
        message_id: Some(message.message_id.clone()).filter(|m| !m.is_empty()),
        alert_event_id: None,
        user_open_id: sender.sender_id.open_id.clone(),
        incident_id: None,
    };
    let notice = |kind: &str, text: String| {
        Decision::Notice(AnalysisCompleted {
            request_id: events::derive_id(&["feishu-notice", event_id]),
            origin: Origin::Feishu,
            reply_to: reply_to.clone(),
            outcome: Outcome::Notice,
            report: None,
            failure: None,
            notice: Some(Notice {
                kind: kind.into(),
                text,
            }),
            report_url: None,
            language: Some(lang),
        })
    };
    let policy = &app.policy;
    if !allowed(&policy.allowed_chats, [Some(&message.chat_id)]) {
        return Ok(notice("forbidden", t!(lang, "chat-forbidden-chat")));
    }
    let ids = &sender.sender_id;
    if !allowed(
        &policy.allowed_users,
        [
            ids.open_id.as_ref(),
            ids.user_id.as_ref(),
            ids.union_id.as_ref(),
        ],
    ) {
        return Ok(notice("forbidden", t!(lang, "chat-forbidden-user")));
    }

    if question::is_help(&text) {
        return Ok(notice(
            "usage",
            question::usage(&policy.model_aliases, lang),
        ));
    }
    let (model, rest) = question::split_model(&text, &policy.model_aliases);
    let extracted = match time_phrase::extract(rest, now, policy.timezone) {
        Ok(e) => e,
        Err(e) => {
            return Ok(notice(
                "invalid",
                format!(
                    "{}\n{}",
                    e.words(lang),
                    question::usage(&policy.model_aliases, lang)
                ),
            ));
        }
    };
    if question::is_help(&extracted.rest) {
        return Ok(notice(
            "usage",
            question::usage(&policy.model_aliases, lang),
        ));
    }
    let mut request = Request {
        description: extracted.rest,
        time_range: extracted.range,
        model,
        session_id: None,
        alert: None,
        language: Some(lang),
    };
    // Asked in an incident's thread: the incident's alerts are the context, and its
    // range unless the question names one.
    if let Some(incident) = thread_incident(app, message.root_id.as_deref()).await {
        tracing::info!(incident = %incident.id, "a question in an incident's thread");
        request.alert = Some(incident.as_notification());
        if extracted.phrase.is_none() {
            request.time_range = incident.analysis_range(now);
        }
    }
    if let Err(problem) = request.validate() {
        return Ok(notice("invalid", invalid_question(&problem, lang)));
    }
    if !in_flight_slot(app, &message.chat_id, now).await {
        return Ok(notice(
            "busy",
            t!(lang, "chat-busy", limit = policy.chat_max_in_flight),
        ));
    }
    Ok(Decision::Analyze(AnalysisRequested {
        request_id: events::derive_id(&["feishu", event_id]),
        request,
        origin: Origin::Feishu,
        reply_to,
    }))
}

/// The chat reply saying why a question cannot be analysed, in `lang`.
fn invalid_question(problem: &Invalid, lang: Lang) -> String {
    match problem {
        Invalid::LongDescription(_) => t!(lang, "chat-too-long", max = MAX_DESCRIPTION),
        Invalid::EmptyDescription => t!(lang, "chat-empty"),
        Invalid::EmptyRange { .. } => t!(lang, "chat-empty-range"),
    }
}

/// The incident whose thread starts at `root`, if any. A store that cannot answer
/// means the question is analysed without the incident (it is still answered).
async fn thread_incident(
    app: &Handler,
    root: Option<&str>,
) -> Option<aegis_core::incident::Incident> {
    let root = root.filter(|r| !r.is_empty())?;
    match app.incidents.for_thread(root).await {
        Ok(found) => found,
        Err(e) => {
            tracing::warn!(error = %e, "the incident of this thread could not be read; answering without it");
            None
        }
    }
}

fn allowed<'a>(list: &[String], ids: impl IntoIterator<Item = Option<&'a String>>) -> bool {
    list.is_empty() || ids.into_iter().flatten().any(|id| list.contains(id))
}

/// Claims a marker; a store that cannot answer means "go ahead" (at least once
/// beats lost, and the ids downstream are deterministic).
async fn claim(app: &Handler, key: &str) -> bool {
    match app.store.claim(key).await {
        Ok(Claim::Won) => true,
        Ok(Claim::AlreadyTaken) => false,
        Err(e) => {
            tracing::warn!(key, error = %e, "marker store unavailable; handling anyway");
            true
        }
    }
}

/// The per-chat limit. Functions keep no state between requests and nothing tells
/// this handler when an analysis ends, so the limit is approximated with store
/// markers: at most `chat_max_in_flight` analyses may *start* per chat in each window
/// of one analysis budget. Since an analysis cannot outlive its budget, at most twice
/// the limit can be running at any moment, and usually no more than the limit.
async fn in_flight_slot(app: &Handler, chat_id: &str, now: DateTime<Utc>) -> bool {
    let window = app.policy.analysis_budget.as_secs().max(1);
    let bucket = now.timestamp().max(0) as u64 / window;
    for slot in 0..app.policy.chat_max_in_flight {
        if claim(app, &format!("feishu-inflight/{chat_id}/{bucket}/{slot}")).await {
            return true;
        }
    }
    false
}
