/// Why a model call failed. `Display` never carries the API key, the URL's secrets or
/// the prompt; it carries the server's own error message (its `error.message`, secrets
/// masked, cut to 200 characters) so a degraded report says why. `detail` fields are for
/// the log only (Debug).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// No answer within the call's timeout.
    #[error("model call timed out after {}s", .after.as_secs())]
    Timeout {
        /// The timeout.
        after: std::time::Duration,
    },
    /// The endpoint could not be reached.
    #[error("model endpoint unreachable")]
    Connect {
        /// The transport error, for the log.
        detail: String,
    },
    /// The prompt does not fit the model's context (llama.cpp
    /// `exceed_context_size_error`, OpenAI/vLLM `context_length_exceeded` or "maximum
    /// context length"): the caller must shorten the conversation, a retry as is fails.
    #[error("the prompt exceeds the model's context: {message}")]
    ContextExceeded {
        /// The server's message.
        message: String,
        /// The prompt's size in tokens, when the server says it.
        prompt_tokens: Option<u64>,
        /// The context size in tokens, when the server says it.
        context_tokens: Option<u64>,
    },
    /// The endpoint answered an error status (after the retries for 429 and 5xx).
    #[error("model endpoint answered HTTP {status}{}", message_suffix(.message))]
    Status {
        /// The status.
        status: u16,
        /// The server's error message (`error.message`, or a short plain-text body).
        message: Option<String>,
        /// The start of the body, for the log.
        detail: String,
    },
    /// The answer did not have the OpenAI chat-completions shape.
    #[error("model answer could not be read: {0}")]
    Decode(String),
}

fn message_suffix(message: &Option<String>) -> String {
    message
        .as_deref()
        .map(|m| format!(": {m}"))
        .unwrap_or_default()
}

impl Error {
    /// Whether another attempt may succeed.
    pub(crate) fn retryable(&self) -> bool {
        match self {
            Self::Connect { .. } => true,
            Self::Status { status, .. } => *status == 429 || *status >= 500,
            Self::Timeout { .. } | Self::Decode(_) | Self::ContextExceeded { .. } => false,
        }
    }

    /// Reads an error answer: the server's message (secrets in `secrets` masked, and
    /// withheld when it quotes `prompt`, the request's message texts, as validation
    /// errors that echo their input do) and whether it says the context is exceeded.
    pub(crate) fn from_status(status: u16, body: &str, secrets: &[&str], prompt: &str) -> Self {
        let mask = |s: &str| {
            let masked = secrets
                .iter()
                .filter(|k| !k.is_empty())
                .fold(s.to_string(), |acc, k| acc.replace(k, "***"));
            if quotes(&masked, prompt) {
                "(the server's message quotes the prompt; withheld)".to_string()
            } else {
                masked
            }
        };
        let parsed: Option<serde_json::Value> = serde_json::from_str(body).ok();
        let error = parsed.as_ref().map(|v| match v.get("error") {
            Some(e) => e.clone(),
            None => v.clone(),
        });
        let raw_message = match &error {
            Some(serde_json::Value::String(s)) => Some(s.clone()),
            Some(e) => e
                .get("message")
                .or_else(|| e.get("detail"))
                .and_then(|m| m.as_str())
                .map(str::to_string),
            // A plain-text body is a message only when short and on one line: an HTML
            // error page is not.
            None => Some(body.trim().to_string()).filter(|b| {
                !b.is_empty() && b.len() <= 300 && !b.contains('<') && !b.contains('\n')
            }),
        };
        let message = raw_message.map(|m| cut(&mask(m.trim()), 200));
        let detail = cut(&mask(body), 300);
        let kind = |key: &str| {
            error
                .as_ref()
                .and_then(|e| e.get(key))
                .and_then(|v| v.as_str())
                .unwrap_or("")
                .to_ascii_lowercase()
        };
        let lower = message.as_deref().unwrap_or("").to_ascii_lowercase();
        let exceeded = kind("type") == "exceed_context_size_error"
            || kind("code") == "context_length_exceeded"
            || lower.contains("context length")
            || lower.contains("context size")
            || lower.contains("context window")
            || lower.contains("maximum context");
        if (status == 400 || status == 413) && exceeded {
            let number = |key: &str| {
                error
                    .as_ref()
                    .and_then(|e| e.get(key))
                    .and_then(|v| v.as_u64())
            };
            let (said_prompt, said_ctx) = numbers_in(&lower);
            return Self::ContextExceeded {
                message: message.unwrap_or_else(|| "context exceeded".into()),
                prompt_tokens: number("n_prompt_tokens").or(said_prompt),
                context_tokens: number("n_ctx").or(said_ctx),
            };
        }
        Self::Status {
            status,
            message,
            detail,
        }
    }
}

/// Whether `text` contains 24 consecutive characters of `prompt`.
fn quotes(text: &str, prompt: &str) -> bool {
    const RUN: usize = 24;
    let chars: Vec<char> = text.chars().collect();
    if prompt.is_empty() || chars.len() < RUN {
        return false;
    }
    chars.windows(RUN).any(|w| {
        let piece: String = w.iter().collect();
        prompt.contains(&piece)
    })
}

/// vLLM and OpenAI say "maximum context length is 4096 tokens. However, you requested
/// 5031 tokens": (prompt, context) from such a sentence.
fn numbers_in(message: &str) -> (Option<u64>, Option<u64>) {
    let after = |marker: &str| {
        let at = message.find(marker)? + marker.len();
        let digits: String = message[at..]
            .trim_start()
            .chars()
            .take_while(|c| c.is_ascii_digit())
            .collect();
        digits.parse().ok()
    };
    let ctx = after("context length is").or_else(|| after("context length of"));
    let prompt = after("you requested").or_else(|| after("messages resulted in"));
    (prompt, ctx)
}

fn cut(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    let head: String = text.chars().take(max).collect();
    format!("{head}…")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn llama_cpp_context_error_is_read_with_its_numbers() {
        let body = r#"{"error":{"code":400,"message":"request (5031 tokens) exceeds the available context size (4096 tokens), try increasing it","type":"exceed_context_size_error","n_prompt_tokens":5031,"n_ctx":4096}}"#;
        match Error::from_status(400, body, &[], "") {
            Error::ContextExceeded {
                message,
                prompt_tokens,
                context_tokens,
            } => {
                assert!(
                    message.starts_with("request (5031 tokens) exceeds"),
                    "{message}"
                );
                assert_eq!((prompt_tokens, context_tokens), (Some(5031), Some(4096)));
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn vllm_context_error_is_read_from_its_sentence() {
        let body = r#"{"object":"error","message":"This model's maximum context length is 4096 tokens. However, you requested 5100 tokens (5000 in the messages, 100 in the completion).","type":"BadRequestError","code":400}"#;
        match Error::from_status(400, body, &[], "") {
            Error::ContextExceeded {
                prompt_tokens,
                context_tokens,
                ..
            } => assert_eq!((prompt_tokens, context_tokens), (Some(5100), Some(4096))),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn server_message_is_shown_with_secrets_masked() {
        let body = r#"{"error":{"message":"invalid api key sk-secret-123","type":"invalid_request_error"}}"#;
        let e = Error::from_status(401, body, &["sk-secret-123"], "");
        let text = e.to_string();
        assert_eq!(
            text,
            "model endpoint answered HTTP 401: invalid api key ***"
        );
        assert!(!format!("{e:?}").contains("sk-secret-123"));
    }

    #[test]
    fn a_message_quoting_the_prompt_is_withheld() {
        let prompt = "Question: why does checkout return 5xx since 10:04 today?";
        let body = format!(
            r#"{{"error":{{"message":"1 validation error: input {{'role': 'user', 'content': '{prompt}'}}"}}}}"#
        );
        let e = Error::from_status(400, &body, &[], prompt);
        assert!(!e.to_string().contains("checkout"), "{e}");
        assert!(!format!("{e:?}").contains("checkout"), "{e:?}");
        assert!(e.to_string().contains("withheld"), "{e}");
    }

    #[test]
    fn an_html_page_is_not_a_message() {
        let e = Error::from_status(502, "<html><body>Bad gateway</body></html>", &[], "");
        assert_eq!(e.to_string(), "model endpoint answered HTTP 502");
        let e = Error::from_status(500, "fake model: script exhausted", &[], "");
        assert_eq!(
            e.to_string(),
            "model endpoint answered HTTP 500: fake model: script exhausted"
        );
    }
}
