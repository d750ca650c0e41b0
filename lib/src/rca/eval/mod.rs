//! `aegis eval`: runs the engine on every case of incident datasets, through the same
//! tools as production, and scores it. Metrics come from a real Prometheus when
//! `prometheus` and `promtool` are installed, else from the replay; logs and traces
//! always from the replay. Only the scorer reads `truth.jsonl`.

mod prometheus;
mod score;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use anyhow::Context;

pub use prometheus::{LoadedPrometheus, available as prometheus_available};
pub use score::{Accuracy, CaseResult, DatasetScore, Scores};

use super::{Catalog, Engine, Input};
use crate::analysis::TimeRange;
use crate::replay::{self, Dataset};
use crate::tools::{self, Backend, Tools};

/// Evaluates the engine on `datasets`, printing progress and a table and optionally
/// writing JSON. `limit` keeps the first N cases of each dataset.
pub async fn run(
    datasets: &[PathBuf],
    json: Option<&Path>,
    limit: Option<usize>,
) -> anyhow::Result<()> {
    let scores = evaluate(datasets, limit, true).await?;
    print!("{}", scores.table());
    if let Some(path) = json {
        let text = serde_json::to_string_pretty(&scores)?;
        std::fs::write(path, text).with_context(|| format!("writing {}", path.display()))?;
        eprintln!("scores written to {}", path.display());
    }
    Ok(())
}

/// Runs every case of `datasets` (the first `limit` of each) and scores them.
pub async fn evaluate(
    datasets: &[PathBuf],
    limit: Option<usize>,
    progress: bool,
) -> anyhow::Result<Scores> {
    let use_prometheus = prometheus_available();
    if progress && !use_prometheus {
        eprintln!("prometheus/promtool not on PATH: metrics come from the replay");
    }
    let mut results = Vec::new();
    for dir in datasets {
        results.extend(evaluate_one(dir, limit, use_prometheus, progress).await?);
    }
    Ok(Scores::new(results))
}

async fn evaluate_one(
    dir: &Path,
    limit: Option<usize>,
    use_prometheus: bool,
    progress: bool,
) -> anyhow::Result<Vec<CaseResult>> {
    let started = Instant::now();
    let owned = dir.to_path_buf();
    let (dataset, loaded) = tokio::join!(
        tokio::task::spawn_blocking(move || Dataset::load(&owned)),
        async {
            if use_prometheus {
                Some(LoadedPrometheus::start(dir).await)
            } else {
                None
            }
        }
    );
    let dataset = Arc::new(
        dataset?
            .map_err(|e| anyhow::anyhow!("cannot load the dataset in {}: {e}", dir.display()))?,
    );
    let loaded = loaded.transpose()?;
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0)).await?;
    let server = replay::Server::start(dataset.clone(), listener)?;
    let metrics_url = loaded
        .as_ref()
        .map_or(server.base_url.as_str(), |p| p.base_url.as_str());
    if progress {
        eprintln!(
            "{}: loaded in {:.1?}, metrics from {}",
            dataset.meta.id,
            started.elapsed(),
            if loaded.is_some() {
                "Prometheus"
            } else {
                "the replay"
            }
        );
    }
    let tools = Tools::new(&tools_config(metrics_url, &server.base_url)?)?;
    let catalog = Catalog::from_map(&dataset.meta.signals);
    let graph: Vec<(String, String)> = dataset
        .meta
        .graph
        .iter()
        .map(|e| (e.from.clone(), e.to.clone()))
        .collect();
    let cases: Vec<_> = dataset
        .cases()
        .iter()
        .take(limit.unwrap_or(usize::MAX))
        .cloned()
        .collect();

    let engine = Engine::default();
    let mut ranked = Vec::new();
    for (i, case) in cases.iter().enumerate() {
        let input = Input {
            symptom: Some(case.question.clone()),
            graph: graph.clone(),
            ..Input::new(
                TimeRange {
                    start: case.start,
                    end: case.end,
                },
                catalog.clone(),
            )
        };
        let t = Instant::now();
        let report = engine.analyze(&input, &tools).await;
        let ms = t.elapsed().as_millis() as u64;
        let services: Vec<String> = report
            .ranked_root_causes
            .iter()
            .map(|r| r.service.clone())
            .collect();
        if progress {
            eprintln!(
                "[{}/{}] {} -> {} ({ms} ms){}",
                i + 1,
                cases.len(),
                case.id,
                services
                    .iter()
                    .take(3)
                    .cloned()
                    .collect::<Vec<_>>()
                    .join(", "),
                if report.degraded.is_empty() {
                    String::new()
                } else {
                    format!(" degraded: {}", report.degraded.join("; "))
                }
            );
        }
        ranked.push((case.id.clone(), services, ms));
    }

    // Only now, after every case ran, does anything read the truth.
    let truth = dataset
        .truth()
        .map_err(|e| anyhow::anyhow!("cannot read the truth of {}: {e}", dir.display()))?;
    let mut out = Vec::new();
    for (id, services, ms) in ranked {
        let t = truth
            .iter()
            .find(|t| t.id == id)
            .with_context(|| format!("case {id} has no truth in {}", dir.display()))?;
        out.push(CaseResult {
            id,
            truth: t.service.clone(),
            ranked: services,
            ms,
            dataset: dataset.meta.id.clone(),
            fault: t.fault.clone(),
        });
    }
    drop(loaded);
    Ok(out)
}

/// Tools pointed at the loaded backends, with caps raised for whole systems.
fn tools_config(metrics: &str, replay: &str) -> anyhow::Result<tools::Config> {
    let backend = |url: &str| -> anyhow::Result<Option<Backend>> {
        Ok(Some(Backend {
            url: url.parse()?,
            auth: None,
        }))
    };
    let env = crate::config::Env::new(&|_| None);
    let mut config = tools::Config::from_env(&env)?;
    config.prometheus = backend(metrics)?;
    config.loki = backend(replay)?;
    config.jaeger = backend(replay)?;
    // Every service's series in one answer.
    config.max_series = config.max_series.max(1000);
    Ok(config)
}

#[cfg(test)]
mod tests {
    /// Development aid, not run in CI: `AEGIS_EVAL_DATASETS=dir1:dir2 cargo test -p aegis
    /// --lib rca::eval::tests::dev_datasets -- --ignored --nocapture`.
    #[tokio::test(flavor = "multi_thread")]
    #[ignore = "needs the dev datasets; run by hand"]
    async fn dev_datasets() {
        let dirs: Vec<std::path::PathBuf> = std::env::var("AEGIS_EVAL_DATASETS")
            .expect("AEGIS_EVAL_DATASETS names dataset folders, ':'-separated")
            .split(':')
            .map(Into::into)
            .collect();
        let limit = std::env::var("AEGIS_EVAL_LIMIT")
            .ok()
            .map(|v| v.parse().unwrap());
        let scores = super::evaluate(&dirs, limit, true).await.unwrap();
        print!("{}", scores.table());
        for c in &scores.cases {
            println!(
                "{} truth={} rank={:?} top={:?}",
                c.id,
                c.truth,
                c.rank(),
                &c.ranked[..c.ranked.len().min(3)]
            );
        }
    }
}
