//! `dead-letter`: the dead letter sink of every Trigger. It keeps each event whose
//! delivery failed for good in the report store (`dead-letters/`, with where, how and
//! why: the `knativeerror*` extensions), logs it as an error and counts it, so a lost
//! event is always visible and can be sent again (`aegis dead-letters resend`). In a
//! cluster it is its own Knative service, like the other functions.

use std::sync::Arc;
use std::time::Duration;

use aegis_core::events::{AnyEvent, AttributesReader};
use aegis_runtime::{BuildError, Context, Function};
use aegis_store::ReportStore;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use prometheus_client::metrics::counter::Counter;

use aegis_core::events::knative::{EXT_ERROR_CODE, EXT_ERROR_DATA, EXT_ERROR_DEST};

/// The function's name, as in `/fn/dead-letter/` and the manifests.
pub const NAME: &str = "dead-letter";

/// Builds the function: the report store the configuration names, where letters are
/// kept.
pub async fn build(ctx: &Context) -> Result<Function, BuildError> {
    let config = ctx.read(NAME, aegis_store::Config::from_env)?;
    let store = ctx.shared(NAME, || aegis_store::open(&config)).await?;
    aegis_store::register_metrics(&ctx.metrics);
    let count = Counter::default();
    ctx.metrics.register(
        "dead_letters",
        "Events whose delivery failed for good",
        count.clone(),
    );
    let state = Sink { count, store };
    Ok(Function {
        name: NAME,
        router: Router::new().route("/", post(receive)).with_state(state),
        timeout: Duration::from_secs(10),
    })
}

#[derive(Clone)]
struct Sink {
    count: Counter,
    store: Arc<dyn ReportStore>,
}

/// Stores the dead letter, logs it as an error and answers 202; 503 when the store
/// cannot take it, so that the broker tries again rather than lose it.
async fn receive(State(sink): State<Sink>, AnyEvent(event): AnyEvent) -> Response {
    let json = match serde_json::to_vec(&event) {
        Ok(json) => json,
        Err(e) => {
            // Unreachable for an event that parsed, but never answer 2xx for a drop.
            tracing::error!(event.id = %event.id(), error = %e, "dead letter: cannot serialize");
            return (
                StatusCode::INTERNAL_SERVER_ERROR,
                "the event cannot be serialized",
            )
                .into_response();
        }
    };
    if let Err(e) = sink
        .store
        .put_dead_letter(chrono::Utc::now(), event.id(), &json)
        .await
    {
        tracing::error!(event.id = %event.id(), error = %e, "dead letter: not stored; the broker will retry");
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            format!("the dead letter could not be stored ({e}); retry"),
        )
            .into_response();
    }
    sink.count.inc();
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
        "dead letter: delivery failed for good; stored under dead-letters/"
    );
    StatusCode::ACCEPTED.into_response()
}

#[cfg(test)]
mod tests {
    use aegis_store::{Folder, Memory, ReportLinks};
    use axum::body::Body;
    use axum::http::Request;
    use http_body_util::BodyExt;
    use tower::ServiceExt;

    use super::*;

    /// A dead letter as the broker sends it: binary mode, with where it failed.
    fn dead_letter() -> Request<Body> {
        Request::post("/")
            .header("ce-specversion", "1.0")
            .header("ce-id", "alert-42")
            .header("ce-source", "/aegis/webhook-receiver")
            .header("ce-type", "dev.aegis.alert.received.v1")
            .header("ce-knativeerrordest", "http://notifier.aegis.svc/")
            .header("ce-knativeerrorcode", "503")
            .header("content-type", "application/json")
            .body(Body::from(r#"{"alertname":"HighLatency"}"#))
            .unwrap()
    }

    async fn send(store: Arc<dyn ReportStore>) -> (StatusCode, String) {
        let ctx = Context::for_test();
        ctx.provide(store).await;
        let res = build(&ctx)
            .await
            .unwrap()
            .router
            .oneshot(dead_letter())
            .await
            .unwrap();
        let status = res.status();
        let body = res.into_body().collect().await.unwrap().to_bytes();
        (status, String::from_utf8_lossy(&body).into_owned())
    }

    #[tokio::test]
    async fn a_dead_letter_is_kept_with_where_and_why_it_failed() {
        let store = Arc::new(Memory::default());
        let (status, _) = send(store.clone()).await;
        assert_eq!(status, StatusCode::ACCEPTED);
        let kept = store.list_dead_letters(10).await.unwrap();
        assert_eq!(kept.len(), 1);
        let event = &kept[0].event;
        assert_eq!(event["id"], "alert-42");
        assert_eq!(event["type"], "dev.aegis.alert.received.v1");
        assert_eq!(event[EXT_ERROR_DEST], "http://notifier.aegis.svc/");
        assert_eq!(event[EXT_ERROR_CODE], "503");
        // The body exactly as it came (binary mode keeps it as bytes).
        use base64::Engine;
        let data = base64::engine::general_purpose::STANDARD
            .decode(event["data_base64"].as_str().unwrap())
            .unwrap();
        assert_eq!(data, br#"{"alertname":"HighLatency"}"#);
    }

    #[tokio::test]
    async fn a_dead_letter_the_store_cannot_take_is_refused_for_a_retry() {
        let dir = tempfile::tempdir().unwrap();
        let folder = Folder::open(dir.path(), Duration::from_secs(3600), ReportLinks::None)
            .await
            .unwrap();
        // The store's dead letter folder is now a file: every write to it fails.
        std::fs::remove_dir(dir.path().join("dead-letters")).unwrap();
        std::fs::write(dir.path().join("dead-letters"), "not a folder").unwrap();
        let (status, body) = send(Arc::new(folder)).await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
        assert!(
            body.contains("could not be stored") && body.contains("retry"),
            "{body}"
        );
    }
}
