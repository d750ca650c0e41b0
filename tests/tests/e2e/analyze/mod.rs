//! The analysis flow: the LLM agent driven by a scripted OpenAI-compatible fake model
//! (the only fake: it makes the model's turns deterministic), its tools reading a real
//! Prometheus, and the analyze and analyze-stream functions over real HTTP; and once
//! against a real model server (`real_model`: llama.cpp with SmolLM2-135M).

mod agent;
mod client;
mod datasets;
mod functions;
mod rank_tool;
mod real_model;

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use aegis_analysis::{Analyzer, NoRanker, Progress, ProgressEvent, ToolSet};
use aegis_core::report::{Report, TimeRange};
use aegis_core::request::Request;
use aegis_llm::{Retry, ToolSpec};
use aegis_tests::fake_llm::{FakeLlm, Reply};
use aegis_tests::vars::Vars;
use chrono::Utc;
use serde_json::{Value, json};

// ---------------------------------------------------------------------------------
// A real Prometheus scraping itself, shared by the tests of this module.

static PROMETHEUS: OnceLock<Result<String, String>> = OnceLock::new();

/// The base URL of a real Prometheus that has scraped itself at least once.
async fn prometheus() -> String {
    let url = PROMETHEUS
        .get_or_init(start_prometheus)
        .clone()
        .unwrap_or_else(|e| panic!("{e}"));
    let client = reqwest::Client::new();
    for _ in 0..100 {
        let res = client
            .get(format!("{url}/api/v1/query"))
            .query(&[("query", "up")])
            .send()
            .await;
        if let Ok(res) = res
            && let Ok(v) = res.json::<Value>().await
            && v["data"]["result"]
                .as_array()
                .is_some_and(|r| !r.is_empty())
        {
            return url;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    panic!("prometheus at {url} never scraped itself");
}

fn start_prometheus() -> Result<String, String> {
    let missing =
        "prometheus is not installed: run scripts/install-peers (Debian package `prometheus`)";
    let bin = std::env::var_os("PATH")
        .and_then(|p| {
            std::env::split_paths(&p)
                .map(|d| d.join("prometheus"))
                .find(|b| b.is_file())
        })
        .ok_or(missing)?;
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?.keep();
    let port = aegis_tests::process::free_port().map_err(|e| e.to_string())?;
    let config = dir.join("prometheus.yml");
    std::fs::write(
        &config,
        format!(
            "global: {{scrape_interval: 1s}}\nscrape_configs:\n  - job_name: prometheus\n    static_configs: [{{targets: ['127.0.0.1:{port}']}}]\n"
        ),
    )
    .map_err(|e| e.to_string())?;
    // The shell watches the test process and stops Prometheus when it exits, since a
    // process-wide peer has no owner to drop it.
    let script = format!(
        "{bin} --config.file={cfg} --storage.tsdb.path={data} --web.listen-address=127.0.0.1:{port} >{log} 2>&1 & \
         child=$!; while kill -0 {parent} 2>/dev/null && kill -0 $child 2>/dev/null; do sleep 1; done; kill $child",
        bin = bin.display(),
        cfg = config.display(),
        data = dir.join("data").display(),
        log = dir.join("log").display(),
        parent = std::process::id(),
    );
    std::process::Command::new("sh")
        .args(["-c", &script])
        .spawn()
        .map_err(|e| format!("cannot start prometheus: {e}"))?;
    for _ in 0..100 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return Ok(format!("http://127.0.0.1:{port}"));
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    Err(format!(
        "prometheus did not listen on {port}; see {}",
        dir.join("log").display()
    ))
}

// ---------------------------------------------------------------------------------
// Fixtures.

fn config(fake: &FakeLlm, prometheus: Option<&str>, extra: &[(&str, &str)]) -> Vars {
    let mut vars = Vars::of(&[
        ("AEGIS_LLM_BASE_URL", &fake.base_url),
        ("AEGIS_LLM_MODEL", "fake-model"),
        ("AEGIS_LLM_API_KEY", "sk-test-key-never-leaks-0000"),
        // Generous: on a loaded 2-core machine a scripted answer can take seconds, and a
        // 2 s limit turned it into the engine's fallback (the stream test then saw no
        // candidate). The tests of timeouts set their own limit with a hanging model.
        ("AEGIS_LLM_TIMEOUT", "30s"),
        ("AEGIS_ANALYSIS_BUDGET", "90s"),
    ]);
    if let Some(p) = prometheus {
        vars.set("PROMETHEUS_BASE_URL", p);
    }
    for (k, v) in extra {
        vars.set(k, *v);
    }
    vars
}

/// An analyzer whose tools are the real catalog over a real Prometheus.
async fn analyzer(fake: &FakeLlm, extra: &[(&str, &str)]) -> Analyzer {
    let prom = prometheus().await;
    let settings = config(fake, Some(&prom), extra).settings();
    let tools = aegis_tools::Clients::new(&settings.tools).expect("tools build");
    let range = range();
    let catalog =
        aegis_tools::catalog_for(&tools, aegis_tools::catalog::window(range.start, range.end));
    Analyzer::new(
        settings,
        Arc::new(catalog),
        Arc::new(NoRanker {
            reason: "no engine in this test".into(),
        }),
    )
    .with_retry(quick_retry())
}

fn quick_retry() -> Retry {
    Retry {
        attempts: 3,
        first_backoff: Duration::from_millis(10),
        max_wait: Duration::from_secs(1),
    }
}

fn range() -> TimeRange {
    TimeRange::last(Utc::now(), 15)
}

fn request(description: &str) -> Request {
    Request {
        description: description.into(),
        time_range: range(),
        model: None,
        session_id: None,
        alert: None,
        language: None,
    }
}

fn answer(causes: Value) -> Value {
    json!({
        "summary": "Prometheus scrapes itself and is up; no fault found in the data.",
        "ranked_root_causes": causes,
        "next_actions": ["check the dashboards"],
    })
}

fn cause(rank: u32, service: &str, p: f64, step: u32) -> Value {
    json!({"rank": rank, "service": service, "probability": p, "description": "d",
           "key_indicators": ["up == 1"], "key_logs": [],
           "evidence": [{"step": step, "summary": "shown by the call"}]})
}

/// The text of the messages of the `n`th request the model received.
fn messages(fake: &FakeLlm, n: usize) -> String {
    fake.requests()[n]["messages"].to_string()
}
