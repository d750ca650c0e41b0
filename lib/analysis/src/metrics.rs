//! The analysis metrics: analyses by outcome, their duration, model tokens and tool
//! calls. Process-wide (like the store's failure counter); [`register_metrics`] adds
//! them to a function's registry, once per registry.

use std::sync::LazyLock;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::Histogram;

use aegis_core::Metrics;
use aegis_core::report::Report;

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct AnalysisLabels {
    /// The model alias or `statistical`.
    model: String,
    /// `ok` or `degraded`.
    outcome: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct TokenLabels {
    /// `prompt` or `completion`.
    kind: &'static str,
}

static ANALYSES: LazyLock<Family<AnalysisLabels, Counter>> = LazyLock::new(Family::default);
static DURATION: LazyLock<Histogram> = LazyLock::new(|| {
    Histogram::new([
        0.1, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 240.0, 480.0,
    ])
});
static TOKENS: LazyLock<Family<TokenLabels, Counter>> = LazyLock::new(Family::default);
static TOOL_CALLS: LazyLock<Counter> = LazyLock::new(Counter::default);

/// Registers `aegis_analyses_total{model,outcome}`, `aegis_analysis_duration_seconds`,
/// `aegis_llm_tokens_total{kind}` and `aegis_tool_calls_total` in `metrics`.
pub fn register_metrics(metrics: &Metrics) {
    metrics.register(
        "analyses",
        "Analyses finished, by model and outcome",
        ANALYSES.clone(),
    );
    metrics.register(
        "analysis_duration_seconds",
        "Wall-clock time of analyses",
        DURATION.clone(),
    );
    metrics.register(
        "llm_tokens",
        "Model tokens spent, prompt and completion",
        TOKENS.clone(),
    );
    metrics.register(
        "tool_calls",
        "Tool calls made by analyses",
        TOOL_CALLS.clone(),
    );
}

/// Counts a finished analysis.
pub(crate) fn record(report: &Report) {
    let outcome = if report.degraded.is_empty() {
        "ok"
    } else {
        "degraded"
    };
    ANALYSES
        .get_or_create(&AnalysisLabels {
            model: report.model.clone(),
            outcome,
        })
        .inc();
    DURATION.observe(report.duration_ms as f64 / 1000.0);
    TOKENS
        .get_or_create(&TokenLabels { kind: "prompt" })
        .inc_by(report.usage.prompt_tokens);
    TOKENS
        .get_or_create(&TokenLabels { kind: "completion" })
        .inc_by(report.usage.completion_tokens);
    TOOL_CALLS.inc_by(report.usage.tool_calls);
}
