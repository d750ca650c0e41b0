//! Incidents, not alert storms: related alert groups join one incident with one card,
//! one thread and one analysis.
//!
//! - [`Rule`]: which groups belong together (time, namespace, services, the call
//!   graph, the incident's analysis candidates), configurable.
//! - [`Incidents`]: the decisions, made once through a log of conditional writes in
//!   the report store, so every replica makes the same ones.
//! - [`state`]: the log's entries and the incidents they fold into.
//!
//! The model (`Incident`, its timeline) is `aegis_core::incident`'s, read by the API,
//! the page and the MCP server as well.

mod book;
mod rule;
pub mod state;

pub use book::{Assigned, Error, Incidents, opened_at};
pub use rule::{Relate, Rule};

#[cfg(test)]
mod tests;
