//! A synthetic 15-minute incident over many services, for compaction tests and the
//! compaction benchmark: metric series with a step in one service, log lines of a few
//! dozen shapes per service with errors after the fault, and call-chain traces.
//! Deterministic (a fixed linear congruential sequence), so runs compare.

use std::collections::BTreeMap;

use aegis_tools::jaeger::{Span, Trace};
use aegis_tools::loki::Stream;
use aegis_tools::prometheus::Series;

/// Start of the incident window, unix seconds (2023-01-29T08:30:00Z).
pub const START: i64 = 1_674_981_000;
/// Length of the window, seconds.
pub const LENGTH: i64 = 15 * 60;
/// When the fault starts, seconds after [`START`].
pub const FAULT_AT: i64 = 9 * 60;

/// A small deterministic generator.
pub struct Lcg(u64);

impl Lcg {
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }
    pub fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        self.0 >> 33
    }
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
    pub fn unit(&mut self) -> f64 {
        self.next() as f64 / (1u64 << 31) as f64
    }
}

/// The name of service `i`.
pub fn service(i: usize) -> String {
    format!(
        "svc-{i:02}-{}",
        ["orders", "payments", "catalog", "users", "cart"][i % 5]
    )
}

/// `count` series of `points` points over the window, one per service (cycling), the
/// series of service 7 stepping up at the fault.
pub fn series(count: usize, points: usize) -> Vec<Series> {
    let mut rng = Lcg::new(7);
    let step = LENGTH as f64 / points.max(1) as f64;
    (0..count)
        .map(|i| {
            let base = 1.0 + (i % 17) as f64;
            let labels = BTreeMap::from([
                ("namespace".to_string(), "shop".to_string()),
                ("service".to_string(), service(i % 50)),
                (
                    "pod".to_string(),
                    format!("{}-{:x}", service(i % 50), i * 7919),
                ),
            ]);
            let points = (0..points)
                .map(|k| {
                    let t = START as f64 + k as f64 * step;
                    let faulty = i % 50 == 7 && t >= (START + FAULT_AT) as f64;
                    let v =
                        base * (1.0 + 0.05 * rng.unit()) + if faulty { 10.0 * base } else { 0.0 };
                    (t, v)
                })
                .collect();
            Series { labels, points }
        })
        .collect()
}

/// `lines` log lines spread over `services` streams (time-sorted within each), about
/// 20 line shapes per service; the faulty service logs errors after the fault.
pub fn log_streams(lines: usize, services: usize) -> Vec<Stream> {
    let mut rng = Lcg::new(11);
    let mut streams: Vec<Stream> = (0..services)
        .map(|i| Stream {
            labels: BTreeMap::from([
                ("app".to_string(), service(i)),
                ("namespace".to_string(), "shop".to_string()),
                ("pod".to_string(), format!("{}-6f6cfc45b-h5m2n", service(i))),
            ]),
            entries: Vec::new(),
        })
        .collect();
    for n in 0..lines {
        let s = n % services;
        let ns = (START * 1_000_000_000) + (n as i64 * LENGTH * 1_000_000_000 / lines as i64);
        let after_fault = ns >= (START + FAULT_AT) * 1_000_000_000;
        let id = rng.next();
        let line = if s == 7 && after_fault && rng.below(3) == 0 {
            match rng.below(3) {
                0 => format!(
                    "2023-01-29 08:{:02}:{:02}.{:03} ERROR o.h.e.j.s.SqlExceptionHelper - Connection to 10.0.{}.{}:5432 refused, request {:08x}-1b2c-4d3e-8f9a-{:012x}",
                    rng.below(60),
                    rng.below(60),
                    rng.below(1000),
                    rng.below(255),
                    rng.below(255),
                    id,
                    id * 31
                ),
                1 => format!(
                    "ERROR [order-{}] java.net.SocketTimeoutException: Read timed out after {}ms",
                    rng.below(100_000),
                    3000 + rng.below(500)
                ),
                _ => format!(
                    "WARN retrying payment {} attempt {} of 3",
                    id,
                    rng.below(3) + 1
                ),
            }
        } else {
            match rng.below(20) {
                0 => format!(
                    "INFO GET /api/v1/items/{} 200 {}ms",
                    rng.below(10_000),
                    rng.below(80)
                ),
                1 => format!(
                    "INFO POST /api/v1/orders 201 {}ms trace_id={:016x}",
                    rng.below(120),
                    id * 977
                ),
                2 => format!(
                    "DEBUG cache hit key=user:{} ttl={}s",
                    rng.below(50_000),
                    rng.below(600)
                ),
                3 => format!(
                    "INFO scheduled job sync-inventory finished in {}ms, {} rows",
                    rng.below(900),
                    rng.below(5000)
                ),
                4 => format!(
                    "INFO connected to redis at 10.1.{}.{}:6379",
                    rng.below(255),
                    rng.below(255)
                ),
                5 => format!(
                    "INFO session {:08x}-aaaa-4bbb-8ccc-{:012x} refreshed",
                    id,
                    id * 13
                ),
                6 => format!(
                    "WARN slow query took {}ms: SELECT * FROM items WHERE id = {}",
                    500 + rng.below(900),
                    rng.below(1000)
                ),
                7 => format!("INFO health check ok uptime={}s", rng.below(1_000_000)),
                8 => format!(
                    "INFO consumed message offset={} partition={}",
                    rng.below(10_000_000),
                    rng.below(12)
                ),
                9 => format!(
                    "INFO user {} logged in from 192.168.{}.{}",
                    rng.below(90_000),
                    rng.below(255),
                    rng.below(255)
                ),
                10 => format!(
                    "INFO GC pause {}ms heap {}MB/{}MB",
                    rng.below(50),
                    rng.below(2000),
                    2048
                ),
                11 => format!(
                    "INFO rendered page /catalog/{} in {}ms",
                    rng.below(400),
                    rng.below(300)
                ),
                12 => format!(
                    "DEBUG feature flag new-checkout={} for tenant {}",
                    rng.below(2) == 0,
                    rng.below(40)
                ),
                13 => format!(
                    "INFO payment {} authorised amount={}.{:02} CNY",
                    id,
                    rng.below(5000),
                    rng.below(100)
                ),
                14 => format!("INFO pod ready after {}s", rng.below(60)),
                15 => format!(
                    "INFO request completed status=200 bytes={}",
                    rng.below(100_000)
                ),
                16 => format!(
                    "INFO 2023-01-29T08:{:02}:{:02}Z heartbeat seq={}",
                    rng.below(60),
                    rng.below(60),
                    n
                ),
                17 => format!("INFO batch {} of {} written", rng.below(100), 100),
                18 => format!("INFO token refreshed for client {:x}", id * 4099),
                _ => format!(
                    "INFO listing {} items page {}",
                    rng.below(50),
                    rng.below(20)
                ),
            }
        };
        streams[s].entries.push((ns, line));
    }
    streams
}

/// `count` traces, each a chain gateway -> two to four services; those through the
/// faulty service after the fault are slow and fail.
pub fn traces(count: usize, services: usize) -> Vec<Trace> {
    let mut rng = Lcg::new(13);
    (0..count)
        .map(|n| {
            let start = (START + (n as i64 * LENGTH / count as i64)) * 1_000_000;
            let depth = 2 + rng.below(3) as usize;
            let mut chain = vec![0usize];
            for _ in 0..depth {
                chain.push(1 + rng.below(services as u64 - 1) as usize);
            }
            let faulty = chain.contains(&7) && start >= (START + FAULT_AT) * 1_000_000;
            let mut spans = Vec::new();
            let mut duration = if faulty {
                3_000_000
            } else {
                20_000 + rng.below(30_000) as i64
            };
            let mut parent: Option<String> = None;
            let mut at = start;
            for (k, s) in chain.iter().enumerate() {
                let id = format!("{:016x}", rng.next() * 65_537 + k as u64);
                spans.push(Span {
                    span_id: id.clone(),
                    parent_span_id: parent.clone(),
                    service: service(*s),
                    operation: format!("GET /api/{}/{}", service(*s), rng.below(4)),
                    start_us: at,
                    duration_us: duration,
                    error: faulty && *s == 7,
                    tags: BTreeMap::from([("span.kind".to_string(), "server".to_string())]),
                });
                parent = Some(id);
                at += 500;
                duration = (duration - 1_000).max(100);
            }
            Trace {
                trace_id: format!("{:032x}", (n as u128) * 0x9e37_79b9_7f4a_7c15),
                spans,
            }
        })
        .collect()
}
