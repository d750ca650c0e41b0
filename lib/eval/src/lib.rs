//! `aegis eval`: runs the engine on every case of incident datasets, through the same
//! tools as production, and scores it. Metrics come from a real Prometheus when
//! `prometheus` and `promtool` are installed, else from the replay; logs and traces
//! always from the replay. Only the scorer reads `truth.jsonl`.

pub mod feedback;
mod prometheus;
mod retrieval;
mod score;
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
        ranked.push((case.id.clone(), services, ms, fingerprint, variant_runs));
    }

    // Only now, after every case ran, does anything read the truth.
    let truth = dataset
        .truth()
        .map_err(|e| anyhow::anyhow!("cannot read the truth of {}: {e}", dir.display()))?;
    let mut out = Vec::new();
    let mut runs = Vec::new();
    for (id, services, ms, fingerprint, variant_runs) in ranked {
        let t = truth
            .iter()
            .find(|t| t.id == id)
            .with_context(|| format!("case {id} has no truth in {}", dir.display()))?;
        if options.study {
            runs.push(study::CaseRuns {
                system: dataset.meta.system.clone(),
                services: dataset.meta.services.len(),
                truth: t.service.clone(),
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

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    fn dirs() -> Vec<PathBuf> {
        std::env::var("AEGIS_EVAL_DATASETS")
            .expect("AEGIS_EVAL_DATASETS names dataset folders, ':'-separated")
            .split(':')
            .map(Into::into)
            .collect()
    }

    /// Development aid, not run in CI: `AEGIS_EVAL_DATASETS=dir1:dir2
    /// [AEGIS_EVAL_DUMP=folder] cargo test -p aegis-eval --lib tests::dev_datasets
    /// -- --ignored --nocapture`.
    #[tokio::test(flavor = "multi_thread")]
    #[ignore = "needs the dev datasets; run by hand"]
    async fn dev_datasets() {
        let options = super::Options {
            limit: std::env::var("AEGIS_EVAL_LIMIT")
                .ok()
                .map(|v| v.parse().unwrap()),
            progress: true,
            observations: std::env::var("AEGIS_EVAL_DUMP").ok().map(Into::into),
            study: std::env::var("AEGIS_EVAL_STUDY").is_ok(),
        };
        let scores = super::evaluate(&dirs(), &options).await.unwrap();
        print!("{}", scores.table());
    }

    fn chrono_of(unix: f64) -> chrono::DateTime<chrono::Utc> {
        chrono::DateTime::from_timestamp_millis((unix * 1000.0) as i64).unwrap()
    }

    /// Development aid: re-ranks the telemetry `dev_datasets` dumped, without any
    /// backend, and scores it. `AEGIS_EVAL_VERBOSE` prints each case's leading
    /// candidates with their evidence; `AEGIS_EVAL_SCORES=<dir>` writes every
    /// candidate's score per case (to try a new feature in a notebook before Rust);
    /// `AEGIS_EVAL_ORACLE_ONSET` gives the engine the true fault start as its onset
    /// hint, to see what a better incident start would be worth;
    /// `AEGIS_EVAL_DROP=metrics,logs,traces` (any of them) ranks without those
    /// sources, as on a dataset that never recorded them.
    #[test]
    #[ignore = "needs dumped observations; run by hand"]
    fn rerank_dumps() {
        let dump = PathBuf::from(std::env::var("AEGIS_EVAL_DUMP").unwrap());
        let mut results = Vec::new();
        let (mut loglik, mut top_p) = (Vec::new(), Vec::new());
        let mut rank_ms = Vec::new();
        let study = std::env::var("AEGIS_EVAL_STUDY").is_ok();
        let variants = super::study::variants();
        let mut study_runs = Vec::new();
        for dir in dirs() {
            let id = dir.file_name().unwrap().to_string_lossy().to_string();
            let meta = aegis_replay::Meta::load(&dir).unwrap();
            for t in aegis_replay::read_truth(&dir).unwrap() {
                let path = dump.join(&id).join(format!("{}.json", t.id));
                let Ok(text) = std::fs::read(&path) else {
                    continue;
                };
                let mut obs: aegis_rca::Observations = serde_json::from_slice(&text).unwrap();
                if std::env::var("AEGIS_EVAL_ORACLE_ONSET").is_ok() {
                    obs.onset_hint =
                        Some(t.fault_start.timestamp() as f64 + aegis_rca::ALERT_LEAD_SECONDS);
                }
                for source in std::env::var("AEGIS_EVAL_DROP")
                    .unwrap_or_default()
                    .split(',')
                {
                    match source {
                        "metrics" => obs.metrics.clear(),
                        "logs" => obs.logs.clear(),
                        "traces" => obs.spans.clear(),
                        "" => {}
                        other => panic!(
                            "AEGIS_EVAL_DROP names {other:?}: metrics, logs or traces, comma-separated"
                        ),
                    }
                }
                let settings: aegis_rca::Settings = std::env::var("AEGIS_EVAL_SETTINGS")
                    .map(|s| {
                        serde_json::from_str(&s).expect("AEGIS_EVAL_SETTINGS is Settings JSON")
                    })
                    .unwrap_or_default();
                if study {
                    study_runs.push(super::study::CaseRuns {
                        system: meta.system.clone(),
                        services: meta.services.len(),
                        truth: t.service.clone(),
                        runs: super::study::runs(&obs, &variants),
                    });
                }
                let started = std::time::Instant::now();
                let ranking = aegis_rca::rank_with(&obs, &settings);
                rank_ms.push(started.elapsed().as_secs_f64() * 1000.0);
                let ranked: Vec<String> = ranking
                    .candidates
                    .iter()
                    .map(|c| c.service.clone())
                    .collect();
                let input = aegis_rca::Input::new(
                    aegis_core::report::TimeRange {
                        start: chrono_of(obs.start),
                        end: chrono_of(obs.end),
                    },
                    aegis_rca::SignalCatalog::from_map(Vec::<(String, String)>::new()),
                );
                let r = super::CaseResult {
                    id: t.id.clone(),
                    truth: t.service.clone(),
                    ranked,
                    ms: 0,
                    dataset: id.clone(),
                    fault: t.fault.clone(),
                    fingerprint: aegis_similar::Fingerprint::of(&aegis_rca::report(&input, &obs)),
                };
                if std::env::var("AEGIS_EVAL_VERBOSE").is_ok() {
                    println!(
                        "{} {} {} rank {:?} split {:+.1} min",
                        t.id,
                        t.fault,
                        t.service,
                        r.rank(),
                        (ranking.incident_start - t.fault_start.timestamp() as f64) / 60.0
                    );
                    for c in ranking
                        .candidates
                        .iter()
                        .take(4)
                        .chain(ranking.candidates.iter().filter(|c| c.service == t.service))
                    {
                        println!(
                            "   {:<28} {:.2} m={:.2} l={:.2} mix={:.2} t={:.2} n={:.2} d={:.2} i={:.2} f={:.2} by={:?} echo={:?}",
                            c.service,
                            c.score,
                            c.change.metric_score(),
                            c.change.logs.as_ref().map_or(0.0, |l| l.score()),
                            c.change.logs.as_ref().map_or(0.0, |l| l.mix_shift),
                            c.change.traces.as_ref().map_or(0.0, |t| t.score()),
                            c.change.mentions.as_ref().map_or(0.0, |m| m.score()),
                            c.change.drift.as_ref().map_or(0.0, |d| d.score()),
                            c.change.invariant.as_ref().map_or(0.0, |i| i.score()),
                            c.change.traffic.as_ref().map_or(0.0, |f| f.score()),
                            c.explained_by,
                            c.change.latency_echo
                        );
                        for m in c.change.metrics.iter().take(3) {
                            println!(
                                "      {} z={:.1} effect={:.2} onset {:+.1} min score {:.2} ordinary {:?}",
                                m.signal.name,
                                m.shift.z,
                                m.shift.effect,
                                (m.shift.onset - t.fault_start.timestamp() as f64) / 60.0,
                                m.score(),
                                m.ordinary
                            );
                        }
                        if let Some(t) = &c.change.traces {
                            println!(
                                "      traces: duration {:.2} self {:.2} errors {:.2} calls {:.2} network {:.2} busy {:.2}",
                                t.duration,
                                t.self_time,
                                t.error_rise,
                                t.call_mix,
                                t.network,
                                t.busy
                            );
                        }
                    }
                }
                if let Ok(dir) = std::env::var("AEGIS_EVAL_SCORES") {
                    let scores: std::collections::BTreeMap<&str, f64> = ranking
                        .candidates
                        .iter()
                        .map(|c| (c.service.as_str(), c.score))
                        .collect();
                    let path = PathBuf::from(dir).join(format!("{}.json", t.id));
                    std::fs::write(path, serde_json::to_vec(&scores).unwrap()).unwrap();
                }
                let p_truth = ranking
                    .candidates
                    .iter()
                    .find(|c| c.service == t.service)
                    .map_or(ranking.unknown / 10.0, |c| c.probability);
                loglik.push(p_truth.max(1e-6).ln());
                top_p.push(ranking.candidates.first().map_or(0.0, |c| c.probability));
                results.push(r);
            }
        }
        let n = loglik.len().max(1) as f64;
        println!(
            "mean ln p(truth) {:.3}; mean top probability {:.3}",
            loglik.iter().sum::<f64>() / n,
            top_p.iter().sum::<f64>() / n
        );
        println!(
            "rank() per case: median {:.0} ms, max {:.0} ms",
            aegis_rca::stats::median(&mut rank_ms.clone()),
            rank_ms.iter().copied().fold(0.0, f64::max)
        );
        print!("{}", super::Scores::new(results).table());
        if study {
            print!(
                "{}",
                super::study::Study::of(&study_runs, &variants).table()
            );
        }
    }
}
