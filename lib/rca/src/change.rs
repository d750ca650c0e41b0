//! Everything found about one service, from every signal, and how the metric part
//! adds up.

use crate::catalog::Kind;
use crate::invariants::BrokenInvariant;
use crate::signals::{LogChange, LogDrift, Mentions, MetricShift, TraceChange};
use crate::traffic::TrafficBreak;

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
}

impl ServiceChange {
    /// Metric evidence: the strongest departure counts fully, each next one half as
    /// much as the one before, so one signal cannot be outvoted by many echoes.
    pub fn metric_score(&self) -> f64 {
        self.metric_score_of(|_| true)
    }

    /// [`ServiceChange::metric_score`] of the signals that pass a callee's trouble up
    /// to its callers: everything but the amount of traffic and bytes, which change
    /// with what the callers send rather than cause anything in them.
    pub fn propagating_metric_score(&self) -> f64 {
        self.metric_score_of(|k| !matches!(k, Kind::Traffic | Kind::Network))
    }

    fn metric_score_of(&self, kinds: impl Fn(Kind) -> bool) -> f64 {
        let mut parts: Vec<f64> = self
            .metrics
            .iter()
            .filter(|m| kinds(m.signal.kind))
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
            .filter(|m| m.score() >= 0.3)
            .map(|m| m.shift.onset)
            .min_by(f64::total_cmp)
    }
}
