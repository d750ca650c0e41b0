use serde::{Deserialize, Serialize};

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

/// `ok` or `failed`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    /// A report was produced.
    Ok,
    /// The analysis failed.
    Failed,
}

impl Outcome {
    /// The `aegisoutcome` value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ok => "ok",
            Self::Failed => "failed",
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
    /// `ok` with a report, or `failed` with the failure.
    pub outcome: Outcome,
    /// The report, when `ok`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub report: Option<Report>,
    /// The failure, when `failed`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure: Option<Failure>,
    /// A link to the full report, when the store offers one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub report_url: Option<String>,
}
