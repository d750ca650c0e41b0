//! A PromQL evaluator over a [`MetricStore`](super::metric_store::MetricStore) for the
//! queries signal catalogs use, with Prometheus 2's semantics; anything else is
//! refused with the reason.

mod aggregate;
mod error;
mod eval;
mod functions;
mod operand;
#[cfg(test)]
mod proptests;
pub mod value;

pub use eval::{Error, LOOKBACK_MS, MAX_POINTS, instant, parse, range};
