//! The tool-calling loop: bounded by steps, wall clock and tokens; tool outputs
//! redacted and compacted before the model sees them; repeated calls refused;
//! independent calls run in parallel; the final answer validated with one repair.

use std::collections::HashMap;
use std::time::Instant;

use serde_json::Value;
use tokio::time::Instant as Deadline;

use super::progress::{Progress, ProgressEvent};
use super::redact::Redactor;
use super::toolset::ToolSet;
use super::validate::{self, Answer, Calls};
use super::{Step, Usage, prompt};
use aegis_llm::{self as llm, ChatRequest, Completion, Delta, Message, Role, text_protocol};

/// The agent's bounds.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Most model turns.
    pub max_steps: usize,
    /// Most prompt + completion tokens over the whole analysis.
    pub token_budget: u64,
    /// Estimated prompt size above which older tool outputs are compacted.
    pub context_tokens: u64,
    /// Whether to compact at all (benchmarks compare).
    pub compaction: bool,
    /// Longest tool output the model sees, in characters.
    pub max_observation_chars: usize,
}

impl Limits {
    /// The bounds from the analysis configuration.
    pub fn from_config(config: &super::Config) -> Self {
        Self {
            max_steps: config.max_steps.max(1),
            token_budget: config.token_budget,
            context_tokens: (config.token_budget / 5).clamp(2_000, 32_000),
            compaction: true,
            max_observation_chars: 6_000,
        }
    }
}

/// What the agent produced: an answer, or why there is none; always the calls made
/// and what was spent.
#[derive(Debug)]
pub struct Outcome {
    /// The validated answer, or the reason the analysis must fall back.
    pub answer: Result<Answer, String>,
    /// The tool calls made.
    pub steps: Vec<Step>,
    /// Whether each step succeeded.
    pub ok: Vec<bool>,
    /// Tokens and tool calls spent.
    pub usage: Usage,
}

/// One analysis's agent.
pub struct Agent<'a> {
    /// The model.
    pub client: &'a llm::Client,
    /// The tools.
    pub tools: &'a dyn ToolSet,
    /// Applied to every tool output.
    pub redactor: &'a Redactor,
    /// Bounds.
    pub limits: Limits,
    /// Where progress goes.
    pub progress: &'a Progress,
}

struct State {
    messages: Vec<Message>,
    steps: Vec<Step>,
    ok: Vec<bool>,
    seen: HashMap<String, u32>,
    usage: Usage,
    repaired: bool,
}

/// A call that passed the checks and will run.
struct Planned {
    step: u32,
    name: String,
    args: Value,
}

impl Agent<'_> {
    /// Runs the loop on the case until a valid answer, a bound, or a failure.
    pub async fn run(&self, case: String, deadline: Deadline) -> Outcome {
        let native = self.client.provider().native_tools;
        let specs = self.tools.specs();
        let tools_section = if native {
            String::new()
        } else {
            format!("\n{}", text_protocol::instructions(&specs))
        };
        let mut st = State {
            messages: vec![
                Message::system(prompt::system(&tools_section)),
                Message::user(case),
            ],
            steps: Vec::new(),
            ok: Vec::new(),
            seen: HashMap::new(),
            usage: Usage::default(),
            repaired: false,
        };
        let answer = self.turns(&mut st, native, &specs, deadline).await;
        if let Err(reason) = &answer {
            self.progress.emit(ProgressEvent::Error {
                message: format!("agent stopped: {reason}"),
            });
        }
        Outcome {
            answer,
            steps: st.steps,
            ok: st.ok,
            usage: st.usage,
        }
    }

    async fn turns(
        &self,
        st: &mut State,
        native: bool,
        specs: &[llm::ToolSpec],
        deadline: Deadline,
    ) -> Result<Answer, String> {
        let offered: &[llm::ToolSpec] = if native { specs } else { &[] };
        for turn in 1..=self.limits.max_steps as u32 {
            if Deadline::now() >= deadline {
                return Err("the wall-clock budget is spent".into());
            }
            if self.limits.compaction {
                compact(&mut st.messages, self.limits.context_tokens);
            }
            let spent = st.usage.prompt_tokens + st.usage.completion_tokens;
            let next_prompt = llm::estimate_tokens(st.messages.iter().map(Message::chars).sum());
            if spent + next_prompt > self.limits.token_budget {
                return Err(format!(
                    "the token budget of {} is spent ({spent} used)",
                    self.limits.token_budget
                ));
            }
            let completion = self.call_model(st, turn, offered, deadline).await?;
            if native && !completion.tool_calls.is_empty() {
                let calls = completion.tool_calls.clone();
                st.messages.push(Message::assistant_calls(
                    Some(completion.content.clone()),
                    calls.clone(),
                ));
                let mut replies = Vec::new();
                let mut planned = Vec::new();
                for call in &calls {
                    let args = parse_arguments(&call.arguments);
                    match self.plan(st, &call.name, args, specs, &completion.content) {
                        Ok(p) => {
                            replies.push((call.id.clone(), None));
                            planned.push(p);
                        }
                        Err(message) => replies.push((call.id.clone(), Some(message))),
                    }
                }
                let mut results = self.execute(st, planned, deadline).await?.into_iter();
                for (id, refused) in replies {
                    let text = match refused {
                        Some(message) => message,
                        None => results.next().unwrap_or_default(),
                    };
                    st.messages.push(Message::tool_result(id, text));
                }
                continue;
            }
            let answer = if native {
                match text_protocol::extract_json(&completion.content) {
                    Some(v) => self.finish(st, v, &completion.content)?,
                    None => self.invalid_final(
                        st,
                        &completion.content,
                        vec!["the answer contains no JSON object".into()],
                    )?,
                }
            } else {
                match text_protocol::parse(&completion.content) {
                    Ok(text_protocol::Action::Final(v)) => {
                        self.finish(st, v, &completion.content)?
                    }
                    Ok(text_protocol::Action::Tool { name, input }) => {
                        st.messages
                            .push(Message::assistant(completion.content.clone()));
                        let text = match self.plan(st, &name, Ok(input), specs, &completion.content)
                        {
                            Ok(p) => self
                                .execute(st, vec![p], deadline)
                                .await?
                                .pop()
                                .unwrap_or_default(),
                            Err(message) => message,
                        };
                        st.messages
                            .push(Message::user(format!("Observation: {text}")));
                        None
                    }
                    Err(problem) => {
                        st.messages
                            .push(Message::assistant(completion.content.clone()));
                        st.messages
                            .push(Message::user(text_protocol::correction(&problem)));
                        None
                    }
                }
            };
            if let Some(answer) = answer {
                return Ok(answer);
            }
        }
        Err(format!(
            "the step limit of {} is reached",
            self.limits.max_steps
        ))
    }

    /// One model call, streamed when someone watches.
    async fn call_model(
        &self,
        st: &mut State,
        turn: u32,
        tools: &[llm::ToolSpec],
        deadline: Deadline,
    ) -> Result<Completion, String> {
        let alias = self.client.provider().alias.clone();
        self.progress.emit(ProgressEvent::LlmStart {
            turn,
            model: alias.clone(),
        });
        let req = ChatRequest {
            messages: &st.messages,
            tools,
        };
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
            Err(_) => return Err("the wall-clock budget is spent".into()),
            Ok(Err(e)) => {
                tracing::warn!(model = %alias, error = ?e, "model call failed");
                return Err(format!("model {alias} failed: {e}"));
            }
            Ok(Ok(c)) => c,
        };
        st.usage.prompt_tokens += completion.usage.prompt_tokens;
        st.usage.completion_tokens += completion.usage.completion_tokens;
        self.progress.emit(ProgressEvent::LlmEnd {
            turn,
            prompt_tokens: completion.usage.prompt_tokens,
            completion_tokens: completion.usage.completion_tokens,
        });
        Ok(completion)
    }

    /// Checks a requested call; `Err` is the message the model gets instead of a
    /// result (unknown tool, bad arguments, a repeat).
    fn plan(
        &self,
        st: &mut State,
        name: &str,
        args: Result<Value, String>,
        specs: &[llm::ToolSpec],
        log: &str,
    ) -> Result<Planned, String> {
        if !specs.iter().any(|s| s.name == name) {
            let known: Vec<_> = specs.iter().map(|s| s.name.as_str()).collect();
            return Err(format!(
                "Error: there is no tool named {name:?}. Available tools: {}.",
                known.join(", ")
            ));
        }
        let args = args.map_err(|e| {
            format!(
                "Error: the arguments of {name} are not a valid JSON object ({e}). Call it again \
                 with arguments matching its schema."
            )
        })?;
        // serde_json's map is ordered, so equal arguments serialise equally.
        let key = format!("{name}\u{0}{args}");
        if let Some(step) = st.seen.get(&key) {
            return Err(format!(
                "Refused: {name} was already called with these exact arguments (step {step}); \
                 its result is above. Use it, or call with different arguments."
            ));
        }
        let step = st.steps.len() as u32 + 1;
        st.seen.insert(key, step);
        st.steps.push(Step {
            index: step,
            tool: name.to_string(),
            tool_input: args.clone(),
            observation: String::new(),
            log: log.trim().to_string(),
        });
        st.ok.push(false);
        self.progress.emit(ProgressEvent::AgentAction {
            step,
            tool: name.to_string(),
            tool_input: args.clone(),
        });
        Ok(Planned {
            step,
            name: name.to_string(),
            args,
        })
    }

    /// Runs planned calls in parallel; returns the model's view of each result, in
    /// order.
    async fn execute(
        &self,
        st: &mut State,
        planned: Vec<Planned>,
        deadline: Deadline,
    ) -> Result<Vec<String>, String> {
        let runs = planned.iter().map(|p| async move {
            self.progress.emit(ProgressEvent::ToolStart {
                step: p.step,
                tool: p.name.clone(),
            });
            let started = Instant::now();
            let result = self.tools.call(&p.name, p.args.clone()).await;
            let duration_ms = started.elapsed().as_millis() as u64;
            self.progress.emit(ProgressEvent::ToolEnd {
                step: p.step,
                tool: p.name.clone(),
                duration_ms,
                ok: result.is_ok(),
            });
            result
        });
        let results = tokio::time::timeout_at(deadline, futures::future::join_all(runs))
            .await
            .map_err(|_| "the wall-clock budget is spent".to_string())?;
        let mut out = Vec::new();
        for (p, result) in planned.iter().zip(results) {
            let ok = result.is_ok();
            let raw = match result {
                Ok(text) if text.trim().is_empty() => "(no data)".to_string(),
                Ok(text) => text,
                Err(e) => format!("error: {e}"),
            };
            let observation = truncate(
                &self.redactor.redact(&raw),
                self.limits.max_observation_chars,
            );
            let idx = p.step as usize - 1;
            st.steps[idx].observation = observation.clone();
            st.ok[idx] = ok;
            st.usage.tool_calls += 1;
            self.progress.emit(ProgressEvent::AgentObservation {
                step: p.step,
                observation: observation.clone(),
            });
            out.push(format!("[step {}] {observation}", p.step));
        }
        Ok(out)
    }

    /// Validates a final answer: `Some` when valid, `None` when a repair was asked.
    fn finish(&self, st: &mut State, value: Value, text: &str) -> Result<Option<Answer>, String> {
        let value = match value {
            Value::Object(mut m) if m.contains_key("final_answer") => {
                m.remove("final_answer").unwrap_or_default()
            }
            other => other,
        };
        let calls = Calls {
            steps: &st.steps,
            ok: &st.ok,
        };
        match validate::validate(value, &calls) {
            Ok(answer) => Ok(Some(answer)),
            Err(problems) => self.invalid_final(st, text, problems),
        }
    }

    fn invalid_final(
        &self,
        st: &mut State,
        text: &str,
        problems: Vec<String>,
    ) -> Result<Option<Answer>, String> {
        if st.repaired {
            return Err(format!(
                "the final answer is still invalid after one repair: {}",
                problems.join("; ")
            ));
        }
        st.repaired = true;
        self.progress.emit(ProgressEvent::Error {
            message: format!(
                "invalid final answer, asking for a repair: {}",
                problems.join("; ")
            ),
        });
        st.messages.push(Message::assistant(text.to_string()));
        st.messages.push(Message::user(prompt::repair(&problems)));
        Ok(None)
    }
}

/// A call's arguments: a JSON object; empty text means no arguments.
fn parse_arguments(raw: &str) -> Result<Value, String> {
    if raw.trim().is_empty() {
        return Ok(Value::Object(Default::default()));
    }
    match serde_json::from_str::<Value>(raw) {
        Ok(v @ Value::Object(_)) => Ok(v),
        Ok(_) => Err("expected a JSON object".into()),
        Err(e) => Err(e.to_string()),
    }
}

fn truncate(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_string();
    }
    let mut cut = max;
    while !text.is_char_boundary(cut) {
        cut -= 1;
    }
    format!(
        "{}\n... (truncated: {} more characters; narrow the query to see them)",
        &text[..cut],
        text.len() - cut
    )
}

/// Replaces older tool outputs with a one-line stub until the estimated prompt fits
/// `context_tokens` (the latest turn's outputs are kept whole).
fn compact(messages: &mut [Message], context_tokens: u64) {
    let size = |m: &[Message]| llm::estimate_tokens(m.iter().map(Message::chars).sum());
    if size(messages) <= context_tokens {
        return;
    }
    // Outputs after the last assistant message belong to the latest turn.
    let last_assistant = messages
        .iter()
        .rposition(|m| m.role == Role::Assistant)
        .unwrap_or(0);
    for i in 0..last_assistant {
        if size(messages) <= context_tokens * 6 / 10 {
            break;
        }
        let m = &mut messages[i];
        let is_output = m.role == Role::Tool
            || (m.role == Role::User
                && m.content
                    .as_deref()
                    .is_some_and(|c| c.starts_with("Observation: ")));
        let Some(content) = m.content.as_mut() else {
            continue;
        };
        if !is_output || content.contains("(compacted:") || content.len() < 400 {
            continue;
        }
        let head: String = content.chars().take(200).collect();
        let stub = format!(
            "{head} ... (compacted: {} characters dropped to save context)",
            content.len().saturating_sub(head.len())
        );
        *content = stub;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compaction_keeps_latest_outputs_and_prefixes() {
        let big = "x".repeat(8_000);
        let mut messages = vec![
            Message::system("s"),
            Message::user("q"),
            Message::assistant_calls(None, vec![]),
            Message::tool_result("a", format!("[step 1] {big}")),
            Message::assistant_calls(None, vec![]),
            Message::tool_result("b", format!("[step 2] {big}")),
        ];
        compact(&mut messages, 2_000);
        let first = messages[3].content.as_deref().unwrap();
        assert!(
            first.starts_with("[step 1] ") && first.contains("(compacted:"),
            "{first}"
        );
        assert!(messages[5].content.as_deref().unwrap().len() > 8_000);
    }

    #[test]
    fn arguments() {
        assert!(parse_arguments("").unwrap().is_object());
        assert!(parse_arguments("{\"a\":").is_err());
        assert!(parse_arguments("[1]").is_err());
    }
}
