//! `aegis eval --from-dump`: ranks again the telemetry `aegis eval --dump` wrote, with
//! no backend, in seconds, to tune the method offline. Each case's dump is
//! `<dump>/<dataset id>/<case id>.json` ([`aegis_rca::Observations`]); a case without
//! one is skipped and counted. Unlike a live evaluation, the truth is read first: the
//! oracle onset needs it, and nothing here is the analyzer's own path.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Instant;

use anyhow::Context;

use aegis_core::report::TimeRange;
use aegis_rca::{Observations, Ranking, Settings, SignalCatalog};
use aegis_replay::Truth;

use super::inject;
use super::score::{CaseResult, Scores};
use super::study;

/// Telemetry sources to rank without, as on a dataset that never recorded them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Dropped {
    /// Leave out the metrics (and their long history).
    pub metrics: bool,
    /// Leave out the log lines.
    pub logs: bool,
    /// Leave out the spans.
    pub traces: bool,
}

impl FromStr for Dropped {
    type Err = String;

    /// `metrics`, `logs` and `traces`, comma-separated, in any order; empty drops
    /// nothing.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let mut out = Self::default();
        for source in s.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            match source {
                "metrics" => out.metrics = true,
                "logs" => out.logs = true,
                "traces" => out.traces = true,
                other => {
                    return Err(format!(
                        "unknown source {other:?}: metrics, logs or traces, comma-separated"
                    ));
                }
            }
        }
        Ok(out)
    }
}

impl Dropped {
    /// `obs` without the dropped sources.
    pub fn apply(&self, obs: &mut Observations) {
        if self.metrics {
            obs.metrics.clear();
            obs.ordinary.clear();
        }
        if self.logs {
            obs.logs.clear();
        }
        if self.traces {
            obs.spans.clear();
        }
    }
}

/// How [`rerank`] runs.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Keep the first N cases of each dataset.
    pub limit: Option<usize>,
    /// Print each case's leading candidates and the truth with their evidence.
    pub verbose: bool,
    /// Write every candidate's score per case as `<folder>/<case id>.json`.
    pub scores: Option<PathBuf>,
    /// Give the engine the true fault start as its onset hint (what a perfect
    /// incident start would be worth).
    pub oracle_onset: bool,
    /// Sources to rank without.
    pub drop: Dropped,
    /// Also rank every case under each [`study::variants`] ([`study::Study`]).
    pub study: bool,
    /// The settings of the main ranking (the study's variants are its own).
    pub settings: Settings,
    /// Rank partly synthetic cases instead: this fault injected into what each case
    /// recorded before its own fault ([`inject::synthetic`]).
    pub inject: Option<inject::Injection>,
}

/// What [`rerank`] measured besides the scores.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Summary {
    /// Cases ranked.
    pub cases: usize,
    /// Cases of the datasets that had no dump.
    pub missing: usize,
    /// Cases with too little before their fault, no service to inject a fault into,
    /// or nothing the fault would change ([`Options::inject`]).
    pub unfit: usize,
    /// Mean natural log of the true cause's probability (a truth not ranked counts
    /// as a tenth of "unknown").
    pub mean_ln_p_truth: f64,
    /// Mean probability of the first candidate.
    pub mean_top_probability: f64,
    /// Median time of one ranking, milliseconds.
    pub median_rank_ms: f64,
    /// Slowest ranking, milliseconds.
    pub max_rank_ms: f64,
}

impl Summary {
    /// The lines printed before the table.
    pub fn text(&self) -> String {
        let mut out = format!(
            "mean ln p(truth) {:.3}; mean top probability {:.3}\nrank() per case: median {:.0} ms, max {:.0} ms\n",
            self.mean_ln_p_truth, self.mean_top_probability, self.median_rank_ms, self.max_rank_ms
        );
        if self.missing > 0 {
            out.push_str(&format!(
                "{} of {} cases had no dump and were skipped\n",
                self.missing,
                self.missing + self.cases
            ));
        }
        if self.unfit > 0 {
            out.push_str(&format!(
                "{} cases had too little before their fault, no service called often enough to inject into, or nothing the fault would change, and were skipped\n",
                self.unfit
            ));
        }
        out
    }

    /// Why nothing was scored, when nothing was: no case of the datasets had a dump
    /// under `dump`, or none could take the injected fault.
    pub fn nothing_scored(&self, dump: &Path) -> Option<String> {
        if self.cases > 0 {
            return None;
        }
        Some(if self.unfit > 0 {
            format!(
                "none of the {} dumped cases could take the injected fault: each had too little before its fault, no service called often enough to inject into, or nothing the fault would change",
                self.unfit
            )
        } else {
            format!(
                "no dumped case of these datasets under {} (write them with `aegis eval --dump`)",
                dump.display()
            )
        })
    }
}

/// Re-ranks the dumped telemetry of `datasets` (their folders, for `dataset.json`
/// and `truth.jsonl`) found under `dump`, writing the verbose lines to `out`.
pub fn rerank(
    datasets: &[PathBuf],
    dump: &Path,
    options: &Options,
    out: &mut dyn Write,
) -> anyhow::Result<(Scores, Summary)> {
    let variants = study::variants();
    let mut results = Vec::new();
    let mut study_runs = Vec::new();
    let (mut loglik, mut top_p, mut rank_ms) = (Vec::new(), Vec::new(), Vec::new());
    let (mut missing, mut unfit) = (0, 0);
    for dir in datasets {
        let meta = aegis_replay::Meta::load(dir)
            .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", dir.display()))?;
        let truth = aegis_replay::read_truth(dir)
            .map_err(|e| anyhow::anyhow!("cannot read the truth of {}: {e}", dir.display()))?;
        for (index, t) in truth
            .iter()
            .take(options.limit.unwrap_or(usize::MAX))
            .enumerate()
        {
            let path = dump.join(&meta.id).join(format!("{}.json", t.id));
            let text = match std::fs::read(&path) {
                Ok(text) => text,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    missing += 1;
                    continue;
                }
                Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
            };
            let mut obs: Observations = serde_json::from_slice(&text)
                .with_context(|| format!("reading {}", path.display()))?;
            let synthetic;
            let t = match options.inject {
                Some(injection) => match inject::synthetic(&obs, t, index, injection) {
                    Some((cut, truth)) => {
                        obs = cut;
                        synthetic = truth;
                        &synthetic
                    }
                    None => {
                        unfit += 1;
                        continue;
                    }
                },
                None => t,
            };
            if options.oracle_onset {
                obs.onset_hint = Some(oracle_onset(t));
            }
            options.drop.apply(&mut obs);
            if options.study {
                study_runs.push(study::CaseRuns {
                    system: meta.system.clone(),
                    services: meta.services.len(),
                    truth: t.service.clone(),
                    fault: t.fault.clone(),
                    runs: study::runs(&obs, &variants),
                });
            }
            let started = Instant::now();
            let ranking = aegis_rca::rank_with(&obs, &options.settings);
            rank_ms.push(started.elapsed().as_secs_f64() * 1000.0);
            if options.verbose {
                out.write_all(explain(&ranking, t).as_bytes())?;
            }
            if let Some(folder) = &options.scores {
                std::fs::create_dir_all(folder)?;
                let path = folder.join(format!("{}.json", t.id));
                std::fs::write(&path, serde_json::to_vec(&scores_of(&ranking))?)
                    .with_context(|| format!("writing {}", path.display()))?;
            }
            let p_truth = ranking
                .candidate(&t.service)
                .map_or(ranking.unknown / 10.0, |c| c.probability);
            loglik.push(p_truth.max(1e-6).ln());
            top_p.push(ranking.candidates.first().map_or(0.0, |c| c.probability));
            let input = aegis_rca::Input::new(
                TimeRange {
                    start: datetime(obs.start),
                    end: datetime(obs.end),
                },
                SignalCatalog::from_map(Vec::<(String, String)>::new()),
            );
            results.push(CaseResult {
                id: t.id.clone(),
                truth: t.service.clone(),
                ranked: ranking
                    .candidates
                    .iter()
                    .map(|c| c.service.clone())
                    .collect(),
                ms: 0,
                dataset: meta.id.clone(),
                fault: t.fault.clone(),
                fingerprint: aegis_similar::Fingerprint::of(&aegis_rca::report(&input, &obs)),
                system: meta.system.clone(),
                at: datetime(obs.end),
            });
        }
    }
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len().max(1) as f64;
    let summary = Summary {
        cases: results.len(),
        missing,
        unfit,
        mean_ln_p_truth: mean(&loglik),
        mean_top_probability: mean(&top_p),
        median_rank_ms: if rank_ms.is_empty() {
            0.0
        } else {
            aegis_rca::stats::median(&mut rank_ms.clone())
        },
        max_rank_ms: rank_ms.iter().copied().fold(0.0, f64::max),
    };
    let mut scores = Scores::new(results);
    if options.study {
        scores.study = Some(study::Study::of(&study_runs, &variants));
        scores.similar = Some(super::shown::SimilarStudy::of(&scores.cases));
    }
    Ok((scores, summary))
}

/// [`rerank`], printing the summary and the tables to stdout and optionally writing
/// the scores as JSON (the shape of `aegis eval --json`).
pub fn run(
    datasets: &[PathBuf],
    dump: &Path,
    json: Option<&Path>,
    options: &Options,
) -> anyhow::Result<()> {
    let mut stdout = std::io::stdout().lock();
    let (scores, summary) = rerank(datasets, dump, options, &mut stdout)?;
    if let Some(why) = summary.nothing_scored(dump) {
        anyhow::bail!(why);
    }
    write!(stdout, "{}{}", summary.text(), scores.table())?;
    if let Some(path) = json {
        std::fs::write(path, serde_json::to_string_pretty(&scores)?)
            .with_context(|| format!("writing {}", path.display()))?;
        eprintln!("scores written to {}", path.display());
    }
    Ok(())
}

/// [`Settings`] from JSON (any subset of its fields), for a command line.
pub fn settings_json(text: &str) -> Result<Settings, String> {
    serde_json::from_str(text).map_err(|e| format!("not aegis_rca::Settings JSON: {e}"))
}

/// The onset hint an alert at the true fault start would give.
fn oracle_onset(truth: &Truth) -> f64 {
    truth.fault_start.timestamp() as f64 + aegis_rca::ALERT_LEAD_SECONDS
}

/// Every candidate's score, by service.
fn scores_of(ranking: &Ranking) -> BTreeMap<&str, f64> {
    ranking
        .candidates
        .iter()
        .map(|c| (c.service.as_str(), c.score))
        .collect()
}

fn datetime(unix: f64) -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::from_timestamp_millis((unix * 1000.0) as i64).unwrap_or_default()
}

/// One case's verbose lines: the truth's rank and how far the estimated start is
/// from the fault's, then the first four candidates and the truth, each with its
/// evidence (`m` metrics, `l` error logs, `mix` template mix, `t` spans, `mention`
/// other services' errors naming it, `d` drift, `i` broken log invariant, `traffic`
/// broken traffic invariant; `by` the callee or named service that explains it,
/// `echo` the service its latency echoes), its three strongest metric shifts and its
/// span parts.
fn explain(ranking: &Ranking, t: &Truth) -> String {
    let fault_start = t.fault_start.timestamp() as f64;
    let rank = ranking
        .candidates
        .iter()
        .position(|c| c.service == t.service)
        .map(|i| i + 1);
    let mut out = format!(
        "{} {} {} rank {:?} split {:+.1} min\n",
        t.id,
        t.fault,
        t.service,
        rank,
        (ranking.incident_start - fault_start) / 60.0
    );
    // The truth after the first four when it is not among them.
    let truth = ranking
        .candidates
        .iter()
        .skip(4)
        .filter(|c| c.service == t.service);
    for c in ranking.candidates.iter().take(4).chain(truth) {
        let ch = &c.change;
        out.push_str(&format!(
            "   {:<28} {:.2} p={:.2} m={:.2} l={:.2} mix={:.2} t={:.2} mention={:.2} d={:.2} i={:.2} traffic={:.2} by={:?} echo={:?} error_echo={:?}\n",
            c.service,
            c.score,
            c.probability,
            ch.metric_score(),
            ch.logs.as_ref().map_or(0.0, |l| l.score()),
            ch.logs.as_ref().map_or(0.0, |l| l.mix_shift),
            ch.traces.as_ref().map_or(0.0, |t| t.score()),
            ch.mentions.as_ref().map_or(0.0, |m| m.score()),
            ch.drift.as_ref().map_or(0.0, |d| d.score()),
            ch.invariant.as_ref().map_or(0.0, |i| i.score()),
            ch.traffic.as_ref().map_or(0.0, |f| f.score()),
            c.explained_by,
            ch.latency_echo,
            ch.error_echo
        ));
        for m in ch.metrics.iter().take(3) {
            out.push_str(&format!(
                "      {} z={:.1} effect={:.2} onset {:+.1} min score {:.2} ordinary {:?}\n",
                m.signal.name,
                m.shift.z,
                m.shift.effect,
                (m.shift.onset - fault_start) / 60.0,
                m.score(),
                m.ordinary
            ));
        }
        if let Some(m) = ch.mentions.as_ref() {
            out.push_str(&format!(
                "      mentions: surge {:.2} by {:?}\n",
                m.surge, m.by
            ));
        }
        if let Some(l) = ch.logs.as_ref().filter(|l| l.surge > 0.0) {
            out.push_str(&format!(
                "      warnings and errors: surge {:.2}, {} new, ordinary {:?}\n",
                l.surge, l.new_templates, l.ordinary
            ));
        }
        if let Some(l) = ch.logs.as_ref().filter(|l| l.mix_shift > 0.0) {
            out.push_str(&format!(
                "      log mix shift {:.2}, ordinary {:?}\n",
                l.mix_shift, l.mix_ordinary
            ));
        }
        if let Some(d) = &ch.drift {
            out.push_str(&format!(
                "      drift {:.2} of {:?} (share {:.3} -> {:.3} of {} lines) over {} minutes, ordinary {:?}\n",
                d.drift, d.template.0, d.template.1, d.template.2, d.incident_lines, d.minutes, d.ordinary
            ));
        }
        if let Some(i) = &ch.invariant {
            out.push_str(&format!(
                "      invariant z {:.2} over {} minutes (weight {:.2}), ordinary {:?}\n",
                i.z, i.minutes, i.count_weight, i.ordinary
            ));
        }
        if let Some(t) = &ch.traces {
            out.push_str(&format!(
                "      traces: duration {:.2} self {:.2} errors {:.2} calls {:.2} network {:.2} busy {:.2} ({} spans in the incident part)\n",
                t.duration, t.self_time, t.error_rise, t.call_mix, t.network, t.busy, t.incident_spans
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dropped_sources_parse_from_a_comma_separated_list() {
        assert_eq!("".parse::<Dropped>(), Ok(Dropped::default()));
        assert_eq!(
            "traces, metrics".parse::<Dropped>(),
            Ok(Dropped {
                metrics: true,
                logs: false,
                traces: true
            })
        );
        let err = "metrics,disk".parse::<Dropped>().unwrap_err();
        assert!(err.contains("\"disk\""), "{err}");
    }

    #[test]
    fn a_dropped_source_is_empty_and_the_others_are_kept() {
        let mut obs: Observations = serde_json::from_value(serde_json::json!({
            "start": 0.0, "end": 900.0,
            "metrics": [{"signal": {"name": "cpu_seconds_rate", "query": "q", "kind": "cpu"},
                         "series": {"a": [[0.0, 1.0]]}}],
            "logs": [{"service": "a", "time": 10.0, "line": "ERROR x"}],
            "spans": [], "trace_query": null, "graph": [], "degraded": []
        }))
        .unwrap();
        "logs".parse::<Dropped>().unwrap().apply(&mut obs);
        assert!(obs.logs.is_empty());
        assert_eq!(obs.metrics.len(), 1);
        "metrics".parse::<Dropped>().unwrap().apply(&mut obs);
        assert!(obs.metrics.is_empty());
    }

    /// A dataset folder with two cases and a dump of the first only.
    fn dataset_and_dump(root: &Path) -> (PathBuf, PathBuf) {
        let dir = root.join("data");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(
            dir.join("dataset.json"),
            r#"{"id": "d1", "system": "s", "namespace": "n",
                "start": "2026-01-01T00:00:00Z", "end": "2026-01-01T01:00:00Z",
                "services": ["a", "b"]}"#,
        )
        .unwrap();
        std::fs::write(
            dir.join("truth.jsonl"),
            "{\"id\": \"c1\", \"service\": \"a\", \"fault\": \"cpu\", \"fault_start\": \"2026-01-01T00:10:00Z\"}\n\
             {\"id\": \"c2\", \"service\": \"b\", \"fault\": \"cpu\", \"fault_start\": \"2026-01-01T00:40:00Z\"}\n",
        )
        .unwrap();
        let dump = root.join("dump");
        std::fs::create_dir_all(dump.join("d1")).unwrap();
        let start = 1_767_225_600.0; // 2026-01-01T00:00:00Z
        // "a" steps up 10 minutes in; "b" stays flat.
        let series = |jump: bool| -> Vec<(f64, f64)> {
            (0..15)
                .map(|i| {
                    let v = if jump && i >= 10 { 5.0 } else { 1.0 };
                    (start + 60.0 * i as f64, v + 0.01 * (i % 3) as f64)
                })
                .collect()
        };
        let obs = serde_json::json!({
            "start": start, "end": start + 840.0,
            "metrics": [{"signal": {"name": "cpu_seconds_rate", "query": "q", "kind": "cpu"},
                         "series": {"a": series(true), "b": series(false)}}],
            "logs": [], "spans": [], "trace_query": null, "graph": [], "degraded": []
        });
        std::fs::write(
            dump.join("d1").join("c1.json"),
            serde_json::to_vec(&obs).unwrap(),
        )
        .unwrap();
        (dir, dump)
    }

    #[test]
    fn dumped_cases_are_ranked_scored_and_written_and_missing_ones_counted() {
        let root = tempfile::tempdir().unwrap();
        let (dir, dump) = dataset_and_dump(root.path());
        let options = Options {
            verbose: true,
            scores: Some(root.path().join("scores")),
            ..Options::default()
        };
        let mut verbose = Vec::new();
        let (scores, summary) = rerank(&[dir], &dump, &options, &mut verbose).unwrap();
        assert_eq!((summary.cases, summary.missing), (1, 1));
        assert_eq!(summary.nothing_scored(&dump), None);
        let none = Summary::default().nothing_scored(&dump).unwrap();
        assert!(
            none.starts_with("no dumped case of these datasets"),
            "{none}"
        );
        assert_eq!(
            scores.cases[0].ranked.first().map(String::as_str),
            Some("a")
        );
        let verbose = String::from_utf8(verbose).unwrap();
        assert!(verbose.starts_with("c1 cpu a rank Some(1)"), "{verbose}");
        let written: BTreeMap<String, f64> = serde_json::from_slice(
            &std::fs::read(root.path().join("scores").join("c1.json")).unwrap(),
        )
        .unwrap();
        assert!(written["a"] > written.get("b").copied().unwrap_or(0.0));
        assert!(summary.text().contains("1 of 2 cases had no dump"));
    }

    #[test]
    fn settings_are_read_from_partial_json_and_unknown_fields_refused() {
        let s = settings_json(r#"{"temperature": 0.2}"#).unwrap();
        assert_eq!(s.temperature, 0.2);
        assert_eq!(s.callee_discount, Settings::default().callee_discount);
        assert!(settings_json(r#"{"temprature": 0.2}"#).is_err());
    }

    #[test]
    fn an_injected_fault_replaces_the_case_and_a_case_with_nothing_to_inject_into_is_counted() {
        let root = tempfile::tempdir().unwrap();
        let (dir, dump) = dataset_and_dump(root.path());
        let options = Options {
            inject: Some("latency".parse().unwrap()),
            ..Options::default()
        };
        // Only CPU series: no span and no latency series to write a latency into.
        let (_, summary) =
            rerank(std::slice::from_ref(&dir), &dump, &options, &mut Vec::new()).unwrap();
        assert_eq!((summary.cases, summary.unfit), (0, 1));
        assert!(
            summary.text().contains("1 cases had too little"),
            "{}",
            summary.text()
        );
        let why = summary.nothing_scored(&dump).unwrap();
        assert!(
            why.starts_with("none of the 1 dumped cases could take the injected fault"),
            "{why}"
        );

        let path = dump.join("d1").join("c1.json");
        let mut obs: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
        let cpu = obs["metrics"][0].clone();
        let mut latency = cpu.clone();
        latency["signal"] =
            serde_json::json!({"name": "latency_p90_seconds", "query": "q", "kind": "latency"});
        // "b"'s latency is flat, as "a"'s CPU before its fault.
        latency["series"] = serde_json::json!({"b": cpu["series"]["b"]});
        obs["metrics"] = serde_json::json!([cpu, latency]);
        std::fs::write(&path, serde_json::to_vec(&obs).unwrap()).unwrap();
        let (scores, summary) =
            rerank(std::slice::from_ref(&dir), &dump, &options, &mut Vec::new()).unwrap();
        assert_eq!((summary.cases, summary.unfit), (1, 0));
        let case = &scores.cases[0];
        // The recorded fault ("a"'s CPU at minute 10) is cut off; the injected one
        // is "b"'s, and "b" is first.
        assert_eq!(
            (case.id.as_str(), case.truth.as_str(), case.fault.as_str()),
            ("c1-synthetic_latency", "b", "synthetic_latency")
        );
        assert_eq!(case.ranked.first().map(String::as_str), Some("b"));

        // A network delay at "b", which no span shows and nobody is known to call,
        // changes nothing the engine reads: counted, not scored.
        let network = Options {
            inject: Some("network_delay".parse().unwrap()),
            ..Options::default()
        };
        let (_, summary) = rerank(&[dir], &dump, &network, &mut Vec::new()).unwrap();
        assert_eq!((summary.cases, summary.unfit), (0, 1));
    }

    #[test]
    fn the_oracle_onset_is_the_true_start_plus_the_alert_lead() {
        let root = tempfile::tempdir().unwrap();
        let (dir, dump) = dataset_and_dump(root.path());
        let options = Options {
            oracle_onset: true,
            verbose: true,
            ..Options::default()
        };
        let mut verbose = Vec::new();
        rerank(&[dir], &dump, &options, &mut verbose).unwrap();
        // The split is the hint less the lead: the true start exactly.
        let verbose = String::from_utf8(verbose).unwrap();
        assert!(
            verbose.lines().next().unwrap().ends_with("split +0.0 min"),
            "{verbose}"
        );
    }
}
