//! A scripted OpenAI-compatible chat-completions server, streamed and not, recording
//! what it receives.
//!
//! `POST /v1/chat/completions` answers the next scripted [`Reply`] in the shape of the
//! OpenAI API: a `chat.completion` object, or, when the request says `"stream": true`,
//! `chat.completion.chunk` server-sent events (content split in small pieces,
//! reasoning as `reasoning_content` deltas, tool calls as deltas by `index` with the
//! arguments split, a usage chunk when `stream_options.include_usage`, then
//! `data: [DONE]`). Usage is counted as characters / 4, like a tokenizer would roughly.
//! When the script is exhausted it answers 500.
//!
//! [`FakeLlm::with_context`] makes it a llama.cpp server of that context: `GET /props`
//! says `default_generation_settings.n_ctx`, and a request whose prompt (messages and
//! tools, characters / 4) is larger is answered like llama.cpp does, 400
//! `exceed_context_size_error` with `n_prompt_tokens` and `n_ctx`, without using a
//! scripted reply.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde_json::{Value, json};

/// One scripted answer.
#[derive(Debug, Clone)]
pub enum Reply {
    /// An assistant message.
    Message {
        /// Visible text (may include `<think>` blocks).
        content: String,
        /// `reasoning_content`.
        reasoning: Option<String>,
        /// Tool calls: (name, raw arguments text).
        tool_calls: Vec<(String, String)>,
    },
    /// An error status, optionally with `Retry-After` seconds.
    Status {
        /// The status.
        status: u16,
        /// `Retry-After`, seconds.
        retry_after: Option<u64>,
    },
    /// No answer for this long (to trip timeouts).
    Hang(Duration),
    /// An error status with this JSON body (the server's own error object).
    Error {
        /// The status.
        status: u16,
        /// The body.
        body: Value,
    },
}

impl Reply {
    /// A text answer.
    pub fn text(content: impl Into<String>) -> Self {
        Self::Message {
            content: content.into(),
            reasoning: None,
            tool_calls: Vec::new(),
        }
    }

    /// A final answer: `value` serialised as the content.
    pub fn json(value: Value) -> Self {
        Self::text(value.to_string())
    }

    /// Tool calls with JSON arguments, in one turn.
    pub fn calls(calls: &[(&str, Value)]) -> Self {
        Self::raw_calls(
            &calls
                .iter()
                .map(|(n, a)| (*n, a.to_string()))
                .collect::<Vec<_>>()
                .iter()
                .map(|(n, a)| (*n, a.as_str()))
                .collect::<Vec<_>>(),
        )
    }

    /// Tool calls with arguments exactly as given (malformed ones included).
    pub fn raw_calls(calls: &[(&str, &str)]) -> Self {
        Self::Message {
            content: String::new(),
            reasoning: None,
            tool_calls: calls
                .iter()
                .map(|(n, a)| (n.to_string(), a.to_string()))
                .collect(),
        }
    }

    /// Adds `reasoning_content`.
    pub fn with_reasoning(self, text: &str) -> Self {
        match self {
            Self::Message {
                content,
                tool_calls,
                ..
            } => Self::Message {
                content,
                reasoning: Some(text.to_string()),
                tool_calls,
            },
            other => other,
        }
    }

    /// An error status with the OpenAI error body `{"error": {"message": ..}}`.
    pub fn error(status: u16, message: &str) -> Self {
        Self::Error {
            status,
            body: json!({"error": {"message": message, "type": "invalid_request_error"}}),
        }
    }

    /// An error status.
    pub fn status(status: u16) -> Self {
        Self::Status {
            status,
            retry_after: None,
        }
    }
}

#[derive(Default)]
struct Inner {
    script: VecDeque<Reply>,
    requests: Vec<Value>,
    /// The llama.cpp context, when it plays one.
    n_ctx: Option<u64>,
    /// Whether `/props` says `n_ctx`.
    props: bool,
    /// How many hanging replies were abandoned by their caller (the connection closed
    /// before the hang ended), told to waiters as it happens.
    abandoned: tokio::sync::watch::Sender<usize>,
}

/// A running fake model server.
#[derive(Clone)]
pub struct FakeLlm {
    /// Base URL including `/v1`, as `AEGIS_LLM_BASE_URL` wants it.
    pub base_url: String,
    inner: Arc<Mutex<Inner>>,
}

impl FakeLlm {
    /// Starts a server on port 0 answering `script` in order.
    pub async fn start(script: Vec<Reply>) -> anyhow::Result<Self> {
        Self::serve(script, None, false).await
    }

    /// Starts a server playing llama.cpp with a context of `n_ctx` tokens; `props`:
    /// whether `GET /props` says it (otherwise the client learns it from the 400).
    pub async fn with_context(script: Vec<Reply>, n_ctx: u64, props: bool) -> anyhow::Result<Self> {
        Self::serve(script, Some(n_ctx), props).await
    }

    async fn serve(script: Vec<Reply>, n_ctx: Option<u64>, props: bool) -> anyhow::Result<Self> {
        let inner = Arc::new(Mutex::new(Inner {
            script: script.into(),
            requests: Vec::new(),
            n_ctx,
            props,
            abandoned: tokio::sync::watch::channel(0).0,
        }));
        let app = Router::new()
            .route("/v1/chat/completions", post(completions))
            .route("/props", axum::routing::get(props_of))
            .with_state(inner.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(Self {
            base_url: format!("http://{addr}/v1"),
            inner,
        })
    }

    /// Every request body received, in order.
    pub fn requests(&self) -> Vec<Value> {
        self.lock().requests.clone()
    }

    /// Replies not yet used.
    pub fn remaining(&self) -> usize {
        self.lock().script.len()
    }

    /// Waits until `n` hanging replies have been abandoned by their caller (a cancelled
    /// analysis drops its model call), or `within` passed; whether they were.
    pub async fn abandoned(&self, n: usize, within: Duration) -> bool {
        let mut seen = self.lock().abandoned.subscribe();
        tokio::time::timeout(within, seen.wait_for(|count| *count >= n))
            .await
            .is_ok_and(|r| r.is_ok())
    }

    /// Appends replies to the script.
    pub fn push(&self, replies: impl IntoIterator<Item = Reply>) {
        self.lock().script.extend(replies);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// llama.cpp's `/props`, only where it plays llama.cpp and says its context.
async fn props_of(State(inner): State<Arc<Mutex<Inner>>>) -> Response {
    let inner = inner.lock().unwrap_or_else(|p| p.into_inner());
    match inner.n_ctx {
        Some(n) if inner.props => axum::Json(json!({
            "default_generation_settings": {"n_ctx": n, "params": {}},
            "total_slots": 1,
        }))
        .into_response(),
        _ => StatusCode::NOT_FOUND.into_response(),
    }
}

async fn completions(State(inner): State<Arc<Mutex<Inner>>>, body: axum::body::Bytes) -> Response {
    let Ok(request) = serde_json::from_slice::<Value>(&body) else {
        return (StatusCode::BAD_REQUEST, "body is not JSON").into_response();
    };
    let prompt = (request["messages"].to_string().len() as u64
        + request
            .get("tools")
            .map_or(0, |t| t.to_string().len() as u64))
    .div_ceil(4);
    let reply = {
        let mut inner = inner.lock().unwrap_or_else(|p| p.into_inner());
        inner.requests.push(request.clone());
        match inner.n_ctx {
            Some(n_ctx) if prompt > n_ctx => {
                return (
                    StatusCode::BAD_REQUEST,
                    axum::Json(json!({"error": {
                        "code": 400,
                        "message": format!("request ({prompt} tokens) exceeds the available context size ({n_ctx} tokens), try increasing it"),
                        "type": "exceed_context_size_error",
                        "n_prompt_tokens": prompt,
                        "n_ctx": n_ctx,
                    }})),
                )
                    .into_response();
            }
            _ => inner.script.pop_front(),
        }
    };
    let Some(reply) = reply else {
        return (
            StatusCode::INTERNAL_SERVER_ERROR,
            json!({"error": {"message": "fake model: script exhausted"}}).to_string(),
        )
            .into_response();
    };
    let prompt_tokens = (request["messages"].to_string().len() as u64).div_ceil(4);
    match reply {
        Reply::Status {
            status,
            retry_after,
        } => {
            let mut res = (
                StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
                json!({"error": {"message": "scripted failure", "type": "server_error"}})
                    .to_string(),
            )
                .into_response();
            if let Some(secs) = retry_after {
                res.headers_mut().insert(
                    header::RETRY_AFTER,
                    secs.to_string().parse().expect("digits"),
                );
            }
            res
        }
        Reply::Error { status, body } => (
            StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            axum::Json(body),
        )
            .into_response(),
        Reply::Hang(d) => {
            // Dropped with the handler when the caller goes away mid-hang.
            struct Abandon(Option<tokio::sync::watch::Sender<usize>>);
            impl Drop for Abandon {
                fn drop(&mut self) {
                    if let Some(count) = self.0.take() {
                        count.send_modify(|n| *n += 1);
                    }
                }
            }
            let abandoned = inner
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .abandoned
                .clone();
            let mut guard = Abandon(Some(abandoned));
            tokio::time::sleep(d).await;
            guard.0 = None;
            (StatusCode::GATEWAY_TIMEOUT, "fake model hung").into_response()
        }
        Reply::Message {
            content,
            reasoning,
            tool_calls,
        } => {
            let completion_tokens = ((content.len()
                + reasoning.as_deref().map_or(0, str::len)
                + tool_calls
                    .iter()
                    .map(|(n, a)| n.len() + a.len())
                    .sum::<usize>()) as u64)
                .div_ceil(4)
                .max(1);
            let usage = json!({
                "prompt_tokens": prompt_tokens,
                "completion_tokens": completion_tokens,
                "total_tokens": prompt_tokens + completion_tokens,
            });
            let model = request["model"].clone();
            if request["stream"] == json!(true) {
                let include_usage = request["stream_options"]["include_usage"] == json!(true);
                let chunks = chunks(
                    &model,
                    &content,
                    reasoning.as_deref(),
                    &tool_calls,
                    include_usage.then_some(usage),
                );
                let body: String = chunks
                    .into_iter()
                    .map(|c| format!("data: {c}\n\n"))
                    .chain(["data: [DONE]\n\n".to_string()])
                    .collect();
                // One SSE event per body frame, as a real server flushes them.
                let frames: Vec<Result<String, std::convert::Infallible>> = body
                    .split_inclusive("\n\n")
                    .map(|s| Ok(s.to_string()))
                    .collect();
                return (
                    [(header::CONTENT_TYPE, "text/event-stream")],
                    Body::from_stream(futures::stream::iter(frames)),
                )
                    .into_response();
            }
            let calls: Vec<Value> = tool_calls
                .iter()
                .enumerate()
                .map(|(i, (n, a))| json!({"id": format!("call_{i}"), "type": "function", "function": {"name": n, "arguments": a}}))
                .collect();
            let mut message = json!({"role": "assistant", "content": content});
            if let Some(r) = reasoning {
                message["reasoning_content"] = json!(r);
            }
            if !calls.is_empty() {
                message["tool_calls"] = json!(calls);
            }
            let finish = if calls.is_empty() {
                "stop"
            } else {
                "tool_calls"
            };
            axum::Json(json!({
                "id": "chatcmpl-fake",
                "object": "chat.completion",
                "model": model,
                "choices": [{"index": 0, "message": message, "finish_reason": finish}],
                "usage": usage,
            }))
            .into_response()
        }
    }
}

fn chunks(
    model: &Value,
    content: &str,
    reasoning: Option<&str>,
    calls: &[(String, String)],
    usage: Option<Value>,
) -> Vec<Value> {
    let chunk = |delta: Value, finish: Value| {
        json!({"id": "chatcmpl-fake", "object": "chat.completion.chunk", "model": model,
               "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]})
    };
    let mut out = vec![chunk(
        json!({"role": "assistant", "content": ""}),
        Value::Null,
    )];
    if let Some(r) = reasoning {
        for piece in pieces(r, 5) {
            out.push(chunk(json!({"reasoning_content": piece}), Value::Null));
        }
    }
    for piece in pieces(content, 7) {
        out.push(chunk(json!({"content": piece}), Value::Null));
    }
    for (i, (name, args)) in calls.iter().enumerate() {
        out.push(chunk(
            json!({"tool_calls": [{"index": i, "id": format!("call_{i}"), "type": "function", "function": {"name": name, "arguments": ""}}]}),
            Value::Null,
        ));
        for piece in pieces(args, 9) {
            out.push(chunk(
                json!({"tool_calls": [{"index": i, "function": {"arguments": piece}}]}),
                Value::Null,
            ));
        }
    }
    let finish = if calls.is_empty() {
        "stop"
    } else {
        "tool_calls"
    };
    out.push(chunk(json!({}), json!(finish)));
    if let Some(usage) = usage {
        out.push(json!({"id": "chatcmpl-fake", "object": "chat.completion.chunk", "model": model, "choices": [], "usage": usage}));
    }
    out
}

/// `text` in pieces of `n` characters.
fn pieces(text: &str, n: usize) -> Vec<String> {
    let chars: Vec<char> = text.chars().collect();
    chars.chunks(n).map(|c| c.iter().collect()).collect()
}
