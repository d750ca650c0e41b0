//! Log drift: how far the share of each template a service writes moved from what it
//! normally writes, over the history before the range as well as its baseline.

use std::collections::BTreeMap;

use super::logs::LogLines;
use crate::null::{self, Counts};
use crate::observations::Observations;
use crate::stats;

/// How far the mix of what a service logs in the incident part drifted from what it
/// normally logs, learnt minute by minute from every line before the incident part
/// (the history before the range and the range's baseline). A code fault changes which lines a
/// service writes, error or not: a method that throws stops logging its success line,
/// one that returns early skips the lines after it.
#[derive(Debug, Clone, Default)]
pub struct LogDrift {
    /// Largest drift of one template's share of the service's lines: the log ratio of
    /// its share in the incident part to its usual (median per minute) share, less how
    /// much that share normally varies (its interquartile range on the same scale).
    pub drift: f64,
    /// The template that drifted most: (template, usual share, share in the incident
    /// part, a line).
    pub template: (String, f64, f64, String),
    /// Minutes of history the usual shares were learnt from.
    pub minutes: usize,
    /// Lines the service wrote in the incident part.
    pub incident_lines: usize,
    /// The share of ordinary windows of the history (as many minutes as the incident
    /// part) whose mix drifted at least as far from the rest of the history: an
    /// empirical null for a service whose log mix always swings (a batch, a load
    /// generator changing scenario). `None` with too little history to tell.
    pub ordinary: Option<f64>,
}

impl LogDrift {
    /// Its weight as evidence: the drift, less the share of ordinary windows that
    /// drifted as far.
    pub fn score(&self) -> f64 {
        self.drift.min(3.0) * (1.0 - self.ordinary.unwrap_or(0.0))
    }
}

/// Minutes of history a service needs before its usual log mix (or its usual
/// warnings, [`crate::LogChange::ordinary`]) is trusted.
pub(crate) const MIN_HISTORY_MINUTES: usize = 3;

/// Smoothing of template shares, so a template at 0 % and one at 1 % are not
/// infinitely apart.
const SHARE_FLOOR: f64 = 0.02;

/// Log drift per service: see [`LogDrift`]. `lines` are the range's lines grouped
/// once ([`crate::signals::templates`]). With `with_null`, each drift is also
/// weighed against the service's own ordinary windows ([`LogDrift::ordinary`]);
/// with `with_counts`, by how unlikely its line count is by chance ([`count_weight`]).
pub fn log_drift(
    obs: &Observations,
    lines: &LogLines,
    split: f64,
    with_null: bool,
    with_counts: bool,
) -> BTreeMap<String, LogDrift> {
    let mut out = BTreeMap::new();
    for (service, indices) in &lines.by_service {
        let (minutes, incident) = null::around(
            indices
                .iter()
                .map(|&i| (obs.logs[i].time, lines.template_of[i])),
            split,
        );
        if incident.is_empty() {
            continue;
        }
        let history: Vec<&Counts> = minutes.iter().collect();
        if history.len() < MIN_HISTORY_MINUTES {
            continue;
        }
        let Some((drift, t)) = drift_of(&history, &incident, with_counts) else {
            continue;
        };
        let ordinary = with_null
            .then(|| {
                let length =
                    null::incident_minutes(indices.iter().map(|&i| obs.logs[i].time), split);
                null::ordinary_share(
                    &history,
                    length,
                    drift,
                    MIN_HISTORY_MINUTES,
                    |rest, pooled| drift_of(rest, pooled, with_counts).map_or(0.0, |d| d.0),
                )
            })
            .flatten();
        let incident_total: usize = incident.values().sum();
        let usual = {
            let mut shares: Vec<f64> = history
                .iter()
                .map(|c| c.get(&t).copied().unwrap_or(0) as f64 / c.values().sum::<usize>() as f64)
                .collect();
            shares.sort_by(f64::total_cmp);
            quantile(&shares, 0.5)
        };
        let now = incident.get(&t).copied().unwrap_or(0) as f64 / incident_total as f64;
        let example = indices
            .iter()
            .find(|&&i| lines.template_of[i] == t)
            .map_or("", |&i| obs.logs[i].line.as_str());
        out.insert(
            service.to_string(),
            LogDrift {
                drift,
                template: (lines.text(t).to_string(), usual, now, example.to_string()),
                minutes: history.len(),
                incident_lines: incident_total,
                ordinary,
            },
        );
    }
    out
}

/// The largest drift of one template's share in `now` (counts pooled over the part
/// compared) from its usual share per minute of `history`, less how much that share
/// normally varies, and the template; `None` when nothing drifted. With
/// `with_counts`, each drift is weighed by [`count_weight`].
fn drift_of(history: &[&Counts], now: &Counts, with_counts: bool) -> Option<(f64, u32)> {
    let now_total: usize = now.values().sum();
    if now_total == 0 {
        return None;
    }
    let totals: Vec<usize> = history.iter().map(|c| c.values().sum()).collect();
    let mut templates: Vec<u32> = history
        .iter()
        .flat_map(|c| c.keys().copied())
        .chain(now.keys().copied())
        .collect();
    templates.sort_unstable();
    templates.dedup();
    let ratio = |a: f64, b: f64| ((b + SHARE_FLOOR) / (a + SHARE_FLOOR)).ln();
    let mut best: Option<(f64, u32)> = None;
    let mut shares: Vec<f64> = Vec::with_capacity(history.len());
    for t in templates {
        shares.clear();
        shares.extend(
            history
                .iter()
                .zip(&totals)
                .map(|(c, n)| c.get(&t).copied().unwrap_or(0) as f64 / *n as f64),
        );
        shares.sort_by(f64::total_cmp);
        let q = |p: f64| quantile(&shares, p);
        let share = now.get(&t).copied().unwrap_or(0) as f64 / now_total as f64;
        let mut drift = ratio(q(0.5), share).abs() - ratio(q(0.25), q(0.75));
        if with_counts && drift > 0.0 {
            drift *= count_weight(share, q(0.5), (q(0.25), q(0.75)), now_total);
        }
        if drift > best.map_or(0.0, |b| b.0) {
            best = Some((drift, t));
        }
    }
    best
}

/// How much of a drift to `share` of `lines` lines counts, from how unlikely so
/// many (or so few) lines of the template are by chance ([`stats::chance_weight`]).
/// A share that rose is tested against the template's upper-quartile share, one that
/// fell against its lower quartile (each at least [`SHARE_FLOOR`] from 0 and 1), so
/// the drift of an incident part of a few lines (1 of 2 lines is a share of 50 %)
/// counts only as far as the lines show it. The chance is the Chernoff bound `exp(-lines * KL(share ||
/// usual))` of a binomial count, written here because it is one line.
fn count_weight(share: f64, median: f64, (low, high): (f64, f64), lines: usize) -> f64 {
    let usual = if share > median { high } else { low }.clamp(SHARE_FLOOR, 1.0 - SHARE_FLOOR);
    let past = if share > median {
        share > usual
    } else {
        share < usual
    };
    if !past {
        return 0.0;
    }
    let surprise = lines as f64 * bernoulli_divergence(share, usual);
    stats::chance_weight(surprise)
}

/// Kullback-Leibler divergence of a Bernoulli share `s` from a share `p` (nats).
fn bernoulli_divergence(s: f64, p: f64) -> f64 {
    let p = p.clamp(f64::EPSILON, 1.0 - f64::EPSILON);
    let term = |a: f64, b: f64| if a > 0.0 { a * (a / b).ln() } else { 0.0 };
    term(s, p) + term(1.0 - s, 1.0 - p)
}

/// The `p` quantile of the sorted `values` (the nearest rank).
fn quantile(values: &[f64], p: f64) -> f64 {
    values[((values.len() - 1) as f64 * p).round() as usize]
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    /// Minutes of 10 lines of template 0, except the minutes `odd` where 8 of
    /// them are template 1.
    fn minutes(n: usize, odd: impl Fn(usize) -> bool) -> Vec<Counts> {
        (0..n)
            .map(|m| {
                if odd(m) {
                    HashMap::from([(0, 2), (1, 8)])
                } else {
                    HashMap::from([(0, 10)])
                }
            })
            .collect()
    }

    fn share(history: &[Counts]) -> Option<f64> {
        let history: Vec<&Counts> = history.iter().collect();
        // The incident part: 5 minutes, all odd.
        let now = HashMap::from([(0, 10), (1, 40)]);
        let (drift, _) = drift_of(&history, &now, true).expect("drifted");
        null::ordinary_share(&history, 5, drift, MIN_HISTORY_MINUTES, |rest, pooled| {
            drift_of(rest, pooled, true).map_or(0.0, |d| d.0)
        })
    }

    #[test]
    fn one_earlier_incident_in_the_log_history_is_forgiven() {
        // An hour, with the same lines for 5 minutes 30 minutes ago.
        let once = minutes(60, |m| (30..35).contains(&m));
        assert_eq!(share(&once), Some(0.0));
    }

    #[test]
    fn a_mix_that_swings_as_far_every_20_minutes_is_ordinary() {
        let periodic = minutes(60, |m| m % 20 >= 15);
        let share = share(&periodic).expect("an hour of history");
        assert!(share > 0.1, "{share}");
    }

    #[test]
    fn a_template_in_one_of_two_lines_is_chance_and_in_half_of_forty_a_drift() {
        let quiet = minutes(60, |_| false);
        let history: Vec<&Counts> = quiet.iter().collect();
        let two = HashMap::from([(0, 1), (1, 1)]);
        let forty = HashMap::from([(0, 20), (1, 20)]);
        let (untested, _) = drift_of(&history, &two, false).expect("drifted");
        assert!(untested > 3.0, "{untested}");
        assert_eq!(drift_of(&history, &two, true), None);
        let (tested, t) = drift_of(&history, &forty, true).expect("drifted");
        assert_eq!((tested, t), (untested, 1));
    }

    #[test]
    fn too_little_log_history_gives_no_share() {
        assert_eq!(share(&minutes(12, |_| false)), None);
    }
}
