//! An analysis end to end: the request and report model, the LLM agent, and the
//! fallback to the statistical engine.

pub mod agent;
mod analyzer;
pub mod api;
mod config;
pub mod engine;
mod metrics;
pub mod openapi;
mod progress;
mod prompt;
pub mod rank_tool;
mod redact;
mod report;
mod request;
mod slots;
mod toolset;
pub mod validate;

pub use analyzer::{Analyzer, UnknownModel};
pub use config::Config;
pub use engine::{Engine, NoEngine, Statistical};
pub use metrics::register_metrics;
pub use progress::{Progress, ProgressEvent};
pub use redact::Redactor;
pub use report::{Evidence, Report, RootCause, Step, TimeRange, Trace, Usage};
pub use request::Request;
pub use slots::{Busy, Slots};
pub use toolset::{NoTools, ToolSet};
