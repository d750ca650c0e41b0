//! Aegis: the shared library behind every function.
//!
//! One module per domain: [`config`] reads the environment once, [`events`] is the
//! CloudEvents catalog and the sinks, [`runtime`] serves a function's router,
//! [`store`] keeps reports and markers, [`alert`] models Alertmanager notifications,
//! [`feishu`] talks to Feishu, [`llm`] to OpenAI-compatible models, [`tools`] reads
//! Prometheus, Loki and Jaeger, [`replay`] serves recorded telemetry behind those APIs,
//! [`rca`] ranks root causes without a model, and [`analysis`] runs an analysis end to end.

pub mod alert;
pub mod analysis;
pub mod config;
pub mod events;
pub mod feishu;
pub mod llm;
pub mod rca;
pub mod replay;
pub mod runtime;
pub mod store;
pub mod tools;

pub use config::Config;
