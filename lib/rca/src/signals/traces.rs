//! Spans: per-service latency and errors in the incident part against the baseline,
//! the time calls spend between caller and callee (network delay), and a caller
//! slowed around all its callees alike (busy).

use std::collections::{BTreeMap, HashMap};

use crate::observations::{Observations, Span};
use crate::stats;

/// What a service's spans show.
#[derive(Debug, Clone, Default)]
pub struct TraceChange {
    /// Log ratio of the median span duration, incident over baseline.
    pub duration: f64,
    /// Log ratio of the median self time (duration minus children), incident over
    /// baseline.
    pub self_time: f64,
    /// Rise of the share of failed spans.
    pub error_rise: f64,
    /// Largest log ratio of calls to one callee per call received.
    pub call_mix: f64,
    /// How much longer calls to it take outside its own spans (caller's span minus
    /// its span: the network both ways), as a log ratio incident over baseline, less
    /// what the same callers' other calls rose: a network delay on one service shows
    /// there and nowhere in its own spans. A busy caller slows all its calls alike,
    /// so that part is taken off.
    pub network: f64,
    /// How much longer its own calls to other services take outside their spans: the
    /// second largest rise over its callees (at least three callees). A
    /// service starved of CPU is slow to send and to read its calls, most around
    /// those its own work follows; a network delay is on one callee and moves one of
    /// them, so two callees slowed alike point at the caller.
    pub busy: f64,
    /// Spans in the incident part.
    pub incident_spans: usize,
    /// Median duration in the baseline and incident parts, milliseconds.
    pub median_ms: (f64, f64),
}

impl TraceChange {
    /// Its weight as evidence: a duration change either way (a failing service often
    /// answers faster), a self-time rise, failures, and calls it stopped or started
    /// making.
    pub fn score(&self) -> f64 {
        self.duration.abs().min(2.0)
            + self.self_time.clamp(0.0, 2.0)
            + 3.0 * self.error_rise.clamp(0.0, 1.0)
            + 0.5 * self.call_mix.min(2.0)
            + self.network.clamp(0.0, 3.0)
            + self.busy.clamp(0.0, 3.0)
    }
}

/// Time, µs, that `parent` spends around `child` but outside it: from the parent's
/// start to the child's start when no sibling call came first, and from the child's
/// end to the next sibling call or the parent's end. For a client span that is the
/// network both ways; between sequential sibling calls the time goes to the earlier
/// one (its response on the way back), never to both.
fn outside<'a>(child: &Span, parent: &Span, siblings: impl Iterator<Item = &'a Span>) -> f64 {
    let us = |t: f64| t * 1e6;
    let (start, end) = (us(child.start), us(child.start) + child.duration_us);
    let mut first = true;
    let mut to = us(parent.start) + parent.duration_us;
    for s in siblings {
        let (s_start, s_end) = (us(s.start), us(s.start) + s.duration_us);
        if s_end <= start && s_start < start {
            first = false;
        }
        if s_start >= end {
            to = to.min(s_start);
        }
    }
    let before = if first { start - us(parent.start) } else { 0.0 };
    before.max(0.0) + (to - end).max(0.0)
}

/// Callees a caller needs before the rise of its calls to two of them says it is
/// busy.
const MIN_CALLEES_FOR_BUSY: usize = 3;

/// The rises of the time callers' spans spend outside their callees' spans, from the
/// gaps of every caller -> callee edge: per callee, less what the same callers'
/// other calls rose ([`TraceChange::network`]); per caller, the rise of its calls
/// to a second callee ([`TraceChange::busy`]).
#[derive(Default)]
struct Delays {
    network: HashMap<String, f64>,
    busy: HashMap<String, f64>,
}

fn network_delays(mut gaps: HashMap<(&str, &str), [Vec<f64>; 2]>) -> Delays {
    let mut rises: Vec<(&str, &str, f64)> = Vec::new();
    for ((caller, callee), [base, incident]) in &mut gaps {
        if base.len() < 5 || incident.len() < 5 {
            continue;
        }
        let (g0, g1) = (stats::median(base), stats::median(incident));
        // 100 µs keeps sub-millisecond jitter from looking like a change.
        rises.push((caller, callee, ((g1 + 100.0) / (g0 + 100.0)).ln()));
    }
    let mut per_callee: HashMap<String, Vec<f64>> = HashMap::new();
    for (caller, callee, rise) in &rises {
        let mut others: Vec<f64> = rises
            .iter()
            .filter(|(c, e, _)| c == caller && e != callee)
            .map(|r| r.2)
            .collect();
        let common = stats::median(&mut others).max(0.0);
        per_callee
            .entry(callee.to_string())
            .or_default()
            .push(rise - common);
    }
    let mut per_caller: HashMap<&str, Vec<f64>> = HashMap::new();
    for (caller, _, rise) in &rises {
        per_caller.entry(caller).or_default().push(*rise);
    }
    Delays {
        network: per_callee
            .into_iter()
            .map(|(callee, mut r)| (callee, stats::median(&mut r)))
            .collect(),
        // The second largest rather than the median: a starved caller takes longer
        // around the calls its own work follows, not around every call (Online
        // Boutique's frontend with its CPU taken: x12 around its calls to currency
        // and checkout, x1.5 around the other five).
        busy: per_caller
            .into_iter()
            .filter(|(_, r)| r.len() >= MIN_CALLEES_FOR_BUSY)
            .map(|(caller, mut r)| {
                r.sort_by(|a, b| b.total_cmp(a));
                (caller.to_string(), r[1])
            })
            .collect(),
    }
}

/// Spans an operation needs in each part before its own change counts.
const MIN_SPANS_PER_OPERATION: usize = 3;

/// The median over a service's operations of the log ratio of their median duration
/// and self time, incident over baseline; `None` when no operation has
/// [`MIN_SPANS_PER_OPERATION`] spans in each part. Compared operation by operation,
/// a service whose mix of operations changed (fewer cheap calls, as many costly ones)
/// does not look slower or faster for it.
fn operation_ratios<'a>(
    base: &mut HashMap<&'a str, [Vec<f64>; 2]>,
    incident: &mut HashMap<&'a str, [Vec<f64>; 2]>,
) -> Option<(f64, f64)> {
    let ratio = |a: f64, b: f64| ((b + 100.0) / (a + 100.0)).ln();
    let (mut durations, mut self_times) = (Vec::new(), Vec::new());
    for (op, [d0, s0]) in base.iter_mut() {
        let Some([d1, s1]) = incident.get_mut(op) else {
            continue;
        };
        if d0.len() < MIN_SPANS_PER_OPERATION || d1.len() < MIN_SPANS_PER_OPERATION {
            continue;
        }
        durations.push(ratio(stats::median(d0), stats::median(d1)));
        self_times.push(ratio(stats::median(s0), stats::median(s1)));
    }
    (!durations.is_empty()).then(|| {
        (
            stats::median(&mut durations),
            stats::median(&mut self_times),
        )
    })
}

/// The spans' parent-child links, by position in [`Observations::spans`]: they do
/// not depend on where the incident part starts, so a ranking builds them once for
/// its three incident starts.
pub struct SpanTree {
    /// Each span's parent, when it is among the spans.
    parent: Vec<Option<usize>>,
    /// Each span's children's total duration, µs.
    child_time: Vec<f64>,
    /// The children of span `i` are `children[offsets[i]..offsets[i + 1]]`.
    offsets: Vec<usize>,
    children: Vec<usize>,
}

impl SpanTree {
    /// The links of `obs`'s spans (a span's id is unique within its trace).
    pub fn new(obs: &Observations) -> Self {
        let by_id: HashMap<(&str, &str), usize> = obs
            .spans
            .iter()
            .enumerate()
            .map(|(i, s)| ((s.trace_id.as_str(), s.span_id.as_str()), i))
            .collect();
        let parent: Vec<Option<usize>> = obs
            .spans
            .iter()
            .map(|s| {
                let p = s.parent_span_id.as_deref()?;
                by_id.get(&(s.trace_id.as_str(), p)).copied()
            })
            .collect();
        let n = obs.spans.len();
        let mut child_time = vec![0.0; n];
        let mut offsets = vec![0usize; n + 1];
        for (i, p) in parent.iter().enumerate() {
            if let Some(p) = *p {
                child_time[p] += obs.spans[i].duration_us;
                offsets[p + 1] += 1;
            }
        }
        for i in 0..n {
            offsets[i + 1] += offsets[i];
        }
        let mut next = offsets.clone();
        let mut children = vec![0usize; offsets[n]];
        for (i, p) in parent.iter().enumerate() {
            if let Some(p) = *p {
                children[next[p]] = i;
                next[p] += 1;
            }
        }
        Self {
            parent,
            child_time,
            offsets,
            children,
        }
    }

    fn children(&self, span: usize) -> &[usize] {
        &self.children[self.offsets[span]..self.offsets[span + 1]]
    }
}

/// Span changes per service; `tree` is [`SpanTree::new`] of `obs`.
pub fn trace_changes(
    obs: &Observations,
    tree: &SpanTree,
    split: f64,
) -> BTreeMap<String, TraceChange> {
    #[derive(Default)]
    struct Side<'a> {
        durations: Vec<f64>,
        self_times: Vec<f64>,
        /// Per operation: durations and self times.
        operations: HashMap<&'a str, [Vec<f64>; 2]>,
        errors: usize,
        known: usize,
        received: usize,
        calls: HashMap<&'a str, usize>,
    }
    let mut sides: HashMap<&str, [Side; 2]> = HashMap::new();
    // Per (caller, callee): time outside the callee's span, µs, per part.
    let mut gaps: HashMap<(&str, &str), [Vec<f64>; 2]> = HashMap::new();
    for (i, s) in obs.spans.iter().enumerate() {
        let k = usize::from(s.start >= split);
        let own_children = tree.child_time[i];
        let side = &mut sides.entry(s.service.as_str()).or_default()[k];
        let self_time = (s.duration_us - own_children).max(0.0);
        side.durations.push(s.duration_us);
        side.self_times.push(self_time);
        let op = side.operations.entry(s.operation.as_str()).or_default();
        op[0].push(s.duration_us);
        op[1].push(self_time);
        if let Some(e) = s.error {
            side.known += 1;
            side.errors += usize::from(e);
        }
        match tree.parent[i].map(|p| (p, &obs.spans[p])) {
            Some((pi, p)) if p.service != s.service => {
                let siblings = tree.children(pi).iter().map(|j| &obs.spans[*j]);
                gaps.entry((p.service.as_str(), s.service.as_str()))
                    .or_default()[k]
                    .push(outside(s, p, siblings));
                side.received += 1;
                let pk = usize::from(p.start >= split);
                *sides.entry(p.service.as_str()).or_default()[pk]
                    .calls
                    .entry(s.service.as_str())
                    .or_default() += 1;
            }
            Some(_) => {}
            None => sides.entry(s.service.as_str()).or_default()[k].received += 1,
        }
    }
    let delays = network_delays(gaps);
    let mut out = BTreeMap::new();
    for (service, [base, incident]) in &mut sides {
        if incident.durations.len() < 5 || base.durations.len() < 5 {
            continue;
        }
        let (d0, d1) = (
            stats::median(&mut base.durations),
            stats::median(&mut incident.durations),
        );
        let (s0, s1) = (
            stats::median(&mut base.self_times),
            stats::median(&mut incident.self_times),
        );
        // 100 µs keeps sub-millisecond jitter from looking like a change.
        let ratio = |a: f64, b: f64| ((b + 100.0) / (a + 100.0)).ln();
        let (duration, self_time) =
            operation_ratios(&mut base.operations, &mut incident.operations)
                .unwrap_or((ratio(d0, d1), ratio(s0, s1)));
        let share = |e: usize, n: usize| if n == 0 { 0.0 } else { e as f64 / n as f64 };
        let (n0, n1) = (base.received.max(1) as f64, incident.received.max(1) as f64);
        let call_mix = base
            .calls
            .keys()
            .chain(incident.calls.keys())
            .map(|c| {
                let r0 = base.calls.get(c).copied().unwrap_or(0) as f64 / n0;
                let r1 = incident.calls.get(c).copied().unwrap_or(0) as f64 / n1;
                ((r1 + 0.02) / (r0 + 0.02)).ln().abs()
            })
            .fold(0.0, f64::max);
        out.insert(
            service.to_string(),
            TraceChange {
                duration,
                self_time,
                error_rise: share(incident.errors, incident.known) - share(base.errors, base.known),
                call_mix,
                network: delays.network.get(*service).copied().unwrap_or(0.0),
                busy: delays.busy.get(*service).copied().unwrap_or(0.0),
                incident_spans: incident.durations.len(),
                median_ms: (d0 / 1000.0, d1 / 1000.0),
            },
        );
    }
    out
}
