//! Spans: per-service latency and errors in the incident part against the baseline,
//! the time calls spend between caller and callee (network delay), and a caller
//! slowed around all its callees alike (busy).

use std::collections::{BTreeMap, HashMap};

use crate::observations::{Observations, Span};
use crate::stats;

/// What a service's spans show.
#[derive(Debug, Clone)]
pub struct TraceChange {
    /// Log ratio of the median span duration, incident over baseline, operation by
    /// operation (the median over its operations that serve requests, or over all
    /// when none has enough spans; `operation_ratios`).
    pub duration: f64,
    /// Log ratio of the median self time (duration minus children), incident over
    /// baseline.
    pub self_time: f64,
    /// Rise of the share of failed spans.
    pub error_rise: f64,
    /// Largest log ratio of calls to one callee per span of the operation making
    /// them, operation by operation (`call_mix`): an operation that throws or
    /// returns half way stops making its later calls, while a service whose mix of
    /// operations changed makes each operation's calls as before.
    pub call_mix: f64,
    /// How much longer calls to it take outside its own spans (caller's span minus
    /// its span: the network both ways), as a log ratio incident over baseline, less
    /// the most any of the same callers' other calls rose: a network delay on one
    /// service shows there and nowhere in its own spans. A busy caller slows several
    /// of its calls alike, so that part is taken off.
    pub network: f64,
    /// How much longer its own calls to other services take outside their spans: the
    /// second largest rise over its callees (at least three callees). A
    /// service starved of CPU is slow to send and to read its calls, most around
    /// those its own work follows; a network delay is on one callee and moves one of
    /// them, so two callees slowed alike point at the caller.
    pub busy: f64,
    /// Spans in the incident part.
    pub incident_spans: usize,
    /// The share of its duration, self time and call mix that counts, from how many
    /// spans show them: a median of five spans, or five spans' calls, moves far by
    /// chance (Train Ticket's traces come in bursts, and a service with five spans
    /// after the start showed a duration x12 and a call mix x50 in ranges without a
    /// fault). All of them moving the same way has a chance of 2^-spans
    /// ([`stats::sign_test_weight`]): none up to 6 spans, in full from 14. 1 when not
    /// weighed ([`crate::Settings::span_counts`]).
    pub count_weight: f64,
    /// Median duration in the baseline and incident parts, milliseconds.
    pub median_ms: (f64, f64),
}

impl TraceChange {
    /// Its weight as evidence: a duration change either way (a failing service often
    /// answers faster), a self-time rise, failures, calls it stopped or started
    /// making, and a network delay in front of it.
    pub fn score(&self) -> f64 {
        self.own_score() + self.network_score()
    }

    /// The evidence of its own spans and calls: all of [`Self::score`] but the
    /// network delay in front of it.
    pub fn own_score(&self) -> f64 {
        self.count_weight
            * (self.duration.abs().min(2.0)
                + self.self_time.clamp(0.0, 2.0)
                + 0.5 * self.call_mix.min(2.0))
            + 3.0 * self.error_rise.clamp(0.0, 1.0)
            + self.busy.clamp(0.0, 3.0)
    }

    /// The network delay in front of the service as evidence (part of [`Self::score`]).
    pub fn network_score(&self) -> f64 {
        self.network.clamp(0.0, 3.0)
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
/// to a second callee ([`TraceChange::busy`]). By service id of [`SpanTree`].
#[derive(Default)]
struct Delays {
    network: HashMap<u32, f64>,
    busy: HashMap<u32, f64>,
}

/// Per callee, the median over its callers of the rise of the time their calls to
/// it spend outside its spans, less what is common to the caller: the largest rise
/// of its calls to other callees, or its own network delay in `own` if larger. A
/// delay on the wire is in front of one callee; a caller slow to send and read its
/// calls (starved of CPU) slows several alike, and two callees slowed alike point
/// at the caller (its `busy`), not at either callee. The median of the other
/// calls left such a caller's two or three slowest callees each a network delay
/// (Online Boutique's frontend with its CPU taken: checkout and currency).
fn network_per_callee(
    per_caller: &BTreeMap<u32, Vec<(u32, f64)>>,
    own: &HashMap<u32, f64>,
) -> HashMap<u32, f64> {
    let mut per_callee: HashMap<u32, Vec<f64>> = HashMap::new();
    for (caller, rises) in per_caller {
        let own = own.get(caller).copied().unwrap_or(0.0);
        for (callee, rise) in rises {
            let common = rises
                .iter()
                .filter(|(c, _)| c != callee)
                .map(|r| r.1)
                .fold(own.max(0.0), f64::max);
            per_callee.entry(*callee).or_default().push(rise - common);
        }
    }
    per_callee
        .into_iter()
        .map(|(callee, mut r)| (callee, stats::median(&mut r)))
        .collect()
}

/// `gaps[pair]` are the gaps of [`SpanTree`]'s caller -> callee pair `pair`, per part.
fn network_delays(tree: &SpanTree, gaps: &mut [[Vec<f64>; 2]]) -> Delays {
    // Per caller: (callee, rise) of each of its edges with enough calls.
    let mut per_caller: BTreeMap<u32, Vec<(u32, f64)>> = BTreeMap::new();
    for (pair, [base, incident]) in gaps.iter_mut().enumerate() {
        if base.len() < 5 || incident.len() < 5 {
            continue;
        }
        let (g0, g1) = (stats::median(base), stats::median(incident));
        let (caller, callee) = tree.pairs[pair];
        // 100 µs keeps sub-millisecond jitter from looking like a change.
        per_caller
            .entry(caller)
            .or_default()
            .push((callee, ((g1 + 100.0) / (g0 + 100.0)).ln()));
    }
    // What the wire in front of each callee took: first less what the same
    // caller's other calls rose; then also less the caller's own such delay, when
    // its own packets leave late (a delay on its interface slows its answers and its
    // calls alike, and with one callee there are no other calls to show it).
    let first = network_per_callee(&per_caller, &HashMap::new());
    let network = network_per_callee(&per_caller, &first);
    Delays {
        network,
        // The second largest rather than the median: a starved caller takes longer
        // around the calls its own work follows, not around every call (Online
        // Boutique's frontend with its CPU taken: x12 around its calls to currency
        // and checkout, x1.5 around the other five).
        busy: per_caller
            .into_iter()
            .filter(|(_, r)| r.len() >= MIN_CALLEES_FOR_BUSY)
            .map(|(caller, r)| {
                let mut r: Vec<f64> = r.into_iter().map(|(_, rise)| rise).collect();
                r.sort_by(|a, b| b.total_cmp(a));
                (caller, r[1])
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
/// does not look slower or faster for it. `operations` are the service's, each
/// `[part][duration or self time]` with whether it serves requests (its spans are
/// called by another service or begin a trace).
///
/// The duration is taken over the operations that serve requests when one has
/// enough spans: that is the time its callers wait. A service's inner spans (its
/// queries, repository and framework methods) outnumber them, and a request
/// slowed outside them (a slow handler, a lock, a pause) moves none of them, so a
/// median over all its operations did not move at all (the partly synthetic
/// latency of `aegis eval --inject`). The self time stays over all operations: it
/// is where inside the service the time went.
fn operation_ratios<'a>(
    operations: impl Iterator<Item = (&'a mut [[Vec<f64>; 2]; 2], bool)>,
) -> Option<(f64, f64)> {
    let ratio = |a: f64, b: f64| ((b + 100.0) / (a + 100.0)).ln();
    let (mut durations, mut served, mut self_times) = (Vec::new(), Vec::new(), Vec::new());
    for ([[d0, s0], [d1, s1]], serves) in operations {
        if d0.len() < MIN_SPANS_PER_OPERATION || d1.len() < MIN_SPANS_PER_OPERATION {
            continue;
        }
        let duration = ratio(stats::median(d0), stats::median(d1));
        durations.push(duration);
        if serves {
            served.push(duration);
        }
        self_times.push(ratio(stats::median(s0), stats::median(s1)));
    }
    if !served.is_empty() {
        durations = served;
    }
    (!durations.is_empty()).then(|| {
        (
            stats::median(&mut durations),
            stats::median(&mut self_times),
        )
    })
}

/// Largest log ratio, incident over baseline, of the calls to one callee per span
/// of the operation that makes them: `by_operation` is each (caller's operation,
/// callee) as (the operation's spans, its calls to the callee), per part. Only
/// operations with [`MIN_SPANS_PER_OPERATION`] spans in each part count; when none
/// has, `pooled` (the service's calls received, its calls to each callee) is taken
/// instead, as [`operation_ratios`] falls back to the pooled durations.
fn call_mix(
    by_operation: impl Iterator<Item = ([usize; 2], [usize; 2])>,
    pooled: impl Iterator<Item = ([usize; 2], [usize; 2])>,
) -> f64 {
    let rise = |([n0, n1], [c0, c1]): ([usize; 2], [usize; 2])| {
        let (r0, r1) = (c0 as f64 / n0.max(1) as f64, c1 as f64 / n1.max(1) as f64);
        ((r1 + 0.02) / (r0 + 0.02)).ln().abs()
    };
    let enough = |([n0, n1], _): &([usize; 2], [usize; 2])| {
        *n0 >= MIN_SPANS_PER_OPERATION && *n1 >= MIN_SPANS_PER_OPERATION
    };
    by_operation
        .filter(enough)
        .map(rise)
        .reduce(f64::max)
        .or_else(|| {
            pooled
                .filter(|(_, [c0, c1])| *c0 > 0 || *c1 > 0)
                .map(rise)
                .reduce(f64::max)
        })
        .unwrap_or(0.0)
}

/// How a span hangs in its trace.
#[derive(Debug, Clone, Copy)]
enum Link {
    /// Its parent is not among the spans: a request the service received.
    Root,
    /// Its parent is a span of the same service.
    Inner,
    /// A call from another service's span.
    Call {
        /// The caller -> callee pair, an index into [`SpanTree::pairs`].
        pair: u32,
        /// The operation of the caller's span, an operation id of [`SpanTree`].
        caller_operation: u32,
        /// The caller's span's start, unix seconds.
        caller_start: f64,
        /// The time the caller's span spends around it but outside it, µs.
        gap: f64,
    },
}

/// What the spans' comparison needs that does not depend on where the incident
/// part starts, worked out once for a ranking's three incident starts: the services
/// and operations as small ids, each span's self time, and each call between
/// services with the time it spent between them.
pub struct SpanTree {
    /// Service names by id.
    services: Vec<String>,
    /// Each service's operation ids.
    operations_of: Vec<Vec<u32>>,
    /// Per operation id: whether it serves requests (a span of it is called by
    /// another service's or begins a trace).
    serves: Vec<bool>,
    /// Operations (of one service each) in all.
    operations: usize,
    /// Caller -> callee pairs by id (service ids).
    pairs: Vec<(u32, u32)>,
    /// Each caller's pair ids.
    pairs_of: Vec<Vec<u32>>,
    /// Per span: its service id, its operation id, its self time (µs), its link.
    spans: Vec<(u32, u32, f64, Link)>,
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
        drop(by_id);
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
        let mut service_ids: HashMap<&str, u32> = HashMap::new();
        let mut operation_ids: HashMap<(u32, &str), u32> = HashMap::new();
        let mut pair_ids: HashMap<(u32, u32), u32> = HashMap::new();
        let mut tree = Self {
            services: Vec::new(),
            operations_of: Vec::new(),
            serves: Vec::new(),
            operations: 0,
            pairs: Vec::new(),
            pairs_of: Vec::new(),
            spans: Vec::with_capacity(n),
        };
        let mut ids: Vec<u32> = Vec::with_capacity(n);
        for s in &obs.spans {
            let next = tree.services.len() as u32;
            let id = *service_ids.entry(s.service.as_str()).or_insert(next);
            if id == next {
                tree.services.push(s.service.clone());
                tree.operations_of.push(Vec::new());
                tree.pairs_of.push(Vec::new());
            }
            ids.push(id);
        }
        let operation_of: Vec<u32> = obs
            .spans
            .iter()
            .zip(&ids)
            .map(|(s, &service)| {
                *operation_ids
                    .entry((service, s.operation.as_str()))
                    .or_insert_with(|| {
                        tree.operations_of[service as usize].push(tree.operations as u32);
                        tree.operations += 1;
                        (tree.operations - 1) as u32
                    })
            })
            .collect();
        tree.serves = vec![false; tree.operations];
        for (i, s) in obs.spans.iter().enumerate() {
            let (service, operation) = (ids[i], operation_of[i]);
            let link = match parent[i] {
                None => Link::Root,
                Some(p) if ids[p] == service => Link::Inner,
                Some(p) => {
                    let caller = ids[p];
                    let pair = *pair_ids.entry((caller, service)).or_insert_with(|| {
                        tree.pairs.push((caller, service));
                        tree.pairs_of[caller as usize].push((tree.pairs.len() - 1) as u32);
                        (tree.pairs.len() - 1) as u32
                    });
                    let siblings = children[offsets[p]..offsets[p + 1]]
                        .iter()
                        .map(|j| &obs.spans[*j]);
                    Link::Call {
                        pair,
                        caller_operation: operation_of[p],
                        caller_start: obs.spans[p].start,
                        gap: outside(s, &obs.spans[p], siblings),
                    }
                }
            };
            let self_time = (s.duration_us - child_time[i]).max(0.0);
            tree.serves[operation as usize] |= !matches!(link, Link::Inner);
            tree.spans.push((service, operation, self_time, link));
        }
        tree
    }
}

/// Span changes per service; `tree` is [`SpanTree::new`] of `obs`. With
/// `with_counts`, each service's duration, self time and call mix are weighed by
/// its span count in the incident part ([`TraceChange::count_weight`]).
pub fn trace_changes(
    obs: &Observations,
    tree: &SpanTree,
    split: f64,
    with_counts: bool,
) -> BTreeMap<String, TraceChange> {
    #[derive(Default)]
    struct Side {
        durations: Vec<f64>,
        self_times: Vec<f64>,
        errors: usize,
        known: usize,
        received: usize,
    }
    let mut sides: Vec<[Side; 2]> = (0..tree.services.len())
        .map(|_| Default::default())
        .collect();
    // Per operation: [part][duration or self time].
    let mut operations: Vec<[[Vec<f64>; 2]; 2]> =
        (0..tree.operations).map(|_| Default::default()).collect();
    // Per caller -> callee pair: time outside the callee's span, µs, per part; and
    // calls per part of the caller's span.
    let mut gaps: Vec<[Vec<f64>; 2]> = (0..tree.pairs.len()).map(|_| Default::default()).collect();
    let mut calls: Vec<[usize; 2]> = vec![[0, 0]; tree.pairs.len()];
    // Per (caller's operation, pair): calls per part; and spans per operation and part.
    let mut operation_calls: HashMap<(u32, u32), [usize; 2]> = HashMap::new();
    let mut operation_spans: Vec<[usize; 2]> = vec![[0, 0]; tree.operations];
    for (s, (service, operation, self_time, link)) in obs.spans.iter().zip(&tree.spans) {
        let k = usize::from(s.start >= split);
        let side = &mut sides[*service as usize][k];
        side.durations.push(s.duration_us);
        side.self_times.push(*self_time);
        operation_spans[*operation as usize][k] += 1;
        let op = &mut operations[*operation as usize][k];
        op[0].push(s.duration_us);
        op[1].push(*self_time);
        if let Some(e) = s.error {
            side.known += 1;
            side.errors += usize::from(e);
        }
        match link {
            Link::Call {
                pair,
                caller_operation,
                caller_start,
                gap,
            } => {
                gaps[*pair as usize][k].push(*gap);
                side.received += 1;
                let part = usize::from(*caller_start >= split);
                calls[*pair as usize][part] += 1;
                operation_calls
                    .entry((*caller_operation, *pair))
                    .or_default()[part] += 1;
            }
            Link::Inner => {}
            Link::Root => side.received += 1,
        }
    }
    let delays = network_delays(tree, &mut gaps);
    let (operation_calls, operation_spans) = (&operation_calls, &operation_spans);
    let mut out = BTreeMap::new();
    for (id, [base, incident]) in sides.iter_mut().enumerate() {
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
        let mut mine: Vec<([[Vec<f64>; 2]; 2], bool)> = tree.operations_of[id]
            .iter()
            .map(|o| {
                let o = *o as usize;
                (std::mem::take(&mut operations[o]), tree.serves[o])
            })
            .collect();
        let (duration, self_time) =
            operation_ratios(mine.iter_mut().map(|(o, serves)| (o, *serves)))
                .unwrap_or((ratio(d0, d1), ratio(s0, s1)));
        let share = |e: usize, n: usize| if n == 0 { 0.0 } else { e as f64 / n as f64 };
        let received = [base.received, incident.received];
        let call_mix = call_mix(
            tree.operations_of[id].iter().flat_map(|o| {
                let spans = operation_spans[*o as usize];
                tree.pairs_of[id]
                    .iter()
                    .filter_map(move |p| operation_calls.get(&(*o, *p)))
                    .map(move |c| (spans, *c))
            }),
            tree.pairs_of[id]
                .iter()
                .map(|p| (received, calls[*p as usize])),
        );
        let id = id as u32;
        out.insert(
            tree.services[id as usize].clone(),
            TraceChange {
                duration,
                self_time,
                error_rise: share(incident.errors, incident.known) - share(base.errors, base.known),
                call_mix,
                network: delays.network.get(&id).copied().unwrap_or(0.0),
                busy: delays.busy.get(&id).copied().unwrap_or(0.0),
                incident_spans: incident.durations.len(),
                count_weight: if with_counts {
                    stats::sign_test_weight(incident.durations.len())
                } else {
                    1.0
                },
                median_ms: (d0 / 1000.0, d1 / 1000.0),
            },
        );
    }
    out
}
