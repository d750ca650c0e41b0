use std::sync::Arc;
use std::time::Duration;

use axum::Router;

use crate::Config;
use aegis_core::Metrics;
use aegis_core::events::EventSink;
use aegis_store::ReportStore;

/// What every function is built from: the configuration and the shared resources. In
/// `aegis dev` one context serves every function, with the local broker as its sink.
#[derive(Clone)]
pub struct Context {
    /// The validated configuration.
    pub config: Arc<Config>,
    /// Where published events go.
    pub sink: Arc<dyn EventSink>,
    /// Reports, alert-card ids and idempotency markers.
    pub store: Arc<dyn ReportStore>,
    /// The metrics registry functions add their own metrics to.
    pub metrics: Metrics,
}

impl Context {
    /// A context for unit tests: default configuration, no sink, an in-memory store.
    pub fn for_test() -> Self {
        Self {
            config: Arc::new(Config::for_test()),
            sink: Arc::new(aegis_core::events::Unconfigured),
            store: Arc::new(aegis_store::Memory::default()),
            metrics: process_metrics(),
        }
    }
}

/// A built function: its routes and how long one of its requests may take.
pub struct Function {
    /// Its name (`notifier`, `analyze`, ...), used in logs, metrics and `/fn/<name>/`.
    pub name: &'static str,
    /// Its routes, without `/healthz` and `/metrics` (the runtime adds those).
    pub router: Router,
    /// Longest time one request may take before 503.
    pub timeout: Duration,
}

/// Why a function could not be built (a missing dependency, a bad combination of
/// settings); the process exits with this one line.
#[derive(Debug, thiserror::Error)]
#[error("{function} cannot start: {reason}")]
pub struct BuildError {
    /// The function.
    pub function: &'static str,
    /// What is missing or wrong.
    pub reason: String,
}

impl BuildError {
    /// An error building `function`.
    pub fn new(function: &'static str, reason: impl Into<String>) -> Self {
        Self {
            function,
            reason: reason.into(),
        }
    }
}

/// The process's registry: the HTTP metrics, plus the store's and the analyses'
/// process-wide counters, registered here once so that every function's `/metrics`
/// has them wherever it runs (alone, or beside the others in `aegis dev`).
pub fn process_metrics() -> Metrics {
    let metrics = Metrics::default();
    aegis_store::register_metrics(&metrics);
    aegis_analysis::register_metrics(&metrics);
    metrics
}
