//! The agent: tools, reasoning, protocols, bounds and fallbacks.

use super::*;

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
        config(&fake, None, &[]).settings(),
        Arc::new(Rendezvous(tokio::sync::Barrier::new(2))),
        Arc::new(NoRanker {
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
    assert!(
        report.degraded.is_empty(),
        "{:?}\n{:?}",
        report.degraded,
        report.trace
    );
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
    // The last turn must answer: it offers no tools, so its calls are not run.
    assert_eq!(report.usage.tool_calls, 2);
    let last = &fake.requests()[2];
    assert!(last.get("tools").is_none() && last["response_format"]["type"] == "json_schema");
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
        config(fake, None, extra).settings(),
        Arc::new(Leaky),
        Arc::new(NoRanker {
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

/// The analyzer against a fake playing llama.cpp at `n_ctx`, with the real catalog of
/// tools (their schemas alone are thousands of tokens).
async fn small_context_analyzer(fake: &FakeLlm) -> Analyzer {
    analyzer(fake, &[("AEGIS_LLM_MAX_TOKENS", "256")]).await
}

/// The prompt the fake saw in request `n`, in its own tokens (characters / 4).
fn prompt_tokens(fake: &FakeLlm, n: usize) -> u64 {
    let r = &fake.requests()[n];
    (r["messages"].to_string().len() as u64
        + r.get("tools").map_or(0, |t| t.to_string().len() as u64))
    .div_ceil(4)
}

/// The size of the analyzer's first prompt when no context limit applies.
async fn whole_first_prompt_tokens() -> u64 {
    let fake = FakeLlm::start(vec![Reply::json(answer(json!([])))])
        .await
        .unwrap();
    small_context_analyzer(&fake)
        .await
        .run("whole", &request("q"), &Progress::none())
        .await;
    prompt_tokens(&fake, 0)
}

#[tokio::test]
async fn first_prompt_fits_the_context_the_server_states() {
    let whole = whole_first_prompt_tokens().await;
    // The whole first prompt fits, but not with the 256 tokens of the answer.
    let n_ctx = whole;
    let fake = FakeLlm::with_context(
        vec![
            Reply::calls(&[("prometheus_query", json!({"query": "up"}))]),
            Reply::json(answer(json!([cause(1, "prometheus", 0.5, 1)]))),
        ],
        n_ctx,
        true,
    )
    .await
    .unwrap();
    let report = small_context_analyzer(&fake)
        .await
        .run("c1", &request("is anything down?"), &Progress::none())
        .await;
    assert!(report.degraded.is_empty(), "{:?}", report.degraded);
    assert_eq!(report.ranked_root_causes[0].service, "prometheus");
    let reqs = fake.requests();
    assert_eq!(reqs.len(), 2, "no request was refused");
    for n in 0..2 {
        assert!(
            prompt_tokens(&fake, n) + 256 <= n_ctx,
            "request {n}: {} of {n_ctx}",
            prompt_tokens(&fake, n)
        );
    }
    assert_eq!(reqs[0]["max_tokens"], 256);
    assert!(
        reqs[0]["tools"].as_array().is_some_and(|t| !t.is_empty()),
        "the tools were compacted, not dropped"
    );
}

#[tokio::test]
async fn context_exceeded_answer_is_met_by_compacting_and_retrying() {
    let whole = whole_first_prompt_tokens().await;
    // The server does not say its size: the agent learns it from the 400.
    let n_ctx = whole * 3 / 4;
    let fake = FakeLlm::with_context(vec![Reply::json(answer(json!([])))], n_ctx, false)
        .await
        .unwrap();
    let report = small_context_analyzer(&fake)
        .await
        .run("c3", &request("q"), &Progress::none())
        .await;
    assert!(report.degraded.is_empty(), "{:?}", report.degraded);
    assert_eq!(report.model, "custom");
    let reqs = fake.requests();
    assert!(reqs.len() >= 2, "{}", reqs.len());
    assert!(prompt_tokens(&fake, 0) > n_ctx, "the first was refused");
    assert!(
        prompt_tokens(&fake, reqs.len() - 1) <= n_ctx,
        "the last fitted"
    );
}

#[tokio::test]
async fn first_turn_must_call_a_tool_and_the_last_must_answer_against_the_schema() {
    let fake = FakeLlm::start(vec![
        Reply::calls(&[("prometheus_query", json!({"query": "up"}))]),
        Reply::json(answer(json!([cause(1, "prometheus", 0.5, 1)]))),
    ])
    .await
    .unwrap();
    let a = analyzer(&fake, &[("AEGIS_ANALYSIS_MAX_STEPS", "2")]).await;
    let report = a.run("s1", &request("q"), &Progress::none()).await;
    assert!(
        report.degraded.is_empty(),
        "{:?}\n{:?}\n{}",
        report.degraded,
        report.trace,
        serde_json::to_string(&fake.requests()).unwrap_or_default()
    );
    let reqs = fake.requests();
    assert_eq!(reqs[0]["tool_choice"], "required");
    assert!(reqs[0].get("response_format").is_none());
    let last = &reqs[1];
    assert!(last.get("tools").is_none(), "the last turn offers no tools");
    let format = &last["response_format"];
    assert_eq!(format["type"], "json_schema");
    assert_eq!(
        format["json_schema"]["schema"]["properties"]["ranked_root_causes"]["items"]["properties"]
            ["evidence"]["items"]["properties"]["step"]["enum"],
        json!([1]),
        "only the successful step may be cited"
    );
}

#[tokio::test]
async fn the_servers_error_message_reaches_the_degraded_note_without_the_key() {
    let fake = FakeLlm::start(vec![Reply::error(
        404,
        "model 'qwen9:900b' not found (key sk-test-key-never-leaks-0000)",
    )])
    .await
    .unwrap();
    let a = analyzer(&fake, &[]).await;
    let report = a.run("e1", &request("q"), &Progress::none()).await;
    let note = &report.degraded[0];
    assert!(
        note.contains("HTTP 404: model 'qwen9:900b' not found"),
        "{note}"
    );
    assert!(
        !serde_json::to_string(&report)
            .unwrap()
            .contains("sk-test-key-never-leaks"),
        "{note}"
    );
}
