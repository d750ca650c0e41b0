//! Aegis's core: what every layer above speaks in.
//!
//! [`config`] reads the environment (the primitives each domain's `Config` is built
//! from), [`events`] is the CloudEvents catalog and the sinks, [`alert`] models
//! Alertmanager notifications, [`report`] and [`request`] are the analysis model,
//! [`metrics`] the process's registry, [`trace`] how trace context crosses hops, and
//! [`http_client`] the one outgoing HTTP client. Nothing here knows of a store, a
//! backend, a model or a function.

pub mod alert;
pub mod config;
pub mod events;
mod http_client;
pub mod metrics;
pub mod report;
pub mod request;
pub mod request_error;
pub mod trace;

pub use http_client::http_client;
pub use metrics::Metrics;
