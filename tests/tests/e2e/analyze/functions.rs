//! analyze and analyze-stream over real HTTP.

use super::*;

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
    let ctx = config(&fake, Some(&prom), &vars).context();
    let url = aegis_tests::vars::serve_alone(name, &ctx).await;
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

    let metrics = aegis_tests::http::text(http.get(format!("{}/metrics", s.url))).await;
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
    // The analysis reaches its model call (after the engine's hypothesis).
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while s.fake.requests().is_empty() && std::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(s.fake.requests().len(), 1, "the model was called once");
    drop(res);
    // Disconnecting cancelled the analysis: its model call is dropped (the fake sees
    // the hanging request abandoned, long before the hang would end), and with it the
    // slot, which the next request gets.
    assert!(
        s.fake.abandoned(1, Duration::from_secs(50)).await,
        "the model call was never dropped: the analysis kept running"
    );
    s.fake.push([Reply::Hang(Duration::from_secs(60))]);
    let again = http
        .post(&url)
        .json(&original_request())
        .send()
        .await
        .unwrap();
    let freed = again.status() == 200;
    assert!(freed, "the slot was never freed: the analysis kept running");
}
