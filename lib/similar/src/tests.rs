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
    assert_eq!(
        ids,
        ["cpu-1", "exception"],
        "the other service shares nothing"
    );
    assert_eq!(found[0].similarity, 1.0);
    assert!(found[1].similarity < 0.5, "{found:?}");
    assert_eq!(found[0].summary, "summary of cpu-1");
    assert_eq!(found[0].top_service.as_deref(), Some("cart"));
    assert_eq!(found[0].feedback, None);
}

#[test]
fn closest_leaves_out_the_report_itself_and_what_is_not_alike_enough() {
    let r = report("self", &["cart"], &[]);
    let entries = [
        entry(&r, 1),
        entry(&report("other", &["cart", "x"], &[]), 2),
    ];
    let found = closest(
        &Query::Like(Fingerprint::of(&r)),
        &entries,
        Some("self"),
        3,
        0.0,
    );
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].id, "other");
    assert!(
        closest(
            &Query::Like(Fingerprint::of(&r)),
            &entries,
            Some("self"),
            3,
            0.9
        )
        .is_empty()
    );
    assert!(closest(&Query::Like(Fingerprint::of(&r)), &entries, None, 0, 0.0).is_empty());
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
