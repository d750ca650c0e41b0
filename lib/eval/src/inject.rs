//! Partly synthetic cases: a fault of a known kind injected at a known service into
//! the real telemetry a dumped case recorded before its own fault began
//! (`aegis eval --from-dump DIR --inject KIND`). The dev datasets have few latency
//! faults and no network delay on some systems; injecting them into each system's
//! own traffic shows what the pieces that look for them bring there (issue 32), on
//! every system with spans or one-minute latency series before its faults. It does
//! not replace the real datasets: the fault is the model of one, written here.
//!
//! The range is cut a minute before the recorded fault began, so nothing of it is in
//! the synthetic case, and the injected fault begins where the engine takes the
//! incident part to begin when nothing says (the last third). The spans change as
//! the fault would change them (`inject`), and the latency series as they would
//! read it (`raise_latency`): the target's own and every caller's up the call
//! graph rise by the delay in the same sample, as one-minute samples see a latency
//! travel. Logs and every other metric stay as recorded.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::str::FromStr;

use aegis_rca::{CallGraph, Kind as SignalKind, Observations, Span};
use aegis_replay::Truth;

/// What is injected.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Injection {
    /// The fault's kind.
    pub kind: Kind,
    /// How much each affected request is delayed, seconds.
    pub delay: f64,
}

/// A fault kind [`Injection`] can write into spans and latency series.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// The service's own work takes longer (a slow handler, a lock): every request
    /// it serves ends later, and so does every caller's span around it.
    Latency,
    /// Packets leaving the service are delayed (what `tc netem` on its interface
    /// does): its answers reach its callers later and its calls reach its callees
    /// later, while its own work and theirs take as long as before.
    NetworkDelay,
}

impl Kind {
    /// The fault name the synthetic truth carries.
    pub fn fault(self) -> &'static str {
        match self {
            Self::Latency => "synthetic_latency",
            Self::NetworkDelay => "synthetic_network_delay",
        }
    }
}

/// The delay when the command line names none: a fault a user would notice on any
/// of the dev systems' calls (their median spans take 1-30 ms), well inside what
/// chaos tools inject.
const DEFAULT_DELAY_SECONDS: f64 = 0.2;

impl FromStr for Injection {
    type Err = String;

    /// `latency` or `network_delay`, optionally with the delay in milliseconds:
    /// `latency:500`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (kind, ms) = s.split_once(':').unwrap_or((s, ""));
        let kind = match kind.trim() {
            "latency" => Kind::Latency,
            "network_delay" => Kind::NetworkDelay,
            other => {
                return Err(format!(
                    "unknown fault {other:?}: latency or network_delay, optionally :<milliseconds>"
                ));
            }
        };
        let delay = match ms.trim() {
            "" => DEFAULT_DELAY_SECONDS,
            ms => match ms.parse::<f64>() {
                Ok(v) if v > 0.0 && v.is_finite() => v / 1000.0,
                _ => return Err(format!("not a delay in milliseconds: {ms:?}")),
            },
        };
        Ok(Self { kind, delay })
    }
}

/// Requests a service must serve from other services in each part of the range to
/// be a target: fewer would not show a change in anything.
const MIN_CALLS: usize = 10;

/// How long before the recorded fault began the range is cut.
const CUT_BEFORE_FAULT_SECONDS: f64 = 60.0;

/// The engine's guaranteed baseline (5 minutes) and an incident part of at least 2
/// minutes.
const MIN_RANGE_SECONDS: f64 = 420.0;

/// The synthetic case made of `obs` (the dump of case `truth`, the `index`th of its
/// dataset): the range cut before `truth`'s fault, and `injection` written into the
/// spans and latency series of one service, chosen by `index` among the services
/// that other services call often enough in both parts (or, with too few spans,
/// among those with a latency series sampled often enough in both). `None` when
/// the range before the fault is too short, no service qualifies, or the fault
/// changes nothing the engine reads (a network delay at a service with no span and
/// no caller in the call graph: only its callers would see it).
pub fn synthetic(
    obs: &Observations,
    truth: &Truth,
    index: usize,
    injection: Injection,
) -> Option<(Observations, Truth)> {
    let end = truth.fault_start.timestamp() as f64 - CUT_BEFORE_FAULT_SECONDS;
    if end - obs.start < MIN_RANGE_SECONDS {
        return None;
    }
    // Where the engine puts the incident start with no hint.
    let onset = end - (end - obs.start) / 3.0;
    let mut cut = obs.clone();
    cut.end = end;
    cut.onset_hint = None;
    cut.logs.retain(|l| l.time <= end);
    cut.spans.retain(|s| s.start <= end);
    for metric in &mut cut.metrics {
        for points in metric.series.values_mut() {
            points.retain(|(t, _)| *t <= end);
        }
    }
    let mut targets = targets(&cut.spans, onset);
    if targets.is_empty() {
        // Too few spans before the fault (Online Boutique's are recorded around its
        // faults): the metrics alone carry it.
        targets = latency_series(&cut, onset);
    }
    let target = targets.get(index % targets.len().max(1))?.clone();
    let moved = inject(&mut cut.spans, &target, onset, injection);
    let raised = raise_latency(&mut cut, &target, onset, injection);
    if !moved && !raised {
        // A network delay at a service nobody is known to call: nothing the engine
        // reads would show it, so the case would measure nothing.
        return None;
    }
    let fault_start = chrono::DateTime::from_timestamp(onset as i64, 0)?;
    let truth = Truth {
        id: format!("{}-{}", truth.id, injection.kind.fault()),
        service: target,
        fault: injection.kind.fault().to_string(),
        fault_start,
    };
    Some((cut, truth))
}

/// Services called by another service at least [`MIN_CALLS`] times before `onset`
/// and after it, by name.
fn targets(spans: &[Span], onset: f64) -> Vec<String> {
    let service_of: HashMap<(&str, &str), &str> = spans
        .iter()
        .map(|s| {
            (
                (s.trace_id.as_str(), s.span_id.as_str()),
                s.service.as_str(),
            )
        })
        .collect();
    let mut calls: BTreeMap<&str, [usize; 2]> = BTreeMap::new();
    for s in spans {
        let Some(parent) = s.parent_span_id.as_deref() else {
            continue;
        };
        match service_of.get(&(s.trace_id.as_str(), parent)) {
            Some(caller) if *caller != s.service => {
                calls.entry(&s.service).or_default()[usize::from(s.start >= onset)] += 1;
            }
            _ => {}
        }
    }
    calls
        .into_iter()
        .filter(|(_, [before, after])| *before >= MIN_CALLS && *after >= MIN_CALLS)
        .map(|(s, _)| s.to_string())
        .collect()
}

/// Samples a series needs on each side of `onset` to be a target: fewer would not
/// show a rise in anything.
const MIN_SAMPLES: usize = 3;

/// Services with their own latency series ([`SignalKind::Latency`]) sampled at
/// least [`MIN_SAMPLES`] times inside the range before `onset` and after it, by
/// name (none of PetShop's, sampled every 5 minutes, in the few minutes before its
/// faults).
fn latency_series(obs: &Observations, onset: f64) -> Vec<String> {
    let mut out: Vec<String> = obs
        .metrics
        .iter()
        .filter(|m| m.signal.kind == SignalKind::Latency)
        .flat_map(|m| &m.series)
        .filter(|(_, points)| {
            // Samples, not points: a range query repeats a coarse series' last
            // sample at every step until the next one.
            let samples = |from: f64, to: f64| {
                let mut last = None;
                points
                    .iter()
                    .filter(|(t, _)| (from..to).contains(t))
                    .filter(|(_, v)| last.replace(*v) != Some(*v))
                    .count()
            };
            samples(obs.start, onset) >= MIN_SAMPLES && samples(onset, obs.end + 1.0) >= MIN_SAMPLES
        })
        .map(|(service, _)| service.clone())
        .collect();
    out.sort();
    out.dedup();
    out
}

/// The services that reach `target` through calls (its callers, theirs, and so
/// on) in `graph` (the given graph and the spans' parent-child links).
fn callers_of(graph: &CallGraph, target: &str) -> BTreeSet<String> {
    let mut seen: BTreeSet<String> = BTreeSet::new();
    let mut frontier = vec![target];
    while let Some(s) = frontier.pop() {
        for c in graph.callers(s) {
            if c != target && seen.insert(c.to_string()) {
                frontier.push(c);
            }
        }
    }
    seen
}

/// Raises the latency series as `injection` at `target` would from `onset` on: a
/// latency raises the target's own latency and every caller's up the call graph
/// (they wait for it), and the callers' latency of their calls
/// ([`SignalKind::ClientLatency`]) and of calls to the target
/// ([`SignalKind::CallerLatency`]). A network delay raises the same, except that
/// the target's own latency rises only when it calls other services (its answers
/// leave after its work is timed, but it waits on its own calls, which leave late
/// too), and then so does the latency of its calls, as [`inject`] writes the spans.
/// Returns whether any sample rose.
fn raise_latency(obs: &mut Observations, target: &str, onset: f64, injection: Injection) -> bool {
    let graph = CallGraph::of(obs);
    let callers = callers_of(&graph, target);
    let calls_out = graph.callees(target).any(|callee| callee != target);
    let network = injection.kind == Kind::NetworkDelay;
    let mut any = false;
    for metric in &mut obs.metrics {
        let kind = metric.signal.kind;
        for (service, points) in &mut metric.series {
            let is_target = service == target;
            let raised = match kind {
                SignalKind::Latency => {
                    callers.contains(service) || (is_target && (!network || calls_out))
                }
                SignalKind::ClientLatency => {
                    callers.contains(service) || (is_target && network && calls_out)
                }
                SignalKind::CallerLatency => is_target,
                _ => false,
            };
            if raised {
                for (_, v) in points.iter_mut().filter(|(t, _)| *t >= onset) {
                    *v += injection.delay;
                    any = true;
                }
            }
        }
    }
    any
}

/// Writes `injection` at `target` into every trace: each span moves by what moved
/// before it in its trace and lasts as much longer as the work inside it was
/// delayed. Calls made one after another stay one after another (a call that began
/// after an earlier sibling ended moves by that sibling's delay); calls made
/// together move together.
/// Returns whether any span moved.
fn inject(spans: &mut [Span], target: &str, onset: f64, injection: Injection) -> bool {
    let index: HashMap<(&str, &str), usize> = spans
        .iter()
        .enumerate()
        .map(|(i, s)| ((s.trace_id.as_str(), s.span_id.as_str()), i))
        .collect();
    let mut children: Vec<Vec<usize>> = vec![Vec::new(); spans.len()];
    let mut roots = Vec::new();
    for (i, s) in spans.iter().enumerate() {
        match s
            .parent_span_id
            .as_deref()
            .and_then(|p| index.get(&(s.trace_id.as_str(), p)))
        {
            Some(parent) => children[*parent].push(i),
            None => roots.push(i),
        }
    }
    for kids in &mut children {
        kids.sort_by(|a, b| spans[*a].start.total_cmp(&spans[*b].start));
    }
    let walk = Walk {
        spans,
        children: &children,
        target,
        onset,
        injection,
    };
    let mut moved = vec![(0.0, 0.0); spans.len()];
    for root in roots {
        walk.visit(root, None, 0.0, &mut moved);
    }
    let any = moved.iter().any(|m| *m != (0.0, 0.0));
    for (s, (start, longer)) in spans.iter_mut().zip(moved) {
        s.start += start;
        s.duration_us += longer * 1e6;
    }
    any
}

/// One pass over the traces of [`inject`].
struct Walk<'a> {
    spans: &'a [Span],
    children: &'a [Vec<usize>],
    target: &'a str,
    onset: f64,
    injection: Injection,
}

impl Walk<'_> {
    /// Visits span `i` (whose parent's service is `parent`), which starts `offset`
    /// seconds later than recorded; records in `moved[i]` how much later it starts
    /// and how much longer it lasts, and returns how much later its parent sees it
    /// end.
    fn visit(&self, i: usize, parent: Option<&str>, offset: f64, moved: &mut [(f64, f64)]) -> f64 {
        let s = &self.spans[i];
        let at_target = s.service == self.target;
        // Served by the target for another service (or a request's first span).
        let served = at_target && parent != Some(self.target);
        let late = s.start >= self.onset;
        let delay = self.injection.delay;
        let network = self.injection.kind == Kind::NetworkDelay && late;
        let mut offset = offset;
        let mut arrives_late = 0.0;
        // A call the target makes leaves it late.
        if network && parent == Some(self.target) && !at_target {
            offset += delay;
            arrives_late = delay;
        }
        // How much later each earlier child ends, to move the calls made after it.
        let mut ended: Vec<(f64, f64)> = Vec::new();
        let mut longer: f64 = 0.0;
        for &c in &self.children[i] {
            let child = &self.spans[c];
            let before = ended
                .iter()
                .filter(|(end, _)| *end <= child.start)
                .map(|(_, later)| *later)
                .fold(0.0, f64::max);
            let later = before + self.visit(c, Some(&s.service), offset + before, moved);
            ended.push((child.start + child.duration_us / 1e6, later));
            longer = longer.max(later);
        }
        if self.injection.kind == Kind::Latency && late && served {
            longer += delay;
        }
        moved[i] = (offset, longer);
        let mut seen_later = longer + arrives_late;
        // Its answer leaves the target late.
        if network && served && parent.is_some() {
            seen_later += delay;
        }
        seen_later
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn span(id: &str, parent: Option<&str>, service: &str, start: f64, ms: f64) -> Span {
        Span {
            trace_id: "t".into(),
            span_id: id.into(),
            parent_span_id: parent.map(str::to_string),
            service: service.into(),
            operation: "op".into(),
            start,
            duration_us: ms * 1000.0,
            error: None,
        }
    }

    /// front (0-100 ms) calls mid (10-60 ms) then db (70-90 ms); mid calls leaf
    /// (20-40 ms).
    fn trace() -> Vec<Span> {
        vec![
            span("a", None, "front", 100.0, 100.0),
            span("b", Some("a"), "mid", 100.010, 50.0),
            span("c", Some("b"), "leaf", 100.020, 20.0),
            span("d", Some("a"), "db", 100.070, 20.0),
        ]
    }

    fn times(spans: &[Span]) -> Vec<(String, f64, f64)> {
        spans
            .iter()
            .map(|s| {
                (
                    s.service.clone(),
                    ((s.start - 100.0) * 1e3).round(),
                    (s.duration_us / 1e3).round(),
                )
            })
            .collect()
    }

    #[test]
    fn a_latency_at_a_service_lengthens_it_and_its_callers_and_moves_later_calls() {
        let mut spans = trace();
        let injection: Injection = "latency:30".parse().unwrap();
        inject(&mut spans, "mid", 50.0, injection);
        assert_eq!(
            times(&spans),
            [
                ("front".into(), 0.0, 130.0),
                ("mid".into(), 10.0, 80.0),
                ("leaf".into(), 20.0, 20.0),
                ("db".into(), 100.0, 20.0),
            ]
        );
    }

    #[test]
    fn a_network_delay_moves_the_services_answers_and_calls_but_not_its_work() {
        let mut spans = trace();
        let injection: Injection = "network_delay:30".parse().unwrap();
        inject(&mut spans, "mid", 50.0, injection);
        // mid's call to leaf arrives 30 ms late (mid lasts 30 ms longer, leaf starts
        // later and lasts as long); mid's answer reaches front 30 ms late too.
        assert_eq!(
            times(&spans),
            [
                ("front".into(), 0.0, 160.0),
                ("mid".into(), 10.0, 80.0),
                ("leaf".into(), 50.0, 20.0),
                ("db".into(), 130.0, 20.0),
            ]
        );
    }

    #[test]
    fn requests_before_the_onset_are_untouched() {
        let mut spans = trace();
        assert!(!inject(
            &mut spans,
            "mid",
            200.0,
            "latency".parse().unwrap()
        ));
        assert_eq!(times(&spans), times(&trace()));
    }

    fn latency_metric(kind: &str, series: &[(&str, f64)]) -> aegis_rca::Metric {
        aegis_rca::Metric {
            signal: aegis_rca::Signal {
                name: kind.into(),
                query: String::new(),
                kind: SignalKind::from_name(kind),
            },
            series: series
                .iter()
                .map(|(s, v)| (s.to_string(), vec![(40.0, *v), (60.0, *v)]))
                .collect(),
        }
    }

    /// The latency series of [`trace`]'s services before and after `injection` at
    /// `target` from 50 s on, in ms: own latency of front, leaf, mid (by name); then
    /// front's and mid's client latency; then mid's latency as its callers measure it.
    fn raised(injection: &str, target: &str) -> (Vec<f64>, Vec<f64>) {
        let mut obs = Observations {
            spans: trace(),
            metrics: vec![
                latency_metric(
                    "latency_p90_seconds",
                    &[("front", 0.1), ("mid", 0.05), ("leaf", 0.02)],
                ),
                latency_metric(
                    "client_latency_p90_seconds",
                    &[("front", 0.09), ("mid", 0.04)],
                ),
                latency_metric("callers_latency_p90_seconds", &[("mid", 0.06)]),
            ],
            ..Observations::default()
        };
        assert!(raise_latency(
            &mut obs,
            target,
            50.0,
            injection.parse().unwrap()
        ));
        let at = |i: usize| {
            obs.metrics
                .iter()
                .flat_map(|m| m.series.values())
                .map(|points| (points[i].1 * 1000.0).round())
                .collect()
        };
        (at(0), at(1))
    }

    const RECORDED: [f64; 6] = [100.0, 20.0, 50.0, 90.0, 40.0, 60.0];

    #[test]
    fn a_latency_raises_the_target_s_and_its_callers_latency_series() {
        let (before, after) = raised("latency:30", "mid");
        assert_eq!(before, RECORDED);
        // mid's own calls are as fast as before.
        assert_eq!(after, [130.0, 20.0, 80.0, 120.0, 40.0, 90.0]);
    }

    #[test]
    fn a_network_delay_at_a_service_that_calls_others_raises_its_latency_and_its_calls() {
        let (before, after) = raised("network_delay:30", "mid");
        assert_eq!(before, RECORDED);
        // mid waits 30 ms longer on its call to leaf, which leaves late.
        assert_eq!(after, [130.0, 20.0, 80.0, 120.0, 70.0, 90.0]);
    }

    #[test]
    fn a_network_delay_at_a_leaf_raises_its_callers_series_but_not_its_own() {
        let (before, after) = raised("network_delay:30", "leaf");
        assert_eq!(before, RECORDED);
        assert_eq!(after, [130.0, 20.0, 80.0, 120.0, 70.0, 60.0]);
    }

    #[test]
    fn a_bad_fault_name_or_delay_is_refused_with_what_is_allowed() {
        assert!(
            "cpu"
                .parse::<Injection>()
                .unwrap_err()
                .contains("latency or network_delay")
        );
        assert!(
            "latency:-5"
                .parse::<Injection>()
                .unwrap_err()
                .contains("milliseconds")
        );
        assert_eq!(
            "network_delay".parse::<Injection>().unwrap(),
            Injection {
                kind: Kind::NetworkDelay,
                delay: 0.2
            }
        );
    }
}
