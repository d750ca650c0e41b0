//! feishu-bridge: holds the Feishu long connection and publishes each message event to
//! the broker, acknowledging it only once the broker accepted it.
//!
//! Routes: `GET /healthz/connection` says whether the long connection is up and since
//! when (200 when connected, 503 otherwise, JSON either way); the runtime adds the
//! plain `/healthz` and `/metrics` (`aegis_feishu_bridge_*`).

mod connection;
mod discovery;
mod fragments;
mod status;

use std::time::Duration;

use aegis_runtime::{BuildError, Context, Function};
use axum::Json;
use axum::Router;
use axum::extract::State as AxumState;
use axum::http::StatusCode;
use axum::routing::get;

pub use connection::{Bridge, Timing};
pub use discovery::ConnectError;
pub use fragments::{EXPIRY, Reassembly};
pub use status::{Snapshot, State, Status};

/// The function's name, as in `/fn/feishu-bridge/` and the manifests.
pub const NAME: &str = "feishu-bridge";

/// Builds the function: starts the long connection on the current Tokio runtime when
/// a Feishu app is configured (`FEISHU_APP_ID`, `FEISHU_APP_SECRET`), and serves its
/// status. Without an app the bridge idles and says so.
pub async fn build(ctx: &Context) -> Result<Function, BuildError> {
    let feishu = ctx.read(NAME, aegis_feishu::Config::from_env)?;
    let status = match &feishu.credentials {
        None => {
            tracing::info!("no Feishu app configured; the long connection is not started");
            Status::new(State::NotConfigured, &ctx.metrics)
        }
        Some((app_id, app_secret)) => {
            let runtime = tokio::runtime::Handle::try_current()
                .map_err(|_| BuildError::new(NAME, "must be built inside a Tokio runtime"))?;
            let status = Status::new(State::Connecting, &ctx.metrics);
            let bridge = Bridge::new(
                feishu.base_url.clone(),
                app_id.clone(),
                app_secret.clone(),
                ctx.sink.clone(),
                status.clone(),
            );
            runtime.spawn(bridge.run());
            status
        }
    };
    let router = Router::new()
        .route("/healthz/connection", get(connection_status))
        .with_state(status);
    Ok(Function {
        name: NAME,
        router,
        timeout: Duration::from_secs(30),
    })
}

/// 200 while connected, 503 otherwise; the body says which state, since when, and why.
async fn connection_status(AxumState(status): AxumState<Status>) -> (StatusCode, Json<Snapshot>) {
    let snapshot = status.snapshot();
    let code = if snapshot.connected {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (code, Json(snapshot))
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::BodyExt;
    use tower::ServiceExt;

    #[tokio::test]
    async fn without_an_app_the_status_says_not_configured() {
        let f = build(&Context::for_test()).await.unwrap();
        let res = f
            .router
            .oneshot(
                axum::http::Request::get("/healthz/connection")
                    .body(axum::body::Body::empty())
                    .unwrap(),
            )
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE);
        let body = res.into_body().collect().await.unwrap().to_bytes();
        let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(v["state"], "not_configured");
        assert_eq!(v["connected"], false);
        assert!(v["since"].is_string());
    }
}
