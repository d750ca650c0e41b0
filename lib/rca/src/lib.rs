//! The statistical root-cause engine: ranks services by how far their signals, error
//! logs and traces depart from their own baseline, preferring the deepest anomalous
//! callee, with calibrated probabilities. No LLM needed.
//!
//! [`Engine::analyze`] fetches a range through the read-only [`aegis_tools::Tools`]
//! ([`collect`]), scores every service ([`rank()`]) and writes an
//! [`aegis_core::report::Report`]. [`report`] does the same on [`Observations`] already
//! in memory.

mod catalog;
pub mod collect;
mod engine;
mod features;
mod invariants;
mod observations;
mod rank;
pub mod stats;
mod template;
mod traffic;

pub use catalog::{Catalog, Error as CatalogError, Kind, SERVICE_LABELS, Signal};
pub use engine::{Engine, Input, report};
pub use features::{
    ALERT_LEAD_SECONDS, Blame, LogChange, LogDrift, Mentions, MetricShift, ServiceChange,
    TraceChange,
};
pub use observations::{LogLine, Metric, Observations, Span};
pub use rank::{Candidate, Ranking, rank};
pub use stats::Shift;
pub use traffic::{KeptRatio, TrafficBreak};

#[cfg(test)]
mod tests;
