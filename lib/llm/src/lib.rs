//! OpenAI-compatible chat completions with tool calling and streaming, and the registry
//! of model providers behind the aliases users type.

mod client;
mod config;
mod context;
mod error;
mod message;
mod reasoning;
mod sse;
pub mod text_protocol;

pub use client::{ChatRequest, Client, Retry, ToolChoice};
pub use config::{Config, Provider};
pub use error::Error;
pub use message::{
    Completion, Delta, Message, Role, TokenUsage, ToolCall, ToolSpec, estimate_tokens,
};
pub use reasoning::{ThinkFilter, split_think};
