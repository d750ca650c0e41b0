use aegis_core::config::Secret;
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::WebhookError;

/// With a token configured, requires `Authorization: Bearer <token>` (Alertmanager's
/// `http_config.authorization`) before the body is read (in constant time, see
/// [`aegis_runtime::auth::bearer_matches`]).
pub async fn require_bearer(
    State(token): State<Option<Secret>>,
    req: Request,
    next: Next,
) -> Response {
    if let Some(expected) = token
        && !aegis_runtime::auth::bearer_matches(req.headers(), &[&expected])
    {
        return WebhookError::Unauthorized.into_response();
    }
    next.run(req).await
}
