//! Log drift: how far the share of each template a service writes moved from what it
//! normally writes, over the history before the range as well as its baseline.

use std::collections::{BTreeMap, HashMap};

use super::logs::LogLines;
use crate::observations::Observations;

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
}

impl LogDrift {
    /// Its weight as evidence.
    pub fn score(&self) -> f64 {
        self.drift.min(3.0)
    }
}

/// Minutes of history a service needs before its usual log mix is trusted.
const MIN_HISTORY_MINUTES: usize = 3;

/// Smoothing of template shares, so a template at 0 % and one at 1 % are not
/// infinitely apart.
const SHARE_FLOOR: f64 = 0.02;

/// Log drift per service: see [`LogDrift`]. `lines` are the range's lines grouped
/// once ([`crate::signals::templates`]).
pub fn log_drift(obs: &Observations, lines: &LogLines, split: f64) -> BTreeMap<String, LogDrift> {
    let mut out = BTreeMap::new();
    for (service, indices) in &lines.by_service {
        // Per minute before the split (by index) and for the incident part (`None`):
        // template counts; and a line of each template.
        let mut minutes: BTreeMap<Option<i64>, HashMap<u32, usize>> = BTreeMap::new();
        let mut examples: HashMap<u32, &str> = HashMap::new();
        for &i in indices {
            let l = &obs.logs[i];
            let t = lines.template_of[i];
            let minute = (l.time < split).then(|| ((l.time - split) / 60.0).floor() as i64);
            *minutes.entry(minute).or_default().entry(t).or_default() += 1;
            examples.entry(t).or_insert(&l.line);
        }
        let Some(incident) = minutes.get(&None) else {
            continue;
        };
        let history: Vec<(usize, &HashMap<u32, usize>)> = minutes
            .iter()
            .filter(|(m, _)| m.is_some())
            .map(|(_, c)| (c.values().sum(), c))
            .collect();
        if history.len() < MIN_HISTORY_MINUTES {
            continue;
        }
        let incident_total: usize = incident.values().sum();
        let mut templates: Vec<u32> = history
            .iter()
            .flat_map(|(_, c)| c.keys().copied())
            .chain(incident.keys().copied())
            .collect();
        templates.sort_unstable();
        templates.dedup();
        let mut best: Option<LogDrift> = None;
        let mut shares: Vec<f64> = Vec::with_capacity(history.len());
        for t in templates {
            shares.clear();
            shares.extend(
                history
                    .iter()
                    .map(|(n, c)| c.get(&t).copied().unwrap_or(0) as f64 / *n as f64),
            );
            shares.sort_by(f64::total_cmp);
            let q = |p: f64| shares[((shares.len() - 1) as f64 * p).round() as usize];
            let usual = q(0.5);
            let now = incident.get(&t).copied().unwrap_or(0) as f64 / incident_total as f64;
            let ratio = |a: f64, b: f64| ((b + SHARE_FLOOR) / (a + SHARE_FLOOR)).ln();
            let drift = ratio(usual, now).abs() - ratio(q(0.25), q(0.75));
            if drift > best.as_ref().map_or(0.0, |b| b.drift) {
                let example = examples.get(&t).copied().unwrap_or_default();
                best = Some(LogDrift {
                    drift,
                    template: (lines.text(t).to_string(), usual, now, example.to_string()),
                    minutes: history.len(),
                });
            }
        }
        if let Some(b) = best {
            out.insert(service.to_string(), b);
        }
    }
    out
}
