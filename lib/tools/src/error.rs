use std::fmt;
use std::time::Duration;

/// Which backend a call went to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Api {
    /// The Prometheus HTTP API.
    Prometheus,
    /// The Loki query API.
    Loki,
    /// The Jaeger query API.
    Jaeger,
}

impl Api {
    /// The variable that configures this backend's URL.
    pub fn url_variable(self) -> &'static str {
        match self {
            Self::Prometheus => "PROMETHEUS_BASE_URL",
            Self::Loki => "LOKI_BASE_URL",
            Self::Jaeger => "JAEGER_BASE_URL",
        }
    }
}

impl fmt::Display for Api {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Prometheus => "Prometheus",
            Self::Loki => "Loki",
            Self::Jaeger => "Jaeger",
        })
    }
}

/// Why a tool call failed. `Display` is written for the model (and the person) reading
/// it: what failed and how to narrow or retry. It never holds a credential.
#[derive(Debug, Clone, thiserror::Error)]
pub enum Error {
    /// The backend has no URL configured.
    #[error("{api} is not configured ({variable} is unset): use the other sources", variable = .api.url_variable())]
    NotConfigured {
        /// The missing backend.
        api: Api,
    },
    /// Refused locally: not one of the read-only query endpoints. Nothing was sent.
    #[error("refused {method} {path} to {api}: not a read-only query endpoint, nothing was sent")]
    Refused {
        /// The backend it was meant for.
        api: Api,
        /// `GET` or `POST`.
        method: &'static str,
        /// The path that was refused.
        path: String,
    },
    /// An argument is missing or malformed; the message says which and what is expected.
    #[error("invalid argument: {0}")]
    Invalid(String),
    /// The time range is longer than `AEGIS_TOOL_MAX_RANGE`.
    #[error(
        "time range of {requested}s is longer than the {max}s allowed: query a shorter range (start/end)"
    )]
    RangeTooLong {
        /// Requested length in seconds.
        requested: i64,
        /// Allowed length in seconds.
        max: u64,
    },
    /// No answer within the per-call timeout.
    #[error(
        "{api} did not answer within {}s: query a shorter range or a more selective selector, or retry later",
        .after.as_secs_f64()
    )]
    Timeout {
        /// The backend.
        api: Api,
        /// The timeout that passed.
        after: Duration,
    },
    /// The backend could not be reached (connection refused, DNS, TLS).
    #[error("{api} is unreachable ({detail}): retry later or use the other sources")]
    Unreachable {
        /// The backend.
        api: Api,
        /// What the connection reported, without the URL.
        detail: String,
    },
    /// The backend answered with an error of its own API; `message` is its message.
    #[error("{api} rejected the request (HTTP {status}): {message}")]
    Backend {
        /// The backend.
        api: Api,
        /// The HTTP status.
        status: u16,
        /// The backend's error message (Prometheus `error`, Loki's text, Jaeger `errors[].msg`).
        message: String,
    },
    /// The answer was larger than `AEGIS_TOOL_MAX_BYTES`; reading stopped there.
    #[error(
        "{api} answered more than {limit} bytes: narrow the query (shorter range, more selective labels, topk, aggregation by fewer labels, or a lower limit)"
    )]
    TooLarge {
        /// The backend.
        api: Api,
        /// The byte cap.
        limit: u64,
    },
    /// A tool added from another module (the root-cause engine) failed; its message.
    #[error("{tool} failed: {message}")]
    Tool {
        /// The tool's name.
        tool: String,
        /// What went wrong, for the model.
        message: String,
    },
    /// The answer was not the JSON its API documents.
    #[error("{api} answered something that is not its API's JSON ({detail}): retry later")]
    Malformed {
        /// The backend.
        api: Api,
        /// What did not parse.
        detail: String,
    },
}

impl Error {
    /// An answer of `api` that did not parse as its documented JSON.
    pub(crate) fn malformed(api: Api, e: &serde_json::Error) -> Self {
        Self::Malformed {
            api,
            detail: crate::text::shorten(&e.to_string(), 200),
        }
    }

    /// This error with `redactor` applied to every text it holds: what a backend said
    /// (its message, an unparsable answer's excerpt, a connection failure) may echo
    /// the credentials it was sent.
    pub fn redacted(self, redactor: &aegis_core::redact::Redactor) -> Self {
        let clean = |s: String| redactor.redact(&s);
        match self {
            Self::Invalid(m) => Self::Invalid(clean(m)),
            Self::Unreachable { api, detail } => Self::Unreachable {
                api,
                detail: clean(detail),
            },
            Self::Backend {
                api,
                status,
                message,
            } => Self::Backend {
                api,
                status,
                message: clean(message),
            },
            Self::Tool { tool, message } => Self::Tool {
                tool,
                message: clean(message),
            },
            Self::Malformed { api, detail } => Self::Malformed {
                api,
                detail: clean(detail),
            },
            e @ (Self::NotConfigured { .. }
            | Self::Refused { .. }
            | Self::RangeTooLong { .. }
            | Self::Timeout { .. }
            | Self::TooLarge { .. }) => e,
        }
    }

    /// What failed, worded for a person in `lang` (a card's or a page's "degraded"
    /// line): `Display` is the model's wording, with advice on what to do next.
    pub fn words(&self, lang: aegis_i18n::Lang) -> String {
        use aegis_i18n::t;
        match self {
            Self::NotConfigured { api } => t!(
                lang,
                "tool-not-configured",
                api = api.to_string(),
                variable = api.url_variable()
            ),
            Self::Refused { api, method, path } => t!(
                lang,
                "tool-refused",
                api = api.to_string(),
                method = *method,
                path = path.as_str()
            ),
            Self::Invalid(detail) => t!(lang, "tool-invalid", detail = detail.as_str()),
            Self::RangeTooLong { requested, max } => t!(
                lang,
                "tool-range-too-long",
                requested = *requested,
                max = *max
            ),
            Self::Timeout { api, after } => t!(
                lang,
                "tool-timeout",
                api = api.to_string(),
                seconds = format!("{}", after.as_secs_f64())
            ),
            Self::Unreachable { api, detail } => t!(
                lang,
                "tool-unreachable",
                api = api.to_string(),
                detail = detail.as_str()
            ),
            Self::Backend {
                api,
                status,
                message,
            } => t!(
                lang,
                "tool-rejected",
                api = api.to_string(),
                status = *status,
                message = message.as_str()
            ),
            Self::TooLarge { api, limit } => t!(
                lang,
                "tool-too-large",
                api = api.to_string(),
                limit = *limit
            ),
            Self::Tool { tool, message } => t!(
                lang,
                "tool-failed",
                tool = tool.as_str(),
                message = message.as_str()
            ),
            Self::Malformed { api, detail } => t!(
                lang,
                "tool-malformed",
                api = api.to_string(),
                detail = detail.as_str()
            ),
        }
    }

    /// Whether the same call may succeed later (the backend was down or slow), as
    /// opposed to a call that must change first.
    pub fn retryable(&self) -> bool {
        match self {
            Self::Timeout { .. }
            | Self::Unreachable { .. }
            | Self::Malformed { .. }
            | Self::Tool { .. } => true,
            Self::Backend { status, .. } => *status >= 500 || *status == 429,
            Self::NotConfigured { .. }
            | Self::Refused { .. }
            | Self::Invalid(_)
            | Self::RangeTooLong { .. }
            | Self::TooLarge { .. } => false,
        }
    }

    /// The backend involved, when there is one.
    pub fn api(&self) -> Option<Api> {
        match self {
            Self::NotConfigured { api }
            | Self::Refused { api, .. }
            | Self::Timeout { api, .. }
            | Self::Unreachable { api, .. }
            | Self::Backend { api, .. }
            | Self::TooLarge { api, .. }
            | Self::Malformed { api, .. } => Some(*api),
            Self::Invalid(_) | Self::RangeTooLong { .. } | Self::Tool { .. } => None,
        }
    }
}

/// `v` trimmed, or [`Error::Invalid`] saying that `what` is required.
pub(crate) fn required<'a>(what: &str, v: &'a str) -> Result<&'a str, Error> {
    let v = v.trim();
    if v.is_empty() {
        return Err(Error::Invalid(format!("{what} is required")));
    }
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;
    use aegis_i18n::{Lang, english_phrases};

    #[test]
    fn a_person_reads_what_failed_in_their_language() {
        let down = Error::Unreachable {
            api: Api::Loki,
            detail: "connection refused".into(),
        };
        assert_eq!(
            down.words(Lang::En),
            "Loki is unreachable (connection refused)"
        );
        assert_eq!(
            down.words(Lang::ZhCn),
            "无法连接 Loki（connection refused）"
        );
        let slow = Error::Timeout {
            api: Api::Prometheus,
            after: Duration::from_millis(2500),
        };
        assert_eq!(slow.words(Lang::ZhCn), "Prometheus 在 2.5 秒内没有响应");
        let unset = Error::NotConfigured { api: Api::Jaeger };
        let zh = unset.words(Lang::ZhCn);
        assert!(
            zh.contains("JAEGER_BASE_URL") && english_phrases(&zh).is_empty(),
            "{zh}"
        );
    }
}
