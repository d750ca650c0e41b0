//! Replay latency: loads each dev dataset and times every catalog query through the
//! replay's HTTP API (instant and 15-minute/1-hour range queries), plus a Loki and a
//! Jaeger search. Prints a Markdown table for docs/benchmarks.md.
//!
//! `cargo bench -p aegis-replay --bench replay --profile dev [-- <dataset-dir>...]`
//! (defaults to every folder under ../shared/eval/dev).

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use aegis_replay::{Dataset, Server};

fn datasets() -> Vec<PathBuf> {
    let args: Vec<PathBuf> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .map(PathBuf::from)
        .collect();
    if !args.is_empty() {
        return args;
    }
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/eval/dev");
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(&root)
        .map(|rd| {
            rd.filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.join("dataset.json").exists())
                .collect()
        })
        .unwrap_or_default();
    dirs.sort();
    dirs
}

/// Median of `n` timed GETs of `url`.
async fn time_get(client: &reqwest::Client, url: &str, n: usize) -> (Duration, usize) {
    let mut times = Vec::with_capacity(n);
    let mut bytes = 0;
    for _ in 0..n {
        let started = Instant::now();
        let res = client.get(url).send().await.expect("the replay answers");
        assert!(res.status().is_success(), "{url}: {}", res.status());
        bytes = res.bytes().await.expect("a body").len();
        times.push(started.elapsed());
    }
    times.sort();
    (times[n / 2], bytes)
}

fn enc(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

#[tokio::main]
async fn main() {
    let client = reqwest::Client::new();
    println!("| dataset | query | kind | median | response bytes |");
    println!("| --- | --- | --- | ---: | ---: |");
    for dir in datasets() {
        let started = Instant::now();
        let ds = Dataset::load(&dir).expect("the dataset loads");
        let load = started.elapsed();
        let id = ds.meta.id.clone();
        eprintln!(
            "{id}: loaded in {load:.2?} ({} series, {} log lines, {} spans)",
            ds.metrics.series.len(),
            ds.logs.len(),
            ds.traces.spans.len()
        );
        println!(
            "| {id} | (load dataset) | load | {:.0} ms | |",
            load.as_secs_f64() * 1e3
        );
        let case = ds.cases().first().cloned().expect("a case");
        let signals = ds.meta.signals.clone();
        // The service with the most traces: the heaviest Jaeger search.
        let service = (0..ds.traces.services.len())
            .max_by_key(|&i| ds.traces.traces_by_service[i].len())
            .map(|i| ds.traces.services[i].to_string())
            .unwrap_or_default();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a port");
        let server = Server::start(Arc::new(ds), listener).expect("the server starts");
        let base = &server.base_url;
        let (start, end) = (case.start.timestamp(), case.end.timestamp());
        for (name, q) in &signals {
            let url = format!("{base}/api/v1/query?query={}&time={end}", enc(q));
            let (t, b) = time_get(&client, &url, 5).await;
            println!(
                "| {id} | {name} | instant | {:.1} ms | {b} |",
                t.as_secs_f64() * 1e3
            );
            let url = format!(
                "{base}/api/v1/query_range?query={}&start={start}&end={end}&step=15",
                enc(q)
            );
            let (t, b) = time_get(&client, &url, 5).await;
            println!(
                "| {id} | {name} | range {}m step 15s | {:.1} ms | {b} |",
                (end - start) / 60,
                t.as_secs_f64() * 1e3
            );
            let url = format!(
                "{base}/api/v1/query_range?query={}&start={}&end={end}&step=60",
                enc(q),
                end - 3600
            );
            let (t, b) = time_get(&client, &url, 5).await;
            println!(
                "| {id} | {name} | range 60m step 60s | {:.1} ms | {b} |",
                t.as_secs_f64() * 1e3
            );
        }
        let ns = |s: i64| s * 1_000_000_000;
        let logq = format!(
            "{{namespace=\"{}\"}} |~ \"(?i)error|exception\"",
            case_namespace(&signals)
        );
        let url = format!(
            "{base}/loki/api/v1/query_range?query={}&start={}&end={}&limit=1000",
            enc(&logq),
            ns(start),
            ns(end)
        );
        let (t, b) = time_get(&client, &url, 5).await;
        println!(
            "| {id} | loki error lines | logs 1000 | {:.1} ms | {b} |",
            t.as_secs_f64() * 1e3
        );
        let url = format!(
            "{base}/api/traces?service={}&start={}&end={}&limit=20",
            enc(&service),
            start * 1_000_000,
            end * 1_000_000
        );
        let (t, b) = time_get(&client, &url, 5).await;
        println!(
            "| {id} | jaeger search {service} | traces 20 | {:.1} ms | {b} |",
            t.as_secs_f64() * 1e3
        );
        drop(server);
    }
}

/// The namespace the catalog queries select (every dev dataset's signals name it).
fn case_namespace(signals: &std::collections::BTreeMap<String, String>) -> String {
    signals
        .values()
        .find_map(|q| {
            q.split("namespace=\"")
                .nth(1)
                .and_then(|r| r.split('"').next())
                .map(str::to_owned)
        })
        .unwrap_or_default()
}
