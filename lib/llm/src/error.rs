/// Why a model call failed. `Display` never carries the API key, the URL's secrets or
/// the upstream body; `detail` fields are for the log only (Debug).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// No answer within the call's timeout.
    #[error("model call timed out after {}s", .after.as_secs())]
    Timeout {
        /// The timeout.
        after: std::time::Duration,
    },
    /// The endpoint could not be reached.
    #[error("model endpoint unreachable")]
    Connect {
        /// The transport error, for the log.
        detail: String,
    },
    /// The endpoint answered an error status (after the retries for 429 and 5xx).
    #[error("model endpoint answered HTTP {status}")]
    Status {
        /// The status.
        status: u16,
        /// The start of the body, for the log.
        detail: String,
    },
    /// The answer did not have the OpenAI chat-completions shape.
    #[error("model answer could not be read: {0}")]
    Decode(String),
}

impl Error {
    /// Whether another attempt may succeed.
    pub(crate) fn retryable(&self) -> bool {
        match self {
            Self::Connect { .. } => true,
            Self::Status { status, .. } => *status == 429 || *status >= 500,
            Self::Timeout { .. } | Self::Decode(_) => false,
        }
    }
}
