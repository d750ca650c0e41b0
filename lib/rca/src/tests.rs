//! The engine on synthetic incidents whose answer is known.

use std::collections::BTreeMap;

use super::catalog::{Kind, Signal, SignalCatalog};
use super::observations::{LogLine, Metric, Observations, Span};
use super::{Engine, Input, rank, report};
use aegis_core::report::TimeRange;

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

/// What every service's logs show with the incident part from minute 10, with or
/// without the empirical nulls of their log history.
fn logs_from_minute_10(
    obs: &Observations,
    with_null: bool,
) -> BTreeMap<String, crate::signals::LogChange> {
    let templates = crate::signals::templates(obs);
    crate::signals::log_changes(obs, &templates, START + 600.0, with_null)
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

const SERVICES: [&str; 5] = ["frontend", "cart", "checkout", "payment", "email"];

#[test]
fn a_cpu_shift_ranks_its_service_first() {
    let cpu = metric(
        "cpu_seconds_rate",
        SERVICES
            .iter()
            .enumerate()
            .map(|(i, s)| {
                let factor = if *s == "checkout" { 6.0 } else { 1.0 };
                (*s, series(0.2, i, 10, factor))
            })
            .collect(),
    );
    let ranking = rank(&observations(vec![cpu]));
    let top = &ranking.candidates[0];
    assert_eq!(top.service, "checkout");
    assert!(top.probability > 0.5, "{ranking:?}");
    assert!(top.probability > ranking.unknown);
    // The onset is found where the shift begins.
    assert_eq!(top.change.onset(), Some(START + 600.0));
    // A CPU rise is its service's own: nothing to tell apart from an echo.
    assert!(ranking.origin_unresolved.is_empty());
}

#[test]
fn a_coarse_sample_stamped_just_before_the_incident_start_is_not_baseline() {
    // Sampled every 5 minutes, each sample stamped at its period's start (as
    // CloudWatch does): search slows x15 at minute 8, so its sample stamped at minute
    // 5 already holds the delay; the alert fires at minute 10 (the incident part from
    // minute 8). batch, a service that merely doubles at minute 10, is not the cause.
    let latency = metric(
        "latency_p99_seconds",
        vec![
            ("search", five_minute_series(0.03, 1, 5, 15.0)),
            ("batch", five_minute_series(0.2, 2, 10, 2.0)),
            ("cart", five_minute_series(0.05, 3, 99, 1.0)),
        ],
    );
    let mut obs = observations(vec![latency]);
    obs.onset_hint = Some(START + 600.0);
    let ranking = rank(&obs);
    assert_eq!(ranking.candidates[0].service, "search", "{ranking:#?}");
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

#[test]
fn a_failing_leaf_ranks_above_its_slow_callers() {
    let ranking = rank(&leaf_failure());
    let names: Vec<&str> = ranking
        .candidates
        .iter()
        .map(|c| c.service.as_str())
        .collect();
    assert_eq!(names[0], "payment", "{names:?}");
    let checkout = ranking
        .candidates
        .iter()
        .find(|c| c.service == "checkout")
        .unwrap();
    assert_eq!(checkout.explained_by.as_deref(), Some("payment"));
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

#[test]
fn the_report_shows_evidence_with_queries() {
    let input = input();
    let mut obs = leaf_failure();
    obs.log_selector = Some("{app=\"<service>\"}".into());
    let r = report(&input, &obs);
    let top = &r.ranked_root_causes[0];
    assert_eq!(top.service, "payment");
    assert_eq!(top.rank, 1);
    assert!(top.key_logs.iter().any(|l| l.contains("card processor")));
    // The error lines' query: the selector that fetched the logs, plus the filter.
    let errors = format!("{{app=\"payment\"}} {}", super::observations::ERROR_FILTER);
    assert!(
        top.evidence
            .iter()
            .any(|e| e.source == "loki" && e.query == errors),
        "{:?}",
        top.evidence
    );
    let total: f64 = r.ranked_root_causes.iter().map(|c| c.probability).sum();
    assert!(total <= 1.0 + 1e-9);
    assert_eq!(r.model, "statistical");
}

#[test]
fn nothing_wrong_leaves_the_mass_on_unknown() {
    let cpu = metric(
        "cpu_seconds_rate",
        SERVICES
            .iter()
            .enumerate()
            .map(|(i, s)| (*s, series(0.2, i, 99, 1.0)))
            .collect(),
    );
    let latency = metric(
        "latency_p90_seconds",
        SERVICES
            .iter()
            .enumerate()
            .map(|(i, s)| (*s, series(0.05, i + 10, 99, 1.0)))
            .collect(),
    );
    let ranking = rank(&observations(vec![cpu, latency]));
    assert!(ranking.unknown > 0.5, "{ranking:?}");
    for c in &ranking.candidates {
        assert!(c.probability < 0.2, "{} at {}", c.service, c.probability);
    }
}

/// A tiny dataset on disk: CPU counters of three services, `b` five times busier from
/// minute 10; no logs, no traces.
fn write_dataset(dir: &std::path::Path) {
    use std::io::Write;
    let mut om = String::from("# TYPE container_cpu_usage_seconds counter\n");
    for (i, service) in ["a", "b", "c"].iter().enumerate() {
        let mut total = 0.0;
        for m in 0..=20 {
            let rate = 0.1 * (1.0 + 0.05 * jitter(i * 100 + m));
            let rate = if *service == "b" && m >= 15 {
                rate * 5.0
            } else {
                rate
            };
            total += rate * 60.0;
            om.push_str(&format!(
                "container_cpu_usage_seconds_total{{service=\"{service}\"}} {total} {}\n",
                START as i64 + 60 * m as i64
            ));
        }
    }
    om.push_str("# EOF\n");
    let file = std::fs::File::create(dir.join("metrics.om.gz")).unwrap();
    let mut gz = flate2::write::GzEncoder::new(file, flate2::Compression::fast());
    gz.write_all(om.as_bytes()).unwrap();
    gz.finish().unwrap();
    let start = chrono::DateTime::from_timestamp(START as i64, 0).unwrap();
    let end = chrono::DateTime::from_timestamp(START as i64 + 1200, 0).unwrap();
    std::fs::write(
        dir.join("dataset.json"),
        serde_json::json!({
            "id": "synthetic", "system": "s", "namespace": "s",
            "start": start, "end": end, "services": ["a", "b", "c"],
            "signals": {"cpu_seconds_rate": "sum by (service) (rate(container_cpu_usage_seconds_total[2m]))"}
        })
        .to_string(),
    )
    .unwrap();
    std::fs::write(dir.join("cases.jsonl"), "").unwrap();
}

#[tokio::test]
async fn a_source_down_still_ranks_and_is_listed_as_degraded() {
    let dir = tempfile::tempdir().unwrap();
    write_dataset(dir.path());
    let server = aegis_replay::Server::load_and_start(dir.path())
        .await
        .unwrap();
    // Loki at a port nothing listens on; Jaeger not configured at all.
    let closed = std::net::TcpListener::bind(("127.0.0.1", 0)).unwrap();
    let down = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let env = aegis_core::config::Env::new(&|_| None);
    let mut config = aegis_tools::Config::from_env(&env).unwrap();
    config.prometheus = Some(aegis_tools::Backend {
        url: server.base_url.parse().unwrap(),
        auth: None,
    });
    config.loki = Some(aegis_tools::Backend {
        url: down.parse().unwrap(),
        auth: None,
    });
    let tools = aegis_tools::Clients::new(&config).unwrap();
    let input = Input::new(
        TimeRange {
            start: chrono::DateTime::from_timestamp(START as i64 + 300, 0).unwrap(),
            end: chrono::DateTime::from_timestamp(START as i64 + 1200, 0).unwrap(),
        },
        SignalCatalog::from_map([(
            "cpu_seconds_rate",
            "sum by (service) (rate(container_cpu_usage_seconds_total[2m]))",
        )]),
    );
    let report = Engine::default().analyze(&input, &tools).await;
    assert_eq!(report.ranked_root_causes[0].service, "b", "{report:#?}");
    assert!(
        report
            .degraded
            .iter()
            .any(|d| d.starts_with("Loki is unreachable")),
        "{:?}",
        report.degraded
    );
    assert!(
        report
            .degraded
            .iter()
            .any(|d| d.starts_with("Jaeger is not configured")),
        "{:?}",
        report.degraded
    );
    assert!(report.summary.contains("Ranked without"));
}

/// frontend calls cart and ad every 15 s; from minute 10 the network to cart adds
/// 200 ms each way. cart's own spans do not change, frontend's grow.
fn network_delay_on_cart() -> Observations {
    let mut obs = observations(Vec::new());
    for i in 0..MINUTES * 4 {
        let t = START + 15.0 * i as f64;
        let delay = if t >= START + 600.0 { 0.2 } else { 0.001 };
        let id = format!("t{i}");
        let us = |name: &str, ms: f64| ms * 1000.0 * (1.0 + 0.05 * jitter(i + name.len()));
        let cart_ms = 10.0;
        let frontend_ms = 2.0 * delay * 1000.0 + cart_ms + 2.0 + 15.0;
        // The caller's span is exactly as long as its calls and the wire need.
        obs.spans
            .push(span(&id, "a", None, "frontend", t, frontend_ms * 1000.0));
        obs.spans.push(span(
            &id,
            "cart",
            Some("a"),
            "cart",
            t + delay,
            us("cart", cart_ms),
        ));
        let ad_start = t + 2.0 * delay + cart_ms / 1000.0 + 0.001;
        obs.spans
            .push(span(&id, "ad", Some("a"), "ad", ad_start, us("ad", 12.0)));
    }
    obs
}

#[test]
fn a_network_delay_is_pinned_on_the_service_behind_it() {
    let ranking = rank(&network_delay_on_cart());
    let top = &ranking.candidates[0];
    assert_eq!(top.service, "cart", "{ranking:#?}");
    let network = top.change.traces.as_ref().map(|t| t.network).unwrap();
    assert!(network > 1.0, "cart's network rise is {network}");
    let ad = ranking
        .candidates
        .iter()
        .find(|c| c.service == "ad")
        .unwrap();
    let ad_network = ad.change.traces.as_ref().unwrap().network;
    assert!(ad_network < 0.3, "ad's network rise is {ad_network}");
}

#[test]
fn a_caller_waiting_on_the_wire_in_front_of_its_callee_is_its_echo() {
    // frontend's latency metric rises with the wire to cart (x10 from minute 10),
    // cart's own does not: the wait is the network's in front of cart.
    let mut obs = network_delay_on_cart();
    obs.metrics.push(metric(
        "latency_p90_seconds",
        vec![
            ("frontend", series(0.03, 1, 10, 10.0)),
            ("cart", series(0.01, 2, 99, 1.0)),
        ],
    ));
    let ranking = rank(&obs);
    let frontend = ranking
        .candidates
        .iter()
        .find(|c| c.service == "frontend")
        .unwrap();
    assert_eq!(frontend.change.latency_echo.as_deref(), Some("cart"));
    assert_eq!(ranking.candidates[0].service, "cart");
    // Without the network delay as evidence, nothing explains frontend's latency.
    let blind = super::rank_with(&obs, &without(|s| s.network_delay = false));
    let frontend = blind
        .candidates
        .iter()
        .find(|c| c.service == "frontend")
        .unwrap();
    assert_eq!(frontend.change.latency_echo, None);
}

/// frontend calls cart, which calls db (its one callee), every 15 s; from minute 10
/// packets leaving cart are 200 ms late: its answers reach frontend late and its
/// calls reach db late, while nobody's own work takes longer.
fn delay_leaving_cart() -> Observations {
    let mut obs = observations(Vec::new());
    for i in 0..MINUTES * 4 {
        let t = START + 15.0 * i as f64;
        let late = if t >= START + 600.0 { 0.2 } else { 0.0 };
        let id = format!("t{i}");
        let between = |n: &str, parent: Option<&str>, service: &str, start: f64, end: f64| {
            span(&id, n, parent, service, start, (end - start) * 1e6)
        };
        let db_ms = 0.005 * (1.0 + 0.05 * jitter(i));
        let cart_start = t + 0.001;
        let db_start = cart_start + 0.002 + late;
        let cart_end = db_start + db_ms + 0.001 + 0.002;
        obs.spans
            .push(between("a", None, "frontend", t, cart_end + late + 0.001));
        obs.spans
            .push(between("b", Some("a"), "cart", cart_start, cart_end));
        obs.spans
            .push(between("c", Some("b"), "db", db_start, db_start + db_ms));
    }
    obs
}

#[test]
fn a_delay_on_a_service_s_own_packets_is_not_its_one_callee_s() {
    let obs = delay_leaving_cart();
    let spans = spans_from_minute_10(&obs);
    let network = |service: &str| spans[service].network;
    // Calls to db spend 200 ms more outside db's spans, but cart's answers are as
    // late: the delay is cart's, and db's share of it is none.
    assert!(network("cart") > 2.0, "{}", network("cart"));
    assert!(network("db") < 0.3, "{}", network("db"));
    assert_eq!(rank(&obs).candidates[0].service, "cart");
}

/// `orders` changes code path at minute 10 as in [`changed_code_path`]; `batchy`
/// runs a job 4 minutes in every 20 (its lines become "batch step" lines), over an
/// hour of history minute by minute and in the incident part too. Per minute, the
/// batch lines are usually absent (16 minutes in 20), so the incident part's mix looks
/// as drifted as `orders`'s, or more.
fn a_periodic_job_beside_a_changed_code_path() -> Observations {
    let mut obs = observations(Vec::new());
    for m in -60..MINUTES as i64 {
        let t0 = START + 60.0 * m as f64;
        let batch = (10..14).contains(&m.rem_euclid(20));
        for k in 0..20 {
            let t = t0 + 3.0 * k as f64;
            let order = if k % 2 == 0 {
                format!("INFO order {k} received")
            } else if t >= START + 600.0 {
                format!("INFO order {k} skipped: price unchanged")
            } else {
                format!("INFO order {k} saved")
            };
            let job = if batch {
                "INFO batch step done"
            } else {
                "INFO idle"
            };
            for (service, line) in [("orders", order), ("batchy", job.to_string())] {
                obs.logs.push(LogLine {
                    service: service.into(),
                    time: t,
                    line,
                });
            }
        }
    }
    obs
}

#[test]
fn a_log_mix_that_drifts_as_far_in_ordinary_windows_is_a_chronic_suspect() {
    let obs = a_periodic_job_beside_a_changed_code_path();
    let drift = |ranking: &super::Ranking, service: &str| {
        ranking
            .candidates
            .iter()
            .find(|c| c.service == service)
            .and_then(|c| c.change.drift.clone())
            .unwrap()
    };
    // Without the null, the job's lines drift as far as the changed code path's.
    let unweighed = super::rank_with(&obs, &without(|s| s.chronic_logs = false));
    assert!(
        drift(&unweighed, "batchy").score() >= drift(&unweighed, "orders").score(),
        "{unweighed:#?}"
    );
    // With it, the job drifted as far in about one window of five: a chronic suspect.
    let ranking = rank(&obs);
    assert_eq!(ranking.candidates[0].service, "orders", "{ranking:#?}");
    let batchy = drift(&ranking, "batchy");
    assert!(batchy.ordinary.is_some_and(|s| s > 0.1), "{batchy:?}");
    assert_eq!(drift(&ranking, "orders").ordinary, Some(0.0));
    assert!(batchy.score() < drift(&unweighed, "batchy").score());
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

#[test]
fn a_changed_log_mix_against_the_history_ranks_its_service_first() {
    let ranking = rank(&changed_code_path());
    let top = &ranking.candidates[0];
    assert_eq!(top.service, "orders", "{ranking:#?}");
    let drift = top.change.drift.as_ref().unwrap();
    assert!(drift.drift > 1.0, "{drift:?}");
    assert!(drift.minutes >= 12, "{drift:?}");
    let noisy = ranking.candidates.iter().find(|c| c.service == "noisy");
    let noisy_drift = noisy
        .and_then(|c| c.change.drift.as_ref())
        .map_or(0.0, |d| d.drift);
    assert!(noisy_drift < 0.3, "noisy drifted {noisy_drift}");
}

#[test]
fn an_alert_start_moves_the_incident_part_to_just_before_it() {
    let mut obs = leaf_failure();
    assert_eq!(
        rank(&obs).incident_start,
        START + 600.0,
        "last third by default"
    );
    obs.onset_hint = Some(START + 540.0);
    assert_eq!(
        rank(&obs).incident_start,
        START + 420.0,
        "two minutes before it"
    );
    // Never inside the baseline, never in the last minute.
    obs.onset_hint = Some(START + 60.0);
    assert_eq!(rank(&obs).incident_start, START + 300.0);
    obs.onset_hint = Some(START + 5000.0);
    assert_eq!(rank(&obs).incident_start, START + 840.0);
}

#[test]
fn telemetry_that_ends_early_moves_the_incident_part_into_it() {
    let mut obs = leaf_failure();
    // The logs and spans stop after minute 8 (a collector that went away); metrics
    // would still repeat their last samples.
    obs.spans.retain(|s| s.start < START + 480.0);
    obs.logs.retain(|l| l.time < START + 480.0);
    let last = START + 465.0;
    assert_eq!(
        rank(&obs).incident_start,
        last - (last - START) / 3.0,
        "the last third of the part that has telemetry"
    );
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

#[test]
fn a_service_reporting_another_as_unavailable_is_its_victim() {
    let gateway = |ranking: &super::rank::Ranking| {
        ranking
            .candidates
            .iter()
            .find(|c| c.service == "gateway")
            .cloned()
            .unwrap()
    };
    // Unnamed errors: the gateway's own change counts fully.
    let anonymous = rank(&code_path_and_gateway_errors(|k| {
        format!("ERROR request {k} failed: upstream unavailable")
    }));
    let alone = gateway(&anonymous);
    assert_eq!(alone.explained_by, None, "{alone:#?}");

    // The same errors naming the service they could not reach: its log evidence
    // is the named service's, not its own, and the service whose own code path
    // changed leads.
    let named = rank(&code_path_and_gateway_errors(|k| {
        format!("ERROR request {k} failed: No instances available for payments")
    }));
    assert_eq!(named.candidates[0].service, "orders", "{named:#?}");
    let gateway = gateway(&named);
    assert!(
        gateway.score < alone.score - 1.0,
        "{} then {}",
        alone.score,
        gateway.score
    );
    assert_eq!(gateway.explained_by.as_deref(), Some("payments"));
    let blame = gateway.change.logs.as_ref().unwrap().blame.clone();
    assert_eq!(blame.map(|b| b.share), Some(1.0));
}

#[test]
fn the_report_cites_a_changed_log_mix_and_errors_naming_a_callee_with_their_queries() {
    let input = input();
    let mut obs = code_path_and_gateway_errors(|k| {
        format!("ERROR request {k} failed: No instances available for payments")
    });
    obs.log_selector = Some("{app=\"<service>\"}".into());
    let r = report(&input, &obs);
    let orders = &r.ranked_root_causes[0];
    assert_eq!(orders.service, "orders");
    let drift = orders
        .evidence
        .iter()
        .find(|e| e.summary.contains("usually"))
        .expect("the log mix evidence");
    assert_eq!(
        drift.query, "{app=\"orders\"}",
        "every line, not only errors"
    );
    // The line that gave way or the one that took its place.
    assert!(
        ["\"INFO order * saved\"", "\"INFO order * skipped"]
            .iter()
            .any(|t| drift.summary.contains(t)),
        "{}",
        drift.summary
    );
    // How many lines the incident part held, so a reader can weigh the shares.
    let ranked = rank(&obs);
    let lines = ranked.candidates[0]
        .change
        .drift
        .as_ref()
        .unwrap()
        .incident_lines;
    assert!(lines > 0);
    assert!(
        drift
            .summary
            .contains(&format!("of its {lines} lines in the incident part")),
        "{}",
        drift.summary
    );
    // The victim's errors, all naming payments, are cited on payments with a query
    // for them, and the victim is no candidate of its own.
    let payments = r
        .ranked_root_causes
        .iter()
        .find(|c| c.service == "payments")
        .expect("the service the errors name");
    let named = &payments.evidence[0];
    assert!(named.summary.contains("gateway"), "{}", named.summary);
    assert!(
        named.query.starts_with("{app=~\"gateway\"} |~"),
        "{}",
        named.query
    );
    assert!(
        r.ranked_root_causes.iter().all(|c| c.service != "gateway"),
        "{:#?}",
        r.ranked_root_causes
    );
}

#[test]
fn a_victim_whose_errors_half_name_a_callee_keeps_half_and_says_so() {
    // Half of the gateway's new errors name payments, half name nothing.
    let obs = code_path_and_gateway_errors(|k| {
        if k % 4 == 1 {
            format!("ERROR request {k} failed: No instances available for payments")
        } else {
            format!("ERROR request {k} failed: upstream unavailable")
        }
    });
    let ranked = rank(&obs);
    let gateway = ranked
        .candidates
        .iter()
        .find(|c| c.service == "gateway")
        .unwrap();
    let blame = gateway.change.logs.as_ref().unwrap().blame.clone().unwrap();
    assert!((blame.share - 0.5).abs() < 0.01, "{blame:?}");
    assert_eq!(gateway.explained_by.as_deref(), Some("payments"));
    let r = report(&input(), &obs);
    let gateway = r
        .ranked_root_causes
        .iter()
        .find(|c| c.service == "gateway")
        .expect("half its errors are its own");
    assert!(
        gateway.description.contains("Its new errors name payments"),
        "{}",
        gateway.description
    );
}

#[test]
fn the_minute_before_the_incident_part_is_not_baseline_for_the_logs() {
    // A service logs "ok" every 10 s; its errors begin 30 s before the incident part
    // (minute 10) that the last third of the range gives.
    let mut obs = observations(Vec::new());
    for i in 0..MINUTES * 6 {
        let t = START + 10.0 * i as f64;
        let line = if t >= START + 570.0 {
            format!("ERROR request {i} failed: store unreachable")
        } else {
            format!("INFO request {i} ok")
        };
        obs.logs.push(LogLine {
            service: "orders".into(),
            time: t,
            line,
        });
    }
    let ranking = rank(&obs);
    assert_eq!(ranking.incident_start, START + 600.0);
    let logs = ranking.candidates[0].change.logs.as_ref().unwrap();
    assert_eq!(logs.baseline_errors, 0, "{logs:?}");
    assert_eq!(logs.new_templates, 1, "{logs:?}");
    assert_eq!(logs.incident_errors, 30, "{logs:?}");
}

#[test]
fn a_baseline_that_is_mostly_the_minute_before_keeps_that_minute() {
    // The source kept only the minutes around the incident: the baseline part has
    // one line before the minute before the incident part, and six in it.
    let mut obs = observations(Vec::new());
    for i in [100].into_iter().chain(114..MINUTES * 12) {
        let t = START + 5.0 * i as f64;
        let line = if t >= START + 600.0 && i % 2 == 0 {
            format!("ERROR request {i} failed: store unreachable")
        } else {
            format!("INFO request {i} ok")
        };
        obs.logs.push(LogLine {
            service: "orders".into(),
            time: t,
            line,
        });
    }
    let ranking = rank(&obs);
    assert_eq!(ranking.incident_start, START + 600.0);
    let logs = ranking.candidates[0].change.logs.as_ref().unwrap();
    assert!(
        logs.mix_shift > 0.5,
        "the mix is compared with that minute: {logs:?}"
    );
}

/// frontend calls cart, ad and shipping one after another every 15 s; from minute 10
/// frontend is starved of CPU: it takes 30 ms longer to send and to read each call,
/// while the callees' own spans do not change.
/// The frontend calls `callees` one after another; from minute 10 it takes 30 ms
/// longer (1 ms before) after each call to one of `slowed` returns, and before it is
/// made too when `before`.
fn frontend_slow_around(callees: &[&str], slowed: &[&str], before: bool) -> Observations {
    let mut obs = observations(Vec::new());
    for i in 0..MINUTES * 4 {
        let t = START + 15.0 * i as f64;
        let id = format!("t{i}");
        let mut at = t;
        for (k, callee) in callees.iter().enumerate() {
            let slow = if t >= START + 600.0 && slowed.contains(callee) {
                0.030
            } else {
                0.001
            };
            let start = at + if before { slow } else { 0.001 };
            let ms = 10.0 * (1.0 + 0.05 * jitter(i * 3 + k));
            obs.spans.push(Span {
                trace_id: id.clone(),
                span_id: callee.to_string(),
                parent_span_id: Some("root".into()),
                service: callee.to_string(),
                operation: "call".into(),
                start,
                duration_us: ms * 1000.0,
                error: Some(false),
            });
            at = start + ms / 1000.0 + slow;
        }
        obs.spans.push(Span {
            trace_id: id.clone(),
            span_id: "root".into(),
            parent_span_id: None,
            service: "frontend".into(),
            operation: "request".into(),
            start: t,
            duration_us: (at - t) * 1e6,
            error: Some(false),
        });
    }
    obs
}

fn busy_frontend() -> Observations {
    let callees = ["cart", "ad", "shipping"];
    frontend_slow_around(&callees, &callees, true)
}

#[test]
fn a_caller_slow_to_make_every_call_is_pinned_on_itself() {
    let ranking = rank(&busy_frontend());
    let top = &ranking.candidates[0];
    assert_eq!(top.service, "frontend", "{ranking:#?}");
    let busy = top.change.traces.as_ref().unwrap().busy;
    assert!(busy > 1.0, "frontend's busy rise is {busy}");
    let r = report(&input(), &busy_frontend());
    let frontend = &r.ranked_root_causes[0];
    assert!(
        frontend
            .description
            .contains("(busy: slow to send and read)"),
        "{}",
        frontend.description
    );
    for c in ranking.candidates.iter().skip(1) {
        let network = c.change.traces.as_ref().map_or(0.0, |t| t.network);
        assert!(network < 0.3, "{}'s network rise is {network}", c.service);
    }
}

#[test]
fn a_caller_slow_around_two_of_its_calls_is_pinned_on_itself() {
    // A starved frontend is slow around the calls its own work follows (currency and
    // checkout), not around every call; a network delay is on one callee, so two
    // callees slowed alike point at the caller.
    let callees = ["cart", "ad", "shipping", "currency", "checkout"];
    let obs = frontend_slow_around(&callees, &["currency", "checkout"], false);
    let ranking = rank(&obs);
    let top = &ranking.candidates[0];
    assert_eq!(top.service, "frontend", "{ranking:#?}");
    let busy = top.change.traces.as_ref().unwrap().busy;
    assert!(busy > 1.0, "frontend's busy rise is {busy}");
    // Nor is either callee's wire slower: the time around each rose about x20
    // (log ratio about 3), and the other's rose nearly as much.
    let spans = spans_from_minute_10(&obs);
    for callee in ["currency", "checkout"] {
        let network = spans[callee].network;
        assert!(network < 1.0, "{callee}'s network rise is {network}");
    }
    // One callee slowed alone is that callee's network, not a busy caller.
    let obs = frontend_slow_around(&callees, &["currency"], false);
    let ranking = rank(&obs);
    assert_eq!(ranking.candidates[0].service, "currency", "{ranking:#?}");
    let frontend = ranking.candidates.iter().find(|c| c.service == "frontend");
    let busy = frontend
        .and_then(|c| c.change.traces.as_ref())
        .map_or(0.0, |t| t.busy);
    assert!(busy < 0.3, "frontend's busy rise is {busy}");
}

#[test]
fn fewer_cheap_calls_do_not_make_a_service_look_slower() {
    // `catalog` answers a cheap and a costly operation; from minute 10 it gets a third
    // of the cheap calls and as many costly ones, each exactly as fast as before.
    let mut obs = observations(Vec::new());
    for i in 0..MINUTES * 12 {
        let t = START + 5.0 * i as f64;
        let incident = t >= START + 600.0;
        let (operation, ms) = if i % 2 == 0 {
            ("ListProducts", 40.0)
        } else if !incident || i % 6 == 1 {
            ("GetProduct", 1.0)
        } else {
            continue;
        };
        obs.spans.push(Span {
            trace_id: format!("t{i}"),
            span_id: "s".into(),
            parent_span_id: None,
            service: "catalog".into(),
            operation: operation.into(),
            start: t,
            duration_us: ms * 1000.0 * (1.0 + 0.05 * jitter(i)),
            error: Some(false),
        });
    }
    let ranking = rank(&obs);
    let traces = ranking.candidates[0].change.traces.clone().unwrap();
    assert!(
        traces.duration.abs() < 0.1 && traces.self_time.abs() < 0.1,
        "{traces:?}"
    );
    // The pooled medians, shown as evidence, did move.
    assert!(traces.median_ms.1 > 2.0 * traces.median_ms.0, "{traces:?}");
}

/// Ten minutes of a service's spans, one every 5 seconds, then `slow` spans ten
/// times as long after minute 10 (a burst of traces, as Train Ticket's come).
fn a_burst_of_slow_spans(slow: usize) -> Observations {
    let mut obs = observations(Vec::new());
    let ms = |i: usize, base: f64| base * 1000.0 * (1.0 + 0.05 * jitter(i));
    for i in 0..120 {
        let t = START + 5.0 * i as f64;
        obs.spans
            .push(span(&format!("b{i}"), "s", None, "search", t, ms(i, 10.0)));
    }
    for i in 0..slow {
        let t = START + 600.0 + 10.0 * i as f64;
        obs.spans
            .push(span(&format!("i{i}"), "s", None, "search", t, ms(i, 100.0)));
    }
    obs
}

#[test]
fn five_slow_spans_after_the_start_are_chance_and_twenty_a_slowdown() {
    let five = spans_from_minute_10(&a_burst_of_slow_spans(5))["search"].clone();
    let twenty = spans_from_minute_10(&a_burst_of_slow_spans(20))["search"].clone();
    // Both medians rose ten times over ...
    assert!(
        five.duration > 2.0 && twenty.duration > 2.0,
        "{five:?} {twenty:?}"
    );
    // ... but five spans moving alike have a chance of 1 in 32: no evidence.
    assert_eq!(five.count_weight, 0.0);
    assert_eq!(five.own_score(), 0.0);
    assert_eq!(twenty.count_weight, 1.0);
    assert!(twenty.own_score() > 2.0, "{twenty:?}");
}

/// `front` calls `orders`, whose request span (`GET /order`) holds five inner spans
/// of its own (a controller, a repository, three queries) of 1 ms each. From
/// minute 10, with `slowed`, each request takes 200 ms longer outside them (a slow
/// handler, a lock): the inner spans do not move.
fn a_slow_handler_among_inner_spans(slowed: bool) -> Observations {
    let mut obs = observations(Vec::new());
    let inner = [
        "Controller.get",
        "Repository.find",
        "SELECT a",
        "SELECT b",
        "SELECT c",
    ];
    for i in 0..MINUTES * 12 {
        let t = START + 5.0 * i as f64;
        let extra = if slowed && t >= START + 600.0 {
            200.0
        } else {
            0.0
        };
        let trace = format!("t{i}");
        let ms = |base: f64, k: usize| base * 1000.0 * (1.0 + 0.05 * jitter(i * 7 + k));
        let span = |id: &str, parent: Option<&str>, service: &str, operation: &str, us: f64| Span {
            operation: operation.into(),
            ..span(&trace, id, parent, service, t, us)
        };
        obs.spans.push(span(
            "f",
            None,
            "front",
            "GET /",
            ms(12.0, 0) + extra * 1000.0,
        ));
        obs.spans.push(span(
            "o",
            Some("f"),
            "orders",
            "GET /order",
            ms(10.0, 1) + extra * 1000.0,
        ));
        for (k, operation) in inner.iter().enumerate() {
            obs.spans.push(span(
                &format!("i{k}"),
                Some("o"),
                "orders",
                operation,
                ms(1.0, k + 2),
            ));
        }
    }
    obs
}

#[test]
fn a_request_slowed_outside_a_service_s_inner_spans_shows_as_its_latency() {
    let ranking = rank(&a_slow_handler_among_inner_spans(true));
    let traces = |service: &str| {
        ranking
            .candidates
            .iter()
            .find(|c| c.service == service)
            .and_then(|c| c.change.traces.clone())
            .unwrap_or_else(|| panic!("{service} has no span change"))
    };
    // Its requests take x20 as long; over all six of its operations the median
    // would not move, as five did not.
    let orders = traces("orders");
    assert!(orders.duration > 2.0, "{orders:?}");
    assert_eq!(ranking.candidates[0].service, "orders");
    // Its caller waits as long, and that is its callee's latency, not its own.
    assert!(traces("front").duration > 1.0);
    let front = ranking
        .candidates
        .iter()
        .find(|c| c.service == "front")
        .unwrap();
    assert_eq!(front.explained_by.as_deref(), Some("orders"));

    let calm = spans_from_minute_10(&a_slow_handler_among_inner_spans(false));
    assert!(calm["orders"].duration.abs() < 0.2, "{:?}", calm["orders"]);
}

/// `orders` answers `List` (which calls `db` once) and `Get` (which calls `db` and then
/// `stock`); from minute 10 it gets a third of the `List` requests and as many `Get`
/// ones. With `stops`, `Get` stops calling `stock` from minute 10 (it returns half way).
fn orders_calls(stops: bool) -> Observations {
    let mut obs = observations(Vec::new());
    let span =
        |trace: &str, id: &str, parent: Option<&str>, service: &str, operation: &str, t: f64| {
            Span {
                trace_id: trace.into(),
                span_id: id.into(),
                parent_span_id: parent.map(str::to_string),
                service: service.into(),
                operation: operation.into(),
                start: t,
                duration_us: 5_000.0,
                error: Some(false),
            }
        };
    for i in 0..MINUTES * 12 {
        let t = START + 5.0 * i as f64;
        let incident = t >= START + 600.0;
        let operation = if i % 2 == 0 {
            "Get"
        } else if !incident || i % 6 == 1 {
            "List"
        } else {
            continue;
        };
        let trace = format!("t{i}");
        obs.spans
            .push(span(&trace, "o", None, "orders", operation, t));
        obs.spans
            .push(span(&trace, "d", Some("o"), "db", "query", t + 0.001));
        if operation == "Get" && !(stops && incident) {
            obs.spans
                .push(span(&trace, "s", Some("o"), "stock", "check", t + 0.002));
        }
    }
    obs
}

#[test]
fn a_changed_mix_of_operations_is_not_a_changed_call_mix_and_a_call_stopped_is() {
    // Per call received, `orders` calls `stock` half again as often once `List` is
    // rarer; per `Get`, exactly as often.
    let calls = |obs: &Observations| {
        rank(obs)
            .candidates
            .iter()
            .find(|c| c.service == "orders")
            .and_then(|c| c.change.traces.clone())
            .map(|t| t.call_mix)
            .unwrap()
    };
    let mix = calls(&orders_calls(false));
    assert!(mix < 0.05, "call mix {mix}");
    // `Get` that stops calling `stock` is a changed call mix.
    let stopped = calls(&orders_calls(true));
    assert!(stopped > 2.0, "call mix {stopped}");
}

/// `lines(minute)` for each minute of the range, spread over the minute, as
/// `service`'s logs.
fn log_lines(service: &str, lines: impl Fn(usize) -> Vec<String>) -> Vec<LogLine> {
    minutes_of_logs(service, START, MINUTES, lines)
}

/// `minutes` minutes of `service`'s logs in the hour before the range, ending where
/// the range begins: minute `k` of them as `lines(k % 10)` writes a minute of the
/// range's baseline.
fn log_history(
    service: &str,
    minutes: usize,
    lines: impl Fn(usize) -> Vec<String>,
) -> Vec<LogLine> {
    minutes_of_logs(service, START - 60.0 * minutes as f64, minutes, |k| {
        lines(k % 10)
    })
}

/// `lines(k)` for each of `minutes` minutes from `from`, spread over the minute.
fn minutes_of_logs(
    service: &str,
    from: f64,
    minutes: usize,
    lines: impl Fn(usize) -> Vec<String>,
) -> Vec<LogLine> {
    (0..minutes)
        .flat_map(|m| {
            let lines = lines(m);
            let step = 60.0 / lines.len().max(1) as f64;
            lines.into_iter().enumerate().map(move |(i, line)| LogLine {
                service: service.into(),
                time: from + 60.0 * m as f64 + step * i as f64,
                line,
            })
        })
        .collect()
}

#[test]
fn warnings_that_rise_with_the_traffic_are_not_a_surge() {
    // search writes one warning in ten lines and four times the lines from minute 10
    // (more requests, same share); orders, at the same volume, starts failing.
    let mut obs = observations(Vec::new());
    obs.logs.extend(log_lines("search", |m| {
        let n = if m >= 10 { 40 } else { 10 };
        (0..n)
            .map(|i| match i % 10 {
                0 => format!("WARN seat {i} left ticket info is empty"),
                _ => format!("INFO query {i} answered"),
            })
            .collect()
    }));
    obs.logs.extend(log_lines("orders", |m| {
        (0..10)
            .map(|i| match i {
                0 | 1 if m >= 10 => format!("ERROR order {i} failed: store unreachable"),
                _ => format!("INFO order {i} placed"),
            })
            .collect()
    }));
    obs.logs.sort_by(|a, b| a.time.total_cmp(&b.time));
    let logs = logs_from_minute_10(&obs, true);
    let search = &logs["search"];
    assert!(search.surge < 0.5, "{search:?}");
    assert!(search.mix_shift < 0.1, "{search:?}");
    assert!(logs["orders"].surge > 1.0, "{:?}", logs["orders"]);
    assert_eq!(rank(&obs).candidates[0].service, "orders");
}

/// An hour of history before the range and the range itself, 40 lines a minute from
/// each of two services, `line(service, i, changed)` the `i`th of a minute: batch's
/// minutes are changed for five minutes every quarter of an hour (the incident part,
/// minutes 10-14, is one of them; the range's baseline is not), orders' in the
/// incident part only.
fn quarter_hourly(line: impl Fn(&str, usize, bool) -> String) -> Observations {
    let mut obs = observations(Vec::new());
    for m in -60..MINUTES as i64 {
        let minute = START + 60.0 * m as f64;
        for (service, changed) in [("batch", m.rem_euclid(15) >= 10), ("orders", m >= 10)] {
            obs.logs.extend((0..40).map(|i| LogLine {
                service: service.into(),
                time: minute + i as f64,
                line: line(service, i, changed),
            }));
        }
    }
    obs.logs.sort_by(|a, b| a.time.total_cmp(&b.time));
    obs
}

#[test]
fn warnings_that_rise_as_far_every_quarter_hour_are_a_chronic_suspect() {
    // Changed minutes hold 20 warnings of 40 lines.
    let obs = quarter_hourly(|service, i, changed| {
        if changed && i < 20 {
            format!("WARN {service} {i} retrying the store")
        } else {
            format!("INFO {service} {i} answered")
        }
    });
    let (plain, logs) = (
        logs_from_minute_10(&obs, false),
        logs_from_minute_10(&obs, true),
    );
    let (batch, orders) = (&logs["batch"], &logs["orders"]);
    // Against the range's quiet baseline both rose alike.
    assert!(batch.surge > 10.0, "{batch:?}");
    assert!((plain["batch"].score() - plain["orders"].score()).abs() < 0.1);
    // The 70 minutes before the split hold 14 windows of 5 minutes; 4 are bursts as
    // far, one of which is forgiven as an earlier incident.
    assert_eq!(batch.ordinary, Some(3.0 / 14.0), "{batch:?}");
    assert_eq!(orders.ordinary, Some(0.0), "{orders:?}");
    assert!(batch.score() < orders.score() - 0.3, "{batch:?} {orders:?}");
}

#[test]
fn a_log_mix_that_swings_as_far_every_quarter_hour_is_a_chronic_suspect() {
    // No warnings: in changed minutes 30 of 40 lines are cache misses instead of hits
    // (a job that empties the cache every quarter of an hour).
    let obs = quarter_hourly(|service, i, changed| {
        if changed && i < 30 {
            format!("INFO {service} {i} cache miss, read the store")
        } else {
            format!("INFO {service} {i} cache hit")
        }
    });
    let (plain, logs) = (
        logs_from_minute_10(&obs, false),
        logs_from_minute_10(&obs, true),
    );
    let (batch, orders) = (&logs["batch"], &logs["orders"]);
    assert!(batch.mix_shift > 0.5, "{batch:?}");
    assert!((plain["batch"].score() - plain["orders"].score()).abs() < 0.1);
    assert_eq!(batch.mix_ordinary, Some(3.0 / 14.0), "{batch:?}");
    assert_eq!(orders.mix_ordinary, Some(0.0), "{orders:?}");
    assert!(batch.score() < orders.score() - 0.1, "{batch:?} {orders:?}");
}

#[test]
fn a_template_naming_several_callees_credits_each_by_its_lines() {
    // The gateway's new errors are one template (cut before the callee's name): 7
    // of its 10 error lines a minute name payments, 3 name ledger, the first of
    // them ledger.
    let obs = code_path_and_gateway_errors(|k| {
        let callee = if k % 8 == 1 { "ledger" } else { "payments" };
        format!(
            "ERROR request {k} failed: java.lang.IllegalStateException thrown by the \
             load balancer of the client of the service it calls, which lists no \
             instance able to serve it: No instances available for {callee}"
        )
    });
    let templates = crate::signals::templates(&obs);
    let distinct: std::collections::BTreeSet<u32> = obs
        .logs
        .iter()
        .zip(&templates.template_of)
        .filter(|(l, _)| l.line.contains("No instances"))
        .map(|(_, t)| *t)
        .collect();
    assert_eq!(distinct.len(), 1, "one template for both callees");
    let mut obs = obs;
    obs.logs.push(LogLine {
        service: "ledger".into(),
        time: START,
        line: "INFO ledger up".into(),
    });
    let templates = crate::signals::templates(&obs);
    let mut logs = crate::signals::log_changes(&obs, &templates, START + 600.0, false);
    let mentions = crate::signals::mentions(&obs, &templates, START + 600.0, &mut logs);
    let (payments, ledger) = (&mentions["payments"], &mentions["ledger"]);
    assert!(
        (3.0 * payments.surge - 7.0 * ledger.surge).abs() < 1e-9,
        "{payments:?} {ledger:?}"
    );
    assert!(payments.example.ends_with("payments"), "{payments:?}");
    let blame = logs["gateway"].blame.clone().unwrap();
    assert_eq!((blame.service.as_str(), blame.share), ("payments", 1.0));
}

#[test]
fn errors_back_at_their_usual_rate_after_a_quiet_baseline_are_ordinary() {
    // orders writes 2 errors of 10 lines a minute all through its hour of history;
    // the range's baseline is a quiet spell without them, and the incident part is
    // back at the usual rate: a rise over the baseline, none over the history.
    let mut obs = observations(Vec::new());
    let minute = |errors: bool| {
        (0..10)
            .map(|i| match i {
                0 | 1 if errors => format!("ERROR order {i} failed: store timeout"),
                _ => format!("INFO order {i} placed"),
            })
            .collect::<Vec<_>>()
    };
    obs.logs.extend(log_history("orders", 60, |_| minute(true)));
    obs.logs.extend(log_lines("orders", |m| minute(m >= 10)));
    obs.logs.sort_by(|a, b| a.time.total_cmp(&b.time));
    let (plain, weighed) = (
        logs_from_minute_10(&obs, false),
        logs_from_minute_10(&obs, true),
    );
    let orders = &weighed["orders"];
    assert!(plain["orders"].surge > 1.0, "{:?}", plain["orders"]);
    // Every ordinary window rose as far (none at all), less the one forgiven.
    let ordinary = orders.ordinary.expect("an hour of history");
    assert!(ordinary > 0.9, "{orders:?}");
    assert!(orders.score() < 0.1 * plain["orders"].score(), "{orders:?}");
}

#[test]
fn logs_that_begin_after_the_incident_start_are_not_a_surge() {
    // The log store kept only the last minutes: both services' lines, warnings
    // included, begin at minute 11, after the split at minute 10. Nothing before
    // them says whether those warnings are new.
    let mut obs = observations(Vec::new());
    for service in ["search", "orders"] {
        obs.logs.extend(log_lines(service, |m| {
            if m < 11 {
                return Vec::new();
            }
            (0..10)
                .map(|i| match i {
                    0 | 1 => format!("WARN {service} {i} left ticket info is empty"),
                    _ => format!("INFO {service} {i} answered"),
                })
                .collect()
        }));
    }
    obs.logs.sort_by(|a, b| a.time.total_cmp(&b.time));
    let logs = logs_from_minute_10(&obs, true);
    assert!(logs.is_empty(), "{logs:?}");
}

#[test]
fn errors_a_recurring_fault_wrote_earlier_still_surge() {
    // contacts failed for three minutes early in the baseline (30 errors a minute) and
    // fails again from minute 10 (6 a minute): the baseline's mean (10 a minute) is
    // above the incident's rate, its usual minute (none) is not. orders' one error a
    // minute becomes three: a real but smaller rise.
    let mut obs = observations(Vec::new());
    obs.logs.extend(log_lines("contacts", |m| {
        let errors = match m {
            2..=4 => 30,
            10.. => 6,
            _ => 0,
        };
        (0..20)
            .map(|i| format!("INFO contacts {i} found"))
            .chain((0..errors).map(|i| format!("ERROR no contacts according to id {i}")))
            .collect()
    }));
    obs.logs.extend(log_lines("orders", |m| {
        let errors = if m >= 10 { 3 } else { 1 };
        (0..20)
            .map(|i| format!("INFO order {i} placed"))
            .chain((0..errors).map(|i| format!("ERROR order {i} failed: seat taken")))
            .collect()
    }));
    obs.logs.sort_by(|a, b| a.time.total_cmp(&b.time));
    let logs = logs_from_minute_10(&obs, true);
    let (contacts, orders) = (&logs["contacts"], &logs["orders"]);
    assert!(contacts.surge > 3.0, "{contacts:?}");
    assert!(
        contacts.surge > 2.0 * orders.surge,
        "{contacts:?} {orders:?}"
    );
}

#[test]
fn a_few_lines_of_the_same_templates_are_not_a_changed_mix() {
    // Six lines a minute drawn from the same eight templates all along: small samples
    // of the same mix differ by chance alone. From minute 10, `cart` switches to two
    // templates it never wrote before.
    const STEPS: [&str; 8] = [
        "parse", "load", "check", "price", "tax", "save", "ack", "log",
    ];
    let pick = |m: usize, i: usize| STEPS[((jitter(m * 10 + i) + 1.0) * 4.0) as usize % 8];
    let mut obs = observations(Vec::new());
    obs.logs.extend(log_lines("search", |m| {
        (0..6)
            .map(|i| format!("INFO {} done", pick(m, i)))
            .collect()
    }));
    obs.logs.extend(log_lines("cart", |m| {
        (0..6)
            .map(|i| match m {
                10.. => format!("INFO {} used", ["fallback", "cache"][i % 2]),
                _ => format!("INFO {} done", pick(m + 50, i)),
            })
            .collect()
    }));
    obs.logs.sort_by(|a, b| a.time.total_cmp(&b.time));
    let logs = logs_from_minute_10(&obs, true);
    let search = logs.get("search").map_or(0.0, |l| l.mix_shift);
    assert!(search < 0.1, "chance alone: {search}");
    assert!(logs["cart"].mix_shift > 1.0, "{:?}", logs["cart"]);
}

/// Minute `m` of a service whose requests (8 to 10 a minute) each write `first` then
/// `second`, except that from minute 10 every other one stops before `second`,
/// without an error line; among them `noise` lines whose number swings from minute
/// to minute, so that no template keeps its share. `line(id, text)` writes a line.
fn stops_half_way(
    m: usize,
    [first, second, noise]: [&str; 3],
    line: impl Fn(usize, &str) -> String,
) -> Vec<String> {
    let noisy = [2, 30, 9, 0, 22, 5, 14, 40, 1, 18, 7, 25, 3, 12, 33][m];
    let mut lines = Vec::new();
    for r in 0..8 + m % 3 {
        lines.push(line(r, first));
        if m < 10 || r % 2 == 0 {
            lines.push(line(r, second));
        }
    }
    lines.extend((0..noisy).map(|i| line(100 + i, noise)));
    lines
}

/// travel's minute `m`: "distance" and "tickets" once per query, and from minute 10
/// every other query returns before "tickets" ([`stops_half_way`]).
fn travel_queries(m: usize) -> Vec<String> {
    let texts = [
        "calculate distance",
        "rest tickets counted",
        "user logged in",
    ];
    stops_half_way(m, texts, |q, text| format!("INFO query {q} {text}"))
}

#[test]
fn a_code_path_that_stops_half_way_breaks_its_log_invariant() {
    // travel's queries stop half way from minute 10, its pair held for the 20
    // minutes of history and the range's baseline. search quadruples its traffic at
    // minute 10 with its own pair intact.
    let mut obs = observations(Vec::new());
    obs.logs.extend(log_history("travel", 20, travel_queries));
    obs.logs.extend(log_lines("travel", travel_queries));
    obs.logs.extend(log_lines("search", |m| {
        let n = if m >= 10 { 40 } else { 10 };
        (0..n)
            .flat_map(|i| {
                [
                    format!("INFO search {i} started"),
                    format!("INFO search {i} answered"),
                ]
            })
            .collect()
    }));
    obs.logs.sort_by(|a, b| a.time.total_cmp(&b.time));
    let ranking = rank(&obs);
    let top = &ranking.candidates[0];
    assert_eq!(top.service, "travel", "{ranking:#?}");
    // Its log mix hardly moved (the logins swing more than the lost lines): the
    // broken pair is what makes it a confident lead rather than "unknown".
    assert!(top.probability > 0.8, "{top:#?}");
    let broken = top.change.invariant.as_ref().expect("a broken invariant");
    assert!(broken.z > 2.0, "{broken:?}");
    assert_eq!(broken.ratio, 1.0);
    assert!(broken.less.0.contains("rest tickets"), "{broken:?}");
    let search = ranking.candidates.iter().find(|c| c.service == "search");
    let search_z = search
        .and_then(|c| c.change.invariant.as_ref())
        .map_or(0.0, |i| i.z);
    assert!(search_z < 0.5, "more traffic is no break: {search_z}");
    // The report says which ratio broke.
    let report = super::report(&input(), &obs);
    let travel = &report.ranked_root_causes[0];
    assert!(
        travel
            .key_indicators
            .iter()
            .any(|i| i.contains("broke a ratio") && i.contains("rest tickets")),
        "{:?}",
        travel.key_indicators
    );
}

#[test]
fn a_ratio_that_held_in_a_few_minutes_is_no_invariant() {
    // The same queries stopping half way, but travel's pair was written only from
    // minute 5: its ratio held in four minutes of the baseline (the minute before the
    // start is left out), as two templates of a few lines a minute may by chance.
    let invariant = |history: usize, settings: &super::Settings| {
        let mut obs = observations(Vec::new());
        obs.logs
            .extend(log_history("travel", history, travel_queries));
        obs.logs.extend(log_lines("travel", |m| {
            let queries = travel_queries(m);
            if m < 5 {
                queries
                    .into_iter()
                    .filter(|l| l.contains("logged in"))
                    .collect()
            } else {
                queries
            }
        }));
        obs.logs.sort_by(|a, b| a.time.total_cmp(&b.time));
        let ranking = super::rank_with(&obs, settings);
        ranking.candidates[0]
            .change
            .invariant
            .clone()
            .expect("a broken invariant")
    };
    let default = super::Settings::default();
    let short = invariant(0, &default);
    assert_eq!(short.minutes, 4, "{short:?}");
    assert!(short.z > 2.0, "{short:?}");
    assert_eq!(short.score(), 0.0, "{short:?}");
    // Not weighed, the same break counts as a clear one.
    let unweighed = invariant(0, &without(|s| s.invariant_minutes = false));
    assert!(unweighed.score() > 1.0, "{unweighed:?}");
    // Held for 20 more minutes of history, it is an invariant, and its break counts.
    let long = invariant(20, &default);
    assert!(long.minutes >= 14, "{long:?}");
    assert_eq!(long.count_weight, 1.0, "{long:?}");
    assert!(long.score() > 1.0, "{long:?}");
}

#[test]
fn structured_logs_keep_their_invariants() {
    // The frontend logs JSON (as Online Boutique's does), "request started" and
    // "request complete" per request, with the request's id and time in other fields
    // and the message's last word right before the next field: read as text, both
    // are "* request *". From minute 10 every other request stops before completing.
    let mut obs = observations(Vec::new());
    obs.logs.extend(log_lines("frontend", |m| {
        let texts = ["request started", "request complete", "Serving product page"];
        stops_half_way(m, texts, |id, text| {
            format!(
                r#"{{"http.req.id":"{m:04}-{id:04}-9e70","message":"TraceID: {m}{id:030} SpanID: {id:016} {text}","severity":"info","timestamp":"2022-08-22T05:{m:02}:{id:02}Z"}}"#
            )
        })
    }));
    let ranking = rank(&obs);
    let top = &ranking.candidates[0];
    assert_eq!(top.service, "frontend", "{ranking:#?}");
    let broken = top.change.invariant.as_ref().expect("a broken invariant");
    assert!(broken.z > 2.0, "{broken:?}");
    let mut pair = [broken.more.0.as_str(), broken.less.0.as_str()];
    pair.sort();
    assert_eq!(pair, ["request complete", "request started"], "{broken:?}");
}

/// Every service's latency, checkout's `checkout` times higher from minute 10, and
/// an error ratio only the frontend exports (as Online Boutique's HTTP frontend),
/// fifty times higher from minute 10.
fn errors_seen_only_at_the_frontend(checkout: f64) -> Observations {
    let latency = metric(
        "latency_p90_seconds",
        SERVICES
            .iter()
            .enumerate()
            .map(|(i, s)| {
                let factor = if *s == "checkout" { checkout } else { 1.0 };
                (*s, series(0.1, i, 10, factor))
            })
            .collect(),
    );
    let errors = metric(
        "error_ratio",
        vec![("frontend", series(0.001, 9, 10, 50.0))],
    );
    observations(vec![latency, errors])
}

#[test]
fn an_error_ratio_only_the_frontend_exports_is_shared_with_the_services_behind_it() {
    // checkout slows x3 as the frontend's errors rise: the frontend's errors could be
    // checkout's, and checkout is the one that shows a departure of its own.
    let obs = errors_seen_only_at_the_frontend(3.0);
    assert_eq!(rank(&obs).candidates[0].service, "checkout");
    let counted_in_full = super::rank_with(&obs, &without(|s| s.sole_signal_weight = 1.0));
    assert_eq!(counted_in_full.candidates[0].service, "frontend");
    // When nothing else departs, the errors are the frontend's.
    let alone = rank(&errors_seen_only_at_the_frontend(1.0));
    assert_eq!(alone.candidates[0].service, "frontend");
    assert!(alone.candidates[0].probability > 0.5, "{alone:?}");
}

#[test]
fn a_cpu_pinned_at_its_limit_outweighs_one_merely_busier() {
    let shift = |name: &str, factor: f64| super::signals::MetricShift {
        signal: signal(name),
        shift: super::stats::Shift {
            z: 10.0,
            effect: f64::ln(factor),
            onset: START,
            level: 1.0,
            peak: factor,
        },
        ordinary: None,
        own_share: 1.0,
    };
    let (pinned, busier) = (
        shift("cpu_seconds_rate", 20.0).score(),
        shift("cpu_seconds_rate", 8.0).score(),
    );
    assert!(pinned > busier + 0.5, "{pinned} vs {busier}");
    // A sparse latency series jumps x8 by itself: x20 counts no more.
    let (far, near) = (
        shift("latency_p99_seconds", 20.0).score(),
        shift("latency_p99_seconds", 8.0).score(),
    );
    assert_eq!(far, near);
}

/// frontend -> checkout -> email, one confirmation per order; from minute 11
/// checkout throws before sending it: email's traffic stops while checkout's holds,
/// and the frontend's error ratio and both callers' latency rise. No traces, no logs:
/// nothing tells the engine who calls whom.
fn checkout_stops_before_email() -> Observations {
    let orders = series(0.4, 7, 99, 1.0);
    let email = orders
        .iter()
        .enumerate()
        .map(|(m, (t, v))| (*t, if (11..15).contains(&m) { 0.0 } else { *v }))
        .collect();
    let requests = metric(
        "request_rate",
        vec![
            ("frontend", series(8.0, 1, 99, 1.0)),
            ("checkout", orders),
            ("email", email),
        ],
    );
    let errors = metric(
        "error_ratio",
        vec![(
            "frontend",
            (0..=MINUTES)
                .map(|m| (START + 60.0 * m as f64, if m >= 11 { 0.05 } else { 0.0 }))
                .collect(),
        )],
    );
    let latency = metric(
        "latency_p90_seconds",
        vec![
            ("frontend", series(0.5, 2, 11, 2.0)),
            ("checkout", series(0.4, 3, 11, 2.0)),
            ("email", series(0.005, 4, 99, 1.0)),
        ],
    );
    observations(vec![requests, errors, latency])
}

#[test]
fn a_service_whose_requests_stop_reaching_its_callee_ranks_first() {
    let ranking = rank(&checkout_stops_before_email());
    let top = &ranking.candidates[0];
    assert_eq!(top.service, "checkout", "{ranking:?}");
    let stopped = top.change.traffic.as_ref().expect("a broken traffic pair");
    assert_eq!(stopped.follower, "email");
    assert_eq!(stopped.pair.incident, (6, 4));
    // The frontend's errors are the loudest symptom, and email's fall the plainest.
    let frontend = ranking
        .candidates
        .iter()
        .position(|c| c.service == "frontend");
    assert!(frontend.is_some_and(|i| i > 0), "{ranking:?}");

    let r = report(&input(), &checkout_stops_before_email());
    let top = &r.ranked_root_causes[0];
    assert!(
        top.key_indicators
            .iter()
            .any(|i| i.starts_with("its requests stopped reaching email")),
        "{:?}",
        top.key_indicators
    );
    assert!(
        top.evidence
            .iter()
            .any(|e| e.source == "prometheus" && e.query == "sum by (service) (request_rate)"),
        "{:?}",
        top.evidence
    );
}

/// Five-minute samples as Prometheus answers a query a minute: each sample repeated
/// until the next, from minute `from` on multiplied by `factor`.
fn five_minute_series(level: f64, seed: usize, from: usize, factor: f64) -> Vec<(f64, f64)> {
    (0..=MINUTES)
        .map(|m| {
            let sample = m / 5;
            let v = level * (1.0 + 0.05 * jitter(seed * 100 + sample));
            let v = if sample * 5 >= from { v * factor } else { v };
            (START + 60.0 * m as f64, v)
        })
        .collect()
}

#[test]
fn a_caller_s_view_of_a_service_does_not_outrank_the_service() {
    // X-Ray's `_remote` node is the caller's measurement of the same calls: it shows
    // the same rise as the service itself, a little louder.
    let latency = metric(
        "latency_p99_seconds",
        vec![
            ("search", series(0.05, 1, 10, 8.0)),
            ("search.elb_remote", series(0.06, 2, 10, 9.0)),
            ("site", series(0.1, 3, 10, 1.0)),
        ],
    );
    let obs = mapped(
        vec![latency],
        &[("site", "search"), ("site", "search.elb_remote")],
    );
    assert_eq!(rank(&obs).candidates[0].service, "search");
    let plain = super::rank_with(
        &obs,
        &super::Settings {
            client_view_weight: 1.0,
            ..super::Settings::default()
        },
    );
    assert_eq!(plain.candidates[0].service, "search.elb_remote");
}

#[test]
fn a_service_s_requests_from_untraced_clients_are_its_own_evidence() {
    // X-Ray's `search_client` is the requests `search` receives from callers it
    // cannot trace, timed by `search` itself: over that part of its requests the
    // rise is clearer than over all of them, where the site's traced calls dilute
    // it; the caller's own view of `search` (`_remote`) is as loud.
    let latency = metric(
        "latency_p90_seconds",
        vec![
            ("search", series(0.05, 1, 10, 1.5)),
            ("search_client", series(0.06, 2, 10, 9.0)),
            ("search.elb_remote", series(0.06, 3, 10, 8.0)),
            ("site", series(0.1, 4, 10, 1.0)),
        ],
    );
    let obs = mapped(
        vec![latency],
        &[
            ("search_client", "search"),
            ("site", "search"),
            ("site", "search.elb_remote"),
        ],
    );
    let ranking = rank(&obs);
    let top = &ranking.candidates[0];
    assert_eq!(top.service, "search", "{ranking:#?}");
    assert_eq!(top.seen_by.as_deref(), Some("search_client"));
    let r = report(&input(), &obs);
    let first = &r.ranked_root_causes[0];
    assert!(
        first.description.contains("(search_client) departed more"),
        "{}",
        first.description
    );
    // Its evidence cites the client node's departure, with its chart.
    assert!(
        first
            .evidence
            .iter()
            .any(|e| e.summary.contains("search_client") && e.chart.is_some()),
        "{:?}",
        first.evidence
    );
    let apart = super::rank_with(&obs, &without(|s| s.client_view_merge = false));
    assert_ne!(apart.candidates[0].service, "search", "{apart:#?}");
}

#[test]
fn a_client_node_s_echo_of_a_slow_callee_is_not_its_service_s_own() {
    // `db` slows first; `search`, which waits on it, a minute later, and so do
    // the requests of `search_client`, louder: all of it is `db`'s latency
    // travelling up, and the client node's share of it is no more `search`'s own.
    let latency = metric(
        "latency_p90_seconds",
        vec![
            ("db", series(0.02, 1, 10, 6.0)),
            ("search", series(0.05, 2, 11, 3.0)),
            ("search_client", series(0.06, 3, 11, 9.0)),
        ],
    );
    let obs = mapped(
        vec![latency],
        &[("search_client", "search"), ("search", "db")],
    );
    let ranking = rank(&obs);
    assert_eq!(ranking.candidates[0].service, "db", "{ranking:#?}");
    let search = ranking
        .candidates
        .iter()
        .find(|c| c.service == "search")
        .unwrap();
    assert_eq!(search.change.latency_echo.as_deref(), Some("db"));
    assert_eq!(search.seen_by, None);
}

#[test]
fn an_aws_resource_drawn_from_its_caller_s_calls_does_not_outrank_the_caller() {
    // X-Ray draws the DynamoDB table a traced service reads as a node of its own,
    // timed by the service's SDK subsegments: a slow service (a CPU hog) slows its
    // reads as it reads them, and the table's rise, as large and begun as early,
    // is no cause of its own.
    let latency = metric(
        "latency_p99_seconds",
        vec![
            ("search_AWS::ECS::Fargate", series(0.05, 1, 10, 6.0)),
            ("petInfo_AWS::DynamoDB::Table", series(0.01, 2, 10, 8.0)),
            ("site", series(0.1, 3, 10, 1.0)),
        ],
    );
    let obs = mapped(
        vec![latency],
        &[
            ("site", "search_AWS::ECS::Fargate"),
            ("search_AWS::ECS::Fargate", "petInfo_AWS::DynamoDB::Table"),
        ],
    );
    assert_eq!(rank(&obs).candidates[0].service, "search_AWS::ECS::Fargate");
    let plain = super::rank_with(&obs, &without(|s| s.client_view_weight = 1.0));
    assert_eq!(plain.candidates[0].service, "petInfo_AWS::DynamoDB::Table");
    // What X-Ray draws from the nodes' own segments is a service of its own.
    for traced in [
        "lambda_step_readDDB_AWS::Lambda::Function",
        "PetAdoptionStatusUpdater/prod_AWS::ApiGateway::Stage",
        "AWS::StepFunctions::StateMachine",
        "payforadoption_AWS::ECS::Container",
        "ts-order-service",
    ] {
        assert!(!super::is_client_view(traced), "{traced}");
    }
    for inferred in [
        "S3_AWS::S3",
        "https://sqs.us-west-2.amazonaws.com/q_AWS::SQS::Queue",
        "adoptions@db.rds.amazonaws.com_Database::SQL",
    ] {
        assert!(super::is_client_view(inferred), "{inferred}");
    }
}

#[test]
fn errors_of_a_handful_of_requests_count_less_than_errors_of_many() {
    // Five-minute samples: "lambda" serves 3 requests a sample and one failed (33 %),
    // "search" serves 600 and 15 failed (2.5 %).
    let errors = metric(
        "error_ratio",
        vec![
            ("lambda", five_minute_series(0.001, 1, 10, 333.0)),
            ("search", five_minute_series(0.001, 2, 10, 25.0)),
        ],
    );
    let requests = metric(
        "request_rate",
        vec![
            ("lambda", five_minute_series(0.01, 3, 99, 1.0)),
            ("search", five_minute_series(2.0, 4, 99, 1.0)),
        ],
    );
    let obs = observations(vec![errors, requests]);
    assert_eq!(rank(&obs).candidates[0].service, "search");
    let uncounted = super::rank_with(
        &obs,
        &super::Settings {
            count_noise: false,
            ..super::Settings::default()
        },
    );
    assert_eq!(uncounted.candidates[0].service, "lambda");
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

/// A call chain gateway -> orders -> pricing -> rates -> db with a delay injected at
/// `rates` from minute 10: each caller up the chain slows a minute after its callee
/// (the slow requests finish later), by less as its own time adds to the delay, and
/// the gateway's clients start timing out.
fn delay_in_a_chain() -> Observations {
    let latency = metric(
        "latency_p90_seconds",
        vec![
            ("gateway", series(0.12, 1, 13, 3.0)),
            ("orders", series(0.1, 2, 12, 3.4)),
            ("pricing", series(0.08, 3, 11, 4.0)),
            ("rates", series(0.06, 4, 10, 4.6)),
            ("db", series(0.02, 5, 99, 1.0)),
        ],
    );
    let errors = metric(
        "error_ratio",
        vec![
            ("gateway", series(0.001, 6, 13, 8.0)),
            ("orders", series(0.001, 7, 99, 1.0)),
            ("pricing", series(0.001, 8, 99, 1.0)),
            ("rates", series(0.001, 9, 99, 1.0)),
            ("db", series(0.001, 10, 99, 1.0)),
        ],
    );
    mapped(
        vec![latency, errors],
        &[
            ("gateway", "orders"),
            ("orders", "pricing"),
            ("pricing", "rates"),
            ("rates", "db"),
        ],
    )
}

#[test]
fn a_delay_injected_deep_in_a_call_chain_is_pinned_where_it_originates() {
    let obs = delay_in_a_chain();
    let ranking = rank(&obs);
    assert_eq!(ranking.candidates[0].service, "rates");
    let echo = |service: &str| {
        ranking
            .candidates
            .iter()
            .find(|c| c.service == service)
            .and_then(|c| c.change.latency_echo.clone())
    };
    assert_eq!(echo("gateway").as_deref(), Some("orders"));
    assert_eq!(echo("orders").as_deref(), Some("pricing"));
    assert_eq!(echo("pricing").as_deref(), Some("rates"));
    assert_eq!(echo("rates"), None);
    // The callee discount does part of the same work; without it, counting every
    // caller's latency as its own puts a caller first.
    let undiscounted = super::rank_with(&obs, &without(|s| s.callee_discount = 0.0));
    assert_eq!(undiscounted.candidates[0].service, "rates");
    let echoes_counted = super::rank_with(
        &obs,
        &without(|s| {
            s.callee_discount = 0.0;
            s.latency_origin = false;
        }),
    );
    assert_ne!(echoes_counted.candidates[0].service, "rates");
}

/// The chain of [`delay_in_a_chain`] seen through metrics alone: no call graph, and
/// the latency of `rates` and its callers rising in the same minute (a one-minute
/// sample cannot order them).
fn delay_without_a_graph() -> Observations {
    observations(vec![metric(
        "latency_p90_seconds",
        vec![
            ("orders", series(0.1, 2, 10, 3.4)),
            ("pricing", series(0.08, 3, 10, 4.0)),
            ("rates", series(0.06, 4, 10, 4.6)),
            ("db", series(0.02, 5, 99, 1.0)),
        ],
    )])
}

#[test]
fn with_metrics_only_and_no_call_graph_origin_and_echoes_share_the_probability() {
    let obs = delay_without_a_graph();
    let ranking = rank(&obs);
    let probability = |ranking: &super::Ranking, service: &str| {
        ranking
            .candidates
            .iter()
            .find(|c| c.service == service)
            .map_or(0.0, |c| c.probability)
    };
    let mut unresolved = ranking.origin_unresolved.clone();
    unresolved.sort();
    assert_eq!(unresolved, ["orders", "pricing", "rates"]);
    let shared = probability(&ranking, "rates");
    for service in ["orders", "pricing"] {
        assert!((probability(&ranking, service) - shared).abs() < 1e-12);
    }
    assert!(shared < 0.4, "{shared}");
    let text = report(&input(), &obs).summary;
    assert!(
        text.contains("Metrics alone cannot tell where the latency began"),
        "{text}"
    );
    // Given the call graph, the callee discount tells them apart: the deepest rise
    // takes most of the probability.
    let mut chained = obs.clone();
    chained.graph = [("orders", "pricing"), ("pricing", "rates")]
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .to_vec();
    let told = rank(&chained);
    assert!(told.origin_unresolved.is_empty());
    assert_eq!(told.candidates[0].service, "rates");
    assert!(probability(&told, "rates") > 2.0 * probability(&told, "pricing"));
}

#[test]
fn a_callee_whose_latency_rose_after_its_caller_s_is_not_the_origin() {
    let mut obs = delay_in_a_chain();
    // The caller `pricing` slowed first, from minute 8; `rates` followed.
    obs.metrics[0]
        .series
        .insert("pricing".into(), series(0.08, 3, 8, 4.0));
    let ranking = rank(&obs);
    let pricing = ranking
        .candidates
        .iter()
        .find(|c| c.service == "pricing")
        .expect("pricing has evidence");
    assert_eq!(pricing.change.latency_echo, None);
}

#[test]
fn calls_slowed_at_their_callers_but_not_at_the_callee_are_a_network_delay() {
    // Calls to `cart` take 4 times longer as `frontend` measures them; `cart` itself
    // serves them as fast as ever. The frontend waits, so its own latency rises.
    let obs = mapped(
        vec![
            metric(
                "latency_p90_seconds",
                vec![
                    ("frontend", series(0.1, 1, 10, 3.0)),
                    ("cart", series(0.02, 2, 99, 1.0)),
                    ("ads", series(0.03, 3, 99, 1.0)),
                ],
            ),
            metric(
                "callers_latency_p90_seconds",
                vec![
                    ("cart", series(0.025, 4, 10, 4.0)),
                    ("ads", series(0.035, 5, 99, 1.0)),
                ],
            ),
        ],
        &[("frontend", "cart"), ("frontend", "ads")],
    );
    let ranking = rank(&obs);
    assert_eq!(ranking.candidates[0].service, "cart");
    let unseen = super::rank_with(&obs, &without(|s| s.network_delay = false));
    assert_eq!(unseen.candidates[0].service, "frontend");
}

/// A service's long history: its name, level, and what multiplies sample `i`.
type History<'a> = (&'a str, f64, Box<dyn Fn(usize) -> f64>);

/// Six hours of 5-minute samples before the range and through it, for `services`.
fn ordinary_history(services: Vec<History>) -> Metric {
    let from = START - 6.0 * 3600.0;
    let n = (6 * 12) + 3;
    Metric::sampled(
        "latency_p90_seconds",
        from,
        300.0,
        services
            .into_iter()
            .map(|(name, level, spikes)| {
                let values = (0..n)
                    .map(|i| level * (1.0 + 0.05 * jitter(7919 + i)) * spikes(i))
                    .collect();
                (name, values)
            })
            .collect(),
    )
}

#[test]
fn a_service_that_departs_as_far_every_half_hour_is_a_chronic_suspect() {
    // In the range both `batch` and `orders` triple their latency from minute 10,
    // `batch` a little more; in the six hours before, `batch` did so for 10 minutes
    // every half hour.
    let latency = metric(
        "latency_p90_seconds",
        vec![
            ("batch", series(0.2, 1, 10, 3.6)),
            ("orders", series(0.1, 2, 10, 3.0)),
        ],
    );
    let mut obs = observations(vec![latency]);
    obs.ordinary = vec![ordinary_history(vec![
        (
            "batch",
            0.2,
            Box::new(|i| if i % 6 < 2 { 3.6 } else { 1.0 }),
        ),
        ("orders", 0.1, Box::new(|_| 1.0)),
    ])];
    let ranking = rank(&obs);
    assert_eq!(ranking.candidates[0].service, "orders");
    let batch = ranking
        .candidates
        .iter()
        .find(|c| c.service == "batch")
        .expect("batch has evidence");
    assert!(batch.change.metrics[0].ordinary.is_some_and(|o| o > 0.2));
    let unweighed = super::rank_with(&obs, &without(|s| s.chronic = false));
    assert_eq!(unweighed.candidates[0].service, "batch");
}

#[test]
fn when_every_suspect_is_chronic_the_unknown_share_rises() {
    let latency = metric(
        "latency_p90_seconds",
        vec![
            ("batch", series(0.2, 1, 10, 3.0)),
            ("cron", series(0.1, 2, 10, 3.0)),
        ],
    );
    let mut obs = observations(vec![latency]);
    // Both did so every 15 minutes for six hours.
    obs.ordinary = vec![ordinary_history(vec![
        (
            "batch",
            0.2,
            Box::new(|i| if i % 3 == 0 { 3.0 } else { 1.0 }),
        ),
        (
            "cron",
            0.1,
            Box::new(|i| if i % 3 == 1 { 3.0 } else { 1.0 }),
        ),
    ])];
    let chronic = rank(&obs).unknown;
    let fresh = super::rank_with(&obs, &without(|s| s.chronic = false)).unknown;
    // Their scores fall by a third or so, and the mass on "unknown" grows (it only
    // takes most of it once the top score nears the "unknown" score).
    assert!(chronic > 1.5 * fresh, "{chronic} vs {fresh}");
}
