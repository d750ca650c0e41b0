//! Aegis's core: what every layer above speaks in.
//!
//! [`config`] reads the environment (the primitives each domain's `Config` is built
//! from), [`events`] is the CloudEvents catalog and the sinks, [`alert`] models
//! Alertmanager notifications, [`report`] and [`request`] are the analysis model,
//! [`metrics`] the process's registry, [`trace_context`] how W3C trace context crosses hops, and
//! [`outgoing`] the one outgoing HTTP client and how its failures read, and [`redact`]
//! the one redaction of what peers say. Nothing here
//! knows of a store, a backend, a model or a function.

pub mod alert;
pub mod config;
pub mod events;
pub mod incident;
pub mod labels;
pub mod metrics;
pub mod outgoing;
pub mod redact;
pub mod report;
pub mod request;
pub mod trace_context;

pub use metrics::Metrics;
pub use outgoing::http_client;
