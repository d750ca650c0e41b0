use aegis_feishu as feishu;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};

/// Why an event was not handled. [`NotifyError::status`] tells the broker what to do:
/// 400 drops input that can never succeed, 429/503 make Knative redeliver.
#[derive(Debug, thiserror::Error)]
pub enum NotifyError {
    /// 400: the event's data, though it decodes, is not valid (another type or data
    /// that does not decode is refused by [`aegis_core::events::Received`]).
    #[error("malformed event: {0}")]
    Malformed(String),
    /// 429 (throttled) or 503 (unavailable, credentials refused): retry later.
    #[error("Feishu not available for now: {0}")]
    Feishu(#[source] feishu::Error),
    /// 503: the report store could not say where to reply.
    #[error("report store unavailable")]
    Store(#[source] aegis_store::Error),
    /// 503: the incident log could not be read or written (a store failure, or too
    /// many writers at once); 500 for an entry nobody can read.
    #[error("incidents unavailable: {0}")]
    Incident(#[source] aegis_incident::Error),
    /// 500: the reply event could not be built.
    #[error("internal error")]
    Encode(#[source] serde_json::Error),
}

impl NotifyError {
    /// The one place that maps failures to status codes.
    pub fn status(&self) -> StatusCode {
        match self {
            Self::Malformed(_) => StatusCode::BAD_REQUEST,
            Self::Feishu(feishu::Error::Throttled { .. }) => StatusCode::TOO_MANY_REQUESTS,
            Self::Feishu(_) | Self::Store(_) => StatusCode::SERVICE_UNAVAILABLE,
            Self::Incident(aegis_incident::Error::Corrupt { .. }) | Self::Encode(_) => {
                StatusCode::INTERNAL_SERVER_ERROR
            }
            Self::Incident(_) => StatusCode::SERVICE_UNAVAILABLE,
        }
    }
}

impl IntoResponse for NotifyError {
    fn into_response(self) -> Response {
        let status = self.status();
        if status.is_client_error() && status != StatusCode::TOO_MANY_REQUESTS {
            tracing::warn!(error = %self, "event dropped");
        } else {
            tracing::warn!(error = ?self, %status, "event not handled; the broker will redeliver");
        }
        let retry_after = match &self {
            Self::Feishu(e) => e.retry_after().map(|d| d.as_secs().max(1).to_string()),
            _ => None,
        };
        let mut res = (status, self.to_string()).into_response();
        if let Some(secs) = retry_after.and_then(|s| s.parse().ok()) {
            res.headers_mut().insert(header::RETRY_AFTER, secs);
        }
        res
    }
}
