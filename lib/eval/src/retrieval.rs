//! Past-incident search, measured: every case's report is fingerprinted, and each case
//! in turn is the new incident while the others are the store (leave one out). A
//! case's relevant set is the other cases of the same fault type on the same service
//! (Nezha injects each fault several times); the search should find them and nothing
//! else.

use serde::Serialize;

use super::CaseResult;
use aegis_similar::{Entry, Query};

/// Retrieval quality over a set of cases.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Retrieval {
    /// Cases searched.
    pub cases: usize,
    /// Cases that have at least one relevant other case (the queries P@k and R@k are
    /// over).
    pub with_relevant: usize,
    /// Mean share of the first result that is relevant.
    pub precision_at_1: f64,
    /// Mean share of the first 3 results that are relevant.
    pub precision_at_3: f64,
    /// Mean share of the relevant cases found in the first 3.
    pub recall_at_3: f64,
    /// What a report shows (the first 3 at least `MIN_SIMILARITY` alike): the share of
    /// shown incidents that are relevant, over every case.
    pub shown_precision: f64,
    /// The share of the relevant cases (up to 3 a case) that a report shows.
    pub shown_recall: f64,
    /// Cases without any relevant other case that show something anyway.
    pub false_alarms: usize,
}

impl Retrieval {
    /// Leave-one-out retrieval over `cases` (their fingerprints and truths).
    pub fn of(cases: &[CaseResult]) -> Self {
        let entries: Vec<Entry> = cases
            .iter()
            .map(|c| Entry {
                id: c.id.clone(),
                at: chrono::DateTime::UNIX_EPOCH,
                summary: String::new(),
                top_service: c.ranked.first().cloned(),
                fingerprint: c.fingerprint.clone(),
                feedback: None,
            })
            .collect();
        let relevant = |a: &CaseResult, id: &str| {
            cases
                .iter()
                .any(|b| b.id == id && b.id != a.id && b.truth == a.truth && b.fault == a.fault)
        };
        let mut out = Self {
            cases: cases.len(),
            ..Self::default()
        };
        let (mut p1, mut p3, mut r3) = (0.0, 0.0, 0.0);
        let (mut shown, mut shown_hits, mut wanted, mut found) = (0usize, 0usize, 0usize, 0usize);
        for c in cases {
            let total = cases.iter().filter(|b| relevant(c, &b.id)).count();
            let query = Query::Like(c.fingerprint.clone());
            let top = aegis_similar::closest(&query, &entries, Some(&c.id), 3, f64::MIN_POSITIVE);
            let hits = |k: usize| top.iter().take(k).filter(|s| relevant(c, &s.id)).count();
            let visible: Vec<_> = top
                .iter()
                .filter(|s| s.similarity >= aegis_similar::MIN_SIMILARITY)
                .collect();
            let visible_hits = visible.iter().filter(|s| relevant(c, &s.id)).count();
            shown += visible.len();
            shown_hits += visible_hits;
            if total == 0 {
                if !visible.is_empty() {
                    out.false_alarms += 1;
                }
                continue;
            }
            out.with_relevant += 1;
            p1 += hits(1) as f64;
            p3 += hits(3) as f64 / 3.0;
            r3 += hits(3) as f64 / total as f64;
            wanted += total.min(3);
            found += visible_hits;
        }
        let n = out.with_relevant.max(1) as f64;
        let round = |x: f64| (x * 1000.0).round() / 1000.0;
        out.precision_at_1 = round(p1 / n);
        out.precision_at_3 = round(p3 / n);
        out.recall_at_3 = round(r3 / n);
        out.shown_precision = round(shown_hits as f64 / shown.max(1) as f64);
        out.shown_recall = round(found as f64 / wanted.max(1) as f64);
        out
    }

    /// The lines `aegis eval` prints under its table.
    pub fn table(&self) -> String {
        format!(
            "past incidents (leave one out, {} cases, {} with a repeat): P@1 {:.3} P@3 {:.3} R@3 {:.3}; \
             shown (>= {:.0}% alike): precision {:.3} recall {:.3}, {} cases without a repeat showed one\n",
            self.cases,
            self.with_relevant,
            self.precision_at_1,
            self.precision_at_3,
            self.recall_at_3,
            100.0 * aegis_similar::MIN_SIMILARITY,
            self.shown_precision,
            self.shown_recall,
            self.false_alarms
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aegis_similar::Fingerprint;

    /// A case whose report blamed `services`, the first one's latency rising (the same
    /// evidence whatever the fault).
    fn case(id: &str, truth: &str, fault: &str, services: &[&str]) -> CaseResult {
        let services: Vec<String> = services.iter().map(|s| s.to_string()).collect();
        let mut fingerprint = Fingerprint::of_services(&services);
        fingerprint
            .features
            .insert(format!("{} metric:latency up", services[0]), 1.0);
        CaseResult {
            id: id.into(),
            truth: truth.into(),
            ranked: services.clone(),
            ms: 0,
            dataset: "d".into(),
            fault: fault.into(),
            fingerprint,
            system: "s".into(),
            at: chrono::DateTime::UNIX_EPOCH,
        }
    }

    #[test]
    fn repeats_found_first_count_fully() {
        let cases = [
            case("a1", "a", "cpu", &["a"]),
            case("a2", "a", "cpu", &["a"]),
            case("b1", "b", "cpu", &["b"]),
        ];
        let r = Retrieval::of(&cases);
        assert_eq!(r.cases, 3);
        assert_eq!(r.with_relevant, 2);
        assert_eq!(r.precision_at_1, 1.0);
        assert_eq!(r.recall_at_3, 1.0);
        // Each finds one relevant case among at most 3 shown.
        assert_eq!(r.precision_at_3, 0.333);
        assert_eq!(r.shown_precision, 1.0);
        assert_eq!(r.false_alarms, 0);
    }

    #[test]
    fn another_fault_on_the_same_service_is_not_relevant() {
        let cases = [
            case("a1", "a", "cpu", &["a"]),
            case("a2", "a", "delay", &["a"]),
        ];
        let r = Retrieval::of(&cases);
        assert_eq!(r.with_relevant, 0);
        assert_eq!(r.false_alarms, 2);
        assert_eq!(r.shown_precision, 0.0);
    }
}
