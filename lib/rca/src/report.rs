//! The report the engine writes from a ranking: candidates with their probabilities,
//! the indicators, log lines and evidence behind each (with the query that shows it),
//! a summary and next steps.

use crate::graph::CallGraph;

use crate::input::Input;
use crate::observations::Observations;
use crate::rank::{self, Candidate, Ranking};
use crate::window::BASELINE_SECONDS;
use aegis_core::report::{Chart, Clock, Edge, Evidence, Report, RootCause, Unit};

/// Candidates put in a report at most.
const MAX_CANDIDATES: usize = 5;

/// Ranks `obs` and writes the report (no trace, no timing).
pub fn report(input: &Input, obs: &Observations) -> Report {
    let ranking = rank::rank(obs);
    let ranked: Vec<RootCause> = ranking
        .candidates
        .iter()
        .filter(|c| c.score > 0.0)
        .take(MAX_CANDIDATES)
        .enumerate()
        .map(|(i, c)| root_cause(i as u32 + 1, c, obs, input.clock))
        .collect();
    let moved = ranking
        .candidates
        .iter()
        .filter(|c| c.score > 0.0)
        .take(MAX_CANDIDATES)
        .flat_map(crate::moved::moved)
        .collect();
    Report {
        summary: summary(input, &ranking, obs),
        next_actions: next_actions(&ranked, &ranking, input.clock),
        ranked_root_causes: ranked,
        degraded: obs.degraded.clone(),
        timezone: input.clock.name().into(),
        call_graph: call_graph(obs),
        moved,
        ..Report::new(format!("rca-{}", uuid::Uuid::new_v4()), input.time_range)
    }
}

/// The given edges and those the spans show.
fn call_graph(obs: &Observations) -> Vec<Edge> {
    CallGraph::of(obs)
        .edges()
        .map(|(caller, callee)| Edge {
            caller: caller.into(),
            callee: callee.into(),
        })
        .collect()
}

fn root_cause(rank: u32, c: &Candidate, obs: &Observations, clock: Clock) -> RootCause {
    let mut indicators = Vec::new();
    let mut evidence = Vec::new();
    for m in c.change.metrics.iter().filter(|m| m.score() >= 0.1).take(4) {
        let s = &m.shift;
        let unit = Unit::from_signal_name(&m.signal.name);
        // In plain words first; the z-score and the ratio stay in the evidence.
        indicators.push(format!(
            "{} {} -> {} since {}",
            m.signal.name,
            unit.format(s.level),
            unit.format(s.peak),
            clock.time_of_unix(s.onset),
        ));
        let chart = obs
            .metrics
            .iter()
            .find(|x| x.signal.name == m.signal.name)
            .and_then(|x| x.series.get(&c.service))
            .map(|points| {
                Chart::new(
                    format!("{} of {}", m.signal.name, c.service),
                    unit,
                    points,
                    s.level,
                    obs.start + BASELINE_SECONDS,
                    s.onset,
                )
            });
        evidence.push(Evidence {
            source: "prometheus".into(),
            query: m.signal.query.clone(),
            summary: format!(
                "{} of {}: {} -> {} from {} (x{:.2}, z {:.1})",
                m.signal.name,
                c.service,
                unit.format(s.level),
                unit.format(s.peak),
                clock.time_of_unix(s.onset),
                s.factor(),
                s.z
            ),
            chart,
        });
    }
    let mut key_logs = Vec::new();
    if let Some(l) = c.change.logs.as_ref().filter(|l| l.score() > 0.0) {
        indicators.push(format!(
            "{} error/warning lines after {} ({} before), {} new templates",
            l.incident_errors, "the onset", l.baseline_errors, l.new_templates
        ));
        key_logs.extend(l.top.iter().map(|(_, n, line)| {
            let line: String = line.chars().take(300).collect();
            format!("[{n}x] {line}")
        }));
        evidence.push(Evidence {
            source: "loki".into(),
            query: obs.log_query(&format!("\"{}\"", c.service), true),
            summary: format!(
                "{} error/warning lines in the incident part, {} in the baseline; {} templates not seen before",
                l.incident_errors, l.baseline_errors, l.new_templates
            ),
            chart: None,
        });
    }
    if let Some(m) = c.change.mentions.as_ref().filter(|m| m.score() >= 0.1) {
        let by: Vec<&str> = m.by.iter().map(String::as_str).collect();
        indicators.push(format!("named in the rising errors of {}", by.join(", ")));
        key_logs.push(m.example.chars().take(300).collect());
        evidence.push(Evidence {
            source: "loki".into(),
            query: obs.log_query(&format!("~\"{}\"", by.join("|")), true),
            summary: format!(
                "error lines of {} that name {} rose in the incident part",
                by.join(", "),
                c.service
            ),
            chart: None,
        });
    }
    if let Some(d) = c.change.drift.as_ref().filter(|d| d.score() >= 0.3) {
        let (template, usual, now, line) = &d.template;
        let template: String = template.chars().take(160).collect();
        indicators.push(format!(
            "its log mix changed: \"{template}\" was {:.0}% of its lines, now {:.0}%",
            100.0 * usual,
            100.0 * now
        ));
        key_logs.push(line.chars().take(300).collect());
        evidence.push(Evidence {
            source: "loki".into(),
            // Every line of the service, not only errors.
            query: obs.log_query(&format!("\"{}\"", c.service), false),
            summary: format!(
                "\"{template}\": usually {:.0}% of its lines (median of {} minutes before the incident), {:.0}% in the incident part",
                100.0 * usual,
                d.minutes,
                100.0 * now
            ),
            chart: None,
        });
    }
    if let Some(i) = c.change.invariant.as_ref().filter(|i| i.score() >= 0.5) {
        let cut = |t: &str| t.chars().take(120).collect::<String>();
        let (more, less) = (cut(&i.more.0), cut(&i.less.0));
        indicators.push(format!(
            "its logs broke a ratio they kept: \"{more}\" {} : \"{less}\" {} (usually {}:1)",
            i.more.1, i.less.1, i.ratio
        ));
        key_logs.push(i.more.2.chars().take(300).collect());
        key_logs.push(i.less.2.chars().take(300).collect());
        evidence.push(Evidence {
            source: "loki".into(),
            query: obs.log_query(&format!("\"{}\"", c.service), false),
            summary: format!(
                "\"{more}\" came {}:1 to \"{less}\" in {} minutes before the incident; {} : {} in the incident part",
                i.ratio, i.minutes, i.more.1, i.less.1
            ),
            chart: None,
        });
    }
    if let Some(t) = c.change.traffic.as_ref().filter(|t| t.score() >= 0.2) {
        let p = &t.pair;
        indicators.push(format!(
            "its requests stopped reaching {}: {} had {:.2} requests per request of {}, below half that in {} of {} samples since the onset",
            t.follower,
            t.follower,
            p.ratio,
            c.service,
            p.incident.1,
            p.incident.0
        ));
        evidence.push(Evidence {
            source: "prometheus".into(),
            query: t.signal.query.clone(),
            summary: format!(
                "{}: series service=\"{}\" kept {:.2}x series service=\"{}\" in {} of {} samples before the incident; below half that in {} of {} samples of it while {}'s own held",
                t.signal.name,
                t.follower,
                p.ratio,
                c.service,
                p.history.1,
                p.history.0,
                p.incident.1,
                p.incident.0,
                c.service
            ),
            chart: None,
        });
    }
    if let Some(t) = c.change.traces.as_ref().filter(|t| t.score() >= 0.2) {
        indicators.push(format!(
            "median span {:.1} ms -> {:.1} ms, self time x{:.2}{}{}{}",
            t.median_ms.0,
            t.median_ms.1,
            t.self_time.exp(),
            if t.call_mix >= 0.7 {
                ", its calls to other services changed"
            } else {
                ""
            },
            if t.network >= 0.5 {
                format!(
                    ", calls to it spend x{:.1} as long outside its spans (network)",
                    t.network.exp()
                )
            } else {
                String::new()
            },
            if t.busy >= 0.5 {
                format!(
                    ", its calls to two services or more spend x{:.1} as long outside their spans (busy: slow to send and read)",
                    t.busy.exp()
                )
            } else {
                String::new()
            }
        ));
        evidence.push(Evidence {
            source: "jaeger".into(),
            query: format!(
                "GET /api/traces?service={}&start={}&end={}",
                c.service,
                (obs.start * 1e6) as i64,
                (obs.end * 1e6) as i64
            ),
            summary: format!(
                "{} spans in the incident part; median duration {:.1} ms -> {:.1} ms; error share +{:.0}%",
                t.incident_spans,
                t.median_ms.0,
                t.median_ms.1,
                100.0 * t.error_rise.max(0.0)
            ),
            chart: None,
        });
    }
    let mut description = if indicators.is_empty() {
        format!("{} changed slightly", c.service)
    } else {
        format!("{}: {}", c.service, indicators.join("; "))
    };
    if let Some(other) = &c.explained_by {
        let blamed = c.change.logs.as_ref().and_then(|l| l.blame.as_ref());
        description.push_str(&if blamed.is_some_and(|b| &b.service == other) {
            format!(". Its new errors name {other}, which may be the origin")
        } else {
            format!(". It calls {other}, which is anomalous too and may be the origin")
        });
    }
    RootCause {
        rank,
        service: c.service.clone(),
        probability: (c.probability * 1000.0).round() / 1000.0,
        description,
        key_indicators: indicators,
        key_logs,
        evidence,
    }
}

fn summary(input: &Input, ranking: &Ranking, obs: &Observations) -> String {
    let mut out = String::new();
    if let Some(s) = &input.symptom {
        out.push_str(&format!("Symptom: {}. ", s.trim()));
    }
    match ranking.candidates.first() {
        Some(top) if top.probability > ranking.unknown => out.push_str(&format!(
            "Most likely root cause: {} (probability {:.0}%), changing from about {}.",
            top.service,
            100.0 * top.probability,
            input
                .clock
                .time_of_unix(top.change.onset().unwrap_or(ranking.incident_start))
        )),
        Some(top) => out.push_str(&format!(
            "No service stands out clearly ({:.0}% unexplained); the strongest change is in {}.",
            100.0 * ranking.unknown,
            top.service
        )),
        None => out.push_str("No telemetry showed a change in this range."),
    }
    if let [first, .., last] = ranking.origin_unresolved.as_slice() {
        let others = &ranking.origin_unresolved[1..ranking.origin_unresolved.len() - 1];
        let listed = others
            .iter()
            .fold(first.clone(), |acc, s| format!("{acc}, {s}"));
        out.push_str(&format!(
            " Metrics alone cannot tell where the latency began: {listed} and {last} \
             slowed together, and with no call graph or traces any of them may be the \
             origin and the others its callers; their probability is shared."
        ));
    }
    if !obs.degraded.is_empty() {
        out.push_str(&format!(" Ranked without: {}.", obs.degraded.join("; ")));
    }
    out
}

fn next_actions(ranked: &[RootCause], ranking: &Ranking, clock: Clock) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(top) = ranked.first() {
        out.push(format!(
            "Check what changed in {} around {} (deploys, config, dependencies).",
            top.service,
            clock.time_of_unix(ranking.incident_start)
        ));
        out.push(format!(
            "Read {}'s logs and slowest traces in the range; the evidence lists the exact queries.",
            top.service
        ));
    }
    if ranked.len() > 1 {
        let others: Vec<&str> = ranked[1..].iter().map(|r| r.service.as_str()).collect();
        out.push(format!(
            "If {} is healthy, look at {} next.",
            ranked[0].service,
            others.join(", ")
        ));
    }
    out
}
