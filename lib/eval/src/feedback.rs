//! `aegis eval --feedback`: the engine scored against what people said of its
//! reports (the result card's "right cause" / "wrong cause"), the project's own
//! labelled data from real incidents.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use aegis_core::report::Verdict;
use aegis_store::ReportStore;

/// Reports read at most.
const MAX_REPORTS: usize = 100_000;

/// The verdicts on one model's reports.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct Judged {
    /// Reports with a verdict.
    pub judged: usize,
    /// Of which "right cause".
    pub right: usize,
    /// The mean probability the reports gave their top candidate.
    pub mean_top_probability: f64,
}

impl Judged {
    /// AC@1 by people's verdicts: right / judged.
    pub fn ac1(&self) -> f64 {
        if self.judged == 0 {
            0.0
        } else {
            self.right as f64 / self.judged as f64
        }
    }
}

/// The verdicts by model (`statistical`, or the alias of an LLM), and how many
/// reports were read.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct FeedbackScores {
    /// Reports read.
    pub reports: usize,
    /// By model.
    pub by_model: BTreeMap<String, Judged>,
}

/// Reads every stored report and tallies the verdicts on them.
pub async fn score(store: &dyn ReportStore) -> anyhow::Result<FeedbackScores> {
    let listed = store.list_reports(None, MAX_REPORTS).await?;
    let mut scores = FeedbackScores {
        reports: listed.len(),
        ..FeedbackScores::default()
    };
    for summary in listed {
        let Some(report) = store.get_report(&summary.id).await? else {
            continue;
        };
        let (Some(feedback), Some(top)) = (&report.feedback, report.ranked_root_causes.first())
        else {
            continue;
        };
        let m = scores.by_model.entry(report.model.clone()).or_default();
        m.mean_top_probability =
            (m.mean_top_probability * m.judged as f64 + top.probability) / (m.judged + 1) as f64;
        m.judged += 1;
        m.right += usize::from(feedback.verdict == Verdict::RightCause);
    }
    Ok(scores)
}

/// The table `aegis eval --feedback` prints.
pub fn table(scores: &FeedbackScores) -> String {
    let mut out = String::new();
    let judged: usize = scores.by_model.values().map(|m| m.judged).sum();
    let _ = writeln!(
        out,
        "{} reports, {judged} with a verdict (the result card's right cause / wrong cause)",
        scores.reports
    );
    if judged == 0 {
        return out;
    }
    let _ = writeln!(
        out,
        "| model | judged | right | AC@1 | mean top probability |\n| --- | ---: | ---: | ---: | ---: |"
    );
    for (model, m) in &scores.by_model {
        let _ = writeln!(
            out,
            "| {model} | {} | {} | {:.3} | {:.3} |",
            m.judged,
            m.right,
            m.ac1(),
            m.mean_top_probability
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use aegis_core::report::{Feedback, Report};
    use aegis_store::Memory;

    fn report(id: &str, model: &str, p: f64) -> Report {
        serde_json::from_value(serde_json::json!({
            "id": id, "summary": "s", "next_actions": [], "trace": {"steps": []}, "model": model,
            "ranked_root_causes": [{"rank": 1, "service": "cart", "probability": p, "description": "",
                                    "key_indicators": [], "key_logs": [], "evidence": []}],
            "time_range": {"start": "2026-01-29T08:00:00Z", "end": "2026-01-29T08:15:00Z"},
            "duration_ms": 1, "usage": {"prompt_tokens": 0, "completion_tokens": 0, "tool_calls": 0},
            "degraded": []
        }))
        .unwrap()
    }

    #[tokio::test]
    async fn verdicts_are_tallied_by_model_and_unjudged_reports_only_counted() {
        let store = Memory::default();
        for (id, model, p) in [
            ("a", "statistical", 0.8),
            ("b", "statistical", 0.4),
            ("c", "qwen", 0.9),
            ("d", "statistical", 0.5),
        ] {
            store
                .put_report(
                    &report(id, model, p),
                    aegis_view::views(&report(id, model, p)),
                )
                .await
                .unwrap();
        }
        let verdict = |v| Feedback {
            verdict: v,
            by: None,
            at: chrono::Utc::now(),
        };
        store
            .put_feedback("a", verdict(Verdict::RightCause), &aegis_view::views)
            .await
            .unwrap();
        store
            .put_feedback("b", verdict(Verdict::WrongCause), &aegis_view::views)
            .await
            .unwrap();
        store
            .put_feedback("c", verdict(Verdict::WrongCause), &aegis_view::views)
            .await
            .unwrap();
        let scores = score(&store).await.unwrap();
        assert_eq!(scores.reports, 4);
        let stat = &scores.by_model["statistical"];
        assert_eq!((stat.judged, stat.right), (2, 1));
        assert!((stat.ac1() - 0.5).abs() < 1e-9);
        assert!((stat.mean_top_probability - 0.6).abs() < 1e-9);
        assert_eq!(scores.by_model["qwen"].right, 0);
        let table = table(&scores);
        assert!(table.contains("4 reports, 3 with a verdict"), "{table}");
        assert!(
            table.contains("| statistical | 2 | 1 | 0.500 | 0.600 |"),
            "{table}"
        );
    }
}
