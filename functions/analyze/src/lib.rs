//! analyze: runs analyses for HTTP callers and for `io.aegis.analysis.requested.v1`
//! events, replying `io.aegis.analysis.completed.v1`; serves stored reports.
//!
//! - `POST /api/ops/analyze`: the original service's request (see
//!   [`aegis_analysis::api`]: `description`, optional `time_range` whose naive times
//!   are in `AEGIS_TIMEZONE`, default Asia/Shanghai, `session_id`, `model`); answers the
//!   report (`summary`, `ranked_root_causes`, `next_actions`, `trace`, `model`, plus
//!   `id`, `time_range`, `duration_ms`, `usage`, `degraded`, `archived`) and echoes
//!   `session_id`. 422 names a bad field, 400 for an empty range or an unknown model,
//!   429 with `Retry-After` past `AEGIS_ANALYZE_CONCURRENCY`.
//! - `POST /`: the Trigger subscriber.
//! - `GET /api/ops/analyses[/{id}]`: the report store's listing and reports.

mod handler;
mod subscriber;

pub use aegis_analysis::App;
use aegis_runtime::{BuildError, Context, Function};
use axum::Router;
use axum::routing::post;

/// The function's name, as in `/fn/analyze/` and the manifests.
pub const NAME: &str = "analyze";

/// Builds the function's router from the shared context.
pub fn build(ctx: &Context) -> Result<Function, BuildError> {
    let app = App::new(ctx.config.analyzer_settings(), ctx.store.clone());
    Ok(Function {
        name: NAME,
        timeout: app.timeout(),
        router: router(app),
    })
}

/// The routes, for the function and for tests.
pub fn router(app: App) -> Router {
    let store = app.store.clone();
    Router::new()
        .route("/api/ops/analyze", post(handler::analyze))
        .route("/", post(subscriber::receive))
        .with_state(app)
        .merge(aegis_store::api::routes(store))
        .merge(aegis_analysis::openapi::routes())
}

#[cfg(test)]
mod tests;
