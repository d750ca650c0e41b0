use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// An absolute time range, UTC on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct TimeRange {
    /// Start (inclusive).
    pub start: DateTime<Utc>,
    /// End (exclusive).
    pub end: DateTime<Utc>,
}

impl TimeRange {
    /// The last `minutes` minutes up to `now`.
    pub fn last(now: DateTime<Utc>, minutes: i64) -> Self {
        Self {
            start: now - chrono::Duration::minutes(minutes),
            end: now,
        }
    }

    /// Length of the range.
    pub fn duration(&self) -> chrono::Duration {
        self.end - self.start
    }
}

/// The result of an analysis: a superset of the original service's response, so its
/// clients keep working. Probabilities are over mutually exclusive hypotheses and sum
/// to at most 1; the rest is "unknown".
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Report {
    /// The analysis id (also the report's key in the store).
    pub id: String,
    /// One-paragraph conclusion.
    pub summary: String,
    /// Candidates, most likely first.
    pub ranked_root_causes: Vec<RootCause>,
    /// What the on-call engineer should check or do next (read-only advice).
    pub next_actions: Vec<String>,
    /// The tool calls the analysis made.
    pub trace: Trace,
    /// The model alias that produced the report, or `statistical`.
    pub model: String,
    /// The range analysed.
    pub time_range: TimeRange,
    /// Wall-clock time of the analysis.
    pub duration_ms: u64,
    /// Tokens and tool calls spent.
    pub usage: Usage,
    /// Sources or steps that failed, and why; empty when nothing did.
    pub degraded: Vec<String>,
    /// Whether the report reached the store (`false` when the store was down).
    #[serde(default = "default_true")]
    pub archived: bool,
    /// Which signal of which service moved which way, as the engine measured it: the
    /// structured part of the evidence, which past-incident search fingerprints.
    /// Empty in reports written before it existed and in the agent's own answers.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub moved: Vec<Moved>,
    /// The closest past incidents in the store, most similar first (at most 3).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub similar: Vec<SimilarIncident>,
}

/// One signal of one service that departed from its baseline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Moved {
    /// The service.
    pub service: String,
    /// What moved: `metric:<signal>`, `log:<template>`, `invariant`, `traffic:<follower>`,
    /// `spans:latency`, `spans:errors`, `spans:network`, `spans:busy`, `drift`,
    /// `mentioned`.
    pub signal: String,
    /// Which way.
    pub direction: Direction,
}

/// Which way a signal moved.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    /// Rose above its baseline.
    Up,
    /// Fell below it.
    Down,
    /// Appeared (a log template the baseline did not have).
    New,
    /// A relation that held in the baseline stopped holding.
    Broken,
}

/// A stored past report whose evidence resembles this one's.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SimilarIncident {
    /// The past report's id.
    pub id: String,
    /// When it was: the end of the range that report analysed.
    pub at: DateTime<Utc>,
    /// Its summary.
    pub summary: String,
    /// Its top candidate's service, if any.
    pub top_service: Option<String>,
    /// How alike the two fingerprints are, in [0, 1] (weighted Jaccard).
    pub similarity: f64,
    /// The verdict people gave that report (`right cause`, `wrong cause`), if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub feedback: Option<String>,
}

fn default_true() -> bool {
    true
}

/// One root-cause candidate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct RootCause {
    /// 1-based rank.
    pub rank: u32,
    /// The service blamed.
    pub service: String,
    /// Probability in [0, 1].
    pub probability: f64,
    /// What is wrong with it.
    pub description: String,
    /// The signals that stand out, in words (`cpu x3.2 since 08:43`).
    pub key_indicators: Vec<String>,
    /// Representative log lines or templates.
    pub key_logs: Vec<String>,
    /// Where the evidence comes from, with the exact query that shows it.
    pub evidence: Vec<Evidence>,
}

/// A piece of evidence and the query that reproduces it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Evidence {
    /// `prometheus`, `loki` or `jaeger`.
    pub source: String,
    /// The exact query (PromQL, LogQL, or a Jaeger search).
    pub query: String,
    /// What it shows.
    pub summary: String,
}

/// The steps of an analysis.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Trace {
    /// Tool calls in order.
    pub steps: Vec<Step>,
}

/// One tool call.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Step {
    /// 1-based index.
    pub index: u32,
    /// Tool name.
    pub tool: String,
    /// Its arguments.
    pub tool_input: serde_json::Value,
    /// What it returned (compacted).
    pub observation: String,
    /// The reasoning that led to it, if any.
    pub log: String,
}

/// What an analysis spent.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Usage {
    /// Prompt tokens.
    pub prompt_tokens: u64,
    /// Completion tokens.
    pub completion_tokens: u64,
    /// Tool calls made.
    pub tool_calls: u64,
}
