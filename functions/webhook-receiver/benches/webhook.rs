//! webhook-receiver throughput and latency (measured, never asserted): a 10-alert
//! notification, the production layers (`runtime::mount`), the HTTP sink posting every
//! event to a local server that accepts it, over real TCP.
//!
//! Run: `cargo bench -p webhook-receiver --bench webhook`
//! (the load generator shares the machine's cores with the server and the sink).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

const CONNECTIONS: usize = 32;
const RUN: Duration = Duration::from_secs(10);

fn notification() -> String {
    let alerts: Vec<_> = (0..10)
        .map(|i| {
            serde_json::json!({
                "status": "firing",
                "labels": {"alertname": "HighLatency", "severity": "warning", "namespace": "shop",
                           "pod": format!("cart-{i}"), "instance": format!("10.0.0.{i}:8080"), "service": "cart"},
                "annotations": {"summary": format!("p99 latency of cart-{i} above 2s"),
                                "description": "The 99th percentile latency has been above 2 seconds for 5 minutes."},
                "startsAt": "2026-11-25T10:00:00Z",
                "endsAt": "0001-01-01T00:00:00Z",
                "generatorURL": "http://prometheus:9090/graph?g0.expr=histogram_quantile",
                "fingerprint": format!("{i:016x}")
            })
        })
        .collect();
    serde_json::json!({
        "version": "4", "groupKey": "{}:{alertname=\"HighLatency\"}", "truncatedAlerts": 0,
        "status": "firing", "receiver": "aegis", "groupLabels": {"alertname": "HighLatency"},
        "commonLabels": {"alertname": "HighLatency"}, "commonAnnotations": {},
        "externalURL": "http://alertmanager:9093", "alerts": alerts
    })
    .to_string()
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

async fn serve(app: axum::Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move { axum::serve(listener, app).await });
    format!("http://{addr}")
}

/// Posts for `RUN` on `CONNECTIONS` connections; with `rate`, paces the whole load to
/// that many requests per second.
async fn load(url: &str, body: &str, rate: Option<u64>) -> (u64, u64, Vec<Duration>) {
    let stop = Arc::new(AtomicBool::new(false));
    let errors = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for c in 0..CONNECTIONS {
        let (url, body, stop, errors) = (
            url.to_string(),
            body.to_string(),
            stop.clone(),
            errors.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let client = reqwest::Client::builder()
                .pool_max_idle_per_host(1)
                .build()
                .expect("client");
            let mut latencies = Vec::new();
            let interval = rate.map(|r| Duration::from_secs_f64(CONNECTIONS as f64 / r as f64));
            let mut next = Instant::now()
                + interval
                    .map(|i| i.mul_f64(c as f64 / CONNECTIONS as f64))
                    .unwrap_or_default();
            while !stop.load(Ordering::Relaxed) {
                if let Some(interval) = interval {
                    tokio::time::sleep_until(next.into()).await;
                    next += interval;
                }
                let t = Instant::now();
                let ok = client
                    .post(&url)
                    .header("content-type", "application/json")
                    .body(body.clone())
                    .send()
                    .await
                    .is_ok_and(|r| r.status().is_success());
                if ok {
                    latencies.push(t.elapsed());
                } else {
                    errors.fetch_add(1, Ordering::Relaxed);
                }
            }
            latencies
        }));
    }
    tokio::time::sleep(RUN).await;
    stop.store(true, Ordering::Relaxed);
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.expect("task"));
    }
    let elapsed = started.elapsed().as_secs_f64();
    all.sort();
    (
        (all.len() as f64 / elapsed) as u64,
        errors.load(Ordering::Relaxed),
        all,
    )
}

#[tokio::main]
async fn main() {
    let accepted = Arc::new(AtomicU64::new(0));
    let counter = accepted.clone();
    let sink = serve(axum::Router::new().route(
        "/",
        axum::routing::post(move |_body: axum::body::Bytes| {
            counter.fetch_add(1, Ordering::Relaxed);
            async { axum::http::StatusCode::ACCEPTED }
        }),
    ))
    .await;
    let vars = [
        ("K_SINK", sink.clone()),
        ("AEGIS_LOG_FORMAT", "text".to_string()),
    ];
    let config =
        aegis::Config::from_lookup(|k| vars.iter().find(|(n, _)| *n == k).map(|(_, v)| v.clone()))
            .expect("config");
    let ctx = aegis::runtime::context_from_config(config)
        .await
        .expect("context");
    let function = webhook_receiver::build(&ctx).expect("build");
    let app = aegis::runtime::mount(function, &ctx);
    let url = format!("{}/alertmanager/webhook", serve(app).await);
    let body = notification();
    println!(
        "notification: 10 alerts, {} bytes; {CONNECTIONS} connections, {}s per run",
        body.len(),
        RUN.as_secs()
    );

    let (rps, errors, lat) = load(&url, &body, None).await;
    println!(
        "saturation: {rps} notifications/s, errors {errors}, p50 {:?}, p99 {:?}",
        percentile(&lat, 0.5),
        percentile(&lat, 0.99)
    );
    let (rps, errors, lat) = load(&url, &body, Some(1000)).await;
    println!(
        "at 1000/s: {rps} notifications/s, errors {errors}, p50 {:?}, p99 {:?}, max {:?}",
        percentile(&lat, 0.5),
        percentile(&lat, 0.99),
        lat.last().copied().unwrap_or_default()
    );
    println!(
        "events accepted by the sink: {}",
        accepted.load(Ordering::Relaxed)
    );
}
