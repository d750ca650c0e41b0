//! The LLM agent on one model, over the dev datasets' cases (measured, never asserted):
//! how often it gives a valid report of its own, how often it falls back to the
//! engine, the tokens and seconds it spends, and AC@1/AC@3 of its reports against the
//! statistical engine alone on the same cases.
//!
//! Any OpenAI-compatible endpoint (`--base-url`, `--model`; the key, if any, from
//! `AEGIS_LLM_API_KEY`, never printed), else a llama.cpp server with SmolLM2-135M at a
//! 4,096-token context started here (`scripts/install-peers` installs it). Each dataset
//! is served by the replay; the agent has the production tools (the backends' catalog
//! and `rank_root_causes`) through `Analyzer::from_settings`.
//!
//! Run (figures in docs/benchmarks.md, section "The agent on real models"):
//! `cargo bench --profile dev -p aegis-tests --bench model -- [--base-url URL --model
//! NAME] [--native-tools true|false] [--dataset NAME]... [--limit N] [--max-steps N]
//! [--max-tokens N] [--budget 300s]`

#[path = "../tests/e2e/analyze/datasets.rs"]
#[allow(dead_code)] // the engine's catalog is the e2e tests' and the other bench's
mod datasets;

use std::time::Instant;

use aegis_analysis::{Analyzer, Progress};
use aegis_core::report::Report;
use aegis_tests::peers::llama::{self, Llama};
use datasets::{Backends, TRAIN_TICKET};

struct Options {
    base_url: Option<String>,
    model: Option<String>,
    native_tools: Option<bool>,
    datasets: Vec<String>,
    limit: usize,
    max_steps: u32,
    max_tokens: Option<u32>,
    budget: String,
}

fn options() -> Options {
    let mut o = Options {
        base_url: None,
        model: None,
        native_tools: None,
        datasets: Vec::new(),
        limit: usize::MAX,
        max_steps: 4,
        max_tokens: None,
        budget: "300s".into(),
    };
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut value = |what: &str| args.next().unwrap_or_else(|| panic!("{a} takes {what}"));
        match a.as_str() {
            "--base-url" => o.base_url = Some(value("a URL ending in /v1")),
            "--model" => o.model = Some(value("a model name")),
            "--native-tools" => {
                o.native_tools = Some(value("true or false").parse().expect("true or false"))
            }
            "--dataset" => o.datasets.push(value("a dev dataset name")),
            "--limit" => o.limit = value("a number").parse().expect("a number of cases"),
            "--max-steps" => o.max_steps = value("a number").parse().expect("a number of steps"),
            "--max-tokens" => {
                o.max_tokens = Some(value("a number").parse().expect("a number of tokens"))
            }
            "--budget" => o.budget = value("a duration such as 300s"),
            // `cargo bench` passes `--bench`; other harness flags do not apply.
            _ => {}
        }
    }
    if o.datasets.is_empty() {
        o.datasets = vec![TRAIN_TICKET.into()];
    }
    o
}

#[derive(Default)]
struct Tally {
    cases: usize,
    valid: usize,
    fallback: usize,
    tokens: u64,
    seconds: f64,
    agent_at1: usize,
    agent_at3: usize,
    engine_at1: usize,
    engine_at3: usize,
}

fn rank_of(report: &Report, truth: &str) -> Option<usize> {
    report
        .ranked_root_causes
        .iter()
        .position(|c| c.service == truth)
        .map(|i| i + 1)
}

fn main() {
    let o = options();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(run(o));
}

async fn run(o: Options) {
    let (peer, base_url, model, native) = match &o.base_url {
        Some(url) => (
            None,
            url.clone(),
            o.model
                .clone()
                .expect("--model is required with --base-url"),
            o.native_tools.unwrap_or(true),
        ),
        None => {
            let server = Llama::start(4_096)
                .await
                .expect("the llama.cpp peer starts");
            let url = server.base_url.clone();
            // SmolLM2's chat template has no tools: the text protocol.
            (
                Some(server),
                url,
                llama::MODEL.to_string(),
                o.native_tools.unwrap_or(false),
            )
        }
    };
    println!(
        "model {model} at {base_url} (native tools: {native}); max steps {}, budget {}",
        o.max_steps, o.budget
    );
    let mut total = Tally::default();
    for name in &o.datasets {
        let backends = Backends::start(name).await;
        let truth = backends
            .dataset
            .truth()
            .expect("the dev dataset has its truth");
        let mut vars: Vec<(&str, String)> = backends.vars();
        vars.extend([
            ("AEGIS_LLM_BASE_URL", base_url.clone()),
            ("AEGIS_LLM_MODEL", model.clone()),
            ("AEGIS_LLM_NATIVE_TOOLS", native.to_string()),
            ("AEGIS_LLM_TIMEOUT", "240s".into()),
            ("AEGIS_ANALYSIS_MAX_STEPS", o.max_steps.to_string()),
            ("AEGIS_ANALYSIS_BUDGET", o.budget.clone()),
        ]);
        if let Some(n) = o.max_tokens {
            vars.push(("AEGIS_LLM_MAX_TOKENS", n.to_string()));
        }
        if let Ok(key) = std::env::var("AEGIS_LLM_API_KEY") {
            vars.push(("AEGIS_LLM_API_KEY", key));
        }
        let settings = aegis_analysis::Settings::from_env(&aegis_core::config::Env::new(&|k| {
            vars.iter().find(|(n, _)| *n == k).map(|(_, v)| v.clone())
        }))
        .expect("bench configuration is valid");
        let analyzer = Analyzer::from_settings(settings);
        let mut tally = Tally::default();
        for case in backends.dataset.cases().iter().take(o.limit) {
            let Some(t) = truth.iter().find(|t| t.id == case.id) else {
                continue;
            };
            let mut request = datasets::engine_request(case);
            let engine = analyzer.run(&case.id, &request, &Progress::none()).await;
            request.model = None;
            let started = Instant::now();
            let report = analyzer.run(&case.id, &request, &Progress::none()).await;
            let seconds = started.elapsed().as_secs_f64();
            let fallback = report
                .degraded
                .first()
                .is_some_and(|d| d.starts_with("LLM agent"));
            let (a, e) = (rank_of(&report, &t.service), rank_of(&engine, &t.service));
            println!(
                "{} {}: {} in {seconds:.0} s, {} tokens; truth {} at agent {a:?}, engine {e:?}{}",
                name,
                case.id,
                if fallback { "fallback" } else { "valid" },
                report.usage.prompt_tokens + report.usage.completion_tokens,
                t.service,
                report
                    .degraded
                    .first()
                    .map(|d| format!(" ({d})"))
                    .unwrap_or_default()
            );
            for tl in [&mut tally, &mut total] {
                tl.cases += 1;
                tl.valid += usize::from(!fallback);
                tl.fallback += usize::from(fallback);
                tl.tokens += report.usage.prompt_tokens + report.usage.completion_tokens;
                tl.seconds += seconds;
                tl.agent_at1 += usize::from(a == Some(1));
                tl.agent_at3 += usize::from(a.is_some_and(|r| r <= 3));
                tl.engine_at1 += usize::from(e == Some(1));
                tl.engine_at3 += usize::from(e.is_some_and(|r| r <= 3));
            }
        }
        print_row(name, &tally);
    }
    println!();
    println!(
        "| dataset | cases | valid reports | fallbacks | tokens / case | seconds / case | agent AC@1 | agent AC@3 | engine AC@1 | engine AC@3 |"
    );
    println!("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |");
    print_row("all", &total);
    drop(peer);
}

fn print_row(name: &str, t: &Tally) {
    let n = t.cases.max(1) as f64;
    println!(
        "| {name} | {} | {:.0}% | {:.0}% | {:.0} | {:.0} | {:.2} | {:.2} | {:.2} | {:.2} |",
        t.cases,
        100.0 * t.valid as f64 / n,
        100.0 * t.fallback as f64 / n,
        t.tokens as f64 / n,
        t.seconds / n,
        t.agent_at1 as f64 / n,
        t.agent_at3 as f64 / n,
        t.engine_at1 as f64 / n,
        t.engine_at3 as f64 / n,
    );
}
