//! The analysis model: the [`Report`], its candidates and evidence, with the
//! [`Clock`] its times are read in and the [`Unit`] of each charted series.

use aegis_i18n::Lang;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

mod clock;
mod unit;

pub use clock::Clock;
pub use unit::Unit;

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
    /// The IANA zone the report's text gives times in (`AEGIS_TIMEZONE`); pages and
    /// cards render its times in the same zone.
    #[serde(default = "default_zone")]
    pub timezone: String,
    /// Caller -> callee edges seen in the range (traces, or a given graph).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub call_graph: Vec<Edge>,
    /// What a person said of the top candidate, once someone did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub feedback: Option<Feedback>,
    /// Which signal of which service moved which way, as the engine measured it: the
    /// structured part of the evidence, which past-incident search fingerprints.
    /// Empty in reports written before it existed and in the agent's own answers.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub moved: Vec<Moved>,
    /// The closest past incidents in the store, most similar first (at most 3).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub similar: Vec<SimilarIncident>,
    /// The language its text is written in (`en`, `zh-CN`): the question's, the chat's
    /// or the caller's; reports written before languages existed read as `en`.
    #[serde(default)]
    #[schema(value_type = String, example = "zh-CN")]
    pub language: Lang,
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

fn default_zone() -> String {
    "UTC".into()
}

/// The `model` of reports made without a model (the statistical engine's).
pub const STATISTICAL: &str = "statistical";

impl Report {
    /// A report of `id` over `time_range` that says nothing yet: no candidates, no
    /// steps, model `statistical`, times in UTC. Builders fill in the rest with
    /// struct update syntax.
    pub fn new(id: impl Into<String>, time_range: TimeRange) -> Self {
        Self {
            id: id.into(),
            summary: String::new(),
            ranked_root_causes: Vec::new(),
            next_actions: Vec::new(),
            trace: Trace::default(),
            model: STATISTICAL.into(),
            time_range,
            duration_ms: 0,
            usage: Usage::default(),
            degraded: Vec::new(),
            archived: true,
            timezone: default_zone(),
            call_graph: Vec::new(),
            feedback: None,
            moved: Vec::new(),
            similar: Vec::new(),
            language: Lang::En,
        }
    }

    /// The clock its times are read in.
    pub fn clock(&self) -> Clock {
        Clock::named(&self.timezone)
    }
}

/// One call-graph edge.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Edge {
    /// The calling service.
    pub caller: String,
    /// The service called.
    pub callee: String,
}

/// What a person reads of a report, rendered beside its JSON and stored with it:
/// Markdown and the self-contained HTML page (`aegis_view::views` makes both).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Views {
    /// The report as Markdown.
    pub markdown: String,
    /// The report's page (HTML).
    pub page: String,
}

/// A person's verdict on a report's top candidate (the card's feedback buttons).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Feedback {
    /// Whether the top candidate was the cause.
    pub verdict: Verdict,
    /// Who said so (the chat user's id), when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub by: Option<String>,
    /// When.
    pub at: DateTime<Utc>,
}

/// What a feedback button carries to its callback (`event.action.value` of a
/// `card.action.trigger`): which report, which candidate, which verdict.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FeedbackValue {
    /// Always [`FeedbackValue::ACTION`], so other buttons are told apart.
    pub action: String,
    /// The report.
    pub report_id: String,
    /// The top candidate the verdict is about.
    pub service: String,
    /// The verdict.
    pub verdict: Verdict,
}

impl FeedbackValue {
    /// The `action` of feedback buttons.
    pub const ACTION: &'static str = "aegis.feedback";

    /// The value of the button giving `verdict` on `report_id`'s top candidate.
    pub fn new(report_id: &str, service: &str, verdict: Verdict) -> Self {
        Self {
            action: Self::ACTION.into(),
            report_id: report_id.into(),
            service: service.into(),
            verdict,
        }
    }
}

/// The verdict of a [`Feedback`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// The top candidate was the cause.
    RightCause,
    /// It was not.
    WrongCause,
}

impl Verdict {
    /// The verdict as stored and searched (`right cause`, `wrong cause`), in every
    /// language.
    pub fn words(self) -> &'static str {
        match self {
            Self::RightCause => "right cause",
            Self::WrongCause => "wrong cause",
        }
    }

    /// The verdict stored as `words` ([`Verdict::words`]), if it is one.
    pub fn from_words(words: &str) -> Option<Self> {
        [Self::RightCause, Self::WrongCause]
            .into_iter()
            .find(|v| v.words() == words)
    }

    /// The button's label, in `lang`.
    pub fn label(self, lang: Lang) -> String {
        use aegis_i18n::t;
        match self {
            Self::RightCause => t!(lang, "verdict-right-cause"),
            Self::WrongCause => t!(lang, "verdict-wrong-cause"),
        }
    }
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

impl RootCause {
    /// Candidate `rank`: `service` at `probability`, with nothing said of it yet.
    pub fn new(rank: u32, service: impl Into<String>, probability: f64) -> Self {
        Self {
            rank,
            service: service.into(),
            probability,
            description: String::new(),
            key_indicators: Vec::new(),
            key_logs: Vec::new(),
            evidence: Vec::new(),
        }
    }
}

/// A piece of evidence and the query that reproduces it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Evidence {
    /// `prometheus`, `loki` or `jaeger`.
    pub source: String,
    /// The exact query (PromQL, LogQL, or a Jaeger search).
    pub query: String,
    /// What it shows.
    pub summary: String,
    /// The series behind metric evidence, to draw.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chart: Option<Chart>,
}

/// One service's series of a signal over the range, with what the engine read in it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Chart {
    /// `cpu_seconds_rate of checkout`.
    pub title: String,
    /// What the values measure.
    pub unit: Unit,
    /// `[unix seconds, value]`, in time order (at most [`Chart::MAX_POINTS`]).
    pub points: Vec<[f64; 2]>,
    /// The series' usual level.
    pub baseline: f64,
    /// End of the part of the range only used as the baseline, unix seconds.
    pub baseline_end: f64,
    /// When the departure began, unix seconds; the incident part runs from it.
    pub onset: f64,
}

impl Chart {
    /// Points kept per chart; longer series are thinned evenly.
    pub const MAX_POINTS: usize = 240;

    /// A chart of `points`, thinned to [`Chart::MAX_POINTS`] keeping the extremes of
    /// each stretch (a spike survives thinning).
    pub fn new(
        title: String,
        unit: Unit,
        points: &[(f64, f64)],
        baseline: f64,
        baseline_end: f64,
        onset: f64,
    ) -> Self {
        let points: Vec<[f64; 2]> = if points.len() <= Self::MAX_POINTS {
            points.iter().map(|&(t, v)| [t, v]).collect()
        } else {
            let per = points.len().div_ceil(Self::MAX_POINTS / 2);
            points
                .chunks(per)
                .flat_map(|c| {
                    let lo = c.iter().min_by(|a, b| a.1.total_cmp(&b.1)).unwrap_or(&c[0]);
                    let hi = c.iter().max_by(|a, b| a.1.total_cmp(&b.1)).unwrap_or(&c[0]);
                    let (a, b) = if lo.0 <= hi.0 { (lo, hi) } else { (hi, lo) };
                    [[a.0, a.1], [b.0, b.1]]
                })
                .collect()
        };
        Self {
            title,
            unit,
            points,
            baseline,
            baseline_end,
            onset,
        }
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_long_series_is_thinned_and_keeps_its_spike() {
        let points: Vec<(f64, f64)> = (0..1000)
            .map(|i| (i as f64 * 15.0, if i == 613 { 50.0 } else { 1.0 }))
            .collect();
        let chart = Chart::new("x".into(), Unit::None, &points, 1.0, 300.0, 9000.0);
        assert!(
            chart.points.len() <= Chart::MAX_POINTS,
            "{}",
            chart.points.len()
        );
        assert!(chart.points.iter().any(|p| p[1] == 50.0));
        assert!(
            chart.points.windows(2).all(|w| w[0][0] <= w[1][0]),
            "in time order"
        );
        let short = Chart::new("x".into(), Unit::None, &points[..10], 1.0, 300.0, 90.0);
        assert_eq!(short.points.len(), 10);
    }

    #[test]
    fn reports_written_before_zones_and_feedback_still_read() {
        let old = serde_json::json!({
            "id": "a", "summary": "", "ranked_root_causes": [], "next_actions": [],
            "trace": {"steps": []}, "model": "statistical",
            "time_range": {"start": "2026-01-29T08:00:00Z", "end": "2026-01-29T08:15:00Z"},
            "duration_ms": 1, "usage": {"prompt_tokens": 0, "completion_tokens": 0, "tool_calls": 0},
            "degraded": []
        });
        let r: Report = serde_json::from_value(old).unwrap();
        assert_eq!(r.clock(), Clock::default());
        assert!(r.feedback.is_none() && r.call_graph.is_empty());
    }
}
