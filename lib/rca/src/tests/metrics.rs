//! Metric departures: CPU, error ratios, request counts, traffic invariants, and a source that is down.

use super::*;

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

#[test]
fn a_failing_leaf_ranks_above_its_slow_callers() {
    let ranking = rank(&leaf_failure());
    let names: Vec<&str> = ranking
        .candidates
        .iter()
        .map(|c| c.service.as_str())
        .collect();
    assert_eq!(names[0], "payment", "{names:?}");
    let checkout = ranking.candidate("checkout").unwrap();
    assert_eq!(checkout.explained_by.as_deref(), Some("payment"));
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
    let counted_in_full = crate::rank_with(&obs, &without(|s| s.sole_signal_weight = 1.0));
    assert_eq!(counted_in_full.candidates[0].service, "frontend");
    // When nothing else departs, the errors are the frontend's.
    let alone = rank(&errors_seen_only_at_the_frontend(1.0));
    assert_eq!(alone.candidates[0].service, "frontend");
    assert!(alone.candidates[0].probability > 0.5, "{alone:?}");
}

#[test]
fn a_cpu_pinned_at_its_limit_outweighs_one_merely_busier() {
    let shift = |name: &str, factor: f64| crate::signals::MetricShift {
        signal: signal(name),
        shift: crate::stats::Shift {
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
    let uncounted = crate::rank_with(
        &obs,
        &crate::Settings {
            count_noise: false,
            ..crate::Settings::default()
        },
    );
    assert_eq!(uncounted.candidates[0].service, "lambda");
}
