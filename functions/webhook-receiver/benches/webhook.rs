//! webhook-receiver throughput and latency (measured, never asserted): a 10-alert
//! notification, the production layers (`runtime::mount`), the HTTP sink posting every
//! event to a local server that accepts it, over real TCP.
//!
//! Run: `cargo bench -p webhook-receiver --bench webhook`
//!
//! Three OS threads share the machine's cores, so each one's CPU time can be read from
//! `/proc`: the receiver (a multi-threaded runtime, as a function process runs), the
//! sink (a current-thread runtime) and the load generator (a current-thread runtime
//! driving 32 keep-alive HTTP/1.1 connections through bare hyper, so it costs as little
//! as a client can). Besides the receiver, it measures two ceilings on the same
//! machine: a bare axum handler answering 200 (one HTTP exchange per request), and a
//! bare axum handler forwarding the body to the same sink with one reqwest client (the
//! two exchanges every notification needs, with no parsing and no layers).
//!
//! `--receiver-only` skips the ceilings; `--secs N` shortens every run (for profiling).
//! `--telemetry` installs the production log and trace subscriber first (JSON logs to
//! stderr, spans built for every request); run it with `2>/dev/null`.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};

const CONNECTIONS: usize = 32;

/// How long each run lasts: 10 s, or `--secs N` (shorter for profiling under valgrind).
fn run_length() -> Duration {
    let args: Vec<String> = std::env::args().collect();
    let secs = args
        .iter()
        .position(|a| a == "--secs")
        .and_then(|i| args.get(i + 1))
        .and_then(|s| s.parse().ok())
        .unwrap_or(10);
    Duration::from_secs(secs)
}

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

/// CPU seconds (user + system) used so far by the thread named `name` in this process,
/// or by the whole process when `name` is `None`, read from `/proc`.
fn cpu_seconds(name: Option<&str>) -> f64 {
    // Linux clock ticks are 100 per second on every architecture we run on.
    const TICKS: f64 = 100.0;
    let ticks = |stat: &str| -> Option<f64> {
        // Fields after the command (which is in parentheses and may hold spaces).
        let rest = &stat[stat.rfind(')')? + 2..];
        let fields: Vec<&str> = rest.split_whitespace().collect();
        let utime: f64 = fields.get(11)?.parse().ok()?;
        let stime: f64 = fields.get(12)?.parse().ok()?;
        Some((utime + stime) / TICKS)
    };
    let Some(name) = name else {
        return std::fs::read_to_string("/proc/self/stat")
            .ok()
            .and_then(|s| ticks(&s))
            .unwrap_or(0.0);
    };
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return 0.0;
    };
    tasks
        .flatten()
        .filter(|t| std::fs::read_to_string(t.path().join("comm")).is_ok_and(|c| c.trim() == name))
        .filter_map(|t| std::fs::read_to_string(t.path().join("stat")).ok())
        .filter_map(|s| ticks(&s))
        .sum()
}

/// Serves `app` on a fresh port, on a runtime of its own: a multi-threaded one
/// (threads named `name`) or, with `workers == 0`, one thread named `name`.
fn serve(app: axum::Router, name: &str, workers: usize) -> std::net::SocketAddr {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.set_nonblocking(true).expect("nonblocking");
    let addr = listener.local_addr().expect("addr");
    let runtime = if workers == 0 {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
    } else {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(workers)
            .thread_name(name)
            .enable_all()
            .build()
    }
    .expect("runtime");
    std::thread::Builder::new()
        .name(name.to_string())
        .spawn(move || {
            runtime.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener).expect("listener");
                axum::serve(listener, app).await
            })
        })
        .expect("thread");
    addr
}

/// What one run measured.
struct Run {
    rate: f64,
    errors: u64,
    latencies: Vec<Duration>,
    /// CPU seconds per thread name over the run, and the whole process's.
    cpu: Vec<(&'static str, f64)>,
    elapsed: f64,
}

impl Run {
    fn report(&self, what: &str) {
        let l = &self.latencies;
        let cpu: Vec<String> = self
            .cpu
            .iter()
            .map(|(name, secs)| format!("{name} {:.0}%", 100.0 * secs / self.elapsed))
            .collect();
        println!(
            "{what}: {:.0}/s, errors {}, p50 {:?}, p99 {:?}, max {:?}; CPU (of one core) {}",
            self.rate,
            self.errors,
            percentile(l, 0.5),
            percentile(l, 0.99),
            l.last().copied().unwrap_or_default(),
            cpu.join(", ")
        );
    }
}

const THREADS: [&str; 3] = ["receiver", "sink", "loadgen"];

/// Posts `body` to `addr``path` for [`run_length`] on `CONNECTIONS` keep-alive connections from
/// one thread named `loadgen`; with `rate`, paces the whole load to that many requests
/// per second. Only 2xx answers count; anything else is an error.
fn load(addr: std::net::SocketAddr, path: &str, body: &str, rate: Option<u64>) -> Run {
    let (path, body) = (path.to_string(), Bytes::from(body.to_string()));
    std::thread::Builder::new()
        .name("loadgen".into())
        .spawn(move || {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime")
                .block_on(drive(addr, path, body, rate))
        })
        .expect("thread")
        .join()
        .expect("load generator")
}

async fn drive(addr: std::net::SocketAddr, path: String, body: Bytes, rate: Option<u64>) -> Run {
    let stop = Arc::new(AtomicBool::new(false));
    let errors = Arc::new(AtomicU64::new(0));
    let mut senders = Vec::new();
    for _ in 0..CONNECTIONS {
        let stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
        stream.set_nodelay(true).expect("nodelay");
        let (sender, conn) =
            hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
                .await
                .expect("handshake");
        tokio::spawn(conn);
        senders.push(sender);
    }
    let cpu_before: Vec<f64> = THREADS.iter().map(|t| cpu_seconds(Some(t))).collect();
    let process_before = cpu_seconds(None);
    let started = Instant::now();
    let mut tasks = Vec::new();
    for (c, mut sender) in senders.into_iter().enumerate() {
        let (path, body, stop, errors) = (path.clone(), body.clone(), stop.clone(), errors.clone());
        let host = addr.to_string();
        tasks.push(tokio::spawn(async move {
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
                let req = http::Request::post(path.as_str())
                    .header(http::header::HOST, host.as_str())
                    .header(http::header::CONTENT_TYPE, "application/json")
                    .body(Full::new(body.clone()))
                    .expect("a valid request");
                let t = Instant::now();
                let ok = match sender.send_request(req).await {
                    Ok(res) => {
                        let success = res.status().is_success();
                        // Read the answer to the end so the connection can be reused.
                        res.into_body().collect().await.is_ok() && success
                    }
                    Err(_) => false,
                };
                if ok {
                    latencies.push(t.elapsed());
                } else {
                    errors.fetch_add(1, Ordering::Relaxed);
                    if sender.ready().await.is_err() {
                        break;
                    }
                }
            }
            latencies
        }));
    }
    tokio::time::sleep(run_length()).await;
    stop.store(true, Ordering::Relaxed);
    let mut latencies = Vec::new();
    for t in tasks {
        latencies.extend(t.await.expect("task"));
    }
    let elapsed = started.elapsed().as_secs_f64();
    let mut cpu: Vec<(&'static str, f64)> = THREADS
        .iter()
        .zip(cpu_before)
        .map(|(t, before)| (*t, cpu_seconds(Some(t)) - before))
        .collect();
    cpu.push(("process", cpu_seconds(None) - process_before));
    latencies.sort();
    Run {
        rate: latencies.len() as f64 / elapsed,
        errors: errors.load(Ordering::Relaxed),
        latencies,
        cpu,
        elapsed,
    }
}

fn main() {
    let telemetry = std::env::args().any(|a| a == "--telemetry");
    let accepted = Arc::new(AtomicU64::new(0));
    let counter = accepted.clone();
    let sink_addr = serve(
        axum::Router::new().route(
            "/",
            axum::routing::post(move |_body: Bytes| {
                counter.fetch_add(1, Ordering::Relaxed);
                async { axum::http::StatusCode::ACCEPTED }
            }),
        ),
        "sink",
        0,
    );
    let sink = format!("http://{sink_addr}/");
    let vars = [
        ("K_SINK", sink.clone()),
        ("AEGIS_LOG_FORMAT", "json".to_string()),
    ];
    let ctx = aegis_runtime::Context::from_lookup(std::sync::Arc::new(move |k: &str| {
        vars.iter().find(|(n, _)| *n == k).map(|(_, v)| v.clone())
    }))
    .expect("config");
    let _telemetry =
        telemetry.then(|| aegis_runtime::telemetry::init(&ctx.serve, webhook_receiver::NAME));
    // The receiver's runtime, as `runtime::block_on` builds it for a function process:
    // one worker per core.
    let receiver_runtime = tokio::runtime::Builder::new_multi_thread()
        .thread_name("receiver")
        .enable_all()
        .build()
        .expect("runtime");
    let app = receiver_runtime.block_on(async {
        let function = webhook_receiver::build(&ctx).await.expect("build");
        aegis_runtime::mount(function, &ctx)
    });
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.set_nonblocking(true).expect("nonblocking");
    let receiver = listener.local_addr().expect("addr");
    receiver_runtime.spawn(async move {
        let listener = tokio::net::TcpListener::from_std(listener).expect("listener");
        axum::serve(listener, app).await
    });

    let body = notification();
    println!(
        "notification: 10 alerts, {} bytes; {CONNECTIONS} connections, {}s per run{}",
        body.len(),
        run_length().as_secs(),
        if telemetry {
            "; production telemetry (JSON logs, spans)"
        } else {
            "; no log subscriber"
        }
    );
    let path = "/alertmanager/webhook";
    load(receiver, path, &body, None).report("webhook-receiver, saturation");
    load(receiver, path, &body, Some(1000)).report("webhook-receiver, paced at 1000/s");
    println!(
        "events accepted by the sink: {}",
        accepted.load(Ordering::Relaxed)
    );

    if std::env::args().any(|a| a == "--receiver-only") {
        return;
    }
    // Ceilings: the same exchanges without the function.
    let bare = serve(
        axum::Router::new().route(
            "/",
            axum::routing::post(|_body: Bytes| async { axum::http::StatusCode::OK }),
        ),
        "receiver",
        2,
    );
    load(bare, "/", &body, None).report("ceiling, bare axum 200 (one exchange)");
    let client = reqwest::Client::new();
    let forward = serve(
        axum::Router::new().route(
            "/",
            axum::routing::post(move |body: Bytes| {
                let (client, sink) = (client.clone(), sink.clone());
                async move {
                    match client.post(sink).body(body).send().await {
                        Ok(r) if r.status().is_success() => axum::http::StatusCode::OK,
                        _ => axum::http::StatusCode::SERVICE_UNAVAILABLE,
                    }
                }
            }),
        ),
        "receiver",
        2,
    );
    load(forward, "/", &body, None)
        .report("ceiling, bare axum forwarding to the sink (two exchanges)");
}
