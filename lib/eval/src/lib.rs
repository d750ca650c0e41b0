//! `aegis eval`: runs the engine on every case of incident datasets, through the same
//! tools as production, and scores it. Metrics come from a real Prometheus when
//! `prometheus` and `promtool` are installed, else from the replay; logs and traces
//! always from the replay. Only the scorer reads `truth.jsonl`.

pub mod feedback;
pub mod inject;
mod prometheus;
pub mod rerank;
mod retrieval;
mod score;
pub mod shown;
pub mod study;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use anyhow::Context;

pub use prometheus::{LoadedPrometheus, available as prometheus_available};
pub use retrieval::Retrieval;
pub use score::{Accuracy, CaseResult, DatasetScore, Scores};

use aegis_core::report::TimeRange;
use aegis_rca::{Engine, Input, SignalCatalog};
use aegis_replay::{self as replay, Dataset};
use aegis_tools::{self as tools, Backend, Clients};

/// Evaluates the engine on `datasets`, printing progress and a table and optionally
/// writing JSON; `interrupted` (the process's shutdown signal) stops the evaluation.
pub async fn run(
    datasets: &[PathBuf],
    json: Option<&Path>,
    options: Options,
    interrupted: impl std::future::Future<Output = ()>,
) -> anyhow::Result<()> {
    // Ctrl-C or SIGTERM drops the evaluation, and with it the Prometheus it started
    // and its folder.
    let scores = tokio::select! {
        scores = evaluate(datasets, &options) => scores?,
        () = interrupted => anyhow::bail!("interrupted"),
    };
    print!("{}", scores.table());
    if let Some(path) = json {
        let text = serde_json::to_string_pretty(&scores)?;
        std::fs::write(path, text).with_context(|| format!("writing {}", path.display()))?;
        eprintln!("scores written to {}", path.display());
    }
    Ok(())
}

/// How [`evaluate`] runs.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Keep the first N cases of each dataset.
    pub limit: Option<usize>,
    /// Print progress to stderr.
    pub progress: bool,
    /// Write each case's fetched telemetry as JSON under this folder
    /// (`<dataset>/<case>.json`), to tune the method offline.
    pub observations: Option<PathBuf>,
    /// Also rank every case under each [`study::variants`] and report leave one
    /// system out, the ablation and the calibration ([`study::Study`]).
    pub study: bool,
}

/// Runs every case of `datasets` and scores them.
pub async fn evaluate(datasets: &[PathBuf], options: &Options) -> anyhow::Result<Scores> {
    let use_prometheus = prometheus_available();
    if options.progress && !use_prometheus {
        eprintln!("prometheus/promtool not on PATH: metrics come from the replay");
    }
    let mut results = Vec::new();
    let mut runs = Vec::new();
    for dir in datasets {
        let (r, s) = evaluate_one(dir, options, use_prometheus).await?;
        results.extend(r);
        runs.extend(s);
    }
    let mut scores = Scores::new(results);
    if options.study {
        scores.study = Some(study::Study::of(&runs, &study::variants()));
        scores.similar = Some(shown::SimilarStudy::of(&scores.cases));
    }
    Ok(scores)
}

async fn evaluate_one(
    dir: &Path,
    options: &Options,
    use_prometheus: bool,
) -> anyhow::Result<(Vec<CaseResult>, Vec<study::CaseRuns>)> {
    let progress = options.progress;
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
    let tools = Clients::new(&tools_config(metrics_url, &server.base_url)?)?;
    let catalog = SignalCatalog::from_map(&dataset.meta.signals);
    let graph: Vec<(String, String)> = dataset
        .meta
        .graph
        .iter()
        .map(|e| (e.from.clone(), e.to.clone()))
        .collect();
    let cases: Vec<_> = dataset
        .cases()
        .iter()
        .take(options.limit.unwrap_or(usize::MAX))
        .cloned()
        .collect();

    let engine = Engine::default();
    let variants = study::variants();
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
        let mut variant_runs = Vec::new();
        let report = if options.observations.is_some() || options.study {
            // Same path as `analyze`, keeping what was fetched for offline tuning.
            let (obs, _) = engine.observe(&input, &tools).await;
            if let Some(dump) = &options.observations {
                let dir = dump.join(&dataset.meta.id);
                std::fs::create_dir_all(&dir)?;
                std::fs::write(
                    dir.join(format!("{}.json", case.id)),
                    serde_json::to_vec(&obs)?,
                )?;
            }
            let report = aegis_rca::report(&input, &obs);
            if options.study {
                variant_runs = study::runs(&obs, &variants);
            }
            report
        } else {
            engine.analyze(&input, &tools).await
        };
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
        let fingerprint = aegis_similar::Fingerprint::of(&report);
        ranked.push((
            case.id.clone(),
            case.end,
            services,
            ms,
            fingerprint,
            variant_runs,
        ));
    }

    // Only now, after every case ran, does anything read the truth.
    let truth = dataset
        .truth()
        .map_err(|e| anyhow::anyhow!("cannot read the truth of {}: {e}", dir.display()))?;
    let mut out = Vec::new();
    let mut runs = Vec::new();
    for (id, at, services, ms, fingerprint, variant_runs) in ranked {
        let t = truth
            .iter()
            .find(|t| t.id == id)
            .with_context(|| format!("case {id} has no truth in {}", dir.display()))?;
        if options.study {
            runs.push(study::CaseRuns {
                system: dataset.meta.system.clone(),
                services: dataset.meta.services.len(),
                truth: t.service.clone(),
                fault: t.fault.clone(),
                runs: variant_runs,
            });
        }
        out.push(CaseResult {
            id,
            truth: t.service.clone(),
            ranked: services,
            ms,
            dataset: dataset.meta.id.clone(),
            fault: t.fault.clone(),
            fingerprint,
            system: dataset.meta.system.clone(),
            at,
        });
    }
    drop(loaded);
    Ok((out, runs))
}

/// Clients pointed at the loaded backends, with caps raised for whole systems.
fn tools_config(metrics: &str, replay: &str) -> anyhow::Result<tools::Config> {
    let backend = |url: &str| -> anyhow::Result<Option<Backend>> {
        Ok(Some(Backend {
            url: url.parse()?,
            auth: None,
        }))
    };
    let env = aegis_core::config::Env::new(&|_| None);
    let mut config = tools::Config::from_env(&env)?;
    config.prometheus = backend(metrics)?;
    config.loki = backend(replay)?;
    config.jaeger = backend(replay)?;
    // Every service's series in one answer.
    config.max_series = config.max_series.max(1000);
    Ok(config)
}
