//! The tool-calling loop: bounded by steps, wall clock and tokens; every prompt fitted
//! in the model's context (older tool outputs compacted, then the case and the tool
//! list shortened), and a "context exceeded" answer met by compacting and retrying;
//! tool outputs redacted and compacted before the model sees them; repeated calls
//! refused; independent calls run in parallel; the first turn must call a tool and the
//! last must answer, the final answer requested against its JSON schema where the
//! server supports it, validated (its language too) with one repair.

use std::collections::HashMap;
use std::time::Instant;

use serde_json::Value;
use tokio::time::Instant as Deadline;

mod call;
mod dispatch;
mod fit;

use super::progress::{Progress, ProgressEvent};
use super::prompt;
use super::toolset::ToolSet;
use super::validate::{self, Answer, Calls};
use aegis_core::redact::Redactor;
use aegis_core::report::{Step, Usage};
use aegis_i18n::{Lang, t};
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
    pub fn from_config(config: &aegis_core::request::Config) -> Self {
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

/// Why the agent stopped without an answer. [`Stop::words`] says it to the people who
/// read the report; `Display` is its English, for logs and progress.
#[derive(Debug, Clone, PartialEq)]
pub enum Stop {
    /// The wall clock ran out.
    WallClock,
    /// Every allowed turn was taken.
    Steps(usize),
    /// The token budget is spent.
    Tokens {
        /// The budget.
        budget: u64,
        /// What was spent.
        spent: u64,
    },
    /// The prompt does not fit the model's context even compacted (the server's words).
    Context(String),
    /// A model call failed.
    Model {
        /// The model's alias.
        alias: String,
        /// The error.
        error: String,
    },
    /// The final answer was still invalid after one repair (the problems, as the model
    /// was told them).
    Invalid(Vec<String>),
}

impl Stop {
    /// Why, in `lang`: the report's degraded note. Names, numbers and the model's and
    /// server's own words stay as they are.
    pub fn words(&self, lang: Lang) -> String {
        match self {
            Self::WallClock => t!(lang, "agent-stop-wall-clock"),
            Self::Steps(max) => t!(lang, "agent-stop-steps", max = *max),
            Self::Tokens { budget, spent } => {
                t!(lang, "agent-stop-tokens", budget = *budget, spent = *spent)
            }
            Self::Context(message) => t!(lang, "agent-stop-context", message = message.as_str()),
            Self::Model { alias, error } => t!(
                lang,
                "agent-stop-model",
                model = alias.as_str(),
                error = error.as_str()
            ),
            Self::Invalid(problems) => {
                t!(lang, "agent-stop-invalid", problems = problems.join("; "))
            }
        }
    }
}

impl std::fmt::Display for Stop {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.words(Lang::En))
    }
}

/// What the agent produced: an answer, or why there is none; always the calls made
/// and what was spent.
#[derive(Debug)]
pub struct Outcome {
    /// The validated answer, or the reason the analysis must fall back.
    pub answer: Result<Answer, Stop>,
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
    /// The language the answer must be written in (the request's).
    pub language: Lang,
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

    /// The successful steps, which a final answer may cite.
    fn ok_steps(st: &State) -> Vec<u32> {
        st.steps
            .iter()
            .zip(&st.ok)
            .filter(|(_, ok)| **ok)
            .map(|(s, _)| s.index)
            .collect()
    }

    async fn turns(&self, st: &mut State, deadline: Deadline) -> Result<Answer, Stop> {
        let native = self.native();
        for turn in 1..=self.limits.max_steps as u32 {
            if Deadline::now() >= deadline {
                return Err(Stop::WallClock);
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
                    let args = dispatch::parse_arguments(&call.arguments);
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
        Err(Stop::Steps(self.limits.max_steps))
    }

    /// Validates a final answer: `Some` when valid, `None` when a repair was asked.
    fn finish(&self, st: &mut State, value: Value, text: &str) -> Result<Option<Answer>, Stop> {
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
        match validate::validate(value, &calls, self.language) {
            Ok(answer) => Ok(Some(answer)),
            Err(problems) => self.invalid_final(st, text, problems),
        }
    }

    fn invalid_final(
        &self,
        st: &mut State,
        text: &str,
        problems: Vec<String>,
    ) -> Result<Option<Answer>, Stop> {
        if st.repaired {
            return Err(Stop::Invalid(problems));
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stop_reads_as_before_in_english_and_in_chinese_for_a_chinese_report() {
        let tokens = Stop::Tokens {
            budget: 6000,
            spent: 6123,
        };
        assert_eq!(
            tokens.to_string(),
            "the token budget of 6000 is spent (6123 used)"
        );
        assert_eq!(Stop::Steps(3).to_string(), "the step limit of 3 is reached");
        for stop in [Stop::WallClock, Stop::Steps(3), tokens] {
            let zh = stop.words(Lang::ZhCn);
            assert_eq!(Lang::of_text(&zh), Lang::ZhCn, "{zh}");
        }
    }
}
