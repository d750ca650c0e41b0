//! The model's ranking is never worse than the engine's: the engine's top candidate
//! stays first unless the model's evidence overturns it, that is unless the model's own
//! top candidate cites a successful data query (not the engine's `rank_root_causes`)
//! whose result names that service.

use super::validate::Answer;
use aegis_core::report::{Report, Step};
use aegis_i18n::{Lang, t};

/// The tool that is the engine itself: its output cannot overturn the engine.
const ENGINE_TOOL: &str = "rank_root_causes";

/// Applies the rule to `answer`; returns what was changed, for the summary (in `lang`,
/// the report's language), or `None` when the model's ranking stands.
pub fn keep_engine_top(
    answer: &mut Answer,
    engine: &Report,
    steps: &[Step],
    lang: Lang,
) -> Option<String> {
    let engine_top = engine.ranked_root_causes.first()?;
    let Some(model_top) = answer.ranked_root_causes.first() else {
        answer.ranked_root_causes = engine.ranked_root_causes.clone();
        return Some(t!(lang, "agent-guard-no-ranking"));
    };
    if model_top.service.eq_ignore_ascii_case(&engine_top.service)
        || overturned(&model_top.service, &model_top.evidence, steps)
    {
        return None;
    }
    let blamed = model_top.service.clone();
    let causes = &mut answer.ranked_root_causes;
    let top = match causes
        .iter()
        .position(|c| c.service.eq_ignore_ascii_case(&engine_top.service))
    {
        Some(i) => causes.remove(i),
        None => engine_top.clone(),
    };
    causes.insert(0, top);
    // Ranks follow probabilities: the kept candidate gets at least the highest one,
    // then all are scaled so they still sum to at most 1.
    let highest = causes.iter().map(|c| c.probability).fold(0.0, f64::max);
    causes[0].probability = causes[0].probability.max(highest);
    let total: f64 = causes.iter().map(|c| c.probability).sum();
    for (i, c) in causes.iter_mut().enumerate() {
        if total > 1.0 {
            c.probability /= total;
        }
        c.rank = i as u32 + 1;
    }
    Some(t!(
        lang,
        "agent-guard-kept",
        engine = engine_top.service.as_str(),
        blamed = blamed
    ))
}

/// Whether some evidence cites a successful data query whose result names `service`.
fn overturned(service: &str, evidence: &[aegis_core::report::Evidence], steps: &[Step]) -> bool {
    let service = service.to_ascii_lowercase();
    evidence.iter().any(|e| {
        steps.iter().any(|s| {
            s.tool != ENGINE_TOOL
                && !s.observation.starts_with("error:")
                && s.observation.to_ascii_lowercase().contains(&service)
                && (e.query.is_empty() || ran(s, &e.query))
        })
    })
}

/// Whether `query` is (part of) one of the step's string arguments.
fn ran(step: &Step, query: &str) -> bool {
    step.tool_input.as_object().is_some_and(|m| {
        m.values()
            .filter_map(|v| v.as_str())
            .any(|v| v.contains(query))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use aegis_core::report::{Evidence, RootCause};
    use serde_json::json;

    fn cause(rank: u32, service: &str, p: f64, query: &str) -> RootCause {
        RootCause {
            rank,
            service: service.into(),
            probability: p,
            description: String::new(),
            key_indicators: vec![],
            key_logs: vec![],
            evidence: vec![Evidence {
                source: "prometheus".into(),
                query: query.into(),
                summary: String::new(),
                chart: None,
            }],
        }
    }

    fn step(tool: &str, query: &str, observation: &str) -> Step {
        Step {
            index: 1,
            tool: tool.into(),
            tool_input: json!({"query": query}),
            observation: observation.into(),
            log: String::new(),
        }
    }

    fn engine(top: &str) -> Report {
        let mut r = crate::ranker::empty_report("r", &test_request(), "x");
        r.degraded.clear();
        r.ranked_root_causes = vec![cause(1, top, 0.7, "rate(errors[5m])")];
        r
    }

    fn test_request() -> aegis_core::request::Request {
        aegis_core::request::Request {
            description: "why".into(),
            time_range: aegis_core::report::TimeRange::last(chrono::Utc::now(), 15),
            model: None,
            session_id: None,
            alert: None,
            language: None,
        }
    }

    fn answer(causes: Vec<RootCause>) -> Answer {
        Answer {
            summary: "s".into(),
            ranked_root_causes: causes,
            next_actions: vec![],
        }
    }

    #[test]
    fn unsupported_change_of_top_keeps_the_engines_first() {
        let mut a = answer(vec![
            cause(1, "frontend", 0.8, "up"),
            cause(2, "payment", 0.1, "up"),
        ]);
        let steps = [step("prometheus_query", "up", "up{job=\"prometheus\"} 1")];
        let note = keep_engine_top(&mut a, &engine("payment"), &steps, Lang::En).unwrap();
        assert!(note.contains("payment is kept first"), "{note}");
        let order: Vec<_> = a
            .ranked_root_causes
            .iter()
            .map(|c| (c.rank, c.service.as_str()))
            .collect();
        assert_eq!(order, [(1, "payment"), (2, "frontend")]);
        let p: Vec<f64> = a.ranked_root_causes.iter().map(|c| c.probability).collect();
        assert!(p[0] >= p[1] && p.iter().sum::<f64>() <= 1.0 + 1e-9, "{p:?}");
    }

    #[test]
    fn evidence_naming_the_service_overturns_the_engine() {
        let mut a = answer(vec![cause(1, "frontend", 0.6, "up")]);
        let steps = [step("prometheus_query", "up", "up{service=\"frontend\"} 0")];
        assert_eq!(
            keep_engine_top(&mut a, &engine("payment"), &steps, Lang::En),
            None
        );
        assert_eq!(a.ranked_root_causes[0].service, "frontend");
    }

    #[test]
    fn the_engines_own_output_does_not_overturn_it() {
        let mut a = answer(vec![cause(1, "frontend", 0.6, "")]);
        let steps = [step(ENGINE_TOOL, "", "1. frontend (p=0.2)")];
        assert!(keep_engine_top(&mut a, &engine("payment"), &steps, Lang::En).is_some());
        assert_eq!(a.ranked_root_causes[0].service, "payment");
    }

    #[test]
    fn an_empty_ranking_takes_the_engines() {
        let mut a = answer(vec![]);
        let note = keep_engine_top(&mut a, &engine("payment"), &[], Lang::ZhCn).unwrap();
        assert_eq!(Lang::of_text(&note), Lang::ZhCn, "{note}");
        assert_eq!(a.ranked_root_causes[0].service, "payment");
    }
}
