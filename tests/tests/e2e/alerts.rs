//! Alerts flow: Prometheus → Alertmanager → webhook-receiver → broker → notifier →
//! Feishu (the fake), against the real Prometheus and Alertmanager; plus the Feishu
//! client's throttling, token expiry and idempotency against the fake, and the fake's
//! protocol check with the official `lark-oapi` SDK.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use aegis_feishu::{Outgoing, ReceiveIdType};
use aegis_tests::fake_feishu::{APP_ID, APP_SECRET, FakeFeishu, Fault, Posted};
use aegis_tests::peers::alertmanager::Alertmanager;
use aegis_tests::peers::prometheus::Prometheus;
use aegis_tests::process;
use serde_json::{Value, json};

const CHAT: &str = "oc_oncall";

/// `aegis dev` wired to the fake Feishu, alerts to `CHAT`, nothing analysed automatically.
async fn dev_with(
    fake: &FakeFeishu,
    extra: &[(&str, &str)],
) -> (aegis_cli::DevHandle, tempfile::TempDir) {
    let base = fake.base_url().to_string();
    let mut vars = vec![
        ("FEISHU_BASE_URL", base.as_str()),
        ("FEISHU_APP_ID", APP_ID),
        ("FEISHU_APP_SECRET", APP_SECRET),
        ("FEISHU_DEFAULT_CHAT_ID", CHAT),
        ("AEGIS_AUTO_ANALYZE_SEVERITIES", "none-in-this-test"),
        ("AEGIS_LOG_FORMAT", "text"),
    ];
    vars.extend_from_slice(extra);
    process::dev(&vars, None).await.expect("aegis dev starts")
}

/// A webhook v4 notification for group `group` with `n` alerts.
fn notification(group: &str, status: &str, n: usize) -> Value {
    let alerts: Vec<Value> = (0..n)
        .map(|i| {
            json!({
                "status": status,
                "labels": {"alertname": group, "severity": "warning", "namespace": "shop", "pod": format!("cart-{i}")},
                "annotations": {"summary": format!("cart-{i} is slow")},
                "startsAt": "2026-11-25T10:00:00Z",
                "endsAt": if status == "resolved" {"2026-11-25T10:05:00Z"} else {"0001-01-01T00:00:00Z"},
                "generatorURL": "http://prometheus:9090/graph",
                "fingerprint": format!("{group}-{i}")
            })
        })
        .collect();
    json!({
        "version": "4", "groupKey": format!("{{}}:{{alertname=\"{group}\"}}"), "truncatedAlerts": 0,
        "status": status, "receiver": "aegis", "groupLabels": {"alertname": group},
        "commonLabels": {"alertname": group}, "commonAnnotations": {},
        "externalURL": "http://alertmanager:9093", "alerts": alerts
    })
}

fn cards_for<'a>(messages: &'a [Posted], alertname: &str) -> Vec<&'a Posted> {
    messages
        .iter()
        .filter(|m| m.msg_type == "interactive" && m.title().is_some_and(|t| t.contains(alertname)))
        .collect()
}

#[tokio::test]
async fn fake_feishu_api_speaks_the_official_sdk() {
    let available = std::process::Command::new("python3")
        .args(["-c", "import lark_oapi"])
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(
        available,
        "python3 with lark-oapi is required: run scripts/install-peers (pip install lark-oapi)"
    );
    let fake = FakeFeishu::start().await.unwrap();
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/python/check_fake_feishu_api.py"
    );
    let base = fake.base_url().to_string();
    let base = base.trim_end_matches('/');
    let out = tokio::process::Command::new("python3")
        .args([script, base, APP_ID, APP_SECRET, CHAT])
        .output()
        .await
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "lark-oapi check failed: {stderr}");
    let seen: Value = serde_json::from_slice(&out.stdout).unwrap();
    let messages = fake.api.messages();
    assert_eq!(messages.len(), 3);
    assert_eq!(seen["text_message_id"], messages[0].message_id);
    assert_eq!(seen["text_chat_id"], CHAT);
    assert_eq!(seen["text_msg_type"], "text");
    assert_eq!(seen["reply_parent_id"], messages[0].message_id);
    assert_eq!(messages[0].content["text"], "hello from lark-oapi");
    assert_eq!(messages[1].template(), Some("blue"));
    let images = fake.api.images();
    assert_eq!(images.len(), 1, "the SDK's upload was accepted");
    assert_eq!(seen["image_key"], images[0].0.as_str());
    assert!(images[0].1.starts_with(b"\x89PNG"));
    assert_eq!(
        messages[1].content.pointer("/body/elements/1/img_key"),
        Some(&Value::String(images[0].0.clone())),
        "the card shows the uploaded image"
    );
    assert_eq!(
        messages[2].parent_id.as_deref(),
        Some(messages[0].message_id.as_str())
    );
    assert!(messages[2].in_thread, "the SDK's reply_in_thread is read");
    assert_eq!(seen["card_updated"], true);
    assert_eq!(
        messages[1].updates.len(),
        1,
        "the SDK's card update applied"
    );
    assert_eq!(
        messages[1].latest().title(),
        Some("sdk card, updated"),
        "the card reads as updated"
    );
    assert_eq!(
        fake.api.tokens_issued(),
        1,
        "the SDK fetched one tenant token"
    );
    let sends: Vec<_> = fake
        .api
        .requests()
        .into_iter()
        .filter(|r| r.path.starts_with("/open-apis/im/"))
        .collect();
    assert!(
        sends
            .iter()
            .all(|r| r.authorization.as_deref() == Some("Bearer t-fake-1"))
    );
    // Our client's upload reads the same answer the SDK read.
    let key = fake.client().upload_image(&images[0].1).await.unwrap();
    assert!(key.starts_with("img_v2_"), "{key}");
}

#[tokio::test]
async fn client_reads_the_bot_and_refreshes_an_expired_token_once() {
    let fake = FakeFeishu::start().await.unwrap();
    let client = fake.client();
    let bot = client.bot_info().await.unwrap();
    assert_eq!(bot.open_id, aegis_tests::fake_feishu::api::BOT_OPEN_ID);
    fake.api.expire_tokens();
    // Concurrent sends to different chats all meet the expired token.
    let sends = (0..4).map(|i| {
        let client = client.clone();
        async move {
            client
                .send(
                    ReceiveIdType::ChatId,
                    &format!("oc_{i}"),
                    &Outgoing::Text(format!("m{i}")),
                    &format!("expiry-{i}"),
                )
                .await
        }
    });
    for result in futures::future::join_all(sends).await {
        result.expect("no send fails across a token expiry");
    }
    assert_eq!(fake.api.tokens_issued(), 2, "exactly one refresh");
    assert_eq!(fake.api.messages().len(), 4);
    let expired = fake
        .api
        .requests()
        .iter()
        .filter(|r| r.code == 99991663)
        .count();
    assert!(expired >= 1, "the fake did answer 99991663");
}

#[tokio::test]
async fn throttled_sends_all_arrive_once_in_order() {
    let fake = FakeFeishu::start().await.unwrap();
    let (dev, _data) = dev_with(&fake, &[]).await;
    fake.api.script([
        Fault::AppThrottled { reset_secs: 1 },
        Fault::ChatThrottled,
        Fault::AppThrottled { reset_secs: 1 },
        Fault::ChatThrottled,
    ]);
    let http = reqwest::Client::new();
    // One group's life, as Alertmanager sends it: one after the other.
    let steps = [
        notification("Ordered", "firing", 1),
        notification("Ordered", "firing", 2),
        notification("Ordered", "resolved", 2),
    ];
    for step in &steps {
        let res = http
            .post(dev.url("/alertmanager/webhook"))
            .json(step)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
    }
    let arrived = fake
        .api
        .wait_until(Duration::from_secs(30), |m| {
            cards_for(m, "Ordered").len() >= 3
        })
        .await;
    dev.broker().wait_idle().await;
    let messages = fake.api.messages();
    let cards = cards_for(&messages, "Ordered");
    assert!(arrived, "three cards expected, got {}", cards.len());
    assert_eq!(cards.len(), 3, "no duplicate");
    let titles: Vec<_> = cards
        .iter()
        .map(|c| c.title().unwrap_or_default())
        .collect();
    assert_eq!(
        titles,
        [
            "[FIRING] Ordered (1)",
            "[FIRING] Ordered (2)",
            "[RESOLVED] Ordered (2)"
        ]
    );
    let codes: Vec<i64> = fake.api.requests().iter().map(|r| r.code).collect();
    assert!(
        codes.contains(&99991400) && codes.contains(&230020),
        "{codes:?}"
    );
    let uuids: std::collections::HashSet<_> = cards.iter().map(|c| c.uuid.clone()).collect();
    assert_eq!(uuids.len(), 3);
}

#[tokio::test]
async fn the_same_notification_three_times_posts_one_card() {
    let fake = FakeFeishu::start().await.unwrap();
    let (dev, _data) = dev_with(&fake, &[]).await;
    let http = reqwest::Client::new();
    let body = notification("Repeated", "firing", 3);
    let mut ids = Vec::new();
    for _ in 0..3 {
        let res = http
            .post(dev.url("/alertmanager/webhook"))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
        let answer: Value = res.json().await.unwrap();
        assert_eq!(answer["status"], "ok");
        ids.push(answer["event_id"].clone());
        dev.broker().wait_idle().await;
    }
    assert!(
        ids.windows(2).all(|w| w[0] == w[1]),
        "one event id: {ids:?}"
    );
    assert_eq!(cards_for(&fake.api.messages(), "Repeated").len(), 1);
}

#[tokio::test]
async fn malformed_webhooks_get_the_right_4xx_with_a_message() {
    let fake = FakeFeishu::start().await.unwrap();
    let (dev, _data) = dev_with(&fake, &[("AEGIS_WEBHOOK_TOKEN", "am-token")]).await;
    let http = reqwest::Client::new();
    let url = dev.url("/alertmanager/webhook");
    let good = notification("Malformed", "firing", 1).to_string();
    let mut wrong_version = notification("Malformed", "firing", 1);
    wrong_version["version"] = "3".into();
    let cases: Vec<(&str, String, Option<&str>, u16, &str)> = vec![
        (
            "wrong version",
            wrong_version.to_string(),
            Some("am-token"),
            400,
            "version",
        ),
        (
            "truncated JSON",
            good[..good.len() - 10].to_string(),
            Some("am-token"),
            400,
            "EOF",
        ),
        (
            "5 MB body",
            "x".repeat(5 << 20),
            Some("am-token"),
            413,
            "limit",
        ),
        (
            "wrong token",
            good.clone(),
            Some("not-the-token"),
            401,
            "bearer",
        ),
        ("no token", good.clone(), None, 401, "bearer"),
    ];
    for (name, body, token, status, needle) in cases {
        let mut req = http
            .post(&url)
            .header("content-type", "application/json")
            .body(body);
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        let res = req.send().await.unwrap();
        assert_eq!(res.status().as_u16(), status, "{name}");
        let text = res.text().await.unwrap();
        assert!(text.contains(needle), "{name}: {text}");
    }
    let res = http
        .post(&url)
        .bearer_auth("am-token")
        .header("content-type", "application/json")
        .body(good)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    dev.broker().wait_idle().await;
    assert_eq!(cards_for(&fake.api.messages(), "Malformed").len(), 1);
}

/// A scrape target whose one metric the test flips.
async fn toggled_target(value: Arc<AtomicU64>) -> u16 {
    let app = axum::Router::new().route(
        "/metrics",
        axum::routing::get(move || {
            let v = value.load(Ordering::SeqCst);
            async move { format!("# TYPE aegis_test_healthy gauge\naegis_test_healthy {v}\n") }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move { axum::serve(listener, app).await });
    port
}

fn alertmanager_config(webhook: &str) -> String {
    format!(
        "route:\n  receiver: aegis\n  group_by: [alertname]\n  group_wait: 1s\n  group_interval: 2s\n  repeat_interval: 1h\n\
         receivers:\n- name: aegis\n  webhook_configs:\n  - url: {webhook}\n    send_resolved: true\n    max_alerts: 0\n"
    )
}

#[tokio::test]
async fn prometheus_rule_fires_then_resolves_one_card_each() {
    let fake = FakeFeishu::start().await.unwrap();
    let (dev, _data) = dev_with(&fake, &[]).await;
    let am = Alertmanager::start(&alertmanager_config(&dev.url("/alertmanager/webhook")))
        .await
        .unwrap();
    let healthy = Arc::new(AtomicU64::new(1));
    let target = toggled_target(healthy.clone()).await;
    let am_port = am.port;
    let config = format!(
        "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n\
         rule_files: [rules.yml]\n\
         alerting:\n  alertmanagers:\n  - static_configs:\n    - targets: ['127.0.0.1:{am_port}']\n\
         scrape_configs:\n- job_name: toggled\n  static_configs:\n  - targets: ['127.0.0.1:{target}']\n"
    );
    let rules = "groups:\n- name: aegis-test\n  interval: 1s\n  rules:\n  - alert: AegisTestUnhealthy\n    expr: aegis_test_healthy == 0\n    labels:\n      severity: warning\n    annotations:\n      summary: the toggled target reports unhealthy\n";
    let _prometheus = Prometheus::start(&config, &[("rules.yml", rules)])
        .await
        .unwrap();

    healthy.store(0, Ordering::SeqCst);
    let fired = fake
        .api
        .wait_until(Duration::from_secs(60), |m| {
            cards_for(m, "AegisTestUnhealthy")
                .iter()
                .any(|c| c.template() == Some("orange"))
        })
        .await;
    assert!(fired, "no firing card; alertmanager log:\n{}", am.log());

    healthy.store(1, Ordering::SeqCst);
    let resolved = fake
        .api
        .wait_until(Duration::from_secs(60), |m| {
            cards_for(m, "AegisTestUnhealthy")
                .iter()
                .any(|c| c.template() == Some("green"))
        })
        .await;
    assert!(
        resolved,
        "no resolved card; alertmanager log:\n{}",
        am.log()
    );
    // Give a stray duplicate the time to show up before counting.
    tokio::time::sleep(Duration::from_secs(3)).await;
    dev.broker().wait_idle().await;

    let messages = fake.api.messages();
    let cards = cards_for(&messages, "AegisTestUnhealthy");
    assert_eq!(
        cards.len(),
        2,
        "one firing and one resolved card: {cards:#?}"
    );
    let (firing, resolved) = (cards[0], cards[1]);
    assert!(firing.title().unwrap().starts_with("[FIRING]"));
    assert!(firing.text().contains("<at id=all></at>"));
    assert!(
        firing
            .text()
            .contains("the toggled target reports unhealthy")
    );
    assert_eq!(firing.chat_id.as_deref(), Some(CHAT));
    assert!(resolved.title().unwrap().starts_with("[RESOLVED]"));
    assert!(!resolved.text().contains("<at"));
}

/// In front of the broker: refuses with 503 while `down`, else forwards.
async fn flaky_broker(
    forward_to: String,
    down: Arc<AtomicBool>,
    refused: Arc<AtomicU64>,
) -> String {
    let http = reqwest::Client::new();
    let app = axum::Router::new().route(
        "/",
        axum::routing::post(move |headers: axum::http::HeaderMap, body: bytes::Bytes| {
            let (http, forward_to, down, refused) = (
                http.clone(),
                forward_to.clone(),
                down.clone(),
                refused.clone(),
            );
            async move {
                if down.load(Ordering::SeqCst) {
                    refused.fetch_add(1, Ordering::SeqCst);
                    return axum::http::StatusCode::SERVICE_UNAVAILABLE;
                }
                let mut req = http.post(&forward_to).body(body);
                for (k, v) in &headers {
                    if k != "host" && k != "content-length" {
                        req = req.header(k, v);
                    }
                }
                match req.send().await {
                    Ok(r) => axum::http::StatusCode::from_u16(r.status().as_u16())
                        .unwrap_or(axum::http::StatusCode::BAD_GATEWAY),
                    Err(_) => axum::http::StatusCode::BAD_GATEWAY,
                }
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    format!("http://{addr}/")
}

#[tokio::test]
async fn sink_down_then_up_alertmanager_retries_and_one_card_arrives() {
    let fake = FakeFeishu::start().await.unwrap();
    let (dev, _data) = dev_with(&fake, &[]).await;
    let down = Arc::new(AtomicBool::new(true));
    let refused = Arc::new(AtomicU64::new(0));
    let sink = flaky_broker(dev.url("/broker"), down.clone(), refused.clone()).await;

    // webhook-receiver alone, publishing over HTTP to the flaky broker (K_SINK).
    let vars = [("K_SINK", sink.as_str()), ("AEGIS_SINK_RETRIES", "1")];
    let ctx = aegis_tests::vars::Vars::of(&vars).context();
    let app = aegis_tests::vars::mount_alone("webhook-receiver", &ctx).await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let receiver = format!(
        "http://{}/alertmanager/webhook",
        listener.local_addr().unwrap()
    );
    tokio::spawn(async move { axum::serve(listener, app).await });

    let am = Alertmanager::start(&alertmanager_config(&receiver))
        .await
        .unwrap();
    let alert = json!([{
        "labels": {"alertname": "AegisSinkOutage", "severity": "warning", "namespace": "shop"},
        "annotations": {"summary": "raised through the Alertmanager API"},
        "generatorURL": "http://prometheus:9090/graph"
    }]);
    let res = reqwest::Client::new()
        .post(format!("{}/api/v2/alerts", am.base_url))
        .json(&alert)
        .send()
        .await
        .unwrap();
    assert!(res.status().is_success(), "alert posted to Alertmanager");

    // Alertmanager hits the receiver, which answers 503 while the broker is down.
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while refused.load(Ordering::SeqCst) < 4 && std::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(
        refused.load(Ordering::SeqCst) >= 4,
        "the receiver tried the sink"
    );
    assert!(cards_for(&fake.api.messages(), "AegisSinkOutage").is_empty());
    down.store(false, Ordering::SeqCst);

    let arrived = fake
        .api
        .wait_until(Duration::from_secs(60), |m| {
            !cards_for(m, "AegisSinkOutage").is_empty()
        })
        .await;
    assert!(
        arrived,
        "card after recovery; alertmanager log:\n{}",
        am.log()
    );
    tokio::time::sleep(Duration::from_secs(4)).await;
    dev.broker().wait_idle().await;
    assert_eq!(cards_for(&fake.api.messages(), "AegisSinkOutage").len(), 1);
    assert!(
        am.log().contains("503") || am.log().contains("retry"),
        "Alertmanager saw the 503 and retried:\n{}",
        am.log()
    );
}
