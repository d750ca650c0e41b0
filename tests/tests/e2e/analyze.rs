//! The analysis flow: the LLM agent driven by a scripted OpenAI-compatible fake model
//! (the only fake: a model cannot run here), its tools reading a real Prometheus, and
//! the analyze and analyze-stream functions over real HTTP.

use std::collections::HashMap;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use aegis::analysis::{
    Analyzer, NoEngine, Progress, ProgressEvent, Report, Request, TimeRange, ToolSet,
};
use aegis::llm::{Retry, ToolSpec};
use aegis_tests::fake_llm::{FakeLlm, Reply};
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

fn config(fake: &FakeLlm, prometheus: Option<&str>, extra: &[(&str, &str)]) -> aegis::Config {
    let mut vars: HashMap<String, String> = HashMap::from([
        ("AEGIS_LLM_BASE_URL".into(), fake.base_url.clone()),
        ("AEGIS_LLM_MODEL".into(), "fake-model".into()),
        (
            "AEGIS_LLM_API_KEY".into(),
            "sk-test-key-never-leaks-0000".into(),
        ),
        ("AEGIS_LLM_TIMEOUT".into(), "2s".into()),
        ("AEGIS_ANALYSIS_BUDGET".into(), "20s".into()),
    ]);
    if let Some(p) = prometheus {
        vars.insert("PROMETHEUS_BASE_URL".into(), p.into());
    }
    for (k, v) in extra {
        vars.insert(k.to_string(), v.to_string());
    }
    aegis::Config::from_lookup(|k| vars.get(k).cloned()).expect("test configuration is valid")
}

/// An analyzer whose tools are the real catalog over a real Prometheus.
async fn analyzer(fake: &FakeLlm, extra: &[(&str, &str)]) -> Analyzer {
    let prom = prometheus().await;
    let config = config(fake, Some(&prom), extra);
    let tools = aegis::tools::Tools::new(&config.tools).expect("tools build");
    let range = range();
    let catalog = aegis::tools::catalog_for(
        &tools,
        aegis::tools::catalog::window(range.start, range.end),
    );
    Analyzer::new(
        Arc::new(config),
        Arc::new(catalog),
        Arc::new(NoEngine {
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

// ---------------------------------------------------------------------------------
// The agent.

#[tokio::test]
async fn multi_tool_investigation_uses_real_observations() {
    let fake = FakeLlm::start(vec![
        Reply::calls(&[("prometheus_query", json!({"query": "up"}))]),
        Reply::calls(&[
            (
                "prometheus_query",
                json!({"query": "prometheus_build_info"}),
            ),
            ("prometheus_label_values", json!({"label": "job"})),
        ]),
        Reply::json(answer(json!([
            cause(1, "prometheus", 0.3, 1),
            cause(2, "api", 0.1, 2)
        ]))),
    ])
    .await
    .unwrap();
    let a = analyzer(&fake, &[]).await;
    let report = a
        .run("r1", &request("is anything down?"), &Progress::none())
        .await;

    assert!(report.degraded.is_empty(), "{:?}", report.degraded);
    assert_eq!(report.model, "custom");
    assert_eq!(report.trace.steps.len(), 3);
    assert_eq!(report.usage.tool_calls, 3);
    assert!(report.usage.prompt_tokens > 0 && report.usage.completion_tokens > 0);
    let top = &report.ranked_root_causes[0];
    assert_eq!((top.rank, top.service.as_str()), (1, "prometheus"));
    assert_eq!(
        top.evidence[0].query, "up",
        "evidence filled from the cited step"
    );
    assert_eq!(top.evidence[0].source, "prometheus");
    // The model saw what the real Prometheus returned for step 1.
    assert!(
        report.trace.steps[0].observation.contains("prometheus"),
        "{}",
        report.trace.steps[0].observation
    );
    let second = messages(&fake, 1);
    assert!(
        second.contains("[step 1]") && second.contains("job"),
        "{second}"
    );
    // The tools were offered natively with their schemas, and the API key never
    // reached a prompt.
    let first = &fake.requests()[0];
    assert!(
        first["tools"]
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t["function"]["name"] == "prometheus_range")
    );
    assert!(
        !fake
            .requests()
            .iter()
            .any(|r| r.to_string().contains("sk-test-key-never-leaks"))
    );
}

/// Two calls of one turn run at once: each waits for the other at a barrier, so
/// running them one after the other would never finish.
#[tokio::test]
async fn tool_calls_of_one_turn_run_in_parallel() {
    struct Rendezvous(tokio::sync::Barrier);
    #[async_trait::async_trait]
    impl ToolSet for Rendezvous {
        fn specs(&self) -> Vec<ToolSpec> {
            vec![ToolSpec {
                name: "wait".into(),
                description: "waits".into(),
                parameters: json!({"type": "object"}),
            }]
        }
        async fn call(&self, _name: &str, args: Value) -> Result<String, String> {
            tokio::time::timeout(Duration::from_secs(5), self.0.wait())
                .await
                .map_err(|_| "the other call never came".to_string())?;
            Ok(format!("met {args}"))
        }
    }
    let fake = FakeLlm::start(vec![
        Reply::calls(&[("wait", json!({"n": 1})), ("wait", json!({"n": 2}))]),
        Reply::json(answer(json!([
            cause(1, "a", 0.5, 1),
            cause(2, "b", 0.4, 2)
        ]))),
    ])
    .await
    .unwrap();
    let a = Analyzer::new(
        Arc::new(config(&fake, None, &[])),
        Arc::new(Rendezvous(tokio::sync::Barrier::new(2))),
        Arc::new(NoEngine {
            reason: "none".into(),
        }),
    );
    let report = a.run("r2", &request("q"), &Progress::none()).await;
    assert!(report.degraded.is_empty(), "{:?}", report.degraded);
    assert!(
        report
            .trace
            .steps
            .iter()
            .all(|s| s.observation.starts_with("met")),
        "{:?}",
        report.trace
    );
}

#[tokio::test]
async fn reasoning_is_streamed_as_thoughts_and_never_reported() {
    let final_json = answer(json!([cause(1, "prometheus", 0.4, 1)])).to_string();
    let script = || {
        vec![
            Reply::calls(&[("prometheus_query", json!({"query": "up"}))])
                .with_reasoning("REASONING-CONTENT-ONE"),
            Reply::text(format!("<think>THINK-BLOCK-TWO</think>{final_json}")),
        ]
    };
    // Streamed (someone watches) and not.
    for watched in [true, false] {
        let fake = FakeLlm::start(script()).await.unwrap();
        let a = analyzer(&fake, &[]).await;
        let (progress, mut rx) = Progress::channel();
        let progress = if watched { progress } else { Progress::none() };
        let report = a.run("r3", &request("q"), &progress).await;
        drop(progress);
        let text = serde_json::to_string(&report).unwrap();
        assert!(report.degraded.is_empty(), "{:?}", report.degraded);
        for hidden in ["REASONING-CONTENT-ONE", "THINK-BLOCK-TWO", "<think>"] {
            assert!(
                !text.contains(hidden),
                "{hidden} reached the report: {text}"
            );
        }
        assert_eq!(fake.requests()[0]["stream"], json!(watched));
        if watched {
            let mut thoughts = String::new();
            let mut tokens = String::new();
            while let Some(e) = rx.recv().await {
                match e {
                    ProgressEvent::AgentThought { text } => thoughts.push_str(&text),
                    ProgressEvent::LlmToken { token } => tokens.push_str(&token),
                    _ => {}
                }
            }
            assert!(
                thoughts.contains("REASONING-CONTENT-ONE") && thoughts.contains("THINK-BLOCK-TWO"),
                "{thoughts}"
            );
            assert!(
                !tokens.contains("THINK-BLOCK-TWO") && tokens.contains("ranked_root_causes"),
                "{tokens}"
            );
        }
    }
}

#[tokio::test]
async fn model_without_native_tools_uses_the_text_protocol() {
    let fake = FakeLlm::start(vec![
        Reply::text("Let me look.\n```json\n{\"action\": \"prometheus_query\", \"action_input\": {\"query\": \"up\"}}\n```"),
        Reply::text("I think the answer is prometheus."),
        Reply::json(json!({"final_answer": answer(json!([cause(1, "prometheus", 0.6, 1)]))})),
    ])
    .await
    .unwrap();
    let a = analyzer(&fake, &[("AEGIS_LLM_NATIVE_TOOLS", "false")]).await;
    let report = a.run("r4", &request("q"), &Progress::none()).await;
    assert!(report.degraded.is_empty(), "{:?}", report.degraded);
    assert_eq!(report.trace.steps.len(), 1);
    assert_eq!(report.ranked_root_causes[0].service, "prometheus");
    let reqs = fake.requests();
    assert!(reqs[0].get("tools").is_none(), "no native tools offered");
    assert!(
        messages(&fake, 0).contains("action_input")
            && messages(&fake, 0).contains("prometheus_query")
    );
    assert!(messages(&fake, 1).contains("Observation: [step 1]"));
    assert!(
        messages(&fake, 2).contains("could not be used"),
        "a correction was sent"
    );
}

#[tokio::test]
async fn malformed_arguments_and_unknown_tools_are_answered_not_run() {
    let fake = FakeLlm::start(vec![
        Reply::raw_calls(&[
            ("prometheus_query", "{\"query\": \"up\""),
            ("delete_pod", "{}"),
        ]),
        Reply::json(answer(json!([]))),
    ])
    .await
    .unwrap();
    let a = analyzer(&fake, &[]).await;
    let report = a.run("r5", &request("q"), &Progress::none()).await;
    assert!(report.degraded.is_empty(), "{:?}", report.degraded);
    assert!(
        report.trace.steps.is_empty(),
        "nothing ran: {:?}",
        report.trace
    );
    assert_eq!(report.usage.tool_calls, 0);
    let second = messages(&fake, 1);
    assert!(second.contains("not a valid JSON object"), "{second}");
    assert!(
        second.contains("no tool named \\\"delete_pod\\\""),
        "{second}"
    );
}

#[tokio::test]
async fn identical_repeated_calls_are_refused() {
    let fake = FakeLlm::start(vec![
        Reply::calls(&[("prometheus_query", json!({"query": "up"}))]),
        Reply::calls(&[("prometheus_query", json!({"query": "up"}))]),
        Reply::calls(&[("prometheus_query", json!({"query": "up"}))]),
        Reply::json(answer(json!([cause(1, "prometheus", 0.5, 1)]))),
    ])
    .await
    .unwrap();
    let a = analyzer(&fake, &[]).await;
    let report = a.run("r6", &request("q"), &Progress::none()).await;
    assert!(report.degraded.is_empty(), "{:?}", report.degraded);
    assert_eq!(report.trace.steps.len(), 1, "the repeats were not executed");
    assert!(messages(&fake, 2).contains("Refused"));
    assert!(messages(&fake, 3).contains("already called"));
}

#[tokio::test]
async fn invalid_final_answer_is_repaired_once() {
    let bad = answer(json!([cause(1, "prometheus", 1.4, 7)]));
    let good = answer(json!([cause(1, "prometheus", 0.7, 1)]));
    let fake = FakeLlm::start(vec![
        Reply::calls(&[("prometheus_query", json!({"query": "up"}))]),
        Reply::json(bad.clone()),
        Reply::json(good),
    ])
    .await
    .unwrap();
    let a = analyzer(&fake, &[]).await;
    let report = a.run("r7", &request("q"), &Progress::none()).await;
    assert!(report.degraded.is_empty(), "{:?}", report.degraded);
    assert_eq!(report.ranked_root_causes[0].probability, 0.7);
    let repair = messages(&fake, 2);
    assert!(
        repair.contains("final answer is invalid")
            && repair.contains("step 7")
            && repair.contains("outside [0, 1]"),
        "{repair}"
    );

    // Still invalid after the repair: the statistical report, degraded with the reason.
    let fake = FakeLlm::start(vec![
        Reply::calls(&[("prometheus_query", json!({"query": "up"}))]),
        Reply::json(bad.clone()),
        Reply::json(bad),
    ])
    .await
    .unwrap();
    let a = analyzer(&fake, &[]).await;
    let report = a.run("r7b", &request("q"), &Progress::none()).await;
    assert_eq!(report.model, "statistical");
    assert!(
        report.degraded[0].contains("still invalid after one repair"),
        "{:?}",
        report.degraded
    );
}

#[tokio::test]
async fn model_errors_then_timeout_fall_back_to_the_statistical_report() {
    let fake = FakeLlm::start(vec![
        Reply::status(500),
        Reply::Status {
            status: 503,
            retry_after: Some(0),
        },
        Reply::Hang(Duration::from_secs(10)),
    ])
    .await
    .unwrap();
    let a = analyzer(&fake, &[("AEGIS_LLM_TIMEOUT", "1s")]).await;
    let report = a.run("r8", &request("q"), &Progress::none()).await;
    assert_eq!(report.model, "statistical");
    assert_eq!(report.id, "r8");
    assert!(
        report.degraded[0].contains("timed out"),
        "{:?}",
        report.degraded
    );
    assert!(
        report
            .degraded
            .iter()
            .any(|d| d.contains("no engine in this test"))
    );
    assert_eq!(
        fake.requests().len(),
        3,
        "two retries after the 5xx, none after the timeout"
    );
}

#[tokio::test]
async fn step_limit_ends_in_a_degraded_report() {
    let fake = FakeLlm::start(
        (0..3)
            .map(|i| Reply::calls(&[("prometheus_query", json!({"query": format!("up + {i}")}))]))
            .collect(),
    )
    .await
    .unwrap();
    let a = analyzer(&fake, &[("AEGIS_ANALYSIS_MAX_STEPS", "3")]).await;
    let report = a.run("r9", &request("q"), &Progress::none()).await;
    assert!(
        report.degraded[0].contains("step limit of 3"),
        "{:?}",
        report.degraded
    );
    assert_eq!(report.usage.tool_calls, 3);
}

// ---------------------------------------------------------------------------------
// The functions over real HTTP.

struct Served {
    url: String,
    fake: FakeLlm,
    _data: tempfile::TempDir,
}

/// `name` (analyze or analyze-stream) served on port 0, with the fake model, the
/// real Prometheus and a folder store.
async fn serve(name: &str, script: Vec<Reply>, extra: &[(&str, &str)]) -> Served {
    let fake = FakeLlm::start(script).await.unwrap();
    let prom = prometheus().await;
    let data = tempfile::tempdir().unwrap();
    let mut vars = vec![("AEGIS_DATA_DIR", data.path().to_str().unwrap())];
    vars.extend_from_slice(extra);
    let config = config(&fake, Some(&prom), &vars);
    let ctx = aegis::runtime::context_from_config(config).await.unwrap();
    let build = aegis_cli::host::FUNCTIONS
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, b)| *b)
        .unwrap();
    let app = aegis::runtime::mount(build(&ctx).unwrap(), &ctx);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(aegis::runtime::serve_on(
        listener,
        app,
        Duration::from_secs(1),
    ));
    Served {
        url,
        fake,
        _data: data,
    }
}

/// The original service's request shape, naive times in UTC+8.
fn original_request() -> Value {
    let tz = chrono::FixedOffset::east_opt(8 * 3600).unwrap();
    let end = Utc::now().with_timezone(&tz);
    let start = end - chrono::Duration::minutes(15);
    json!({
        "description": "订单服务延迟升高 / order latency is up",
        "time_range": {"start": start.format("%Y-%m-%d %H:%M:%S").to_string(), "end": end.format("%Y-%m-%d %H:%M:%S").to_string()},
        "session_id": "sess-42",
        "model": "custom",
    })
}

#[tokio::test]
async fn analyze_answers_the_original_request_and_stores_the_report() {
    let s = serve(
        "analyze",
        vec![
            Reply::calls(&[("prometheus_query", json!({"query": "up"}))]),
            Reply::json(answer(json!([cause(1, "prometheus", 0.5, 1)]))),
        ],
        &[],
    )
    .await;
    let http = reqwest::Client::new();
    let res = http
        .post(format!("{}/api/ops/analyze", s.url))
        .json(&original_request())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.unwrap();
    for field in [
        "summary",
        "ranked_root_causes",
        "next_actions",
        "trace",
        "model",
        "id",
        "usage",
        "degraded",
    ] {
        assert!(body.get(field).is_some(), "{field} missing: {body}");
    }
    assert_eq!(body["session_id"], "sess-42");
    assert_eq!(body["model"], "custom");
    assert_eq!(body["archived"], true);
    assert_eq!(body["trace"]["steps"][0]["tool"], "prometheus_query");
    // The naive times were read as UTC+8: the range is the last 15 minutes.
    let start: chrono::DateTime<Utc> =
        serde_json::from_value(body["time_range"]["start"].clone()).unwrap();
    assert!((Utc::now() - start).num_minutes().abs() <= 16, "{start}");

    // The statistical engine's ranking reached the model as the starting hypothesis.
    assert!(messages(&s.fake, 0).contains("Statistical engine's ranking"));

    let id = body["id"].as_str().unwrap();
    let stored = http
        .get(format!("{}/api/ops/analyses/{id}", s.url))
        .send()
        .await
        .unwrap();
    assert_eq!(stored.status(), 200);
    let stored: Report = stored.json().await.unwrap();
    assert_eq!(stored.id, id);

    let metrics = http
        .get(format!("{}/metrics", s.url))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("aegis_analyses_total{model=\"custom\",outcome=\"ok\"}"),
        "{metrics}"
    );
    assert!(
        metrics.contains("aegis_llm_tokens_total{kind=\"prompt\"}"),
        "{metrics}"
    );
}

#[tokio::test]
async fn analyze_rejects_bad_requests_with_the_reason() {
    let s = serve("analyze", vec![], &[]).await;
    let http = reqwest::Client::new();
    let post = |body: Value| {
        http.post(format!("{}/api/ops/analyze", s.url))
            .json(&body)
            .send()
    };
    let res = post(json!({"time_range": {"start": 1, "end": 2}}))
        .await
        .unwrap();
    assert_eq!(res.status(), 422);
    assert_eq!(res.json::<Value>().await.unwrap()["field"], "description");
    let res = post(json!({"description": "x", "time_range": {"start": "2026-01-01 10:00:00", "end": "2026-01-01 09:00:00"}})).await.unwrap();
    assert_eq!(res.status(), 400);
    let res = post(json!({"description": "x", "model": "gpt-99"}))
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    let text = res.text().await.unwrap();
    assert!(text.contains("custom") && text.contains("qwen"), "{text}");
    assert!(
        s.fake.requests().is_empty(),
        "no model call for a refused request"
    );
}

#[tokio::test]
async fn analysis_requested_event_is_answered_once() {
    let s = serve(
        "analyze",
        vec![
            Reply::calls(&[("prometheus_query", json!({"query": "up"}))]),
            Reply::json(answer(json!([cause(1, "prometheus", 0.5, 1)]))),
        ],
        &[],
    )
    .await;
    let data = json!({
        "request_id": "req-123",
        "request": {"description": "why?", "time_range": range()},
        "origin": "feishu",
        "reply_to": {"chat_id": "oc_1", "message_id": "om_1"},
    });
    let http = reqwest::Client::new();
    let send = || {
        http.post(format!("{}/", s.url))
            .header("ce-specversion", "1.0")
            .header("ce-id", "evt-1")
            .header("ce-type", "io.aegis.analysis.requested.v1")
            .header("ce-source", "/aegis/feishu-event-handler")
            .header("content-type", "application/json")
            .json(&data)
            .send()
    };
    let first = send().await.unwrap();
    assert_eq!(first.status(), 200);
    assert_eq!(first.headers()["ce-type"], "io.aegis.analysis.completed.v1");
    assert_eq!(first.headers()["ce-aegisorigin"], "feishu");
    assert_eq!(first.headers()["ce-aegisoutcome"], "ok");
    let id = first.headers()["ce-id"].to_str().unwrap().to_string();
    let body: Value = first.json().await.unwrap();
    assert_eq!(body["report"]["id"], "req-123");
    assert_eq!(body["reply_to"]["message_id"], "om_1");
    let calls = s.fake.requests().len();

    let again = send().await.unwrap();
    assert_eq!(again.status(), 200);
    assert_eq!(
        again.headers()["ce-id"].to_str().unwrap(),
        id,
        "same completion id"
    );
    let body2: Value = again.json().await.unwrap();
    assert_eq!(
        body2["report"], body["report"],
        "the stored report, not a new run"
    );
    assert_eq!(
        s.fake.requests().len(),
        calls,
        "the model was not called again"
    );
}

/// Reads NDJSON lines from a streamed response until `end` or `limit` lines.
async fn lines(res: &mut reqwest::Response, limit: usize) -> Vec<Value> {
    let mut buf = Vec::new();
    let mut out = Vec::new();
    while out.len() < limit {
        let Some(chunk) = res.chunk().await.unwrap() else {
            break;
        };
        buf.extend_from_slice(&chunk);
        while let Some(nl) = buf.iter().position(|&b| b == b'\n') {
            let line: Vec<u8> = buf.drain(..=nl).collect();
            let v: Value = serde_json::from_slice(&line).expect("each line is one JSON object");
            let end = v["event"] == "end";
            out.push(v);
            if end || out.len() >= limit {
                return out;
            }
        }
    }
    out
}

#[tokio::test]
async fn stream_emits_events_in_order_and_ends_with_end() {
    let s = serve(
        "analyze-stream",
        vec![
            Reply::calls(&[("prometheus_query", json!({"query": "up"}))])
                .with_reasoning("thinking"),
            Reply::json(answer(json!([cause(1, "prometheus", 0.5, 1)]))),
        ],
        &[],
    )
    .await;
    let mut res = reqwest::Client::new()
        .post(format!("{}/api/ops/analyze/stream", s.url))
        .json(&original_request())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["content-type"], "application/x-ndjson");
    let events = lines(&mut res, 10_000).await;
    let names: Vec<&str> = events
        .iter()
        .map(|e| e["event"].as_str().unwrap())
        .collect();
    let pos = |n: &str| {
        names
            .iter()
            .position(|x| *x == n)
            .unwrap_or_else(|| panic!("{n} missing in {names:?}"))
    };
    assert_eq!(names[0], "start");
    assert_eq!(*names.last().unwrap(), "end");
    assert_eq!(names[names.len() - 2], "final");
    assert!(pos("llm_start") < pos("agent_thought"));
    assert!(pos("agent_thought") < pos("llm_end"));
    assert!(pos("llm_end") < pos("agent_action"));
    assert!(pos("agent_action") < pos("tool_start"));
    assert!(pos("tool_start") < pos("tool_end"));
    assert!(pos("tool_end") < pos("agent_observation"));
    assert!(
        pos("agent_observation") < pos("llm_token"),
        "the second turn streams the answer"
    );
    let report = &events[names.len() - 2]["data"]["report"];
    assert_eq!(report["ranked_root_causes"][0]["service"], "prometheus");
    assert!(!report.to_string().contains("thinking"));
}

#[tokio::test]
async fn stream_disconnect_cancels_the_analysis() {
    let s = serve(
        "analyze-stream",
        vec![Reply::Hang(Duration::from_secs(60))],
        &[
            ("AEGIS_ANALYZE_CONCURRENCY", "1"),
            ("AEGIS_LLM_TIMEOUT", "60s"),
        ],
    )
    .await;
    let http = reqwest::Client::new();
    let url = format!("{}/api/ops/analyze/stream", s.url);
    let mut res = http
        .post(&url)
        .json(&original_request())
        .send()
        .await
        .unwrap();
    let first = lines(&mut res, 1).await;
    assert_eq!(first[0]["event"], "start");
    // The one slot is taken while the analysis runs.
    let busy = http
        .post(&url)
        .json(&original_request())
        .send()
        .await
        .unwrap();
    assert_eq!(busy.status(), 429);
    assert!(busy.headers().contains_key("retry-after"));
    drop(res);
    // Disconnecting cancelled the analysis and freed its slot, long before the model
    // would have answered.
    let mut freed = false;
    for _ in 0..50 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        s.fake.push([Reply::Hang(Duration::from_secs(60))]);
        let res = http
            .post(&url)
            .json(&original_request())
            .send()
            .await
            .unwrap();
        if res.status() == 200 {
            freed = true;
            break;
        }
    }
    assert!(freed, "the slot was never freed: the analysis kept running");
}

/// Tools answering from memory what a log line could carry: secrets among them.
struct Leaky;

#[async_trait::async_trait]
impl ToolSet for Leaky {
    fn specs(&self) -> Vec<ToolSpec> {
        vec![ToolSpec {
            name: "loki_query".into(),
            description: "LogQL".into(),
            parameters: json!({"type": "object"}),
        }]
    }
    async fn call(&self, _name: &str, args: Value) -> Result<String, String> {
        Ok(format!(
            "{args} db login failed password=hunter2-db user=app; retry with sk-test-key-never-leaks-0000; {}",
            "padding ".repeat(700)
        ))
    }
}

fn leaky_analyzer(fake: &FakeLlm, extra: &[(&str, &str)]) -> Analyzer {
    Analyzer::new(
        Arc::new(config(fake, None, extra)),
        Arc::new(Leaky),
        Arc::new(NoEngine {
            reason: "none".into(),
        }),
    )
}

#[tokio::test]
async fn secrets_in_tool_output_never_reach_the_model() {
    let fake = FakeLlm::start(vec![
        Reply::calls(&[("loki_query", json!({"query": "{app=\"db\"}"}))]),
        Reply::json(answer(json!([]))),
    ])
    .await
    .unwrap();
    let report = leaky_analyzer(&fake, &[])
        .run("s1", &request("q"), &Progress::none())
        .await;
    assert!(report.degraded.is_empty(), "{:?}", report.degraded);
    let seen = messages(&fake, 1);
    assert!(seen.contains("db login failed"), "{seen}");
    for secret in ["hunter2-db", "sk-test-key-never-leaks-0000"] {
        assert!(!seen.contains(secret), "{secret} reached the model");
        assert!(!serde_json::to_string(&report).unwrap().contains(secret));
    }
}

#[tokio::test]
async fn token_budget_ends_in_a_degraded_report() {
    let fake = FakeLlm::start(
        (0..6)
            .map(|i| Reply::calls(&[("loki_query", json!({"query": format!("{{app=\"{i}\"}}")}))]))
            .collect(),
    )
    .await
    .unwrap();
    let report = leaky_analyzer(&fake, &[("AEGIS_ANALYSIS_TOKEN_BUDGET", "6000")])
        .run("t1", &request("q"), &Progress::none())
        .await;
    assert_eq!(report.model, "statistical");
    assert!(
        report.degraded[0].contains("token budget of 6000"),
        "{:?}",
        report.degraded
    );
    assert!(fake.remaining() > 0, "stopped before the script ran out");
}

// ---------------------------------------------------------------------------------
// The model client on its own.

fn provider(fake: &FakeLlm, native_tools: bool) -> aegis::llm::Provider {
    aegis::llm::Provider {
        alias: "custom".into(),
        base_url: fake.base_url.parse().unwrap(),
        model: "fake-model".into(),
        api_key: None,
        native_tools,
        reasoning: true,
    }
}

#[tokio::test]
async fn client_honours_retry_after_and_assembles_streamed_tool_calls() {
    use aegis::llm::{ChatRequest, Client, Delta, Message};
    let fake = FakeLlm::start(vec![
        Reply::Status {
            status: 429,
            retry_after: Some(1),
        },
        Reply::calls(&[
            ("a", json!({"x": "one two three four five"})),
            ("b", json!({"y": [1, 2, 3]})),
        ])
        .with_reasoning("mull it over"),
    ])
    .await
    .unwrap();
    let client = Client::new(provider(&fake, true), Duration::from_secs(5)).with_retry(Retry {
        attempts: 2,
        first_backoff: Duration::from_millis(1),
        max_wait: Duration::from_secs(5),
    });
    let messages = [Message::user("hi")];
    let mut deltas = Vec::new();
    let started = std::time::Instant::now();
    let c = client
        .stream(
            ChatRequest {
                messages: &messages,
                tools: &[],
            },
            &mut |d| deltas.push(d),
        )
        .await
        .unwrap();
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "waited for Retry-After, not the 1 ms backoff"
    );
    assert_eq!(fake.requests().len(), 2);
    assert_eq!(c.tool_calls.len(), 2);
    assert_eq!(c.tool_calls[0].name, "a");
    assert_eq!(
        serde_json::from_str::<Value>(&c.tool_calls[0].arguments).unwrap(),
        json!({"x": "one two three four five"})
    );
    assert_eq!(c.tool_calls[1].id, "call_1");
    assert_eq!(c.reasoning, "mull it over");
    assert!(c.usage_reported && c.usage.prompt_tokens > 0);
    assert!(deltas.contains(&Delta::Reasoning("mull ".into())));
}

#[tokio::test]
async fn client_errors_carry_no_upstream_body() {
    use aegis::llm::{ChatRequest, Client, Message};
    let fake = FakeLlm::start(vec![Reply::status(401)]).await.unwrap();
    let client = Client::new(provider(&fake, true), Duration::from_secs(5));
    let messages = [Message::user("hi")];
    let err = client
        .complete(ChatRequest {
            messages: &messages,
            tools: &[],
        })
        .await
        .unwrap_err();
    assert_eq!(err.to_string(), "model endpoint answered HTTP 401");
    assert_eq!(fake.requests().len(), 1, "a 401 is not retried");
}
