//! Where the incident part begins: an alert's start, telemetry that ends early, the guard before the start.

use super::*;

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
