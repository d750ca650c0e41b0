//! Running a function: configuration, logging and traces, `/healthz`, `/metrics`,
//! request ids, body limits, timeouts, graceful shutdown, and AWS Lambda.

mod config;
mod context;
mod http_client;
mod layers;
mod metrics;
pub mod request_error;
mod serve;
pub mod trace;

pub use config::{Config, LogFormat};
pub use context::{BuildError, Context, Function};
pub use http_client::http_client;
pub use layers::with_common_layers;
pub use metrics::Metrics;
pub use serve::{
    block_on, context_from_config, mount, run, serve, serve_on, serve_until, shutdown_signal,
    with_timeout,
};
