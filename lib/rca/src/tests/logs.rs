//! Logs: drift, warnings, mix, errors naming a callee, invariants, and their empirical nulls.

use super::*;

/// What every service's logs show with the incident part from minute 10, with or
/// without the empirical nulls of their log history.
fn logs_from_minute_10(
    obs: &Observations,
    with_null: bool,
) -> BTreeMap<String, crate::signals::LogChange> {
    let templates = crate::signals::templates(obs);
    crate::signals::log_changes(obs, &templates, START + 600.0, with_null)
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
    let drift = |ranking: &crate::Ranking, service: &str| {
        ranking
            .candidate(service)
            .and_then(|c| c.change.drift.clone())
            .unwrap()
    };
    // Without the null, the job's lines drift as far as the changed code path's.
    let unweighed = crate::rank_with(&obs, &without(|s| s.chronic_logs = false));
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

#[test]
fn a_changed_log_mix_against_the_history_ranks_its_service_first() {
    let ranking = rank(&changed_code_path());
    let top = &ranking.candidates[0];
    assert_eq!(top.service, "orders", "{ranking:#?}");
    let drift = top.change.drift.as_ref().unwrap();
    assert!(drift.drift > 1.0, "{drift:?}");
    assert!(drift.minutes >= 12, "{drift:?}");
    let noisy = ranking.candidate("noisy");
    let noisy_drift = noisy
        .and_then(|c| c.change.drift.as_ref())
        .map_or(0.0, |d| d.drift);
    assert!(noisy_drift < 0.3, "noisy drifted {noisy_drift}");
}

#[test]
fn a_service_reporting_another_as_unavailable_is_its_victim() {
    let gateway = |ranking: &crate::rank::Ranking| ranking.candidate("gateway").cloned().unwrap();
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
fn a_victim_whose_errors_half_name_a_callee_stays_a_candidate_and_says_so() {
    // Half of the gateway's new errors name payments, half name nothing.
    let obs = code_path_and_gateway_errors(|k| {
        if k % 4 == 1 {
            format!("ERROR request {k} failed: No instances available for payments")
        } else {
            format!("ERROR request {k} failed: upstream unavailable")
        }
    });
    let ranked = rank(&obs);
    let gateway = ranked.candidate("gateway").unwrap();
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
    let mentions = crate::signals::mentions(
        &obs,
        &templates,
        &crate::signals::Namer::new(&obs),
        START + 600.0,
        &mut logs,
    );
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
    let search = ranking.candidate("search");
    let search_z = search
        .and_then(|c| c.change.invariant.as_ref())
        .map_or(0.0, |i| i.z);
    assert!(search_z < 0.5, "more traffic is no break: {search_z}");
    // The report says which ratio broke.
    let report = crate::report(&input(), &obs);
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
    let invariant = |history: usize, settings: &crate::Settings| {
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
        let ranking = crate::rank_with(&obs, settings);
        ranking.candidates[0]
            .change
            .invariant
            .clone()
            .expect("a broken invariant")
    };
    let default = crate::Settings::default();
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
