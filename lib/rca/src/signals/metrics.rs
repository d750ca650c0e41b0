//! Metric departures: each signal of the catalog, per service, against its own level
//! before the incident part.

use std::collections::{BTreeMap, BTreeSet};

use crate::catalog::{Kind, Signal};
use crate::observations::Observations;
use crate::stats::{self, CountNoise, Shift, ShiftOptions};

/// A signal that departed from its level.
#[derive(Debug, Clone)]
pub struct MetricShift {
    /// The signal.
    pub signal: Signal,
    /// The departure.
    pub shift: Shift,
    /// Share of the ordinary windows of the hours before the range in which this
    /// signal of this service departed as far (`crate::chronic`), when known.
    pub ordinary: Option<f64>,
    /// The share of the departure taken as this service's own: 1, or
    /// [`crate::Settings::sole_signal_weight`] when it is the only one of several services that
    /// exports the signal (Online Boutique's error ratio, which only the HTTP
    /// frontend has): nothing shows whether the services it calls depart as far.
    pub own_share: f64,
}

impl MetricShift {
    /// Its weight as evidence: z capped at 10, times the effect capped by its kind
    /// ([`Kind::effect_cap`]), times the kind's weight, times the share of ordinary
    /// windows that did not depart as far ([`MetricShift::ordinary`]: a departure
    /// the service makes every hour is not evidence). Changes in the harmless
    /// direction score 0.
    pub fn score(&self) -> f64 {
        if self.signal.kind.rise_only() && self.shift.effect <= 0.0 {
            return 0.0;
        }
        self.signal.kind.weight()
            * (self.shift.z.abs().min(10.0) / 10.0)
            * self.shift.effect.abs().min(self.signal.kind.effect_cap())
            * (1.0 - self.ordinary.unwrap_or(0.0))
            * self.own_share
    }
}

/// Services with metrics a system needs before one of them exporting a signal alone
/// says the others cannot ([`MetricShift::own_share`]).
const MIN_SERVICES_FOR_SOLE: usize = 3;

/// How [`metric_changes`] measures.
#[derive(Debug, Clone, Copy)]
pub struct MetricOptions<'a> {
    /// Only departures from this time on count.
    pub from: f64,
    /// Samples a departure must hold.
    pub hold: usize,
    /// Levels and noise from the samples before this time only, when set.
    pub baseline_until: Option<f64>,
    /// Requests per sample by service, for the noise floor of percentiles and error
    /// ratios, when set.
    pub requests: Option<&'a BTreeMap<String, f64>>,
    /// Per (signal, service), the share of ordinary windows that departed as far
    /// (`crate::chronic`), when known.
    pub ordinary: Option<&'a BTreeMap<(String, String), f64>>,
    /// The share of a departure taken as its service's own when that service is the
    /// only one of several exporting the signal ([`crate::Settings::sole_signal_weight`]).
    pub sole_weight: f64,
}

/// The metric departures of every service.
pub fn metric_changes(
    obs: &Observations,
    options: &MetricOptions,
) -> BTreeMap<String, Vec<MetricShift>> {
    let mut out: BTreeMap<String, Vec<MetricShift>> = BTreeMap::new();
    let services: BTreeSet<&str> = obs
        .metrics
        .iter()
        .flat_map(|m| m.series.keys())
        .map(String::as_str)
        .collect();
    for metric in &obs.metrics {
        let own_share = if metric.series.len() == 1 && services.len() >= MIN_SERVICES_FOR_SOLE {
            options.sole_weight
        } else {
            1.0
        };
        let kind = metric.signal.kind;
        let opts = ShiftOptions {
            from: options.from,
            rise_only: kind.rise_only(),
            zero_floor: (kind == Kind::Errors || kind == Kind::Health).then_some(1e-3),
            hold: options.hold,
            baseline_until: options.baseline_until,
            count_noise: None,
        };
        let ratio = kind == Kind::Errors && metric.signal.name.contains("ratio");
        for (service, points) in &metric.series {
            let requests = options.requests.and_then(|r| r.get(service)).copied();
            let count_noise = requests.and_then(|requests| match kind {
                Kind::Latency | Kind::ClientLatency | Kind::CallerLatency | Kind::Traffic => {
                    Some(CountNoise::Percentile { requests })
                }
                _ if ratio => Some(CountNoise::Ratio { requests }),
                _ => None,
            });
            let opts = ShiftOptions {
                count_noise,
                ..opts
            };
            if let Some(shift) = stats::shift(points, opts) {
                let ordinary = options
                    .ordinary
                    .and_then(|o| o.get(&(metric.signal.name.clone(), service.clone())))
                    .copied();
                out.entry(service.clone()).or_default().push(MetricShift {
                    signal: metric.signal.clone(),
                    shift,
                    ordinary,
                    own_share,
                });
            }
        }
    }
    for shifts in out.values_mut() {
        shifts.sort_by(|a, b| b.score().total_cmp(&a.score()));
    }
    out
}
