//! The statistical root-cause engine: ranks services by how far their signals, error
//! logs and traces depart from their own baseline, preferring the deepest anomalous
//! callee, with calibrated probabilities. No LLM needed.
//!
//! [`Engine::analyze`] fetches a range through the read-only [`aegis_tools::Clients`]
//! ([`collect`]) into [`Observations`]; `resolution` thins the metrics back to their
//! own samples; `window` (or, for the metrics, `onset`'s change point) splits the range
//! into baseline and incident part; each of `signals` (metrics, logs, traces, mentions, drift),
//! `invariants` and `traffic` says what changed for every service ([`ServiceChange`]); [`rank()`] scores and orders them (with [`Settings`]), and
//! [`report()`] writes the [`aegis_core::report::Report`]. Scoring the engine on
//! recorded incidents is `aegis_eval`'s.

mod catalog;
mod change;
mod chronic;
pub mod collect;
mod echo;
mod engine;
mod graph;
mod input;
mod invariants;
mod moved;
mod null;
mod observations;
mod onset;
mod rank;
mod report;
mod resolution;
mod settings;
mod signals;
pub mod stats;
mod template;
mod traffic;
mod window;

pub use catalog::{Error as CatalogError, Kind, SERVICE_LABELS, Signal, SignalCatalog};
pub use change::ServiceChange;
pub use engine::Engine;
pub use graph::CallGraph;
pub use input::Input;
pub use observations::{ERROR_FILTER, LogLine, Metric, Observations, Span};
pub use rank::{Candidate, Ranking, is_client_view, probabilities, rank, rank_with};
pub use report::report;
pub use settings::{Onset, Settings};
pub use signals::{Blame, LogChange, LogDrift, Mentions, MetricShift, TraceChange};
pub use stats::Shift;
pub use traffic::{KeptRatio, TrafficBreak};
pub use window::ALERT_LEAD_SECONDS;

#[cfg(test)]
mod tests;
