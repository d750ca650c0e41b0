//! analyze: runs analyses for HTTP callers and for `io.aegis.analysis.requested.v1`
//! events, replying `io.aegis.analysis.completed.v1`; serves stored reports.
//!
//! - `POST /api/ops/analyze`: the original service's request (see
//!   [`aegis_api::request`]: `description`, optional `time_range` whose naive times
//!   are in `AEGIS_TIMEZONE`, default Asia/Shanghai, `session_id`, `model`); answers the
//!   report (`summary`, `ranked_root_causes`, `next_actions`, `trace`, `model`, plus
//!   `id`, `time_range`, `duration_ms`, `usage`, `degraded`, `archived`) and echoes
//!   `session_id`. 422 names a bad field, 400 for an empty range or an unknown model,
//!   when every slot (`AEGIS_ANALYZE_CONCURRENCY`) is taken it waits in the queue, and
//!   429 with `Retry-After` when the queue (`AEGIS_ANALYZE_QUEUE`) is full or no slot
//!   came within `AEGIS_ANALYZE_QUEUE_WAIT`.
//! - `POST /`: the Trigger subscriber.
//! - `GET /api/ops/analyses[/{id}]`: the report store's listing and reports.

mod handler;
mod subscriber;

pub use aegis_api::Analyses;
use aegis_runtime::{BuildError, Context, Function};
use axum::Router;
use axum::routing::post;

/// The function's name, as in `/fn/analyze/` and the manifests.
pub const NAME: &str = "analyze";

/// Builds the function's router from the shared context: the analyzer of the
/// configured models and backends, over the configured report store.
pub async fn build(ctx: &Context) -> Result<Function, BuildError> {
    let analyses = Analyses::build(ctx, NAME).await?;
    Ok(Function {
        name: NAME,
        timeout: analyses.timeout(),
        router: router(analyses),
    })
}

/// The routes, for the function and for tests.
pub fn router(analyses: Analyses) -> Router {
    let store = analyses.store.clone();
    let clock = analyses.clock;
    Router::new()
        .route("/api/ops/analyze", post(handler::analyze))
        .route("/", post(subscriber::receive))
        .with_state(analyses)
        .merge(aegis_api::read::routes(store.clone()))
        .merge(aegis_api::incidents::routes(store, clock))
        .merge(aegis_api::openapi::routes())
}

#[cfg(test)]
mod tests;
