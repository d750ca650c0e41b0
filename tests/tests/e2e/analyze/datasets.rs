//! A dev dataset (`../shared/eval/dev`, format in `docs/dataset-format.md`) served by
//! the replay as the backends of an analysis: Prometheus, Loki and Jaeger all at the
//! replay's URL, the dataset's signals as the engine's catalog. Shared by the analyze
//! tests and `benches/analysis_datasets.rs` (which includes this file by path).

use std::path::PathBuf;
use std::sync::Arc;

use aegis_replay::{Dataset, Server};

/// Train Ticket, 2023-01-29 (loads faster than Online Boutique: fewer spans).
pub const TRAIN_TICKET: &str = "nezha-tt-2023-01-29";
/// Online Boutique, 2022-08-22.
#[allow(dead_code)] // used by the benchmark only
pub const ONLINE_BOUTIQUE: &str = "nezha-ob-2022-08-22";

/// The folder of the dev dataset `name`; panics saying where it is expected.
pub fn dev_dataset(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared/eval/dev")
        .join(name);
    assert!(
        dir.join("dataset.json").is_file(),
        "the dev dataset is missing at {}: the evaluation datasets live in ../shared/eval/dev",
        dir.display()
    );
    dir
}

/// The request the statistical engine answers for `case` (model `statistical`); set
/// its `model` to `None` for the configured model.
#[allow(dead_code)] // not every includer asks for it
pub fn engine_request(case: &aegis_replay::Case) -> aegis_core::request::Request {
    aegis_core::request::Request {
        description: case.question.clone(),
        time_range: aegis_core::report::TimeRange {
            start: case.start,
            end: case.end,
        },
        model: Some(aegis_analysis::STATISTICAL.into()),
        session_id: None,
        alert: None,
        language: None,
    }
}

/// A loaded dataset behind a running replay.
pub struct Backends {
    /// The dataset (its cases and signals).
    pub dataset: Arc<Dataset>,
    /// The replay serving it; dropping it stops the server.
    pub server: Server,
    /// Holds the signals file and the report store.
    dir: tempfile::TempDir,
}

impl Backends {
    /// Loads the dev dataset `name` (seconds in debug builds) and serves it on port 0.
    pub async fn start(name: &str) -> Self {
        Self::start_at(dev_dataset(name)).await
    }

    /// Loads the dataset in `folder` and serves it on port 0.
    pub async fn start_at(folder: PathBuf) -> Self {
        let name = folder.display().to_string();
        let dataset = tokio::task::spawn_blocking(move || Dataset::load(&folder))
            .await
            .expect("the loader does not panic")
            .unwrap_or_else(|e| panic!("dataset {name} loads: {e}"));
        let dataset = Arc::new(dataset);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind port 0");
        let server = Server::start(dataset.clone(), listener).expect("replay starts");
        let dir = tempfile::tempdir().expect("temp dir");
        let signals = serde_json::to_string(&dataset.meta.signals).expect("a map serialises");
        std::fs::write(dir.path().join("signals.json"), signals).expect("signals file");
        Self {
            dataset,
            server,
            dir,
        }
    }

    /// The variables that point the tools and the engine at the replay, as
    /// `aegis eval` configures them (every service's series in one answer), with the
    /// report store in a temp folder.
    pub fn vars(&self) -> Vec<(&'static str, String)> {
        let url = self.server.base_url.clone();
        vec![
            ("PROMETHEUS_BASE_URL", url.clone()),
            ("LOKI_BASE_URL", url.clone()),
            ("JAEGER_BASE_URL", url),
            (
                "AEGIS_SIGNALS_FILE",
                self.dir.path().join("signals.json").display().to_string(),
            ),
            ("AEGIS_TOOL_MAX_SERIES", "1000".into()),
            ("AEGIS_DATA_DIR", self.dir.path().display().to_string()),
        ]
    }

    /// The engine's catalog: the dataset's signals.
    pub fn catalog(&self) -> aegis_rca::SignalCatalog {
        aegis_rca::SignalCatalog::from_map(&self.dataset.meta.signals)
    }
}
