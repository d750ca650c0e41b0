//! feishu-event-handler: turns chat messages into analysis requests; also the HTTP callback mode of Feishu event subscription.

use std::time::Duration;

use aegis::runtime::{BuildError, Context, Function};
use axum::Router;
use axum::http::StatusCode;
use axum::routing::post;

/// The function's name, as in `/fn/feishu-event-handler/` and the manifests.
pub const NAME: &str = "feishu-event-handler";

/// Builds the function's router from the shared context.
pub fn build(ctx: &Context) -> Result<Function, BuildError> {
    let _ = ctx;
    let router = Router::new()
        .route("/", post(not_implemented))
        .route("/feishu/events", post(not_implemented));
    Ok(Function {
        name: NAME,
        router,
        timeout: Duration::from_secs(30),
    })
}

async fn not_implemented() -> (StatusCode, &'static str) {
    (StatusCode::NOT_IMPLEMENTED, "not implemented yet")
}
