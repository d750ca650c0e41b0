//! W3C trace context taken from HTTP headers (`traceparent`, or a binary CloudEvent's
//! `ce-traceparent`) and from the CloudEvents `traceparent` extension, and passed on to
//! every hop, so one alert can be followed across every function. Installing the
//! subscriber and the OTLP exporter is the function host's (`aegis_runtime::telemetry`).

use std::collections::HashMap;

use axum::http::Request;
use opentelemetry::propagation::TextMapPropagator;
use opentelemetry::trace::TraceContextExt;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use tower_http::classify::{ServerErrorsAsFailures, SharedClassifier};
use tower_http::trace::{MakeSpan, TraceLayer};
use tracing_opentelemetry::OpenTelemetrySpanExt;

/// The span made for each HTTP request, a child of the caller's trace context.
#[derive(Debug, Clone, Copy, Default)]
pub struct RequestSpan;

impl<B> MakeSpan<B> for RequestSpan {
    fn make_span(&mut self, req: &Request<B>) -> tracing::Span {
        let request_id = req
            .headers()
            .get("x-request-id")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        let span = tracing::info_span!("request", method = %req.method(), uri = %req.uri().path(), request_id = %request_id);
        if let Some(parent) = header_context(req.headers()) {
            // Only fails when no OpenTelemetry layer is installed: nothing to link then.
            let _ = span.set_parent(parent);
        }
        span
    }
}

/// The caller's trace context: the `traceparent` header, or else a binary-mode
/// CloudEvent's `ce-traceparent`.
fn header_context(headers: &http::HeaderMap) -> Option<opentelemetry::Context> {
    let value = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let (traceparent, tracestate) = match value("traceparent") {
        Some(tp) => (tp, value("tracestate")),
        None => (value("ce-traceparent")?, value("ce-tracestate")),
    };
    parse_context(traceparent, tracestate)
}

fn parse_context(traceparent: &str, tracestate: Option<&str>) -> Option<opentelemetry::Context> {
    let mut carrier = HashMap::from([("traceparent".to_string(), traceparent.to_string())]);
    if let Some(state) = tracestate {
        carrier.insert("tracestate".to_string(), state.to_string());
    }
    let cx = TraceContextPropagator::new().extract(&carrier);
    cx.span().span_context().is_valid().then_some(cx)
}

/// The per-request tracing layer.
pub fn http_layer() -> TraceLayer<SharedClassifier<ServerErrorsAsFailures>, RequestSpan> {
    TraceLayer::new_for_http().make_span_with(RequestSpan)
}

/// The current span's W3C `traceparent`, if tracing is active.
pub fn current_traceparent() -> Option<String> {
    let cx = tracing::Span::current().context();
    if !cx.span().span_context().is_valid() {
        return None;
    }
    let mut carrier = HashMap::new();
    TraceContextPropagator::new().inject_context(&cx, &mut carrier);
    carrier.remove("traceparent")
}

/// Adds the current trace context (`traceparent`, `tracestate`) to outgoing HTTP headers.
pub fn inject_headers(headers: &mut http::HeaderMap) {
    let cx = tracing::Span::current().context();
    if !cx.span().span_context().is_valid() {
        return;
    }
    TraceContextPropagator::new()
        .inject_context(&cx, &mut opentelemetry_http::HeaderInjector(headers));
}

/// Links a received event's `traceparent` to the current span when it belongs to
/// another trace. (Binary-mode events and everything the brokers deliver carry the
/// context in headers, which already parent the request span; a started span cannot be
/// re-parented, so a structured event posted without headers is linked instead.)
pub fn adopt_event_context(event: &cloudevents::Event) {
    let Some(traceparent) = event
        .extension(crate::events::EXT_TRACEPARENT)
        .map(|v| v.to_string())
    else {
        return;
    };
    let tracestate = event.extension("tracestate").map(|v| v.to_string());
    let Some(cx) = parse_context(&traceparent, tracestate.as_deref()) else {
        return;
    };
    let span = tracing::Span::current();
    let current = span.context();
    let current = current.span().span_context().clone();
    let remote = cx.span().span_context().clone();
    if current.trace_id() == remote.trace_id() {
        return;
    }
    if span.set_parent(cx).is_err() {
        span.add_link(remote);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use opentelemetry::trace::TracerProvider as _;
    use opentelemetry_sdk::trace::SdkTracerProvider;
    use tracing_subscriber::layer::SubscriberExt;

    #[test]
    fn traceparent_round_trips_through_a_span() {
        let provider = SdkTracerProvider::builder().build();
        let subscriber = tracing_subscriber::registry()
            .with(tracing_opentelemetry::layer().with_tracer(provider.tracer("test")));
        tracing::subscriber::with_default(subscriber, || {
            let incoming = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
            let mut headers = http::HeaderMap::new();
            headers.insert("traceparent", incoming.parse().unwrap());
            let req = Request::builder().uri("/x").body(()).unwrap();
            let (mut parts, body) = req.into_parts();
            parts.headers = headers;
            let req = Request::from_parts(parts, body);
            let span = RequestSpan.make_span(&req);
            let _entered = span.enter();
            let out = current_traceparent().expect("a span is active");
            assert!(
                out.starts_with("00-4bf92f3577b34da6a3ce929d0e0e4736-"),
                "same trace: {out}"
            );
            assert!(!out.contains("00f067aa0ba902b7"), "a new span id: {out}");
            let mut outgoing = http::HeaderMap::new();
            inject_headers(&mut outgoing);
            assert_eq!(outgoing["traceparent"], out.as_str());
        });
    }

    #[test]
    fn binary_event_traceparent_parents_the_request_span() {
        let provider = SdkTracerProvider::builder().build();
        let subscriber = tracing_subscriber::registry()
            .with(tracing_opentelemetry::layer().with_tracer(provider.tracer("test")));
        tracing::subscriber::with_default(subscriber, || {
            let req = Request::builder()
                .uri("/")
                .header(
                    "ce-traceparent",
                    "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
                )
                .body(())
                .unwrap();
            let span = RequestSpan.make_span(&req);
            let _entered = span.enter();
            let out = current_traceparent().unwrap();
            assert!(
                out.starts_with("00-0af7651916cd43dd8448eb211c80319c-"),
                "{out}"
            );
        });
    }

    #[test]
    fn without_tracing_there_is_no_traceparent() {
        assert_eq!(current_traceparent(), None);
    }
}
