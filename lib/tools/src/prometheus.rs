//! A read-only client of the Prometheus HTTP API (`/api/v1/...`), with typed results.

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use super::bounds::{Bounds, Capped, auto_step};
use super::error::{Error, required};
use super::http::{Http, Request};

/// Labels of one series.
pub type Labels = BTreeMap<String, String>;

/// One value of an instant query.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Sample {
    /// The series' labels (`__name__` included when the result keeps it).
    pub labels: Labels,
    /// Evaluation time, unix seconds.
    pub time: f64,
    /// The value (`NaN` and `±Inf` as Prometheus sends them).
    pub value: f64,
}

/// One series of a range query.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Series {
    /// The series' labels.
    pub labels: Labels,
    /// `(unix seconds, value)`, in time order.
    pub points: Vec<(f64, f64)>,
}

/// Metadata of one metric (`/api/v1/metadata`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Metadata {
    /// `counter`, `gauge`, `histogram`, `summary`, `unknown`...
    #[serde(rename = "type")]
    pub kind: String,
    /// The HELP text.
    pub help: String,
    /// The unit, often empty.
    #[serde(default)]
    pub unit: String,
}

/// An active alert (`/api/v1/alerts`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Alert {
    /// Its labels (`alertname` among them).
    pub labels: Labels,
    /// Its annotations.
    #[serde(default)]
    pub annotations: Labels,
    /// `pending` or `firing`.
    pub state: String,
    /// When it became active (RFC 3339), if known.
    #[serde(rename = "activeAt", default)]
    pub active_at: Option<String>,
    /// The value of the expression that fired it.
    #[serde(default)]
    pub value: Option<String>,
}

/// A recording or alerting rule (`/api/v1/rules`), flattened with its group.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Rule {
    /// The group it belongs to.
    pub group: String,
    /// The rule's name (alert name or recorded series name).
    pub name: String,
    /// `alerting` or `recording`.
    pub kind: String,
    /// Its PromQL.
    pub query: String,
    /// `ok`, `err` or `unknown`.
    pub health: String,
    /// For alerting rules: `inactive`, `pending` or `firing`.
    pub state: Option<String>,
    /// Its labels.
    pub labels: Labels,
}

/// The Prometheus client. Every call goes through the read-only [`Http`] layer and is
/// held to the [`Bounds`].
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

    /// Instant query at `time` (now when `None`). A range-vector result is flattened to
    /// one sample per point. At most `max_series` samples; the rest are counted.
    pub async fn query(
        &self,
        query: &str,
        time: Option<DateTime<Utc>>,
    ) -> Result<Capped<Sample>, Error> {
        let mut params = vec![("query".to_string(), required("query", query)?.to_string())];
        if let Some(t) = time {
            params.push(("time".into(), unix(t)));
        }
        params.push(("timeout".into(), seconds(self.bounds.timeout)));
        let data: QueryData = self.call(&["api", "v1", "query"], params).await?;
        let samples = match data {
            QueryData::Vector(v) => v
                .into_iter()
                .map(|s| Sample {
                    labels: s.metric,
                    time: s.value.0,
                    value: parse_value(&s.value.1),
                })
                .collect(),
            QueryData::Matrix(m) => m
                .into_iter()
                .flat_map(|s| {
                    let labels = s.metric;
                    s.values.into_iter().map(move |(t, v)| Sample {
                        labels: labels.clone(),
                        time: t,
                        value: parse_value(&v),
                    })
                })
                .collect(),
            QueryData::Scalar((t, v)) => vec![Sample {
                labels: Labels::new(),
                time: t,
                value: parse_value(&v),
            }],
            QueryData::String((t, v)) => vec![Sample {
                labels: Labels::from([("value".to_string(), v)]),
                time: t,
                value: f64::NAN,
            }],
        };
        Ok(Capped::new(samples, self.bounds.max_series))
    }

    /// Range query over `start..end` at `step` (chosen for about 300 points per series
    /// when `None`). The range must fit `max_range`; at most `max_series` series are kept.
    pub async fn query_range(
        &self,
        query: &str,
        start: DateTime<Utc>,
        end: DateTime<Utc>,
        step: Option<Duration>,
    ) -> Result<Capped<Series>, Error> {
        self.bounds.check_range(start, end)?;
        let step = step
            .filter(|s| !s.is_zero())
            .unwrap_or_else(|| auto_step(start, end));
        let params = vec![
            ("query".to_string(), required("query", query)?.to_string()),
            ("start".into(), unix(start)),
            ("end".into(), unix(end)),
            ("step".into(), seconds(step)),
            ("timeout".into(), seconds(self.bounds.timeout)),
        ];
        let data: QueryData = self.call(&["api", "v1", "query_range"], params).await?;
        let series = match data {
            QueryData::Matrix(m) => m.into_iter().map(RawSeries::into_series).collect(),
            QueryData::Vector(v) => v
                .into_iter()
                .map(|s| Series {
                    labels: s.metric,
                    points: vec![(s.value.0, parse_value(&s.value.1))],
                })
                .collect(),
            QueryData::Scalar((t, v)) => vec![Series {
                labels: Labels::new(),
                points: vec![(t, parse_value(&v))],
            }],
            QueryData::String(_) => {
                return Err(Error::Invalid(
                    "the query returns a string, not a series".into(),
                ));
            }
        };
        Ok(Capped::new(series, self.bounds.max_series))
    }

    /// Label names, optionally only those of series matching `matches`, within the range.
    pub async fn labels(
        &self,
        matches: &[&str],
        start: Option<DateTime<Utc>>,
        end: Option<DateTime<Utc>>,
    ) -> Result<Vec<String>, Error> {
        let params = self.discovery_params(matches, start, end)?;
        self.call(&["api", "v1", "labels"], params).await
    }

    /// Values of label `name`, optionally only in series matching `matches`.
    pub async fn label_values(
        &self,
        name: &str,
        matches: &[&str],
        start: Option<DateTime<Utc>>,
        end: Option<DateTime<Utc>>,
    ) -> Result<Vec<String>, Error> {
        let name = required("label name", name)?;
        let params = self.discovery_params(matches, start, end)?;
        self.call(&["api", "v1", "label", name, "values"], params)
            .await
    }

    /// Label sets of the series matching `matches` (at least one selector); at most
    /// `max_series`, the rest counted.
    pub async fn series(
        &self,
        matches: &[&str],
        start: Option<DateTime<Utc>>,
        end: Option<DateTime<Utc>>,
    ) -> Result<Capped<Labels>, Error> {
        if matches.iter().all(|m| m.trim().is_empty()) {
            return Err(Error::Invalid(
                "series needs at least one selector, e.g. up{job=\"api\"}".into(),
            ));
        }
        let params = self.discovery_params(matches, start, end)?;
        let series: Vec<Labels> = self.call(&["api", "v1", "series"], params).await?;
        Ok(Capped::new(series, self.bounds.max_series))
    }

    /// Type, help and unit of metrics: one metric when `metric` is given, else up to
    /// `limit` metrics.
    pub async fn metadata(
        &self,
        metric: Option<&str>,
        limit: Option<usize>,
    ) -> Result<BTreeMap<String, Vec<Metadata>>, Error> {
        let mut params = Vec::new();
        if let Some(m) = metric.filter(|m| !m.is_empty()) {
            params.push(("metric".to_string(), m.to_string()));
        }
        if let Some(l) = limit {
            params.push(("limit".to_string(), l.to_string()));
        }
        self.call(&["api", "v1", "metadata"], params).await
    }

    /// Active alerts (pending and firing).
    pub async fn alerts(&self) -> Result<Vec<Alert>, Error> {
        #[derive(Deserialize)]
        struct Data {
            alerts: Vec<Alert>,
        }
        let data: Data = self.call(&["api", "v1", "alerts"], Vec::new()).await?;
        Ok(data.alerts)
    }

    /// Recording and alerting rules, flattened with their group's name.
    pub async fn rules(&self) -> Result<Vec<Rule>, Error> {
        #[derive(Deserialize)]
        struct Data {
            groups: Vec<Group>,
        }
        #[derive(Deserialize)]
        struct Group {
            name: String,
            rules: Vec<RawRule>,
        }
        #[derive(Deserialize)]
        struct RawRule {
            name: String,
            #[serde(rename = "type")]
            kind: String,
            query: String,
            #[serde(default)]
            health: String,
            #[serde(default)]
            state: Option<String>,
            #[serde(default)]
            labels: Labels,
        }
        let data: Data = self.call(&["api", "v1", "rules"], Vec::new()).await?;
        Ok(data
            .groups
            .into_iter()
            .flat_map(|g| {
                let group = g.name;
                g.rules.into_iter().map(move |r| Rule {
                    group: group.clone(),
                    name: r.name,
                    kind: r.kind,
                    query: r.query,
                    health: r.health,
                    state: r.state,
                    labels: r.labels,
                })
            })
            .collect())
    }

    fn discovery_params(
        &self,
        matches: &[&str],
        start: Option<DateTime<Utc>>,
        end: Option<DateTime<Utc>>,
    ) -> Result<Vec<(String, String)>, Error> {
        if let (Some(s), Some(e)) = (start, end) {
            self.bounds.check_range(s, e)?;
        }
        let mut params: Vec<(String, String)> = matches
            .iter()
            .filter(|m| !m.trim().is_empty())
            .map(|m| ("match[]".to_string(), m.to_string()))
            .collect();
        if let Some(s) = start {
            params.push(("start".into(), unix(s)));
        }
        if let Some(e) = end {
            params.push(("end".into(), unix(e)));
        }
        Ok(params)
    }

    /// One call: long parameter lists go as a form POST (documented for these endpoints),
    /// the rest as GET; the `{status, data, error}` envelope is unwrapped.
    async fn call<T: DeserializeOwned>(
        &self,
        segments: &[&str],
        params: Vec<(String, String)>,
    ) -> Result<T, Error> {
        let long = params.iter().map(|(k, v)| k.len() + v.len()).sum::<usize>() > 4000;
        let postable = matches!(
            segments,
            ["api", "v1", "query" | "query_range" | "series" | "labels"]
        );
        let request = if long && postable {
            Request::post_form(segments, params)
        } else {
            Request::get(segments, params)
        };
        let body = self.http.send(&request).await?;
        self.http.envelope(&body)
    }
}

#[derive(Deserialize)]
#[serde(tag = "resultType", content = "result", rename_all = "lowercase")]
enum QueryData {
    Vector(Vec<RawSample>),
    Matrix(Vec<RawSeries>),
    Scalar((f64, String)),
    String((f64, String)),
}

#[derive(Deserialize)]
struct RawSample {
    #[serde(default)]
    metric: Labels,
    // Native-histogram samples carry `histogram` instead; they read as NaN.
    #[serde(default = "nan_point")]
    value: (f64, String),
}

#[derive(Deserialize)]
struct RawSeries {
    #[serde(default)]
    metric: Labels,
    #[serde(default)]
    values: Vec<(f64, String)>,
}

impl RawSeries {
    fn into_series(self) -> Series {
        Series {
            labels: self.metric,
            points: self
                .values
                .into_iter()
                .map(|(t, v)| (t, parse_value(&v)))
                .collect(),
        }
    }
}

fn nan_point() -> (f64, String) {
    (0.0, "NaN".into())
}

/// Prometheus sends values as strings: `"1.5"`, `"NaN"`, `"+Inf"`.
fn parse_value(v: &str) -> f64 {
    v.parse().unwrap_or(f64::NAN)
}

fn unix(t: DateTime<Utc>) -> String {
    let millis = t.timestamp_millis();
    if millis % 1000 == 0 {
        (millis / 1000).to_string()
    } else {
        format!("{:.3}", millis as f64 / 1000.0)
    }
}

fn seconds(d: Duration) -> String {
    if d.subsec_millis() == 0 {
        format!("{}s", d.as_secs())
    } else {
        format!("{}ms", d.as_millis())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn results_of_every_type_parse() {
        let vector = r#"{"resultType":"vector","result":[{"metric":{"job":"a"},"value":[1700000000.5,"+Inf"]}]}"#;
        let QueryData::Vector(v) = serde_json::from_str(vector).unwrap() else {
            panic!("vector")
        };
        assert_eq!(v[0].metric["job"], "a");
        assert!(parse_value(&v[0].value.1).is_infinite());
        let matrix =
            r#"{"resultType":"matrix","result":[{"metric":{},"values":[[1,"1"],[2,"NaN"]]}]}"#;
        let QueryData::Matrix(m) = serde_json::from_str(matrix).unwrap() else {
            panic!("matrix")
        };
        let s = m.into_iter().next().unwrap().into_series();
        assert_eq!(s.points[0], (1.0, 1.0));
        assert!(s.points[1].1.is_nan());
        let scalar = r#"{"resultType":"scalar","result":[3,"2.5"]}"#;
        assert!(matches!(
            serde_json::from_str::<QueryData>(scalar).unwrap(),
            QueryData::Scalar((3.0, _))
        ));
    }

    #[test]
    fn times_and_steps_format_as_prometheus_reads_them() {
        use chrono::TimeZone;
        assert_eq!(
            unix(Utc.timestamp_opt(1_700_000_000, 0).unwrap()),
            "1700000000"
        );
        assert_eq!(
            unix(Utc.timestamp_opt(1_700_000_000, 250_000_000).unwrap()),
            "1700000000.250"
        );
        assert_eq!(seconds(Duration::from_secs(3)), "3s");
        assert_eq!(seconds(Duration::from_millis(1500)), "1500ms");
    }
}
