//! `dead-letter`: the dead letter sink of every Trigger. It logs each event whose
//! delivery failed for good, with where, how and why (the `knativeerror*` extensions),
//! and counts it, so a lost event is always visible. Part of the `aegis` host: in a
//! cluster it runs as `aegis serve dead-letter`.

use std::time::Duration;

use aegis::events::{AttributesReader, Received};
use aegis::runtime::{BuildError, Context, Function};
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use prometheus_client::metrics::counter::Counter;

use crate::broker::{EXT_ERROR_CODE, EXT_ERROR_DATA, EXT_ERROR_DEST};

/// The function's name, as in `/fn/dead-letter/` and the manifests.
pub const NAME: &str = "dead-letter";

/// Builds the function.
pub fn build(ctx: &Context) -> Result<Function, BuildError> {
    let count = Counter::default();
    ctx.metrics.register(
        "dead_letters",
        "Events whose delivery failed for good",
        count.clone(),
    );
    Ok(Function {
        name: NAME,
        router: Router::new().route("/", post(receive)).with_state(count),
        timeout: Duration::from_secs(10),
    })
}

/// Logs the dead letter as an error and answers 202.
async fn receive(State(count): State<Counter>, Received(event): Received) -> StatusCode {
    count.inc();
    let ext = |name: &str| event.extension(name).map(|v| v.to_string());
    let body = ext(EXT_ERROR_DATA).and_then(|d| {
        use base64::Engine;
        base64::engine::general_purpose::STANDARD
            .decode(d)
            .ok()
            .map(|b| String::from_utf8_lossy(&b).into_owned())
    });
    tracing::error!(
        event.id = %event.id(),
        event.ty = %event.ty(),
        event.source = %event.source(),
        destination = ?ext(EXT_ERROR_DEST),
        status = ?ext(EXT_ERROR_CODE),
        response = ?body,
        "dead letter: delivery failed for good"
    );
    StatusCode::ACCEPTED
}
