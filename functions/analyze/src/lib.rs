//! analyze: runs analyses for HTTP callers and for `io.aegis.analysis.requested.v1` events, replying `io.aegis.analysis.completed.v1`; serves stored reports.

use std::time::Duration;

use aegis::runtime::{BuildError, Context, Function};
use axum::Router;
use axum::http::StatusCode;
use axum::routing::{get, post};

/// The function's name, as in `/fn/analyze/` and the manifests.
pub const NAME: &str = "analyze";

/// Builds the function's router from the shared context.
pub fn build(ctx: &Context) -> Result<Function, BuildError> {
    let _ = ctx;
    let router = Router::new()
        .route("/api/ops/analyze", post(not_implemented))
        .route("/api/ops/analyses", get(not_implemented))
        .route("/api/ops/analyses/{id}", get(not_implemented))
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
