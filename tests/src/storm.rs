//! An alert storm, for the storm tests and the burst bench: firing alert groups as
//! Alertmanager's webhook sends them, posted the way Alertmanager repeats them, and a
//! Prometheus that answers slowly with nothing in it.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use serde_json::{Value, json};

/// A firing webhook v4 notification of one alert group named `name`, started three
/// minutes ago, about a service of its own (`svc-<name>`): groups of different names
/// are unrelated failures, each its own incident.
pub fn alert_group(name: &str, severity: &str) -> Value {
    let service = format!("svc-{}", name.to_ascii_lowercase());
    let labels =
        json!({"alertname": name, "severity": severity, "namespace": "shop", "service": service});
    json!({
        "version": "4", "groupKey": format!("{{}}:{{alertname=\"{name}\"}}"), "truncatedAlerts": 0,
        "status": "firing", "receiver": "aegis", "groupLabels": {"alertname": name},
        "commonLabels": labels, "commonAnnotations": {"summary": format!("{name} fires")},
        "externalURL": "http://alertmanager:9093",
        "alerts": [{
            "status": "firing", "labels": labels,
            "annotations": {"summary": format!("{name} fires")},
            "startsAt": (chrono::Utc::now() - chrono::Duration::minutes(3)).to_rfc3339(),
            "endsAt": "0001-01-01T00:00:00Z",
            "generatorURL": "http://prometheus:9090/graph", "fingerprint": format!("fp-{name}")
        }]
    })
}

/// Posts every group twice (Alertmanager repeats itself) to the webhook at `url`,
/// eight requests at a time; fails unless each is answered 200.
pub async fn post_each_twice(url: &str, groups: &[Value]) -> anyhow::Result<()> {
    let client = reqwest::Client::builder().no_proxy().build()?;
    let posts: Vec<&Value> = groups.iter().flat_map(|g| [g, g]).collect();
    for batch in posts.chunks(8) {
        let sends = batch.iter().map(|body| client.post(url).json(body).send());
        for res in futures::future::join_all(sends).await {
            let status = res?.status();
            anyhow::ensure!(status == 200, "the webhook answered {status}");
        }
    }
    Ok(())
}

/// A Prometheus that takes `delay` to answer any query, with nothing in it: analyses
/// run their queries and end without candidates. Its address, and how many queries it
/// has answered.
pub async fn slow_prometheus(delay: Duration) -> anyhow::Result<(String, Arc<AtomicUsize>)> {
    let queries = Arc::new(AtomicUsize::new(0));
    let counted = queries.clone();
    let app = axum::Router::new().fallback(move || {
        let counted = counted.clone();
        async move {
            tokio::time::sleep(delay).await;
            counted.fetch_add(1, Ordering::SeqCst);
            axum::Json(json!({"status": "success", "data": {"resultType": "matrix", "result": []}}))
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move { axum::serve(listener, app).await });
    Ok((format!("http://{addr}"), queries))
}
