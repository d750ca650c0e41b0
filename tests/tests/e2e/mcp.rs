//! `aegis mcp` driven by a real MCP client (the official `mcp` Python SDK,
//! tests/python/mcp_client.py) over stdio and over streamable HTTP: the real `aegis`
//! binary, the shipped demo incident replayed behind the Prometheus, Loki and Jaeger
//! APIs, and a folder store holding past reports.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;

use aegis_core::report::{Direction, Moved, Report, RootCause, TimeRange};
use aegis_store::ReportStore;
use tokio::io::AsyncBufReadExt;

fn incident_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../functions/aegis/demo/incident")
}

fn python_with_mcp() -> String {
    let python = std::env::var("PYTHON").unwrap_or_else(|_| "python3".into());
    let ok = std::process::Command::new(&python)
        .args(["-c", "import mcp.client.streamable_http"])
        .status()
        .is_ok_and(|s| s.success());
    assert!(
        ok,
        "{python} with the mcp SDK is required: run scripts/install-peers (pip install mcp)"
    );
    python
}

fn past(id: &str, service: &str, signal: &str) -> Report {
    let end = chrono::DateTime::parse_from_rfc3339("2023-01-20T10:00:00Z")
        .unwrap()
        .to_utc();
    Report {
        summary: format!("{service}: {signal} rose"),
        ranked_root_causes: vec![RootCause::new(1, service, 0.7)],
        moved: vec![Moved {
            service: service.into(),
            signal: signal.into(),
            direction: Direction::Up,
        }],
        ..Report::new(id, TimeRange::last(end, 15))
    }
}

/// The replay of the demo incident, a store with three past reports, and the
/// environment `aegis mcp` and the client read.
struct Setup {
    _replay: aegis_replay::Server,
    _dir: tempfile::TempDir,
    env: Vec<(String, String)>,
}

async fn setup() -> Setup {
    let dataset = aegis_replay::Dataset::load(incident_dir()).expect("the demo incident loads");
    let case = dataset.cases()[0].clone();
    let signals = dataset.meta.signals.clone();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let replay = aegis_replay::Server::start(Arc::new(dataset), listener).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let signals_file = dir.path().join("signals.json");
    std::fs::write(&signals_file, serde_json::to_vec(&signals).unwrap()).unwrap();
    let data = dir.path().join("data");
    let store = aegis_store::Folder::open(
        &data,
        std::time::Duration::from_secs(86_400 * 3650),
        aegis_store::ReportLinks::None,
    )
    .await
    .unwrap();
    for r in [
        past("past-1", "ts-contacts-service", "metric:cpu_seconds_rate"),
        past("past-2", "ts-contacts-service", "metric:cpu_seconds_rate"),
        past("past-3", "ts-order-service", "log:connection refused"),
    ] {
        store.put_report(&r, aegis_view::views(&r)).await.unwrap();
    }
    // One incident, as notifier would have recorded it.
    let store: Arc<dyn aegis_store::ReportStore> = Arc::new(store);
    let incidents = aegis_incident::Incidents::new(store, aegis_incident::Rule::default());
    let group: aegis_core::alert::Notification = serde_json::from_value(serde_json::json!({
        "version": "4", "groupKey": "g", "status": "firing", "receiver": "aegis",
        "alerts": [{"status": "firing", "labels": {"alertname": "ContactsDown", "service": "ts-contacts-service"},
                    "startsAt": case.start.to_rfc3339(), "endsAt": "0001-01-01T00:00:00Z", "fingerprint": "f"}],
    }))
    .unwrap();
    let incident = incidents
        .assign(&group, "alert-1", None, case.end)
        .await
        .unwrap()
        .incident;
    let url = replay.base_url.clone();
    let path = |p: &Path| p.display().to_string();
    let env = [
        ("PROMETHEUS_BASE_URL", url.clone()),
        ("LOKI_BASE_URL", url.clone()),
        ("JAEGER_BASE_URL", url),
        ("LOKI_SERVICE_LABEL_KEY", "app".into()),
        ("AEGIS_SIGNALS_FILE", path(&signals_file)),
        ("AEGIS_DATA_DIR", path(&data)),
        ("MCP_RANGE_START", case.start.to_rfc3339()),
        ("MCP_RANGE_END", case.end.to_rfc3339()),
        ("MCP_EXPECT_RANKED", "ts-contacts-service".into()),
        ("MCP_REPORT_ID", "past-1".into()),
        ("MCP_EXPECT_SIMILAR", "past-2".into()),
        ("MCP_NOT_SIMILAR", "past-3".into()),
        ("MCP_SERVICE", "ts-order-service".into()),
        ("MCP_INCIDENT", incident.id.clone()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    Setup {
        _replay: replay,
        _dir: dir,
        env,
    }
}

async fn client(python: &str, setup: &Setup, args: &[&str]) -> serde_json::Value {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/python/mcp_client.py");
    let out = tokio::process::Command::new(python)
        .arg(script)
        .args(args)
        .envs(setup.env.iter().map(|(k, v)| (k, v)))
        .env_remove("AEGIS_S3_BUCKET")
        .output()
        .await
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "the MCP client failed: {}\n{stdout}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_str(stdout.trim()).unwrap_or_else(|e| panic!("{e}: {stdout}"))
}

fn check(seen: &serde_json::Value) {
    let tools: Vec<&str> = seen["tools"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|t| t.as_str())
        .collect();
    assert!(tools.contains(&"rank_root_causes"), "{tools:?}");
    assert!(tools.contains(&"search_past_incidents"), "{tools:?}");
    assert!(tools.contains(&"list_incidents"), "{tools:?}");
    assert_eq!(
        seen["incidents"].as_array().map(Vec::len),
        Some(1),
        "{seen}"
    );
    assert_eq!(seen["timeline"][0], "alerts", "{seen}");
    let similar = seen["similar"].to_string();
    assert!(similar.contains("report past-2 (100% alike)"), "{similar}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_real_mcp_client_ranks_and_searches_over_stdio() {
    let python = python_with_mcp();
    let setup = setup().await;
    let bin = aegis_tests::process::aegis_bin().unwrap();
    let seen = client(&python, &setup, &["stdio", &bin.display().to_string()]).await;
    check(&seen);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_real_mcp_client_ranks_and_searches_over_streamable_http() {
    let python = python_with_mcp();
    let setup = setup().await;
    let mut server = tokio::process::Command::new(aegis_tests::process::aegis_bin().unwrap())
        .args(["mcp", "--http", "127.0.0.1:0"])
        .envs(setup.env.iter().map(|(k, v)| (k, v)))
        .env_remove("AEGIS_S3_BUCKET")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = tokio::io::BufReader::new(server.stderr.take().unwrap()).lines();
    let url = tokio::time::timeout(std::time::Duration::from_secs(30), async {
        while let Some(line) = lines.next_line().await.unwrap() {
            if let Some(url) = line.strip_prefix("aegis mcp: streamable HTTP at ") {
                return url.to_string();
            }
        }
        panic!("aegis mcp --http exited before listening");
    })
    .await
    .expect("aegis mcp --http listens within 30 s");
    let seen = client(&python, &setup, &["http", &url]).await;
    check(&seen);

    // The DNS-rebinding guard: a Host that is not loopback nor allowed is refused.
    let refused = reqwest::Client::new()
        .post(&url)
        .header("host", "evil.example")
        .header("accept", "application/json, text/event-stream")
        .json(&serde_json::json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list"}))
        .send()
        .await
        .unwrap();
    assert!(refused.status().is_client_error(), "{}", refused.status());
    server.start_kill().unwrap();
}
