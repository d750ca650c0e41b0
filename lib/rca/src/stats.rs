//! Robust statistics: median, MAD, the strongest sustained shift of a series, and
//! how much evidence a few counts can carry.
//! Hand-written: a few lines each, and the crates that have them pull in far more.

/// The median of `values` (0 for none). Reorders `values`.
pub fn median(values: &mut [f64]) -> f64 {
    let n = values.len();
    if n == 0 {
        return 0.0;
    }
    values.sort_by(f64::total_cmp);
    if n % 2 == 1 {
        values[n / 2]
    } else {
        (values[n / 2 - 1] + values[n / 2]) / 2.0
    }
}

/// Surprise (nats: minus the log of a chance) below which evidence shown by a few
/// lines or spans counts not at all: 1 in 100 (ln 100).
const CHANCE_SURPRISE: f64 = 4.605_170_185_988_092;

/// Surprise from which such evidence counts in full: 1 in 10,000, about what a
/// 1-in-100 chance becomes over the tens of templates or operations of a service
/// (ln 10,000).
const FULL_SURPRISE: f64 = 9.210_340_371_976_184;

/// How much of a piece of evidence counts given the surprise (nats) of the counts
/// that show it: 0 while their chance is above 1 in 100, 1 from 1 in 10,000, linear
/// in the surprise between. The log drift ([`crate::Settings::drift_counts`]), the
/// span evidence ([`crate::Settings::span_counts`]) and the broken log invariants
/// ([`crate::Settings::invariant_minutes`]) are weighed by it.
pub fn chance_weight(surprise: f64) -> f64 {
    ((surprise - CHANCE_SURPRISE) / (FULL_SURPRISE - CHANCE_SURPRISE)).clamp(0.0, 1.0)
}

/// [`chance_weight`] of `n` observations that all agree when each would as often
/// not by chance alone (a sign test: a chance of 2^-n): none up to 6, in full from 14.
pub fn sign_test_weight(n: usize) -> f64 {
    chance_weight(n as f64 * std::f64::consts::LN_2)
}

/// Median absolute deviation from `center`.
pub fn mad(values: &[f64], center: f64) -> f64 {
    let mut dev: Vec<f64> = values.iter().map(|v| (v - center).abs()).collect();
    median(&mut dev)
}

/// The strongest sustained departure of a series from its own robust level.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Shift {
    /// Robust z-score of the departure (signed: positive is a rise).
    pub z: f64,
    /// Size of the departure as a natural-log ratio to the level (signed).
    pub effect: f64,
    /// When the departure began, unix seconds.
    pub onset: f64,
    /// The series' level (median over the range).
    pub level: f64,
    /// The most extreme value in the departure.
    pub peak: f64,
}

impl Shift {
    /// The departure as a factor (`x3.2`).
    pub fn factor(&self) -> f64 {
        self.effect.exp()
    }
}

/// How a series is compared with its level.
#[derive(Debug, Clone, Copy)]
pub struct ShiftOptions {
    /// Only departures at or after this time count (the range's guaranteed baseline
    /// comes before it).
    pub from: f64,
    /// Only rises count.
    pub rise_only: bool,
    /// The series is a ratio or rate that is often zero (errors): compare on a floor
    /// of this absolute size instead of a share of the level.
    pub zero_floor: Option<f64>,
    /// Consecutive samples a departure must hold (the smallest of them counts).
    pub hold: usize,
    /// When set, the level and the noise are learnt from the samples before this
    /// time only (the history and the range's baseline), not from the whole series.
    pub baseline_until: Option<f64>,
    /// Noise floor from how many requests each sample summarises, if known: a
    /// percentile or a ratio over `n` requests varies by chance alone (see
    /// [`CountNoise`]).
    pub count_noise: Option<CountNoise>,
}

impl ShiftOptions {
    /// Departures from `from` on, held over two samples, against the whole series.
    pub fn from(from: f64) -> Self {
        Self {
            from,
            rise_only: false,
            zero_floor: None,
            hold: 2,
            baseline_until: None,
            count_noise: None,
        }
    }
}

/// The sampling noise of a statistic over `requests` requests per sample.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum CountNoise {
    /// A percentile (latency), or the count itself (requests per second times the
    /// step: Poisson): about `1 / sqrt(n)` on the log scale.
    Percentile {
        /// Requests per sample.
        requests: f64,
    },
    /// A ratio of failed requests: binomial, `sqrt(p (1 - p) / n)`.
    Ratio {
        /// Requests per sample.
        requests: f64,
    },
}

/// Least log-scale noise assumed, so a flat series does not turn 5 % into z = 100.
const MIN_NOISE: f64 = 0.05;

/// Points before the scan needed to learn how far a series usually jumps.
const MIN_POINTS_FOR_JUMPS: usize = 10;

/// Finds the strongest departure lasting at least [`ShiftOptions::hold`] samples,
/// measured on a log scale against the median of the whole range (or of its
/// baseline, [`ShiftOptions::baseline_until`]), so a short earlier incident in the
/// range does not move the level. `None` when the series is too short or never
/// positive.
pub fn shift(points: &[(f64, f64)], opts: ShiftOptions) -> Option<Shift> {
    let pts: Vec<(f64, f64)> = points
        .iter()
        .copied()
        .filter(|(_, v)| v.is_finite())
        .collect();
    let hold = opts.hold.max(1);
    if pts.len() < 2 + hold.min(2) {
        return None;
    }
    let values: Vec<f64> = pts.iter().map(|p| p.1.max(0.0)).collect();
    let mut positive: Vec<f64> = values.iter().copied().filter(|v| *v > 0.0).collect();
    let max = values.iter().copied().fold(0.0, f64::max);
    let eps = match opts.zero_floor {
        Some(floor) => (0.01 * max).max(floor),
        None => {
            if positive.is_empty() {
                return None;
            }
            0.1 * median(&mut positive) + 1e-12
        }
    };
    let in_baseline = |i: usize| opts.baseline_until.is_none_or(|until| pts[i].0 < until);
    let mut baseline: Vec<f64> = (0..values.len())
        .filter(|i| in_baseline(*i))
        .map(|i| values[i])
        .collect();
    if baseline.is_empty() {
        baseline = values.clone();
    }
    let level = median(&mut baseline);
    let y: Vec<f64> = values
        .iter()
        .map(|v| ((v + eps) / (level + eps)).ln())
        .collect();
    // Sustained: the smallest of `hold` consecutive samples; a departure not yet
    // held that long at the range's end is not yet a shift (one-sample spikes of
    // sparse latency series are common).
    let held: Vec<f64> = (0..y.len())
        .map(|i| {
            let Some(window) = y.get(i..i + hold) else {
                return 0.0;
            };
            if y[i] > 0.0 {
                window
                    .iter()
                    .copied()
                    .fold(f64::INFINITY, f64::min)
                    .max(0.0)
            } else {
                window
                    .iter()
                    .copied()
                    .fold(f64::NEG_INFINITY, f64::max)
                    .min(0.0)
            }
        })
        .collect();
    // A series that often jumps for two samples has a MAD near 0 (its median
    // samples are all alike) yet nothing unusual in one more jump: with enough
    // points before the scan, the noise is at least half their 90th-percentile
    // sustained departure.
    let mut before: Vec<f64> = (0..y.len())
        .filter(|i| pts[*i].0 < opts.from && in_baseline(*i))
        .map(|i| held[i].abs())
        .collect();
    let usual_jump = if before.len() >= MIN_POINTS_FOR_JUMPS {
        before.sort_by(f64::total_cmp);
        before[(before.len() - 1) * 9 / 10] / 2.0
    } else {
        0.0
    };
    let spread: Vec<f64> = (0..y.len())
        .filter(|i| in_baseline(*i))
        .map(|i| y[i])
        .collect();
    let spread = if spread.is_empty() { y.clone() } else { spread };
    // A percentile's or a count's sampling noise is a share of it: on the log scale.
    let counted = match opts.count_noise {
        Some(CountNoise::Percentile { requests }) => 1.0 / requests.max(1.0).sqrt(),
        _ => 0.0,
    };
    let noise = (1.4826 * mad(&spread, 0.0))
        .max(MIN_NOISE)
        .max(usual_jump)
        .max(counted);

    let mut best: Option<(usize, f64)> = None;
    for (i, &held) in held.iter().enumerate() {
        if pts[i].0 < opts.from {
            continue;
        }
        if opts.rise_only && held <= 0.0 {
            continue;
        }
        if best.is_none_or(|(_, b)| held.abs() > b.abs()) {
            best = Some((i, held));
        }
    }
    let (i, held) = best?;
    // The departure began where the series first moved half as far.
    let mut onset = i;
    while onset > 0
        && pts[onset - 1].0 >= opts.from
        && y[onset - 1] * held.signum() >= held.abs() * 0.5
    {
        onset -= 1;
    }
    let window = &values[i..(i + hold).min(values.len())];
    let peak = if held >= 0.0 {
        window.iter().copied().fold(values[i], f64::max)
    } else {
        window.iter().copied().fold(values[i], f64::min)
    };
    let mut z = held / noise;
    // A ratio's sampling noise is binomial, in its own units: a rise from 0 to 2.5 %
    // of 500 requests is certain, from 0 to 33 % of 3 requests is luck.
    if let Some(CountNoise::Ratio { requests }) = opts.count_noise {
        let n = requests.max(2.0);
        let p = level.clamp(1.0 / n, 0.5);
        let sd = (p * (1.0 - p) / n).sqrt();
        let moved = if held >= 0.0 {
            window.iter().copied().fold(f64::INFINITY, f64::min) - level
        } else {
            level - window.iter().copied().fold(f64::NEG_INFINITY, f64::max)
        };
        z = z.signum() * z.abs().min(moved.max(0.0) / sd);
    }
    Some(Shift {
        z,
        effect: held,
        onset: pts[onset].0,
        level,
        peak,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn series(values: &[f64]) -> Vec<(f64, f64)> {
        values
            .iter()
            .enumerate()
            .map(|(i, v)| (i as f64 * 60.0, *v))
            .collect()
    }

    fn opts(from: f64) -> ShiftOptions {
        ShiftOptions::from(from)
    }

    #[test]
    fn median_of_even_and_odd() {
        assert_eq!(median(&mut [3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&mut [4.0, 1.0, 2.0, 3.0]), 2.5);
        assert_eq!(median(&mut []), 0.0);
    }

    #[test]
    fn sustained_rise_is_found_with_its_onset() {
        let s = series(&[1.0, 1.1, 0.9, 1.0, 1.05, 1.0, 0.95, 5.0, 6.0, 5.5, 1.0]);
        let found = shift(&s, opts(300.0)).unwrap();
        assert!(found.z > 10.0, "{found:?}");
        assert_eq!(found.onset, 420.0);
        assert!(found.factor() > 4.0);
    }

    #[test]
    fn single_spike_is_not_sustained() {
        let s = series(&[1.0, 1.1, 0.9, 1.0, 1.05, 1.0, 0.95, 9.0, 1.0, 1.0, 1.0]);
        let found = shift(&s, opts(300.0)).unwrap();
        assert!(found.z < 3.0, "{found:?}");
    }

    #[test]
    fn shifts_before_the_baseline_ends_are_ignored() {
        let s = series(&[8.0, 9.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0]);
        let found = shift(&s, opts(300.0)).unwrap();
        assert!(found.z.abs() < 1.0, "{found:?}");
    }

    #[test]
    fn errors_from_zero_count() {
        let s = series(&[0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.3, 0.4, 0.4]);
        let o = ShiftOptions {
            zero_floor: Some(1e-3),
            rise_only: true,
            ..opts(300.0)
        };
        assert!(shift(&s, o).unwrap().z > 10.0);
    }
}
