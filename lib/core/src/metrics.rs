use std::sync::{Arc, Mutex};
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::Response;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::{Metric, Registry};

/// The process's metrics: HTTP requests and latency by route and status, plus what each
/// function registers. Cheap to clone; one registry per process.
#[derive(Clone)]
pub struct Metrics {
    registry: Arc<Mutex<Registered>>,
    requests: Family<HttpLabels, Counter>,
    latency: Family<HttpLabels, Histogram>,
}

/// The registry and the names registered in it.
struct Registered {
    registry: Registry,
    names: std::collections::HashSet<String>,
}

/// Labels of the HTTP metrics.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct HttpLabels {
    /// HTTP method.
    pub method: String,
    /// The matched route template (`/api/ops/analyses/{id}`), never the raw path.
    pub route: String,
    /// Response status code.
    pub status: u16,
}

fn latency_histogram() -> Histogram {
    Histogram::new([
        0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0,
    ])
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("aegis");
        let requests = Family::<HttpLabels, Counter>::default();
        let latency = Family::<HttpLabels, Histogram>::new_with_constructor(
            latency_histogram as fn() -> Histogram,
        );
        registry.register("http_requests", "HTTP requests handled", requests.clone());
        registry.register(
            "http_request_duration_seconds",
            "HTTP request latency",
            latency.clone(),
        );
        Self {
            registry: Arc::new(Mutex::new(Registered {
                registry,
                names: Default::default(),
            })),
            requests,
            latency,
        }
    }
}

impl Metrics {
    /// Registers a metric under `aegis_<name>`, once: the functions of one process
    /// (`aegis dev`) each register the library metrics they use, and a second
    /// registration of a name (the same process-wide metric) is ignored.
    pub fn register(&self, name: &str, help: &str, metric: impl Metric) {
        let mut registered = self.lock();
        if registered.names.insert(name.to_string()) {
            registered.registry.register(name, help, metric);
        }
    }

    /// The Prometheus text exposition of every metric.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        // Encoding into a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.lock().registry);
        out
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Registered> {
        self.registry
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Middleware recording every request's count and latency.
    pub async fn record(State(metrics): State<Metrics>, req: Request, next: Next) -> Response {
        let route = req
            .extensions()
            .get::<MatchedPath>()
            .map(|p| p.as_str().to_string())
            .unwrap_or_else(|| "unmatched".to_string());
        let method = req.method().to_string();
        let started = Instant::now();
        let res = next.run(req).await;
        let labels = HttpLabels {
            method,
            route,
            status: res.status().as_u16(),
        };
        metrics.requests.get_or_create(&labels).inc();
        metrics
            .latency
            .get_or_create(&labels)
            .observe(started.elapsed().as_secs_f64());
        res
    }
}
