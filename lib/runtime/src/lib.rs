//! The function host: the whole configuration, and running a function's router with
//! logging and traces, `/healthz`, `/metrics`, request ids, body limits, timeouts,
//! graceful shutdown, and AWS Lambda.

mod config;
mod context;
mod layers;
mod serve;
mod serve_config;
pub mod telemetry;

pub use config::Config;
pub use context::{BuildError, Context, Function, process_metrics};
pub use layers::with_common_layers;
pub use serve::{
    block_on, context_from_config, mount, run, serve, serve_on, serve_until, shutdown_signal,
    with_timeout,
};
pub use serve_config::{LogFormat, ServeConfig};
