//! Why a request was not handled, and the status each failure maps to.

use aegis_feishu as feishu;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

/// A failure of the subscriber or the HTTP callback route.
#[derive(Debug, thiserror::Error)]
pub enum HandlerError {
    /// 400: the callback body is not a Feishu event envelope.
    #[error("malformed Feishu event: {0}")]
    Malformed(String),
    /// 503: the bot's identity could not be fetched; a retry can help.
    #[error("the bot's identity is unavailable")]
    Bot(#[source] feishu::Error),
    /// 500: a reply event could not be built.
    #[error("the reply event could not be built")]
    Build(#[from] serde_json::Error),
    /// 404: the HTTP callback mode is off (no Verification Token configured).
    #[error("the HTTP callback mode is not enabled: set FEISHU_VERIFICATION_TOKEN")]
    CallbackDisabled,
    /// 400: an encrypted body arrived but no Encrypt Key is configured.
    #[error("the body is encrypted but FEISHU_ENCRYPT_KEY is not set")]
    NoEncryptKey,
    /// 400: the encrypted body could not be decrypted.
    #[error("{0}")]
    Decrypt(#[from] feishu::callback::DecryptError),
    /// 401: the Verification Token does not match.
    #[error("invalid verification token")]
    BadToken,
    /// 401: the signature headers are missing or do not match.
    #[error("invalid or missing request signature")]
    BadSignature,
    /// 503: a feedback verdict could not be stored; the broker redelivers.
    #[error("the feedback could not be stored")]
    Store(#[source] aegis_store::Error),
    /// 503: the broker did not take the event; Feishu retries the callback.
    #[error("event broker unavailable")]
    Publish(#[from] aegis_core::events::SendError),
}

impl HandlerError {
    /// The status this failure answers with.
    pub fn status(&self) -> StatusCode {
        match self {
            Self::Malformed(_) | Self::NoEncryptKey | Self::Decrypt(_) => StatusCode::BAD_REQUEST,
            Self::BadToken | Self::BadSignature => StatusCode::UNAUTHORIZED,
            Self::CallbackDisabled => StatusCode::NOT_FOUND,
            Self::Bot(_) | Self::Publish(_) | Self::Store(_) => StatusCode::SERVICE_UNAVAILABLE,
            Self::Build(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

impl IntoResponse for HandlerError {
    fn into_response(self) -> Response {
        let status = self.status();
        if status.is_server_error() {
            tracing::warn!(error = ?self, "request not handled");
        } else {
            tracing::info!(error = %self, "request refused");
        }
        (status, self.to_string()).into_response()
    }
}
