//! The Jaeger query API over a dataset's spans (`/api/services`, operations, trace
//! search, trace by id, dependencies) in the JSON shape of Jaeger's HTTP API.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{Value, json};

use super::Dataset;
use super::params::Params;
use super::traces::{Span, TraceStore};

/// jaeger-query's default search limit (`defaultQueryLimit`).
const DEFAULT_LIMIT: usize = 100;
/// The lookback when `start` is absent, in µs (one hour, Jaeger UI's default), counted
/// back from the recording's last span rather than from now: the recording is past.
const DEFAULT_LOOKBACK_US: i64 = 3_600_000_000;

/// The Jaeger routes.
pub fn routes() -> Router<Arc<Dataset>> {
    Router::new()
        .route("/api/services", get(services))
        .route("/api/services/{service}/operations", get(operations))
        .route("/api/traces", get(search))
        .route("/api/traces/{id}", get(trace_by_id))
        .route("/api/dependencies", get(dependencies))
}

/// A failed request, answered in Jaeger's `errors` envelope.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// 400: a parameter is missing or malformed.
    #[error("{0}")]
    BadRequest(String),
    /// 404: no such trace.
    #[error("trace not found")]
    NotFound,
}

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        let status = match self {
            Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::NotFound => StatusCode::NOT_FOUND,
        };
        let body = json!({
            "data": null, "total": 0, "limit": 0, "offset": 0,
            "errors": [{"code": status.as_u16(), "msg": self.to_string()}],
        });
        (status, Json(body)).into_response()
    }
}

fn envelope(data: Value, total: usize) -> Response {
    Json(json!({"data": data, "total": total, "limit": 0, "offset": 0, "errors": null}))
        .into_response()
}

async fn services(State(ds): State<Arc<Dataset>>) -> Response {
    let names: Vec<&str> = ds.traces.services.iter().map(|s| s.as_ref()).collect();
    let total = names.len();
    envelope(json!(names), total)
}

async fn operations(State(ds): State<Arc<Dataset>>, Path(service): Path<String>) -> Response {
    let t = &ds.traces;
    let names: Vec<&str> = t
        .service(&service)
        .map(|s| {
            t.operations_by_service[s as usize]
                .iter()
                .map(|&o| t.operations[o as usize].as_ref())
                .collect()
        })
        .unwrap_or_default();
    let total = names.len();
    envelope(json!(names), total)
}

/// A Go duration (`1.5s`, `100ms`, `250us`, `2m`) in µs.
fn parse_duration_us(s: &str) -> Result<i64, Error> {
    let bad = || {
        Error::BadRequest(format!(
            "cannot parse duration {s:?}: use e.g. 100ms or 1.5s"
        ))
    };
    let split = s
        .find(|c: char| c.is_ascii_alphabetic() || c == 'µ')
        .ok_or_else(bad)?;
    let n: f64 = s[..split].parse().map_err(|_| bad())?;
    let unit = match &s[split..] {
        "ns" => 0.001,
        "us" | "µs" => 1.0,
        "ms" => 1e3,
        "s" => 1e6,
        "m" => 6e7,
        "h" => 3.6e9,
        _ => return Err(bad()),
    };
    Ok((n * unit) as i64)
}

fn int_param(p: &Params, key: &str) -> Result<Option<i64>, Error> {
    p.get(key)
        .map(|v| {
            v.parse::<i64>().map_err(|_| {
                Error::BadRequest(format!(
                    "unable to parse param '{key}': {v:?} is not an integer"
                ))
            })
        })
        .transpose()
}

/// `tags` as Jaeger takes them: a JSON object, or repeated `key:value`.
fn parse_tags(p: &Params) -> Result<Vec<(String, String)>, Error> {
    let mut tags = Vec::new();
    for raw in p.all("tags") {
        let map: BTreeMap<String, Value> = serde_json::from_str(raw)
            .map_err(|e| Error::BadRequest(format!("malformed 'tags' parameter: {e}")))?;
        for (k, v) in map {
            let v = match v {
                Value::String(s) => s,
                other => other.to_string(),
            };
            tags.push((k, v));
        }
    }
    for raw in p.all("tag") {
        let (k, v) = raw.split_once(':').ok_or_else(|| {
            Error::BadRequest(format!("malformed 'tag' parameter {raw:?}: use key:value"))
        })?;
        tags.push((k.to_owned(), v.to_owned()));
    }
    Ok(tags)
}

/// Whether the span carries every tag (`error`, its attributes, `span.kind` absent).
fn span_has_tags(t: &TraceStore, span: &Span, tags: &[(String, String)]) -> bool {
    tags.iter().all(|(k, v)| {
        if k == "error" {
            return (span.error == Some(true)) == (v == "true");
        }
        t.attributes[span.attributes as usize].get(k) == Some(v.as_str())
    })
}

async fn search(State(ds): State<Arc<Dataset>>, RawQuery(q): RawQuery) -> Result<Response, Error> {
    let p = Params::parse(q.as_deref(), &[]);
    let t = &ds.traces;
    let service_name = p
        .get("service")
        .ok_or_else(|| Error::BadRequest("parameter 'service' is required".into()))?;
    let operation = p.get("operation");
    let tags = parse_tags(&p)?;
    let min = p.get("minDuration").map(parse_duration_us).transpose()?;
    let max = p.get("maxDuration").map(parse_duration_us).transpose()?;
    let limit = int_param(&p, "limit")?
        .map(|l| l.max(0) as usize)
        .filter(|&l| l > 0)
        .unwrap_or(DEFAULT_LIMIT);
    let end = int_param(&p, "end")?
        .unwrap_or_else(|| t.spans.iter().map(|s| s.start_us).max().unwrap_or(0));
    let start = match int_param(&p, "start")? {
        Some(s) => s,
        None => {
            let lookback = p.get("lookback").map(parse_duration_us).transpose()?;
            end.saturating_sub(lookback.unwrap_or(DEFAULT_LOOKBACK_US))
        }
    };
    if end < start {
        return Err(Error::BadRequest("'end' must not be before 'start'".into()));
    }
    let Some(service) = t.service(service_name) else {
        return Ok(envelope(json!([]), 0));
    };
    let mut found: Vec<(i64, u32)> = Vec::new();
    for &trace in &t.traces_by_service[service as usize] {
        let spans = t.spans_of(trace);
        let hit = spans.iter().find(|s| {
            s.service == service
                && s.start_us >= start
                && s.start_us <= end
                && operation.is_none_or(|op| &*t.operations[s.operation as usize] == op)
                && min.is_none_or(|m| s.duration_us >= m)
                && max.is_none_or(|m| s.duration_us <= m)
                && span_has_tags(t, s, &tags)
        });
        if let Some(s) = hit {
            found.push((s.start_us, trace));
        }
    }
    // Newest first, as Jaeger's storage returns them.
    found.sort_by(|a, b| b.cmp(a));
    found.truncate(limit);
    let data: Vec<Value> = found
        .iter()
        .map(|&(_, trace)| trace_json(t, trace))
        .collect();
    let total = data.len();
    Ok(envelope(json!(data), total))
}

async fn trace_by_id(
    State(ds): State<Arc<Dataset>>,
    Path(id): Path<String>,
) -> Result<Response, Error> {
    let trace = ds.traces.trace(&id).ok_or(Error::NotFound)?;
    Ok(envelope(json!([trace_json(&ds.traces, trace)]), 1))
}

/// One trace in Jaeger's JSON model: spans, and one process per (service, pod).
pub fn trace_json(t: &TraceStore, trace: u32) -> Value {
    let mut processes: Vec<(u32, Option<&str>)> = Vec::new();
    let mut spans = Vec::new();
    let trace_id = &*t.trace_ids[trace as usize];
    for s in t.spans_of(trace) {
        let attrs = &t.attributes[s.attributes as usize];
        let key = (s.service, attrs.get("pod"));
        let pid = match processes.iter().position(|p| *p == key) {
            Some(i) => i,
            None => {
                processes.push(key);
                processes.len() - 1
            }
        };
        let mut tags: Vec<Value> = attrs
            .iter()
            .filter(|(k, _)| *k != "pod")
            .map(|(k, v)| json!({"key": k, "type": "string", "value": v}))
            .collect();
        if s.error == Some(true) {
            tags.push(json!({"key": "error", "type": "bool", "value": true}));
        }
        let references: Vec<Value> = s
            .parent
            .map(|p| json!({"refType": "CHILD_OF", "traceID": trace_id, "spanID": t.id(p)}))
            .into_iter()
            .collect();
        spans.push(json!({
            "traceID": trace_id,
            "spanID": t.id(s.span_id),
            "flags": 1,
            "operationName": &*t.operations[s.operation as usize],
            "references": references,
            "startTime": s.start_us,
            "duration": s.duration_us,
            "tags": tags,
            "logs": [],
            "processID": format!("p{}", pid + 1),
            "warnings": null,
        }));
    }
    let processes: serde_json::Map<String, Value> = processes
        .into_iter()
        .enumerate()
        .map(|(i, (service, pod))| {
            let tags: Vec<Value> = pod
                .map(|pod| json!({"key": "pod", "type": "string", "value": pod}))
                .into_iter()
                .collect();
            (
                format!("p{}", i + 1),
                json!({"serviceName": &*t.services[service as usize], "tags": tags}),
            )
        })
        .collect();
    json!({"traceID": trace_id, "spans": spans, "processes": processes, "warnings": null})
}

/// Caller → callee call counts from parent/child spans of different services that
/// start within `[endTs - lookback, endTs]` (ms).
async fn dependencies(
    State(ds): State<Arc<Dataset>>,
    RawQuery(q): RawQuery,
) -> Result<Response, Error> {
    let p = Params::parse(q.as_deref(), &[]);
    let t = &ds.traces;
    let end_ms = int_param(&p, "endTs")?
        .ok_or_else(|| Error::BadRequest("parameter 'endTs' is required".into()))?;
    let lookback_ms = int_param(&p, "lookback")?.unwrap_or(86_400_000);
    // Saturating: an endTs or lookback past what microseconds can hold selects the
    // edge of time rather than wrapping around.
    let (lo, hi) = (
        end_ms.saturating_sub(lookback_ms).saturating_mul(1000),
        end_ms.saturating_mul(1000),
    );
    let mut counts: BTreeMap<(u32, u32), u64> = BTreeMap::new();
    for range in &t.trace_spans {
        let spans = &t.spans[range.clone()];
        // Spans are sorted by start: skip traces wholly outside the window cheaply.
        let (Some(first), Some(last)) = (spans.first(), spans.last()) else {
            continue;
        };
        if first.start_us > hi || last.start_us < lo {
            continue;
        }
        let service_of: HashMap<&str, u32> =
            spans.iter().map(|s| (t.id(s.span_id), s.service)).collect();
        for s in spans {
            if s.start_us < lo || s.start_us > hi {
                continue;
            }
            if let Some(parent) = s.parent.and_then(|p| service_of.get(t.id(p)))
                && *parent != s.service
            {
                *counts.entry((*parent, s.service)).or_default() += 1;
            }
        }
    }
    let data: Vec<Value> = counts
        .into_iter()
        .map(|((from, to), n)| json!({"parent": &*t.services[from as usize], "child": &*t.services[to as usize], "callCount": n}))
        .collect();
    let total = data.len();
    Ok(envelope(json!(data), total))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_durations_parse_to_micros() {
        assert_eq!(parse_duration_us("1.5s").unwrap(), 1_500_000);
        assert_eq!(parse_duration_us("100ms").unwrap(), 100_000);
        assert_eq!(parse_duration_us("250us").unwrap(), 250);
        assert!(parse_duration_us("fast").is_err());
    }
}
