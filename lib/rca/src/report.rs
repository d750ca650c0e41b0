//! The report the engine writes from a ranking: candidates with their probabilities,
//! the indicators, log lines and evidence behind each (with the query that shows it),
//! a summary and next steps.

use crate::graph::CallGraph;

use crate::input::Input;
use crate::observations::Observations;
use crate::rank::{self, Candidate, Ranking};
use crate::window::{self, BASELINE_SECONDS};
use aegis_core::report::{Chart, Clock, Edge, Evidence, Report, RootCause, Unit};
use aegis_i18n::{Lang, list, t};

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
        .map(|(i, c)| {
            // The client node whose score it took, for its evidence.
            let view = c
                .seen_by
                .as_ref()
                .and_then(|v| ranking.candidates.iter().find(|x| &x.service == v));
            root_cause(i as u32 + 1, c, view, obs, input.clock, input.language)
        })
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
        next_actions: next_actions(&ranked, &ranking, input.clock, input.language),
        ranked_root_causes: ranked,
        degraded: obs.degraded.clone(),
        timezone: input.clock.name().into(),
        call_graph: call_graph(obs),
        moved,
        language: input.language,
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

/// `x` with `digits` decimals, as the sentences show numbers. Rounded here: Fluent's
/// `NUMBER()` in `fluent-bundle` pads to a minimum of fraction digits but does not round
/// to a maximum; counts go to the catalog as numbers, where they pick plurals.
fn num(x: f64, digits: usize) -> String {
    format!("{x:.digits$}")
}

/// The evidence of `c`'s strongest metric departures, and their sentences for its
/// description when `indicators` is given.
fn metric_evidence(
    c: &Candidate,
    obs: &Observations,
    clock: Clock,
    lang: Lang,
    mut indicators: Option<&mut Vec<String>>,
    evidence: &mut Vec<Evidence>,
) {
    let service = c.service.as_str();
    for m in c.change.metrics.iter().filter(|m| m.score() >= 0.1).take(4) {
        let s = &m.shift;
        let unit = Unit::from_signal_name(&m.signal.name);
        // In plain words first; the z-score and the ratio stay in the evidence.
        let (signal, from, to) = (
            m.signal.name.as_str(),
            unit.format(s.level),
            unit.format(s.peak),
        );
        let since = clock.time_of_unix(s.onset);
        if let Some(indicators) = indicators.as_deref_mut() {
            indicators.push(t!(
                lang,
                "rca-metric-indicator",
                signal = signal,
                from = from.clone(),
                to = to.clone(),
                since = since.clone()
            ));
        }
        let chart = obs
            .metrics
            .iter()
            .find(|x| x.signal.name == m.signal.name)
            .and_then(|x| x.series.get(&c.service))
            .map(|points| {
                Chart::new(
                    t!(lang, "rca-metric-chart", signal = signal, service = service),
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
            summary: t!(
                lang,
                "rca-metric-evidence",
                signal = signal,
                service = service,
                from = from,
                to = to,
                since = since,
                factor = num(s.factor(), 2),
                z = num(s.z, 1)
            ),
            chart,
        });
    }
}

fn root_cause(
    rank: u32,
    c: &Candidate,
    view: Option<&Candidate>,
    obs: &Observations,
    clock: Clock,
    lang: Lang,
) -> RootCause {
    let service = c.service.as_str();
    let mut indicators = Vec::new();
    let mut evidence = Vec::new();
    metric_evidence(c, obs, clock, lang, Some(&mut indicators), &mut evidence);
    // The departures of the client node whose score it took are cited with it.
    if let Some(view) = view {
        metric_evidence(view, obs, clock, lang, None, &mut evidence);
    }
    let mut key_logs = Vec::new();
    if let Some(l) = c.change.logs.as_ref().filter(|l| l.score() > 0.0) {
        indicators.push(t!(
            lang,
            "rca-logs-indicator",
            incident = l.incident_errors,
            baseline = l.baseline_errors,
            new = l.new_templates
        ));
        key_logs.extend(l.top.iter().map(|(_, n, line)| {
            let line: String = line.chars().take(300).collect();
            format!("[{n}x] {line}")
        }));
        evidence.push(Evidence {
            source: "loki".into(),
            query: obs.log_query(&format!("\"{}\"", c.service), true),
            summary: t!(
                lang,
                "rca-logs-evidence",
                incident = l.incident_errors,
                baseline = l.baseline_errors,
                new = l.new_templates
            ),
            chart: None,
        });
    }
    if let Some(m) = c.change.mentions.as_ref().filter(|m| m.score() >= 0.1) {
        let by: Vec<&str> = m.by.iter().map(String::as_str).collect();
        indicators.push(t!(lang, "rca-mentions-indicator", by = list(lang, &by)));
        key_logs.push(m.example.chars().take(300).collect());
        evidence.push(Evidence {
            source: "loki".into(),
            query: obs.log_query(&format!("~\"{}\"", by.join("|")), true),
            summary: t!(
                lang,
                "rca-mentions-evidence",
                by = list(lang, &by),
                service = service
            ),
            chart: None,
        });
    }
    if let Some(d) = c.change.drift.as_ref().filter(|d| d.score() >= 0.3) {
        let (template, usual, now, line) = &d.template;
        let template: String = template.chars().take(160).collect();
        let (usual, now) = (num(100.0 * usual, 0), num(100.0 * now, 0));
        indicators.push(t!(
            lang,
            "rca-drift-indicator",
            template = template.as_str(),
            usual = usual.as_str(),
            now = now.as_str()
        ));
        key_logs.push(line.chars().take(300).collect());
        evidence.push(Evidence {
            source: "loki".into(),
            // Every line of the service, not only errors.
            query: obs.log_query(&format!("\"{}\"", c.service), false),
            summary: t!(
                lang,
                "rca-drift-evidence",
                template = template.as_str(),
                usual = usual,
                minutes = d.minutes,
                now = now,
                lines = d.incident_lines
            ),
            chart: None,
        });
    }
    if let Some(i) = c.change.invariant.as_ref().filter(|i| i.score() >= 0.5) {
        let cut = |t: &str| t.chars().take(120).collect::<String>();
        let (more, less) = (cut(&i.more.0), cut(&i.less.0));
        indicators.push(t!(
            lang,
            "rca-invariant-indicator",
            more = more.as_str(),
            more_count = i.more.1,
            less = less.as_str(),
            less_count = i.less.1,
            ratio = i.ratio.to_string()
        ));
        key_logs.push(i.more.2.chars().take(300).collect());
        key_logs.push(i.less.2.chars().take(300).collect());
        evidence.push(Evidence {
            source: "loki".into(),
            query: obs.log_query(&format!("\"{}\"", c.service), false),
            summary: t!(
                lang,
                "rca-invariant-evidence",
                more = more.as_str(),
                ratio = i.ratio.to_string(),
                less = less.as_str(),
                minutes = i.minutes,
                more_count = i.more.1,
                less_count = i.less.1
            ),
            chart: None,
        });
    }
    if let Some(t) = c.change.traffic.as_ref().filter(|t| t.score() >= 0.2) {
        let p = &t.pair;
        indicators.push(t!(
            lang,
            "rca-traffic-indicator",
            follower = t.follower.as_str(),
            ratio = num(p.ratio, 2),
            service = service,
            below = p.incident.1,
            samples = p.incident.0
        ));
        evidence.push(Evidence {
            source: "prometheus".into(),
            query: t.signal.query.clone(),
            summary: t!(
                lang,
                "rca-traffic-evidence",
                signal = t.signal.name.as_str(),
                follower = t.follower.as_str(),
                ratio = num(p.ratio, 2),
                service = service,
                kept = p.history.1,
                history = p.history.0,
                below = p.incident.1,
                samples = p.incident.0
            ),
            chart: None,
        });
    }
    if let Some(t) = c.change.traces.as_ref().filter(|t| t.score() >= 0.2) {
        let mut parts = vec![t!(
            lang,
            "rca-spans-indicator",
            from = num(t.median_ms.0, 1),
            to = num(t.median_ms.1, 1),
            self_time = num(t.self_time.exp(), 2)
        )];
        if t.call_mix >= 0.7 {
            parts.push(t!(lang, "rca-spans-call-mix"));
        }
        if t.network >= 0.5 {
            parts.push(t!(
                lang,
                "rca-spans-network",
                factor = num(t.network.exp(), 1)
            ));
        }
        if t.busy >= 0.5 {
            parts.push(t!(lang, "rca-spans-busy", factor = num(t.busy.exp(), 1)));
        }
        indicators.push(parts.join(&t!(lang, "list-separator")));
        evidence.push(Evidence {
            source: "jaeger".into(),
            query: format!(
                "GET /api/traces?service={}&start={}&end={}",
                c.service,
                (obs.start * 1e6) as i64,
                (obs.end * 1e6) as i64
            ),
            summary: t!(
                lang,
                "rca-spans-evidence",
                spans = t.incident_spans,
                from = num(t.median_ms.0, 1),
                to = num(t.median_ms.1, 1),
                errors = num(100.0 * t.error_rise.max(0.0), 0)
            ),
            chart: None,
        });
    }
    let mut description = if indicators.is_empty() {
        t!(lang, "rca-changed-slightly", service = service)
    } else {
        t!(
            lang,
            "rca-described",
            service = service,
            indicators = indicators.join(&t!(lang, "list-semicolon"))
        )
    };
    if let Some(view) = &c.seen_by {
        description = t!(
            lang,
            "rca-seen-by-client",
            description = description,
            view = view.as_str()
        );
    }
    if let Some(other) = &c.explained_by {
        let blamed = c.change.logs.as_ref().and_then(|l| l.blame.as_ref());
        description = if blamed.is_some_and(|b| &b.service == other) {
            t!(
                lang,
                "rca-blamed-by-errors",
                description = description,
                other = other.as_str()
            )
        } else {
            t!(
                lang,
                "rca-calls-anomalous",
                description = description,
                other = other.as_str()
            )
        };
    }
    // Why a loud latency or error rise counts for little: it is another service's
    // echo (a load balancer's view of the service behind it has no callee to name
    // above).
    let unnamed = |origin: &Option<String>| {
        origin
            .clone()
            .filter(|o| c.explained_by.as_ref() != Some(o))
    };
    if let Some(other) = unnamed(&c.change.latency_echo) {
        description = t!(
            lang,
            "rca-latency-echo",
            description = description,
            other = other
        );
    }
    if let Some(other) = unnamed(&c.change.error_echo) {
        description = t!(
            lang,
            "rca-error-echo",
            description = description,
            other = other
        );
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
    let lang = input.language;
    let mut out = Vec::new();
    if let Some(s) = &input.symptom {
        // The sentence ends the symptom itself.
        let symptom = s.trim().trim_end_matches(['.', '。', '?', '？', '!', '！']);
        out.push(t!(lang, "rca-symptom", symptom = symptom));
    }
    out.push(match ranking.candidates.first() {
        Some(top) if top.probability > ranking.unknown => t!(
            lang,
            "rca-top",
            service = top.service.as_str(),
            percent = num(100.0 * top.probability, 0),
            since = input
                .clock
                .time_of_unix(top.change.onset().unwrap_or(ranking.incident_start))
        ),
        Some(top) => t!(
            lang,
            "rca-unclear",
            percent = num(100.0 * ranking.unknown, 0),
            service = top.service.as_str()
        ),
        None => t!(lang, "rca-nothing"),
    });
    if ranking.origin_unresolved.len() > 1 {
        out.push(t!(
            lang,
            "rca-origin-unresolved",
            services = list(lang, &ranking.origin_unresolved)
        ));
    }
    if let Some(last) = window::ended_long_before(obs) {
        out.push(t!(
            lang,
            "rca-telemetry-ended",
            at = input.clock.time_of_unix(last),
            minutes = num((ranking.incident_start - last) / 60.0, 0)
        ));
    }
    if !obs.degraded.is_empty() {
        out.push(t!(
            lang,
            "rca-ranked-without",
            what = obs.degraded.join("; ")
        ));
    }
    // Chinese sentences end in a full-width stop and need no space between them.
    out.join(if lang == Lang::ZhCn { "" } else { " " })
}

fn next_actions(ranked: &[RootCause], ranking: &Ranking, clock: Clock, lang: Lang) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(top) = ranked.first() {
        out.push(t!(
            lang,
            "rca-next-changes",
            service = top.service.as_str(),
            at = clock.time_of_unix(ranking.incident_start)
        ));
        out.push(t!(lang, "rca-next-read", service = top.service.as_str()));
    }
    if ranked.len() > 1 {
        let others: Vec<&str> = ranked[1..].iter().map(|r| r.service.as_str()).collect();
        out.push(t!(
            lang,
            "rca-next-others",
            service = ranked[0].service.as_str(),
            others = list(lang, &others)
        ));
    }
    out
}
