//! Empirical nulls from a service's own log history: how often an ordinary window of
//! its history departs as far as the incident part does, measured the same way. A
//! service whose log mix always swings, whose paired lines often part, or whose
//! warnings come and go is a chronic suspect ([`crate::LogDrift::ordinary`],
//! [`crate::BrokenInvariant::ordinary`], [`crate::LogChange::ordinary`],
//! [`crate::LogChange::mix_ordinary`]); the metrics' null is `crate::chronic`'s.

use std::collections::{BTreeMap, HashMap};

/// Template counts of one minute, or pooled over a part.
pub type Counts = HashMap<u32, usize>;

/// Ordinary windows the history needs before their share counts.
const MIN_WINDOWS: usize = 4;

/// Ordinary windows that departed as far that the share forgives: an earlier
/// incident of the same service inside the history (faults recur) is not a chronic
/// habit.
const EARLIER_INCIDENT_WINDOWS: usize = 1;

/// The share of ordinary windows of `history` (minutes with lines, in time order)
/// that depart at least `now`: windows of `length` consecutive minutes, most recent
/// first, not overlapping, each pooled and measured by `measure` against the rest of
/// the history (at least `min_rest` minutes of it), as the incident part was against
/// all of it. `None` with fewer than [`MIN_WINDOWS`] windows; one window that
/// departed as far is forgiven ([`EARLIER_INCIDENT_WINDOWS`]).
pub fn ordinary_share(
    history: &[&Counts],
    length: usize,
    now: f64,
    min_rest: usize,
    measure: impl Fn(&[&Counts], &Counts) -> f64,
) -> Option<f64> {
    let (n, length) = (history.len(), length.max(1));
    if n < length + min_rest {
        return None;
    }
    let (mut windows, mut as_far) = (0usize, 0usize);
    let mut rest: Vec<&Counts> = Vec::with_capacity(n);
    let mut end = n;
    while end >= length {
        let from = end - length;
        rest.clear();
        rest.extend_from_slice(&history[..from]);
        rest.extend_from_slice(&history[end..]);
        if rest.len() >= min_rest {
            windows += 1;
            as_far += usize::from(measure(&rest, &pooled(&history[from..end])) >= now);
        }
        end = from;
    }
    (windows >= MIN_WINDOWS)
        .then(|| as_far.saturating_sub(EARLIER_INCIDENT_WINDOWS) as f64 / windows as f64)
}

/// Minutes from the split (whole minutes, from 0) in which a service logged from
/// `split` on: the length of its incident part, in the history's unit.
pub fn incident_minutes(times: impl Iterator<Item = f64>, split: f64) -> usize {
    let mut minutes: Vec<i64> = times
        .filter(|t| *t >= split)
        .map(|t| ((t - split) / 60.0).floor() as i64)
        .collect();
    minutes.sort_unstable();
    minutes.dedup();
    minutes.len().max(1)
}

/// A service's lines (time, template) grouped per minute before `split` (the
/// history before the range and the range's baseline: minutes with lines, in time
/// order) and pooled from `split` on: the history and the incident part every null
/// of this module compares.
pub fn around(lines: impl Iterator<Item = (f64, u32)>, split: f64) -> (Vec<Counts>, Counts) {
    let mut minutes: BTreeMap<i64, Counts> = BTreeMap::new();
    let mut incident = Counts::new();
    for (time, t) in lines {
        let counts = if time < split {
            minutes
                .entry(((time - split) / 60.0).floor() as i64)
                .or_default()
        } else {
            &mut incident
        };
        *counts.entry(t).or_default() += 1;
    }
    (minutes.into_values().collect(), incident)
}

/// `minutes` pooled into one part.
pub fn pooled(minutes: &[&Counts]) -> Counts {
    let mut out = Counts::new();
    for counts in minutes {
        for (t, c) in counts.iter() {
            *out.entry(*t).or_default() += c;
        }
    }
    out
}
