//! Per-service evidence: how each service's metrics, error logs and spans changed
//! between the baseline part of the range and the incident part.

use std::collections::{BTreeMap, HashMap, HashSet};

use super::catalog::{Kind, Signal};
use super::observations::{Observations, Span};
use super::stats::{self, Shift, ShiftOptions};
use super::template;
use aegis_tools::logline::{self, Severity};

/// The part of the range always taken as baseline: the fault starts at least this
/// long after the range start (the incident datasets promise 5 minutes; an alert's
/// default 15-minute range has it too).
pub const BASELINE_SECONDS: f64 = 300.0;

/// The part of the range's baseline just before the incident part that the log
/// comparison leaves out: the incident start is an estimate, and a fault often shows
/// in the logs a little before the alert or the question says (on the dev datasets
/// about a minute before the recorded fault start), so that minute would make the
/// baseline look like the incident.
pub(super) const GUARD_SECONDS: f64 = 60.0;

/// Weight of a change in the mix of a service's log templates.
const LOG_MIX_WEIGHT: f64 = 1.0;

/// Lines each part needs before its template mix is compared.
const MIN_LINES_FOR_MIX: usize = 5;

/// A signal that departed from its level.
#[derive(Debug, Clone)]
pub struct MetricShift {
    /// The signal.
    pub signal: Signal,
    /// The departure.
    pub shift: Shift,
}

impl MetricShift {
    /// Its weight as evidence: z capped at 10, times the effect capped by its kind
    /// ([`Kind::effect_cap`]), times the kind's weight. Changes in the harmless
    /// direction score 0.
    pub fn score(&self) -> f64 {
        if self.signal.kind.rise_only() && self.shift.effect <= 0.0 {
            return 0.0;
        }
        self.signal.kind.weight()
            * (self.shift.z.abs().min(10.0) / 10.0)
            * self.shift.effect.abs().min(self.signal.kind.effect_cap())
    }
}

/// What a service's error logs show.
#[derive(Debug, Clone, Default)]
pub struct LogChange {
    /// Rise of error and warning templates, in per-minute rate units scaled by the
    /// baseline's Poisson noise, summed over templates.
    pub surge: f64,
    /// Error or warning templates that the baseline part does not have.
    pub new_templates: usize,
    /// Error and warning lines in the incident part.
    pub incident_errors: usize,
    /// Error and warning lines in the baseline part.
    pub baseline_errors: usize,
    /// The templates that rose most: (template, count in the incident part, a line).
    pub top: Vec<(String, usize, String)>,
    /// Every template that rose: (its rise, a line).
    pub rising: Vec<(f64, String)>,
    /// How much the mix of all its templates (any level) changed: the symmetric
    /// Kullback-Leibler divergence of the two parts' template frequencies. A service
    /// whose code path changed logs different lines, errors or not.
    pub mix_shift: f64,
    /// Whether its rising errors name other services; set by [`mentions`].
    pub blame: Option<Blame>,
}

/// A service's rising errors that name another service ("No instances available for
/// ts-payment-service"): a service that reports a callee's failure is its victim,
/// not its cause.
#[derive(Debug, Clone, PartialEq)]
pub struct Blame {
    /// Share of the rise of its error templates whose lines name another service.
    pub share: f64,
    /// The service they name most.
    pub service: String,
}

impl LogChange {
    /// Its weight as evidence.
    pub fn score(&self) -> f64 {
        (self.surge / 5.0).min(2.0)
            + 0.3 * (self.new_templates.min(3) as f64)
            + LOG_MIX_WEIGHT * self.mix_shift.min(2.0)
    }
}

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
    /// second largest rise over its callees (at least [`MIN_CALLEES_FOR_BUSY`]). A
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

/// Everything found about one service.
#[derive(Debug, Clone, Default)]
pub struct ServiceChange {
    /// Metric departures, strongest first.
    pub metrics: Vec<MetricShift>,
    /// Error logs, when there are any.
    pub logs: Option<LogChange>,
    /// Spans, when there are enough.
    pub traces: Option<TraceChange>,
    /// Other services' rising errors that name it.
    pub mentions: Option<Mentions>,
    /// How far what it logs drifted from what it normally logs.
    pub drift: Option<LogDrift>,
    /// The pair of its log templates that kept a ratio and broke it most.
    pub invariant: Option<super::invariants::BrokenInvariant>,
    /// The traffic invariant it leads that broke most: its requests stopped
    /// reaching a service whose traffic followed its own.
    pub traffic: Option<super::traffic::TrafficBreak>,
}

impl ServiceChange {
    /// Metric evidence: the strongest departure counts fully, each next one half as
    /// much as the one before, so one signal cannot be outvoted by many echoes.
    pub fn metric_score(&self) -> f64 {
        let mut parts: Vec<f64> = self.metrics.iter().map(MetricShift::score).collect();
        parts.sort_by(|a, b| b.total_cmp(a));
        parts
            .iter()
            .enumerate()
            .map(|(i, p)| p * 0.5f64.powi(i as i32))
            .sum()
    }

    /// Earliest onset among the clear metric departures.
    pub fn onset(&self) -> Option<f64> {
        self.metrics
            .iter()
            .filter(|m| m.score() >= 0.3)
            .map(|m| m.shift.onset)
            .min_by(f64::total_cmp)
    }
}

/// The metric departures of every service.
pub fn metric_changes(obs: &Observations) -> BTreeMap<String, Vec<MetricShift>> {
    let mut out: BTreeMap<String, Vec<MetricShift>> = BTreeMap::new();
    let from = obs.start + BASELINE_SECONDS;
    for metric in &obs.metrics {
        let opts = ShiftOptions {
            from,
            rise_only: metric.signal.kind.rise_only(),
            zero_floor: (metric.signal.kind == Kind::Errors || metric.signal.kind == Kind::Health)
                .then_some(1e-3),
        };
        for (service, points) in &metric.series {
            if let Some(shift) = stats::shift(points, opts) {
                out.entry(service.clone()).or_default().push(MetricShift {
                    signal: metric.signal.clone(),
                    shift,
                });
            }
        }
    }
    for shifts in out.values_mut() {
        shifts.sort_by(|a, b| b.score().total_cmp(&a.score()));
    }
    out
}

/// How long before an alert fires its fault is taken to have begun: alerting rules
/// usually wait a minute or more (`for:`) before firing, after a scrape or two.
pub const ALERT_LEAD_SECONDS: f64 = 120.0;

/// Where the incident part begins. With an onset hint (the alert that asked for
/// the analysis fired at a known time), [`ALERT_LEAD_SECONDS`] before it; else the
/// last third of the range: a question or an alert comes while the incident is on,
/// so its range ends near the present and the change sits late in it. Never inside
/// the guaranteed baseline, never in the last minute. (Estimating the onset from the
/// median onset of the strongest metric shifts was tried and did worse: the tail of
/// an earlier incident in the same range dominates it.)
///
/// When the logs and spans end before that part begins (a source that kept only
/// some minutes, a collector that stopped), the same rule is applied to the part of
/// the range they cover instead: an incident part with nothing in it cannot show
/// anything.
pub fn incident_start(obs: &Observations) -> f64 {
    let guess = |from: f64, to: f64| {
        obs.onset_hint
            .map_or(to - (to - from) / 3.0, |hint| hint - ALERT_LEAD_SECONDS)
    };
    let split = guess(obs.start, obs.end)
        .min(obs.end - 60.0)
        .max(obs.start + BASELINE_SECONDS);
    match covered(obs) {
        Some((first, last)) if last <= split && last - first >= 120.0 => guess(first, last)
            .min(last - 60.0)
            .max(first + (last - first) / 3.0),
        _ => split,
    }
}

/// The first and last log line or span inside the range, if any. Metrics are left
/// out: a range query repeats a series' last sample for minutes after it stopped.
fn covered(obs: &Observations) -> Option<(f64, f64)> {
    let times = obs
        .logs
        .iter()
        .map(|l| l.time)
        .chain(obs.spans.iter().map(|s| s.start))
        .filter(|t| (obs.start..=obs.end).contains(t));
    times.fold(None, |acc, t| match acc {
        None => Some((t, t)),
        Some((a, b)) => Some((f64::min(a, t), f64::max(b, t))),
    })
}

/// Services that other services' rising error lines name ("No instances available
/// for ts-route-service", "connection refused: cartservice:7070"): a caller's error
/// often says which callee failed.
#[derive(Debug, Clone, Default)]
pub struct Mentions {
    /// Sum of the rises of the templates that name the service.
    pub surge: f64,
    /// The services whose lines name it.
    pub by: std::collections::BTreeSet<String>,
    /// One such line.
    pub example: String,
}

impl Mentions {
    /// Its weight as evidence.
    pub fn score(&self) -> f64 {
        (self.surge / 5.0).min(2.0)
    }
}

/// Which known services `line` names, as whole words (a name followed by a letter,
/// digit or `-` is another, longer name).
fn named_services<'a>(line: &str, services: &'a [String]) -> Vec<&'a str> {
    services
        .iter()
        .filter(|s| s.len() >= 4)
        .filter(|s| {
            line.match_indices(s.as_str()).any(|(i, _)| {
                let before = line[..i].chars().next_back();
                let after = line[i + s.len()..].chars().next();
                let word = |c: Option<char>| {
                    c.is_some_and(|c| c.is_alphanumeric() || c == '-' || c == '_')
                };
                !word(before) && !word(after)
            })
        })
        .map(String::as_str)
        .collect()
}

/// Credits every service named by another service's rising error templates, and
/// records on each writer how much of its rise blames others ([`LogChange::blame`]).
pub fn mentions(
    obs: &Observations,
    logs: &mut BTreeMap<String, LogChange>,
) -> BTreeMap<String, Mentions> {
    let services: Vec<String> = obs.services().into_iter().collect();
    let mut out: BTreeMap<String, Mentions> = BTreeMap::new();
    for (writer, change) in logs.iter_mut() {
        let (mut total, mut blaming) = (0.0, 0.0);
        let mut named_rise: BTreeMap<&str, f64> = BTreeMap::new();
        for (rise, example) in &change.rising {
            total += rise;
            let named: Vec<&str> = named_services(example, &services)
                .into_iter()
                .filter(|n| n != writer)
                .collect();
            if !named.is_empty() {
                blaming += rise;
            }
            for named in named {
                *named_rise.entry(named).or_default() += rise;
                let m = out.entry(named.to_string()).or_default();
                m.surge += rise;
                m.by.insert(writer.clone());
                if m.example.is_empty() {
                    m.example = example.clone();
                }
            }
        }
        change.blame = named_rise
            .into_iter()
            .max_by(|a, b| a.1.total_cmp(&b.1))
            .map(|(service, _)| Blame {
                share: blaming / total,
                service: service.to_string(),
            });
    }
    out
}

/// Every log line's template, in the order of [`Observations::logs`]: computed once
/// for [`log_changes`] and [`log_drift`].
pub fn templates(obs: &Observations) -> Vec<String> {
    obs.logs
        .iter()
        .map(|l| template::template(&l.line))
        .collect()
}

/// Log changes per service, splitting the range at `split`: error and warning
/// templates that rose, and how much the mix of all templates changed. `templates`
/// are the lines' templates ([`templates`]).
pub fn log_changes(
    obs: &Observations,
    templates: &[String],
    split: f64,
) -> BTreeMap<String, LogChange> {
    /// Per template: (count, severity, one line).
    type Counts<'a> = HashMap<&'a str, (usize, Severity, &'a str)>;
    let mut sides: HashMap<&str, [Counts; 2]> = HashMap::new();
    // Minutes that have any line at all: sources that only kept some minutes must not
    // read as silence.
    let mut minutes = [HashSet::new(), HashSet::new()];
    // The history before the range is for [`log_drift`]; here the range's own
    // baseline part, less the guard before the split, is compared with its incident
    // part. When the guard holds most of the baseline (a source that kept only the
    // minutes around the incident), it stays in: a baseline of a few seconds would
    // make every line look new or surging.
    let guard_from = split - GUARD_SECONDS;
    let count = |from: f64, to: f64| {
        obs.logs
            .iter()
            .filter(|l| (from..to).contains(&l.time))
            .count()
    };
    let guard_from = if 2 * count(obs.start, guard_from) >= count(guard_from, split).max(1) {
        guard_from
    } else {
        split
    };
    // Per service and error template, its count in each baseline minute.
    let mut error_minutes: HashMap<(&str, &str), HashMap<i64, usize>> = HashMap::new();
    for (l, t) in obs.logs.iter().zip(templates) {
        if l.time < obs.start || (guard_from..split).contains(&l.time) {
            continue;
        }
        let k = usize::from(l.time >= split);
        let minute = ((l.time - obs.start) / 60.0).floor() as i64;
        minutes[k].insert(minute);
        let entry = sides.entry(l.service.as_str()).or_default()[k]
            .entry(t.as_str())
            .or_insert_with(|| (0, logline::severity(&l.line), l.line.as_str()));
        entry.0 += 1;
        if k == 0 && entry.1 != Severity::Info {
            *error_minutes
                .entry((l.service.as_str(), t.as_str()))
                .or_default()
                .entry(minute)
                .or_default() += 1;
        }
    }
    let base_min = minutes[0].len().max(1) as f64;
    let incident_min = minutes[1].len().max(1) as f64;
    let mut out = BTreeMap::new();
    for (service, [before, after]) in &sides {
        let is_error = |c: &(usize, Severity, &str)| c.1 != Severity::Info;
        let mut change = LogChange {
            baseline_errors: before.values().filter(|c| is_error(c)).map(|c| c.0).sum(),
            mix_shift: mix_shift(before, after),
            ..LogChange::default()
        };
        let mut rises = Vec::new();
        // Errors are expected to rise and fall with everything the service logs: a
        // burst of requests writes more of its usual warnings without anything being
        // wrong. The baseline's rate is scaled by the change of its line rate, when
        // both parts have enough lines to tell.
        let lines = |side: &Counts| side.values().map(|c| c.0).sum::<usize>();
        let (n0, n1) = (lines(before), lines(after));
        let volume = if n0 >= MIN_LINES_FOR_MIX && n1 >= MIN_LINES_FOR_MIX {
            (n1 as f64 / incident_min) / (n0 as f64 / base_min)
        } else {
            1.0
        };
        for (tpl, c) in after.iter().filter(|(_, c)| is_error(c)) {
            let (count, example) = (c.0, c.2);
            change.incident_errors += count;
            let was = before.get(tpl).map_or(0, |v| v.0);
            if was == 0 {
                change.new_templates += 1;
            }
            // Its usual rate: the lower of the baseline's mean and its median minute.
            // The same fault minutes earlier (faults recur) fills a few baseline
            // minutes with these errors and raises the mean, not the median of
            // minutes that mostly had none.
            let usual = error_minutes
                .get(&(*service, *tpl))
                .map_or(0.0, |per_minute| {
                    (was as f64 / base_min).min(median_minute(per_minute, &minutes[0]))
                });
            let (r0, r1) = (volume * usual, count as f64 / incident_min);
            let rise = (r1 - r0) / (r0 + 1.0).sqrt();
            if rise > 0.0 {
                change.surge += rise;
                rises.push((rise, tpl.to_string(), count, example.to_string()));
            }
        }
        rises.sort_by(|a, b| b.0.total_cmp(&a.0));
        change.rising = rises.iter().map(|r| (r.0, r.3.clone())).collect();
        change.top = rises
            .into_iter()
            .take(3)
            .map(|(_, t, c, e)| (t, c, e))
            .collect();
        if change.incident_errors > 0 || change.mix_shift > 0.0 {
            out.insert(service.to_string(), change);
        }
    }
    out
}

/// The median of a template's count per minute over `minutes` (the minutes with any
/// line: a minute the source did not keep is not a minute without the template).
fn median_minute(per_minute: &HashMap<i64, usize>, minutes: &HashSet<i64>) -> f64 {
    let mut counts: Vec<f64> = minutes
        .iter()
        .map(|m| per_minute.get(m).copied().unwrap_or(0) as f64)
        .collect();
    stats::median(&mut counts)
}

/// Symmetric KL divergence of two template histograms, with add-½ smoothing so a
/// template seen on one side only counts but cannot be infinite, less what chance
/// alone gives two samples of their sizes; 0 when either side has too few lines to
/// say.
fn mix_shift<V>(
    before: &HashMap<&str, (usize, Severity, V)>,
    after: &HashMap<&str, (usize, Severity, V)>,
) -> f64 {
    let n0: usize = before.values().map(|c| c.0).sum();
    let n1: usize = after.values().map(|c| c.0).sum();
    if n0 < MIN_LINES_FOR_MIX || n1 < MIN_LINES_FOR_MIX {
        return 0.0;
    }
    let keys: HashSet<&str> = before.keys().chain(after.keys()).copied().collect();
    let k = keys.len() as f64;
    let divergence: f64 = keys
        .iter()
        .map(|t| {
            let p = (before.get(t).map_or(0, |c| c.0) as f64 + 0.5) / (n0 as f64 + 0.5 * k);
            let q = (after.get(t).map_or(0, |c| c.0) as f64 + 0.5) / (n1 as f64 + 0.5 * k);
            (q - p) * (q / p).ln()
        })
        .sum();
    // Two samples of one mix differ by chance: their divergence is about
    // (k - 1)(1/n0 + 1/n1) on average (it is a chi-square with k - 1 degrees of
    // freedom over the effective sample size), large for a few lines of many templates.
    (divergence - (k - 1.0) * (1.0 / n0 as f64 + 1.0 / n1 as f64)).max(0.0)
}

/// Time, µs, that `parent` spends around `child` but outside it: from the parent's
/// start to the child's start when no sibling call came first, and from the child's
/// end to the next sibling call or the parent's end. For a client span that is the
/// network both ways; between sequential sibling calls the time goes to the earlier
/// one (its response on the way back), never to both.
fn outside(child: &Span, parent: &Span, siblings: &[&Span]) -> f64 {
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

/// Span changes per service, and the caller -> callee edges the spans show.
pub fn trace_changes(
    obs: &Observations,
    split: f64,
) -> (BTreeMap<String, TraceChange>, Vec<(String, String)>) {
    let by_id: HashMap<(&str, &str), &Span> = obs
        .spans
        .iter()
        .map(|s| ((s.trace_id.as_str(), s.span_id.as_str()), s))
        .collect();
    let parent = |s: &Span| {
        s.parent_span_id
            .as_deref()
            .and_then(|p| by_id.get(&(s.trace_id.as_str(), p)).copied())
    };
    let mut child_time: HashMap<(&str, &str), f64> = HashMap::new();
    let mut children: HashMap<(&str, &str), Vec<&Span>> = HashMap::new();
    for s in &obs.spans {
        if let Some(p) = parent(s) {
            let key = (p.trace_id.as_str(), p.span_id.as_str());
            *child_time.entry(key).or_default() += s.duration_us;
            children.entry(key).or_default().push(s);
        }
    }
    #[derive(Default)]
    struct Side<'a> {
        durations: Vec<f64>,
        self_times: Vec<f64>,
        /// Per operation: durations and self times.
        operations: HashMap<&'a str, [Vec<f64>; 2]>,
        errors: usize,
        known: usize,
        received: usize,
        calls: HashMap<String, usize>,
    }
    let mut sides: HashMap<&str, [Side; 2]> = HashMap::new();
    let mut edges = std::collections::BTreeSet::new();
    // Per (caller, callee): time outside the callee's span, µs, per part.
    let mut gaps: HashMap<(&str, &str), [Vec<f64>; 2]> = HashMap::new();
    for s in &obs.spans {
        let k = usize::from(s.start >= split);
        let own_children = child_time
            .get(&(s.trace_id.as_str(), s.span_id.as_str()))
            .copied()
            .unwrap_or(0.0);
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
        match parent(s) {
            Some(p) if p.service != s.service => {
                edges.insert((p.service.clone(), s.service.clone()));
                let siblings = children
                    .get(&(p.trace_id.as_str(), p.span_id.as_str()))
                    .map_or(&[][..], Vec::as_slice);
                gaps.entry((p.service.as_str(), s.service.as_str()))
                    .or_default()[k]
                    .push(outside(s, p, siblings));
                side.received += 1;
                let pk = usize::from(p.start >= split);
                *sides.entry(p.service.as_str()).or_default()[pk]
                    .calls
                    .entry(s.service.clone())
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
    (out, edges.into_iter().collect())
}

/// How far the mix of what a service logs in the incident part drifted from what it
/// normally logs, learnt minute by minute from every line before the incident part
/// (the history before the range and the range's baseline). A code fault changes which lines a
/// service writes, error or not: a method that throws stops logging its success line,
/// one that returns early skips the lines after it.
#[derive(Debug, Clone, Default)]
pub struct LogDrift {
    /// Largest drift of one template's share of the service's lines: the log ratio of
    /// its share in the incident part to its usual (median per minute) share, less how
    /// much that share normally varies (its interquartile range on the same scale).
    pub drift: f64,
    /// The template that drifted most: (template, usual share, share in the incident
    /// part, a line).
    pub template: (String, f64, f64, String),
    /// Minutes of history the usual shares were learnt from.
    pub minutes: usize,
}

impl LogDrift {
    /// Its weight as evidence.
    pub fn score(&self) -> f64 {
        self.drift.min(3.0)
    }
}

/// Minutes of history a service needs before its usual log mix is trusted.
const MIN_HISTORY_MINUTES: usize = 3;

/// Smoothing of template shares, so a template at 0 % and one at 1 % are not
/// infinitely apart.
const SHARE_FLOOR: f64 = 0.02;

/// Log drift per service: see [`LogDrift`]. `templates` are the lines' templates
/// ([`templates`]).
pub fn log_drift(
    obs: &Observations,
    templates: &[String],
    split: f64,
) -> BTreeMap<String, LogDrift> {
    /// Per minute (before the split, by index) and for the incident part (`None`):
    /// template counts.
    type Minutes<'a> = BTreeMap<Option<i64>, HashMap<&'a str, usize>>;
    let mut per: HashMap<&str, Minutes> = HashMap::new();
    let mut examples: HashMap<(&str, &str), &str> = HashMap::new();
    for (l, t) in obs.logs.iter().zip(templates) {
        let minute = (l.time < split).then(|| ((l.time - split) / 60.0).floor() as i64);
        let counts = per
            .entry(l.service.as_str())
            .or_default()
            .entry(minute)
            .or_default();
        match counts.entry(t) {
            std::collections::hash_map::Entry::Occupied(mut n) => *n.get_mut() += 1,
            std::collections::hash_map::Entry::Vacant(v) => {
                // Only a template new to this minute is looked up among the examples.
                v.insert(1);
                examples.entry((&l.service, t)).or_insert(&l.line);
            }
        }
    }
    let mut out = BTreeMap::new();
    for (service, minutes) in &per {
        let Some(incident) = minutes.get(&None) else {
            continue;
        };
        let history: Vec<(usize, &HashMap<&str, usize>)> = minutes
            .iter()
            .filter(|(m, _)| m.is_some())
            .map(|(_, c)| (c.values().sum(), c))
            .collect();
        if history.len() < MIN_HISTORY_MINUTES {
            continue;
        }
        let incident_total: usize = incident.values().sum();
        let templates: HashSet<&str> = history
            .iter()
            .flat_map(|(_, c)| c.keys().copied())
            .chain(incident.keys().copied())
            .collect();
        let mut best: Option<LogDrift> = None;
        for t in templates {
            let mut shares: Vec<f64> = history
                .iter()
                .map(|(n, c)| c.get(t).copied().unwrap_or(0) as f64 / *n as f64)
                .collect();
            shares.sort_by(f64::total_cmp);
            let q = |p: f64| shares[((shares.len() - 1) as f64 * p).round() as usize];
            let usual = q(0.5);
            let now = incident.get(t).copied().unwrap_or(0) as f64 / incident_total as f64;
            let ratio = |a: f64, b: f64| ((b + SHARE_FLOOR) / (a + SHARE_FLOOR)).ln();
            let drift = ratio(usual, now).abs() - ratio(q(0.25), q(0.75));
            if drift > best.as_ref().map_or(0.0, |b| b.drift) {
                let example = examples.get(&(*service, t)).copied().unwrap_or_default();
                best = Some(LogDrift {
                    drift,
                    template: (t.to_string(), usual, now, example.to_string()),
                    minutes: history.len(),
                });
            }
        }
        if let Some(b) = best {
            out.insert(service.to_string(), b);
        }
    }
    out
}
