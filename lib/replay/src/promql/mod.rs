//! A PromQL evaluator over a [`MetricStore`](super::metrics::MetricStore) for the
//! queries signal catalogs use, with Prometheus 2's semantics; anything else is
//! refused with the reason.

mod aggregate;
mod eval;
mod functions;
pub mod value;

pub use eval::{Error, LOOKBACK_MS, MAX_POINTS, instant, parse, range};
