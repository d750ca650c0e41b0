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
            // Read once the type says what it holds (a metric query's samples are
            // not lines).
            result: Box<serde_json::value::RawValue>,
        }
        #[derive(Deserialize)]
        struct RawStream {
            #[serde(default)]
            stream: Labels,
            #[serde(default)]
            values: Vec<Entry>,
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
        let raw: Vec<RawStream> = serde_json::from_str(data.result.get())
            .map_err(|e| self.http.redact(Error::malformed(Api::Loki, &e)))?;
        let mut left = limit;
        let mut streams = Vec::with_capacity(raw.len());
        for s in raw {
            if left == 0 {
                break;
            }
            let mut entries = Vec::with_capacity(s.values.len().min(left));
            for Entry(ts, line) in s.values.into_iter().take(left) {
                let ts = ts.parse::<i64>().map_err(|_| Error::Malformed {
                    api: Api::Loki,
                    detail: format!("a stream value's time {ts:?} is not nanoseconds"),
                })?;
                entries.push((ts, line));
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
        self.http.envelope(&body)
    }
}

/// One `["<ns>", "<line>"]` value of a stream; a third element (structured
/// metadata) is skipped. Written by hand because serde reads a JSON array into a
/// tuple only when it has exactly the tuple's length.
struct Entry(String, String);

impl<'de> Deserialize<'de> for Entry {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = Entry;

            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str(r#"a stream value ["<ns>", "<line>"]"#)
            }

            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> Result<Entry, A::Error> {
                use serde::de::Error as _;
                let ts = seq
                    .next_element()?
                    .ok_or_else(|| A::Error::invalid_length(0, &self))?;
                let line = seq
                    .next_element()?
                    .ok_or_else(|| A::Error::invalid_length(1, &self))?;
                while seq.next_element::<serde::de::IgnoredAny>()?.is_some() {}
                Ok(Entry(ts, line))
            }
        }
        deserializer.deserialize_seq(Visitor)
    }
}

fn nanos(t: DateTime<Utc>) -> String {
    t.timestamp_nanos_opt()
        .unwrap_or(t.timestamp().saturating_mul(1_000_000_000))
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::Entry;

    #[test]
    fn a_stream_value_is_a_time_and_a_line_and_metadata_is_skipped() {
        let values: Vec<Entry> = serde_json::from_str(
            r#"[["1674981742383150913", "GET / 200"], ["1674981742383150914", "GET /cart 500", {"trace_id": "abc"}]]"#,
        )
        .unwrap();
        let read: Vec<(&str, &str)> = values
            .iter()
            .map(|Entry(ts, line)| (ts.as_str(), line.as_str()))
            .collect();
        assert_eq!(
            read,
            [
                ("1674981742383150913", "GET / 200"),
                ("1674981742383150914", "GET /cart 500")
            ]
        );
        for bad in [
            r#"[["1674981742383150913"]]"#,
            r#"[[1674981742, "x"]]"#,
            r#"["x"]"#,
        ] {
            let err = serde_json::from_str::<Vec<Entry>>(bad).err();
            assert!(err.is_some(), "{bad} was read");
        }
        let err = serde_json::from_str::<Vec<Entry>>(r#"[["1"]]"#)
            .err()
            .unwrap()
            .to_string();
        assert!(err.contains(r#"["<ns>", "<line>"]"#), "{err}");
    }
}
