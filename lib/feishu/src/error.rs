use std::time::Duration;

/// Why a Feishu call failed, sorted by what the caller should do: retry later
/// ([`Error::is_retryable`]) or log and give up.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Feishu throttled the app (HTTP 429 / code 99991400) or the chat (code 230020)
    /// longer than the client waits; retry after `retry_after` with the same uuid.
    #[error("Feishu throttled the request (code {code})")]
    Throttled {
        /// 99991400 (app) or 230020 (chat).
        code: i64,
        /// How long Feishu asked to wait, when it said.
        retry_after: Option<Duration>,
    },
    /// Feishu answered 5xx, timed out or could not be reached.
    #[error("Feishu unavailable: {0}")]
    Unavailable(String),
    /// The app credentials were refused (tenant token endpoint); fixing the
    /// configuration and retrying can help.
    #[error("Feishu refused the app credentials: code {code}: {msg}")]
    Auth {
        /// Feishu's code.
        code: i64,
        /// Feishu's message.
        msg: String,
    },
    /// Feishu refused the request for good (unknown chat, card rejected, no permission).
    #[error("Feishu rejected the request: code {code}: {msg}")]
    Rejected {
        /// Feishu's code.
        code: i64,
        /// Feishu's message.
        msg: String,
    },
    /// The message is over Feishu's size limit and was not sent.
    #[error("{kind} content of {size} bytes exceeds Feishu's limit of {limit} bytes")]
    TooLarge {
        /// `card` or `text`.
        kind: &'static str,
        /// Encoded size.
        size: usize,
        /// The limit.
        limit: usize,
    },
}

impl Error {
    /// Whether a later retry (with the same uuid) can succeed: throttling, 5xx,
    /// network failures and refused credentials.
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            Self::Throttled { .. } | Self::Unavailable(_) | Self::Auth { .. }
        )
    }

    /// How long Feishu asked the caller to wait, when it was throttled.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Self::Throttled { retry_after, .. } => *retry_after,
            _ => None,
        }
    }
}

/// Codes meaning the tenant token is invalid or expired: refresh and retry once.
pub(crate) const TOKEN_INVALID: [i64; 3] = [99991663, 99991664, 99991671];
/// App-level rate limit.
pub(crate) const APP_THROTTLED: i64 = 99991400;
/// Per-chat rate limit.
pub(crate) const CHAT_THROTTLED: i64 = 230020;
