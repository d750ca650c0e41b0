//! Alert card rendering for a 200-alert group, cut to Feishu's 30 KB (measured, never
//! asserted).
//!
//! Run: `cargo bench -p notifier --bench card`

use std::time::{Duration, Instant};

fn group(n: usize) -> aegis_core::alert::Notification {
    let alerts: Vec<_> = (0..n)
        .map(|i| {
            serde_json::json!({
                "status": "firing",
                "labels": {"alertname": "PodCrashLooping", "severity": if i % 7 == 0 {"critical"} else {"warning"},
                           "namespace": "shop", "pod": format!("cart-{i}"), "instance": format!("10.0.{}.{}:8080", i / 250, i % 250)},
                "annotations": {"summary": format!("cart-{i} restarts"),
                                "description": "The container keeps restarting after being OOM-killed."},
                "startsAt": "2026-11-25T10:00:00Z",
                "endsAt": "0001-01-01T00:00:00Z",
                "generatorURL": "http://prometheus:9090/graph?g0.expr=kube_pod_container_status_restarts_total",
                "fingerprint": format!("{i:016x}")
            })
        })
        .collect();
    serde_json::from_value(serde_json::json!({
        "version": "4", "groupKey": "{}:{alertname=\"PodCrashLooping\"}", "truncatedAlerts": 0,
        "status": "firing", "receiver": "aegis", "groupLabels": {}, "commonLabels": {"alertname": "PodCrashLooping"},
        "commonAnnotations": {}, "externalURL": "http://alertmanager:9093", "alerts": alerts
    }))
    .expect("a valid notification")
}

fn main() {
    let n = group(200);
    let style = notifier::Style {
        timezone: chrono_tz::Asia::Shanghai,
        mention_all: true,
        lang: aegis_i18n::Lang::En,
    };
    let now = chrono::Utc::now();
    // Render and serialise, as a send does.
    let render = || {
        let card = notifier::render_alert_card(&n, &style, now);
        aegis_feishu::Outgoing::Card(card).content().expect("fits")
    };
    let size = render().len();
    for _ in 0..50 {
        std::hint::black_box(render());
    }
    let mut times: Vec<Duration> = (0..1000)
        .map(|_| {
            let t = Instant::now();
            std::hint::black_box(render());
            t.elapsed()
        })
        .collect();
    times.sort();
    println!(
        "200-alert card (content {size} bytes): p50 {:?}, p99 {:?}, max {:?} over 1000 renders",
        times[500], times[990], times[999]
    );
}
