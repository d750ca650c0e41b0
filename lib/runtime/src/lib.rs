//! The function host: serving a function's router with logging and traces,
//! `/healthz`, `/metrics`, request ids, body limits, timeouts, graceful shutdown, and
//! AWS Lambda, from a [`Context`] it hands each function. It knows nothing of what a
//! function does: each function reads its own configuration and opens what it uses.

pub mod auth;
mod context;
mod layers;
mod serve;
mod serve_config;
pub mod telemetry;

pub use context::{BuildError, Context, Function};
pub use layers::with_common_layers;
pub use serve::{
    block_on, cutting, mount, run, serve, serve_on, serve_until, shutdown_grace, shutdown_signal,
    with_timeout,
};
pub use serve_config::{LogFormat, ServeConfig};
