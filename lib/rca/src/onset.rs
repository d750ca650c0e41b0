//! Where the incident begins, found in the data: Bayesian online change-point
//! detection (Adams & MacKay 2007, "Bayesian Online Changepoint Detection") on every
//! metric series of the range, summed over series, as BARO (Pham et al., FSE 2024)
//! does before its robust scores. Each series gets a Gaussian model of unknown mean
//! and variance (Normal-Gamma prior); the run-length posterior says, sample by sample,
//! how likely a new regime began there. The onset is the time where most series agree
//! a regime began, read a confirmation period later (a change that lasted), never in
//! the range's guaranteed baseline.
//!
//! The model's compacted series (`aegis_tools` compact) show one least-squares split
//! per series; that says where one series moved, not how likely each sample is a change,
//! which is what summing over series needs.
//!
//! Hand-written: the recursion is twenty lines, and the crates that have it
//! (`changepoint`) pull in a linear-algebra stack for the multivariate models not used
//! here.

use std::collections::BTreeMap;

use crate::catalog::Kind;
use crate::observations::Metric;
use crate::resolution;
use crate::stats;
use crate::window::BASELINE_SECONDS;

/// How long a new regime must last to count: a change read this much later.
const CONFIRM_SECONDS: f64 = 120.0;

/// Fewest samples in the range a series needs to take part.
const MIN_SAMPLES: usize = 4;

/// Least prior spread of a series on its comparison scale: 10 % for most series,
/// 0.2 percentage points for ratios.
const SCALE_FLOOR: f64 = 0.10;
const RATIO_FLOOR: f64 = 0.002;

/// The change-point onset of `[start, end]` from `metrics` sampled every `step`
/// seconds, unix seconds; `None` when no series has enough samples.
pub fn change_point(metrics: &[Metric], start: f64, end: f64, step: f64) -> Option<f64> {
    let lag = resolution::samples(CONFIRM_SECONDS, step);
    let earliest = start + BASELINE_SECONDS;
    let latest = end - lag as f64 * step;
    // Summed change-point probability per sample slot of the range.
    let mut total: BTreeMap<i64, f64> = BTreeMap::new();
    for metric in metrics {
        let ratio = is_ratio(metric);
        for points in metric.series.values() {
            let inside: Vec<(f64, f64)> = points
                .iter()
                .copied()
                .filter(|(t, v)| (start..=end).contains(t) && v.is_finite())
                .collect();
            if inside.len() < MIN_SAMPLES {
                continue;
            }
            let y = scaled(&inside, ratio);
            let third = (y.len() / 3).max(2);
            let floor = if ratio { RATIO_FLOOR } else { SCALE_FLOOR };
            let mut first = y[..third].to_vec();
            let center = stats::median(&mut first);
            let prior = (1.4826 * stats::mad(&y[..third], center)).max(floor);
            let cp = bocpd(&y, 1.0 / y.len() as f64, lag, prior);
            // The first sample always "begins a run": it does not count.
            for (j, p) in cp.iter().enumerate().skip(1) {
                let slot = (inside[j].0 / step).round() as i64;
                *total.entry(slot).or_default() += p;
            }
        }
    }
    total
        .into_iter()
        .map(|(slot, p)| (slot as f64 * step, p))
        .filter(|(t, _)| *t >= earliest && *t <= latest)
        // The largest sum; the earlier of equals.
        .fold(None, |best: Option<(f64, f64)>, (t, p)| match best {
            Some((_, bp)) if bp >= p => best,
            _ => Some((t, p)),
        })
        .map(|(t, _)| t)
}

/// Whether a signal's values are shares in [0, 1], compared as they are.
fn is_ratio(metric: &Metric) -> bool {
    matches!(metric.signal.kind, Kind::Errors | Kind::Health)
        && metric.signal.name.contains("ratio")
}

/// The series on the scale changes are compared on: ratios as they are, anything else
/// `ln(1 + x / m)` with `m` its median non-zero size, so that a 10 % change is about
/// 0.1 whatever the unit.
fn scaled(points: &[(f64, f64)], ratio: bool) -> Vec<f64> {
    if ratio {
        return points.iter().map(|p| p.1).collect();
    }
    let mut sizes: Vec<f64> = points
        .iter()
        .map(|p| p.1.abs())
        .filter(|v| *v > 0.0)
        .collect();
    let m = stats::median(&mut sizes);
    let m = if m > 0.0 { m } else { 1.0 };
    points.iter().map(|p| (p.1.max(0.0) / m).ln_1p()).collect()
}

/// Adams & MacKay's recursion with a Normal-Gamma prior (mean `y[0]`, `kappa = 1`,
/// `alpha = 1`, `beta = prior^2`) and constant hazard: `cp[t]` is the posterior
/// probability that a run began at `t` and held `lag` more samples, read at `t + lag`.
fn bocpd(y: &[f64], hazard: f64, lag: usize, prior: f64) -> Vec<f64> {
    let n = y.len();
    let mut cp = vec![0.0; n];
    if n < 3 {
        return cp;
    }
    let fresh = Run {
        mu: y[0],
        kappa: 1.0,
        alpha: 1.0,
        beta: prior * prior,
    };
    // One model per run length, and the posterior mass of each.
    let mut runs = vec![fresh];
    let mut mass = vec![1.0];
    for (t, &x) in y.iter().enumerate() {
        let predictive: Vec<f64> = runs.iter().map(|r| r.predictive(x)).collect();
        let change: f64 = mass
            .iter()
            .zip(&predictive)
            .map(|(m, p)| m * p * hazard)
            .sum();
        let mut next = Vec::with_capacity(mass.len() + 1);
        next.push(change);
        next.extend(
            mass.iter()
                .zip(&predictive)
                .map(|(m, p)| m * p * (1.0 - hazard)),
        );
        let total = next.iter().sum::<f64>().max(1e-300);
        mass = next.into_iter().map(|m| m / total).collect();
        runs = std::iter::once(fresh)
            .chain(runs.iter().map(|r| r.updated(x)))
            .collect();
        // `mass[r]` is the run of the last `r` samples, `x` included: one of
        // `lag + 1` began `lag` samples ago and has held since.
        if t >= lag && lag + 1 < mass.len() {
            cp[t - lag] = mass[lag + 1];
        }
    }
    cp
}

/// The Normal-Gamma posterior of one run's mean and variance.
#[derive(Debug, Clone, Copy)]
struct Run {
    mu: f64,
    kappa: f64,
    alpha: f64,
    beta: f64,
}

impl Run {
    /// The density of `x` under the run's predictive Student-t.
    fn predictive(&self, x: f64) -> f64 {
        let var = self.beta * (self.kappa + 1.0) / (self.alpha * self.kappa);
        student_t(x, self.mu, var, 2.0 * self.alpha)
    }

    /// The run with `x` added.
    fn updated(&self, x: f64) -> Self {
        Self {
            mu: (self.kappa * self.mu + x) / (self.kappa + 1.0),
            kappa: self.kappa + 1.0,
            alpha: self.alpha + 0.5,
            beta: self.beta + self.kappa * (x - self.mu).powi(2) / (2.0 * (self.kappa + 1.0)),
        }
    }
}

/// The density of a Student-t with `df` degrees of freedom, location `mu` and scale²
/// `var` at `x`.
fn student_t(x: f64, mu: f64, var: f64, df: f64) -> f64 {
    let z = (x - mu).powi(2) / var;
    (ln_gamma((df + 1.0) / 2.0)
        - ln_gamma(df / 2.0)
        - 0.5 * (df * std::f64::consts::PI * var).ln()
        - (df + 1.0) / 2.0 * (z / df).ln_1p())
    .exp()
}

/// ln Γ(x) for x > 0 (Lanczos, g = 7, nine terms: 15 significant digits).
fn ln_gamma(x: f64) -> f64 {
    const G: [f64; 9] = [
        0.999_999_999_999_809_9,
        676.520_368_121_885_1,
        -1_259.139_216_722_402_8,
        771.323_428_777_653_1,
        -176.615_029_162_140_6,
        12.507_343_278_686_905,
        -0.138_571_095_265_720_12,
        9.984_369_578_019_572e-6,
        1.505_632_735_149_311_6e-7,
    ];
    if x < 0.5 {
        let pi = std::f64::consts::PI;
        return (pi / (pi * x).sin()).ln() - ln_gamma(1.0 - x);
    }
    let x = x - 1.0;
    let mut a = G[0];
    let t = x + 7.5;
    for (i, g) in G.iter().enumerate().skip(1) {
        a += g / (x + i as f64);
    }
    0.5 * (2.0 * std::f64::consts::PI).ln() + (x + 0.5) * t.ln() - t + a.ln()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ln_gamma_matches_known_values() {
        assert!((ln_gamma(1.0)).abs() < 1e-12);
        assert!((ln_gamma(5.0) - 24f64.ln()).abs() < 1e-12);
        assert!((ln_gamma(0.5) - std::f64::consts::PI.sqrt().ln()).abs() < 1e-12);
    }

    #[test]
    fn a_level_shift_is_the_most_likely_change_point() {
        let y: Vec<f64> = (0..20)
            .map(|i| {
                if i < 12 {
                    1.0 + 0.02 * (i % 3) as f64
                } else {
                    2.0 + 0.02 * (i % 2) as f64
                }
            })
            .collect();
        let cp = bocpd(&y, 1.0 / 20.0, 2, 0.1);
        let best = (1..cp.len())
            .max_by(|a, b| cp[*a].total_cmp(&cp[*b]))
            .unwrap();
        assert_eq!(best, 12, "{cp:?}");
        assert!(cp[12] > 0.5);
    }

    #[test]
    fn the_onset_is_where_the_series_agree_a_regime_began() {
        // Five-minute samples over 40 minutes; two services change at 20 minutes,
        // one drifts noisily throughout.
        let m = Metric::sampled(
            "latency_p99_seconds",
            0.0,
            300.0,
            vec![
                ("a", vec![0.1, 0.11, 0.1, 0.1, 0.9, 1.0, 0.95, 1.0, 0.9]),
                ("b", vec![0.2, 0.2, 0.21, 0.2, 0.5, 0.55, 0.5, 0.5, 0.52]),
                ("c", vec![1.0, 1.4, 0.8, 1.2, 0.9, 1.3, 1.0, 0.8, 1.1]),
            ],
        );
        assert_eq!(change_point(&[m], 0.0, 2400.0, 300.0), Some(1200.0));
    }

    #[test]
    fn never_inside_the_guaranteed_baseline() {
        let m = Metric::sampled(
            "error_ratio",
            0.0,
            60.0,
            vec![("a", vec![0.0, 0.3, 0.3, 0.3, 0.3, 0.3, 0.3, 0.3, 0.3])],
        );
        let onset = change_point(&[m], 0.0, 480.0, 60.0).unwrap();
        assert!(onset >= BASELINE_SECONDS, "{onset}");
    }
}
