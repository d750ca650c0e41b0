//! Analysis benchmarks (measured, never asserted): the agent's own overhead per step
//! with the model time taken out, the first NDJSON byte of analyze-stream, and tokens
//! per analysis with and without compaction of older tool outputs. The model is the
//! scripted fake (`aegis_tests::fake_llm`) on localhost.
//!
//! Run: `cargo bench -p aegis-tests --bench analysis`

use std::sync::Arc;
use std::time::{Duration, Instant};

use aegis_analysis::agent::Limits;
use aegis_analysis::{Analyzer, NoRanker, Progress, ProgressEvent, ToolSet};
use aegis_core::report::TimeRange;
use aegis_core::request::Request;
use aegis_llm::ToolSpec;
use aegis_tests::fake_llm::{FakeLlm, Reply};
use serde_json::{Value, json};

/// Answers instantly with `size` characters of series-like text.
struct Instant_ {
    size: usize,
}

#[async_trait::async_trait]
impl ToolSet for Instant_ {
    fn specs(&self) -> Vec<ToolSpec> {
        vec![ToolSpec {
            name: "prometheus_query".into(),
            description: "PromQL instant query".into(),
            parameters: json!({"type": "object", "properties": {"query": {"type": "string"}}, "required": ["query"]}),
        }]
    }

    async fn call(&self, _name: &str, args: Value) -> Result<String, String> {
        let line = format!(
            "{{service=\"checkout\",pod=\"checkout-7d9\"}} 0.{} {args}\n",
            args.to_string().len()
        );
        Ok(line.repeat(self.size / line.len() + 1)[..self.size].to_string())
    }
}

fn config(fake: &FakeLlm) -> aegis_tests::vars::Vars {
    aegis_tests::vars::Vars::of(&[
        ("AEGIS_LLM_BASE_URL", &fake.base_url),
        ("AEGIS_LLM_MODEL", "fake"),
        ("AEGIS_ANALYSIS_MAX_STEPS", "40"),
        ("AEGIS_ANALYSIS_TOKEN_BUDGET", "10000000"),
    ])
}

fn script(turns: usize) -> Vec<Reply> {
    let mut s: Vec<Reply> = (0..turns)
        .map(|i| {
            Reply::calls(&[(
                "prometheus_query",
                json!({"query": format!("rate(http_requests_total{{code=\"5xx\"}}[{}m])", i + 1)}),
            )])
        })
        .collect();
    s.push(Reply::json(json!({
        "summary": "checkout errors", "next_actions": [],
        "ranked_root_causes": [{"rank": 1, "service": "checkout", "probability": 0.6, "description": "5xx",
            "key_indicators": [], "key_logs": [], "evidence": [{"step": 1, "summary": "5xx up"}]}],
    })));
    s
}

fn request() -> Request {
    Request {
        description: "checkout errors".into(),
        time_range: TimeRange::last(chrono::Utc::now(), 15),
        model: None,
        session_id: None,
        alert: None,
        language: None,
    }
}

fn analyzer(fake: &FakeLlm, size: usize) -> Analyzer {
    Analyzer::new(
        config(fake).settings(),
        Arc::new(Instant_ { size }),
        Arc::new(NoRanker {
            reason: "bench".into(),
        }),
    )
}

/// Overhead per step: wall time minus the time inside model calls (llm_start to
/// llm_end, which includes the localhost HTTP round trip to the fake), per step.
async fn overhead(rt_turns: usize, rounds: usize) -> (f64, f64) {
    let mut per_step = Vec::new();
    for _ in 0..rounds {
        let fake = FakeLlm::start(script(rt_turns)).await.expect("fake");
        let a = analyzer(&fake, 2_000);
        let (progress, mut rx) = Progress::channel();
        let watcher = tokio::spawn(async move {
            let mut model = Duration::ZERO;
            let mut started = None;
            while let Some(e) = rx.recv().await {
                match e {
                    ProgressEvent::LlmStart { .. } => started = Some(Instant::now()),
                    ProgressEvent::LlmEnd { .. } => {
                        if let Some(s) = started.take() {
                            model += s.elapsed();
                        }
                    }
                    _ => {}
                }
            }
            model
        });
        let t = Instant::now();
        let report = a.run("bench", &request(), &progress).await;
        let total = t.elapsed();
        drop(progress);
        let model = watcher.await.expect("watcher");
        assert!(report.degraded.is_empty(), "{:?}", report.degraded);
        let steps = (rt_turns + 1) as f64;
        per_step.push((total.saturating_sub(model)).as_secs_f64() * 1000.0 / steps);
    }
    per_step.sort_by(|a, b| a.total_cmp(b));
    (
        per_step[per_step.len() / 2],
        per_step[per_step.len() * 95 / 100],
    )
}

/// Tokens of one analysis of `turns` tool turns, each returning `size` characters.
async fn tokens(turns: usize, size: usize, compaction: bool) -> (u64, u64) {
    let fake = FakeLlm::start(script(turns)).await.expect("fake");
    let mut limits = Limits::from_config(&config(&fake).settings().analysis);
    limits.compaction = compaction;
    // The default budget's context (60 000 tokens / 5); the budget itself is lifted so
    // the run without compaction can finish.
    limits.context_tokens = 12_000;
    limits.max_steps = turns + 2;
    let a = analyzer(&fake, size).with_limits(limits);
    let r = a.run("bench", &request(), &Progress::none()).await;
    assert!(r.degraded.is_empty(), "{:?}", r.degraded);
    (r.usage.prompt_tokens, r.usage.completion_tokens)
}

/// First byte of the NDJSON stream after the request, over real HTTP.
async fn first_byte(rounds: usize) -> (f64, f64) {
    let fake = FakeLlm::start(Vec::new()).await.expect("fake");
    let ctx = config(&fake).context();
    let app = aegis_tests::vars::mount_alone("analyze-stream", &ctx).await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!(
        "http://{}/api/ops/analyze/stream",
        listener.local_addr().expect("addr")
    );
    tokio::spawn(aegis_runtime::serve_on(
        listener,
        app,
        Duration::from_secs(1),
        Duration::from_secs(10),
    ));
    let http = reqwest::Client::new();
    let body = json!({"description": "checkout errors"});
    let mut ms = Vec::new();
    for _ in 0..rounds {
        fake.push(script(0));
        let t = Instant::now();
        let mut res = http.post(&url).json(&body).send().await.expect("send");
        let _ = res.chunk().await.expect("first chunk");
        ms.push(t.elapsed().as_secs_f64() * 1000.0);
        while res.chunk().await.ok().flatten().is_some() {}
    }
    ms.sort_by(|a, b| a.total_cmp(b));
    (ms[ms.len() / 2], ms[ms.len() * 95 / 100])
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let (p50, p95) = overhead(8, 30).await;
        println!("agent overhead per step (model time excluded, 9 steps, 30 runs): p50 {p50:.2} ms, p95 {p95:.2} ms");
        let (p50, p95) = first_byte(50).await;
        println!("analyze-stream first NDJSON byte (50 requests): p50 {p50:.2} ms, p95 {p95:.2} ms");
        for (turns, size) in [(4, 4_000), (8, 6_000), (12, 6_000)] {
            let (p1, c1) = tokens(turns, size, true).await;
            let (p0, c0) = tokens(turns, size, false).await;
            println!(
                "tokens, {turns} tool turns x {size} chars: with compaction {} (prompt {p1}, completion {c1}); without {} (prompt {p0}, completion {c0})",
                p1 + c1,
                p0 + c0
            );
        }
    });
}
