//! What the method works on: the telemetry of one range, already fetched, in memory.
//! [`super::collect`] fills it through the tools; tests build it by hand.

use std::collections::BTreeMap;

use super::catalog::Signal;

/// The LogQL line filter for lines worth reading for error templates; the method
/// sorts out severities itself.
pub const ERROR_FILTER: &str =
    r#"|~ "(?i)(error|exception|fatal|panic|severe|critical|fail|warn|timeout|refused)""#;

/// The telemetry of one time range.

#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct Observations {
    /// Range start, unix seconds.
    pub start: f64,
    /// Range end, unix seconds.
    pub end: f64,
    /// One entry per catalog signal that returned data.
    pub metrics: Vec<Metric>,
    /// The catalog's signals over hours before the range at a coarse step (and
    /// through it), for each service's ordinary departures (`crate::chronic`); empty
    /// when not fetched.
    #[serde(default)]
    pub ordinary: Vec<Metric>,
    /// Log lines per service (all levels; the method picks errors itself).
    pub logs: Vec<LogLine>,
    /// The LogQL stream selector that fetched a service's [`Observations::logs`],
    /// `<service>` standing for the service: the evidence's queries derive from it.
    #[serde(default)]
    pub log_selector: Option<String>,
    /// Spans of the traces in the range.
    pub spans: Vec<Span>,
    /// The Jaeger search that fetched [`Observations::spans`], for evidence.
    pub trace_query: Option<String>,
    /// Known caller -> callee edges besides those the spans show.
    pub graph: Vec<(String, String)>,
    /// When the incident is known to have begun showing, unix seconds: the start of
    /// the alert that asked for the analysis.
    #[serde(default)]
    pub onset_hint: Option<f64>,
    /// Sources that failed or are missing, and why.
    pub degraded: Vec<String>,
}

/// One signal's series, by service.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Metric {
    /// The signal.
    pub signal: Signal,
    /// `(unix seconds, value)` in time order, per service.
    pub series: BTreeMap<String, Vec<(f64, f64)>>,
}

#[cfg(test)]
impl Metric {
    /// A metric named `name` (its kind guessed from the name) with one series per
    /// service, its values `step` seconds apart from `start`.
    pub(crate) fn sampled(
        name: &str,
        start: f64,
        step: f64,
        series: Vec<(&str, Vec<f64>)>,
    ) -> Self {
        Self {
            signal: Signal {
                name: name.into(),
                query: format!("sum by (service) ({name})"),
                kind: super::catalog::Kind::from_name(name),
            },
            series: series
                .into_iter()
                .map(|(s, v)| {
                    let points = v
                        .into_iter()
                        .enumerate()
                        .map(|(i, v)| (start + step * i as f64, v))
                        .collect();
                    (s.to_string(), points)
                })
                .collect(),
        }
    }
}

/// One log line.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct LogLine {
    /// The service that wrote it.
    pub service: String,
    /// Unix seconds.
    pub time: f64,
    /// The line as written.
    pub line: String,
}

/// One span.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Span {
    /// Its trace.
    pub trace_id: String,
    /// Its id.
    pub span_id: String,
    /// Its parent's id; `None` for a root span.
    pub parent_span_id: Option<String>,
    /// The service that emitted it.
    pub service: String,
    /// Its operation.
    pub operation: String,
    /// Start, unix seconds.
    pub start: f64,
    /// Duration in microseconds.
    pub duration_us: f64,
    /// Whether it failed; `None` when the source did not say.
    pub error: Option<bool>,
}

impl Observations {
    /// The LogQL that shows every line of the services `matcher` selects (`"name"`,
    /// or `~"a|b"`), or only their error and warning lines; empty without logs.
    pub fn log_query(&self, matcher: &str, errors_only: bool) -> String {
        let Some(selector) = &self.log_selector else {
            return String::new();
        };
        let selector = selector.replace("\"<service>\"", matcher);
        if errors_only {
            format!("{selector} {}", ERROR_FILTER)
        } else {
            selector
        }
    }

    /// Every service any source names.
    pub fn services(&self) -> std::collections::BTreeSet<String> {
        // Through borrowed names first: a large range has a million log lines and
        // spans, and cloning each one's service name cost more than the rest.
        let names: std::collections::HashSet<&str> = self
            .metrics
            .iter()
            .flat_map(|m| m.series.keys().map(String::as_str))
            .chain(self.logs.iter().map(|l| l.service.as_str()))
            .chain(self.spans.iter().map(|s| s.service.as_str()))
            .collect();
        names.into_iter().map(str::to_string).collect()
    }
}
