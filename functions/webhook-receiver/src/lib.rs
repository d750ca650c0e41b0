//! webhook-receiver: takes Alertmanager webhook notifications and publishes `io.aegis.alert.group.received.v1`, answering 200 only once the broker holds the event.

use std::time::Duration;

use aegis::runtime::{BuildError, Context, Function};
use axum::Router;
use axum::http::StatusCode;
use axum::routing::post;

/// The function's name, as in `/fn/webhook-receiver/` and the manifests.
pub const NAME: &str = "webhook-receiver";

/// Builds the function's router from the shared context.
pub fn build(ctx: &Context) -> Result<Function, BuildError> {
    let _ = ctx;
    let router = Router::new()
        .route("/alertmanager/webhook", post(not_implemented))
        .route("/", post(not_implemented));
    Ok(Function {
        name: NAME,
        router,
        timeout: Duration::from_secs(30),
    })
}

async fn not_implemented() -> (StatusCode, &'static str) {
    (StatusCode::NOT_IMPLEMENTED, "not implemented yet")
}
