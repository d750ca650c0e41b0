//! Answers in the published JSON shapes of Prometheus, Loki and Jaeger, for the
//! recording server.

use aegis_tools::jaeger::Trace;
use aegis_tools::loki::Stream;
use aegis_tools::prometheus::Series;
use axum::http::StatusCode;
use serde_json::{Value, json};

use super::recording::{Answer, Recorded};

pub fn ok(data: Value) -> Answer {
    (
        StatusCode::OK,
        "application/json",
        json!({"status": "success", "data": data}).to_string(),
    )
}

pub fn jaeger_ok(data: Value) -> Answer {
    (
        StatusCode::OK,
        "application/json",
        json!({"data": data, "total": 0, "limit": 0, "offset": 0, "errors": null}).to_string(),
    )
}

pub fn not_found() -> Answer {
    (
        StatusCode::NOT_FOUND,
        "text/plain",
        "404 page not found".into(),
    )
}

/// A Prometheus matrix of `series`.
pub fn matrix(series: &[Series]) -> Value {
    let result: Vec<Value> = series
        .iter()
        .map(|s| {
            json!({
                "metric": s.labels,
                "values": s.points.iter().map(|(t, v)| json!([t, v.to_string()])).collect::<Vec<_>>(),
            })
        })
        .collect();
    json!({"resultType": "matrix", "result": result})
}

/// Loki streams.
pub fn streams(streams: &[Stream]) -> Value {
    let result: Vec<Value> = streams
        .iter()
        .map(|s| {
            json!({
                "stream": s.labels,
                "values": s.entries.iter().map(|(ns, l)| json!([ns.to_string(), l])).collect::<Vec<_>>(),
            })
        })
        .collect();
    json!({"resultType": "streams", "result": result, "stats": {}})
}

/// Jaeger traces in the `/api/traces` shape (spans, references, processes).
pub fn traces(traces: &[Trace]) -> Value {
    Value::Array(
        traces
            .iter()
            .map(|t| {
                let mut processes = serde_json::Map::new();
                let spans: Vec<Value> = t
                    .spans
                    .iter()
                    .map(|s| {
                        let pid = format!("p-{}", s.service);
                        processes.insert(
                            pid.clone(),
                            json!({"serviceName": s.service, "tags": []}),
                        );
                        let mut tags: Vec<Value> = s
                            .tags
                            .iter()
                            .map(|(k, v)| json!({"key": k, "type": "string", "value": v}))
                            .collect();
                        if s.error {
                            tags.push(json!({"key": "error", "type": "bool", "value": true}));
                        }
                        json!({
                            "traceID": t.trace_id,
                            "spanID": s.span_id,
                            "flags": 1,
                            "operationName": s.operation,
                            "references": s.parent_span_id.iter().map(|p| json!({"refType": "CHILD_OF", "traceID": t.trace_id, "spanID": p})).collect::<Vec<_>>(),
                            "startTime": s.start_us,
                            "duration": s.duration_us,
                            "tags": tags,
                            "logs": [],
                            "processID": pid,
                            "warnings": null,
                        })
                    })
                    .collect();
                json!({"traceID": t.trace_id, "spans": spans, "processes": processes, "warnings": null})
            })
            .collect(),
    )
}

/// Answers every query endpoint of the three APIs, each under its own prefix
/// (`/prometheus`, `/loki`, `/jaeger`), with small valid data.
pub fn every_api(r: &Recorded) -> Answer {
    let incident_series = super::incident::series(5, 60);
    let path = r.path.as_str();
    if let Some(p) = path.strip_prefix("/prometheus/api/v1/") {
        return match p {
            "query" => ok(json!({"resultType": "vector", "result": [
                {"metric": {"service": "a"}, "value": [1_674_981_900.0, "0.5"]},
                {"metric": {"service": "b"}, "value": [1_674_981_900.0, "2"]},
            ]})),
            "query_range" => ok(matrix(&incident_series)),
            "labels" => ok(json!(["__name__", "namespace", "service"])),
            "series" => {
                ok(json!([{"__name__": "up", "service": "a"}, {"__name__": "up", "service": "b"}]))
            }
            "metadata" => {
                ok(json!({"up": [{"type": "gauge", "help": "Target is up.", "unit": ""}]}))
            }
            "alerts" => ok(
                json!({"alerts": [{"labels": {"alertname": "HighErrorRate", "service": "a"}, "annotations": {"summary": "5xx above 5%"}, "state": "firing", "activeAt": "2023-01-29T08:40:00Z", "value": "0.07"}]}),
            ),
            "rules" => ok(
                json!({"groups": [{"name": "slo", "file": "slo.yml", "interval": 30, "rules": [
                    {"name": "HighErrorRate", "type": "alerting", "query": "err > 0.05", "health": "ok", "state": "firing", "labels": {"severity": "critical"}, "alerts": []},
                    {"name": "job:err:rate5m", "type": "recording", "query": "sum(rate(err[5m]))", "health": "ok", "labels": {}},
                ]}]}),
            ),
            p if p.starts_with("label/") && p.ends_with("/values") => ok(json!(["a", "b", "c"])),
            _ => not_found(),
        };
    }
    if let Some(p) = path.strip_prefix("/loki/loki/api/v1/") {
        return match p {
            "query_range" => ok(streams(&super::incident::log_streams(500, 5))),
            "labels" => ok(json!(["app", "namespace", "pod"])),
            "series" => ok(json!([{"app": "a", "namespace": "shop"}])),
            p if p.starts_with("label/") && p.ends_with("/values") => {
                ok(json!(["svc-00-orders", "svc-01-payments"]))
            }
            _ => not_found(),
        };
    }
    if let Some(p) = path.strip_prefix("/jaeger/api/") {
        let sample = super::incident::traces(20, 10);
        return match p {
            "services" => jaeger_ok(json!(["svc-00-orders", "svc-01-payments"])),
            "traces" => jaeger_ok(traces(&sample)),
            "dependencies" => jaeger_ok(
                json!([{"parent": "svc-00-orders", "child": "svc-01-payments", "callCount": 42}]),
            ),
            p if p.starts_with("services/") && p.ends_with("/operations") => {
                jaeger_ok(json!(["GET /a", "POST /b"]))
            }
            p if p.starts_with("traces/") => jaeger_ok(traces(&sample[..1])),
            _ => not_found(),
        };
    }
    not_found()
}
