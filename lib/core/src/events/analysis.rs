//! The data of `analysis.requested` and `analysis.completed`, and what it is made of.

use serde::{Deserialize, Serialize};

use super::{EXT_ORIGIN, EXT_OUTCOME, EventType, Payload};
use crate::report::Report;
use crate::request::Request;

/// Who asked for an analysis; routes the completion back to the right place.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Origin {
    /// An alert group the auto-analysis policy selected.
    Alert,
    /// A question in a Feishu chat.
    Feishu,
    /// An HTTP API caller.
    Api,
}

impl Origin {
    /// The `aegisorigin` value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Alert => "alert",
            Self::Feishu => "feishu",
            Self::Api => "api",
        }
    }
}

/// Where the answer goes: a reply under a Feishu message (the alert card or the
/// question), or a new message in a chat.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReplyTarget {
    /// The chat.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chat_id: Option<String>,
    /// The message to reply under.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_id: Option<String>,
    /// The event id of the alert card, when the card's message id is in the store.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alert_event_id: Option<String>,
    /// The user who asked, for mentions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_open_id: Option<String>,
    /// The incident the analysis is for: its result goes into the incident's thread
    /// and supersedes the incident's earlier analyses.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub incident_id: Option<String>,
}

/// Data of `io.aegis.analysis.requested.v1`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AnalysisRequested {
    /// Deterministic id of the request (from its cause); the report's id.
    pub request_id: String,
    /// What to analyse.
    pub request: Request,
    /// Who asked.
    pub origin: Origin,
    /// Where the answer goes.
    #[serde(default)]
    pub reply_to: ReplyTarget,
}

impl Payload for AnalysisRequested {
    const TYPE: EventType = EventType::AnalysisRequested;

    /// `aegisorigin`: notifier acknowledges only chat questions, and its own
    /// (`alert`) requests must not reach it again.
    fn extensions(&self) -> Vec<(&'static str, String)> {
        vec![(EXT_ORIGIN, self.origin.as_str().to_string())]
    }
}

/// `ok`, `failed` or `notice`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    /// A report was produced.
    Ok,
    /// The analysis failed.
    Failed,
    /// No analysis was run: the asker is told something instead (help, a refusal, a
    /// limit, an unreadable question). Not a failure, so it is not counted as one.
    Notice,
}

impl Outcome {
    /// The `aegisoutcome` value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ok => "ok",
            Self::Failed => "failed",
            Self::Notice => "notice",
        }
    }
}

/// Why an analysis failed, in words fit for the chat.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Failure {
    /// A short kind: `timeout`, `backend`, `model`, `internal`.
    pub kind: String,
    /// What happened, without secrets or upstream bodies.
    pub message: String,
}

/// What feishu-event-handler tells an asker instead of analysing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Notice {
    /// A short kind: `usage` (help, or an empty question), `forbidden` (chat or user
    /// not allowed), `busy` (the chat's limit), `invalid` (an unreadable question).
    pub kind: String,
    /// The reply, posted as it is.
    pub text: String,
}

/// Data of `io.aegis.analysis.completed.v1`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AnalysisCompleted {
    /// The request's id.
    pub request_id: String,
    /// Who asked.
    pub origin: Origin,
    /// Where the answer goes.
    #[serde(default)]
    pub reply_to: ReplyTarget,
    /// `ok` with a report, `failed` with the failure, or `notice` with the notice.
    pub outcome: Outcome,
    /// The report, when `ok`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub report: Option<Report>,
    /// The failure, when `failed`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure: Option<Failure>,
    /// The notice, when `notice`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notice: Option<Notice>,
    /// A link to the full report, when the store offers one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub report_url: Option<String>,
    /// The language the request asked for, so an apology speaks it too.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub language: Option<aegis_i18n::Lang>,
}

impl Payload for AnalysisCompleted {
    const TYPE: EventType = EventType::AnalysisCompleted;

    /// `aegisorigin` and `aegisoutcome`, so a Trigger can pick completions by who
    /// asked and how it ended.
    fn extensions(&self) -> Vec<(&'static str, String)> {
        vec![
            (EXT_ORIGIN, self.origin.as_str().to_string()),
            (EXT_OUTCOME, self.outcome.as_str().to_string()),
        ]
    }
}

#[cfg(test)]
mod tests {
    use cloudevents::AttributesReader;

    use super::*;
    use crate::events::data_as;

    fn completed(outcome: Outcome) -> AnalysisCompleted {
        AnalysisCompleted {
            request_id: "r1".into(),
            origin: Origin::Feishu,
            reply_to: ReplyTarget::default(),
            outcome,
            report: None,
            failure: None,
            notice: Some(Notice {
                kind: "usage".into(),
                text: "help".into(),
            }),
            report_url: None,
            language: None,
        }
    }

    fn extension(event: &cloudevents::Event, name: &str) -> Option<String> {
        event.extension(name).map(|v| v.to_string())
    }

    #[test]
    fn completion_carries_origin_and_outcome() {
        let e = completed(Outcome::Notice).to_event("t", "id1").unwrap();
        assert_eq!(e.ty(), "io.aegis.analysis.completed.v1");
        assert_eq!(e.id(), "id1");
        assert_eq!(e.source().to_string(), "/aegis/t");
        assert_eq!(extension(&e, "aegisorigin").as_deref(), Some("feishu"));
        assert_eq!(extension(&e, "aegisoutcome").as_deref(), Some("notice"));
        let back: AnalysisCompleted = data_as(&e).unwrap();
        assert_eq!(back, completed(Outcome::Notice));
        let failed = completed(Outcome::Failed).to_event("t", "id2").unwrap();
        assert_eq!(
            extension(&failed, "aegisoutcome").as_deref(),
            Some("failed")
        );
    }

    #[test]
    fn request_carries_its_origin() {
        let request: Request = serde_json::from_value(serde_json::json!({
            "description": "why", "time_range": {"start": "2024-01-01T00:00:00Z", "end": "2024-01-01T00:15:00Z"}
        }))
        .unwrap();
        let data = AnalysisRequested {
            request_id: "r".into(),
            request,
            origin: Origin::Alert,
            reply_to: ReplyTarget::default(),
        };
        let e = data.to_event("notifier", "r").unwrap();
        assert_eq!(e.ty(), "io.aegis.analysis.requested.v1");
        assert_eq!(extension(&e, "aegisorigin").as_deref(), Some("alert"));
    }

    #[test]
    fn notice_is_on_the_wire_as_its_own_outcome() {
        let v = serde_json::to_value(completed(Outcome::Notice)).unwrap();
        assert_eq!(v["outcome"], "notice");
        assert_eq!(v["notice"]["kind"], "usage");
        assert_eq!(v["notice"]["text"], "help");
        assert!(v.get("failure").is_none());
    }
}
