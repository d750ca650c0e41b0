//! Chronic suspects: a service that departs this far every hour (a periodic job, a
//! service that is always erratic, latency that swings with every batch) is not a
//! cause because it departs now. Each service's and signal's ordinary behaviour is
//! learnt from hours of history before the range at a coarse step
//! ([`Observations::ordinary`], fetched by `collect`): the incident part's departure
//! is compared with the departures of every earlier window of the same length, each
//! against the hour before it, the same way. The share of ordinary windows that
//! departed as far is an empirical null: a service whose departure is ordinary in
//! half of its windows keeps half of that signal's weight ([`crate::MetricShift`]).
//!
//! The share is robust to earlier incidents inside the history: one incident fills
//! a few of the dozens of windows, so it moves the share by a few per cent; a
//! service is chronic only when it departs as far in many windows.

use std::collections::BTreeMap;

use crate::catalog::Kind;
use crate::observations::Metric;
use crate::stats;

/// How long before each window its reference level and noise are learnt from.
const REFERENCE_SECONDS: f64 = 3600.0;

/// Samples the reference needs.
const MIN_REFERENCE_POINTS: usize = 6;

/// Ordinary windows a series needs before its share means anything.
const MIN_WINDOWS: usize = 8;

/// Least log-scale noise, as in [`stats::shift`].
const MIN_NOISE: f64 = 0.05;

/// Per `(signal, service)`, the share of ordinary windows that departed at least as
/// far as the incident part `[split, end]` does, for the series with enough history.
/// `history` is the coarse long history ([`Observations::ordinary`]); `recent` the
/// series of the range at their own resolution, whose incident part is averaged
/// into bins of the history's step so a fault shorter than that step still shows
/// (averaging smooths, so the incident departure is, if anything, overstated against
/// the sampled history: a service is rather judged too little chronic than too
/// much).
pub fn ordinary_shares(
    history: &[Metric],
    recent: &[Metric],
    split: f64,
    end: f64,
) -> BTreeMap<(String, String), f64> {
    let mut out = BTreeMap::new();
    for metric in history {
        let kind = metric.signal.kind;
        let recent = recent.iter().find(|m| m.signal.name == metric.signal.name);
        for (service, points) in &metric.series {
            let now = recent.and_then(|m| m.series.get(service));
            if let Some(share) = share(points, now.map(Vec::as_slice), kind, split, end) {
                out.insert((metric.signal.name.clone(), service.clone()), share);
            }
        }
    }
    out
}

/// The share for one series; `None` without enough history or when the incident
/// part departs in the harmless direction.
fn share(
    history: &[(f64, f64)],
    recent: Option<&[(f64, f64)]>,
    kind: Kind,
    split: f64,
    end: f64,
) -> Option<f64> {
    let points: Vec<(f64, f64)> = history
        .iter()
        .copied()
        .filter(|(t, v)| v.is_finite() && *t < split)
        .collect();
    let step = step_of(&points)?;
    let floor = match kind {
        Kind::Errors | Kind::Health => 1e-3,
        _ => {
            let mut positive: Vec<f64> = points.iter().map(|p| p.1).filter(|v| *v > 0.0).collect();
            if positive.is_empty() {
                return None;
            }
            0.1 * stats::median(&mut positive)
        }
    };
    let log = |v: f64| (v.max(0.0) + floor).ln();
    let series: Vec<(f64, f64)> = points.iter().map(|(t, v)| (*t, log(*v))).collect();
    let length = (end - split).max(step);
    // The incident part: the recent series averaged into bins of the history's step,
    // or the history's own samples in it when there is no recent series.
    let incident: Vec<f64> = match recent {
        Some(recent) => bins(recent, split, end, step, log),
        None => history
            .iter()
            .filter(|(t, v)| v.is_finite() && (split..=end).contains(t))
            .map(|(_, v)| log(*v))
            .collect(),
    };
    let now = departure(&series, &incident, split, kind)?;
    if now <= 0.0 {
        return None;
    }
    let mut windows = 0usize;
    let mut as_far = 0usize;
    let mut from = split - length;
    while from - REFERENCE_SECONDS >= series[0].0 - step / 2.0 {
        let inside: Vec<f64> = within(&series, from, from + length)
            .iter()
            .map(|p| p.1)
            .collect();
        if let Some(d) = departure(&series, &inside, from, kind) {
            windows += 1;
            as_far += usize::from(d >= now);
        }
        from -= length;
    }
    (windows >= MIN_WINDOWS).then(|| as_far as f64 / windows as f64)
}

/// The points of the time-ordered `series` in `[from, to)`, found by bisection: a
/// series is read once per window, dozens of times.
fn within(series: &[(f64, f64)], from: f64, to: f64) -> &[(f64, f64)] {
    let a = series.partition_point(|p| p.0 < from);
    let b = series.partition_point(|p| p.0 < to);
    &series[a..b.max(a)]
}

/// The sampling step of `points`: the median gap.
fn step_of(points: &[(f64, f64)]) -> Option<f64> {
    let mut gaps: Vec<f64> = points.windows(2).map(|w| w[1].0 - w[0].0).collect();
    (!gaps.is_empty()).then(|| stats::median(&mut gaps))
}

/// `points` in `[from, to]` averaged into bins of `step` seconds, on the log scale.
fn bins(
    points: &[(f64, f64)],
    from: f64,
    to: f64,
    step: f64,
    log: impl Fn(f64) -> f64,
) -> Vec<f64> {
    let mut sums: BTreeMap<i64, (f64, usize)> = BTreeMap::new();
    for (t, v) in points
        .iter()
        .filter(|(t, v)| v.is_finite() && (from..=to).contains(t))
    {
        let e = sums.entry(((t - from) / step) as i64).or_default();
        e.0 += log(*v);
        e.1 += 1;
    }
    sums.values().map(|(s, n)| s / *n as f64).collect()
}

/// How far the log values `inside` a window starting at `from` depart from the hour
/// of `series` before it, in units of that hour's noise: the largest rise for a kind
/// whose rise alone is a symptom, else the largest move either way.
fn departure(series: &[(f64, f64)], inside: &[f64], from: f64, kind: Kind) -> Option<f64> {
    let mut reference: Vec<f64> = within(series, from - REFERENCE_SECONDS, from)
        .iter()
        .map(|p| p.1)
        .collect();
    if reference.len() < MIN_REFERENCE_POINTS || inside.is_empty() {
        return None;
    }
    let level = stats::median(&mut reference);
    let noise = (1.4826 * stats::mad(&reference, level)).max(MIN_NOISE);
    let moved = inside.iter().map(|y| y - level);
    let d = if kind.rise_only() {
        moved.fold(f64::NEG_INFINITY, f64::max)
    } else {
        moved.map(f64::abs).fold(0.0, f64::max)
    };
    Some(d / noise)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::observations::Metric;

    const STEP: f64 = 300.0;
    /// Six hours of history at 5 minutes, then the range's last 15 minutes.
    const SPLIT: f64 = 6.0 * 3600.0;
    const END: f64 = SPLIT + 900.0;

    fn wobble(i: usize) -> f64 {
        1.0 + 0.04 * (((i * 7919) % 13) as f64 / 6.0 - 1.0)
    }

    /// A latency series: steady, and `spike(i)` times higher at sample `i`.
    fn latency(spike: impl Fn(usize) -> f64) -> Metric {
        let n = ((END / STEP) as usize) + 1;
        let values: Vec<f64> = (0..n).map(|i| 0.2 * wobble(i) * spike(i)).collect();
        Metric::sampled("latency_p90_seconds", 0.0, STEP, vec![("svc", values)])
    }

    fn share_of(history: &Metric) -> Option<f64> {
        ordinary_shares(std::slice::from_ref(history), &[], SPLIT, END)
            .get(&("latency_p90_seconds".to_string(), "svc".to_string()))
            .copied()
    }

    const INCIDENT: usize = (SPLIT / STEP) as usize;

    #[test]
    fn a_service_that_jumps_every_half_hour_is_chronic() {
        // A batch every 30 minutes triples the latency, and so does the incident:
        // every other 15-minute window holds one. Those whose few per cent of wobble
        // fall short of the incident's do not count, so the share is below a half.
        let batchy = latency(|i| {
            if i % 6 == 0 || i >= INCIDENT {
                3.0
            } else {
                1.0
            }
        });
        let share = share_of(&batchy).expect("six hours of history");
        assert!(share > 0.2, "{share}");
    }

    #[test]
    fn a_first_departure_is_not_chronic() {
        let fresh = latency(|i| if i >= INCIDENT { 3.0 } else { 1.0 });
        assert_eq!(share_of(&fresh), Some(0.0));
    }

    #[test]
    fn one_earlier_incident_in_the_history_does_not_make_a_service_chronic() {
        // The same fault two hours before, for 15 minutes.
        let earlier = INCIDENT - 24;
        let twice = latency(|i| {
            if i >= INCIDENT || (earlier..earlier + 3).contains(&i) {
                3.0
            } else {
                1.0
            }
        });
        let share = share_of(&twice).expect("six hours of history");
        assert!(share > 0.0 && share < 0.1, "{share}");
    }

    #[test]
    fn too_little_history_gives_no_share() {
        let short = Metric::sampled(
            "latency_p90_seconds",
            SPLIT - 3600.0,
            STEP,
            vec![("svc", vec![0.2; 16])],
        );
        assert_eq!(share_of(&short), None);
    }

    #[test]
    fn a_short_fault_between_two_coarse_samples_still_shows_in_the_recent_series() {
        // At the 5-minute step the history's samples miss a 2-minute fault; the
        // range's one-minute series has it.
        let history = latency(|_| 1.0);
        let recent = Metric::sampled(
            "latency_p90_seconds",
            SPLIT - 300.0,
            60.0,
            vec![(
                "svc",
                (0..20)
                    .map(|i| if (7..9).contains(&i) { 0.8 } else { 0.2 })
                    .collect(),
            )],
        );
        let shares = ordinary_shares(&[history], &[recent], SPLIT, END);
        assert_eq!(
            shares.get(&("latency_p90_seconds".to_string(), "svc".to_string())),
            Some(&0.0)
        );
    }
}
