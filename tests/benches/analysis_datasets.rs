//! Tokens per analysis over the dev datasets' cases (measured, never asserted), with
//! and without compaction of older tool outputs: without, with the default context
//! size, and with a small context where compaction has to act.
//!
//! Each dataset is served by the replay (Prometheus, Loki and Jaeger APIs); each case
//! of its `cases.jsonl` is analysed once per setting by the agent with the scripted
//! fake model (`aegis_tests::fake_llm`) and the real tool catalog over the case's
//! range. The engine ranks the case first (its ranking is the prompt's hypothesis, as
//! in production), and the script follows a fixed, realistic investigation: list the
//! services (metrics and traces), three PromQL range queries of the dataset's signals,
//! a search for the system's error lines and a read of the logs of the service the
//! engine ranks first, a trace search for its top two, then a final report citing those steps. Tokens are the agent's
//! accounting (the fake's usage: characters / 4).
//!
//! Run (figures in docs/benchmarks.md, section "Analysis"):
//! `cargo bench --profile dev -p aegis-tests --bench analysis_datasets [-- --limit N]
//! [--dataset nezha-tt-2023-01-29] [--verbose]`

#[path = "../tests/e2e/analyze/datasets.rs"]
mod datasets;

use std::sync::Arc;
use std::time::Instant;

use aegis_analysis::agent::Limits;
use aegis_analysis::{Analyzer, Progress, Ranker};
use aegis_core::report::{Report, TimeRange};
use aegis_core::request::Request;
use aegis_replay::Case;
use aegis_tests::fake_llm::{FakeLlm, Reply};
use datasets::{Backends, ONLINE_BOUTIQUE, TRAIN_TICKET};
use serde_json::json;

/// A context size where compaction must act: an 8k-context model's share (the
/// context that `AEGIS_ANALYSIS_TOKEN_BUDGET=20000` gives).
const SMALL_CONTEXT: u64 = 4_000;

/// The engine's report for the case, computed once before the runs.
struct Precomputed(Report);

#[async_trait::async_trait]
impl Ranker for Precomputed {
    async fn analyze(&self, id: &str, _request: &Request) -> Report {
        let mut r = self.0.clone();
        r.id = id.to_string();
        r
    }
}

struct Options {
    limit: usize,
    datasets: Vec<String>,
    verbose: bool,
}

fn options() -> Options {
    let mut o = Options {
        limit: usize::MAX,
        datasets: Vec::new(),
        verbose: false,
    };
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--limit" => {
                o.limit = args
                    .next()
                    .and_then(|n| n.parse().ok())
                    .expect("--limit takes a number of cases per dataset")
            }
            "--dataset" => o
                .datasets
                .push(args.next().expect("--dataset takes a dataset name")),
            "--verbose" => o.verbose = true,
            // `cargo bench` passes `--bench`; other harness flags do not apply.
            _ => {}
        }
    }
    if o.datasets.is_empty() {
        o.datasets = vec![ONLINE_BOUTIQUE.into(), TRAIN_TICKET.into()];
    }
    o
}

fn config(fake: &FakeLlm, backends: &Backends) -> aegis_analysis::Settings {
    let mut vars = backends.vars();
    vars.extend([
        ("AEGIS_LLM_BASE_URL", fake.base_url.clone()),
        ("AEGIS_LLM_MODEL", "fake".into()),
        ("AEGIS_LLM_TIMEOUT", "30s".into()),
        ("AEGIS_ANALYSIS_BUDGET", "600s".into()),
    ]);
    aegis_analysis::Settings::from_env(&aegis_core::config::Env::new(&|k| {
        vars.iter().find(|(n, _)| *n == k).map(|(_, v)| v.clone())
    }))
    .expect("bench configuration is valid")
}

/// The investigation: steps 1-2 list services, 3-5 range queries, 6 the system's
/// error lines, 7 the logs of the engine's top service, 8-9 the traces of its top two,
/// then the report.
fn script(backends: &Backends, service_label: &str, ranked: &[String]) -> Vec<Reply> {
    let signals = &backends.dataset.meta.signals;
    let queries: Vec<&String> = [
        "error_ratio",
        "latency_p90_seconds",
        "cpu_seconds_rate",
        "request_rate",
        "memory_working_set_bytes",
    ]
    .iter()
    .filter_map(|name| signals.get(*name))
    .take(3)
    .collect();
    assert_eq!(queries.len(), 3, "the dataset has three usual signals");
    let (a, b) = (&ranked[0], &ranked[1]);
    let namespace = &backends.dataset.meta.namespace;
    let errors = json!({"query": format!(
        "{{namespace=\"{namespace}\"}} |~ \"(?i)error|exception|timeout|refused\""
    )});
    let top_logs = json!({"query": format!("{{{service_label}=\"{a}\"}}")});
    vec![
        Reply::calls(&[
            ("prometheus_label_values", json!({"label": "service"})),
            ("jaeger_services", json!({})),
        ]),
        Reply::calls(
            &queries
                .iter()
                .map(|q| ("prometheus_range", json!({"query": q})))
                .collect::<Vec<_>>(),
        ),
        Reply::calls(&[("loki_query", errors), ("loki_query", top_logs)]),
        Reply::calls(&[
            ("jaeger_traces", json!({"service": a, "limit": 20})),
            ("jaeger_traces", json!({"service": b, "limit": 20})),
        ]),
        Reply::json(json!({
            "summary": format!("{a} departed from its baseline first; {b} follows."),
            "ranked_root_causes": [
                {"rank": 1, "service": a, "probability": 0.5, "description": "signals and errors rose",
                 "key_indicators": [], "key_logs": [],
                 "evidence": [{"step": 3, "summary": "signal rose"}, {"step": 6, "summary": "errors"}]},
                {"rank": 2, "service": b, "probability": 0.2, "description": "slower traces",
                 "key_indicators": [], "key_logs": [],
                 "evidence": [{"step": 9, "summary": "traces"}]},
            ],
            "next_actions": [format!("Check recent changes of {a}.")],
        })),
    ]
}

/// One analysis's outcome.
struct Run {
    tokens: u64,
    degraded: bool,
    /// Each step's tool and the characters of what the model read.
    observations: Vec<String>,
    /// The largest prompt of one model call, in the fake's tokens.
    largest_prompt: u64,
}

async fn analyse(
    fake: &FakeLlm,
    backends: &Backends,
    case: &Case,
    engine: &Report,
    compaction: Option<u64>,
) -> Run {
    let config = config(fake, backends);
    let tools = aegis_tools::Clients::new(&config.tools).expect("tools build");
    let range = TimeRange {
        start: case.start,
        end: case.end,
    };
    let request = Request {
        description: case.question.clone(),
        time_range: range,
        model: None,
        session_id: None,
        alert: None,
        language: None,
    };
    let ranked_services: Vec<String> = engine
        .ranked_root_causes
        .iter()
        .map(|c| c.service.clone())
        .collect();
    let engine: Arc<dyn Ranker> = Arc::new(Precomputed(engine.clone()));
    // The tools production gives the agent: the backends' catalog and the engine.
    let mut catalog =
        aegis_tools::catalog_for(&tools, aegis_tools::catalog::window(range.start, range.end));
    catalog.add(aegis_analysis::rank_tool::tool(
        engine.clone(),
        request.clone(),
        std::time::Duration::from_secs(60),
    ));
    // The engine's top two, else the system's first services.
    let mut ranked: Vec<String> = Vec::new();
    for s in ranked_services
        .iter()
        .chain(&backends.dataset.meta.services)
    {
        if !ranked.contains(s) {
            ranked.push(s.clone());
        }
    }
    fake.push(script(backends, &config.tools.loki_service_label, &ranked));
    // `compaction` is the context size above which older outputs are compacted (the
    // default budget's is 60 000 / 5); the budget itself is lifted so that every run
    // finishes its script.
    let mut limits = Limits::from_config(&config.analysis);
    limits.compaction = compaction.is_some();
    limits.context_tokens = compaction.unwrap_or(limits.context_tokens);
    limits.token_budget = u64::MAX / 2;
    let analyzer = Analyzer::new(config.clone(), Arc::new(catalog), engine).with_limits(limits);
    let before = fake.requests().len();
    let report = analyzer.run(&case.id, &request, &Progress::none()).await;
    // Counted as the fake counts prompt tokens: the messages' JSON, characters / 4.
    let largest_prompt = fake.requests()[before..]
        .iter()
        .map(|r| (r["messages"].to_string().len() as u64).div_ceil(4))
        .max()
        .unwrap_or(0);
    assert_eq!(fake.remaining(), 0, "the whole script ran for {}", case.id);
    Run {
        tokens: report.usage.prompt_tokens + report.usage.completion_tokens,
        degraded: !report.degraded.is_empty(),
        largest_prompt,
        observations: report
            .trace
            .steps
            .iter()
            .map(|s| format!("{} {}", s.tool, s.observation.len()))
            .collect(),
    }
}

/// The engine's report for `case`, as `aegis eval` computes it.
async fn rank(backends: &Backends, fake: &FakeLlm, case: &Case) -> Report {
    let config = config(fake, backends);
    let tools = aegis_tools::Clients::new(&config.tools).expect("tools build");
    let input = aegis_rca::Input {
        symptom: Some(case.question.clone()),
        graph: backends
            .dataset
            .meta
            .graph
            .iter()
            .map(|e| (e.from.clone(), e.to.clone()))
            .collect(),
        ..aegis_rca::Input::new(
            TimeRange {
                start: case.start,
                end: case.end,
            },
            backends.catalog(),
        )
    };
    aegis_rca::Engine::default().analyze(&input, &tools).await
}

fn stats(mut v: Vec<u64>) -> String {
    v.sort_unstable();
    let mean = v.iter().sum::<u64>() as f64 / v.len() as f64;
    format!(
        "mean {mean:.0}, p50 {}, max {}",
        v[(v.len() - 1) / 2],
        v[v.len() - 1]
    )
}

fn main() {
    let o = options();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let fake = FakeLlm::start(Vec::new()).await.expect("fake model");
        for name in &o.datasets {
            let loaded = Instant::now();
            let backends = Backends::start(name).await;
            let cases: Vec<Case> = backends
                .dataset
                .cases()
                .iter()
                .take(o.limit)
                .cloned()
                .collect();
            eprintln!(
                "{name}: loaded in {:.1?}, {} cases",
                loaded.elapsed(),
                cases.len()
            );
            let default_context = Limits::from_config(&config(&fake, &backends).analysis).context_tokens;
            let settings = [
                ("without compaction".to_string(), None),
                (
                    format!("with compaction, context {default_context} (the default)"),
                    Some(default_context),
                ),
                (
                    format!("with compaction, context {SMALL_CONTEXT}"),
                    Some(SMALL_CONTEXT),
                ),
            ];
            let mut tokens = vec![Vec::new(); settings.len()];
            let mut largest = vec![Vec::new(); settings.len()];
            let mut degraded = 0;
            let started = Instant::now();
            for case in &cases {
                let engine = rank(&backends, &fake, case).await;
                let mut line = Vec::new();
                let mut observations = Vec::new();
                for (i, (_, compaction)) in settings.iter().enumerate() {
                    let run = analyse(&fake, &backends, case, &engine, *compaction).await;
                    degraded += usize::from(run.degraded);
                    tokens[i].push(run.tokens);
                    largest[i].push(run.largest_prompt);
                    observations = run.observations;
                    line.push(format!("{}{}", run.tokens, if run.degraded { " (degraded)" } else { "" }));
                }
                if o.verbose {
                    eprintln!("  {}: {}", case.id, line.join(" / "));
                    eprintln!("    observed (chars): {}", observations.join(", "));
                }
            }
            if cases.is_empty() {
                continue;
            }
            println!(
                "{name}: {} cases, 5 model turns and 9 tool calls each, {degraded} degraded runs, {:.1?}",
                cases.len(),
                started.elapsed()
            );
            for (((label, _), t), l) in settings.iter().zip(tokens).zip(largest) {
                println!(
                    "  tokens per analysis {label}: {}; largest prompt: {}",
                    stats(t),
                    stats(l)
                );
            }
        }
    });
}
