//! The model client on its own.

use super::*;

fn provider(fake: &FakeLlm, native_tools: bool) -> aegis_llm::Provider {
    aegis_llm::Provider {
        alias: "custom".into(),
        base_url: fake.base_url.parse().unwrap(),
        model: "fake-model".into(),
        api_key: None,
        native_tools,
        reasoning: true,
        context_tokens: None,
    }
}

#[tokio::test]
async fn client_honours_retry_after_and_assembles_streamed_tool_calls() {
    use aegis_llm::{ChatRequest, Client, Delta, Message};
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
        .stream(ChatRequest::new(&messages, &[]), &mut |d| deltas.push(d))
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
async fn client_errors_carry_the_servers_message_without_the_key() {
    use aegis_llm::{ChatRequest, Client, Message};
    let key = "sk-test-key-never-leaks-0000";
    let fake = FakeLlm::start(vec![Reply::error(
        401,
        &format!("Incorrect API key provided: {key}"),
    )])
    .await
    .unwrap();
    let mut p = provider(&fake, true);
    p.api_key = Some(aegis_core::config::Secret::new(key.to_string()));
    let client = Client::new(p, Duration::from_secs(5));
    let messages = [Message::user("hi")];
    let err = client
        .complete(ChatRequest::new(&messages, &[]))
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "model endpoint answered HTTP 401: Incorrect API key provided: ***"
    );
    assert!(!format!("{err:?}").contains(key), "{err:?}");
    assert_eq!(fake.requests().len(), 1, "a 401 is not retried");
}

#[tokio::test]
async fn client_reads_the_context_from_llama_cpp_props_else_the_setting() {
    use aegis_llm::Client;
    let fake = FakeLlm::with_context(vec![], 3_000, true).await.unwrap();
    let client = Client::new(provider(&fake, true), Duration::from_secs(5));
    assert_eq!(client.context_window().await, Some(3_000));
    // A server that does not say it (the plain fake: /props 404, no /v1/models, no
    // /api/show): the provider's setting.
    let fake = FakeLlm::start(vec![]).await.unwrap();
    let mut p = provider(&fake, true);
    assert_eq!(
        Client::new(p.clone(), Duration::from_secs(5))
            .context_window()
            .await,
        None
    );
    p.context_tokens = Some(8_192);
    assert_eq!(
        Client::new(p, Duration::from_secs(5))
            .context_window()
            .await,
        Some(8_192)
    );
}

#[tokio::test]
async fn structured_output_refused_by_the_server_is_dropped_and_the_call_sent_again() {
    use aegis_llm::{ChatRequest, Client, Message};
    let fake = FakeLlm::start(vec![
        Reply::error(400, "response_format type json_schema is not supported"),
        Reply::json(json!({"ok": true})),
        Reply::json(json!({"ok": true})),
    ])
    .await
    .unwrap();
    let client = Client::new(provider(&fake, true), Duration::from_secs(5));
    let schema = json!({"type": "object"});
    let messages = [Message::user("hi")];
    let mut req = ChatRequest::new(&messages, &[]);
    req.response_schema = Some(&schema);
    let c = client.complete(req).await.unwrap();
    assert_eq!(c.content, "{\"ok\":true}");
    assert!(!client.structured_output());
    client.complete(req).await.unwrap();
    let reqs = fake.requests();
    assert_eq!(reqs.len(), 3);
    assert_eq!(reqs[0]["response_format"]["type"], "json_schema");
    assert_eq!(reqs[0]["response_format"]["json_schema"]["schema"], schema);
    assert!(reqs[1].get("response_format").is_none());
    assert!(reqs[2].get("response_format").is_none(), "not asked again");
}
