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

use aegis_core::report::{Report, SimilarIncident};

/// Past incidents shown in a report, a page and a card.
pub const SHOWN: usize = 3;

/// Least similarity worth showing: below it two incidents share a service or a
/// common signal at most, which a reader would not call "the same incident".
pub const MIN_SIMILARITY: f64 = 0.15;

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
    /// at all.
    pub fn score(&self, entry: &Entry) -> Option<f64> {
        let s = match self {
            Self::Like(f) => similarity(f, &entry.fingerprint),
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
