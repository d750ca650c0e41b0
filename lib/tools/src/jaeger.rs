//! A read-only client of the Jaeger query HTTP API (`/api/...`, the JSON the Jaeger UI
//! reads), with typed results.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use super::bounds::Bounds;
use super::error::{Api, Error, required};
use super::http::{Http, Request};

/// A trace search (`/api/traces`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TraceQuery {
    /// The service whose spans to search (required by Jaeger).
    pub service: String,
    /// Only traces with a span of this operation.
    pub operation: Option<String>,
    /// Only traces with spans carrying all these tags (`error` = `true`, `http.status_code` = `500`).
    pub tags: BTreeMap<String, String>,
    /// Only traces with a span at least this long.
    pub min_duration: Option<Duration>,
    /// Most traces wanted (never more than `max_traces`); 0 means `max_traces`.
    pub limit: usize,
    /// Start of the search window.
    pub start: DateTime<Utc>,
    /// End of the search window.
    pub end: DateTime<Utc>,
}

/// One trace and its spans.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Trace {
    /// The trace id (hex).
    pub trace_id: String,
    /// Its spans, in the order Jaeger returned them.
    pub spans: Vec<Span>,
}

/// One span.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Span {
    /// The span id (hex).
    pub span_id: String,
    /// The parent's span id (`CHILD_OF` reference); `None` for a root span.
    pub parent_span_id: Option<String>,
    /// The service that emitted it (its process' `serviceName`).
    pub service: String,
    /// The operation name.
    pub operation: String,
    /// Start, unix microseconds.
    pub start_us: i64,
    /// Duration, microseconds.
    pub duration_us: i64,
    /// Whether the span is marked failed (`error=true`, or `otel.status_code=ERROR`).
    pub error: bool,
    /// Its tags, values as text.
    pub tags: BTreeMap<String, String>,
}

/// One edge of the service call graph (`/api/dependencies`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Dependency {
    /// The calling service.
    pub parent: String,
    /// The called service.
    pub child: String,
    /// Calls seen in the window.
    #[serde(rename = "callCount")]
    pub call_count: u64,
}

/// The Jaeger client. Every call goes through the read-only [`Http`] layer and is held
/// to the [`Bounds`].
#[derive(Debug, Clone)]
pub struct Client {
    http: Http,
    bounds: Bounds,
}

impl Client {
    /// A client over `http`, held to `bounds`.
    pub fn new(http: Http, bounds: Bounds) -> Self {
        Self { http, bounds }
    }

    /// The bounds this client applies.
    pub fn bounds(&self) -> &Bounds {
        &self.bounds
    }

    /// Services that reported spans.
    pub async fn services(&self) -> Result<Vec<String>, Error> {
        let services: Option<Vec<String>> = self.call(&["api", "services"], Vec::new()).await?;
        Ok(services.unwrap_or_default())
    }

    /// Operations of `service`.
    pub async fn operations(&self, service: &str) -> Result<Vec<String>, Error> {
        let service = required("service", service)?;
        let ops: Option<Vec<String>> = self
            .call(&["api", "services", service, "operations"], Vec::new())
            .await?;
        Ok(ops.unwrap_or_default())
    }

    /// Traces matching `query`: at most `limit`, never more than `max_traces`.
    pub async fn find_traces(&self, query: &TraceQuery) -> Result<Vec<Trace>, Error> {
        self.bounds.check_range(query.start, query.end)?;
        let service = required("service", &query.service)?;
        let limit = match query.limit {
            0 => self.bounds.max_traces,
            n => n.min(self.bounds.max_traces),
        };
        let mut params = vec![
            ("service".to_string(), service.to_string()),
            ("start".into(), micros(query.start).to_string()),
            ("end".into(), micros(query.end).to_string()),
            ("limit".into(), limit.to_string()),
        ];
        if let Some(op) = query.operation.as_deref().filter(|o| !o.trim().is_empty()) {
            params.push(("operation".into(), op.to_string()));
        }
        if !query.tags.is_empty() {
            let tags = serde_json::to_string(&query.tags).expect("a map of strings serialises");
            params.push(("tags".into(), tags));
        }
        if let Some(d) = query.min_duration.filter(|d| !d.is_zero()) {
            params.push(("minDuration".into(), format!("{}us", d.as_micros())));
        }
        let raw: Option<Vec<RawTrace>> = self.call(&["api", "traces"], params).await?;
        let mut traces: Vec<Trace> = raw
            .unwrap_or_default()
            .into_iter()
            .map(RawTrace::into_trace)
            .collect();
        traces.truncate(limit);
        Ok(traces)
    }

    /// One trace by id; `None` when Jaeger does not know it.
    pub async fn trace(&self, trace_id: &str) -> Result<Option<Trace>, Error> {
        let id = required("trace id", trace_id)?;
        if !id.chars().all(|c| c.is_ascii_hexdigit()) {
            return Err(Error::Invalid(format!(
                "trace id {id:?} is not hexadecimal"
            )));
        }
        match self
            .call::<Vec<RawTrace>>(&["api", "traces", id], Vec::new())
            .await
        {
            Ok(raw) => Ok(raw
                .unwrap_or_default()
                .into_iter()
                .next()
                .map(RawTrace::into_trace)),
            Err(Error::Backend { status: 404, .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Service call edges over the `lookback` before `end`.
    pub async fn dependencies(
        &self,
        end: DateTime<Utc>,
        lookback: Duration,
    ) -> Result<Vec<Dependency>, Error> {
        let lookback_secs = i64::try_from(lookback.as_secs()).unwrap_or(i64::MAX);
        let start = end - chrono::Duration::seconds(lookback_secs.min(100 * 365 * 86_400));
        self.bounds.check_range(start, end)?;
        let params = vec![
            ("endTs".to_string(), end.timestamp_millis().to_string()),
            ("lookback".into(), lookback.as_millis().to_string()),
        ];
        let deps: Option<Vec<Dependency>> = self.call(&["api", "dependencies"], params).await?;
        Ok(deps.unwrap_or_default())
    }

    /// One call; Jaeger's `{data, errors}` envelope is unwrapped (`None` for null or
    /// missing data), and `errors` without data become [`Error::Backend`]. The data
    /// is read straight into `T`, not through a `serde_json::Value` tree first: with
    /// the Loki and Prometheus answers read the same way, that took a third off each
    /// Train Ticket case of `aegis eval` (docs/evaluation-history.md, Speed).
    async fn call<T: DeserializeOwned>(
        &self,
        segments: &[&str],
        params: Vec<(String, String)>,
    ) -> Result<Option<T>, Error> {
        #[derive(Deserialize)]
        struct Envelope {
            // Kept raw until the errors are known: an answer with errors may carry
            // data of any shape.
            #[serde(default)]
            data: Option<Box<serde_json::value::RawValue>>,
            #[serde(default)]
            errors: Option<Vec<JaegerError>>,
        }
        #[derive(Deserialize)]
        struct JaegerError {
            #[serde(default)]
            code: u16,
            #[serde(default)]
            msg: String,
        }
        let body = self.http.send(&Request::get(segments, params)).await?;
        // Jaeger's own messages and serde's excerpts are its text: cleaned of secrets.
        let read = || {
            let envelope: Envelope =
                serde_json::from_slice(&body).map_err(|e| Error::malformed(Api::Jaeger, &e))?;
            if let Some(errors) = envelope.errors.filter(|e| !e.is_empty())
                && envelope.data.is_none()
            {
                return Err(Error::Backend {
                    api: Api::Jaeger,
                    status: errors.first().map_or(200, |e| e.code),
                    message: errors
                        .into_iter()
                        .map(|e| e.msg)
                        .collect::<Vec<_>>()
                        .join("; "),
                });
            }
            envelope
                .data
                .map(|d| serde_json::from_str(d.get()))
                .transpose()
                .map_err(|e| Error::malformed(Api::Jaeger, &e))
        };
        read().map_err(|e| self.http.redact(e))
    }
}

#[derive(Deserialize)]
struct RawTrace {
    #[serde(rename = "traceID")]
    trace_id: String,
    #[serde(default)]
    spans: Vec<RawSpan>,
    #[serde(default)]
    processes: HashMap<String, RawProcess>,
}

#[derive(Deserialize)]
struct RawSpan {
    #[serde(rename = "spanID")]
    span_id: String,
    #[serde(rename = "operationName", default)]
    operation: String,
    #[serde(default)]
    references: Vec<RawReference>,
    #[serde(rename = "startTime", default)]
    start_time: i64,
    #[serde(default)]
    duration: i64,
    #[serde(default)]
    tags: Vec<RawTag>,
    #[serde(rename = "processID", default)]
    process_id: String,
}

#[derive(Deserialize)]
struct RawReference {
    #[serde(rename = "refType", default)]
    ref_type: String,
    #[serde(rename = "spanID")]
    span_id: String,
}

#[derive(Deserialize)]
struct RawTag {
    key: String,
    #[serde(default)]
    value: serde_json::Value,
}

#[derive(Deserialize)]
struct RawProcess {
    #[serde(rename = "serviceName", default)]
    service_name: String,
}

impl RawTrace {
    fn into_trace(self) -> Trace {
        let processes = self.processes;
        let spans = self
            .spans
            .into_iter()
            .map(|s| {
                let tags: BTreeMap<String, String> = s
                    .tags
                    .into_iter()
                    .map(|t| {
                        let value = match t.value {
                            serde_json::Value::String(v) => v,
                            other => other.to_string(),
                        };
                        (t.key, value)
                    })
                    .collect();
                let error = tags.get("error").is_some_and(|v| v == "true")
                    || tags
                        .get("otel.status_code")
                        .is_some_and(|v| v.eq_ignore_ascii_case("error"));
                // The parent is the CHILD_OF reference (FOLLOWS_FROM only when it is the only one).
                let parent_span_id = s
                    .references
                    .iter()
                    .find(|r| r.ref_type == "CHILD_OF")
                    .or_else(|| s.references.first())
                    .map(|r| r.span_id.clone());
                Span {
                    span_id: s.span_id,
                    parent_span_id,
                    service: processes
                        .get(&s.process_id)
                        .map(|p| p.service_name.clone())
                        .unwrap_or_default(),
                    operation: s.operation,
                    start_us: s.start_time,
                    duration_us: s.duration,
                    error,
                    tags,
                }
            })
            .collect();
        Trace {
            trace_id: self.trace_id,
            spans,
        }
    }
}

fn micros(t: DateTime<Utc>) -> i64 {
    t.timestamp_micros()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jaeger_trace_json_becomes_spans() {
        let json = r#"{"traceID":"ab12","spans":[
            {"traceID":"ab12","spanID":"s1","operationName":"GET /","references":[],"startTime":10,"duration":500,"tags":[],"processID":"p1"},
            {"traceID":"ab12","spanID":"s2","operationName":"SELECT","references":[{"refType":"CHILD_OF","traceID":"ab12","spanID":"s1"}],"startTime":20,"duration":300,"tags":[{"key":"error","type":"bool","value":true},{"key":"db.rows","type":"int64","value":3}],"processID":"p2"}],
            "processes":{"p1":{"serviceName":"frontend","tags":[]},"p2":{"serviceName":"db","tags":[]}}}"#;
        let trace = serde_json::from_str::<RawTrace>(json).unwrap().into_trace();
        assert_eq!(trace.trace_id, "ab12");
        assert_eq!(trace.spans[0].service, "frontend");
        assert_eq!(trace.spans[0].parent_span_id, None);
        assert!(!trace.spans[0].error);
        assert_eq!(trace.spans[1].parent_span_id.as_deref(), Some("s1"));
        assert!(trace.spans[1].error);
        assert_eq!(trace.spans[1].tags["db.rows"], "3");
    }
}
