//! Storms, crashes and forged events (issue 28): what `aegis dev` acknowledged is
//! delivered after a SIGKILL, a burst of alert groups with duplicates is analysed once
//! per group with no dead letter, and a configured webhook token guards every route
//! that can inject an event.

use std::sync::atomic::Ordering;
use std::time::Duration;

use aegis_tests::fake_feishu::{APP_ID, APP_SECRET, FakeFeishu};
use aegis_tests::process::{self, Aegis};
use aegis_tests::storm::{alert_group, post_each_twice, slow_prometheus};
use serde_json::{Value, json};

const CHAT: &str = "oc_storm";

fn client() -> reqwest::Client {
    reqwest::Client::builder().no_proxy().build().unwrap()
}

fn borrow<'a>(vars: &'a [(&'static str, String)]) -> Vec<(&'static str, &'a str)> {
    vars.iter().map(|(k, v)| (*k, v.as_str())).collect()
}

fn alert_cards(fake: &FakeFeishu) -> Vec<String> {
    fake.api
        .messages()
        .iter()
        .filter(|m| m.msg_type == "interactive" && m.parent_id.is_none())
        .filter_map(|m| m.title().map(str::to_string))
        .collect()
}

#[tokio::test]
async fn acknowledged_alerts_survive_a_sigkill_and_arrive_after_the_restart() {
    let data = tempfile::tempdir().unwrap();
    let data_dir = data.path().display().to_string();
    // First life: Feishu cannot be reached, so every card stays owed.
    let nowhere = format!("http://127.0.0.1:{}/", process::free_port().unwrap());
    let env = |feishu: &str| -> Vec<(&'static str, String)> {
        vec![
            ("AEGIS_DATA_DIR", data_dir.clone()),
            ("FEISHU_BASE_URL", feishu.to_string()),
            ("FEISHU_APP_ID", APP_ID.to_string()),
            ("FEISHU_APP_SECRET", APP_SECRET.to_string()),
            ("FEISHU_DEFAULT_CHAT_ID", CHAT.to_string()),
            ("AEGIS_AUTO_ANALYZE_SEVERITIES", "none".to_string()),
        ]
    };
    let first = env(&nowhere);
    let mut aegis = Aegis::spawn(&["dev"], &borrow(&first)).await.unwrap();
    for i in 0..10 {
        let res = client()
            .post(aegis.url("/alertmanager/webhook"))
            .json(&alert_group(&format!("Crash{i}"), "warning"))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    }
    aegis.kill().await.unwrap();

    // Second life, on the same data folder, with Feishu up.
    let fake = FakeFeishu::start().await.unwrap();
    let second = env(fake.base_url().as_str());
    let _aegis = Aegis::spawn(&["dev"], &borrow(&second)).await.unwrap();
    let arrived = fake
        .api
        .wait_until(Duration::from_secs(60), |messages| {
            messages
                .iter()
                .filter(|m| m.msg_type == "interactive")
                .count()
                >= 10
        })
        .await;
    let cards = alert_cards(&fake);
    assert!(
        arrived,
        "only {} of 10 cards arrived: {cards:?}",
        cards.len()
    );
    for i in 0..10 {
        let n = cards
            .iter()
            .filter(|t| t.contains(&format!("Crash{i}")))
            .count();
        assert_eq!(n, 1, "Crash{i} carded {n} times: {cards:?}");
    }
}

#[tokio::test]
async fn a_burst_with_duplicates_is_analysed_once_per_group_without_dead_letters() {
    const GROUPS: usize = 24;
    let fake = FakeFeishu::start().await.unwrap();
    let (backend, queries) = slow_prometheus(Duration::from_millis(150)).await.unwrap();
    let feishu = fake.base_url().to_string();
    let (dev, data) = process::dev(
        &[
            ("FEISHU_BASE_URL", &feishu),
            ("FEISHU_APP_ID", APP_ID),
            ("FEISHU_APP_SECRET", APP_SECRET),
            ("FEISHU_DEFAULT_CHAT_ID", CHAT),
            ("AEGIS_AUTO_ANALYZE_SEVERITIES", "critical"),
            ("PROMETHEUS_BASE_URL", &backend),
            ("AEGIS_ANALYZE_CONCURRENCY", "2"),
        ],
        None,
    )
    .await
    .unwrap();
    let groups: Vec<Value> = (0..GROUPS)
        .map(|i| alert_group(&format!("Storm{i:02}"), "critical"))
        .collect();
    post_each_twice(&dev.url("/alertmanager/webhook"), &groups)
        .await
        .unwrap();
    tokio::time::timeout(Duration::from_secs(600), dev.broker().wait_idle())
        .await
        .expect("every delivery ends");

    let messages = fake.api.messages();
    let cards = alert_cards(&fake);
    let results: Vec<_> = messages
        .iter()
        .filter(|m| m.parent_id.is_some() && m.title().is_some_and(|t| t.contains("Root-cause")))
        .collect();
    for i in 0..GROUPS {
        let name = format!("Storm{i:02}");
        let card: Vec<_> = messages
            .iter()
            .filter(|m| m.parent_id.is_none() && m.title().is_some_and(|t| t.contains(&name)))
            .collect();
        assert_eq!(card.len(), 1, "{name}: {cards:?}");
        let under = results
            .iter()
            .filter(|r| r.parent_id.as_deref() == Some(card[0].message_id.as_str()))
            .count();
        assert_eq!(under, 1, "{name} has {under} result cards");
    }
    assert!(
        queries.load(Ordering::SeqCst) > 0,
        "the analyses queried the backend"
    );
    // Every analysis that runs stores its report once, with one index line per store.
    let stored = std::fs::read_dir(data.path().join("index"))
        .unwrap()
        .count();
    assert_eq!(
        stored, GROUPS,
        "each group was analysed once, its duplicate waited for that analysis"
    );
    let dead = dev.store().list_dead_letters(100).await.unwrap();
    assert!(dead.is_empty(), "dead letters: {dead:?}");
    let refused = dev
        .broker()
        .hops()
        .iter()
        .filter(|h| h.status == Some(429))
        .count();
    assert_eq!(refused, 0, "the queue absorbed the burst");
}

/// A forged `alert.group.received` CloudEvent (binary mode), as someone who found the
/// port would post it to walk around the webhook.
fn forged(url: String, token: Option<&str>) -> reqwest::RequestBuilder {
    let mut req = client()
        .post(url)
        .header("ce-specversion", "1.0")
        .header("ce-id", format!("forged-{}", rand::random::<u64>()))
        .header("ce-type", "io.aegis.alert.group.received.v1")
        .header("ce-source", "/forged")
        .header("content-type", "application/json")
        .body(alert_group("Forged", "critical").to_string());
    if let Some(token) = token {
        req = req.bearer_auth(token);
    }
    req
}

#[tokio::test]
async fn with_a_webhook_token_every_route_that_injects_events_requires_it() {
    const TOKEN: &str = "webhook-token-0123456789";
    let fake = FakeFeishu::start().await.unwrap();
    let feishu = fake.base_url().to_string();
    let (dev, _data) = process::dev(
        &[
            ("FEISHU_BASE_URL", &feishu),
            ("FEISHU_APP_ID", APP_ID),
            ("FEISHU_APP_SECRET", APP_SECRET),
            ("FEISHU_DEFAULT_CHAT_ID", CHAT),
            ("AEGIS_AUTO_ANALYZE_SEVERITIES", "none"),
            ("AEGIS_WEBHOOK_TOKEN", TOKEN),
        ],
        None,
    )
    .await
    .unwrap();
    for path in [
        "/broker",
        "/fn/notifier/",
        "/fn/dead-letter/",
        "/fn/analyze/",
    ] {
        for token in [None, Some("not-the-token")] {
            let res = forged(dev.url(path), token).send().await.unwrap();
            assert_eq!(res.status(), 401, "{path} with {token:?}");
            let body = res.text().await.unwrap();
            assert!(body.contains("AEGIS_WEBHOOK_TOKEN"), "{body}");
        }
    }
    // The webhook itself with the token: carded, so the broker's own deliveries pass.
    let res = client()
        .post(dev.url("/alertmanager/webhook"))
        .bearer_auth(TOKEN)
        .json(&alert_group("Genuine", "warning"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    // The broker ingress with the token accepts.
    let res = forged(dev.url("/broker"), Some(TOKEN))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 202);
    dev.broker().wait_idle().await;
    let cards = alert_cards(&fake);
    assert_eq!(cards.len(), 2, "{cards:?}");
    assert!(cards.iter().any(|c| c.contains("Genuine")), "{cards:?}");
    assert!(
        dev.store().list_dead_letters(10).await.unwrap().is_empty(),
        "nothing forged was kept"
    );
}

#[tokio::test]
async fn half_sent_requests_are_closed_and_the_server_keeps_answering() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let (dev, _data) = process::dev(&[("AEGIS_HEADER_READ_TIMEOUT", "1s")], None)
        .await
        .unwrap();
    let mut stuck = Vec::new();
    for _ in 0..50 {
        let mut conn = tokio::net::TcpStream::connect(dev.addr()).await.unwrap();
        conn.write_all(b"POST /alertmanager/web").await.unwrap();
        stuck.push(conn);
    }
    // An idle keep-alive connection too: one request, then silence.
    let mut idle = tokio::net::TcpStream::connect(dev.addr()).await.unwrap();
    idle.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    stuck.push(idle);
    let health = client().get(dev.url("/healthz")).send().await.unwrap();
    assert_eq!(health.status(), 200, "served while the half-sent ones wait");
    for (i, conn) in stuck.iter_mut().enumerate() {
        // The server closes each: the read ends (after any response) well before 30 s.
        let mut buf = Vec::new();
        let read = tokio::time::timeout(Duration::from_secs(30), conn.read_to_end(&mut buf)).await;
        assert!(read.is_ok(), "connection {i} still open after 30 s");
    }
    dev.shutdown().await.unwrap();
}

#[tokio::test]
async fn made_up_methods_do_not_grow_the_metrics() {
    let (dev, _data) = process::dev(&[], None).await.unwrap();
    let metrics = || async {
        client()
            .get(dev.url("/metrics"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    };
    // One made-up method on a known and on an unknown path first: the folded series
    // ("other", "unmatched") exist before the count; nothing after may add any.
    let method = |i: usize| reqwest::Method::from_bytes(format!("X{i:03}").as_bytes()).unwrap();
    for path in ["/healthz", "/made/up"] {
        client()
            .request(method(999), dev.url(path))
            .send()
            .await
            .unwrap();
    }
    // The scrape counts itself too: once before, so its own series exists.
    metrics().await;
    let before = metrics().await.lines().count();
    for i in 0..200 {
        let path = format!("/made/up/{i}");
        client()
            .request(method(i), dev.url(&path))
            .send()
            .await
            .unwrap();
    }
    let after = metrics().await;
    assert!(
        after.lines().count() == before,
        "/metrics grew from {before} to {} lines:\n{after}",
        after.lines().count()
    );
    assert!(!after.contains("X007"), "a made-up method became a label");
    assert!(
        !after.contains("/made/up/7"),
        "a made-up path became a label"
    );
}

#[tokio::test]
async fn sigterm_during_an_analysis_lets_it_finish_past_a_short_grace() {
    use aegis_tests::fake_llm::{FakeLlm, Reply};
    // The model hangs 3 s, then the engine's fallback answers: the analysis outlives
    // the 1 s AEGIS_SHUTDOWN_GRACE, which the function's own timeout overrides.
    let fake = FakeLlm::start(vec![Reply::Hang(Duration::from_secs(3))])
        .await
        .unwrap();
    let data = tempfile::tempdir().unwrap();
    let data_dir = data.path().display().to_string();
    let mut aegis = Aegis::spawn(
        &["serve", "analyze"],
        &[
            ("AEGIS_DATA_DIR", &data_dir),
            ("AEGIS_LLM_BASE_URL", &fake.base_url),
            ("AEGIS_LLM_MODEL", "fake-model"),
            ("AEGIS_LLM_TIMEOUT", "10s"),
            ("AEGIS_ANALYSIS_BUDGET", "20s"),
            ("AEGIS_SHUTDOWN_GRACE", "1s"),
        ],
    )
    .await
    .unwrap();
    let asked = tokio::spawn(
        client()
            .post(aegis.url("/api/ops/analyze"))
            .json(&json!({"description": "checkout is slow"}))
            .send(),
    );
    // SIGTERM once the analysis is waiting on the model.
    let started = std::time::Instant::now();
    while fake.requests().is_empty() {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the model was never asked"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    aegis.terminate().unwrap();
    let res = asked
        .await
        .unwrap()
        .expect("the analysis answers after SIGTERM");
    assert_eq!(res.status(), 200);
    let report: Value = res.json().await.unwrap();
    assert!(report["id"].is_string(), "{report}");
    assert_eq!(aegis.wait(Duration::from_secs(60)).await.unwrap(), Some(0));
}

#[tokio::test]
async fn dead_letters_are_resent_to_a_guarded_dev_broker_with_the_token() {
    const TOKEN: &str = "webhook-token-resend-42";
    let (dev, data) = process::dev(&[("AEGIS_WEBHOOK_TOKEN", TOKEN)], None)
        .await
        .unwrap();
    let letter = json!({
        "specversion": "1.0", "id": "kept-1", "type": "test.nobody.listens",
        "source": "/test", "datacontenttype": "application/json", "data": {"n": 1}
    });
    dev.store()
        .put_dead_letter(chrono::Utc::now(), "kept-1", letter.to_string().as_bytes())
        .await
        .unwrap();
    let data_dir = data.path().display().to_string();
    let broker = dev.url("/broker");
    let without = process::run(
        &["dead-letters", "resend", "--to", &broker],
        &[("AEGIS_DATA_DIR", &data_dir)],
    )
    .await
    .unwrap();
    assert_eq!(without.code, Some(1), "{}", without.stdout);
    assert!(without.stdout.contains("HTTP 401"), "{}", without.stdout);
    let with = process::run(
        &[
            "dead-letters",
            "resend",
            "--to",
            &broker,
            "--with-webhook-token",
        ],
        &[
            ("AEGIS_DATA_DIR", &data_dir),
            ("AEGIS_WEBHOOK_TOKEN", TOKEN),
        ],
    )
    .await
    .unwrap();
    assert_eq!(with.code, Some(0), "{}\n{}", with.stdout, with.stderr);
    assert!(with.stdout.contains("resent kept-1"), "{}", with.stdout);
    assert!(dev.store().list_dead_letters(10).await.unwrap().is_empty());
}
