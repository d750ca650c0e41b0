//! Incidents, not alert storms (issue 29): three unrelated failures, ten alert groups
//! each, interleaved, every notification sent twice, then resolved: three incident
//! cards (`@all` once each), every later group in its incident's thread, one analysis
//! per incident plus a re-run when one grows by a new service (the earlier result
//! marked superseded), the cards updated in place and closed on resolution, and the
//! timeline on the API. Once on `aegis dev`, once with the functions as separate
//! processes (two notifier replicas racing) behind the Broker.

use std::time::Duration;

use aegis_tests::cluster::Cluster;
use aegis_tests::fake_feishu::{APP_ID, APP_SECRET, FakeFeishu, Posted};
use aegis_tests::process;
use aegis_tests::storm::slow_prometheus;
use serde_json::{Value, json};

const CHAT: &str = "oc_incidents";
/// Each failure: its alert names' prefix, namespace, and the services of its first and
/// second half of groups (a different service in the second half grows the incident).
const FAILURES: [(&str, &str, &str, &str); 3] = [
    ("CartErrors", "shop", "cart", "cart"),
    ("LedgerLatency", "bank", "ledger", "ledger-db"),
    ("TranscodeStuck", "media", "transcoder", "transcoder"),
];
const GROUPS: usize = 10;

fn client() -> reqwest::Client {
    reqwest::Client::builder().no_proxy().build().unwrap()
}

/// Group `i` of failure `f`, firing or resolved.
fn group(f: usize, i: usize, status: &str, started: &str) -> Value {
    let (prefix, namespace, first, second) = FAILURES[f];
    let service = if i < GROUPS / 2 { first } else { second };
    let name = format!("{prefix}{i}");
    let labels = json!({"alertname": name, "severity": "critical", "namespace": namespace, "service": service});
    json!({
        "version": "4", "groupKey": format!("{{}}:{{alertname=\"{name}\"}}"), "truncatedAlerts": 0,
        "status": status, "receiver": "aegis", "groupLabels": {"alertname": name},
        "commonLabels": labels, "commonAnnotations": {},
        "externalURL": "http://alertmanager:9093",
        "alerts": [{
            "status": status, "labels": labels,
            "annotations": {"summary": format!("{name} on {service}")},
            "startsAt": started,
            "endsAt": if status == "resolved" { chrono::Utc::now().to_rfc3339() } else { "0001-01-01T00:00:00Z".into() },
            "generatorURL": "http://prometheus:9090/graph", "fingerprint": format!("fp-{name}")
        }]
    })
}

/// Posts each notification twice (Alertmanager repeats itself), in order.
async fn post_twice(webhook: &str, notifications: &[Value]) {
    let http = client();
    for n in notifications {
        for _ in 0..2 {
            let res = http.post(webhook).json(n).send().await.unwrap();
            assert_eq!(
                res.status(),
                200,
                "{}",
                res.text().await.unwrap_or_default()
            );
        }
    }
}

/// Groups `range` of every failure, interleaved: A0, B0, C0, A1, ...
fn interleaved(range: std::ops::Range<usize>, status: &str, started: &str) -> Vec<Value> {
    range
        .flat_map(|i| (0..FAILURES.len()).map(move |f| (f, i)))
        .map(|(f, i)| group(f, i, status, started))
        .collect()
}

fn is_result(m: &Posted) -> bool {
    m.title().is_some_and(|t| t.contains("Root-cause"))
        || m.latest()
            .title()
            .is_some_and(|t| t.starts_with("Superseded"))
}

/// The top-level card of failure `f`.
fn incident_card(messages: &[Posted], f: usize) -> Vec<Posted> {
    messages
        .iter()
        .filter(|m| m.parent_id.is_none() && m.msg_type == "interactive")
        .filter(|m| m.title().is_some_and(|t| t.contains(FAILURES[f].0)))
        .cloned()
        .collect()
}

fn results_under(messages: &[Posted], card: &str) -> Vec<Posted> {
    messages
        .iter()
        .filter(|m| m.parent_id.as_deref() == Some(card) && is_result(m))
        .cloned()
        .collect()
}

/// The cards of failure `f`'s alert groups (firing or resolved) in the thread of its
/// incident card `card`.
fn group_cards_in_thread(messages: &[Posted], card: &str, f: usize) -> usize {
    messages
        .iter()
        .filter(|m| m.parent_id.as_deref() == Some(card))
        .filter(|m| m.title().is_some_and(|t| t.contains(FAILURES[f].0)))
        .count()
}

/// The fake Feishu, an empty Prometheus, the shared data folder, and the variables
/// every function of a test reads.
struct Peers {
    fake: FakeFeishu,
    data: tempfile::TempDir,
    vars: Vec<(&'static str, String)>,
}

impl Peers {
    async fn start() -> Self {
        let fake = FakeFeishu::start().await.unwrap();
        let (prometheus, _) = slow_prometheus(Duration::from_millis(20)).await.unwrap();
        let data = tempfile::tempdir().unwrap();
        let vars = vec![
            ("FEISHU_BASE_URL", fake.base_url().to_string()),
            ("FEISHU_APP_ID", APP_ID.into()),
            ("FEISHU_APP_SECRET", APP_SECRET.into()),
            ("FEISHU_DEFAULT_CHAT_ID", CHAT.into()),
            ("AEGIS_AUTO_ANALYZE_SEVERITIES", "critical".into()),
            ("AEGIS_SERVICE_GRAPH", "ledger>ledger-db".into()),
            ("PROMETHEUS_BASE_URL", prometheus),
            ("AEGIS_DATA_DIR", data.path().display().to_string()),
        ];
        Self { fake, data, vars }
    }

    fn vars(&self) -> Vec<(&str, &str)> {
        self.vars.iter().map(|(k, v)| (*k, v.as_str())).collect()
    }
}

/// The storm, sent to `webhook`, checked on the fake Feishu and the incidents API at
/// `api` (`.../api/ops/incidents`).
async fn storm(fake: &FakeFeishu, webhook: &str, api: &str) {
    let started = (chrono::Utc::now() - chrono::Duration::minutes(3)).to_rfc3339();
    let wait = Duration::from_secs(240);

    // The first half of each failure's groups: three incidents, each analysed once.
    post_twice(webhook, &interleaved(0..GROUPS / 2, "firing", &started)).await;
    let analysed = fake
        .api
        .wait_until(wait, |m| {
            (0..3).all(|f| {
                let card = incident_card(m, f);
                card.len() == 1 && !results_under(m, &card[0].message_id).is_empty()
            })
        })
        .await;
    assert!(
        analysed,
        "three incidents, each with a result: {:#?}",
        fake.api.messages()
    );

    // The rest: the ledger incident grows by ledger-db (a neighbour in the call graph)
    // and is analysed again; the others grow by alerts of services they had.
    post_twice(
        webhook,
        &interleaved(GROUPS / 2..GROUPS, "firing", &started),
    )
    .await;
    let rerun = fake
        .api
        .wait_until(wait, |m| {
            let card = incident_card(m, 1);
            card.len() == 1 && results_under(m, &card[0].message_id).len() >= 2
        })
        .await;
    assert!(rerun, "the grown incident is analysed again");

    // Everything resolves.
    post_twice(webhook, &interleaved(0..GROUPS, "resolved", &started)).await;
    let closed = fake
        .api
        .wait_until(wait, |m| {
            (0..3).all(|f| {
                incident_card(m, f).first().is_some_and(|c| {
                    c.latest()
                        .title()
                        .is_some_and(|t| t.starts_with("[RESOLVED]"))
                        && c.latest()
                            .text()
                            .contains(&format!("0 firing · {GROUPS} resolved"))
                })
            })
        })
        .await;
    assert!(closed, "every incident card says resolved");
    // The card is updated as each resolution is registered, and the resolution's own
    // card is posted in the thread beside it: wait for the threads as well.
    let threads_complete = fake
        .api
        .wait_until(wait, |m| {
            (0..3).all(|f| {
                incident_card(m, f).first().is_some_and(|c| {
                    group_cards_in_thread(m, &c.message_id, f) >= (GROUPS - 1) + GROUPS
                })
            })
        })
        .await;
    assert!(
        threads_complete,
        "every other firing group and every resolution reach the threads"
    );

    let messages = fake.api.messages();
    let top: Vec<_> = messages
        .iter()
        .filter(|m| m.parent_id.is_none() && m.msg_type == "interactive")
        .collect();
    assert_eq!(top.len(), 3, "one card per incident: {top:#?}");
    for (f, (prefix, ..)) in FAILURES.iter().enumerate() {
        let card = &incident_card(&messages, f)[0];
        assert!(
            card.text().contains("<at id=all></at>"),
            "{prefix}: @all once, on the incident card"
        );
        assert!(!card.updates.is_empty(), "{prefix}: updated in place");
        let thread: Vec<_> = messages
            .iter()
            .filter(|m| m.parent_id.as_deref() == Some(card.message_id.as_str()))
            .collect();
        assert!(
            thread.iter().all(|m| m.in_thread),
            "{prefix}: replies are in the thread"
        );
        assert!(
            thread.iter().all(|m| !m.text().contains("<at")),
            "{prefix}: nobody is mentioned again"
        );
        assert_eq!(
            group_cards_in_thread(&messages, &card.message_id, f),
            (GROUPS - 1) + GROUPS,
            "{prefix}: every other firing group and every resolution, once, in the thread"
        );
        let strays = messages
            .iter()
            .filter(|m| m.parent_id.as_deref() != Some(card.message_id.as_str()))
            .filter(|m| m.message_id != card.message_id)
            .filter(|m| m.title().is_some_and(|t| t.contains(prefix)))
            .count();
        assert_eq!(strays, 0, "{prefix}: no card of it outside its thread");
        let results = results_under(&messages, &card.message_id);
        let expected = if f == 1 { 2 } else { 1 };
        assert_eq!(
            results.len(),
            expected,
            "{prefix}: one analysis per incident, plus the re-run of the grown one"
        );
        if f == 1 {
            assert!(
                results[0]
                    .latest()
                    .title()
                    .is_some_and(|t| t.starts_with("Superseded")),
                "the first ledger result is marked superseded: {:?}",
                results[0].latest().title()
            );
        }
    }

    // The API: three incidents, each with its timeline in order.
    let http = client();
    let listing: Value = http.get(api).send().await.unwrap().json().await.unwrap();
    let incidents = listing["incidents"].as_array().unwrap();
    assert_eq!(incidents.len(), 3, "{listing}");
    for summary in incidents {
        assert_eq!(summary["status"], "resolved", "{summary}");
        assert_eq!(summary["alerts"]["resolved"], GROUPS, "{summary}");
        let id = summary["id"].as_str().unwrap();
        let incident: Value = http
            .get(format!("{api}/{id}"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let kinds: Vec<&str> = incident["timeline"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["kind"].as_str().unwrap())
            .collect();
        assert_eq!(kinds[0], "alerts", "{kinds:?}");
        let asked = kinds
            .iter()
            .position(|k| *k == "analysis_requested")
            .unwrap();
        let done = kinds.iter().position(|k| *k == "analysis_done").unwrap();
        assert!(asked < done, "{kinds:?}");
        assert_eq!(kinds.last(), Some(&"resolved"), "{kinds:?}");
        assert_eq!(
            kinds.iter().filter(|k| **k == "alerts").count(),
            2 * GROUPS,
            "each notification once: {kinds:?}"
        );
        let page = aegis_tests::http::text(
            http.get(format!("{api}/{id}"))
                .header("accept", "text/html"),
        )
        .await;
        assert!(page.contains("Timeline") && page.contains(id));
    }
}

#[tokio::test]
async fn a_storm_of_three_failures_is_three_incidents_on_aegis_dev() {
    let peers = Peers::start().await;
    let (fake, vars) = (&peers.fake, peers.vars());
    let (dev, _scratch) = process::dev(&vars, None).await.unwrap();
    storm(
        fake,
        &dev.url("/alertmanager/webhook"),
        &dev.url("/api/ops/incidents"),
    )
    .await;
    tokio::time::timeout(Duration::from_secs(120), dev.broker().wait_idle())
        .await
        .expect("every delivery ends");
    let dead = dev.store().list_dead_letters(10).await.unwrap();
    assert!(dead.is_empty(), "dead letters: {dead:?}");
}

#[tokio::test]
async fn a_storm_of_three_failures_is_three_incidents_with_functions_as_processes() {
    let peers = Peers::start().await;
    let (fake, data, vars) = (&peers.fake, &peers.data, peers.vars());
    let cluster = Cluster::start(
        &[
            ("webhook-receiver", 1),
            ("notifier", 2),
            ("analyze", 1),
            ("dead-letter", 1),
        ],
        &vars,
    )
    .await
    .unwrap();
    let webhook = cluster
        .replica("webhook-receiver")
        .url("/alertmanager/webhook");
    let api = cluster.replica("analyze").url("/api/ops/incidents");
    let run = storm(fake, &webhook, &api);
    // On failure, what the Broker did: a delivery that ran out of retries explains a
    // missing card (the in-process Broker's logs are not printed).
    if let Err(panic) = futures::FutureExt::catch_unwind(std::panic::AssertUnwindSafe(run)).await {
        let failed: Vec<_> = cluster
            .broker
            .hops()
            .into_iter()
            .filter(|h| h.status.is_none_or(|s| s >= 300))
            .collect();
        eprintln!("deliveries that did not succeed: {failed:#?}");
        std::panic::resume_unwind(panic);
    }
    tokio::time::timeout(Duration::from_secs(120), cluster.broker.wait_idle())
        .await
        .expect("every delivery ends");
    let dead = std::fs::read_dir(data.path().join("dead-letters"))
        .map(|d| d.count())
        .unwrap_or(0);
    assert_eq!(dead, 0, "no dead letter");
}
