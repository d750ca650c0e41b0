//! The report: evidence with the queries that show it.

use super::*;

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
    let errors = format!("{{app=\"payment\"}} {}", crate::observations::ERROR_FILTER);
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
