use aegis_core::alert::Invalid;
use aegis_core::events::SendError;
use axum::Json;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};

/// Why a notification was not accepted. Each variant's status is chosen in
/// [`WebhookError::status`]: 4xx for input that can never succeed (Alertmanager does
/// not retry those), 5xx only when a retry can help.
#[derive(Debug, thiserror::Error)]
pub enum WebhookError {
    /// 401: no bearer token, or the wrong one.
    #[error("missing or wrong bearer token (Authorization: Bearer <AEGIS_WEBHOOK_TOKEN>)")]
    Unauthorized,
    /// 400: not JSON, or not an Alertmanager notification; says where.
    #[error("malformed notification: {0}")]
    Malformed(String),
    /// 400: well-formed but invalid; names the field.
    #[error("invalid notification: {0}")]
    Invalid(#[from] Invalid),
    /// 413: over the body limit.
    #[error("{0}")]
    TooLarge(String),
    /// 503: the broker did not take the event; Alertmanager retries.
    #[error("event broker unavailable, retry later")]
    Publish(#[from] SendError),
    /// 500: the event could not be built (a bug, not the caller's fault).
    #[error("internal error")]
    Encode(#[source] serde_json::Error),
}

impl WebhookError {
    /// The one place that maps failures to status codes.
    pub fn status(&self) -> StatusCode {
        match self {
            Self::Unauthorized => StatusCode::UNAUTHORIZED,
            Self::Malformed(_) | Self::Invalid(_) => StatusCode::BAD_REQUEST,
            Self::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            Self::Publish(SendError::Rejected { .. }) | Self::Encode(_) => {
                StatusCode::INTERNAL_SERVER_ERROR
            }
            Self::Publish(_) => StatusCode::SERVICE_UNAVAILABLE,
        }
    }
}

impl IntoResponse for WebhookError {
    fn into_response(self) -> Response {
        let status = self.status();
        if status.is_server_error() {
            tracing::warn!(error = ?self, "notification not accepted");
        } else {
            tracing::info!(error = %self, %status, "notification refused");
        }
        let body = Json(serde_json::json!({"status": "error", "message": self.to_string()}));
        if status == StatusCode::UNAUTHORIZED {
            return (status, [(header::WWW_AUTHENTICATE, "Bearer")], body).into_response();
        }
        (status, body).into_response()
    }
}
