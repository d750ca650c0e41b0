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

/// The `method` label: one of the standard methods, or `other`, so that made-up methods
/// cannot grow `/metrics` without bound (the route is already the matched template or
/// `unmatched`, and the status a number).
fn method_label(method: &axum::http::Method) -> &'static str {
    use axum::http::Method;
    const KNOWN: [(Method, &str); 9] = [
        (Method::GET, "GET"),
        (Method::POST, "POST"),
        (Method::PUT, "PUT"),
        (Method::DELETE, "DELETE"),
        (Method::HEAD, "HEAD"),
        (Method::OPTIONS, "OPTIONS"),
        (Method::PATCH, "PATCH"),
        (Method::TRACE, "TRACE"),
        (Method::CONNECT, "CONNECT"),
    ];
    KNOWN
        .iter()
        .find(|(known, _)| known == method)
        .map_or("other", |(_, label)| label)
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
        let method = method_label(req.method()).to_string();
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

#[cfg(test)]
mod tests {
    use super::*;
    use axum::Router;
    use axum::body::Body;
    use axum::routing::get;
    use tower::ServiceExt;

    #[tokio::test]
    async fn made_up_methods_and_paths_fold_into_one_series() {
        let metrics = Metrics::default();
        let app = Router::new().route("/known", get(|| async { "ok" })).layer(
            axum::middleware::from_fn_with_state(metrics.clone(), Metrics::record),
        );
        for i in 0..50 {
            let req = axum::http::Request::builder()
                .method(format!("MADEUP{i}").as_str())
                .uri(format!("/nowhere/{i}"))
                .body(Body::empty())
                .unwrap();
            app.clone().oneshot(req).await.unwrap();
        }
        let text = metrics.encode();
        let series: Vec<&str> = text
            .lines()
            .filter(|l| l.starts_with("aegis_http_requests_total{"))
            .collect();
        assert_eq!(series.len(), 1, "{series:?}");
        assert!(series[0].contains("method=\"other\""), "{}", series[0]);
        assert!(series[0].contains("route=\"unmatched\""), "{}", series[0]);
        assert!(series[0].ends_with(" 50"), "{}", series[0]);
    }

    #[test]
    fn a_second_registration_of_a_name_is_ignored() {
        let metrics = Metrics::default();
        let counter = Counter::<u64>::default();
        metrics.register("things", "Things", counter.clone());
        metrics.register("things", "Things", counter.clone());
        counter.inc();
        let text = metrics.encode();
        assert_eq!(
            text.matches("# TYPE aegis_things counter").count(),
            1,
            "{text}"
        );
    }
}
