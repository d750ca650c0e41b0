//! Metric departures: each signal of the catalog, per service, against its own level
//! before the incident part.

use std::collections::BTreeMap;

use crate::catalog::{Kind, Signal};
use crate::observations::Observations;
use crate::stats::{self, Shift, ShiftOptions};
use crate::window::BASELINE_SECONDS;

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
