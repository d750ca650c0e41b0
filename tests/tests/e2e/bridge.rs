//! The bridge against the fake Feishu's long connection (real WebSocket, real pbbp2
//! frames): fragments, reconnects, ClientConfig, fatal handshakes, and acks that
//! follow the sink.

#![allow(clippy::unwrap_used)] // test helpers panic on broken invariants

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aegis_core::Metrics;
use aegis_core::events::{AttributesReader, EXT_CHAT_TYPE, Event, EventSink, SendError};
use aegis_feishu::endpoint::ClientConfig;
use aegis_runtime::Context;
use aegis_tests::fake_feishu::{APP_ID, APP_SECRET, FakeFeishu};
use axum::Router;
use http_body_util::BodyExt;
use tower::ServiceExt;

/// A sink that can be down, or hold each event until released.
#[derive(Default)]
struct TestSink {
    events: Mutex<Vec<Event>>,
    down: AtomicBool,
    hold: AtomicBool,
    waiting: AtomicUsize,
}

#[async_trait::async_trait]
impl EventSink for TestSink {
    async fn send(&self, event: Event) -> Result<(), SendError> {
        if self.down.load(Ordering::SeqCst) {
            return Err(SendError::Unavailable {
                attempts: 1,
                reason: "test sink is down".into(),
            });
        }
        self.waiting.fetch_add(1, Ordering::SeqCst);
        while self.hold.load(Ordering::SeqCst) {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        self.waiting.fetch_sub(1, Ordering::SeqCst);
        self.events.lock().unwrap().push(event);
        Ok(())
    }
}

impl TestSink {
    fn ids(&self) -> Vec<String> {
        self.events
            .lock()
            .unwrap()
            .iter()
            .map(|e| e.id().to_string())
            .collect()
    }
}

/// Fast reconnects, and pings rare enough not to matter unless a test says so.
fn quick(ping: u64) -> ClientConfig {
    ClientConfig {
        reconnect_count: Some(-1),
        reconnect_interval: Some(1),
        reconnect_nonce: Some(0),
        ping_interval: Some(ping),
    }
}

async fn start_bridge(fake: &FakeFeishu, sink: Arc<TestSink>) -> (Router, Metrics) {
    let base = fake.base_url().to_string();
    let mut ctx = Context::from_lookup(Arc::new(move |k: &str| match k {
        "FEISHU_BASE_URL" => Some(base.clone()),
        "FEISHU_APP_ID" => Some(APP_ID.into()),
        "FEISHU_APP_SECRET" => Some(APP_SECRET.into()),
        _ => None,
    }))
    .unwrap();
    ctx.sink = sink;
    let f = feishu_bridge::build(&ctx).await.unwrap();
    (f.router, ctx.metrics)
}

/// Polls the bridge's status until its state is `want` (up to 5 s); returns the last
/// status seen. The fake sees a connection before the bridge has read the handshake
/// answer, so a state is always waited for, never read once.
async fn wait_for_state(router: &Router, want: &str) -> serde_json::Value {
    let mut state = serde_json::Value::Null;
    for _ in 0..100 {
        state = status(router).await.1;
        if state["state"] == want {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    state
}

async fn status(router: &Router) -> (u16, serde_json::Value) {
    let res = router
        .clone()
        .oneshot(
            axum::http::Request::get("/healthz/connection")
                .body(axum::body::Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    let code = res.status().as_u16();
    let body = res.into_body().collect().await.unwrap().to_bytes();
    (code, serde_json::from_slice(&body).unwrap())
}

fn message_event(event_id: &str, text: &str) -> serde_json::Value {
    serde_json::json!({
        "schema": "2.0",
        "header": {
            "event_id": event_id,
            "event_type": "im.message.receive_v1",
            "create_time": chrono::Utc::now().timestamp_millis().to_string(),
            "token": "v-token",
            "app_id": APP_ID,
            "tenant_key": "tenant"
        },
        "event": {
            "sender": {"sender_id": {"open_id": "ou_user"}, "sender_type": "user", "tenant_key": "tenant"},
            "message": {
                "message_id": format!("om_{event_id}"),
                "create_time": chrono::Utc::now().timestamp_millis().to_string(),
                "chat_id": "oc_chat",
                "chat_type": "group",
                "message_type": "text",
                "content": serde_json::json!({"text": text}).to_string(),
                "mentions": [{"key": "@_user_1", "id": {"open_id": "ou_bot"}, "name": "AegisBot"}]
            }
        }
    })
}

const WAIT: Duration = Duration::from_secs(10);

#[tokio::test]
async fn event_in_three_fragments_is_reassembled_published_and_acked_once() {
    let fake = FakeFeishu::start().await.unwrap();
    fake.ws.set_endpoint_config(quick(120));
    let sink = Arc::new(TestSink::default());
    let (router, metrics) = start_bridge(&fake, sink.clone()).await;
    assert!(
        fake.ws.wait_until(WAIT, |s| s.connected()).await,
        "bridge never connected"
    );
    let (code, s) = status(&router).await;
    assert_eq!(
        (code, &s["state"], &s["connected"]),
        (200, &"connected".into(), &true.into())
    );

    let event = message_event(
        "ev_frag",
        &format!("@_user_1 {}", "checkout 为什么 5xx ".repeat(40)),
    );
    let message_id = fake.ws.push(&event, 3);
    assert!(
        fake.ws.wait_until(WAIT, |s| !s.acks().is_empty()).await,
        "no ack"
    );
    // Give a second ack the chance to show up if the bridge were to send one.
    tokio::time::sleep(Duration::from_millis(300)).await;

    let pushed: Vec<_> = fake.ws.pushed();
    assert_eq!(pushed.len(), 3, "the fake split the event in 3 frames");
    let acks = fake.ws.acks();
    assert_eq!(acks.len(), 1, "acked once: {acks:?}");
    assert_eq!(acks[0].message_id, message_id);
    assert_eq!(acks[0].code, Some(200));
    assert!(
        acks[0]
            .biz_rt
            .as_deref()
            .is_some_and(|b| b.parse::<u64>().is_ok())
    );
    // The ack answers a received frame: same ids, all its headers.
    let answered = pushed
        .iter()
        .find(|f| f.seq_id == acks[0].frame.seq_id)
        .unwrap();
    assert_eq!(answered.log_id, acks[0].frame.log_id);
    assert_eq!(
        acks[0].frame.service,
        aegis_tests::fake_feishu::ws::SERVICE_ID
    );
    assert_eq!(
        acks[0].frame.header("trace_id"),
        answered.header("trace_id")
    );

    let events = sink.events.lock().unwrap().clone();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].id(), "ev_frag");
    assert_eq!(events[0].ty(), "io.aegis.feishu.message.received.v1");
    assert_eq!(
        events[0].extension(EXT_CHAT_TYPE).map(|v| v.to_string()),
        Some("group".into())
    );
    let data: serde_json::Value = aegis_core::events::data_as(&events[0]).unwrap();
    assert_eq!(data, event, "the joined payload is the event as pushed");

    let text = metrics.encode();
    assert!(
        text.contains("aegis_feishu_bridge_events_total 1"),
        "{text}"
    );
    assert!(
        text.contains("aegis_feishu_bridge_acks_total{code=\"200\"} 1"),
        "{text}"
    );
    assert!(
        text.contains("aegis_feishu_bridge_ack_latency_seconds_count 1"),
        "{text}"
    );
}

#[tokio::test]
async fn dropped_connection_reconnects_loses_nothing_and_acks_only_after_the_sink() {
    let fake = FakeFeishu::start().await.unwrap();
    fake.ws.set_endpoint_config(quick(120));
    let sink = Arc::new(TestSink::default());
    sink.hold.store(true, Ordering::SeqCst);
    let (router, metrics) = start_bridge(&fake, sink.clone()).await;
    assert!(fake.ws.wait_until(WAIT, |s| s.connected()).await);

    // Two of three fragments, then the server drops the socket.
    let event = message_event("ev_drop", "@_user_1 checkout 5xx");
    let message_id = fake.ws.push_partial_then_drop(&event, 3, 2);
    // The fake pushes the unacknowledged event again to the new connection.
    assert!(
        fake.ws.wait_until(WAIT, |s| s.connections() >= 2).await,
        "the bridge did not reconnect"
    );
    assert!(
        fake.ws
            .wait_until(WAIT, |_| sink.waiting.load(Ordering::SeqCst) == 1)
            .await,
        "the redelivered event never reached the sink"
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(fake.ws.acks().is_empty(), "acked before the sink accepted");

    sink.hold.store(false, Ordering::SeqCst);
    assert!(fake.ws.wait_until(WAIT, |s| !s.acks().is_empty()).await);
    let acks = fake.ws.acks();
    assert_eq!(acks.len(), 1);
    assert_eq!((acks[0].code, acks[0].connection), (Some(200), 2));
    assert_eq!(acks[0].message_id, message_id);
    assert_eq!(
        sink.ids(),
        vec!["ev_drop".to_string()],
        "nothing lost, nothing doubled"
    );
    assert!(fake.ws.unacknowledged().is_empty());

    let (_, s) = status(&router).await;
    assert_eq!(s["reconnects"], 1);
    assert!(
        metrics
            .encode()
            .contains("aegis_feishu_bridge_reconnects_total 1")
    );
}

#[tokio::test]
async fn client_config_in_a_pong_changes_the_ping_interval() {
    let fake = FakeFeishu::start().await.unwrap();
    fake.ws.set_endpoint_config(quick(1));
    let sink = Arc::new(TestSink::default());
    let (router, _) = start_bridge(&fake, sink).await;
    assert!(
        fake.ws.wait_until(WAIT, |s| s.pings().len() >= 3).await,
        "no pings every second"
    );
    let ping = &fake.ws.pings()[0].2;
    assert_eq!((ping.seq_id, ping.log_id, ping.method), (0, 0, 0));
    assert_eq!(ping.service, aegis_tests::fake_feishu::ws::SERVICE_ID);

    fake.ws.set_pong_config(Some(ClientConfig {
        ping_interval: Some(3),
        ..ClientConfig::default()
    }));
    // The next pong carries the new interval; then pings come 3 s apart.
    let before = fake.ws.pings().len();
    assert!(
        fake.ws
            .wait_until(Duration::from_secs(15), |s| s.pings().len() >= before + 3)
            .await
    );
    let pings = fake.ws.pings();
    let gap = pings[pings.len() - 1].1 - pings[pings.len() - 2].1;
    assert!(
        gap >= Duration::from_millis(2500),
        "pings still {gap:?} apart"
    );
    let (_, s) = status(&router).await;
    assert_eq!(s["ping_interval_secs"], 3);
}

#[tokio::test]
async fn forbidden_handshake_stops_the_retries() {
    let fake = FakeFeishu::start().await.unwrap();
    fake.ws.set_endpoint_config(quick(120));
    fake.ws.refuse_handshakes(403, "forbidden", None);
    let (router, _) = start_bridge(&fake, Arc::new(TestSink::default())).await;
    let state = wait_for_state(&router, "stopped").await;
    assert_eq!(
        state["state"], "stopped",
        "the bridge did not stop: {state}"
    );
    // With a 1 s reconnect interval, a retrying bridge would have tried again by now.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert_eq!(fake.ws.handshakes(), 1);
    assert_eq!(fake.ws.endpoint_requests(), 1);
    let (code, s) = status(&router).await;
    assert_eq!(code, 503);
    assert!(s["reason"].as_str().unwrap().contains("403"), "{s}");
}

#[tokio::test]
async fn a_refusal_quoting_the_app_secret_is_masked_on_healthz() {
    let fake = FakeFeishu::start().await.unwrap();
    fake.ws.set_endpoint_config(quick(120));
    let quoted = format!("forbidden: app_secret {APP_SECRET} is not allowed");
    fake.ws.refuse_handshakes(403, &quoted, None);
    let (router, _) = start_bridge(&fake, Arc::new(TestSink::default())).await;
    let state = wait_for_state(&router, "stopped").await;
    let reason = state["reason"].as_str().unwrap_or_default();
    assert!(reason.contains("403"), "{state}");
    assert!(!reason.contains(APP_SECRET), "the secret leaked: {state}");
}

#[tokio::test]
async fn other_handshake_refusals_are_retried() {
    let fake = FakeFeishu::start().await.unwrap();
    fake.ws.set_endpoint_config(quick(120));
    fake.ws.refuse_handshakes(514, "busy", Some(1));
    let _bridge = start_bridge(&fake, Arc::new(TestSink::default())).await;
    assert!(
        fake.ws.wait_until(WAIT, |s| s.handshakes() >= 2).await,
        "514 without the too-many-connections code must be retried"
    );
    fake.ws.accept_handshakes();
    assert!(fake.ws.wait_until(WAIT, |s| s.connected()).await);
}

#[tokio::test]
async fn sink_down_acks_500_and_the_redelivery_arrives() {
    let fake = FakeFeishu::start().await.unwrap();
    fake.ws.set_endpoint_config(quick(120));
    let sink = Arc::new(TestSink::default());
    sink.down.store(true, Ordering::SeqCst);
    let (_router, metrics) = start_bridge(&fake, sink.clone()).await;
    assert!(fake.ws.wait_until(WAIT, |s| s.connected()).await);

    fake.ws.push(&message_event("ev_down", "@_user_1 hi"), 1);
    assert!(fake.ws.wait_until(WAIT, |s| !s.acks().is_empty()).await);
    assert_eq!(fake.ws.acks()[0].code, Some(500));
    assert!(sink.ids().is_empty());
    assert_eq!(fake.ws.unacknowledged().len(), 1);

    sink.down.store(false, Ordering::SeqCst);
    fake.ws.redeliver();
    assert!(fake.ws.wait_until(WAIT, |s| s.acks().len() >= 2).await);
    assert_eq!(fake.ws.acks()[1].code, Some(200));
    assert_eq!(sink.ids(), vec!["ev_down".to_string()]);
    assert!(fake.ws.unacknowledged().is_empty());
    let text = metrics.encode();
    assert!(
        text.contains("aegis_feishu_bridge_acks_total{code=\"500\"} 1"),
        "{text}"
    );
}

#[tokio::test]
async fn bad_credentials_stop_the_bridge() {
    let fake = FakeFeishu::start().await.unwrap();
    fake.ws.set_endpoint_config(quick(120));
    let base = fake.base_url().to_string();
    let mut ctx = Context::from_lookup(Arc::new(move |k: &str| match k {
        "FEISHU_BASE_URL" => Some(base.clone()),
        "FEISHU_APP_ID" => Some(APP_ID.into()),
        "FEISHU_APP_SECRET" => Some("wrong".into()),
        _ => None,
    }))
    .unwrap();
    ctx.sink = Arc::new(TestSink::default());
    let router = feishu_bridge::build(&ctx).await.unwrap().router;
    let state = wait_for_state(&router, "stopped").await;
    assert_eq!(state["state"], "stopped", "{state}");
    assert!(
        !state.to_string().contains("wrong"),
        "the secret leaked: {state}"
    );
    assert_eq!(fake.ws.handshakes(), 0);
}

#[tokio::test]
async fn busy_endpoint_discovery_is_retried() {
    let fake = FakeFeishu::start().await.unwrap();
    // The fast reconnect settings arrive with the first successful discovery (until
    // then the SDK defaults of 120 s apply), so connect once, then fail discovery.
    fake.ws.set_endpoint_config(quick(120));
    let (router, _) = start_bridge(&fake, Arc::new(TestSink::default())).await;
    assert!(fake.ws.wait_until(WAIT, |s| s.connected()).await);
    // 1 (busy) and 1000040343 (internal) are server errors: try again.
    fake.ws.set_endpoint_code(1);
    fake.ws.drop_connection();
    assert!(
        fake.ws
            .wait_until(WAIT, |s| s.endpoint_requests() >= 3)
            .await
    );
    fake.ws.set_endpoint_code(1_000_040_343);
    let seen = fake.ws.endpoint_requests();
    assert!(
        fake.ws
            .wait_until(WAIT, |s| s.endpoint_requests() > seen)
            .await
    );
    let state = wait_for_state(&router, "disconnected").await;
    assert_eq!(state["state"], "disconnected", "{state}");
    fake.ws.set_endpoint_code(0);
    assert!(
        fake.ws
            .wait_until(WAIT, |s| s.connections() == 2 && s.connected())
            .await
    );
    let state = wait_for_state(&router, "connected").await;
    assert_eq!(state["state"], "connected", "{state}");
}
