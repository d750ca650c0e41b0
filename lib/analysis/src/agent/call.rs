//! The model call of one turn: its prompt fitted first, retried with a more compact
//! prompt when the server says the context was exceeded, streamed with progress.

use super::*;

impl Agent<'_> {
    /// One turn's model call, its prompt fitted in the context first; a "context
    /// exceeded" answer makes it compact further and retry. Returns the completion and
    /// the tools as offered (the names the model may call).
    pub(super) async fn fitted_call(
        &self,
        st: &mut State,
        turn: u32,
        must_answer: bool,
        deadline: Deadline,
    ) -> Result<(Completion, Vec<llm::ToolSpec>), Stop> {
        let native = self.native();
        let mut retries = 0;
        loop {
            let fits = self.fit(st, must_answer);
            let spent = st.usage.prompt_tokens + st.usage.completion_tokens;
            let offered: Vec<llm::ToolSpec> = if native && !must_answer {
                st.specs.clone()
            } else {
                Vec::new()
            };
            let raw = self.raw_size(st, &offered);
            if spent + (raw as f64 * st.scale) as u64 > self.limits.token_budget {
                return Err(Stop::Tokens {
                    budget: self.limits.token_budget,
                    spent,
                });
            }
            if !fits {
                tracing::info!(window = ?st.window, "the prompt may not fit the context even compacted; sending it");
            }
            let schema = if must_answer {
                Some(validate::answer_schema(&Self::ok_steps(st)))
            } else if !native && turn == 1 && !st.specs.is_empty() {
                Some(text_protocol::action_schema(&st.specs))
            } else {
                None
            };
            let tool_choice = if native && turn == 1 && !offered.is_empty() {
                ToolChoice::Required
            } else {
                ToolChoice::Auto
            };
            let req = ChatRequest {
                messages: &st.messages,
                tools: &offered,
                tool_choice,
                response_schema: schema.as_ref(),
                max_tokens: self.limits.max_tokens,
            };
            match self.call_model(&mut st.usage, turn, req, deadline).await {
                Ok(c) => {
                    if c.usage_reported && raw > 0 {
                        st.scale = (c.usage.prompt_tokens as f64 / raw as f64).clamp(0.5, 4.0);
                    }
                    let specs = if native { offered } else { st.specs.clone() };
                    return Ok((c, specs));
                }
                Err(Failure::Stop(stop)) => return Err(stop),
                Err(Failure::Context {
                    message,
                    prompt_tokens,
                    context_tokens,
                }) => {
                    retries += 1;
                    let before = (st.level, self.raw_size(st, &offered));
                    if let Some(n) = context_tokens {
                        st.window = Some(st.window.map_or(n, |w| w.min(n)));
                    }
                    st.scale = match prompt_tokens {
                        Some(n) if raw > 0 => (n as f64 / raw as f64 * 1.1).max(st.scale * 1.1),
                        _ => st.scale * 1.3,
                    }
                    .min(8.0);
                    if st.window.is_none() {
                        // The server did not say its size: assume what it refused was
                        // too large by a third.
                        st.window = Some((raw as f64 * st.scale * 0.66) as u64);
                    }
                    self.fit(st, must_answer);
                    let after = (st.level, self.raw_size(st, &offered));
                    tracing::warn!(model = %self.client.provider().alias, retries, window = ?st.window, level = st.level, %message, "the prompt exceeded the model's context; compacted, retrying");
                    self.progress.emit(ProgressEvent::Error {
                        message: format!("the prompt exceeded the model's context ({message}); compacting and retrying"),
                    });
                    if retries > CONTEXT_RETRIES || (before == after && st.level + 1 >= LEVELS) {
                        return Err(Stop::Context(message));
                    }
                }
            }
        }
    }

    /// One model call, streamed when someone watches.
    pub(super) async fn call_model(
        &self,
        usage: &mut Usage,
        turn: u32,
        req: ChatRequest<'_>,
        deadline: Deadline,
    ) -> Result<Completion, Failure> {
        let alias = self.client.provider().alias.clone();
        self.progress.emit(ProgressEvent::LlmStart {
            turn,
            model: alias.clone(),
        });
        let call = async {
            if self.progress.is_watched() {
                let progress = self.progress.clone();
                let mut on_delta = move |d: Delta| match d {
                    Delta::Content(token) => progress.emit(ProgressEvent::LlmToken { token }),
                    Delta::Reasoning(text) => progress.emit(ProgressEvent::AgentThought { text }),
                };
                self.client.stream(req, &mut on_delta).await
            } else {
                self.client.complete(req).await
            }
        };
        let completion = match tokio::time::timeout_at(deadline, call).await {
            Err(_) => return Err(Failure::Stop(Stop::WallClock)),
            Ok(Err(llm::Error::ContextExceeded {
                message,
                prompt_tokens,
                context_tokens,
            })) => {
                return Err(Failure::Context {
                    message,
                    prompt_tokens,
                    context_tokens,
                });
            }
            Ok(Err(e)) => {
                tracing::warn!(model = %alias, error = ?e, "model call failed");
                return Err(Failure::Stop(Stop::Model {
                    alias,
                    error: e.to_string(),
                }));
            }
            Ok(Ok(c)) => c,
        };
        usage.prompt_tokens += completion.usage.prompt_tokens;
        usage.completion_tokens += completion.usage.completion_tokens;
        self.progress.emit(ProgressEvent::LlmEnd {
            turn,
            prompt_tokens: completion.usage.prompt_tokens,
            completion_tokens: completion.usage.completion_tokens,
        });
        Ok(completion)
    }
}

/// Why a model call gave no completion.
pub(super) enum Failure {
    /// The prompt was too large for the model's context.
    Context {
        message: String,
        prompt_tokens: Option<u64>,
        context_tokens: Option<u64>,
    },
    /// Anything else: the analysis falls back.
    Stop(Stop),
}
