//! Recorded telemetry (an incident dataset) served behind the real Prometheus, Loki and
//! Jaeger query APIs, for the demo, the tests and the evaluation.
//!
//! [`Dataset::load`] reads a dataset folder into compact stores; [`router`] answers
//! the three query APIs from it; [`Server::start`] serves that router on a listener.

mod dataset;
mod jaeger;
mod json;
pub mod labels;
mod logql;
pub mod logs;
mod loki;
pub mod metric_store;
mod params;
mod prometheus;
pub mod promql;
mod server;
mod shift;
pub mod traces;

pub use dataset::{Case, Dataset, Edge, LoadError, Meta, Truth, read_truth};
pub use server::{Server, router, serve_dataset};
