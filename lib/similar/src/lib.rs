//! Similar past incidents: every stored report gets a [`Fingerprint`] of its evidence
//! (which services, which signals moved which way, which log templates rose, which
//! invariants broke), kept as an [`Entry`] beside the report; a new analysis looks up
//! the closest entries ([`closest`]).
//!
//! The store keeps and rebuilds the entries (`aegis_store`); this crate only knows how
//! to fingerprint and compare, so the evaluation can measure it without a store.

mod fingerprint;

pub use fingerprint::{Fingerprint, similarity};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use aegis_core::report::{Report, SimilarIncident, Verdict};

/// Past incidents shown in a report, a page and a card.
pub const SHOWN: usize = 3;

/// How a report is matched with past incidents ([`Query::Like`]): chosen on the dev
/// systems by `aegis eval --study` (leave one system out; docs/evaluation.md,
/// "Similar past incidents"). A past incident shown is one that likely had the same
/// cause: the same top service, whose own evidence (which signals moved which way,
/// which log templates rose) is mostly this one's. Fewer shown, and right, is the
/// aim: a wrong "seen before" sends an on-call engineer down the wrong path.
pub const RULE: Rule = Rule {
    top_only: true,
    service_weight: 0.0,
    same_top_service: true,
    min: 0.85,
};

/// Least similarity worth showing ([`RULE`]'s): below it the top candidates' evidence
/// shares less than 85 % (weighted Jaccard); on the dev systems, lower thresholds
/// showed another fault on the same service about as often as a repeat.
pub const MIN_SIMILARITY: f64 = RULE.min;

/// What makes a past incident alike enough to show, and how its fingerprint's parts
/// count.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Rule {
    /// Compare only the top candidate's features (its service and what moved in it);
    /// otherwise every candidate's, at their rank weights.
    pub top_only: bool,
    /// Weight of a `service` feature against a moved signal's (both times the rank
    /// weight).
    pub service_weight: f64,
    /// Show only a past incident whose top candidate is this one's.
    pub same_top_service: bool,
    /// Least similarity shown, in [0, 1].
    pub min: f64,
}

impl Rule {
    /// How alike `past` is to `query` under this rule's weights, in [0, 1] (weighted
    /// Jaccard, [`similarity`]); the gates are [`Rule::score`]'s.
    pub fn similarity(&self, query: &Fingerprint, past: &Fingerprint) -> f64 {
        fingerprint::weighted_similarity(query, past, |feature, weight| {
            if self.top_only && !fingerprint::is_top(weight) {
                0.0
            } else if fingerprint::is_service(feature) {
                self.service_weight * weight
            } else {
                weight
            }
        })
    }

    /// How alike `past` is to `query`; `None` when it cannot be the same cause: people
    /// judged its cause wrong, or (with [`Rule::same_top_service`]) its top service
    /// is not the query's, or they share nothing. [`Rule::min`] is left to the caller.
    pub fn score(&self, query: &Fingerprint, past: &Entry) -> Option<f64> {
        if past.feedback.as_deref() == Some(Verdict::WrongCause.words()) {
            return None;
        }
        if self.same_top_service
            && (query.top_service().is_none()
                || query.top_service() != past.fingerprint.top_service())
        {
            return None;
        }
        let s = self.similarity(query, &past.fingerprint);
        (s > 0.0).then_some(s)
    }

    /// Whether `past` is shown for `query`: it passes the gates and is at least
    /// [`Rule::min`] alike.
    pub fn shows(&self, query: &Fingerprint, past: &Entry) -> bool {
        self.score(query, past).is_some_and(|s| s >= self.min)
    }
}

/// What the store keeps per report for the search: enough to show it without reading
/// the report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Entry {
    /// The report's id.
    pub id: String,
    /// When the incident was: the end of the range the report analysed (what a reader
    /// asks "when", and known from the report alone, so an entry can be rebuilt).
    pub at: DateTime<Utc>,
    /// Its summary.
    pub summary: String,
    /// Its top candidate's service.
    pub top_service: Option<String>,
    /// Its evidence's fingerprint.
    pub fingerprint: Fingerprint,
    /// The verdict people gave it (`right cause`, `wrong cause`), if any; the store
    /// writes the entry again when a verdict arrives.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub feedback: Option<String>,
}

impl Entry {
    /// The entry of `report`.
    pub fn of(report: &Report) -> Self {
        Self {
            id: report.id.clone(),
            at: report.time_range.end,
            summary: report.summary.clone(),
            top_service: report.ranked_root_causes.first().map(|c| c.service.clone()),
            fingerprint: Fingerprint::of(report),
            feedback: report
                .feedback
                .as_ref()
                .map(|f| f.verdict.words().to_string()),
        }
    }

    /// The entry as a similar incident `similarity` alike, with its verdict.
    pub fn incident(&self, similarity: f64) -> SimilarIncident {
        SimilarIncident {
            id: self.id.clone(),
            at: self.at,
            summary: self.summary.clone(),
            top_service: self.top_service.clone(),
            similarity: (similarity * 1000.0).round() / 1000.0,
            feedback: self.feedback.clone(),
        }
    }
}

/// What to look for: a report's fingerprint, or services (and a word) a caller names.
#[derive(Debug, Clone)]
pub enum Query {
    /// Incidents whose evidence resembles this fingerprint.
    Like(Fingerprint),
    /// Incidents that blamed these services (most suspected first), and whose evidence
    /// names `signal` when given (a metric, a log word: case-insensitive).
    Services {
        /// The services, most suspected first.
        services: Vec<String>,
        /// A word the evidence must contain.
        signal: Option<String>,
    },
}

impl Query {
    /// How alike `entry` is to what is asked, in [0, 1]; `None` when it does not match
    /// at all. A fingerprint is matched by [`RULE`] (its gates included); services by
    /// their overlap alone, whatever the verdict (the caller sees it).
    pub fn score(&self, entry: &Entry) -> Option<f64> {
        let s = match self {
            Self::Like(f) => return RULE.score(f, entry),
            Self::Services { services, signal } => {
                if let Some(word) = signal
                    && !entry.fingerprint.mentions(word)
                {
                    return None;
                }
                Fingerprint::of_services(services).service_similarity(&entry.fingerprint)
            }
        };
        (s > 0.0).then_some(s)
    }
}

/// The `limit` entries closest to `query`, most similar first (newest first among
/// equals), at least `min` alike, leaving out the report `exclude` (the one being
/// analysed, or stored twice).
pub fn closest<'a>(
    query: &Query,
    entries: impl IntoIterator<Item = &'a Entry>,
    exclude: Option<&str>,
    limit: usize,
    min: f64,
) -> Vec<SimilarIncident> {
    let mut scored: Vec<(f64, &Entry)> = entries
        .into_iter()
        .filter(|e| Some(e.id.as_str()) != exclude)
        .filter_map(|e| query.score(e).map(|s| (s, e)))
        .filter(|(s, _)| *s >= min)
        .collect();
    scored.sort_by(|a, b| b.0.total_cmp(&a.0).then(b.1.at.cmp(&a.1.at)));
    let mut seen = std::collections::HashSet::new();
    scored
        .into_iter()
        .filter(|(_, e)| seen.insert(e.id.clone()))
        .take(limit)
        .map(|(s, e)| e.incident(s))
        .collect()
}

#[cfg(test)]
mod tests;
