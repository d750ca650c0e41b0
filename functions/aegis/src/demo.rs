//! `aegis demo`: the whole product on a laptop with nothing installed. A recorded real
//! incident (shipped in the binary) is replayed behind the Prometheus, Loki and Jaeger
//! query APIs as if it were happening now; its alert goes through the real webhook
//! path; the alert card and the result card print in the terminal (the console Feishu);
//! the analysis runs with the statistical engine, or the LLM agent when a model is
//! configured.

use std::collections::HashMap;
use std::io::Write;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use aegis_core::config::{Env, Lookup};
use aegis_core::report::Report;
use aegis_replay::{Dataset, Server};
use chrono::{DateTime, Utc};

use crate::dev::{DevHandle, DevOptions, start_dev};
use aegis_broker::HopOutcome;

/// The shipped incident: one case cut from a dev dataset by `scripts/slice-dataset.py`
/// (its SOURCE.md keeps the original licence notice).
const INCIDENT: &[(&str, &[u8])] = &[
    (
        "dataset.json",
        include_bytes!("../demo/incident/dataset.json"),
    ),
    (
        "cases.jsonl",
        include_bytes!("../demo/incident/cases.jsonl"),
    ),
    (
        "metrics.om.gz",
        include_bytes!("../demo/incident/metrics.om.gz"),
    ),
    (
        "logs.jsonl.gz",
        include_bytes!("../demo/incident/logs.jsonl.gz"),
    ),
    (
        "traces.jsonl.gz",
        include_bytes!("../demo/incident/traces.jsonl.gz"),
    ),
    ("SOURCE.md", include_bytes!("../demo/incident/SOURCE.md")),
];

/// How long the demo waits for the analysis before giving up.
const PATIENCE: Duration = Duration::from_secs(300);

/// `aegis demo [--port N] [--once]`.
pub async fn run(port: u16, once: bool) -> anyhow::Result<()> {
    // The port first: a port in use is the most likely mistake, and says so at once.
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
        .await
        .map_err(|e| {
            if e.kind() == std::io::ErrorKind::AddrInUse {
                anyhow::anyhow!("port {port} is already in use; choose another with --port")
            } else {
                anyhow::anyhow!("cannot listen on 127.0.0.1:{port}: {e}")
            }
        })?;
    // The incident and the demo's files live in a folder removed when the demo ends
    // (on every path out of this function); reports go to AEGIS_DATA_DIR when it is
    // set, and are kept there.
    let scratch = tempfile::Builder::new().prefix("aegis-demo-").tempdir()?;
    let work = scratch.path().to_path_buf();
    let kept = std::env::var("AEGIS_DATA_DIR")
        .ok()
        .filter(|d| !d.trim().is_empty())
        .map(std::path::PathBuf::from);
    let data = kept.clone().unwrap_or_else(|| work.join("reports"));
    let incident = work.join("incident");
    std::fs::create_dir_all(&incident)?;
    for (name, bytes) in INCIDENT {
        std::fs::write(incident.join(name), bytes)?;
    }

    step("loading the recorded incident");
    let dir = incident.clone();
    let mut dataset = tokio::task::spawn_blocking(move || Dataset::load(&dir)).await??;
    let case = dataset
        .cases()
        .first()
        .cloned()
        .ok_or_else(|| anyhow::anyhow!("the shipped incident has no case"))?;
    // Replay the recording so that the case ends now: the alert, the analysis's "last
    // minutes" and the recorded telemetry all line up on the wall clock.
    let now = Utc::now();
    let shift = now - case.end;
    dataset.shift(shift);
    let system = dataset.meta.system.clone();
    let namespace = dataset.meta.namespace.clone();
    let signals = dataset.meta.signals.clone();
    let replay = Server::start(
        Arc::new(dataset),
        tokio::net::TcpListener::bind("127.0.0.1:0").await?,
    )?;
    let signals_file = work.join("signals.json");
    std::fs::write(&signals_file, serde_json::to_vec_pretty(&signals)?)?;

    let vars = demo_vars(&replay.base_url, &data, &signals_file, port);
    let env = Env::new(&*vars);
    crate::config::validate(&env)?;
    let model = aegis_llm::Config::from_env(&env)?.default_model;
    let token = aegis_core::alert::Config::from_env(&env)?.webhook_token;
    let handle = start_dev(DevOptions::new(vars).listener(listener)).await?;
    let base = handle.url("");
    step(&format!(
        "replaying {} ({system}) through Prometheus, Loki and Jaeger APIs at {}",
        case.id, &replay.base_url
    ));
    step(&format!("aegis is serving every function at {base}"));
    step(match &model {
        Some(m) => format!("analysis: the LLM agent ({m}), the statistical engine as its hypothesis and fallback"),
        None => "analysis: the statistical engine (set DEFAULT_MODEL or AEGIS_LLM_BASE_URL for the LLM agent)".to_string(),
    }
    .as_str());

    step("Alertmanager fires: POST /alertmanager/webhook");
    // The alert fires as the recording reaches "now"; the notifier then analyses the
    // 15 minutes before it, which is the case's own range.
    let notification = alert(&namespace, &system, &case.question, now, now);
    let notification_file = work.join("notification.json");
    std::fs::write(
        &notification_file,
        serde_json::to_vec_pretty(&notification)?,
    )?;
    let mut req = reqwest::Client::new()
        .post(format!("{base}/alertmanager/webhook"))
        .json(&notification);
    if let Some(token) = &token {
        req = req.bearer_auth(token.expose());
    }
    let res = req.send().await?;
    anyhow::ensure!(
        res.status().is_success(),
        "the webhook answered {}: {}",
        res.status(),
        res.text().await.unwrap_or_default()
    );

    let report = follow(&handle).await?;
    print_outcome(&report, &base, &notification_file, &data, kept.is_some());
    if once {
        handle.shutdown().await?;
        drop(replay);
        return Ok(());
    }
    step("still serving; Ctrl-C to stop");
    aegis_runtime::shutdown_signal().await;
    handle.shutdown().await?;
    drop(replay);
    Ok(())
}

/// The variables of the demo: the replay as every backend, the console Feishu, the
/// report folder `data`; model settings come from the environment as usual.
fn demo_vars(replay: &str, data: &Path, signals: &Path, port: u16) -> Lookup {
    let overrides: HashMap<&'static str, String> = HashMap::from([
        ("PROMETHEUS_BASE_URL", replay.to_string()),
        ("LOKI_BASE_URL", replay.to_string()),
        ("JAEGER_BASE_URL", replay.to_string()),
        ("LOKI_SERVICE_LABEL_KEY", "app".to_string()),
        ("AEGIS_SIGNALS_FILE", signals.display().to_string()),
        ("AEGIS_DATA_DIR", data.display().to_string()),
        ("FEISHU_DEFAULT_CHAT_ID", "oc_demo_oncall".to_string()),
        ("AEGIS_AUTO_ANALYZE_SEVERITIES", "critical".to_string()),
        ("PORT", port.to_string()),
    ]);
    // The demo never talks to a real Feishu or backend, whatever the environment says.
    const FORCED_UNSET: &[&str] = &[
        "FEISHU_APP_ID",
        "FEISHU_APP_SECRET",
        "AEGIS_S3_BUCKET",
        "K_SINK",
    ];
    Arc::new(move |name| {
        if FORCED_UNSET.contains(&name) {
            return None;
        }
        overrides
            .get(name)
            .cloned()
            .or_else(|| std::env::var(name).ok())
    })
}

/// The alert a real rule on the system's front door would send: critical, firing, with
/// the on-call engineer's words as its summary. It names the namespace, not the cause.
fn alert(
    namespace: &str,
    system: &str,
    question: &str,
    starts_at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> serde_json::Value {
    let starts_at = starts_at.min(now);
    let labels = serde_json::json!({
        "alertname": "ServiceDegraded",
        "severity": "critical",
        "namespace": namespace,
        "system": system,
    });
    serde_json::json!({
        "version": "4",
        "groupKey": format!("{{}}:{{alertname=\"ServiceDegraded\",namespace=\"{namespace}\"}}"),
        "truncatedAlerts": 0,
        "status": "firing",
        "receiver": "aegis",
        "groupLabels": {"alertname": "ServiceDegraded", "namespace": namespace},
        "commonLabels": labels,
        "commonAnnotations": {"summary": question},
        "externalURL": "http://alertmanager.demo:9093",
        "alerts": [{
            "status": "firing",
            "labels": labels,
            "annotations": {
                "summary": question,
                "description": format!("Requests to {system} fail or slow down (replayed incident)."),
            },
            "startsAt": starts_at.to_rfc3339(),
            "endsAt": "0001-01-01T00:00:00Z",
            "generatorURL": "http://prometheus.demo:9090/graph",
            "fingerprint": "d3m0a1e27f00c0de",
        }],
    })
}

/// Shows each hop of the alert's journey as it happens, and a heartbeat while the
/// analysis runs; returns the stored report once the result card is out.
async fn follow(handle: &DevHandle) -> anyhow::Result<Report> {
    let broker = handle.broker().clone();
    let store = handle.store().clone();
    let started = Instant::now();
    let mut shown = 0;
    let mut idle = Box::pin(broker.wait_idle());
    let mut last_beat = Instant::now();
    loop {
        let done = tokio::select! {
            () = &mut idle => true,
            () = tokio::time::sleep(Duration::from_millis(200)) => false,
        };
        let hops = broker.hops();
        for hop in &hops[shown..] {
            step(&describe_hop(hop));
            last_beat = Instant::now();
        }
        shown = hops.len();
        if done {
            break;
        }
        if last_beat.elapsed() >= Duration::from_secs(3) {
            step(&format!("… working ({}s)", started.elapsed().as_secs()));
            last_beat = Instant::now();
        }
        anyhow::ensure!(
            started.elapsed() < PATIENCE,
            "no result after {}s",
            PATIENCE.as_secs()
        );
        if hops.iter().any(|h| {
            h.event_type.ends_with("analysis.completed.v1") && h.outcome == HopOutcome::Delivered
        }) {
            // The result card is out; let the last hops settle.
            broker.wait_idle().await;
        }
    }
    let listed = store.list_reports(None, 1).await?;
    let id = listed
        .first()
        .map(|r| r.id.clone())
        .ok_or_else(|| anyhow::anyhow!("the analysis produced no report; see the hops above"))?;
    store
        .get_report(&id)
        .await?
        .ok_or_else(|| anyhow::anyhow!("report {id} vanished from the store"))
}

fn describe_hop(hop: &aegis_broker::Hop) -> String {
    let ty = hop
        .event_type
        .trim_start_matches("io.aegis.")
        .trim_end_matches(".v1");
    let what = match (ty, hop.destination.as_str()) {
        ("alert.group.received", d) if d.contains("notifier") => {
            "notifier posts the alert card".to_string()
        }
        ("analysis.requested", d) if d.contains("analyze") => {
            "analyze runs the analysis".to_string()
        }
        ("analysis.requested", d) if d.contains("notifier") => {
            "notifier acknowledges the request".to_string()
        }
        ("analysis.completed", d) if d.contains("notifier") => {
            "notifier posts the result card".to_string()
        }
        _ => format!("{ty} -> {}", hop.destination),
    };
    let status = hop
        .status
        .map(|s| format!(" (HTTP {s})"))
        .unwrap_or_default();
    let reply = hop
        .reply
        .as_ref()
        .map(|(_, ty)| {
            format!(
                ", replies {}",
                ty.trim_start_matches("io.aegis.").trim_end_matches(".v1")
            )
        })
        .unwrap_or_default();
    format!("{what}: {:?}{status}{reply}", hop.outcome)
}

/// The ranking, where the full report is, and what to try next.
fn print_outcome(report: &Report, base: &str, notification: &Path, reports: &Path, kept: bool) {
    println!();
    println!(
        "Result ({} in {} ms, model: {}):",
        report.id, report.duration_ms, report.model
    );
    for c in report.ranked_root_causes.iter().take(3) {
        println!(
            "  {}. {} (p={:.2}) {}",
            c.rank, c.service, c.probability, c.description
        );
    }
    if !report.degraded.is_empty() {
        println!("  degraded: {}", report.degraded.join("; "));
    }
    println!();
    println!("The report page (charts, call graph, every tool call):");
    println!(
        "  {}",
        reports
            .join("reports")
            .join(format!("{}.html", report.id))
            .display()
    );
    println!(
        "  {base}/api/ops/analyses/{}   # in a browser, while the demo runs",
        report.id
    );
    if !kept {
        println!(
            "  (the demo's folder is removed when it stops; set AEGIS_DATA_DIR to keep its reports)"
        );
    }
    println!();
    println!("Try it yourself (while the demo runs):");
    println!(
        "  curl -s {base}/api/ops/analyses/{} -H 'Accept: text/markdown'",
        report.id
    );
    println!("  curl -s {base}/api/ops/analyses");
    println!(
        "  curl -s {base}/api/ops/analyze -H 'Content-Type: application/json' \\\n    -d '{{\"description\": \"why do requests fail?\", \"time_range\": {{\"start\": \"{}\", \"end\": \"{}\"}}}}'",
        report.time_range.start.to_rfc3339(),
        report.time_range.end.to_rfc3339()
    );
    println!(
        "  curl -sN {base}/api/ops/analyze/stream -H 'Content-Type: application/json' \\\n    -d '{{\"description\": \"why do requests fail?\", \"time_range\": {{\"start\": \"{}\", \"end\": \"{}\"}}}}'",
        report.time_range.start.to_rfc3339(),
        report.time_range.end.to_rfc3339()
    );
    println!(
        "  curl -s {base}/alertmanager/webhook -H 'Content-Type: application/json' -d @{}   # the alert again: deduplicated",
        notification.display()
    );
    let _ = std::io::stdout().flush();
}

fn step(text: &str) {
    println!("▸ {text}");
    let _ = std::io::stdout().flush();
}
