//! The signal catalog: named PromQL queries, each returning one series per service.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

/// What a signal measures, which says which direction of change is a symptom.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// CPU use or throttling: a rise is a symptom.
    Cpu,
    /// Memory use: a rise is a symptom.
    Memory,
    /// Bytes sent or received: either direction.
    Network,
    /// Requests per second: either direction.
    Traffic,
    /// Error ratio or error rate: a rise is a symptom.
    Errors,
    /// Server-side latency: a rise is a symptom.
    Latency,
    /// Latency the service sees calling others: a rise points at a callee.
    ClientLatency,
    /// Latency of the calls to the service as its callers measure them (Istio's
    /// `reporter="source"` by destination, OpenTelemetry's client durations by
    /// server address): rising while the service's own [`Kind::Latency`] does not,
    /// the time goes on the wire in front of it (a network delay). Weighs nothing
    /// by itself; see `ServiceChange::network_from_metrics`.
    CallerLatency,
    /// Restarts, OOM kills, not-ready pods: a rise is a symptom.
    Health,
    /// Anything else: either direction.
    Other,
}

impl Kind {
    /// Guesses the kind from a signal's name (`cpu_seconds_rate`, `latency_p90_seconds`).
    pub fn from_name(name: &str) -> Self {
        let n = name.to_ascii_lowercase();
        let has = |w: &str| n.contains(w);
        if has("caller") && (has("latency") || has("duration")) {
            Self::CallerLatency
        } else if has("client") && (has("latency") || has("duration")) {
            Self::ClientLatency
        } else if has("latency") || has("duration") {
            Self::Latency
        } else if has("error") || has("5xx") || has("fail") {
            Self::Errors
        } else if has("cpu") || has("throttl") {
            Self::Cpu
        } else if has("memory") || has("heap") || has("gc") {
            Self::Memory
        } else if has("network") || has("bytes") {
            Self::Network
        } else if has("restart") || has("oom") || has("ready") {
            Self::Health
        } else if has("request") || has("rate") || has("rps") {
            Self::Traffic
        } else {
            Self::Other
        }
    }

    /// Whether only a rise counts as a symptom.
    pub fn rise_only(self) -> bool {
        !matches!(self, Self::Network | Self::Traffic | Self::Other)
    }

    /// The largest effect (log of the factor) a shift of this kind is credited
    /// with: e² for most kinds, whose sparse series (latency of a service with little
    /// traffic) jump x3-x7 by themselves; e³ for CPU, whose series are dense and
    /// steady, so that a container pinned at its limit (x20 and more) stands out from
    /// one that is merely busier. (Measured on the dev cases: TT `-1423` second ->
    /// first, the likelihood of the true cause up on all three range layouts.)
    pub fn effect_cap(self) -> f64 {
        match self {
            Self::Cpu => 3.0,
            _ => 2.0,
        }
    }

    /// How much a clear shift of this kind weighs as evidence against the service
    /// itself. Client latency and traffic mostly echo other services.
    pub fn weight(self) -> f64 {
        match self {
            Self::Cpu | Self::Memory | Self::Health | Self::Errors | Self::Latency => 1.0,
            Self::Network | Self::Other => 0.6,
            Self::Traffic => 0.4,
            Self::ClientLatency => 0.3,
            Self::CallerLatency => 0.0,
        }
    }
}

/// One named signal.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Signal {
    /// Its name, e.g. `cpu_seconds_rate`.
    pub name: String,
    /// PromQL returning one series per service (a `service` label, or see
    /// [`SERVICE_LABELS`]).
    pub query: String,
    /// What it measures.
    pub kind: Kind,
}

/// Labels that name the service of a series, in order of preference (core's, which
/// incidents read alerts by too).
pub use aegis_core::labels::SERVICE_LABELS;

/// The signals the engine reads.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SignalCatalog {
    /// The signals, in order.
    pub signals: Vec<Signal>,
}

/// Why a catalog file cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The file could not be read.
    #[error("cannot read the signal catalog {path}: {source}")]
    Read {
        /// The file.
        path: String,
        /// The I/O failure.
        source: std::io::Error,
    },
    /// The file is not a JSON object of names to PromQL.
    #[error("signal catalog {path} must be a JSON object {{\"name\": \"promql\"}}: {source}")]
    Parse {
        /// The file.
        path: String,
        /// The parse failure.
        source: serde_json::Error,
    },
    /// The file names no signal.
    #[error("signal catalog {0} names no signal")]
    Empty(String),
}

impl SignalCatalog {
    /// Signals from `name -> PromQL`, kinds guessed from the names.
    pub fn from_map<K: AsRef<str>, V: AsRef<str>>(map: impl IntoIterator<Item = (K, V)>) -> Self {
        Self {
            signals: map
                .into_iter()
                .map(|(k, v)| Signal {
                    name: k.as_ref().to_string(),
                    query: v.as_ref().to_string(),
                    kind: Kind::from_name(k.as_ref()),
                })
                .collect(),
        }
    }

    /// Reads a JSON file `{"name": "promql", ...}` (`AEGIS_SIGNALS_FILE`).
    pub fn from_file(path: &Path) -> Result<Self, Error> {
        let shown = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| Error::Read {
            path: shown.clone(),
            source,
        })?;
        let map: BTreeMap<String, String> =
            serde_json::from_str(&text).map_err(|source| Error::Parse {
                path: shown.clone(),
                source,
            })?;
        if map.is_empty() {
            return Err(Error::Empty(shown));
        }
        Ok(Self::from_map(map))
    }

    /// The file named by the tools' configuration, else [`SignalCatalog::default_cluster`].
    pub fn from_config(config: &aegis_tools::Config) -> Result<Self, Error> {
        match &config.signals_file {
            Some(path) => Self::from_file(path),
            None => Ok(Self::default_cluster()),
        }
    }

    /// A catalog for a typical Kubernetes cluster: cAdvisor, kube-state-metrics, Istio
    /// and OpenTelemetry HTTP metrics, JVM and Go runtimes. Signals whose metrics a
    /// cluster does not have simply return nothing.
    pub fn default_cluster() -> Self {
        // cAdvisor names the workload by container; the engine wants a `service` label.
        let by_container = |expr: &str| {
            format!(
                "sum by (service) (label_replace({expr}, \"service\", \"$1\", \"container\", \"(.+)\"))"
            )
        };
        let by_pod_owner = |expr: &str| {
            format!(
                "sum by (service) (label_replace({expr}, \"service\", \"$1\", \"pod\", \"(.+?)(-[a-z0-9]{{5,10}})?-[a-z0-9]{{5}}\"))"
            )
        };
        let signals = [
            (
                "cpu_seconds_rate",
                by_container(
                    "rate(container_cpu_usage_seconds_total{container!=\"\",container!=\"POD\"}[2m])",
                ),
            ),
            (
                "cpu_throttled_ratio",
                by_container(
                    "rate(container_cpu_cfs_throttled_periods_total{container!=\"\"}[2m]) / clamp_min(rate(container_cpu_cfs_periods_total{container!=\"\"}[2m]), 1)",
                ),
            ),
            (
                "memory_working_set_bytes",
                by_container("container_memory_working_set_bytes{container!=\"\",container!=\"POD\"}"),
            ),
            (
                "network_receive_bytes_rate",
                by_pod_owner("rate(container_network_receive_bytes_total[2m])"),
            ),
            (
                "network_transmit_bytes_rate",
                by_pod_owner("rate(container_network_transmit_bytes_total[2m])"),
            ),
            (
                "restarts_increase",
                by_container("increase(kube_pod_container_status_restarts_total[5m])"),
            ),
            (
                "oom_killed",
                by_container("kube_pod_container_status_last_terminated_reason{reason=\"OOMKilled\"}"),
            ),
            (
                "not_ready_pods",
                by_pod_owner("1 - kube_pod_status_ready{condition=\"true\"}"),
            ),
            (
                "request_rate",
                "sum by (service) (label_replace(rate(istio_requests_total{reporter=\"destination\"}[2m]), \"service\", \"$1\", \"destination_workload\", \"(.+)\")) or sum by (service) (label_replace(rate(http_server_request_duration_seconds_count[2m]), \"service\", \"$1\", \"service_name\", \"(.+)\"))".into(),
            ),
            (
                "error_ratio",
                "sum by (service) (label_replace(rate(istio_requests_total{reporter=\"destination\",response_code=~\"5..\"}[2m]), \"service\", \"$1\", \"destination_workload\", \"(.+)\")) / sum by (service) (label_replace(rate(istio_requests_total{reporter=\"destination\"}[2m]), \"service\", \"$1\", \"destination_workload\", \"(.+)\")) or sum by (service) (label_replace(rate(http_server_request_duration_seconds_count{http_response_status_code=~\"5..\"}[2m]), \"service\", \"$1\", \"service_name\", \"(.+)\")) / sum by (service) (label_replace(rate(http_server_request_duration_seconds_count[2m]), \"service\", \"$1\", \"service_name\", \"(.+)\"))".into(),
            ),
            (
                "latency_p90_seconds",
                "histogram_quantile(0.9, sum by (service, le) (label_replace(rate(istio_request_duration_milliseconds_bucket{reporter=\"destination\"}[2m]), \"service\", \"$1\", \"destination_workload\", \"(.+)\"))) / 1000 or histogram_quantile(0.9, sum by (service, le) (label_replace(rate(http_server_request_duration_seconds_bucket[2m]), \"service\", \"$1\", \"service_name\", \"(.+)\")))".into(),
            ),
            (
                "client_latency_p90_seconds",
                "histogram_quantile(0.9, sum by (service, le) (label_replace(rate(istio_request_duration_milliseconds_bucket{reporter=\"source\"}[2m]), \"service\", \"$1\", \"source_workload\", \"(.+)\"))) / 1000 or histogram_quantile(0.9, sum by (service, le) (label_replace(rate(http_client_request_duration_seconds_bucket[2m]), \"service\", \"$1\", \"service_name\", \"(.+)\")))".into(),
            ),
            (
                // The callee's latency as its callers saw it: with
                // latency_p90_seconds (the callee's own view) it tells a network
                // delay from a slow service.
                "callers_latency_p90_seconds",
                "histogram_quantile(0.9, sum by (service, le) (label_replace(rate(istio_request_duration_milliseconds_bucket{reporter=\"source\"}[2m]), \"service\", \"$1\", \"destination_workload\", \"(.+)\"))) / 1000 or histogram_quantile(0.9, sum by (service, le) (label_replace(rate(http_client_request_duration_seconds_bucket[2m]), \"service\", \"$1\", \"server_address\", \"([^.:]+).*\")))".into(),
            ),
            (
                "jvm_gc_seconds_rate",
                "sum by (service) (label_replace(rate(jvm_gc_pause_seconds_sum[2m]), \"service\", \"$1\", \"job\", \"(.+)\"))".into(),
            ),
            (
                "jvm_heap_memory_bytes",
                "sum by (service) (label_replace(jvm_memory_used_bytes{area=\"heap\"}, \"service\", \"$1\", \"job\", \"(.+)\"))".into(),
            ),
            (
                "go_goroutines",
                "sum by (service) (label_replace(go_goroutines, \"service\", \"$1\", \"job\", \"(.+)\"))".into(),
            ),
        ];
        let mut catalog = Self::from_map(signals);
        for s in &mut catalog.signals {
            // Names alone would read these wrong.
            match s.name.as_str() {
                "oom_killed" | "not_ready_pods" | "restarts_increase" => s.kind = Kind::Health,
                "jvm_gc_seconds_rate" => s.kind = Kind::Cpu,
                _ => {}
            }
        }
        catalog
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_follow_the_dataset_names() {
        assert_eq!(Kind::from_name("cpu_seconds_rate"), Kind::Cpu);
        assert_eq!(Kind::from_name("memory_working_set_bytes"), Kind::Memory);
        assert_eq!(Kind::from_name("network_receive_bytes_rate"), Kind::Network);
        assert_eq!(Kind::from_name("request_rate"), Kind::Traffic);
        assert_eq!(Kind::from_name("error_ratio"), Kind::Errors);
        assert_eq!(Kind::from_name("latency_p99_seconds"), Kind::Latency);
        assert_eq!(
            Kind::from_name("client_latency_p90_seconds"),
            Kind::ClientLatency
        );
        assert_eq!(
            Kind::from_name("callers_latency_p90_seconds"),
            Kind::CallerLatency
        );
    }

    #[test]
    fn default_catalog_parses_as_promql() {
        for s in SignalCatalog::default_cluster().signals {
            promql_parser::parser::parse(&s.query)
                .unwrap_or_else(|e| panic!("{}: {e}: {}", s.name, s.query));
        }
    }

    #[test]
    fn the_default_catalog_has_both_sides_of_a_call_for_network_delays() {
        let catalog = SignalCatalog::default_cluster();
        let query = |name: &str| {
            catalog
                .signals
                .iter()
                .find(|s| s.name == name)
                .map(|s| (s.kind, s.query.clone()))
                .unwrap_or_else(|| panic!("{name} is missing"))
        };
        let (kind, server) = query("latency_p90_seconds");
        assert_eq!(kind, Kind::Latency);
        assert!(server.contains("reporter=\"destination\"") && server.contains("http_server_"));
        let (kind, callers) = query("callers_latency_p90_seconds");
        assert_eq!(kind, Kind::CallerLatency);
        // Istio's client-side report and OpenTelemetry's client durations, both by
        // the callee.
        assert!(
            callers.contains("reporter=\"source\"") && callers.contains("destination_workload")
        );
        assert!(callers.contains("http_client_") && callers.contains("server_address"));
    }

    #[test]
    fn catalog_file_must_be_an_object() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("signals.json");
        std::fs::write(&path, "[1]").unwrap();
        assert!(matches!(
            SignalCatalog::from_file(&path),
            Err(Error::Parse { .. })
        ));
        std::fs::write(&path, r#"{"cpu": "sum by (service) (rate(x[1m]))"}"#).unwrap();
        let c = SignalCatalog::from_file(&path).unwrap();
        assert_eq!(c.signals[0].kind, Kind::Cpu);
    }
}
