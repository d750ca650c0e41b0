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
    use aegis_llm::{ChatRequest, Client, Message};
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
