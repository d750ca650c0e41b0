//! Alert-storm benchmark: N distinct critical alert groups, each sent twice (as
//! Alertmanager repeats itself), 8 at a time, to `aegis dev` with the fake Feishu and a
//! Prometheus that takes 150 ms per query; analyze runs 4 at once (the default) and
//! queues the rest. Prints, per N, the time from the first post to the last alert card
//! and to the last result card, and how many dead letters the burst left (0 expected).
//!
//! `cargo bench -p aegis-tests --bench burst [-- N...]` (default 30 and 100). Figures
//! are in docs/benchmarks.md, section "Alert storms". Measures; asserts nothing.

use std::time::{Duration, Instant};

use aegis_tests::fake_feishu::{APP_ID, APP_SECRET, FakeFeishu};
use aegis_tests::process;
use serde_json::{Value, json};

fn group(name: &str) -> Value {
    let labels =
        json!({"alertname": name, "severity": "critical", "namespace": "shop", "service": "cart"});
    json!({
        "version": "4", "groupKey": format!("{{}}:{{alertname=\"{name}\"}}"), "truncatedAlerts": 0,
        "status": "firing", "receiver": "aegis", "groupLabels": {"alertname": name},
        "commonLabels": labels, "commonAnnotations": {"summary": format!("{name} fires")},
        "externalURL": "http://alertmanager:9093",
        "alerts": [{
            "status": "firing", "labels": labels, "annotations": {"summary": format!("{name} fires")},
            "startsAt": (chrono::Utc::now() - chrono::Duration::minutes(3)).to_rfc3339(),
            "endsAt": "0001-01-01T00:00:00Z",
            "generatorURL": "http://prometheus:9090/graph", "fingerprint": format!("fp-{name}")
        }]
    })
}

async fn slow_backend(delay: Duration) -> String {
    let app = axum::Router::new().fallback(move || async move {
        tokio::time::sleep(delay).await;
        axum::Json(json!({"status": "success", "data": {"resultType": "matrix", "result": []}}))
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    format!("http://{addr}")
}

async fn burst(n: usize) {
    let fake = FakeFeishu::start().await.unwrap();
    let backend = slow_backend(Duration::from_millis(150)).await;
    let feishu = fake.base_url().to_string();
    let (dev, _data) = process::dev(
        &[
            ("FEISHU_BASE_URL", &feishu),
            ("FEISHU_APP_ID", APP_ID),
            ("FEISHU_APP_SECRET", APP_SECRET),
            ("FEISHU_DEFAULT_CHAT_ID", "oc_bench"),
            ("AEGIS_AUTO_ANALYZE_SEVERITIES", "critical"),
            ("PROMETHEUS_BASE_URL", &backend),
            ("AEGIS_LOG_FORMAT", "text"),
            ("RUST_LOG", "error"),
        ],
        None,
    )
    .await
    .unwrap();
    let client = reqwest::Client::builder().no_proxy().build().unwrap();
    let mut posts: Vec<Value> = (0..n)
        .flat_map(|i| {
            let g = group(&format!("Burst{i:03}"));
            [g.clone(), g]
        })
        .collect();
    let began = Instant::now();
    while !posts.is_empty() {
        let batch: Vec<Value> = posts.drain(..posts.len().min(8)).collect();
        let sends = batch.iter().map(|body| {
            client
                .post(dev.url("/alertmanager/webhook"))
                .json(body)
                .send()
        });
        for res in futures::future::join_all(sends).await {
            assert_eq!(res.unwrap().status(), 200);
        }
    }
    let (mut last_card, mut last_result) = (None, None);
    while last_result.is_none() {
        let messages = fake.api.messages();
        let cards = messages
            .iter()
            .filter(|m| m.parent_id.is_none() && m.msg_type == "interactive")
            .count();
        let results = messages
            .iter()
            .filter(|m| {
                m.parent_id.is_some() && m.title().is_some_and(|t| t.contains("Root-cause"))
            })
            .count();
        if cards >= n && last_card.is_none() {
            last_card = Some(began.elapsed());
        }
        if results >= n {
            last_result = Some(began.elapsed());
        }
        assert!(
            began.elapsed() < Duration::from_secs(1800),
            "the burst did not finish"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    dev.broker().wait_idle().await;
    let dead = dev.store().list_dead_letters(10_000).await.unwrap().len();
    println!(
        "| {n} groups (x2) | {:.1} s | {:.1} s | {dead} |",
        last_card.unwrap().as_secs_f64(),
        last_result.unwrap().as_secs_f64()
    );
    dev.shutdown().await.unwrap();
}

fn main() {
    let sizes: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let sizes = if sizes.is_empty() {
        vec![30, 100]
    } else {
        sizes
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    println!("| burst | last alert card | last result card | dead letters |");
    println!("| --- | --- | --- | --- |");
    for n in sizes {
        runtime.block_on(burst(n));
    }
}
