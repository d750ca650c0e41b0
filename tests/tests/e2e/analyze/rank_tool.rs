//! `rank_root_causes`: the model calls the statistical engine as a tool, through the
//! production wiring (`Analyzer::from_settings`), against the replay of a dev dataset.

use super::datasets::{Backends, TRAIN_TICKET};
use super::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn model_calls_the_engine_as_a_tool_and_reads_its_ranking() {
    let backends = Backends::start(TRAIN_TICKET).await;
    let case = backends.dataset.cases()[0].clone();
    let range = TimeRange {
        start: case.start,
        end: case.end,
    };

    // What the engine ranks for this range, run directly (not through the agent).
    let vars = backends.vars();
    let vars: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let probe = FakeLlm::start(Vec::new()).await.unwrap();
    let tools = aegis_tools::Clients::new(&config(&probe, None, &vars).settings().tools)
        .expect("tools build");
    let direct = aegis_rca::Engine::default()
        .analyze(&aegis_rca::Input::new(range, backends.catalog()), &tools)
        .await;
    assert!(
        !direct.ranked_root_causes.is_empty(),
        "the engine ranks something for an incident case: {direct:?}"
    );
    let top = &direct.ranked_root_causes[0];

    let fake = FakeLlm::start(vec![
        Reply::calls(&[(
            "rank_root_causes",
            json!({"start": case.start.to_rfc3339(), "end": case.end.to_rfc3339(),
                   "symptom": "ticket booking is slow"}),
        )]),
        Reply::json(answer(json!([cause(1, &top.service, 0.5, 1)]))),
    ])
    .await
    .unwrap();
    let mut with_budget = vars.clone();
    // The engine runs twice in debug builds (hypothesis, then the tool): room for both.
    with_budget.push(("AEGIS_ANALYSIS_BUDGET", "180s"));
    let analyzer = Analyzer::from_settings(config(&fake, None, &with_budget).settings())
        .with_retry(quick_retry());
    let request = Request {
        description: case.question.clone(),
        time_range: range,
        model: None,
        session_id: None,
        alert: None,
        language: None,
    };
    let report = analyzer.run("rank-tool", &request, &Progress::none()).await;

    // Offered to the model with its schema, beside the backends' tools.
    let offered = fake.requests()[0]["tools"].clone();
    let spec = offered
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["function"]["name"] == "rank_root_causes")
        .unwrap_or_else(|| panic!("rank_root_causes is offered: {offered}"));
    for arg in ["start", "end", "symptom"] {
        assert!(
            spec["function"]["parameters"]["properties"][arg].is_object(),
            "{spec}"
        );
    }

    assert!(report.degraded.is_empty(), "{:?}", report.degraded);
    assert_eq!(report.trace.steps[0].tool, "rank_root_causes");
    let seen = &report.trace.steps[0].observation;
    assert!(
        seen.starts_with(&format!(
            "Statistical ranking of {} to {}.",
            case.start.to_rfc3339(),
            case.end.to_rfc3339()
        )),
        "{seen}"
    );
    assert!(seen.contains("Symptom: ticket booking is slow."), "{seen}");
    assert!(
        !seen.contains("(truncated:"),
        "the whole ranking fits one observation:\n{seen}"
    );
    eprintln!(
        "rank_root_causes observation ({} chars):\n{seen}",
        seen.len()
    );
    // The engine's ranking, candidate by candidate, with the top one's evidence query.
    for c in &direct.ranked_root_causes {
        let line = format!("{}. {} (p={:.2})", c.rank, c.service, c.probability);
        assert!(seen.contains(&line), "{line:?} missing from:\n{seen}");
    }
    if let Some(e) = top.evidence.first() {
        assert!(seen.contains(&format!("`{}`", e.query)), "{seen}");
    }
    // And the model read it as the result of step 1.
    let second = messages(&fake, 1);
    assert!(
        second.contains("[step 1] Statistical ranking of"),
        "{second}"
    );
    assert_eq!(report.ranked_root_causes[0].service, top.service);
    assert_eq!(
        report.ranked_root_causes[0].evidence[0].source,
        "rank_root_causes"
    );
}
