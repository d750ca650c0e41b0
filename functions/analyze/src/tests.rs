use std::sync::Arc;

use aegis_analysis::{Analyzer, NoRanker, NoTools};
use aegis_api::Slots;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;
use tower::ServiceExt;

use super::{Analyses, router};

fn app(slots: Slots) -> Analyses {
    Analyses {
        analyzer: Analyzer::new(
            aegis_analysis::Settings::for_test(),
            Arc::new(NoTools),
            Arc::new(NoRanker {
                reason: "no engine in unit tests".into(),
            }),
        ),
        store: Arc::new(aegis_store::Memory::default()),
        slots,
        clock: Default::default(),
    }
}

fn event(ty: &str, data: serde_json::Value) -> Request<Body> {
    Request::post("/")
        .header("ce-specversion", "1.0")
        .header("ce-id", "e1")
        .header("ce-type", ty)
        .header("ce-source", "/test")
        .header("content-type", "application/json")
        .body(Body::from(data.to_string()))
        .unwrap()
}

#[tokio::test]
async fn without_a_model_the_statistical_report_answers() {
    let req = Request::post("/api/ops/analyze")
        .header("content-type", "application/json")
        .body(Body::from(
            r#"{"description": "slow checkout", "session_id": "s"}"#,
        ))
        .unwrap();
    let res = router(app(Slots::new(1, 0, std::time::Duration::ZERO)))
        .oneshot(req)
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let body: serde_json::Value =
        serde_json::from_slice(&res.into_body().collect().await.unwrap().to_bytes()).unwrap();
    assert_eq!(body["model"], "statistical");
    assert_eq!(body["session_id"], "s");
    assert_eq!(body["degraded"][0], "no engine in unit tests");
}

#[tokio::test]
async fn past_the_concurrency_limit_is_429_with_retry_after() {
    let slots = Slots::new(1, 0, std::time::Duration::ZERO);
    let _held = slots.acquire().await.unwrap();
    let req = Request::post("/api/ops/analyze")
        .body(Body::from(r#"{"description": "x"}"#))
        .unwrap();
    let res = router(app(slots)).oneshot(req).await.unwrap();
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(res.headers().contains_key("retry-after"));
}

#[tokio::test]
async fn other_event_types_are_400() {
    let res = router(app(Slots::new(1, 0, std::time::Duration::ZERO)))
        .oneshot(event(
            "io.aegis.alert.group.received.v1",
            serde_json::json!({}),
        ))
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn invalid_request_event_replies_a_failed_completion() {
    let data = serde_json::json!({
        "request_id": "r1",
        "request": {"description": "", "time_range": {"start": "2026-01-01T00:00:00Z", "end": "2026-01-01T00:15:00Z"}},
        "origin": "api",
    });
    let res = router(app(Slots::new(1, 0, std::time::Duration::ZERO)))
        .oneshot(event("io.aegis.analysis.requested.v1", data))
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()["ce-aegisoutcome"], "failed");
    let body: serde_json::Value =
        serde_json::from_slice(&res.into_body().collect().await.unwrap().to_bytes()).unwrap();
    assert_eq!(body["failure"]["kind"], "invalid");
    assert!(
        body["failure"]["message"]
            .as_str()
            .unwrap()
            .contains("description")
    );
}
