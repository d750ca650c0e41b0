use std::sync::{Arc, Mutex};

use aegis_core::config::Secret;
use aegis_core::events::{AttributesReader, Event, EventSink, SendError};
use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;
use tower::ServiceExt;

use super::*;

/// Records events; fails while `down` is set.
#[derive(Default)]
struct Recording {
    events: Mutex<Vec<Event>>,
    down: std::sync::atomic::AtomicBool,
}

#[async_trait::async_trait]
impl EventSink for Recording {
    async fn send(&self, event: Event) -> Result<(), SendError> {
        if self.down.load(std::sync::atomic::Ordering::SeqCst) {
            return Err(SendError::Unavailable {
                attempts: 1,
                reason: "connection failed".into(),
            });
        }
        self.events.lock().unwrap().push(event);
        Ok(())
    }
}

fn app(sink: Arc<Recording>, token: Option<&str>) -> Router {
    router(Receiver {
        sink,
        token: token.map(Secret::new),
    })
}

fn notification() -> serde_json::Value {
    serde_json::json!({
        "version": "4",
        "groupKey": "{}:{alertname=\"KubePodCrashLooping\"}",
        "truncatedAlerts": 0,
        "status": "firing",
        "receiver": "aegis",
        "groupLabels": {"alertname": "KubePodCrashLooping"},
        "commonLabels": {"alertname": "KubePodCrashLooping"},
        "commonAnnotations": {},
        "externalURL": "http://alertmanager:9093",
        "alerts": [{
            "status": "firing",
            "labels": {"alertname": "KubePodCrashLooping", "severity": "critical", "namespace": "shop", "pod": "cart-1"},
            "annotations": {"summary": "cart-1 restarts"},
            "startsAt": "2026-11-25T10:00:00Z",
            "endsAt": "0001-01-01T00:00:00Z",
            "generatorURL": "http://prometheus:9090/graph",
            "fingerprint": "c0ffee"
        }]
    })
}

fn post(path: &str, body: impl Into<Body>, token: Option<&str>) -> Request<Body> {
    let mut req = Request::post(path).header("content-type", "application/json");
    if let Some(t) = token {
        req = req.header("authorization", format!("Bearer {t}"));
    }
    req.body(body.into()).unwrap()
}

async fn answer(router: Router, req: Request<Body>) -> (StatusCode, serde_json::Value) {
    let res = router.oneshot(req).await.unwrap();
    let status = res.status();
    let bytes = res.into_body().collect().await.unwrap().to_bytes();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(serde_json::Value::Null),
    )
}

#[tokio::test]
async fn valid_notification_publishes_one_event_then_answers_ok() {
    let sink = Arc::new(Recording::default());
    let (status, body) = answer(
        app(sink.clone(), None),
        post("/alertmanager/webhook", notification().to_string(), None),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["status"], "ok");
    let events = sink.events.lock().unwrap();
    assert_eq!(events.len(), 1);
    let e = &events[0];
    assert_eq!(e.ty(), "io.aegis.alert.group.received.v1");
    assert_eq!(e.source().to_string(), "/aegis/webhook-receiver");
    assert_eq!(body["event_id"], e.id());
    assert_eq!(e.extension("aegisstatus").unwrap().to_string(), "firing");
    assert_eq!(
        e.extension("aegisseverity").unwrap().to_string(),
        "critical"
    );
    let data: aegis_core::alert::Notification = aegis_core::events::data_as(e).unwrap();
    assert_eq!(data.alerts[0].fingerprint, "c0ffee");
}

#[tokio::test]
async fn the_knative_root_path_works_too_and_ids_repeat() {
    let sink = Arc::new(Recording::default());
    for _ in 0..2 {
        let (status, _) = answer(
            app(sink.clone(), None),
            post("/", notification().to_string(), None),
        )
        .await;
        assert_eq!(status, StatusCode::OK);
    }
    let events = sink.events.lock().unwrap();
    assert_eq!(events[0].id(), events[1].id());
}

#[tokio::test]
async fn sink_down_is_503_and_nothing_is_acknowledged() {
    let sink = Arc::new(Recording::default());
    sink.down.store(true, std::sync::atomic::Ordering::SeqCst);
    let (status, body) = answer(
        app(sink.clone(), None),
        post("/alertmanager/webhook", notification().to_string(), None),
    )
    .await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(body["status"], "error");
}

#[tokio::test]
async fn unknown_version_is_400_naming_version() {
    let mut n = notification();
    n["version"] = "3".into();
    let (status, body) = answer(
        app(Arc::default(), None),
        post("/alertmanager/webhook", n.to_string(), None),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        body["message"].as_str().unwrap().contains("version"),
        "{body}"
    );
}

#[tokio::test]
async fn missing_field_is_400_naming_it() {
    let mut n = notification();
    n.as_object_mut().unwrap().remove("groupKey");
    let (status, body) = answer(
        app(Arc::default(), None),
        post("/alertmanager/webhook", n.to_string(), None),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        body["message"].as_str().unwrap().contains("groupKey"),
        "{body}"
    );
}

#[tokio::test]
async fn bad_timestamp_is_400_with_its_path() {
    let mut n = notification();
    n["alerts"][0]["startsAt"] = "yesterday".into();
    let (status, body) = answer(
        app(Arc::default(), None),
        post("/alertmanager/webhook", n.to_string(), None),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("alerts[0].startsAt"),
        "{body}"
    );
}

#[tokio::test]
async fn truncated_json_is_400() {
    let text = notification().to_string();
    let (status, body) = answer(
        app(Arc::default(), None),
        post(
            "/alertmanager/webhook",
            text[..text.len() / 2].to_string(),
            None,
        ),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body["message"].as_str().unwrap().contains("EOF"), "{body}");
}

#[tokio::test]
async fn oversized_body_is_413() {
    let big = format!("{{\"version\":\"4\",\"pad\":\"{}\"}}", "x".repeat(5 << 20));
    let (status, _) = answer(
        app(Arc::default(), None),
        post("/alertmanager/webhook", big, None),
    )
    .await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
}

#[tokio::test]
async fn token_is_required_when_configured() {
    let sink = Arc::new(Recording::default());
    for given in [None, Some("wrong"), Some("s3cret-but-longer")] {
        let (status, body) = answer(
            app(sink.clone(), Some("s3cret")),
            post("/alertmanager/webhook", notification().to_string(), given),
        )
        .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{given:?}");
        assert!(body["message"].as_str().unwrap().contains("bearer"));
    }
    // A wrong token is refused before the body is looked at.
    let (status, _) = answer(
        app(sink.clone(), Some("s3cret")),
        post("/alertmanager/webhook", "{", Some("wrong")),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(sink.events.lock().unwrap().is_empty());
    let (status, _) = answer(
        app(sink.clone(), Some("s3cret")),
        post(
            "/alertmanager/webhook",
            notification().to_string(),
            Some("s3cret"),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
}
