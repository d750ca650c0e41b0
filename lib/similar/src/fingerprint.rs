//! A report's evidence as weighted features, and how alike two of them are.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use aegis_core::report::{Direction, Report};

/// Longest log template kept in a feature.
const MAX_TEMPLATE: usize = 160;

/// A report's evidence: features (`service <s>`, `<s> <signal> <direction>`) weighted
/// by how high the report ranked their service. How much each kind of feature counts
/// in a comparison is the [`Rule`](crate::Rule)'s, so stored fingerprints outlive a
/// change of the rule.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Fingerprint {
    /// Feature -> weight (> 0).
    pub features: BTreeMap<String, f64>,
}

impl Fingerprint {
    /// The fingerprint of `report`: its candidates' services and what moved in each
    /// (`report.moved`, the engine's structured evidence).
    pub fn of(report: &Report) -> Self {
        let services: Vec<String> = report
            .ranked_root_causes
            .iter()
            .map(|c| c.service.clone())
            .collect();
        let mut f = Self::of_services(&services);
        for m in &report.moved {
            let w = services
                .iter()
                .position(|s| *s == m.service)
                .map_or(rank_weight(services.len()), rank_weight);
            let key = format!(
                "{} {} {}",
                m.service,
                normalize(&m.signal),
                direction(m.direction)
            );
            let slot = f.features.entry(key).or_insert(0.0);
            *slot = slot.max(w);
        }
        f
    }

    /// Only the services, most suspected first.
    pub fn of_services(services: &[String]) -> Self {
        let mut features = BTreeMap::new();
        for (i, s) in services.iter().enumerate() {
            let slot = features.entry(format!("{SERVICE}{s}")).or_insert(0.0);
            *slot = f64::max(*slot, rank_weight(i));
        }
        Self { features }
    }

    /// Whether a feature contains `word` (case-insensitive).
    pub fn mentions(&self, word: &str) -> bool {
        let word = word.trim().to_lowercase();
        self.features
            .keys()
            .any(|k| k.to_lowercase().contains(&word))
    }

    /// Whether it has no feature (a report that found nothing).
    pub fn is_empty(&self) -> bool {
        self.features.is_empty()
    }

    /// The service of the top candidate (the `service` feature of the largest weight;
    /// the first by name among equals); `None` when the report ranked none.
    pub fn top_service(&self) -> Option<&str> {
        self.features
            .iter()
            .filter_map(|(k, w)| Some((k.strip_prefix(SERVICE)?, *w)))
            .fold(None, |best: Option<(&str, f64)>, (s, w)| match best {
                Some((_, b)) if b >= w => best,
                _ => Some((s, w)),
            })
            .map(|(s, _)| s)
    }

    /// [`similarity`] over the `service` features only.
    pub fn service_similarity(&self, other: &Self) -> f64 {
        let only = |f: &Self| Self {
            features: f
                .features
                .iter()
                .filter(|(k, _)| is_service(k))
                .map(|(k, v)| (k.clone(), *v))
                .collect(),
        };
        similarity(&only(self), &only(other))
    }
}

/// Weighted Jaccard similarity: the sum of the smaller weights of each feature over
/// the sum of the larger, in [0, 1]; 0 when either is empty.
pub fn similarity(a: &Fingerprint, b: &Fingerprint) -> f64 {
    weighted_similarity(a, b, |_, w| w)
}

/// [`similarity`] with each feature's weight `weigh(feature, stored weight)` instead
/// of the stored weight.
pub(crate) fn weighted_similarity(
    a: &Fingerprint,
    b: &Fingerprint,
    weigh: impl Fn(&str, f64) -> f64,
) -> f64 {
    let (mut min, mut max) = (0.0, 0.0);
    for (k, &wa) in &a.features {
        let wa = weigh(k, wa);
        let wb = b.features.get(k).map_or(0.0, |&w| weigh(k, w));
        min += wa.min(wb);
        max += wa.max(wb);
    }
    for (k, &wb) in &b.features {
        if !a.features.contains_key(k) {
            max += weigh(k, wb);
        }
    }
    if max > 0.0 { min / max } else { 0.0 }
}

/// How a service feature's name begins.
const SERVICE: &str = "service ";

/// Whether `feature` is a candidate's service (not a signal that moved).
pub(crate) fn is_service(feature: &str) -> bool {
    feature.starts_with(SERVICE)
}

/// Whether `weight` is the top candidate's (its service, and what moved in it).
pub(crate) fn is_top(weight: f64) -> bool {
    weight >= rank_weight(0)
}

/// The weight of the candidate at 0-based `rank`: the top one counts fully, the
/// second half as much, and so on.
fn rank_weight(rank: usize) -> f64 {
    1.0 / (rank as f64 + 1.0)
}

fn direction(d: Direction) -> &'static str {
    match d {
        Direction::Up => "up",
        Direction::Down => "down",
        Direction::New => "new",
        Direction::Broken => "broken",
    }
}

/// A signal name as a feature: lower case, numbers as `#` (ids, counts and times
/// differ between two occurrences of one fault), spaces collapsed, cut to
/// [`MAX_TEMPLATE`] characters.
fn normalize(signal: &str) -> String {
    let mut out = String::new();
    let mut last = ' ';
    for c in signal.chars().flat_map(char::to_lowercase) {
        let c = if c.is_ascii_digit() {
            '#'
        } else if c.is_whitespace() {
            ' '
        } else {
            c
        };
        if (c == '#' || c == ' ') && c == last {
            continue;
        }
        out.push(c);
        last = c;
        if out.chars().count() >= MAX_TEMPLATE {
            break;
        }
    }
    out.trim().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_and_spaces_do_not_tell_two_lines_apart() {
        assert_eq!(
            normalize("Order  12345 failed after 30 ms"),
            normalize("order 9 failed after 2 ms")
        );
        assert_eq!(normalize("a 1.5 b"), "a #.# b");
    }

    #[test]
    fn similarity_is_one_for_equal_and_zero_for_disjoint() {
        let a = Fingerprint::of_services(&["a".into(), "b".into()]);
        let b = Fingerprint::of_services(&["c".into()]);
        assert_eq!(similarity(&a, &a), 1.0);
        assert_eq!(similarity(&a, &b), 0.0);
        assert_eq!(similarity(&a, &Fingerprint::default()), 0.0);
        let swapped = Fingerprint::of_services(&["b".into(), "a".into()]);
        let s = similarity(&a, &swapped);
        assert!(s > 0.0 && s < 1.0, "{s}");
    }

    #[test]
    fn the_top_service_is_the_first_candidate() {
        let f = Fingerprint::of_services(&["b".into(), "a".into()]);
        assert_eq!(f.top_service(), Some("b"));
        assert_eq!(Fingerprint::default().top_service(), None);
    }
}
