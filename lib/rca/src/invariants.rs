//! Log invariants: pairs of a service's log templates whose counts keep one ratio
//! minute after minute, because one code path writes both (each query logs
//! "calculate distance" once and "rest tickets" once), after Lou et al., "Mining
//! Invariants from Console Logs for System Problem Detection" (USENIX ATC 2010). A
//! method that throws or returns early stops writing the lines after the fault and
//! breaks such a pair, however the traffic moves, and without logging any error;
//! the share of each template ([`crate::signals::log_drift`]) moves with the
//! request mix, a ratio within one code path does not.

use std::collections::{BTreeMap, HashMap};

use super::null::{self, Counts};
use super::observations::Observations;
use super::signals::LogLines;
use super::stats;
use super::window::GUARD_SECONDS;

/// Lines a template needs over the history to be part of an invariant.
const MIN_TOTAL: usize = 10;

/// Minutes of history a pair must have been seen in.
const MIN_MINUTES: usize = 3;

/// Share of those minutes in which the ratio must have held: three in four, so that
/// an earlier fault of the same kind in the history (the same lines lost for a few
/// minutes) does not hide the invariant it breaks again.
const MIN_HOLDING: f64 = 0.75;

/// How far a minute may be from the ratio and still hold it: one line, or this
/// share of the minute's lines.
const TOLERANCE: f64 = 0.1;

/// Lines of the pair the incident part needs before a break counts: a handful of
/// lines off a ratio is chance.
const MIN_INCIDENT_LINES: usize = 10;

/// The largest whole ratio taken for an invariant.
const MAX_RATIO: f64 = 4.0;

/// How far the history's ratio may be from a whole number, as a share of it.
const RATIO_SLACK: f64 = 0.15;

/// The most frequent templates of a service that are paired (the pairs grow with the
/// square).
const MAX_TEMPLATES: usize = 40;

/// A service's invariant that the incident part breaks most.
#[derive(Debug, Clone)]
pub struct BrokenInvariant {
    /// How far the incident part's counts are from the usual ratio, in Poisson
    /// standard deviations.
    pub z: f64,
    /// The more frequent template, its count in the incident part and a line.
    pub more: (String, usize, String),
    /// The other template, its count in the incident part and a line.
    pub less: (String, usize, String),
    /// Lines of `more` per line of `less` over the history.
    pub ratio: f64,
    /// Minutes of history in which the ratio held.
    pub minutes: usize,
    /// The share of ordinary windows of the history (as many minutes as the incident
    /// part) in which some invariant learnt from the rest of the history broke as
    /// far (`crate::null`): a service whose paired lines often part is a chronic
    /// suspect. `None` with too little history to tell.
    pub ordinary: Option<f64>,
    /// The share of the break that counts, from how many minutes held the ratio: two
    /// templates of a few lines a minute fall within a line of a whole ratio in a
    /// minute about as often as not, so a ratio that held in three or four minutes is
    /// no invariant (Train Ticket's afternoon ranges, which kept a few minutes of
    /// logs, had such pairs break at z 2-5 across services at once). All of them
    /// holding has a chance of 2^-minutes ([`stats::sign_test_weight`]): none up to 6
    /// minutes, in full from 14. 1 when not weighed
    /// ([`crate::Settings::invariant_minutes`]).
    pub count_weight: f64,
}

impl BrokenInvariant {
    /// Its weight as evidence, as far as the minutes that held the ratio make it an
    /// invariant, less the share of ordinary windows that broke as far.
    pub fn score(&self) -> f64 {
        self.count_weight * (self.z / 2.0).min(2.0) * (1.0 - self.ordinary.unwrap_or(0.0))
    }
}

/// Per service, the invariant of its logs that the part from `split` on breaks most:
/// pairs of templates learnt from the minutes before the split (less the minute just
/// before it, as for [`crate::signals::log_changes`]). `lines` are the range's lines
/// grouped once ([`crate::signals::templates`]). With `with_null`, each break is also
/// weighed against the service's own ordinary windows ([`BrokenInvariant::ordinary`]);
/// with `with_minutes`, by the minutes that held its ratio
/// ([`BrokenInvariant::count_weight`]).
pub fn broken(
    obs: &Observations,
    lines: &LogLines,
    split: f64,
    with_null: bool,
    with_minutes: bool,
) -> BTreeMap<String, BrokenInvariant> {
    let mut out = BTreeMap::new();
    for (service, indices) in &lines.by_service {
        // Per minute before the split: lines per template; lines per template from
        // the split on; a line of each template.
        let mut minutes: BTreeMap<i64, HashMap<u32, usize>> = BTreeMap::new();
        let mut incident: HashMap<u32, usize> = HashMap::new();
        let mut examples: HashMap<u32, &str> = HashMap::new();
        for &i in indices {
            let l = &obs.logs[i];
            let t = lines.template_of[i];
            if l.time >= split {
                *incident.entry(t).or_default() += 1;
            } else if l.time < split - GUARD_SECONDS {
                let minute = ((l.time - split) / 60.0).floor() as i64;
                *minutes.entry(minute).or_default().entry(t).or_default() += 1;
            } else {
                continue;
            }
            examples.entry(t).or_insert(&l.line);
        }
        if incident.is_empty() {
            continue;
        }
        if let Some(b) = strongest_break(minutes.values(), &incident) {
            let ordinary = with_null
                .then(|| {
                    let history: Vec<&Counts> = minutes.values().collect();
                    let length =
                        null::incident_minutes(indices.iter().map(|&i| obs.logs[i].time), split);
                    null::ordinary_share(&history, length, b.z, MIN_MINUTES, |rest, pooled| {
                        strongest_break(rest.iter().copied(), pooled).map_or(0.0, |b| b.z)
                    })
                })
                .flatten();
            let line = |t: u32| examples.get(&t).copied().unwrap_or_default();
            out.insert(
                service.to_string(),
                BrokenInvariant {
                    z: b.z,
                    more: (
                        lines.text(b.more).to_string(),
                        b.counts.0,
                        line(b.more).to_string(),
                    ),
                    less: (
                        lines.text(b.less).to_string(),
                        b.counts.1,
                        line(b.less).to_string(),
                    ),
                    ratio: b.ratio,
                    minutes: b.minutes,
                    ordinary,
                    count_weight: if with_minutes {
                        stats::sign_test_weight(b.minutes)
                    } else {
                        1.0
                    },
                },
            );
        }
    }
    out
}

/// A break found by [`strongest_break`], of templates `K` (ids, or texts in tests).
struct Break<K> {
    z: f64,
    more: K,
    less: K,
    ratio: f64,
    minutes: usize,
    /// Incident-part counts of `more` and `less`.
    counts: (usize, usize),
}

/// The invariant among `minutes` (template counts per minute) that `incident`
/// breaks most, if any.
fn strongest_break<'m, K: Copy + Ord + std::hash::Hash + 'm>(
    minutes: impl Iterator<Item = &'m HashMap<K, usize>>,
    incident: &HashMap<K, usize>,
) -> Option<Break<K>> {
    let minutes: Vec<&HashMap<K, usize>> = minutes.collect();
    let mut totals: HashMap<K, (usize, usize)> = HashMap::new();
    for m in &minutes {
        for (t, n) in m.iter() {
            let e = totals.entry(*t).or_default();
            e.0 += n;
            e.1 += 1;
        }
    }
    let mut candidates: Vec<(K, usize)> = totals
        .into_iter()
        .filter(|(_, (total, seen))| *total >= MIN_TOTAL && *seen >= MIN_MINUTES)
        .map(|(t, (total, _))| (t, total))
        .collect();
    candidates.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    candidates.truncate(MAX_TEMPLATES);
    // Dense per-minute counts, one row per candidate.
    let rows: Vec<Vec<f64>> = candidates
        .iter()
        .map(|(t, _)| {
            minutes
                .iter()
                .map(|m| m.get(t).copied().unwrap_or(0) as f64)
                .collect()
        })
        .collect();
    let now = |t: K| incident.get(&t).copied().unwrap_or(0);
    let mut best: Option<Break<K>> = None;
    // `candidates` is sorted by total, so `i < j` pairs the more frequent first.
    for i in 0..candidates.len() {
        for j in i + 1..candidates.len() {
            let ((more, n_more), (less, n_less)) = (candidates[i], candidates[j]);
            let (x, y) = (now(more), now(less));
            if x + y < MIN_INCIDENT_LINES {
                continue;
            }
            let Some(ratio) = whole_ratio(n_more as f64 / n_less as f64) else {
                continue;
            };
            let Some(held) = holding(&rows[i], &rows[j], ratio) else {
                continue;
            };
            let expected = ratio * y as f64;
            let z = (x as f64 - expected).abs() / (x as f64 + expected + 1.0).sqrt();
            if z > best.as_ref().map_or(0.0, |b| b.z) {
                best = Some(Break {
                    z,
                    more,
                    less,
                    ratio,
                    minutes: held,
                    counts: (x, y),
                });
            }
        }
    }
    best
}

/// The whole number of lines per line that `ratio` is, if it is near one: one code
/// path writes a line once, or once per item of a loop; a ratio of 1.37 is two paths
/// that happened to keep a steady mix.
fn whole_ratio(ratio: f64) -> Option<f64> {
    let whole = ratio.round();
    ((1.0..=MAX_RATIO).contains(&whole) && (ratio - whole).abs() <= RATIO_SLACK * whole)
        .then_some(whole)
}

/// The minutes in which `more` kept `ratio` lines per line of `less`, if that is an
/// invariant: seen together in at least [`MIN_MINUTES`] minutes and held in at least
/// [`MIN_HOLDING`] of them.
fn holding(more: &[f64], less: &[f64], ratio: f64) -> Option<usize> {
    let (mut seen, mut held) = (0usize, 0usize);
    for (x, y) in more.iter().zip(less) {
        if x + y == 0.0 {
            continue;
        }
        seen += 1;
        let expected = ratio * y;
        if (x - expected).abs() <= (TOLERANCE * (x + expected)).max(1.0) {
            held += 1;
        }
    }
    (seen >= MIN_MINUTES && held as f64 >= MIN_HOLDING * seen as f64).then_some(held)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn minute<'a>(counts: &[(&'a str, usize)]) -> HashMap<&'a str, usize> {
        counts.iter().copied().collect()
    }

    #[test]
    fn a_pair_that_kept_its_ratio_and_stops_is_a_break() {
        // "distance" and "tickets" come 1:1 every minute whatever the traffic;
        // "login" comes and goes with another path.
        let history: Vec<HashMap<&str, usize>> = (0..10)
            .map(|m| {
                minute(&[
                    ("distance", 5 + m),
                    ("tickets", 5 + m),
                    ("login", (m * 7) % 5),
                ])
            })
            .collect();
        let incident = minute(&[("distance", 30), ("tickets", 12), ("login", 3)]);
        let b = strongest_break(history.iter(), &incident).expect("a break");
        assert_eq!((b.more, b.less), ("distance", "tickets"));
        assert_eq!(b.ratio, 1.0);
        assert_eq!(b.minutes, 10);
        assert_eq!(b.counts, (30, 12));
        assert!(b.z > 2.0, "{}", b.z);
        // Four times the traffic, same ratio: nothing broke.
        let busy = minute(&[("distance", 60), ("tickets", 61), ("login", 1)]);
        let z = strongest_break(history.iter(), &busy).map_or(0.0, |b| b.z);
        assert!(z < 0.5, "{z}");
    }

    #[test]
    fn a_pair_that_never_kept_a_ratio_is_no_invariant() {
        // 1:1 over the hour, but never in any one minute.
        let history: Vec<HashMap<&str, usize>> = (0..10)
            .map(|m| minute(&[("a", 10), ("b", if m % 2 == 0 { 5 } else { 15 })]))
            .collect();
        let incident = minute(&[("a", 30), ("b", 0)]);
        assert!(strongest_break(history.iter(), &incident).is_none());
    }

    #[test]
    fn only_whole_ratios_are_code_paths() {
        assert_eq!(whole_ratio(1.05), Some(1.0));
        assert_eq!(whole_ratio(2.2), Some(2.0));
        // Two paths that happened to keep a steady mix.
        assert_eq!(whole_ratio(1.37), None);
        assert_eq!(whole_ratio(6.0), None, "beyond {MAX_RATIO}:1");
    }

    #[test]
    fn a_few_lines_off_the_ratio_are_chance() {
        let history: Vec<HashMap<&str, usize>> =
            (0..10).map(|_| minute(&[("a", 8), ("b", 8)])).collect();
        let incident = minute(&[("a", 6), ("b", 0)]);
        assert!(strongest_break(history.iter(), &incident).is_none());
    }
}

#[cfg(test)]
mod null_tests {
    use super::*;

    /// Two hours of minutes in which template 0 and template 1 are written once per
    /// request (10 a minute), except the minutes `parted` where half the requests
    /// stop before template 1.
    fn minutes(parted: impl Fn(usize) -> bool) -> Vec<Counts> {
        (0..120)
            .map(|m| HashMap::from([(0, 10), (1, if parted(m) { 5 } else { 10 })]))
            .collect()
    }

    /// The share for an incident part of 5 minutes in which half the requests stop
    /// before template 1.
    fn share(history: &[Counts]) -> Option<f64> {
        let history: Vec<&Counts> = history.iter().collect();
        let now = HashMap::from([(0, 50), (1, 25)]);
        let z = strongest_break(history.iter().copied(), &now)
            .expect("a broken pair")
            .z;
        null::ordinary_share(&history, 5, z, MIN_MINUTES, |rest, pooled| {
            strongest_break(rest.iter().copied(), pooled).map_or(0.0, |b| b.z)
        })
    }

    #[test]
    fn a_pair_that_never_parted_before_is_no_chronic_suspect() {
        assert_eq!(share(&minutes(|_| false)), Some(0.0));
    }

    #[test]
    fn a_pair_that_parts_for_five_minutes_every_half_hour_is_a_chronic_suspect() {
        // Still an invariant (it holds in five minutes of six), and broken as far in
        // one window of six (the first of them forgiven).
        let share = share(&minutes(|m| m % 30 >= 25)).expect("two hours of history");
        assert!(share > 0.1, "{share}");
    }
}
