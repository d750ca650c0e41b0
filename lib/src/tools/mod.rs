//! Read-only observability tools: Prometheus, Loki and Jaeger clients behind a method
//! and path allowlist, their bounds, compaction of results, and the tools the LLM calls.

mod config;

pub use config::{Auth, Backend, Config};
