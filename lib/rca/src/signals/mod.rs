//! What each source says about each service: [`metrics`], [`logs`], [`traces`],
//! [`mentions`] and [`drift`], each comparing the incident part of the range with the
//! baseline before it (see `crate::window`).

mod drift;
mod logs;
mod mentions;
mod metrics;
mod traces;

pub use drift::{LogDrift, log_drift};
pub use logs::{Blame, LogChange, LogLines, log_changes, templates};
pub use mentions::{Mentions, Namer, mentions};
pub use metrics::{MetricOptions, MetricShift, metric_changes};
pub use traces::{SpanTree, TraceChange, trace_changes};
