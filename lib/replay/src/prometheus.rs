//! The Prometheus HTTP API over a dataset's metrics: instant and range queries (GET
//! and POST form), labels, label values, series, metadata and build info, answered in
//! Prometheus' JSON envelope, errors included.

use std::collections::BTreeSet;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{Value, json};

use super::Dataset;
use super::labels::Labels;
use super::params::Params;
use super::promql::{self, value};

/// The Prometheus routes.
pub fn routes() -> Router<Arc<Dataset>> {
    Router::new()
        .route("/api/v1/query", get(query_get).post(query_post))
        .route(
            "/api/v1/query_range",
            get(query_range_get).post(query_range_post),
        )
        .route("/api/v1/labels", get(labels_get).post(labels_post))
        .route("/api/v1/label/{name}/values", get(label_values))
        .route("/api/v1/series", get(series_get).post(series_post))
        .route("/api/v1/metadata", get(metadata))
        .route("/api/v1/status/buildinfo", get(buildinfo))
}

/// A failed request in Prometheus' error envelope.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// 400 `bad_data`: a parameter or the query is malformed or unsupported.
    #[error("{0}")]
    BadData(String),
    /// 422 `execution`: the query is valid but cannot be evaluated.
    #[error("{0}")]
    Execution(String),
}

impl From<promql::Error> for Error {
    fn from(e: promql::Error) -> Self {
        match e {
            promql::Error::BadData(m) => Self::BadData(m),
            promql::Error::Execution(m) => Self::Execution(m),
        }
    }
}

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        let (status, kind) = match &self {
            Self::BadData(_) => (StatusCode::BAD_REQUEST, "bad_data"),
            Self::Execution(_) => (StatusCode::UNPROCESSABLE_ENTITY, "execution"),
        };
        (
            status,
            Json(json!({"status": "error", "errorType": kind, "error": self.to_string()})),
        )
            .into_response()
    }
}

fn success(data: Value) -> Response {
    Json(json!({"status": "success", "data": data})).into_response()
}

/// A time as Prometheus reads it: float seconds or RFC 3339; in milliseconds.
fn parse_time(s: &str, param: &str) -> Result<i64, Error> {
    if let Ok(f) = s.parse::<f64>() {
        let secs = f.trunc();
        let ms = ((f - secs) * 1000.0).round();
        // Saturating: `1e17` seconds is past i64 in milliseconds; the range check
        // refuses such a span instead of the sum overflowing.
        return Ok((secs as i64).saturating_mul(1000).saturating_add(ms as i64));
    }
    chrono::DateTime::parse_from_rfc3339(s)
        .map(|t| t.timestamp_millis())
        .map_err(|_| {
            Error::BadData(format!(
                "invalid parameter \"{param}\": cannot parse \"{s}\" to a valid timestamp"
            ))
        })
}

/// A duration as Prometheus reads it: float seconds or `5m`-style; in milliseconds.
fn parse_duration(s: &str, param: &str) -> Result<i64, Error> {
    if let Ok(f) = s.parse::<f64>() {
        return Ok((f * 1000.0) as i64);
    }
    super::logql::parse_duration_ns(s)
        .map(|ns| ns / 1_000_000)
        .ok_or_else(|| {
            Error::BadData(format!(
                "invalid parameter \"{param}\": cannot parse \"{s}\" to a valid duration"
            ))
        })
}

fn required<'a>(p: &'a Params, key: &str) -> Result<&'a str, Error> {
    p.get(key)
        .ok_or_else(|| Error::BadData(format!("invalid parameter \"{key}\": missing")))
}

fn eval_instant(ds: &Dataset, p: &Params) -> Result<Response, Error> {
    let query = required(p, "query")?;
    let at = match p.get("time") {
        Some(t) => parse_time(t, "time")?,
        None => chrono::Utc::now().timestamp_millis(),
    };
    let result = promql::instant(&ds.metrics, query, at)?;
    Ok(success(value::instant_data(&result, at)))
}

fn eval_range(ds: &Dataset, p: &Params) -> Result<Response, Error> {
    let query = required(p, "query")?;
    let start = parse_time(required(p, "start")?, "start")?;
    let end = parse_time(required(p, "end")?, "end")?;
    let step = parse_duration(required(p, "step")?, "step")?;
    if end < start {
        return Err(Error::BadData(
            "invalid parameter \"end\": end timestamp must not be before start time".into(),
        ));
    }
    let series = promql::range(&ds.metrics, query, start, end, step)?;
    Ok(success(value::matrix_data(&series)))
}

async fn query_get(
    State(ds): State<Arc<Dataset>>,
    RawQuery(q): RawQuery,
) -> Result<Response, Error> {
    eval_instant(&ds, &Params::parse(q.as_deref(), &[]))
}

async fn query_post(
    State(ds): State<Arc<Dataset>>,
    RawQuery(q): RawQuery,
    body: Bytes,
) -> Result<Response, Error> {
    eval_instant(&ds, &Params::parse(q.as_deref(), &body))
}

async fn query_range_get(
    State(ds): State<Arc<Dataset>>,
    RawQuery(q): RawQuery,
) -> Result<Response, Error> {
    eval_range(&ds, &Params::parse(q.as_deref(), &[]))
}

async fn query_range_post(
    State(ds): State<Arc<Dataset>>,
    RawQuery(q): RawQuery,
    body: Bytes,
) -> Result<Response, Error> {
    eval_range(&ds, &Params::parse(q.as_deref(), &body))
}

/// The series matched by the `match[]` selectors with a sample in `[start, end]`
/// (the whole recording when absent).
fn matching_series<'a>(ds: &'a Dataset, p: &Params) -> Result<Vec<&'a Labels>, Error> {
    let start = p
        .get("start")
        .map(|s| parse_time(s, "start"))
        .transpose()?
        .unwrap_or(i64::MIN);
    let end = p
        .get("end")
        .map(|s| parse_time(s, "end"))
        .transpose()?
        .unwrap_or(i64::MAX);
    let mut selectors = Vec::new();
    for m in p.all("match[]") {
        let expr = promql::parse(m)?;
        match expr {
            promql_parser::parser::Expr::VectorSelector(vs) => selectors.push(vs),
            _ => {
                return Err(Error::BadData(format!(
                    "invalid parameter \"match[]\": {m:?} is not a series selector"
                )));
            }
        }
    }
    let picked = ds
        .metrics
        .series
        .iter()
        .filter(|s| {
            let i = s.ts.partition_point(|&t| t < start);
            s.ts.get(i).is_some_and(|&t| t <= end)
        })
        .filter(|s| {
            selectors.is_empty()
                || selectors.iter().any(|vs| {
                    vs.name
                        .as_deref()
                        .is_none_or(|n| s.labels.value("__name__") == n)
                        && vs
                            .matchers
                            .matchers
                            .iter()
                            .all(|m| m.is_match(s.labels.value(&m.name)))
                })
        })
        .map(|s| &s.labels)
        .collect();
    Ok(picked)
}

fn labels_of(ds: &Dataset, p: &Params) -> Result<Response, Error> {
    let names: BTreeSet<&str> = matching_series(ds, p)?
        .into_iter()
        .flat_map(|l| l.iter().map(|(n, _)| n))
        .collect();
    Ok(success(json!(names)))
}

async fn labels_get(
    State(ds): State<Arc<Dataset>>,
    RawQuery(q): RawQuery,
) -> Result<Response, Error> {
    labels_of(&ds, &Params::parse(q.as_deref(), &[]))
}

async fn labels_post(
    State(ds): State<Arc<Dataset>>,
    RawQuery(q): RawQuery,
    body: Bytes,
) -> Result<Response, Error> {
    labels_of(&ds, &Params::parse(q.as_deref(), &body))
}

async fn label_values(
    State(ds): State<Arc<Dataset>>,
    Path(name): Path<String>,
    RawQuery(q): RawQuery,
) -> Result<Response, Error> {
    let p = Params::parse(q.as_deref(), &[]);
    let values: BTreeSet<&str> = matching_series(&ds, &p)?
        .into_iter()
        .filter_map(|l| l.get(&name))
        .collect();
    Ok(success(json!(values)))
}

fn series_of(ds: &Dataset, p: &Params) -> Result<Response, Error> {
    if p.all("match[]").is_empty() {
        return Err(Error::BadData("no match[] parameter provided".into()));
    }
    let list: Vec<Value> = matching_series(ds, p)?
        .into_iter()
        .map(Labels::to_json)
        .collect();
    Ok(success(json!(list)))
}

async fn series_get(
    State(ds): State<Arc<Dataset>>,
    RawQuery(q): RawQuery,
) -> Result<Response, Error> {
    series_of(&ds, &Params::parse(q.as_deref(), &[]))
}

async fn series_post(
    State(ds): State<Arc<Dataset>>,
    RawQuery(q): RawQuery,
    body: Bytes,
) -> Result<Response, Error> {
    series_of(&ds, &Params::parse(q.as_deref(), &body))
}

async fn metadata(
    State(ds): State<Arc<Dataset>>,
    RawQuery(q): RawQuery,
) -> Result<Response, Error> {
    let p = Params::parse(q.as_deref(), &[]);
    let metric = p.get("metric");
    let limit = p
        .get("limit")
        .map(|l| {
            l.parse::<i64>()
                .map_err(|_| Error::BadData("invalid parameter \"limit\"".into()))
        })
        .transpose()?
        .filter(|&l| l >= 0)
        .map_or(usize::MAX, |l| l as usize);
    let data: serde_json::Map<String, Value> = ds
        .metrics
        .metadata
        .iter()
        .filter(|(name, _)| metric.is_none_or(|m| m == name.as_str()))
        .take(limit)
        .map(|(name, m)| {
            (
                name.clone(),
                json!([{"type": m.kind, "help": m.help, "unit": ""}]),
            )
        })
        .collect();
    Ok(success(Value::Object(data)))
}

async fn buildinfo() -> Response {
    success(json!({
        "version": "2.42.0",
        "revision": "aegis-replay",
        "branch": "replay",
        "buildUser": "aegis",
        "buildDate": "",
        "goVersion": "",
    }))
}

#[cfg(test)]
mod proptests;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_and_durations_parse_as_prometheus_reads_them() {
        assert_eq!(
            parse_time("1674981729.5", "time").unwrap(),
            1_674_981_729_500
        );
        assert_eq!(
            parse_time("2023-01-29T08:42:09Z", "time").unwrap(),
            1_674_981_729_000
        );
        assert!(parse_time("now", "time").is_err());
        assert_eq!(parse_duration("1m30s", "step").unwrap(), 90_000);
        assert_eq!(parse_duration("15", "step").unwrap(), 15_000);
    }
}
