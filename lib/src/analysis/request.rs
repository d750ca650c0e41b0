use serde::{Deserialize, Serialize};

use super::TimeRange;
use crate::alert::Notification;

/// What to analyse. The HTTP form is the original service's request; events carry the
/// same fields plus the alert group when an alert caused it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Request {
    /// The question or symptom (1..4000 characters).
    pub description: String,
    /// The range to analyse.
    pub time_range: TimeRange,
    /// A model alias (`qwen`, `glm`, `deepseek`, `doubao`, ...); `None`: the default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// The caller's session, echoed back.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_id: Option<String>,
    /// The alert group that caused the analysis, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub alert: Option<Notification>,
}
