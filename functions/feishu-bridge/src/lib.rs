//! feishu-bridge: holds the Feishu long connection and publishes each message event to the broker, acknowledging it only once the broker accepted it.

use std::time::Duration;

use aegis::runtime::{BuildError, Context, Function};
use axum::Router;
use axum::http::StatusCode;
use axum::routing::get;

/// The function's name, as in `/fn/feishu-bridge/` and the manifests.
pub const NAME: &str = "feishu-bridge";

/// Builds the function's router from the shared context.
pub fn build(ctx: &Context) -> Result<Function, BuildError> {
    let _ = ctx;
    let router = Router::new().route("/", get(not_implemented));
    Ok(Function {
        name: NAME,
        router,
        timeout: Duration::from_secs(30),
    })
}

async fn not_implemented() -> (StatusCode, &'static str) {
    (StatusCode::NOT_IMPLEMENTED, "not implemented yet")
}
