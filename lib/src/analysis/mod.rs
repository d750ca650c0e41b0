//! An analysis end to end: the request and report model, the LLM agent, and the
//! fallback to the statistical engine.

mod config;
mod report;
mod request;

pub use config::Config;
pub use report::{Evidence, Report, RootCause, Step, TimeRange, Trace, Usage};
pub use request::Request;
