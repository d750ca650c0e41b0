//! The Loki query API over a dataset's logs: `query_range`, `query`, `labels`,
//! `label/<name>/values`, `series`, answered in Loki's JSON shapes.
//!
//! Where Loki would default a missing `start`/`end` to the last hour before now, the
//! replay defaults to the whole recording: the recording is in the past.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{Value, json};

use super::Dataset;
use super::labels::Labels;
use super::logql::{self, LogSelector, Query, RangeFn};
use super::params::Params;
use super::promql::value::{format_value, json_time};

/// Loki's default and maximum entries per query (`max_entries_limit_per_query`).
const DEFAULT_LIMIT: usize = 100;
const MAX_LIMIT: usize = 5000;
/// Loki refuses metric queries with more points than this per series.
const MAX_POINTS: i64 = 11_000;

/// The Loki routes.
pub fn routes() -> Router<Arc<Dataset>> {
    Router::new()
        .route("/loki/api/v1/query_range", get(query_range))
        .route("/loki/api/v1/query", get(query))
        .route("/loki/api/v1/labels", get(labels))
        .route("/loki/api/v1/label/{name}/values", get(label_values))
        .route("/loki/api/v1/series", get(series))
}

/// A request Loki would refuse; Loki answers errors as plain text.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct BadRequest(String);

impl IntoResponse for BadRequest {
    fn into_response(self) -> Response {
        (StatusCode::BAD_REQUEST, self.0).into_response()
    }
}

fn bad(msg: impl Into<String>) -> BadRequest {
    BadRequest(msg.into())
}

/// A time as Loki reads it: RFC 3339, float seconds, integer seconds (≤ 10 digits)
/// or integer nanoseconds.
fn parse_time(value: &str) -> Result<i64, BadRequest> {
    let invalid = || {
        bad(format!(
            "invalid time {value:?}: use nanoseconds, seconds or RFC 3339"
        ))
    };
    if value.contains('.')
        && let Ok(f) = value.parse::<f64>()
    {
        let secs = f.trunc();
        let ms = ((f - secs) * 1000.0).round();
        // Checked: a time past what nanoseconds can hold is refused, not wrapped.
        return (secs as i64)
            .checked_mul(1_000_000_000)
            .and_then(|ns| ns.checked_add(ms as i64 * 1_000_000))
            .ok_or_else(invalid);
    }
    match value.parse::<i64>() {
        Ok(n) if value.trim_start_matches('-').len() <= 10 => {
            n.checked_mul(1_000_000_000).ok_or_else(invalid)
        }
        Ok(n) => Ok(n),
        Err(_) => chrono::DateTime::parse_from_rfc3339(value)
            .ok()
            .and_then(|t| t.timestamp_nanos_opt())
            .ok_or_else(invalid),
    }
}

/// `[start, end)` in nanoseconds, defaulting to the whole recording.
fn window(ds: &Dataset, p: &Params) -> Result<(i64, i64), BadRequest> {
    let (lo, hi) = ds.logs.bounds.unwrap_or((0, 0));
    let end = p.get("end").map(parse_time).transpose()?.unwrap_or(hi + 1);
    let start = match (p.get("start"), p.get("since")) {
        (Some(s), _) => parse_time(s)?,
        (None, Some(since)) => {
            end - logql::parse_duration_ns(since).ok_or_else(|| bad("invalid since duration"))?
        }
        (None, None) => lo,
    };
    if end < start {
        return Err(bad(
            "end timestamp must not be before or equal to start time",
        ));
    }
    Ok((start, end))
}

fn success(data: Value) -> Response {
    Json(json!({"status": "success", "data": data})).into_response()
}

async fn query_range(
    State(ds): State<Arc<Dataset>>,
    RawQuery(q): RawQuery,
) -> Result<Response, BadRequest> {
    let p = Params::parse(q.as_deref(), &[]);
    let (start, end) = window(&ds, &p)?;
    match parse_query(&p)? {
        Query::Logs(sel) => streams(&ds, &p, &sel, start, end),
        Query::Metric {
            selector,
            func,
            range_ns,
            aggregation,
        } => {
            // A span too wide to hold is too many points, as Loki would say.
            let too_many = || {
                bad(
                    "exceeded maximum resolution of 11,000 points per time series. Try increasing the value of the step parameter",
                )
            };
            let span = end.checked_sub(start).ok_or_else(too_many)?;
            let step = match p.get("step").or_else(|| p.get("interval")) {
                Some(s) => parse_step(s)?,
                None => (span / 250 / 1_000_000_000).max(1) * 1_000_000_000,
            };
            if span / step > MAX_POINTS {
                return Err(too_many());
            }
            let steps: Vec<i64> = (0..)
                .map_while(|i: i64| i.checked_mul(step).and_then(|d| start.checked_add(d)))
                .take_while(|t| *t <= end)
                .collect();
            let series = metric(&ds, &selector, func, range_ns, aggregation.as_ref(), &steps);
            let result: Vec<Value> = series
                .into_iter()
                .map(|(labels, points)| {
                    json!({
                        "metric": labels.to_json(),
                        "values": points.into_iter().map(|(t, v)| json!([json_time(t / 1_000_000), format_value(v)])).collect::<Vec<_>>(),
                    })
                })
                .collect();
            Ok(success(
                json!({"resultType": "matrix", "result": result, "stats": {}}),
            ))
        }
    }
}

async fn query(
    State(ds): State<Arc<Dataset>>,
    RawQuery(q): RawQuery,
) -> Result<Response, BadRequest> {
    let p = Params::parse(q.as_deref(), &[]);
    let at = match p.get("time") {
        Some(t) => parse_time(t)?,
        None => ds.logs.bounds.map(|b| b.1).unwrap_or(0),
    };
    match parse_query(&p)? {
        Query::Logs(_) => Err(bad(
            "log queries are not supported as an instant query type, please change your query to a range query type",
        )),
        Query::Metric {
            selector,
            func,
            range_ns,
            aggregation,
        } => {
            let series = metric(&ds, &selector, func, range_ns, aggregation.as_ref(), &[at]);
            let result: Vec<Value> = series
                .into_iter()
                .filter_map(|(labels, points)| {
                    let (t, v) = *points.first()?;
                    Some(json!({"metric": labels.to_json(), "value": [json_time(t / 1_000_000), format_value(v)]}))
                })
                .collect();
            Ok(success(
                json!({"resultType": "vector", "result": result, "stats": {}}),
            ))
        }
    }
}

fn parse_query(p: &Params) -> Result<Query, BadRequest> {
    let q = p
        .get("query")
        .ok_or_else(|| bad("query parameter is required"))?;
    logql::parse(q).map_err(BadRequest)
}

fn parse_step(s: &str) -> Result<i64, BadRequest> {
    let ns = match s.parse::<f64>() {
        Ok(secs) => (secs * 1e9) as i64,
        Err(_) => logql::parse_duration_ns(s).ok_or_else(|| bad(format!("invalid step {s:?}")))?,
    };
    if ns <= 0 {
        return Err(bad(
            "zero or negative query resolution step widths are not accepted. Try a positive integer",
        ));
    }
    Ok(ns)
}

/// The newest (backward) or oldest (forward) `limit` matching entries, by stream.
fn streams(
    ds: &Dataset,
    p: &Params,
    sel: &LogSelector,
    start: i64,
    end: i64,
) -> Result<Response, BadRequest> {
    let limit = match p.get("limit") {
        Some(l) => l
            .parse::<usize>()
            .map_err(|_| bad(format!("invalid limit {l:?}")))?,
        None => DEFAULT_LIMIT,
    };
    if limit > MAX_LIMIT {
        return Err(bad(format!(
            "max entries limit per query exceeded, limit > max_entries_limit ({limit} > {MAX_LIMIT})"
        )));
    }
    let backward = match p.get("direction").unwrap_or("backward") {
        "backward" | "BACKWARD" => true,
        "forward" | "FORWARD" => false,
        other => {
            return Err(bad(format!(
                "invalid direction {other:?}: use forward or backward"
            )));
        }
    };
    let logs = &ds.logs;
    let mut picked: Vec<(i64, usize, usize)> = Vec::new();
    for (si, stream) in logs.streams.iter().enumerate() {
        if !sel.selects(&stream.labels) {
            continue;
        }
        let lo = stream.ts.partition_point(|&t| t < start);
        let hi = stream.ts.partition_point(|&t| t < end);
        let mut taken = 0;
        let mut take = |i: usize| {
            if sel.keeps(logs.line(stream, i)) {
                picked.push((stream.ts[i], si, i));
                taken += 1;
            }
            taken >= limit
        };
        if backward {
            for i in (lo..hi).rev() {
                if take(i) {
                    break;
                }
            }
        } else {
            for i in lo..hi {
                if take(i) {
                    break;
                }
            }
        }
    }
    if backward {
        picked.sort_by(|a, b| b.cmp(a));
    } else {
        picked.sort();
    }
    picked.truncate(limit);
    let mut by_stream: BTreeMap<usize, Vec<Value>> = BTreeMap::new();
    for (ts, si, i) in picked {
        by_stream
            .entry(si)
            .or_default()
            .push(json!([ts.to_string(), logs.line(&logs.streams[si], i)]));
    }
    let result: Vec<Value> = by_stream
        .into_iter()
        .map(|(si, values)| json!({"stream": logs.streams[si].labels.to_json(), "values": values}))
        .collect();
    Ok(success(
        json!({"resultType": "streams", "result": result, "stats": {}}),
    ))
}

/// `count_over_time`/`rate` over `(t - range, t]` at each step, then the aggregation.
fn metric(
    ds: &Dataset,
    sel: &LogSelector,
    func: RangeFn,
    range_ns: i64,
    aggregation: Option<&logql::Aggregation>,
    steps: &[i64],
) -> Vec<(Labels, Vec<(i64, f64)>)> {
    let (Some(&first), Some(&last)) = (steps.first(), steps.last()) else {
        return Vec::new();
    };
    let logs = &ds.logs;
    let mut out: BTreeMap<Labels, BTreeMap<i64, Vec<f64>>> = BTreeMap::new();
    for stream in &logs.streams {
        if !sel.selects(&stream.labels) {
            continue;
        }
        let lo = stream.ts.partition_point(|&t| t <= first - range_ns);
        let hi = stream.ts.partition_point(|&t| t <= last);
        let kept: Vec<i64> = (lo..hi)
            .filter(|&i| sel.keeps(logs.line(stream, i)))
            .map(|i| stream.ts[i])
            .collect();
        let key = match aggregation {
            None => stream.labels.clone(),
            Some(a) if a.by => stream.labels.filter(|n| a.labels.iter().any(|l| l == n)),
            Some(a) => stream.labels.filter(|n| !a.labels.iter().any(|l| l == n)),
        };
        for &t in steps {
            let n =
                kept.partition_point(|&x| x <= t) - kept.partition_point(|&x| x <= t - range_ns);
            if n == 0 {
                continue;
            }
            let v = match func {
                RangeFn::CountOverTime => n as f64,
                RangeFn::Rate => n as f64 / (range_ns as f64 / 1e9),
            };
            out.entry(key.clone())
                .or_default()
                .entry(t)
                .or_default()
                .push(v);
        }
    }
    out.into_iter()
        .map(|(labels, points)| {
            let points = points
                .into_iter()
                .map(|(t, vals)| {
                    let v = match aggregation.map(|a| a.op.as_str()) {
                        Some("count") => vals.len() as f64,
                        Some("max") => vals.iter().copied().fold(f64::NEG_INFINITY, f64::max),
                        Some("min") => vals.iter().copied().fold(f64::INFINITY, f64::min),
                        Some("avg") => vals.iter().sum::<f64>() / vals.len() as f64,
                        _ => vals.iter().sum(),
                    };
                    (t, v)
                })
                .collect();
            (labels, points)
        })
        .collect()
}

/// The streams selected by the `match[]` (or `query`) selectors with an entry in the window.
fn matching_streams<'a>(
    ds: &'a Dataset,
    p: &Params,
    start: i64,
    end: i64,
) -> Result<Vec<&'a Labels>, BadRequest> {
    let mut selectors = Vec::new();
    for m in p
        .all("match[]")
        .into_iter()
        .chain(p.all("match"))
        .chain(p.get("query"))
    {
        match logql::parse(m).map_err(BadRequest)? {
            Query::Logs(sel) => selectors.push(sel),
            Query::Metric { .. } => return Err(bad("a series selector must be a stream selector")),
        }
    }
    Ok(ds
        .logs
        .streams
        .iter()
        .filter(|s| selectors.is_empty() || selectors.iter().any(|sel| sel.selects(&s.labels)))
        .filter(|s| {
            let i = s.ts.partition_point(|&t| t < start);
            s.ts.get(i).is_some_and(|&t| t < end)
        })
        .map(|s| &s.labels)
        .collect())
}

async fn labels(
    State(ds): State<Arc<Dataset>>,
    RawQuery(q): RawQuery,
) -> Result<Response, BadRequest> {
    let p = Params::parse(q.as_deref(), &[]);
    let (start, end) = window(&ds, &p)?;
    let names: BTreeSet<&str> = matching_streams(&ds, &p, start, end)?
        .into_iter()
        .flat_map(|l| l.iter().map(|(n, _)| n))
        .collect();
    Ok(success(json!(names)))
}

async fn label_values(
    State(ds): State<Arc<Dataset>>,
    Path(name): Path<String>,
    RawQuery(q): RawQuery,
) -> Result<Response, BadRequest> {
    let p = Params::parse(q.as_deref(), &[]);
    let (start, end) = window(&ds, &p)?;
    let values: BTreeSet<&str> = matching_streams(&ds, &p, start, end)?
        .into_iter()
        .filter_map(|l| l.get(&name))
        .collect();
    Ok(success(json!(values)))
}

async fn series(
    State(ds): State<Arc<Dataset>>,
    RawQuery(q): RawQuery,
) -> Result<Response, BadRequest> {
    let p = Params::parse(q.as_deref(), &[]);
    if p.all("match[]").is_empty() && p.all("match").is_empty() {
        return Err(bad("at least one match[] argument is required"));
    }
    let (start, end) = window(&ds, &p)?;
    let list: Vec<Value> = matching_streams(&ds, &p, start, end)?
        .into_iter()
        .map(Labels::to_json)
        .collect();
    Ok(success(json!(list)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_parse_as_loki_reads_them() {
        assert_eq!(parse_time("1674981729").unwrap(), 1_674_981_729_000_000_000);
        assert_eq!(
            parse_time("1674981729.5").unwrap(),
            1_674_981_729_500_000_000
        );
        assert_eq!(
            parse_time("1674981729487160534").unwrap(),
            1_674_981_729_487_160_534
        );
        assert_eq!(
            parse_time("2023-01-29T08:42:09Z").unwrap(),
            1_674_981_729_000_000_000
        );
        assert!(parse_time("yesterday").is_err());
    }
}
