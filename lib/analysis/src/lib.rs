//! An analysis end to end, without HTTP: the bounded LLM agent, the statistical
//! engine as its starting hypothesis and fallback ([`Ranker`]), the guard that keeps
//! the engine's top candidate unless the model's evidence overturns it, redaction,
//! progress, and archiving the report with its views. The request and report model is
//! `aegis_core`'s; the HTTP API that runs analyses is `aegis-api`.

pub mod agent;
mod analyzer;
mod guard;
mod metrics;
pub mod past_tool;
mod progress;
mod prompt;
pub mod rank_tool;
mod ranker;
mod settings;
mod toolset;
pub mod validate;

pub use aegis_core::redact::Redactor;
pub use analyzer::{Analyzer, UnknownModel};
pub use metrics::register_metrics;
pub use progress::{Progress, ProgressEvent};
pub use ranker::{NoRanker, Ranker, STATISTICAL, Statistical, empty_report};
pub use settings::Settings;
pub use toolset::{NoTools, ToolSet};
