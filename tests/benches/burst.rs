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
use aegis_tests::storm::{alert_group, post_each_twice, slow_prometheus};
use serde_json::Value;

async fn burst(n: usize) {
    let fake = FakeFeishu::start().await.unwrap();
    let (backend, _) = slow_prometheus(Duration::from_millis(150)).await.unwrap();
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
    let groups: Vec<Value> = (0..n)
        .map(|i| alert_group(&format!("Burst{i:03}"), "critical"))
        .collect();
    let began = Instant::now();
    post_each_twice(&dev.url("/alertmanager/webhook"), &groups)
        .await
        .unwrap();
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
