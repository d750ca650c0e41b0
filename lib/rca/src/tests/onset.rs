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
    let summary = report(&input(), &obs).summary;
    assert!(!summary.contains("Logs and traces end"), "{summary}");
}

#[test]
fn telemetry_that_ended_long_before_the_incident_part_does_not_move_it() {
    let mut obs = leaf_failure();
    // The logs and spans cover minutes 1-4 only (a recording of an earlier
    // incident), six minutes before the incident part, which lasts five: they
    // cannot show this incident, and the metrics' incident part stays where it is.
    obs.spans.retain(|s| s.start < START + 240.0);
    obs.logs.retain(|l| l.time < START + 240.0);
    assert!(
        obs.spans.iter().map(|s| s.start).fold(0.0, f64::max) - START >= 180.0,
        "the fixture's spans reach minute 3"
    );
    assert_eq!(rank(&obs).incident_start, START + 600.0);
    // The report says the logs and traces stopped, and when, in either language.
    for (lang, says) in [
        (aegis_i18n::Lang::En, "Logs and traces end at"),
        (aegis_i18n::Lang::ZhCn, "日志和链路数据在"),
    ] {
        let mut asked = input();
        asked.language = lang;
        let summary = report(&asked, &obs).summary;
        assert!(summary.contains(says), "{lang:?}: {summary}");
    }
}

/// `orders` logging request `i` at time `t` for each of `requests`: an error where
/// `failing(i, t)`, else "ok"; nothing else recorded.
fn orders_logging(
    requests: impl Iterator<Item = (usize, f64)>,
    failing: impl Fn(usize, f64) -> bool,
) -> Observations {
    let mut obs = observations(Vec::new());
    obs.logs.extend(requests.map(|(i, t)| LogLine {
        service: "orders".into(),
        time: t,
        line: if failing(i, t) {
            format!("ERROR request {i} failed: store unreachable")
        } else {
            format!("INFO request {i} ok")
        },
    }));
    obs
}

#[test]
fn the_minute_before_the_incident_part_is_not_baseline_for_the_logs() {
    // A service logs "ok" every 10 s; its errors begin 30 s before the incident part
    // (minute 10) that the last third of the range gives.
    let obs = orders_logging(
        (0..MINUTES * 6).map(|i| (i, START + 10.0 * i as f64)),
        |_, t| t >= START + 570.0,
    );
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
    let obs = orders_logging(
        [100]
            .into_iter()
            .chain(114..MINUTES * 12)
            .map(|i| (i, START + 5.0 * i as f64)),
        |i, t| t >= START + 600.0 && i % 2 == 0,
    );
    let ranking = rank(&obs);
    assert_eq!(ranking.incident_start, START + 600.0);
    let logs = ranking.candidates[0].change.logs.as_ref().unwrap();
    assert!(
        logs.mix_shift > 0.5,
        "the mix is compared with that minute: {logs:?}"
    );
}
