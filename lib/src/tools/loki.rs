//! A read-only client of the Loki query API (`/loki/api/v1/...`), with typed results.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use super::bounds::Bounds;
use super::error::{Api, Error, required};
use super::http::{Http, Request};

/// Labels of one stream.
pub type Labels = BTreeMap<String, String>;

/// One log stream: its labels and its entries.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Stream {
    /// The stream labels.
    pub labels: Labels,
    /// `(unix nanoseconds, line)`, in the order Loki returned them.
    pub entries: Vec<(i64, String)>,
}

/// Which end of the range Loki reads from; with a limit, which lines are kept.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    /// Newest first (Loki's default).
    #[default]
    Backward,
    /// Oldest first.
    Forward,
}

impl Direction {
    fn as_str(self) -> &'static str {
        match self {
            Self::Backward => "backward",
            Self::Forward => "forward",
        }
    }
}

/// The Loki client. Every call goes through the read-only [`Http`] layer and is held to
/// the [`Bounds`]; `X-Scope-OrgID` is set on the layer when a tenant is configured.
#[derive(Debug, Clone)]
pub struct Client {
    http: Http,
    bounds: Bounds,
    service_label: String,
}

impl Client {
    /// A client over `http`, held to `bounds`; `service_label` names the stream label
    /// that holds the service (`LOKI_SERVICE_LABEL_KEY`).
    pub fn new(http: Http, bounds: Bounds, service_label: String) -> Self {
        Self {
            http,
            bounds,
            service_label,
        }
    }

    /// The stream label that names the service.
    pub fn service_label(&self) -> &str {
        &self.service_label
    }

    /// The bounds this client applies.
    pub fn bounds(&self) -> &Bounds {
        &self.bounds
    }

    /// Log lines of `logql` over `start..end`: at most `limit` lines, and never more
    /// than `max_log_lines`. Metric queries (`rate(...)`, `count_over_time`) are refused
    /// with a message saying so.
    pub async fn query_range(
        &self,
        logql: &str,
        start: DateTime<Utc>,
        end: DateTime<Utc>,
        limit: usize,
        direction: Direction,
    ) -> Result<Vec<Stream>, Error> {
        self.bounds.check_range(start, end)?;
        let logql = required(
            "a LogQL query (a stream selector such as {app=\"api\"})",
            logql,
        )?;
        let limit = limit.clamp(1, self.bounds.max_log_lines);
        let params = vec![
            ("query".to_string(), logql.to_string()),
            ("start".into(), nanos(start)),
            ("end".into(), nanos(end)),
            ("limit".into(), limit.to_string()),
            ("direction".into(), direction.as_str().to_string()),
        ];
        #[derive(Deserialize)]
        struct Data {
            #[serde(rename = "resultType")]
            result_type: String,
            result: serde_json::Value,
        }
        #[derive(Deserialize)]
        struct RawStream {
            #[serde(default)]
            stream: Labels,
            #[serde(default)]
            values: Vec<Vec<serde_json::Value>>,
        }
        let data: Data = self
            .call(&["loki", "api", "v1", "query_range"], params)
            .await?;
        if data.result_type != "streams" {
            return Err(Error::Invalid(format!(
                "the query is a metric query (result type {}); ask for log lines with a stream selector and line filters, e.g. {{app=\"api\"}} |= \"error\"",
                data.result_type
            )));
        }
        let raw: Vec<RawStream> =
            serde_json::from_value(data.result).map_err(|e| Error::malformed(Api::Loki, &e))?;
        let mut left = limit;
        let mut streams = Vec::with_capacity(raw.len());
        for s in raw {
            if left == 0 {
                break;
            }
            let mut entries = Vec::with_capacity(s.values.len().min(left));
            // Each value is ["<ns>", "<line>"] (a third element carries structured metadata).
            for v in s.values.into_iter().take(left) {
                let ts = v
                    .first()
                    .and_then(|t| t.as_str())
                    .and_then(|t| t.parse::<i64>().ok());
                let line = v.get(1).and_then(|l| l.as_str());
                match (ts, line) {
                    (Some(ts), Some(line)) => entries.push((ts, line.to_string())),
                    _ => {
                        return Err(Error::Malformed {
                            api: Api::Loki,
                            detail: "a stream value is not [\"<ns>\", \"<line>\"]".into(),
                        });
                    }
                }
            }
            left -= entries.len();
            streams.push(Stream {
                labels: s.stream,
                entries,
            });
        }
        Ok(streams)
    }

    /// Label names seen in the range.
    pub async fn labels(
        &self,
        start: Option<DateTime<Utc>>,
        end: Option<DateTime<Utc>>,
    ) -> Result<Vec<String>, Error> {
        let params = self.range_params(start, end)?;
        let names: Option<Vec<String>> =
            self.call(&["loki", "api", "v1", "labels"], params).await?;
        Ok(names.unwrap_or_default())
    }

    /// Values of label `name` seen in the range.
    pub async fn label_values(
        &self,
        name: &str,
        start: Option<DateTime<Utc>>,
        end: Option<DateTime<Utc>>,
    ) -> Result<Vec<String>, Error> {
        let name = required("label name", name)?;
        let params = self.range_params(start, end)?;
        let values: Option<Vec<String>> = self
            .call(&["loki", "api", "v1", "label", name, "values"], params)
            .await?;
        Ok(values.unwrap_or_default())
    }

    /// Label sets of the streams matching `matches` in the range (at most `max_series`
    /// kept, the rest counted).
    pub async fn series(
        &self,
        matches: &[&str],
        start: Option<DateTime<Utc>>,
        end: Option<DateTime<Utc>>,
    ) -> Result<super::Capped<Labels>, Error> {
        let mut params: Vec<(String, String)> = matches
            .iter()
            .filter(|m| !m.trim().is_empty())
            .map(|m| ("match[]".to_string(), m.to_string()))
            .collect();
        if params.is_empty() {
            return Err(Error::Invalid(
                "series needs at least one stream selector, e.g. {app=\"api\"}".into(),
            ));
        }
        params.extend(self.range_params(start, end)?);
        let series: Option<Vec<Labels>> =
            self.call(&["loki", "api", "v1", "series"], params).await?;
        Ok(super::Capped::new(
            series.unwrap_or_default(),
            self.bounds.max_series,
        ))
    }

    fn range_params(
        &self,
        start: Option<DateTime<Utc>>,
        end: Option<DateTime<Utc>>,
    ) -> Result<Vec<(String, String)>, Error> {
        if let (Some(s), Some(e)) = (start, end) {
            self.bounds.check_range(s, e)?;
        }
        let mut params = Vec::new();
        if let Some(s) = start {
            params.push(("start".into(), nanos(s)));
        }
        if let Some(e) = end {
            params.push(("end".into(), nanos(e)));
        }
        Ok(params)
    }

    async fn call<T: DeserializeOwned>(
        &self,
        segments: &[&str],
        params: Vec<(String, String)>,
    ) -> Result<T, Error> {
        let body = self.http.send(&Request::get(segments, params)).await?;
        super::http::unwrap_envelope(Api::Loki, &body)
    }
}

fn nanos(t: DateTime<Utc>) -> String {
    t.timestamp_nanos_opt()
        .unwrap_or(t.timestamp().saturating_mul(1_000_000_000))
        .to_string()
}
