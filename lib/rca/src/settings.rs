//! The engine's settings: every choice of the method that was made by measuring, in
//! one place, so that evaluation can choose them on some systems and score them on
//! another (`aegis eval --study`, or offline `aegis eval --from-dump DIR --study`),
//! and switch components off one at a time (the ablation in docs/evaluation.md).
//! Production uses [`Settings::default`].

use serde::{Deserialize, Serialize};

/// How the engine ranks.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Settings {
    /// Where the incident part begins when no alert says.
    pub onset: Onset,
    /// Where the metrics' baseline ends (with [`Settings::baseline_level`]): the
    /// incident start of [`Settings::onset`], or the metrics' own change point.
    pub metric_onset: Onset,
    /// Metric levels and noise learnt from the samples before the incident part
    /// (history and the range's baseline, less the last sample before it, whose
    /// period may reach into it) instead of the whole series.
    pub baseline_level: bool,
    /// Latency percentiles and error ratios get a noise floor from how many requests
    /// each sample summarises.
    pub count_noise: bool,
    /// Weight of a node that is a caller's view of another ([`crate::is_client_view`]),
    /// as a candidate and as a callee; 1 treats it as any service.
    pub client_view_weight: f64,
    /// A service takes the score of its X-Ray client node (its requests from callers
    /// it cannot trace, measured by itself) when that is larger than its own.
    pub client_view_merge: bool,
    /// Use the call graph (spans' parent-child calls and any given graph).
    pub call_graph: bool,
    /// Share of its worst anomalous callee's score a caller loses.
    pub callee_discount: f64,
    /// Weight of the metric departures in the combined score.
    pub metric_weight: f64,
    /// Share of a departure a service keeps as its own when it is the only one of
    /// several services that exports the signal: a frontend's error ratio rises as
    /// much when a service behind it throws as when it throws itself, and no other
    /// service's series of it can tell which. 1 counts it in full.
    pub sole_signal_weight: f64,
    /// Use the log sources (error templates, drift, invariants, mentions).
    pub logs: bool,
    /// Use the spans.
    pub traces: bool,
    /// Use the broken traffic invariants.
    pub traffic_invariants: bool,
    /// A network delay counts: the time calls to a service spend outside its spans,
    /// and the latency of calls to it rising at its callers but not at itself.
    pub network_delay: bool,
    /// Weight of a network delay (from spans or from both sides' metrics) in the
    /// combined score; the rest of the span evidence weighs 0.5. A call's time on
    /// the wire growing many times over while the other calls of its callers did not
    /// is specific (a busy caller's several calls are taken off it), so it weighs as
    /// much as a service's own logs.
    pub network_weight: f64,
    /// A caller's latency does not count when a callee's rose at least half as much
    /// (latency travels up the call graph; the deepest rise is the origin).
    pub latency_origin: bool,
    /// Weigh each metric departure by how rarely the service departs as far in the
    /// hours before the range (chronic suspects, `crate::chronic`).
    pub chronic: bool,
    /// Weigh each service's log drift, broken log invariant, rising warnings and log
    /// mix shift by how rarely they depart as far in ordinary windows of its log
    /// history ([`crate::LogDrift::ordinary`], `BrokenInvariant::ordinary`,
    /// [`crate::LogChange::ordinary`], [`crate::LogChange::mix_ordinary`]).
    pub chronic_logs: bool,
    /// A template's log drift counts only as far as its line count in the incident
    /// part is unlikely by chance at its usual share (`signals::drift`): one line of
    /// two is a 50 % share, and a short incident part of a quiet service drifts far
    /// by chance alone.
    pub drift_counts: bool,
    /// A service's span duration, self time and call mix count only as far as its
    /// span count in the incident part can show a change (`signals::traces`): the
    /// median of five spans moves far by chance.
    pub span_counts: bool,
    /// A broken log invariant counts only as far as the minutes that held its ratio
    /// make it one (`invariants`): two templates fall near a whole ratio in a few
    /// minutes by chance.
    pub invariant_minutes: bool,
    /// A score lead of this share of the top score (of half a clear departure at
    /// least) is a factor e in odds.
    pub temperature: f64,
    /// The score at which a service is as likely the cause as "unknown".
    pub unknown_score: f64,
}

/// How the incident start is estimated when no alert gives it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Onset {
    /// The last third of the range: a question asked during an incident.
    LastThird,
    /// Where the metric series agree a new regime began (`crate::onset`), else the
    /// last third.
    ChangePoint,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            onset: Onset::LastThird,
            metric_onset: Onset::ChangePoint,
            baseline_level: true,
            count_noise: true,
            client_view_weight: 0.5,
            client_view_merge: true,
            call_graph: true,
            callee_discount: 0.5,
            metric_weight: 0.5,
            sole_signal_weight: 0.5,
            logs: true,
            traces: true,
            traffic_invariants: true,
            network_delay: true,
            network_weight: 1.0,
            latency_origin: true,
            chronic: true,
            chronic_logs: true,
            drift_counts: true,
            span_counts: true,
            invariant_minutes: true,
            temperature: 0.15,
            unknown_score: 0.05,
        }
    }
}
