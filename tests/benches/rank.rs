//! How the statistical engine's ranking grows with the system: synthetic systems of
//! 50 to 2,000 services (10 metric signals each, so 500 to 20,000 series, over a
//! 15-minute range and the hour before it at one point a minute, and six hours before
//! it at 5 minutes for the chronic-suspect null), with log lines and traces per
//! service, a call tree, and one injected fault whose latency and errors propagate to
//! its callers. Prints the median wall time of `aegis_rca::rank` and the peak heap it
//! allocated (a counting global allocator). Measured, never asserted.
//!
//! Run (figures in docs/benchmarks.md, section "Ranking"):
//! `cargo bench --profile release -p aegis-tests --bench rank [-- --services 50,2000]`

use std::alloc::{GlobalAlloc, Layout, System};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use aegis_rca::{Kind, LogLine, Metric, Observations, Signal, Span};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// The system allocator, counting the bytes in use and their peak. Hand-written: the
/// crates that do this (dhat, stats_alloc) add far more than these lines.
struct Counting;

static IN_USE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded as is to the system allocator.
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            let now = IN_USE.fetch_add(layout.size(), Ordering::Relaxed) + layout.size();
            PEAK.fetch_max(now, Ordering::Relaxed);
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from `alloc` with this layout.
        unsafe { System.dealloc(ptr, layout) };
        IN_USE.fetch_sub(layout.size(), Ordering::Relaxed);
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

const START: f64 = 1_700_000_000.0;
const RANGE_MINUTES: usize = 15;
const HISTORY_MINUTES: usize = 60;
/// The long history's length before the range and step, minutes.
const ORDINARY_MINUTES: usize = 360;
const ORDINARY_STEP_MINUTES: usize = 5;
/// The fault begins this many minutes into the range.
const FAULT_MINUTE: usize = 10;

const SIGNALS: [(&str, Kind); 10] = [
    ("cpu_seconds_rate", Kind::Cpu),
    ("memory_working_set_bytes", Kind::Memory),
    ("network_receive_bytes_rate", Kind::Network),
    ("network_transmit_bytes_rate", Kind::Network),
    ("request_rate", Kind::Traffic),
    ("error_ratio", Kind::Errors),
    ("latency_p90_seconds", Kind::Latency),
    ("latency_p99_seconds", Kind::Latency),
    ("client_latency_p90_seconds", Kind::ClientLatency),
    ("jvm_gc_seconds_rate", Kind::Cpu),
];

/// A system of `services` services with a fault on one of them.
fn system(services: usize, rng: &mut StdRng) -> (Observations, String) {
    let name = |i: usize| format!("svc-{i:03}");
    // A call tree: service i is called by (i - 1) / 3.
    let caller = |i: usize| (i > 0).then(|| (i - 1) / 3);
    let faulty = services * 2 / 3;
    // The fault's service and its callers up to the root are slow.
    let mut affected = BTreeMap::new();
    let mut at = Some(faulty);
    let mut depth = 0;
    while let Some(i) = at {
        affected.insert(i, 1.0 / (1.0 + depth as f64));
        depth += 1;
        at = caller(i);
    }
    let minutes = HISTORY_MINUTES + RANGE_MINUTES;
    let range_start = START + (HISTORY_MINUTES * 60) as f64;
    let fault_at = HISTORY_MINUTES + FAULT_MINUTE;
    // Each series' level, shared by the one-minute and the long history.
    let levels: Vec<Vec<f64>> = SIGNALS
        .iter()
        .map(|_| (0..services).map(|_| rng.random_range(0.5..5.0)).collect())
        .collect();
    let metrics = sampled(&levels, &affected, (0, minutes), 1, fault_at, rng);
    // The long history from six hours before the range through it, every 5 minutes
    // (minute 0 of the one-minute series is HISTORY_MINUTES before the range).
    let ordinary = sampled(
        &levels,
        &affected,
        (
            HISTORY_MINUTES as i64 - ORDINARY_MINUTES as i64,
            HISTORY_MINUTES + RANGE_MINUTES,
        ),
        ORDINARY_STEP_MINUTES,
        fault_at,
        rng,
    );
    // Every service logs a few lines a minute; the faulty one starts failing.
    let mut logs = Vec::new();
    for i in 0..services {
        for m in 0..minutes {
            for k in 0..4 {
                let t = START + (m * 60 + k * 15) as f64;
                let line = if i == faulty && m >= fault_at && k % 2 == 0 {
                    format!(
                        "ERROR request {} failed: upstream timeout after 3000 ms",
                        m * 7 + k
                    )
                } else {
                    format!("INFO handled request {} in {} ms", m * 7 + k, 10 + k)
                };
                logs.push(LogLine {
                    service: name(i),
                    time: t,
                    line,
                });
            }
        }
    }
    // Ten traces per service and minute of the range, each a call to one child.
    let mut spans = Vec::new();
    for i in 1..services {
        let parent = caller(i).unwrap();
        for m in 0..RANGE_MINUTES {
            for k in 0..10 {
                let trace = format!("{i}-{m}-{k}");
                let t = range_start + (m * 60 + k * 6) as f64;
                let slow = HISTORY_MINUTES + m >= fault_at && affected.contains_key(&i);
                let d = if slow { 250_000.0 } else { 50_000.0 } * rng.random_range(0.9..1.1);
                spans.push(Span {
                    trace_id: trace.clone(),
                    span_id: format!("{trace}-p"),
                    parent_span_id: None,
                    service: name(parent),
                    operation: "call".into(),
                    start: t,
                    duration_us: d + 5_000.0,
                    error: Some(false),
                });
                spans.push(Span {
                    trace_id: trace.clone(),
                    span_id: format!("{trace}-c"),
                    parent_span_id: Some(format!("{trace}-p")),
                    service: name(i),
                    operation: "serve".into(),
                    start: t + 0.001,
                    duration_us: d,
                    error: Some(slow && i == faulty),
                });
            }
        }
    }
    let obs = Observations {
        start: range_start,
        end: range_start + (RANGE_MINUTES * 60) as f64,
        metrics,
        ordinary,
        logs,
        log_selector: Some("{app=\"<service>\"}".into()),
        spans,
        trace_query: Some(String::new()),
        ..Observations::default()
    };
    (obs, name(faulty))
}

/// Every signal of every service (its level in `levels`) from minute `from` to `to`
/// (minute 0 is the start of the one-minute history) every `step` minutes; the
/// services in `affected` slow and fail from minute `fault_at`, by their share.
fn sampled(
    levels: &[Vec<f64>],
    affected: &BTreeMap<usize, f64>,
    (from, to): (i64, usize),
    step: usize,
    fault_at: usize,
    rng: &mut StdRng,
) -> Vec<Metric> {
    let name = |i: usize| format!("svc-{i:03}");
    SIGNALS
        .iter()
        .zip(levels)
        .map(|((signal, kind), levels)| Metric {
            signal: Signal {
                name: signal.to_string(),
                query: String::new(),
                kind: *kind,
            },
            series: levels
                .iter()
                .enumerate()
                .map(|(i, base)| {
                    let points = (from..to as i64)
                        .step_by(step)
                        .map(|m| {
                            let noise = 1.0 + rng.random_range(-0.05..0.05);
                            let hit = m >= fault_at as i64 && affected.contains_key(&i);
                            let v = match kind {
                                Kind::Errors => {
                                    if hit {
                                        0.2 * affected[&i]
                                    } else {
                                        0.001 * noise
                                    }
                                }
                                Kind::Latency | Kind::ClientLatency if hit => {
                                    base * noise * (1.0 + 4.0 * affected[&i])
                                }
                                _ => base * noise,
                            };
                            (START + (m * 60) as f64, v)
                        })
                        .collect();
                    (name(i), points)
                })
                .collect(),
        })
        .collect()
}

fn main() {
    let mut sizes = vec![50, 100, 200, 500, 1000, 2000];
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--services" => {
                sizes = args
                    .next()
                    .expect("--services takes a list such as 50,2000")
                    .split(',')
                    .map(|s| s.parse().expect("--services takes numbers"))
                    .collect()
            }
            // cargo bench passes --bench to every bench binary.
            "--bench" => {}
            other => panic!("unknown argument {other}; use --services 50,2000"),
        }
    }
    println!(
        "{:>8} {:>7} {:>9} {:>7} {:>10} {:>10} {:>12} {:>6}",
        "services", "series", "log lines", "spans", "median ms", "max ms", "peak heap MB", "top-1"
    );
    for services in sizes {
        let mut rng = StdRng::seed_from_u64(services as u64);
        let (obs, faulty) = system(services, &mut rng);
        let series: usize = obs.metrics.iter().map(|m| m.series.len()).sum();
        let before = IN_USE.load(Ordering::Relaxed);
        PEAK.store(before, Ordering::Relaxed);
        let mut times = Vec::new();
        let mut top = String::new();
        for _ in 0..5 {
            let started = Instant::now();
            let ranking = aegis_rca::rank(&obs);
            times.push(started.elapsed().as_secs_f64() * 1000.0);
            top = ranking
                .candidates
                .first()
                .map(|c| c.service.clone())
                .unwrap_or_default();
        }
        let peak = PEAK.load(Ordering::Relaxed).saturating_sub(before);
        times.sort_by(f64::total_cmp);
        println!(
            "{:>8} {:>7} {:>9} {:>7} {:>10.0} {:>10.0} {:>12.1} {:>6}",
            services,
            series,
            obs.logs.len(),
            obs.spans.len(),
            times[times.len() / 2],
            times[times.len() - 1],
            peak as f64 / 1e6,
            if top == faulty { "right" } else { "wrong" }
        );
    }
}
