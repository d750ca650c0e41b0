//! OpenAI-compatible chat completions with tool calling and streaming, and the registry
//! of model providers behind the aliases users type.

mod config;

pub use config::{Config, Provider};
