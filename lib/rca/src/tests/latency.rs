//! Latency that travels up the call graph, and a ranking that cannot tell origin from echo.

use super::*;

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
            .candidate(service)
            .and_then(|c| c.change.latency_echo.clone())
    };
    assert_eq!(echo("gateway").as_deref(), Some("orders"));
    assert_eq!(echo("orders").as_deref(), Some("pricing"));
    assert_eq!(echo("pricing").as_deref(), Some("rates"));
    assert_eq!(echo("rates"), None);
    // The callee discount does part of the same work; without it, counting every
    // caller's latency as its own puts a caller first.
    let undiscounted = crate::rank_with(&obs, &without(|s| s.callee_discount = 0.0));
    assert_eq!(undiscounted.candidates[0].service, "rates");
    let echoes_counted = crate::rank_with(
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
    let probability = |ranking: &crate::Ranking, service: &str| {
        ranking.candidate(service).map_or(0.0, |c| c.probability)
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
    let pricing = ranking.candidate("pricing").expect("pricing has evidence");
    assert_eq!(pricing.change.latency_echo, None);
}
