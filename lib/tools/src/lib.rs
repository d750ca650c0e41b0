//! Read-only observability tools: Prometheus, Loki and Jaeger clients behind a method
//! and path allowlist, their bounds, compaction of results, and the tools the LLM calls.

mod bounds;
pub mod catalog;
mod clients;
pub mod compact;
mod config;
mod error;
pub mod http;
pub mod jaeger;
pub mod logline;
pub mod loki;
pub mod prometheus;
mod text;

pub use bounds::{Bounds, Capped, TARGET_POINTS, auto_step};
pub use catalog::{Catalog, Tool, Window, catalog, catalog_for};
pub use clients::Clients;
pub use config::{Auth, Backend, Config};
pub use error::{Api, Error};
