//! The agent against a real model server: llama.cpp (xllamacpp) serving
//! SmolLM2-135M-Instruct at a 4,096-token context, the size many local deployments
//! serve by default, on the demo's recorded incident. One case, short budgets: a
//! 135M-parameter model on 2 CPU cores.

use std::path::PathBuf;

use super::datasets::Backends;
use super::*;
use aegis_tests::peers::llama::{self, Llama};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn small_local_model_at_a_4k_context_gives_a_valid_report_never_worse_than_the_engine() {
    let mut server = Llama::start(4_096).await.unwrap();
    let incident =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../functions/aegis/demo/incident");
    let backends = Backends::start_at(incident).await;
    let case = backends.dataset.cases()[0].clone();
    let mut vars: Vec<(&str, String)> = backends.vars();
    vars.extend([
        ("LOKI_SERVICE_LABEL_KEY", "app".to_string()),
        ("AEGIS_LLM_BASE_URL", server.base_url.clone()),
        ("AEGIS_LLM_MODEL", llama::MODEL.to_string()),
        (
            "AEGIS_LLM_API_KEY",
            "sk-test-key-never-leaks-0000".to_string(),
        ),
        // SmolLM2's chat template has no tools: the text protocol, its actions and the
        // final answer constrained by response_format.
        ("AEGIS_LLM_NATIVE_TOOLS", "false".to_string()),
        ("AEGIS_LLM_MAX_TOKENS", "400".to_string()),
        ("AEGIS_LLM_TIMEOUT", "200s".to_string()),
        ("AEGIS_ANALYSIS_MAX_STEPS", "2".to_string()),
        ("AEGIS_ANALYSIS_BUDGET", "400s".to_string()),
    ]);
    let vars: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let probe = FakeLlm::start(Vec::new()).await.unwrap();
    let analyzer = Analyzer::from_settings(config(&probe, None, &vars).settings());
    let mut request = super::datasets::engine_request(&case);
    let engine = analyzer.run("engine", &request, &Progress::none()).await;
    let engine_top = engine
        .ranked_root_causes
        .first()
        .unwrap_or_else(|| panic!("the engine ranks the demo incident: {engine:?}"))
        .service
        .clone();

    request.model = None;
    let started = std::time::Instant::now();
    let report = analyzer.run("agent", &request, &Progress::none()).await;
    let log = server.log();
    eprintln!(
        "agent on SmolLM2 in {:?}: model {}, usage {:?}, degraded {:?}\nranking {:?}\nsteps {:?}",
        started.elapsed(),
        report.model,
        report.usage,
        report.degraded,
        report
            .ranked_root_causes
            .iter()
            .map(|c| (c.rank, c.service.clone(), c.probability))
            .collect::<Vec<_>>(),
        report
            .trace
            .steps
            .iter()
            .map(|s| (&s.tool, &s.tool_input))
            .collect::<Vec<_>>()
    );
    for line in log
        .lines()
        .filter(|l| l.contains("eval time") || l.contains("exceeds"))
    {
        eprintln!("llama.cpp: {line}");
    }
    assert!(server.is_running(), "the server survived the analysis");

    // The model's calls reached the real server and none was refused for its size.
    assert!(
        server.completed() >= 1,
        "no completion in the server's log:\n{log}"
    );
    assert!(report.usage.prompt_tokens > 0);
    assert!(!log.contains("exceeds the available context size"), "{log}");
    for note in &report.degraded {
        assert!(
            !note.contains("context") && !note.contains("HTTP 4"),
            "the prompt must fit the 4,096-token context: {note}"
        );
    }

    // A valid report.
    let causes = &report.ranked_root_causes;
    assert!(!causes.is_empty(), "{report:?}");
    for (i, c) in causes.iter().enumerate() {
        assert_eq!(c.rank as usize, i + 1);
        assert!((0.0..=1.0).contains(&c.probability), "{c:?}");
    }
    assert!(causes.iter().map(|c| c.probability).sum::<f64>() <= 1.0 + 1e-6);
    assert!(!report.summary.trim().is_empty());

    // Never worse than the engine: its top candidate stands unless the model's evidence,
    // a successful data query whose result names another service, overturns it.
    let top = &causes[0];
    if top.service != engine_top {
        let named = report.trace.steps.iter().any(|s| {
            s.tool != "rank_root_causes"
                && s.observation
                    .to_lowercase()
                    .contains(&top.service.to_lowercase())
        });
        assert!(
            named,
            "{} replaced the engine's {engine_top} without evidence",
            top.service
        );
    }
    assert!(
        !serde_json::to_string(&report)
            .unwrap()
            .contains("sk-test-key-never-leaks"),
        "the API key never reaches a report"
    );
}
