use axum::extract::{DefaultBodyLimit, Request};
use axum::http::{HeaderName, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};

use aegis_core::Metrics;

use super::ServeConfig;

const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Adds what every function process serves and enforces: `/healthz` (no backend
/// touched), `/metrics`, `x-request-id` in and out, the body limit with a 413 that says
/// so, request metrics, and a span per request carrying the caller's trace context.
pub fn with_common_layers(router: Router, config: &ServeConfig, metrics: &Metrics) -> Router {
    let limit = config.body_limit;
    let scrape = metrics.clone();
    router
        .route(
            "/healthz",
            get(|| async { Json(serde_json::json!({"status": "ok"})) }),
        )
        .route("/metrics", get(move || metrics_text(scrape.clone())))
        .layer(middleware::from_fn_with_state(
            metrics.clone(),
            Metrics::record,
        ))
        .layer(middleware::from_fn(move |req: Request, next: Next| {
            declared_length_limit(limit, req, next)
        }))
        .layer(DefaultBodyLimit::max(limit))
        .layer(aegis_core::trace_context::http_layer())
        .layer(PropagateRequestIdLayer::new(REQUEST_ID))
        .layer(SetRequestIdLayer::new(REQUEST_ID, MakeRequestUuid))
}

async fn metrics_text(metrics: Metrics) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        metrics.encode(),
    )
        .into_response()
}

/// Refuses a body whose declared length is over the limit before reading it; bodies
/// without a length are cut by `DefaultBodyLimit` as they are read.
async fn declared_length_limit(limit: usize, req: Request, next: Next) -> Response {
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if let Some(len) = declared
        && len > limit as u64
    {
        return (
            StatusCode::PAYLOAD_TOO_LARGE,
            format!(
                "request body of {len} bytes exceeds the limit of {limit} bytes (AEGIS_BODY_LIMIT)"
            ),
        )
            .into_response();
    }
    next.run(req).await
}
