//! The engine on synthetic incidents whose answer is known: one module per kind of
//! evidence, and here the fixtures several of them share.

use std::collections::BTreeMap;

use super::catalog::{Kind, Signal, SignalCatalog};
use super::observations::{LogLine, Metric, Observations, Span};
use super::{Engine, Input, rank, report};
use aegis_core::report::TimeRange;

mod chronic;
mod latency;
mod logs;
mod metrics;
mod network;
mod onset;
mod report_evidence;
mod spans;
mod xray;

const START: f64 = 1_700_000_000.0;
const MINUTES: usize = 15;

/// Deterministic jitter in [-1, 1].
fn jitter(seed: usize) -> f64 {
    let x = (seed as f64 * 12.9898).sin() * 43_758.545_3;
    2.0 * (x - x.floor()) - 1.0
}

/// What every service's spans show with the incident part from minute 10, whether
/// or not it would rank.
fn spans_from_minute_10(obs: &Observations) -> BTreeMap<String, crate::TraceChange> {
    crate::signals::trace_changes(
        obs,
        &crate::signals::SpanTree::new(obs),
        START + 600.0,
        true,
    )
}

/// A span of `trace` named `id` under `parent`, of `service`'s operation `call`,
/// that never failed.
fn span(trace: &str, id: &str, parent: Option<&str>, service: &str, start: f64, us: f64) -> Span {
    Span {
        trace_id: trace.into(),
        span_id: id.into(),
        parent_span_id: parent.map(Into::into),
        service: service.into(),
        operation: "call".into(),
        start,
        duration_us: us,
        error: Some(false),
    }
}

/// One point a minute; from minute `from` on, the value is multiplied by `factor`.
fn series(level: f64, seed: usize, from: usize, factor: f64) -> Vec<(f64, f64)> {
    (0..=MINUTES)
        .map(|m| {
            let v = level * (1.0 + 0.05 * jitter(seed * 100 + m));
            let v = if m >= from { v * factor } else { v };
            (START + 60.0 * m as f64, v)
        })
        .collect()
}

fn signal(name: &str) -> Signal {
    Signal {
        name: name.into(),
        query: format!("sum by (service) ({name})"),
        kind: Kind::from_name(name),
    }
}

fn metric(name: &str, per_service: Vec<(&str, Vec<(f64, f64)>)>) -> Metric {
    Metric {
        signal: signal(name),
        series: per_service
            .into_iter()
            .map(|(s, p)| (s.to_string(), p))
            .collect::<BTreeMap<_, _>>(),
    }
}

fn observations(metrics: Vec<Metric>) -> Observations {
    Observations {
        start: START,
        end: START + 60.0 * MINUTES as f64,
        metrics,
        ..Observations::default()
    }
}

/// frontend -> checkout -> payment; payment starts failing at minute 10 and its callers'
/// latency rises with it.
fn leaf_failure() -> Observations {
    let latency = metric(
        "latency_p90_seconds",
        vec![
            ("frontend", series(0.2, 1, 10, 3.0)),
            ("checkout", series(0.1, 2, 10, 4.0)),
            ("payment", series(0.02, 3, 10, 1.3)),
        ],
    );
    let mut obs = observations(vec![latency]);
    let mut spans = Vec::new();
    for i in 0..MINUTES * 4 {
        let t = START + 15.0 * i as f64;
        let failing = t >= START + 600.0;
        let id = format!("t{i}");
        let span = |n: &str, parent: Option<&str>, service: &str, duration_ms: f64, error| Span {
            trace_id: id.clone(),
            span_id: n.into(),
            parent_span_id: parent.map(Into::into),
            service: service.into(),
            operation: "call".into(),
            start: t,
            duration_us: duration_ms * 1000.0 * (1.0 + 0.05 * jitter(i)),
            error: Some(error),
        };
        let (f, c, p) = if failing {
            (600.0, 400.0, 25.0)
        } else {
            (200.0, 100.0, 20.0)
        };
        spans.push(span("a", None, "frontend", f, false));
        spans.push(span("b", Some("a"), "checkout", c, false));
        spans.push(span("c", Some("b"), "payment", p, failing));
        let line = if failing {
            format!("ERROR charge {i} failed: card processor refused connection")
        } else {
            format!("INFO charge {i} ok")
        };
        obs.logs.push(LogLine {
            service: "payment".into(),
            time: t,
            line,
        });
    }
    obs.spans = spans;
    obs
}

/// The engine's input for the synthetic range, with an empty catalog.
fn input() -> Input {
    Input::new(
        TimeRange {
            start: chrono::DateTime::from_timestamp(START as i64, 0).unwrap(),
            end: chrono::DateTime::from_timestamp(START as i64 + 60 * MINUTES as i64, 0).unwrap(),
        },
        SignalCatalog { signals: vec![] },
    )
}

/// `orders` logs the same lines at the same rate before and during the range except
/// that, from minute 10, its "saved" line gives way to a "skipped" line: no error,
/// only a different code path. `noisy` logs two lines whose mix swings every minute,
/// before and during the range alike.
fn changed_code_path() -> Observations {
    let mut obs = observations(Vec::new());
    // An hour of history samples, then the range.
    let minutes = (-60..0).step_by(5).chain(0..MINUTES as i64);
    for m in minutes {
        let t0 = START + 60.0 * m as f64;
        for k in 0..20 {
            let t = t0 + 3.0 * k as f64;
            let line = if k % 2 == 0 {
                format!("INFO order {k} received")
            } else if t >= START + 600.0 {
                format!("INFO order {k} skipped: price unchanged")
            } else {
                format!("INFO order {k} saved")
            };
            obs.logs.push(LogLine {
                service: "orders".into(),
                time: t,
                line,
            });
            let swing = if m.rem_euclid(2) == 0 { 4 } else { 16 };
            let noisy = if k < swing {
                "INFO cache hit"
            } else {
                "INFO cache miss"
            };
            obs.logs.push(LogLine {
                service: "noisy".into(),
                time: t,
                line: noisy.into(),
            });
        }
    }
    obs
}

/// [`changed_code_path`] plus `gateway`, whose "forwarded" lines give way from
/// minute 10 to errors: `errors(i)` is the error line it writes. `payments`, known
/// from its metrics, shows nothing.
fn code_path_and_gateway_errors(errors: impl Fn(usize) -> String) -> Observations {
    let mut obs = changed_code_path();
    obs.metrics.push(metric(
        "cpu_seconds_rate",
        vec![("payments", series(0.2, 7, 10, 1.0))],
    ));
    for m in (-60..0).step_by(5).chain(0..MINUTES as i64) {
        for k in 0..20 {
            let t = START + 60.0 * m as f64 + 3.0 * k as f64;
            let line = if t >= START + 600.0 && k % 2 == 1 {
                errors(k)
            } else {
                format!("INFO request {k} forwarded")
            };
            obs.logs.push(LogLine {
                service: "gateway".into(),
                time: t,
                line,
            });
        }
    }
    obs.logs.sort_by(|a, b| a.time.total_cmp(&b.time));
    obs
}

/// Observations of `metrics` with the given call graph (`(caller, callee)` edges),
/// as a dataset's `graph` or a service map gives it.
fn mapped(metrics: Vec<Metric>, edges: &[(&str, &str)]) -> Observations {
    let mut obs = observations(metrics);
    obs.graph = edges
        .iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect();
    obs
}

fn without(change: impl Fn(&mut super::Settings)) -> super::Settings {
    let mut settings = super::Settings::default();
    change(&mut settings);
    settings
}
