//! Fetches the telemetry of a range through the read-only tools, the same path in
//! production and in evaluation: every catalog signal from Prometheus, error lines per
//! service from Loki, traces per service from Jaeger; in parallel, bounded.
//! A source that fails is recorded in `degraded` and the others still count.

use std::collections::{BTreeMap, HashSet};
use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use futures::{StreamExt, stream};

use super::catalog::{SERVICE_LABELS, SignalCatalog};
use super::observations::{LogLine, Metric, Observations, Span};
use super::window;
use aegis_core::report::Step;
use aegis_tools::{Clients, jaeger, loki};

/// How the collector is bounded.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Queries in flight at once.
    pub concurrency: usize,
    /// Traces asked for per service and part of the range (capped by the tools).
    pub traces_per_service: usize,
    /// How far before the range the history reaches: metrics are read over it too, and
    /// what each service normally logs is learnt from samples of it, so that a noisy
    /// series or an earlier incident inside the range does not pass for a change or
    /// for normal. Zero turns the history off.
    pub history: Duration,
    /// How far before the range the ordinary behaviour of every signal is learnt
    /// from (chronic suspects, `crate::chronic`), read at [`Limits::ordinary_step`];
    /// zero turns it off. Cut to the tools' longest range.
    pub ordinary_history: Duration,
    /// The step of that long history: coarse, so hours cost a few dozen points a
    /// series.
    pub ordinary_step: Duration,
    /// Parts the log history is read in, each capped at the tools' line limit from
    /// its end backwards: a quiet service's whole hour, a chatty one's last minutes
    /// of each part.
    pub log_history_parts: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            concurrency: 16,
            // 20 cost Train Ticket (46 services) 2.7 s a case against local backends;
            // 10 keep it under 2 s at about the same accuracy (docs/evaluation-history.md).
            traces_per_service: 10,
            history: Duration::from_secs(3600),
            // Six hours at 5 minutes: 72 points a series, dozens of ordinary
            // windows of an incident part's length, each with its hour before.
            ordinary_history: Duration::from_secs(6 * 3600),
            ordinary_step: Duration::from_secs(300),
            log_history_parts: 4,
        }
    }
}

/// Everything fetched, and one step per source for the report's trace.
pub struct Collected {
    /// The telemetry.
    pub observations: Observations,
    /// What each source answered, summarised.
    pub steps: Vec<Step>,
}

/// Fetches the range `[start, end]`; `onset_hint` is when the incident is known to
/// have begun showing, if it is (see [`Observations::onset_hint`]). What could not be
/// read is noted in `lang` (the steps keep the model's wording).
pub async fn collect(
    tools: &Clients,
    catalog: &SignalCatalog,
    (start, end): (DateTime<Utc>, DateTime<Utc>),
    onset_hint: Option<DateTime<Utc>>,
    limits: Limits,
    lang: aegis_i18n::Lang,
) -> Collected {
    let mut obs = Observations {
        start: seconds(start),
        end: seconds(end),
        onset_hint: onset_hint.map(seconds),
        ..Observations::default()
    };
    let mut steps = Vec::new();

    // Logs and spans are read in two parts, baseline and incident, so that a cap on
    // lines or traces cannot starve either side of the comparison.
    let split = window::incident_start(&obs);
    let split = Utc
        .timestamp_millis_opt((split * 1000.0) as i64)
        .single()
        .unwrap_or(start);
    let parts = [(start, split), (split, end)];
    let mut log_parts = history_parts(start, limits);
    log_parts.extend(parts);
    let ordinary_start = chrono::Duration::from_std(limits.ordinary_history)
        .ok()
        .filter(|h| *h > chrono::Duration::zero())
        .map(|h| start - h);
    let ((metrics, step), (ordinary, ordinary_step), logs, traces) = tokio::join!(
        metrics(
            tools,
            catalog,
            (history_start(start, limits), end),
            None,
            limits
        ),
        async {
            match ordinary_start {
                Some(from) => {
                    metrics(
                        tools,
                        catalog,
                        (from, end),
                        Some(limits.ordinary_step),
                        limits,
                    )
                    .await
                }
                None => (Ok(Vec::new()), None),
            }
        },
        logs(tools, &log_parts, limits),
        traces(tools, &parts, limits)
    );
    match metrics {
        Ok(m) => obs.metrics = m,
        Err(e) => obs.degraded.push(e.words(lang)),
    }
    steps.extend(step);
    // Without the long history the ranking still stands: nothing is degraded, the
    // departures are just not weighed by how ordinary they are.
    if let Ok(m) = ordinary {
        obs.ordinary = m;
    }
    steps.extend(ordinary_step);
    match logs {
        (Ok((lines, selector)), step) => {
            obs.logs = lines;
            obs.log_selector = Some(selector);
            steps.push(step);
        }
        (Err(e), step) => {
            obs.degraded.push(e.words(lang));
            steps.push(step);
        }
    }
    match traces {
        (Ok((spans, query)), step) => {
            obs.spans = spans;
            obs.trace_query = Some(query);
            steps.push(step);
        }
        (Err(e), step) => {
            obs.degraded.push(e.words(lang));
            steps.push(step);
        }
    }
    for (i, s) in steps.iter_mut().enumerate() {
        s.index = i as u32 + 1;
    }
    Collected {
        observations: obs,
        steps,
    }
}

type Fetched<T> = (Result<T, aegis_tools::Error>, Step);

/// A part of the range, from and to.
type Part = (DateTime<Utc>, DateTime<Utc>);

/// Where the history before a range starting at `start` begins.
fn history_start(start: DateTime<Utc>, limits: Limits) -> DateTime<Utc> {
    chrono::Duration::from_std(limits.history).map_or(start, |h| start - h)
}

/// The log history before `start`, cut into [`Limits::log_history_parts`] parts.
fn history_parts(start: DateTime<Utc>, limits: Limits) -> Vec<Part> {
    let n = limits.log_history_parts;
    let Ok(history) = chrono::Duration::from_std(limits.history) else {
        return Vec::new();
    };
    if n == 0 || history < chrono::Duration::minutes(1) {
        return Vec::new();
    }
    let every = history / n as i32;
    (0..n as i32)
        .map(|i| {
            let from = start - history + every * i;
            (from, from + every)
        })
        .collect()
}

/// Every catalog signal over `[start, end]`, at `step` (by default a point a minute,
/// longer ranges thinned to about 180 points); the start is moved up to keep within
/// the tools' longest range.
async fn metrics(
    tools: &Clients,
    catalog: &SignalCatalog,
    (start, end): (DateTime<Utc>, DateTime<Utc>),
    step: Option<Duration>,
    limits: Limits,
) -> (Result<Vec<Metric>, aegis_tools::Error>, Option<Step>) {
    let input = serde_json::json!({
        "signals": catalog.signals.iter().map(|s| &s.name).collect::<Vec<_>>(),
        "start": start, "end": end,
    });
    let log = if step.is_some() {
        "every catalog signal over the hours before the range, coarse: ordinary behaviour"
    } else {
        "every catalog signal, one series per service"
    };
    let step_of = |observation: String| {
        Some(Step {
            index: 0,
            tool: "prometheus.query_range".into(),
            tool_input: input.clone(),
            observation,
            log: log.into(),
        })
    };
    let client = match tools.prometheus() {
        Ok(c) => c,
        Err(e) => {
            let step = step_of(e.to_string());
            return (Err(e), step);
        }
    };
    let longest = chrono::Duration::from_std(client.bounds().max_range).unwrap_or(end - start);
    let start = start.max(end - longest);
    // One point a minute at least; longer ranges are thinned to ~180 points.
    let step_len = step.unwrap_or_else(|| {
        Duration::from_secs((((end - start).num_seconds() / 180).max(60)) as u64)
    });
    // Owned items throughout these streams: closures over borrowed items make the
    // engine's future impossible to prove `Send` (rustc's higher-ranked lifetime
    // limits), and a caller could then only run it on a blocking thread.
    let results: Vec<_> = stream::iter(catalog.signals.iter().cloned())
        .map(|signal| async move {
            let result = client
                .query_range(&signal.query, start, end, Some(step_len))
                .await;
            (signal, result)
        })
        .buffered(limits.concurrency)
        .collect()
        .await;
    let mut out = Vec::new();
    let mut failures = Vec::new();
    let mut series_count = 0;
    for (signal, result) in results {
        match result {
            Ok(capped) => {
                let mut series = BTreeMap::new();
                for s in capped.items {
                    let Some(service) = SERVICE_LABELS.iter().find_map(|l| s.labels.get(*l)) else {
                        continue;
                    };
                    series_count += 1;
                    series.insert(service.clone(), s.points);
                }
                if !series.is_empty() {
                    out.push(Metric {
                        signal: signal.clone(),
                        series,
                    });
                }
            }
            Err(e) => failures.push((signal.name.clone(), e)),
        }
    }
    let summary = format!(
        "{} of {} signals returned data ({series_count} series); {} failed",
        out.len(),
        catalog.signals.len(),
        failures.len()
    );
    // Every signal failing means the source is down, not that the signals are absent.
    if !catalog.signals.is_empty() && failures.len() == catalog.signals.len() {
        let (_, e) = failures.swap_remove(0);
        return (Err(e), step_of(summary));
    }
    (Ok(out), step_of(summary))
}

async fn logs(tools: &Clients, parts: &[Part], limits: Limits) -> Fetched<(Vec<LogLine>, String)> {
    let (start, end) = (parts[0].0, parts[parts.len() - 1].1);
    let client = match tools.loki() {
        Ok(c) => c,
        Err(e) => {
            let step = log_step(e.to_string(), "");
            return (Err(e), step);
        }
    };
    let label = client.service_label().to_string();
    let services = match client.label_values(&label, Some(start), Some(end)).await {
        Ok(s) => s,
        Err(e) => {
            let step = log_step(e.to_string(), "");
            return (Err(e), step);
        }
    };
    let selector = format!("{{{label}=\"<service>\"}}");
    let template = format!("{selector} {}", super::observations::ERROR_FILTER);
    let max = client.bounds().max_log_lines;
    let results: Vec<_> = stream::iter(jobs(&services, parts))
        .map(|(service, (from, to))| {
            // Every line, not only errors: a change in what a service logs shows a
            // changed code path even when nothing is logged as an error.
            let query = format!("{{{label}=\"{}\"}}", escape(&service));
            async move {
                client
                    .query_range(&query, from, to, max, loki::Direction::Backward)
                    .await
            }
        })
        .buffer_unordered(limits.concurrency)
        .collect()
        .await;
    let mut lines = Vec::new();
    let mut failed = 0;
    let mut last_error = None;
    for r in results {
        match r {
            Ok(streams) => {
                for s in streams {
                    let Some(service) = s.labels.get(&label) else {
                        continue;
                    };
                    lines.extend(s.entries.into_iter().map(|(ns, line)| LogLine {
                        service: service.clone(),
                        time: ns as f64 / 1e9,
                        line,
                    }));
                }
            }
            Err(e) => {
                failed += 1;
                last_error = Some(e);
            }
        }
    }
    let summary = format!(
        "{} lines from {} services; {failed} queries failed",
        lines.len(),
        services.len()
    );
    if let Some(e) = last_error
        && lines.is_empty()
    {
        return (Err(e), log_step(summary, &template));
    }
    (Ok((lines, selector)), log_step(summary, &template))
}

fn log_step(observation: String, query: &str) -> Step {
    Step {
        index: 0,
        tool: "loki.query_range".into(),
        tool_input: serde_json::json!({ "query": query }),
        observation,
        log: "log lines per service: samples of the history before the range, then its baseline and incident parts".into(),
    }
}

async fn traces(tools: &Clients, parts: &[Part], limits: Limits) -> Fetched<(Vec<Span>, String)> {
    let step = |observation: String| Step {
        index: 0,
        tool: "jaeger.find_traces".into(),
        tool_input: serde_json::json!({ "service": "<each service>", "limit": limits.traces_per_service }),
        observation,
        log: "traces per service, baseline and incident parts".into(),
    };
    let client = match tools.jaeger() {
        Ok(c) => c,
        Err(e) => {
            let step = step(e.to_string());
            return (Err(e), step);
        }
    };
    let services = match client.services().await {
        Ok(s) => s,
        Err(e) => {
            let step = step(e.to_string());
            return (Err(e), step);
        }
    };
    let results: Vec<_> = stream::iter(jobs(&services, parts))
        .map(|(service, (from, to))| {
            let query = jaeger::TraceQuery {
                service,
                limit: limits.traces_per_service,
                start: from,
                end: to,
                ..jaeger::TraceQuery::default()
            };
            async move { client.find_traces(&query).await }
        })
        .buffer_unordered(limits.concurrency)
        .collect()
        .await;
    let mut seen = HashSet::new();
    let mut spans = Vec::new();
    let mut failed = 0;
    let mut last_error = None;
    for r in results {
        match r {
            Ok(traces) => {
                for t in traces {
                    for s in t.spans {
                        if !seen.insert((t.trace_id.clone(), s.span_id.clone())) {
                            continue;
                        }
                        spans.push(Span {
                            trace_id: t.trace_id.clone(),
                            span_id: s.span_id,
                            parent_span_id: s.parent_span_id,
                            service: s.service,
                            operation: s.operation,
                            start: s.start_us as f64 / 1e6,
                            duration_us: s.duration_us as f64,
                            // A source that never records status reads as all-false,
                            // which shows no rise, as it should.
                            error: Some(s.error),
                        });
                    }
                }
            }
            Err(e) => {
                failed += 1;
                last_error = Some(e);
            }
        }
    }
    let summary = format!(
        "{} spans from {} services; {failed} queries failed",
        spans.len(),
        services.len()
    );
    if let Some(e) = last_error
        && spans.is_empty()
    {
        return (Err(e), step(summary));
    }
    let query = format!(
        "GET /api/traces?service=<each of {} services>&limit={}",
        services.len(),
        limits.traces_per_service
    );
    (Ok((spans, query)), step(summary))
}

fn escape(value: &str) -> String {
    value.replace('\\', "\\\\").replace('"', "\\\"")
}

fn seconds(t: DateTime<Utc>) -> f64 {
    t.timestamp_millis() as f64 / 1000.0
}

/// One query per service and part of the range, owned (see the Prometheus stream).
fn jobs(services: &[String], parts: &[Part]) -> Vec<(String, Part)> {
    services
        .iter()
        .flat_map(|s| parts.iter().map(move |p| (s.clone(), *p)))
        .collect()
}
