//! `rank_root_causes`: the statistical engine as a tool the model calls. The case's
//! ranking is already in the first prompt; the tool lets the model rank again over a
//! range of its choosing (once it knows when the fault began, or to look at a later
//! phase), through the same read-only tools the engine always uses.

use std::sync::Arc;
use std::time::Duration;

use schemars::JsonSchema;
use serde::Deserialize;

use super::prompt;
use super::ranker::Ranker;
use aegis_core::report::TimeRange;
use aegis_core::request::Request;
use aegis_tools::Error;
use aegis_tools::catalog::{self, Tool};

/// The tool's name, as the model calls it.
pub const NAME: &str = "rank_root_causes";

/// Arguments of `rank_root_causes`.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct RankArgs {
    /// Range start: RFC 3339, unix seconds or `now-30m`. Default: the analysed range's
    /// start. The first part of the range is the baseline: start at least 5 minutes
    /// before the fault.
    pub start: Option<String>,
    /// Range end. Default: the end of the analysed range.
    pub end: Option<String>,
    /// The symptom, in words (e.g. `checkout 5xx`). Shown in the summary only: the
    /// ranking depends on the telemetry, not on this text. Default: the question.
    pub symptom: Option<String>,
}

/// `rank_root_causes` for the analysis of `request`: runs `engine` over the range the
/// model asks for (default: the request's) and answers the compact ranking with each
/// candidate's evidence queries; a run longer than `budget` fails the call.
pub fn tool(engine: Arc<dyn Ranker>, request: Request, budget: Duration) -> Arc<dyn Tool> {
    let window = catalog::window(request.time_range.start, request.time_range.end);
    let request = Arc::new(request);
    catalog::tool(
        NAME,
        "Rank every service as the root cause with the statistical engine: how far each \
         service's metrics, error logs and traces departed from its own baseline, preferring \
         the deepest anomalous callee, with probabilities. Returns the candidates with the \
         exact queries that show their evidence. The case's ranking is already in the \
         question; call this to rank a different range (e.g. starting 5-10 minutes before \
         the onset you found). Slower than other tools: it reads every signal.",
        move |a: RankArgs| {
            let engine = engine.clone();
            let request = request.clone();
            async move {
                let (start, end) = window.resolve(a.start.as_deref(), a.end.as_deref())?;
                let mut asked = Request::clone(&request);
                asked.time_range = TimeRange { start, end };
                if let Some(symptom) = a.symptom.filter(|s| !s.trim().is_empty()) {
                    asked.description = symptom;
                }
                let report = tokio::time::timeout(budget, engine.analyze(NAME, &asked))
                    .await
                    .map_err(|_| Error::Tool {
                        tool: NAME.into(),
                        message: format!(
                            "the engine did not finish within {} s; rank a shorter range",
                            budget.as_secs()
                        ),
                    })?;
                Ok(render(&report))
            }
        },
    )
}

/// The model's view of an engine report: range, summary (which says how much is
/// unexplained), candidates with evidence, and what could not be read.
fn render(report: &aegis_core::report::Report) -> String {
    let mut out = format!(
        "Statistical ranking of {} to {}.\n{}\n",
        report.time_range.start.to_rfc3339(),
        report.time_range.end.to_rfc3339(),
        report.summary.trim()
    );
    out.push_str(&prompt::ranking(report, true));
    if !report.degraded.is_empty() {
        out.push_str(&format!("Could not read: {}\n", report.degraded.join("; ")));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use aegis_core::report::{Evidence, Report, RootCause};

    struct Fixed(Report);

    #[async_trait::async_trait]
    impl Ranker for Fixed {
        async fn analyze(&self, id: &str, request: &Request) -> Report {
            let mut r = self.0.clone();
            r.id = id.to_string();
            r.time_range = request.time_range;
            r.summary = format!("Symptom: {}.", request.description);
            r
        }
    }

    fn request() -> Request {
        Request {
            description: "checkout errors".into(),
            time_range: TimeRange::last(
                chrono::DateTime::from_timestamp(1_700_000_000, 0).expect("valid"),
                30,
            ),
            model: None,
            session_id: None,
            alert: None,
            language: None,
        }
    }

    fn report() -> Report {
        let mut r = super::super::ranker::empty_report("x", &request(), "unused");
        r.degraded = vec!["jaeger: connection refused".into()];
        r.ranked_root_causes = vec![RootCause {
            rank: 1,
            service: "payment".into(),
            probability: 0.7,
            description: "payment: cpu x3.00".into(),
            key_indicators: vec!["cpu_seconds_rate x3.00 since 22:10:00 UTC".into()],
            key_logs: vec!["[12x] timeout calling bank".into()],
            evidence: vec![Evidence {
                source: "prometheus".into(),
                query: "sum by (service) (rate(cpu[2m]))".into(),
                summary: "level 0.1 -> 0.3".into(),
                chart: None,
            }],
        }];
        r
    }

    #[tokio::test]
    async fn ranks_the_range_and_symptom_asked_and_shows_evidence() {
        let t = tool(Arc::new(Fixed(report())), request(), Duration::from_secs(5));
        let text = t
            .call(serde_json::json!({
                "start": "2023-11-14T22:00:00Z", "end": "2023-11-14T22:20:00Z",
                "symptom": "payment slow"
            }))
            .await
            .expect("tool runs");
        assert!(
            text.starts_with(
                "Statistical ranking of 2023-11-14T22:00:00+00:00 to 2023-11-14T22:20:00+00:00"
            ),
            "{text}"
        );
        assert!(text.contains("Symptom: payment slow."), "{text}");
        assert!(
            text.contains("1. payment (p=0.70): payment: cpu x3.00"),
            "{text}"
        );
        assert!(
            text.contains("prometheus `sum by (service) (rate(cpu[2m]))`: level 0.1 -> 0.3"),
            "{text}"
        );
        assert!(text.contains("log: [12x] timeout calling bank"), "{text}");
        assert!(
            text.contains("Could not read: jaeger: connection refused"),
            "{text}"
        );
    }

    #[tokio::test]
    async fn defaults_to_the_analysed_range_and_question() {
        let t = tool(Arc::new(Fixed(report())), request(), Duration::from_secs(5));
        let text = t.call(serde_json::Value::Null).await.expect("tool runs");
        let r = request().time_range;
        assert!(
            text.contains(&r.start.to_rfc3339()) && text.contains(&r.end.to_rfc3339()),
            "{text}"
        );
        assert!(text.contains("Symptom: checkout errors."), "{text}");
    }

    #[tokio::test]
    async fn an_engine_slower_than_the_budget_fails_the_call() {
        struct Slow;
        #[async_trait::async_trait]
        impl Ranker for Slow {
            async fn analyze(&self, _id: &str, request: &Request) -> Report {
                tokio::time::sleep(Duration::from_secs(5)).await;
                super::super::ranker::empty_report("x", request, "slow")
            }
        }
        let t = tool(Arc::new(Slow), request(), Duration::from_millis(50));
        let err = t.call(serde_json::json!({})).await.expect_err("times out");
        assert!(
            err.to_string()
                .starts_with("rank_root_causes failed: the engine did not finish"),
            "{err}"
        );
    }

    #[tokio::test]
    async fn a_range_ending_before_it_starts_is_refused() {
        let t = tool(Arc::new(Fixed(report())), request(), Duration::from_secs(5));
        let err = t
            .call(
                serde_json::json!({"start": "2023-11-14T22:20:00Z", "end": "2023-11-14T22:00:00Z"}),
            )
            .await
            .expect_err("refused");
        assert!(err.to_string().contains("before start"), "{err}");
    }
}
