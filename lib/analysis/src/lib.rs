//! An analysis end to end: the LLM agent, the statistical engine as its hypothesis and
//! fallback, and the HTTP API. The request and report model is `aegis_core`'s,
//! re-exported here because this crate's API speaks in it.

pub mod agent;
mod analyzer;
pub mod api;
mod app;
mod config;
pub mod engine;
mod guard;
mod metrics;
pub mod openapi;
pub mod past_tool;
mod progress;
mod prompt;
pub mod rank_tool;
mod redact;
mod slots;
mod toolset;
pub mod validate;

pub use aegis_core::report::{Evidence, Report, RootCause, Step, TimeRange, Trace, Usage};
pub use aegis_core::request::Request;
pub use analyzer::{Analyzer, UnknownModel};
pub use app::{Admitted, App, Refused};
pub use config::{Config, Settings};
pub use engine::{Engine, NoEngine, Statistical};
pub use metrics::register_metrics;
pub use progress::{Progress, ProgressEvent};
pub use redact::Redactor;
pub use slots::{Busy, Slots};
pub use toolset::{NoTools, ToolSet};
