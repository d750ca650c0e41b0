use serde::Serialize;
use serde_json::Value;
use tokio::sync::mpsc;

use aegis_core::report::{Report, TimeRange};

/// A progress event of an analysis, as streamed by analyze-stream: one NDJSON line
/// `{"event": "<name>", "data": {...}}`. The names are the original service's.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "event", content = "data", rename_all = "snake_case")]
pub enum ProgressEvent {
    /// The analysis started.
    Start {
        /// The analysis id.
        id: String,
        /// The question.
        description: String,
        /// The range analysed.
        time_range: TimeRange,
        /// The model alias, or `statistical`.
        model: String,
    },
    /// A model call started.
    LlmStart {
        /// 1-based model turn.
        turn: u32,
        /// The model alias.
        model: String,
    },
    /// Visible text from the model, as it arrives.
    LlmToken {
        /// The text.
        token: String,
    },
    /// A model call ended.
    LlmEnd {
        /// 1-based model turn.
        turn: u32,
        /// Prompt tokens of the call.
        prompt_tokens: u64,
        /// Completion tokens of the call.
        completion_tokens: u64,
    },
    /// The model's reasoning (`reasoning_content`, `<think>`): shown live, never stored.
    AgentThought {
        /// The text.
        text: String,
    },
    /// The model chose a tool call.
    AgentAction {
        /// The step index it will have in the trace.
        step: u32,
        /// The tool.
        tool: String,
        /// Its arguments.
        tool_input: Value,
    },
    /// A tool call started.
    ToolStart {
        /// The step index.
        step: u32,
        /// The tool.
        tool: String,
    },
    /// A tool call ended.
    ToolEnd {
        /// The step index.
        step: u32,
        /// The tool.
        tool: String,
        /// How long it took.
        duration_ms: u64,
        /// Whether it succeeded.
        ok: bool,
    },
    /// What the tool returned, as the model sees it (redacted, compacted).
    AgentObservation {
        /// The step index.
        step: u32,
        /// The observation.
        observation: String,
    },
    /// Something went wrong; the analysis goes on or falls back.
    Error {
        /// What happened, without secrets.
        message: String,
    },
    /// The report.
    Final {
        /// The report.
        report: Box<Report>,
    },
    /// The stream is over (always the last line).
    End {
        /// The analysis id.
        id: String,
    },
    /// Nothing happened for a while; the connection is alive.
    Heartbeat {},
}

impl ProgressEvent {
    /// The event's name (`tool_start`, ...).
    pub fn name(&self) -> &'static str {
        match self {
            Self::Start { .. } => "start",
            Self::LlmStart { .. } => "llm_start",
            Self::LlmToken { .. } => "llm_token",
            Self::LlmEnd { .. } => "llm_end",
            Self::AgentThought { .. } => "agent_thought",
            Self::AgentAction { .. } => "agent_action",
            Self::ToolStart { .. } => "tool_start",
            Self::ToolEnd { .. } => "tool_end",
            Self::AgentObservation { .. } => "agent_observation",
            Self::Error { .. } => "error",
            Self::Final { .. } => "final",
            Self::End { .. } => "end",
            Self::Heartbeat {} => "heartbeat",
        }
    }
}

/// Where progress events go: nowhere, or a channel the caller reads. Sending never
/// blocks the analysis; a receiver that went away is ignored.
#[derive(Debug, Clone, Default)]
pub struct Progress {
    tx: Option<mpsc::UnboundedSender<ProgressEvent>>,
}

impl Progress {
    /// Progress nobody watches.
    pub fn none() -> Self {
        Self { tx: None }
    }

    /// Progress read from the returned receiver.
    pub fn channel() -> (Self, mpsc::UnboundedReceiver<ProgressEvent>) {
        let (tx, rx) = mpsc::unbounded_channel();
        (Self { tx: Some(tx) }, rx)
    }

    /// Whether anyone watches (the agent streams model output only then).
    pub fn is_watched(&self) -> bool {
        self.tx.as_ref().is_some_and(|tx| !tx.is_closed())
    }

    /// Sends an event.
    pub fn emit(&self, event: ProgressEvent) {
        if let Some(tx) = &self.tx {
            let _ = tx.send(event);
        }
    }
}
