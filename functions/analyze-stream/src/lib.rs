//! analyze-stream: `POST /api/ops/analyze/stream`, the analysis as NDJSON progress events ending in the report.

use std::time::Duration;

use aegis::runtime::{BuildError, Context, Function};
use axum::Router;
use axum::http::StatusCode;
use axum::routing::post;

/// The function's name, as in `/fn/analyze-stream/` and the manifests.
pub const NAME: &str = "analyze-stream";

/// Builds the function's router from the shared context.
pub fn build(ctx: &Context) -> Result<Function, BuildError> {
    let _ = ctx;
    let router = Router::new().route("/api/ops/analyze/stream", post(not_implemented));
    Ok(Function {
        name: NAME,
        router,
        timeout: Duration::from_secs(30),
    })
}

async fn not_implemented() -> (StatusCode, &'static str) {
    (StatusCode::NOT_IMPLEMENTED, "not implemented yet")
}
