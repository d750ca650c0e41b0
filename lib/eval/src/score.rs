//! Scoring ranked answers against the truth: AC@k and Avg@5, overall, per dataset and
//! per fault type, in the JSON shape `aegis eval --json` writes.

use std::collections::BTreeMap;

use serde::Serialize;

/// One evaluated case.
#[derive(Debug, Clone, Serialize)]
pub struct CaseResult {
    /// The case id.
    pub id: String,
    /// The true root-cause service.
    pub truth: String,
    /// The services the engine ranked, most likely first.
    pub ranked: Vec<String>,
    /// Wall-clock time of the analysis.
    pub ms: u64,
    /// The dataset it belongs to.
    #[serde(skip)]
    pub dataset: String,
    /// The fault type.
    #[serde(skip)]
    pub fault: String,
    /// The fingerprint of its report, for the past-incident search (in the JSON, to
    /// tune the search offline).
    #[serde(skip_serializing_if = "aegis_similar::Fingerprint::is_empty")]
    pub fingerprint: aegis_similar::Fingerprint,
    /// The system its dataset recorded.
    #[serde(skip)]
    pub system: String,
    /// When the incident was: the end of its range (a stored entry's `at`).
    #[serde(skip)]
    pub at: chrono::DateTime<chrono::Utc>,
}

impl CaseResult {
    /// 1-based rank of the truth, if it was ranked.
    pub fn rank(&self) -> Option<usize> {
        self.ranked
            .iter()
            .position(|s| *s == self.truth)
            .map(|i| i + 1)
    }
}

/// Accuracy over a set of cases.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Accuracy {
    /// How many cases.
    pub cases: usize,
    /// Share whose truth ranks first.
    pub ac1: f64,
    /// Share whose truth is in the first 3.
    pub ac3: f64,
    /// Share whose truth is in the first 5.
    pub ac5: f64,
    /// Mean of AC@1..AC@5.
    pub avg5: f64,
}

impl Accuracy {
    /// Scores `cases`.
    pub fn of<'a>(cases: impl IntoIterator<Item = &'a CaseResult>) -> Self {
        let ranks: Vec<Option<usize>> = cases.into_iter().map(CaseResult::rank).collect();
        let n = ranks.len();
        if n == 0 {
            return Self::default();
        }
        let at =
            |k: usize| ranks.iter().filter(|r| r.is_some_and(|r| r <= k)).count() as f64 / n as f64;
        let round = |x: f64| (x * 10_000.0).round() / 10_000.0;
        Self {
            cases: n,
            ac1: round(at(1)),
            ac3: round(at(3)),
            ac5: round(at(5)),
            avg5: round((1..=5).map(at).sum::<f64>() / 5.0),
        }
    }
}

/// A dataset's accuracy and its fault types'.
#[derive(Debug, Clone, Serialize)]
pub struct DatasetScore {
    /// The dataset's accuracy.
    #[serde(flatten)]
    pub accuracy: Accuracy,
    /// Per fault type.
    pub faults: BTreeMap<String, Accuracy>,
}

/// The whole evaluation, as `--json` writes it.
#[derive(Debug, Clone, Serialize)]
pub struct Scores {
    /// Every case together.
    pub overall: Accuracy,
    /// Per dataset id.
    pub datasets: BTreeMap<String, DatasetScore>,
    /// The past-incident search over every case (leave one out).
    pub past_incidents: super::Retrieval,
    /// Every case.
    pub cases: Vec<CaseResult>,
    /// Leave one system out, ablation and calibration, with `--study`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub study: Option<super::study::Study>,
    /// The similar past incidents shown, with `--study`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub similar: Option<super::shown::SimilarStudy>,
}

impl Scores {
    /// Scores `cases`.
    pub fn new(cases: Vec<CaseResult>) -> Self {
        let mut datasets = BTreeMap::new();
        let ids: std::collections::BTreeSet<&str> =
            cases.iter().map(|c| c.dataset.as_str()).collect();
        for id in ids {
            let mine: Vec<&CaseResult> = cases.iter().filter(|c| c.dataset == id).collect();
            let faults: std::collections::BTreeSet<&str> =
                mine.iter().map(|c| c.fault.as_str()).collect();
            datasets.insert(
                id.to_string(),
                DatasetScore {
                    accuracy: Accuracy::of(mine.iter().copied()),
                    faults: faults
                        .into_iter()
                        .map(|f| {
                            (
                                f.to_string(),
                                Accuracy::of(mine.iter().copied().filter(|c| c.fault == f)),
                            )
                        })
                        .collect(),
                },
            );
        }
        Self {
            overall: Accuracy::of(&cases),
            datasets,
            past_incidents: super::Retrieval::of(&cases),
            cases,
            study: None,
            similar: None,
        }
    }

    /// The table printed at the end of `aegis eval`.
    pub fn table(&self) -> String {
        let mut out = format!(
            "{:<28} {:<16} {:>5} {:>6} {:>6} {:>6} {:>6}\n",
            "dataset", "fault", "cases", "AC@1", "AC@3", "AC@5", "Avg@5"
        );
        let row = |d: &str, f: &str, a: &Accuracy| {
            format!(
                "{:<28} {:<16} {:>5} {:>6.3} {:>6.3} {:>6.3} {:>6.3}\n",
                d, f, a.cases, a.ac1, a.ac3, a.ac5, a.avg5
            )
        };
        for (id, d) in &self.datasets {
            for (f, a) in &d.faults {
                out.push_str(&row(id, f, a));
            }
            out.push_str(&row(id, "(all)", &d.accuracy));
        }
        out.push_str(&row("overall", "", &self.overall));
        out.push_str(&self.past_incidents.table());
        if let Some(study) = &self.study {
            out.push_str(&study.table());
        }
        if let Some(similar) = &self.similar {
            out.push_str(&similar.table());
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn case(dataset: &str, fault: &str, truth: &str, ranked: &[&str]) -> CaseResult {
        CaseResult {
            id: format!("{dataset}-{truth}"),
            truth: truth.into(),
            ranked: ranked.iter().map(|s| s.to_string()).collect(),
            ms: 1,
            dataset: dataset.into(),
            fault: fault.into(),
            fingerprint: Default::default(),
            system: dataset.into(),
            at: chrono::DateTime::UNIX_EPOCH,
        }
    }

    #[test]
    fn accuracy_counts_ranks() {
        let cases = vec![
            case("a", "cpu", "x", &["x", "y"]),
            case("a", "cpu", "y", &["x", "z", "y"]),
            case("b", "delay", "q", &["a", "b", "c", "d", "q"]),
            case("b", "delay", "w", &[]),
        ];
        let s = Scores::new(cases);
        assert_eq!(s.overall.cases, 4);
        assert_eq!(s.overall.ac1, 0.25);
        assert_eq!(s.overall.ac3, 0.5);
        assert_eq!(s.overall.ac5, 0.75);
        // AC@1..5 = .25 .25 .5 .5 .75
        assert_eq!(s.overall.avg5, 0.45);
        assert_eq!(s.datasets["a"].faults["cpu"].ac1, 0.5);
        let json = serde_json::to_value(&s).unwrap();
        assert_eq!(json["datasets"]["b"]["cases"], 2);
        assert!(json["cases"][0].get("dataset").is_none());
        assert_eq!(json["cases"][0]["ranked"][0], "x");
    }
}
