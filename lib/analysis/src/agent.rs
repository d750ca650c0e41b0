//! The tool-calling loop: bounded by steps, wall clock and tokens; every prompt fitted
//! in the model's context (older tool outputs compacted, then the case and the tool
//! list shortened), and a "context exceeded" answer met by compacting and retrying;
//! tool outputs redacted and compacted before the model sees them; repeated calls
//! refused; independent calls run in parallel; the first turn must call a tool and the
//! last must answer, the final answer requested against its JSON schema where the
//! server supports it, validated with one repair.

use std::collections::HashMap;
use std::time::Instant;

use serde_json::Value;
use tokio::time::Instant as Deadline;

use super::progress::{Progress, ProgressEvent};
use super::redact::Redactor;
use super::toolset::ToolSet;
use super::validate::{self, Answer, Calls};
use super::{Step, Usage, prompt};
use aegis_llm::{
    self as llm, ChatRequest, Completion, Delta, Message, Role, ToolChoice, text_protocol,
};

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
    /// The model's context in tokens, when known: every prompt plus `max_tokens` must
    /// fit in it.
    pub context_window: Option<u64>,
    /// `max_tokens` of each call; `None`: not sent, and a quarter of the context (at
    /// most 2,048) kept free for the answer.
    pub max_tokens: Option<u32>,
}

/// How many times one turn is retried after a "context exceeded" answer.
const CONTEXT_RETRIES: u32 = 4;

/// The levels of the first prompt, from whole to most compact (see [`Agent::fit`]).
const LEVELS: usize = 4;

impl Limits {
    /// The bounds from the analysis configuration.
    pub fn from_config(config: &super::Config) -> Self {
        Self {
            max_steps: config.max_steps.max(1),
            token_budget: config.token_budget,
            context_tokens: (config.token_budget / 5).clamp(2_000, 32_000),
            compaction: true,
            max_observation_chars: 6_000,
            context_window: None,
            max_tokens: None,
        }
    }

    /// Tokens kept free for the answer in a context of `window`.
    fn reserve(&self, window: u64) -> u64 {
        self.max_tokens
            .map(u64::from)
            .unwrap_or((window / 4).min(2_048))
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
    /// A repair was asked: the next turn must answer.
    repair_pending: bool,
    /// The case, from whole to most compact.
    cases: Vec<String>,
    /// How compact the first prompt is (0: whole).
    level: usize,
    /// The tools as offered at `level`.
    specs: Vec<llm::ToolSpec>,
    /// The context in tokens as last known (the server's error may correct it).
    window: Option<u64>,
    /// Server tokens per estimated token (characters / 4), learnt from the usage the
    /// server reports and from its "context exceeded" numbers; starts cautious.
    scale: f64,
}

/// A call that passed the checks and will run.
struct Planned {
    step: u32,
    name: String,
    args: Value,
}

impl Agent<'_> {
    /// Runs the loop on the case until a valid answer, a bound, or a failure. `cases`
    /// is the case from whole to most compact (the first that fits the context is
    /// sent); it must not be empty.
    pub async fn run(&self, cases: Vec<String>, deadline: Deadline) -> Outcome {
        let mut st = State {
            messages: Vec::new(),
            steps: Vec::new(),
            ok: Vec::new(),
            seen: HashMap::new(),
            usage: Usage::default(),
            repaired: false,
            repair_pending: false,
            cases,
            level: 0,
            specs: Vec::new(),
            window: self.limits.context_window,
            scale: 1.25,
        };
        self.first_prompt(&mut st);
        let answer = self.turns(&mut st, deadline).await;
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

    fn native(&self) -> bool {
        self.client.provider().native_tools
    }

    /// Writes the system prompt and the case at the state's level: 0 whole; 1 tool
    /// descriptions cut to their first sentence and the case's next version; 2 and 3
    /// tools without parameter descriptions and the most compact case.
    fn first_prompt(&self, st: &mut State) {
        let specs = compact_specs(self.tools.specs(), st.level);
        let tools_section = if self.native() {
            String::new()
        } else {
            format!("\n{}", text_protocol::instructions(&specs))
        };
        let case = st
            .cases
            .get(st.level.min(st.cases.len().saturating_sub(1)))
            .cloned()
            .unwrap_or_default();
        let system = Message::system(prompt::system(&tools_section));
        let user = Message::user(case);
        if st.messages.len() >= 2 {
            st.messages[0] = system;
            st.messages[1] = user;
        } else {
            st.messages = vec![system, user];
        }
        st.specs = specs;
    }

    /// The prompt's size in estimated tokens (characters / 4): the messages and, with
    /// native tools, their schemas, which travel in the request too.
    fn raw_size(&self, st: &State, offered: &[llm::ToolSpec]) -> u64 {
        let tools: usize = offered.iter().map(|t| t.wire().to_string().len()).sum();
        llm::estimate_tokens(st.messages.iter().map(Message::chars).sum::<usize>() + tools)
    }

    /// Fits the prompt in the context: older tool outputs compacted first, then the
    /// first prompt made more compact, level by level. Returns whether it fits.
    fn fit(&self, st: &mut State, offered_final: bool) -> bool {
        let Some(window) = st.window else {
            if self.limits.compaction {
                compact(&mut st.messages, self.limits.context_tokens);
            }
            return true;
        };
        let budget = window.saturating_sub(self.limits.reserve(window));
        loop {
            let target = (budget as f64 / st.scale) as u64;
            let target = if self.limits.compaction {
                target.min(self.limits.context_tokens)
            } else {
                target
            };
            compact(&mut st.messages, target);
            let offered = if offered_final || !self.native() {
                &[][..]
            } else {
                &st.specs[..]
            };
            if self.raw_size(st, offered) <= target {
                return true;
            }
            if st.level + 1 >= LEVELS {
                return false;
            }
            st.level += 1;
            tracing::info!(
                level = st.level,
                window,
                "prompt too large for the model's context; compacting the case and the tool list"
            );
            self.first_prompt(st);
        }
    }

    /// The successful steps, which a final answer may cite.
    fn ok_steps(st: &State) -> Vec<u32> {
        st.steps
            .iter()
            .zip(&st.ok)
            .filter(|(_, ok)| **ok)
            .map(|(s, _)| s.index)
            .collect()
    }

    async fn turns(&self, st: &mut State, deadline: Deadline) -> Result<Answer, String> {
        let native = self.native();
        for turn in 1..=self.limits.max_steps as u32 {
            if Deadline::now() >= deadline {
                return Err("the wall-clock budget is spent".into());
            }
            // The last turn, a turn after a repair request and a turn without tools
            // must answer: no tools are offered and the answer's schema is asked for.
            let must_answer = turn as usize == self.limits.max_steps
                || st.repair_pending
                || self.tools.specs().is_empty();
            st.repair_pending = false;
            let (completion, specs) = self.fitted_call(st, turn, must_answer, deadline).await?;
            let specs = &specs[..];
            if native && !must_answer && !completion.tool_calls.is_empty() {
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
            let answer = if native || must_answer {
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

    /// One turn's model call, its prompt fitted in the context first; a "context
    /// exceeded" answer makes it compact further and retry. Returns the completion and
    /// the tools as offered (the names the model may call).
    async fn fitted_call(
        &self,
        st: &mut State,
        turn: u32,
        must_answer: bool,
        deadline: Deadline,
    ) -> Result<(Completion, Vec<llm::ToolSpec>), String> {
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
                return Err(format!(
                    "the token budget of {} is spent ({spent} used)",
                    self.limits.token_budget
                ));
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
                Err(Failure::Other(reason)) => return Err(reason),
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
                        return Err(format!(
                            "the prompt does not fit the model's context even compacted: {message}"
                        ));
                    }
                }
            }
        }
    }

    /// One model call, streamed when someone watches.
    async fn call_model(
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
            Err(_) => return Err(Failure::Other("the wall-clock budget is spent".into())),
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
                return Err(Failure::Other(format!("model {alias} failed: {e}")));
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
        st.repair_pending = true;
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

/// Why a model call gave no completion.
enum Failure {
    /// The prompt was too large for the model's context.
    Context {
        message: String,
        prompt_tokens: Option<u64>,
        context_tokens: Option<u64>,
    },
    /// Anything else: the analysis falls back.
    Other(String),
}

/// The tools as offered at a prompt `level`: whole at 0; from 1 each description cut
/// to its first sentence (at most 160 characters); from 2 the parameters' own
/// descriptions dropped too (names, types and required stay).
fn compact_specs(mut specs: Vec<llm::ToolSpec>, level: usize) -> Vec<llm::ToolSpec> {
    if level == 0 {
        return specs;
    }
    for spec in &mut specs {
        let first = spec
            .description
            .split_inclusive(". ")
            .next()
            .unwrap_or("")
            .trim()
            .to_string();
        spec.description = first.chars().take(160).collect();
        if level >= 2 {
            strip_descriptions(&mut spec.parameters);
        }
    }
    specs
}

fn strip_descriptions(schema: &mut Value) {
    match schema {
        Value::Object(map) => {
            map.remove("description");
            map.remove("examples");
            for v in map.values_mut() {
                strip_descriptions(v);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(strip_descriptions),
        _ => {}
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
    fn compact_specs_shorten_descriptions_then_drop_parameter_descriptions() {
        let spec = llm::ToolSpec {
            name: "prometheus_range".into(),
            description: "Runs a PromQL range query. Use it for trends. It returns series.".into(),
            parameters: serde_json::json!({"type": "object", "properties": {
                "query": {"type": "string", "description": "PromQL"}}, "required": ["query"]}),
        };
        let whole = compact_specs(vec![spec.clone()], 0);
        assert_eq!(whole[0], spec);
        let short = compact_specs(vec![spec.clone()], 1);
        assert_eq!(short[0].description, "Runs a PromQL range query.");
        assert_eq!(short[0].parameters, spec.parameters);
        let bare = compact_specs(vec![spec], 2);
        assert_eq!(
            bare[0].parameters,
            serde_json::json!({"type": "object", "properties": {"query": {"type": "string"}}, "required": ["query"]})
        );
    }

    #[test]
    fn arguments() {
        assert!(parse_arguments("").unwrap().is_object());
        assert!(parse_arguments("{\"a\":").is_err());
        assert!(parse_arguments("[1]").is_err());
    }
}
