//! What to analyse ([`Request`]) and how analyses run ([`Config`]).

mod config;

pub use config::{Config, Languages};

use serde::{Deserialize, Serialize};

use chrono::{DateTime, Utc};

use aegis_i18n::Lang;

use crate::alert::Notification;
use crate::report::TimeRange;

/// Longest description accepted, in characters (the original service's limit).
pub const MAX_DESCRIPTION: usize = 4000;

/// What to analyse. The HTTP form is the original service's request; events carry the
/// same fields plus the alert group when an alert caused it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Request {
    /// The question or symptom (1..[`MAX_DESCRIPTION`] characters).
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
    /// The language of the answer (`en`, `zh-CN`). `None`: over HTTP the caller's
    /// `Accept-Language`, else English; from a chat, the question's or the chat's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>, example = "zh-CN")]
    pub language: Option<Lang>,
}

/// Why a request cannot be analysed: every caller (the HTTP API, an event, a chat
/// question) checks the same rules through [`Request::validate`].
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Invalid {
    /// The description is empty or only white space.
    #[error("must not be empty")]
    EmptyDescription,
    /// The description is longer than [`MAX_DESCRIPTION`] characters.
    #[error("must be at most {MAX_DESCRIPTION} characters, got {0}")]
    LongDescription(usize),
    /// The range ends at or before its start.
    #[error("end ({end}) must be after start ({start})")]
    EmptyRange {
        /// Start.
        start: DateTime<Utc>,
        /// End.
        end: DateTime<Utc>,
    },
}

impl Invalid {
    /// The field at fault, as the HTTP API names it.
    pub fn field(&self) -> &'static str {
        match self {
            Self::EmptyDescription | Self::LongDescription(_) => "description",
            Self::EmptyRange { .. } => "time_range",
        }
    }
}

impl Request {
    /// Checks what every request must satisfy: a description of
    /// 1..[`MAX_DESCRIPTION`] characters (white space around it not counted) and a
    /// range that ends after it starts.
    pub fn validate(&self) -> Result<(), Invalid> {
        let chars = self.description.trim().chars().count();
        if chars == 0 {
            return Err(Invalid::EmptyDescription);
        }
        if chars > MAX_DESCRIPTION {
            return Err(Invalid::LongDescription(chars));
        }
        let TimeRange { start, end } = self.time_range;
        if end <= start {
            return Err(Invalid::EmptyRange { start, end });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(description: &str, minutes: i64) -> Request {
        let start = DateTime::from_timestamp(1_700_000_000, 0).unwrap();
        Request {
            description: description.to_string(),
            time_range: TimeRange {
                start,
                end: start + chrono::Duration::minutes(minutes),
            },
            model: None,
            session_id: None,
            alert: None,
            language: None,
        }
    }

    #[test]
    fn a_question_over_a_range_is_valid() {
        assert_eq!(request("  why is checkout slow ", 15).validate(), Ok(()));
    }

    #[test]
    fn blank_and_long_descriptions_name_the_description() {
        let blank = request(" \n ", 15).validate().unwrap_err();
        assert_eq!(
            (blank.field(), blank),
            ("description", Invalid::EmptyDescription)
        );
        let long = request(&"é".repeat(MAX_DESCRIPTION + 1), 15)
            .validate()
            .unwrap_err();
        assert_eq!(long, Invalid::LongDescription(MAX_DESCRIPTION + 1));
        assert_eq!(request(&"é".repeat(MAX_DESCRIPTION), 15).validate(), Ok(()));
    }

    #[test]
    fn an_empty_or_inverted_range_names_the_range() {
        for minutes in [0, -5] {
            let e = request("x", minutes).validate().unwrap_err();
            assert_eq!(e.field(), "time_range");
            assert!(e.to_string().contains("must be after start"), "{e}");
        }
    }
}
