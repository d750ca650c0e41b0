use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use futures::StreamExt;
use serde::Deserialize;
use serde_json::{Value, json};

use super::message::{arguments_text, estimate_tokens};
use super::reasoning::{ThinkFilter, split_think};
use super::sse::SseDecoder;
use super::{Completion, Delta, Error, Message, Provider, TokenUsage, ToolCall, ToolSpec};

/// How failed calls are retried: 429, 5xx and connection errors, with exponential
/// backoff, honouring `Retry-After` up to `max_wait`. Timeouts are not retried: the
/// analysis's wall clock matters more than one more attempt.
#[derive(Debug, Clone, Copy)]
pub struct Retry {
    /// Attempts in all (1 = no retry).
    pub attempts: u32,
    /// The wait before the first retry, doubled after each.
    pub first_backoff: Duration,
    /// The longest wait, also for `Retry-After`.
    pub max_wait: Duration,
}

impl Default for Retry {
    fn default() -> Self {
        Self {
            attempts: 3,
            first_backoff: Duration::from_millis(500),
            max_wait: Duration::from_secs(20),
        }
    }
}

/// One request: the conversation, the tools offered (empty: none, as in the text
/// protocol), and what the answer must be.
#[derive(Debug, Clone, Copy)]
pub struct ChatRequest<'a> {
    /// The conversation so far.
    pub messages: &'a [Message],
    /// Tools offered natively.
    pub tools: &'a [ToolSpec],
    /// Whether the model may answer in text (`auto`) or must call a tool (`required`).
    pub tool_choice: ToolChoice,
    /// A JSON schema the answer must follow, sent as `response_format` `json_schema`
    /// where the server accepts it (dropped, for this client's life, where it does not).
    pub response_schema: Option<&'a Value>,
    /// Most completion tokens (`max_tokens`).
    pub max_tokens: Option<u32>,
}

impl<'a> ChatRequest<'a> {
    /// The conversation with `tools`, the model free to answer in text.
    pub fn new(messages: &'a [Message], tools: &'a [ToolSpec]) -> Self {
        Self {
            messages,
            tools,
            tool_choice: ToolChoice::Auto,
            response_schema: None,
            max_tokens: None,
        }
    }
}

/// `tool_choice` of a request that offers tools.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ToolChoice {
    /// The model chooses between calling tools and answering.
    Auto,
    /// The model must call a tool (dropped where the server refuses it).
    Required,
}

/// What the server turned out to refuse, learnt from its 400s, so later calls do not
/// ask again.
#[derive(Debug, Default)]
struct Refused {
    response_format: AtomicBool,
    tool_choice: AtomicBool,
}

/// An OpenAI-compatible chat-completions client for one provider.
#[derive(Debug, Clone)]
pub struct Client {
    http: reqwest::Client,
    provider: Provider,
    timeout: Duration,
    retry: Retry,
    refused: Arc<Refused>,
}

impl Client {
    /// A client of `provider`, each call bounded by `timeout`.
    pub fn new(provider: Provider, timeout: Duration) -> Self {
        let http = aegis_core::http_client().expect("the HTTP client builds");
        Self {
            http,
            provider,
            timeout,
            retry: Retry::default(),
            refused: Arc::default(),
        }
    }

    /// Replaces the retry policy.
    pub fn with_retry(mut self, retry: Retry) -> Self {
        self.retry = retry;
        self
    }

    /// The provider called.
    pub fn provider(&self) -> &Provider {
        &self.provider
    }

    /// Whether `response_format` `json_schema` is still sent (the server has not
    /// refused it).
    pub fn structured_output(&self) -> bool {
        !self.refused.response_format.load(Ordering::Relaxed)
    }

    /// The model's context size in tokens: what the server says (llama.cpp `/props`
    /// and `/v1/models` `meta.n_ctx`, vLLM `/v1/models` `max_model_len`, Ollama
    /// `/api/show`), else the provider's `context_tokens` setting; `None` when neither
    /// says.
    pub async fn context_window(&self) -> Option<u64> {
        let key = self
            .provider
            .api_key
            .as_ref()
            .map(|k| k.expose().to_string());
        match super::context::discover(&self.http, &self.provider, key.as_deref()).await {
            Some((tokens, source)) => {
                tracing::info!(model = %self.provider.alias, tokens, source, "model context read from the server");
                Some(tokens)
            }
            None => self.provider.context_tokens,
        }
    }

    /// One call, answered whole.
    pub async fn complete(&self, req: ChatRequest<'_>) -> Result<Completion, Error> {
        let res = self.send_adaptive(req, false).await?;
        let bytes = tokio::time::timeout(self.timeout, res.bytes())
            .await
            .map_err(|_| self.timed_out())?
            .map_err(|e| Error::Connect {
                detail: e.without_url().to_string(),
            })?;
        let parsed: WireResponse =
            serde_json::from_slice(&bytes).map_err(|e| Error::Decode(e.to_string()))?;
        let choice = parsed
            .choices
            .into_iter()
            .next()
            .ok_or_else(|| Error::Decode("no choices".into()))?;
        let (content, mut reasoning) = split_think(choice.message.content.as_deref().unwrap_or(""));
        if let Some(r) = choice.message.reasoning() {
            reasoning.insert_str(0, &r);
        }
        let mut out = Completion {
            content,
            reasoning,
            tool_calls: choice.message.tool_calls.unwrap_or_default(),
            finish_reason: choice.finish_reason,
            ..Completion::default()
        };
        number_calls(&mut out.tool_calls);
        self.set_usage(&mut out, req, parsed.usage);
        Ok(out)
    }

    /// One call, streamed: `on_delta` sees visible text and reasoning as they arrive
    /// (tool-call deltas are assembled by index); the whole completion is returned.
    pub async fn stream(
        &self,
        req: ChatRequest<'_>,
        on_delta: &mut (dyn FnMut(Delta) + Send),
    ) -> Result<Completion, Error> {
        let res = self.send_adaptive(req, true).await?;
        let mut bytes = res.bytes_stream();
        let mut decoder = SseDecoder::default();
        let mut think = ThinkFilter::default();
        let mut acc = Assembler::default();
        let deadline = tokio::time::Instant::now() + self.timeout;
        'read: loop {
            let chunk = match tokio::time::timeout_at(deadline, bytes.next()).await {
                Err(_) => return Err(self.timed_out()),
                Ok(None) => break,
                Ok(Some(Err(e))) => {
                    return Err(Error::Connect {
                        detail: e.without_url().to_string(),
                    });
                }
                Ok(Some(Ok(chunk))) => chunk,
            };
            for data in decoder.push(&chunk) {
                if data.trim() == "[DONE]" {
                    break 'read;
                }
                acc.apply(&data, &mut think, on_delta)?;
            }
        }
        if let Some(data) = decoder.finish()
            && data.trim() != "[DONE]"
        {
            acc.apply(&data, &mut think, on_delta)?;
        }
        let (visible, thought) = think.finish();
        acc.emit(visible, thought, on_delta);
        let mut out = Completion {
            content: acc.content,
            reasoning: acc.reasoning,
            tool_calls: acc
                .calls
                .into_values()
                .map(|(id, name, arguments)| ToolCall {
                    id,
                    name,
                    arguments,
                })
                .collect(),
            finish_reason: acc.finish_reason,
            ..Completion::default()
        };
        number_calls(&mut out.tool_calls);
        self.set_usage(&mut out, req, acc.usage);
        Ok(out)
    }

    fn body(&self, req: ChatRequest<'_>, stream: bool) -> Value {
        let mut body = json!({
            "model": self.provider.model,
            "messages": req.messages,
            "temperature": 0.1,
            "stream": stream,
        });
        if stream {
            body["stream_options"] = json!({"include_usage": true});
        }
        if !req.tools.is_empty() {
            body["tools"] = req.tools.iter().map(ToolSpec::wire).collect();
            let required = req.tool_choice == ToolChoice::Required
                && !self.refused.tool_choice.load(Ordering::Relaxed);
            body["tool_choice"] = json!(if required { "required" } else { "auto" });
        }
        if let Some(schema) = req.response_schema
            && self.structured_output()
        {
            body["response_format"] = json!({
                "type": "json_schema",
                "json_schema": {"name": "answer", "strict": true, "schema": schema},
            });
        }
        if let Some(n) = req.max_tokens {
            body["max_tokens"] = json!(n);
        }
        body
    }

    /// Sends; a 400 to a request that asked for structured output or a forced tool
    /// call is taken as the server refusing them: they are dropped (for this client's
    /// life) and the request sent once more without.
    async fn send_adaptive(
        &self,
        req: ChatRequest<'_>,
        stream: bool,
    ) -> Result<reqwest::Response, Error> {
        let body = self.body(req, stream);
        let asked_format = body.get("response_format").is_some();
        let asked_choice = body["tool_choice"] == json!("required");
        match self.send(&body).await {
            Err(Error::Status {
                status: 400,
                message,
                detail,
            }) if asked_format || asked_choice => {
                let said = message.as_deref().unwrap_or("").to_ascii_lowercase();
                let names_format = ["response_format", "json_schema", "schema", "grammar"]
                    .iter()
                    .any(|w| said.contains(w));
                let names_choice = said.contains("tool_choice");
                // When the server does not say which, both go.
                let drop_format = asked_format && (names_format || !names_choice);
                let drop_choice = asked_choice && (names_choice || !names_format);
                tracing::warn!(model = %self.provider.alias, response_format = drop_format, tool_choice = drop_choice, error = %message.as_deref().unwrap_or(&detail), "the server refused a request option; sending without it");
                if drop_format {
                    self.refused.response_format.store(true, Ordering::Relaxed);
                }
                if drop_choice {
                    self.refused.tool_choice.store(true, Ordering::Relaxed);
                }
                self.send(&self.body(req, stream)).await
            }
            other => other,
        }
    }

    /// Posts with retries; returns the first successful response (body unread).
    async fn send(&self, body: &Value) -> Result<reqwest::Response, Error> {
        let url = format!(
            "{}/chat/completions",
            self.provider.base_url.as_str().trim_end_matches('/')
        );
        let mut backoff = self.retry.first_backoff;
        let mut attempt = 1;
        loop {
            let mut request = self.http.post(&url).json(body);
            if let Some(key) = &self.provider.api_key {
                request = request.bearer_auth(key.expose());
            }
            let (err, retry_after) = match tokio::time::timeout(self.timeout, request.send()).await
            {
                Err(_) => return Err(self.timed_out()),
                Ok(Err(e)) => (
                    Error::Connect {
                        detail: e.without_url().to_string(),
                    },
                    None,
                ),
                Ok(Ok(res)) if res.status().is_success() => return Ok(res),
                Ok(Ok(res)) => {
                    let status = res.status().as_u16();
                    let retry_after = retry_after(res.headers());
                    let answer = res.text().await.unwrap_or_default();
                    let key = self.provider.api_key.as_ref().map(|k| k.expose());
                    let secrets: Vec<&str> = key.into_iter().collect();
                    let prompt: String = body
                        .get("messages")
                        .and_then(|m| m.as_array())
                        .into_iter()
                        .flatten()
                        .filter_map(|m| m.get("content").and_then(|c| c.as_str()))
                        .collect::<Vec<_>>()
                        .join("\n");
                    (
                        Error::from_status(status, &answer, &secrets, &prompt),
                        retry_after,
                    )
                }
            };
            if !err.retryable() || attempt >= self.retry.attempts {
                tracing::warn!(model = %self.provider.alias, attempt, error = ?err, "model call failed");
                return Err(err);
            }
            let wait = retry_after.unwrap_or(backoff).min(self.retry.max_wait);
            tracing::info!(model = %self.provider.alias, attempt, wait_ms = wait.as_millis() as u64, error = %err, "model call failed; retrying");
            tokio::time::sleep(wait).await;
            backoff = (backoff * 2).min(self.retry.max_wait);
            attempt += 1;
        }
    }

    fn timed_out(&self) -> Error {
        Error::Timeout {
            after: self.timeout,
        }
    }

    fn set_usage(&self, out: &mut Completion, req: ChatRequest<'_>, usage: Option<TokenUsage>) {
        match usage {
            Some(u) if u.total() > 0 => {
                out.usage = u;
                out.usage_reported = true;
            }
            _ => {
                let prompt: usize = req.messages.iter().map(Message::chars).sum();
                let completion = out.content.len()
                    + out.reasoning.len()
                    + out
                        .tool_calls
                        .iter()
                        .map(|c| c.name.len() + c.arguments.len())
                        .sum::<usize>();
                out.usage = TokenUsage {
                    prompt_tokens: estimate_tokens(prompt),
                    completion_tokens: estimate_tokens(completion),
                };
            }
        }
    }
}

/// Servers that omit call ids get positional ones, so tool results can refer to them.
fn number_calls(calls: &mut [ToolCall]) {
    for (i, c) in calls.iter_mut().enumerate() {
        if c.id.is_empty() {
            c.id = format!("call_{i}");
        }
    }
}

/// `Retry-After` as seconds or an HTTP date.
fn retry_after(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    let v = headers
        .get(reqwest::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim();
    if let Ok(secs) = v.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = chrono::DateTime::parse_from_rfc2822(v).ok()?;
    (at.with_timezone(&chrono::Utc) - chrono::Utc::now())
        .to_std()
        .ok()
}

#[derive(Deserialize)]
struct WireResponse {
    #[serde(default)]
    choices: Vec<WireChoice>,
    #[serde(default)]
    usage: Option<TokenUsage>,
}

#[derive(Deserialize)]
struct WireChoice {
    message: WireMessage,
    #[serde(default)]
    finish_reason: Option<String>,
}

#[derive(Deserialize)]
struct WireMessage {
    #[serde(default)]
    content: Option<String>,
    #[serde(default)]
    reasoning_content: Option<String>,
    /// Ollama and some routers name it `reasoning`.
    #[serde(default)]
    reasoning: Option<String>,
    #[serde(default)]
    tool_calls: Option<Vec<ToolCall>>,
}

impl WireMessage {
    fn reasoning(&self) -> Option<String> {
        self.reasoning_content
            .clone()
            .or_else(|| self.reasoning.clone())
            .filter(|r| !r.is_empty())
    }
}

#[derive(Deserialize)]
struct WireChunk {
    #[serde(default)]
    choices: Vec<WireChunkChoice>,
    #[serde(default)]
    usage: Option<TokenUsage>,
}

#[derive(Deserialize)]
struct WireChunkChoice {
    #[serde(default)]
    delta: WireDelta,
    #[serde(default)]
    finish_reason: Option<String>,
}

#[derive(Deserialize, Default)]
struct WireDelta {
    #[serde(default)]
    content: Option<String>,
    #[serde(default)]
    reasoning_content: Option<String>,
    #[serde(default)]
    reasoning: Option<String>,
    #[serde(default)]
    tool_calls: Vec<WireCallDelta>,
}

#[derive(Deserialize)]
struct WireCallDelta {
    #[serde(default)]
    index: Option<u32>,
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    function: Option<WireFunctionDelta>,
}

#[derive(Deserialize)]
struct WireFunctionDelta {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    arguments: Option<Value>,
}

/// Assembles a streamed completion.
#[derive(Default)]
struct Assembler {
    content: String,
    reasoning: String,
    /// Tool calls by their `index`: (id, name, arguments so far).
    calls: BTreeMap<u32, (String, String, String)>,
    usage: Option<TokenUsage>,
    finish_reason: Option<String>,
}

impl Assembler {
    fn apply(
        &mut self,
        data: &str,
        think: &mut ThinkFilter,
        on_delta: &mut (dyn FnMut(Delta) + Send),
    ) -> Result<(), Error> {
        let chunk: WireChunk =
            serde_json::from_str(data).map_err(|e| Error::Decode(format!("stream chunk: {e}")))?;
        if let Some(u) = chunk.usage {
            self.usage = Some(u);
        }
        for choice in chunk.choices {
            if choice.finish_reason.is_some() {
                self.finish_reason = choice.finish_reason;
            }
            let d = choice.delta;
            if let Some(r) = d
                .reasoning_content
                .or(d.reasoning)
                .filter(|r| !r.is_empty())
            {
                self.emit(String::new(), r, on_delta);
            }
            if let Some(c) = d.content {
                let (visible, thought) = think.push(&c);
                self.emit(visible, thought, on_delta);
            }
            for (pos, call) in d.tool_calls.into_iter().enumerate() {
                let index = call.index.unwrap_or(pos as u32);
                let entry = self.calls.entry(index).or_default();
                if let Some(id) = call.id.filter(|id| !id.is_empty()) {
                    entry.0 = id;
                }
                if let Some(f) = call.function {
                    if let Some(name) = f.name {
                        entry.1.push_str(&name);
                    }
                    if let Some(args) = f.arguments {
                        entry.2.push_str(&arguments_text(args));
                    }
                }
            }
        }
        Ok(())
    }

    fn emit(&mut self, visible: String, thought: String, on_delta: &mut (dyn FnMut(Delta) + Send)) {
        if !thought.is_empty() {
            self.reasoning.push_str(&thought);
            on_delta(Delta::Reasoning(thought));
        }
        if !visible.is_empty() {
            self.content.push_str(&visible);
            on_delta(Delta::Content(visible));
        }
    }
}
