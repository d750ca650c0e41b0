use chrono::{TimeZone, Utc};

use super::*;
use aegis_core::report::{Direction, Moved, RootCause, TimeRange};

fn report(id: &str, services: &[&str], moved: &[(&str, &str, Direction)]) -> Report {
    let at = Utc
        .with_ymd_and_hms(2026, 1, 1, 0, 0, 0)
        .single()
        .expect("valid");
    Report {
        summary: format!("summary of {id}"),
        ranked_root_causes: services
            .iter()
            .enumerate()
            .map(|(i, s)| RootCause {
                rank: i as u32 + 1,
                service: s.to_string(),
                probability: 0.5,
                description: String::new(),
                key_indicators: Vec::new(),
                key_logs: Vec::new(),
                evidence: Vec::new(),
            })
            .collect(),
        timezone: "UTC".into(),
        moved: moved
            .iter()
            .map(|(s, signal, d)| Moved {
                service: s.to_string(),
                signal: signal.to_string(),
                direction: *d,
            })
            .collect(),
        ..Report::new(id, TimeRange { start: at, end: at })
    }
}

fn entry(r: &Report, minute: u32) -> Entry {
    let mut r = r.clone();
    r.time_range.end = Utc
        .with_ymd_and_hms(2026, 1, 1, 0, minute, 0)
        .single()
        .expect("valid");
    Entry::of(&r)
}

#[test]
fn a_repeated_fault_is_closer_than_another_fault_on_the_same_service() {
    use Direction::Up;
    let cpu = |id| {
        report(
            id,
            &["cart", "frontend"],
            &[
                ("cart", "metric:cpu_seconds_rate", Up),
                ("cart", "spans:latency", Up),
            ],
        )
    };
    let exception = report(
        "exception",
        &["cart", "frontend"],
        &[
            ("cart", "log:NullPointerException at line 12", Up),
            ("frontend", "metric:error_ratio", Up),
        ],
    );
    let elsewhere = report(
        "elsewhere",
        &["payment"],
        &[("payment", "metric:cpu_seconds_rate", Up)],
    );
    let entries = [
        entry(&cpu("cpu-1"), 1),
        entry(&exception, 2),
        entry(&elsewhere, 3),
    ];
    let query = Query::Like(Fingerprint::of(&cpu("cpu-2")));
    let found = closest(&query, &entries, Some("cpu-2"), SHOWN, 0.0);
    let ids: Vec<&str> = found.iter().map(|s| s.id.as_str()).collect();
    // The exception shares cart but none of cart's moved signals; payment is another
    // top service.
    assert_eq!(ids, ["cpu-1"]);
    assert_eq!(found[0].similarity, 1.0);
    assert_eq!(found[0].summary, "summary of cpu-1");
    assert_eq!(found[0].top_service.as_deref(), Some("cart"));
    assert_eq!(found[0].feedback, None);
}

#[test]
fn closest_leaves_out_the_report_itself_and_what_is_not_alike_enough() {
    use Direction::Up;
    let r = report(
        "self",
        &["cart"],
        &[("cart", "metric:cpu", Up), ("cart", "metric:latency", Up)],
    );
    let half = report(
        "half",
        &["cart", "x"],
        &[("cart", "metric:cpu", Up), ("cart", "metric:errors", Up)],
    );
    let entries = [entry(&r, 1), entry(&half, 2)];
    let query = Query::Like(Fingerprint::of(&r));
    let found = closest(&query, &entries, Some("self"), 3, 0.0);
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].id, "half");
    // One signal shared of three.
    assert_eq!(found[0].similarity, 0.333);
    assert!(closest(&query, &entries, Some("self"), 3, MIN_SIMILARITY).is_empty());
    assert!(closest(&query, &entries, None, 0, 0.0).is_empty());
}

#[test]
fn only_an_incident_with_the_same_top_service_is_shown() {
    use Direction::Up;
    let moved = [("cart", "metric:cpu", Up), ("pay", "metric:cpu", Up)];
    let now = report("now", &["cart", "pay"], &moved);
    // The same evidence, but the engine blamed pay first.
    let swapped = report("swapped", &["pay", "cart"], &moved);
    let query = Fingerprint::of(&now);
    assert_eq!(RULE.score(&query, &entry(&swapped, 1)), None);
    let ungated = Rule {
        same_top_service: false,
        top_only: false,
        ..RULE
    };
    assert!(
        ungated
            .score(&query, &entry(&swapped, 1))
            .is_some_and(|s| s > 0.0)
    );
    assert_eq!(RULE.score(&query, &entry(&now, 1)), Some(1.0));
    // A report that ranked nothing matches nothing.
    let nothing = report("nothing", &[], &[("cart", "metric:cpu", Up)]);
    assert_eq!(
        RULE.score(&Fingerprint::of(&nothing), &entry(&nothing, 1)),
        None
    );
}

#[test]
fn an_incident_whose_cause_people_judged_wrong_is_not_shown_as_the_same_cause() {
    use Direction::Up;
    let mut judged = report("judged", &["cart"], &[("cart", "metric:cpu", Up)]);
    let query = Query::Like(Fingerprint::of(&judged));
    let mut verdict = |v| {
        judged.feedback = Some(aegis_core::report::Feedback {
            verdict: v,
            by: None,
            at: Utc::now(),
        });
        [entry(&judged, 1)]
    };
    let right = verdict(aegis_core::report::Verdict::RightCause);
    assert_eq!(closest(&query, &right, None, 3, MIN_SIMILARITY).len(), 1);
    let wrong = verdict(aegis_core::report::Verdict::WrongCause);
    assert!(closest(&query, &wrong, None, 3, 0.0).is_empty());
    // Asked by services, it is found with its verdict for the reader to weigh.
    let by_services = Query::Services {
        services: vec!["cart".into()],
        signal: None,
    };
    let found = closest(&by_services, &wrong, None, 3, 0.0);
    assert_eq!(found[0].feedback.as_deref(), Some("wrong cause"));
}

#[test]
fn the_rule_weighs_services_and_lower_candidates_as_told() {
    use Direction::Up;
    let a = Fingerprint::of(&report(
        "a",
        &["cart", "pay"],
        &[("cart", "metric:cpu", Up), ("pay", "metric:errors", Up)],
    ));
    let b = Fingerprint::of(&report(
        "b",
        &["cart", "db"],
        &[("cart", "metric:latency", Up), ("db", "metric:errors", Up)],
    ));
    let rule = |top_only, service_weight| Rule {
        top_only,
        service_weight,
        same_top_service: false,
        min: 0.0,
    };
    // Top only, services ignored: cpu against latency, nothing shared.
    assert_eq!(rule(true, 0.0).similarity(&a, &b), 0.0);
    // Top only with its service: the service is shared, 1 of 3.
    assert!((rule(true, 1.0).similarity(&a, &b) - 1.0 / 3.0).abs() < 1e-9);
    // Every candidate with services: the stored weights, as `similarity`.
    assert_eq!(rule(false, 1.0).similarity(&a, &b), similarity(&a, &b));
}

#[test]
fn services_and_a_word_find_incidents_that_blamed_them() {
    use Direction::Up;
    let entries = [
        entry(
            &report("a", &["cart"], &[("cart", "metric:cpu_seconds_rate", Up)]),
            1,
        ),
        entry(&report("b", &["cart"], &[("cart", "log:timeout", Up)]), 2),
        entry(&report("c", &["payment"], &[]), 3),
    ];
    let q = |signal: Option<&str>| Query::Services {
        services: vec!["cart".into()],
        signal: signal.map(Into::into),
    };
    let ids =
        |found: Vec<SimilarIncident>| -> Vec<String> { found.into_iter().map(|s| s.id).collect() };
    // Equally alike: newest first.
    assert_eq!(ids(closest(&q(None), &entries, None, 3, 0.0)), ["b", "a"]);
    assert_eq!(ids(closest(&q(Some("CPU")), &entries, None, 3, 0.0)), ["a"]);
}

#[test]
fn entries_round_trip_as_json() {
    let r = report("a", &["cart"], &[("cart", "metric:cpu", Direction::Down)]);
    let e = entry(&r, 1);
    let text = serde_json::to_string(&e).expect("serialize");
    assert_eq!(serde_json::from_str::<Entry>(&text).expect("parse"), e);
    assert!(e.fingerprint.features.contains_key("cart metric:cpu down"));
}

#[test]
fn a_past_incident_carries_the_verdict_people_gave_it() {
    let mut r = aegis_core::report::Report::new(
        "judged",
        aegis_core::report::TimeRange::last(Utc::now(), 15),
    );
    assert_eq!(Entry::of(&r).incident(0.5).feedback, None);
    r.feedback = Some(aegis_core::report::Feedback {
        verdict: aegis_core::report::Verdict::WrongCause,
        by: None,
        at: Utc::now(),
    });
    let shown = Entry::of(&r).incident(0.5);
    assert_eq!(shown.feedback.as_deref(), Some("wrong cause"));
}
