use aegis_core::config::Secret;
use axum::extract::{Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use subtle::ConstantTimeEq;

use crate::WebhookError;

/// With a token configured, requires `Authorization: Bearer <token>` (Alertmanager's
/// `http_config.authorization`) before the body is read; the comparison takes the
/// same time whatever the caller sent, so the token cannot be guessed byte by byte.
pub async fn require_bearer(
    State(token): State<Option<Secret>>,
    req: Request,
    next: Next,
) -> Response {
    if let Some(expected) = token {
        let given = req
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| {
                v.split_once(' ')
                    .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
                    .map(|(_, t)| t.trim())
            });
        let ok =
            given.is_some_and(|g| bool::from(g.as_bytes().ct_eq(expected.expose().as_bytes())));
        if !ok {
            return WebhookError::Unauthorized.into_response();
        }
    }
    next.run(req).await
}
