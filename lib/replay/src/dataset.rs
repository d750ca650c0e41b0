//! An incident dataset (docs/dataset-format.md) loaded into memory.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::logs::LogStore;
use super::metric_store::MetricStore;
use super::traces::TraceStore;

/// Why a dataset could not be loaded; each names the file at fault.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// A file could not be opened or read.
    #[error("cannot read {0}: {1}")]
    Io(PathBuf, #[source] std::io::Error),
    /// A JSON file or line does not parse.
    #[error("{file} line {line}: {source}")]
    Json {
        /// The file.
        file: &'static str,
        /// The 1-based line.
        line: usize,
        /// What the parser said.
        source: serde_json::Error,
    },
    /// A line of a text format is malformed.
    #[error("{file} line {line}: {why}")]
    Format {
        /// The file.
        file: &'static str,
        /// The 1-based line.
        line: usize,
        /// What is wrong.
        why: String,
    },
}

/// `dataset.json`: what the system is and how its telemetry is named.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Meta {
    /// The dataset id, e.g. `nezha-tt-2023-01-29`.
    pub id: String,
    /// The system recorded, e.g. `train-ticket`.
    pub system: String,
    /// The Kubernetes namespace of the system.
    pub namespace: String,
    /// Start of the recording.
    pub start: DateTime<Utc>,
    /// End of the recording.
    pub end: DateTime<Utc>,
    /// The services of the system.
    pub services: Vec<String>,
    /// Signal name → PromQL returning one series per `service` label.
    #[serde(default)]
    pub signals: BTreeMap<String, String>,
    /// The known call graph, where no traces show it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub graph: Vec<Edge>,
}

/// One call-graph edge of `dataset.json`'s `graph`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Edge {
    /// The caller service.
    pub from: String,
    /// The callee service.
    pub to: String,
}

/// One question of `cases.jsonl`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Case {
    /// The case id.
    pub id: String,
    /// What an on-call engineer would type: the symptom, never the cause.
    pub question: String,
    /// Start of the range to analyze.
    pub start: DateTime<Utc>,
    /// End of the range to analyze.
    pub end: DateTime<Utc>,
}

/// One answer of `truth.jsonl`; only the scorer reads these.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Truth {
    /// The case id.
    pub id: String,
    /// The service the fault was injected into.
    pub service: String,
    /// The fault type.
    pub fault: String,
    /// When the fault began.
    pub fault_start: DateTime<Utc>,
}

/// A dataset in memory: metrics, logs and traces in compact, indexed stores.
#[derive(Debug)]
pub struct Dataset {
    /// The folder it was loaded from.
    pub dir: PathBuf,
    /// `dataset.json`.
    pub meta: Meta,
    /// `metrics.om.gz`.
    pub metrics: MetricStore,
    /// `logs.jsonl.gz` (empty when absent).
    pub logs: LogStore,
    /// `traces.jsonl.gz` (empty when absent).
    pub traces: TraceStore,
    cases: Vec<Case>,
}

impl Dataset {
    /// Loads every file of the dataset in `dir` except `truth.jsonl`; the three
    /// telemetry files are read in parallel.
    pub fn load(dir: impl AsRef<Path>) -> Result<Self, LoadError> {
        let dir = dir.as_ref().to_path_buf();
        let meta = Meta::load(&dir)?;
        let cases = read_jsonl(&dir.join("cases.jsonl"), "cases.jsonl")?.unwrap_or_default();
        let (metrics, logs, traces) = std::thread::scope(|scope| {
            let metrics = scope.spawn(|| {
                gz_reader(&dir.join("metrics.om.gz"))?
                    .map(MetricStore::parse)
                    .unwrap_or_else(|| Ok(MetricStore::default()))
            });
            let logs = scope.spawn(|| {
                gz_reader(&dir.join("logs.jsonl.gz"))?
                    .map(LogStore::parse)
                    .unwrap_or_else(|| Ok(LogStore::default()))
            });
            let traces = gz_reader(&dir.join("traces.jsonl.gz"))?
                .map(TraceStore::parse)
                .unwrap_or_else(|| Ok(TraceStore::default()))?;
            let metrics = metrics.join().expect("the metrics reader does not panic")?;
            let logs = logs.join().expect("the logs reader does not panic")?;
            Ok::<_, LoadError>((metrics, logs, traces))
        })?;
        Ok(Self {
            dir,
            meta,
            metrics,
            logs,
            traces,
            cases,
        })
    }

    /// The questions of `cases.jsonl`, in file order.
    pub fn cases(&self) -> &[Case] {
        &self.cases
    }

    /// The answers of `truth.jsonl`, read from disk on each call: only the scorer
    /// calls this, so nothing the analyzer can reach holds them.
    pub fn truth(&self) -> Result<Vec<Truth>, LoadError> {
        read_truth(&self.dir)
    }
}

impl Meta {
    /// Reads `dataset.json` in `dir`; fields it does not know are ignored.
    pub fn load(dir: &Path) -> Result<Self, LoadError> {
        let path = dir.join("dataset.json");
        let text = std::fs::read_to_string(&path).map_err(|e| LoadError::Io(path, e))?;
        serde_json::from_str(&text).map_err(|source| LoadError::Json {
            file: "dataset.json",
            line: source.line(),
            source,
        })
    }
}

/// Reads `truth.jsonl` of the dataset in `dir`.
pub fn read_truth(dir: &Path) -> Result<Vec<Truth>, LoadError> {
    let path = dir.join("truth.jsonl");
    read_jsonl(&path, "truth.jsonl")?
        .ok_or_else(|| LoadError::Io(path, std::io::ErrorKind::NotFound.into()))
}

/// A gunzipping reader of `path`, or `None` when the file does not exist.
fn gz_reader(path: &Path) -> Result<Option<impl BufRead>, LoadError> {
    match File::open(path) {
        Ok(f) => Ok(Some(BufReader::with_capacity(
            1 << 20,
            flate2::read::GzDecoder::new(BufReader::with_capacity(1 << 20, f)),
        ))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(LoadError::Io(path.to_path_buf(), e)),
    }
}

/// Every line of a JSON Lines file, or `None` when it does not exist.
fn read_jsonl<T: serde::de::DeserializeOwned>(
    path: &Path,
    file: &'static str,
) -> Result<Option<Vec<T>>, LoadError> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(LoadError::Io(path.to_path_buf(), e)),
    };
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| {
            serde_json::from_str(l).map_err(|source| LoadError::Json {
                file,
                line: i + 1,
                source,
            })
        })
        .collect::<Result<Vec<T>, _>>()
        .map(Some)
}
