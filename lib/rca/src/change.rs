//! Everything found about one service, from every signal, and how the metric part
//! adds up.

use crate::catalog::Kind;
use crate::invariants::BrokenInvariant;
use crate::signals::{LogChange, LogDrift, Mentions, MetricShift, TraceChange};
use crate::traffic::TrafficBreak;

/// The score of a metric departure taken as clear (a z of 5 on a doubling).
pub(crate) const CLEAR_SHIFT: f64 = 0.3;

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
    pub invariant: Option<BrokenInvariant>,
    /// The traffic invariant it leads that broke most: its requests stopped
    /// reaching a service whose traffic followed its own.
    pub traffic: Option<TrafficBreak>,
    /// The service whose latency its own rise echoes, which then does not count for
    /// it: a callee whose latency rose before it and at least half as much (travelling
    /// up the call graph), a callee with a network delay in front of it, or, for a
    /// caller's view of a host it could not trace, the traced service behind it
    /// (`echo`).
    pub latency_echo: Option<String>,
    /// For a caller's view of a host it could not trace, the traced service behind it
    /// whose errors rose with its own, which then do not count for it (`echo`): the
    /// calls that failed through the host failed in that service.
    pub error_echo: Option<String>,
}

impl ServiceChange {
    /// Metric evidence: the strongest departure counts fully, each next one half as
    /// much as the one before, so one signal cannot be outvoted by many echoes.
    pub fn metric_score(&self) -> f64 {
        self.metric_score_of(|_| true)
    }

    /// How far its latency rose, from the metrics: the largest score of a latency
    /// shift of its own ([`Kind::Latency`]), and when the earliest clear one began.
    pub fn latency_rise(&self) -> (f64, Option<f64>) {
        self.rise(Kind::Latency)
    }

    /// How far its errors rose ([`Kind::Errors`]), as [`ServiceChange::latency_rise`].
    pub fn error_rise(&self) -> (f64, Option<f64>) {
        self.rise(Kind::Errors)
    }

    /// The largest score of a shift of `kind`, and when the earliest clear one began.
    fn rise(&self, kind: Kind) -> (f64, Option<f64>) {
        let of_kind = || self.metrics.iter().filter(|m| m.signal.kind == kind);
        let rise = of_kind().map(MetricShift::score).fold(0.0, f64::max);
        let onset = of_kind()
            .filter(|m| m.score() >= CLEAR_SHIFT)
            .map(|m| m.shift.onset)
            .min_by(f64::total_cmp);
        (rise, onset)
    }

    /// A network delay in front of it, from the metrics: how much more the latency
    /// of calls to it rose as its callers measured it ([`Kind::CallerLatency`]) than
    /// as it measured itself ([`Kind::Latency`]), as a log ratio scaled by the
    /// callers' view's z (up to 10) and how unordinary it is. Zero unless both sides
    /// are exported.
    pub fn network_from_metrics(&self) -> f64 {
        let effect = |kind: Kind| {
            self.metrics
                .iter()
                .filter(|m| m.signal.kind == kind && m.shift.effect > 0.0)
                .map(|m| {
                    m.shift.effect
                        * (m.shift.z.abs().min(10.0) / 10.0)
                        * (1.0 - m.ordinary.unwrap_or(0.0))
                })
                .fold(0.0, f64::max)
        };
        let own = self
            .metrics
            .iter()
            .any(|m| m.signal.kind == Kind::Latency)
            .then(|| effect(Kind::Latency));
        match own {
            Some(own) => (effect(Kind::CallerLatency) - own).max(0.0),
            None => 0.0,
        }
    }

    /// [`ServiceChange::metric_score`] of the signals that pass a callee's trouble up
    /// to its callers: everything but the amount of traffic and bytes, which change
    /// with what the callers send rather than cause anything in them.
    pub fn propagating_metric_score(&self) -> f64 {
        self.metric_score_of(|k| !matches!(k, Kind::Traffic | Kind::Network))
    }

    /// Only the signals of `kinds` count, and its latency or errors not at all when
    /// they echo another service's ([`ServiceChange::latency_echo`],
    /// [`ServiceChange::error_echo`]).
    fn metric_score_of(&self, kinds: impl Fn(Kind) -> bool) -> f64 {
        let echoed = |kind: Kind| match kind {
            Kind::Latency => self.latency_echo.is_some(),
            Kind::Errors => self.error_echo.is_some(),
            _ => false,
        };
        let mut parts: Vec<f64> = self
            .metrics
            .iter()
            .filter(|m| kinds(m.signal.kind) && !echoed(m.signal.kind))
            .map(MetricShift::score)
            .collect();
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
            .filter(|m| m.score() >= CLEAR_SHIFT)
            .map(|m| m.shift.onset)
            .min_by(f64::total_cmp)
    }
}
