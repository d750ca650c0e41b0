//! Why a query was not answered.

/// Why a query was not answered: Prometheus' `bad_data` (400) or `execution` (422).
#[derive(Debug, Clone, thiserror::Error)]
pub enum Error {
    /// The query does not parse, or uses what the replay does not support.
    #[error("{0}")]
    BadData(String),
    /// The query is valid but cannot be evaluated (e.g. many-to-many matching).
    #[error("{0}")]
    Execution(String),
}
