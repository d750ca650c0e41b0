//! The HTTP callback mode through its router, with encrypted bodies and signatures
//! computed independently by Python's `cryptography` (tests/python/feishu_callback_vectors.py).

#![allow(clippy::unwrap_used)] // test helpers panic on broken invariants

use std::io::Write;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aegis_core::config::Secret;
use aegis_core::events::{AttributesReader, Event, EventSink, SendError};
use axum::Router;
use axum::body::Body;
use axum::http::Request;
use feishu_event_handler::{Callback, FixedBot, Handler, Policy, router};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use tower::ServiceExt;

const TOKEN: &str = "v-token-123";
const KEY: &str = "encrypt-key-456";

#[derive(Default)]
struct Recorder {
    events: Mutex<Vec<Event>>,
    down: bool,
}

#[async_trait::async_trait]
impl EventSink for Recorder {
    async fn send(&self, event: Event) -> Result<(), SendError> {
        if self.down {
            return Err(SendError::Unavailable {
                attempts: 1,
                reason: "down".into(),
            });
        }
        self.events.lock().unwrap().push(event);
        Ok(())
    }
}

fn app(token: Option<&str>, key: Option<&str>, sink: Arc<Recorder>) -> Router {
    let app = Handler::new(
        Arc::new(FixedBot(Some("ou_bot".into()))),
        Arc::new(aegis_store::Memory::default()),
        Policy {
            allowed_chats: vec![],
            allowed_users: vec![],
            chat_max_in_flight: 2,
            analysis_budget: Duration::from_secs(240),
            model_aliases: vec![],
            timezone: chrono_tz::Asia::Shanghai,
            languages: Default::default(),
        },
    );
    router(
        app,
        Callback {
            verification_token: token.map(Secret::new),
            encrypt_key: key.map(Secret::new),
            sink,
        },
    )
}

/// `(body, signature)` from the Python script.
fn python_vector(plaintext: &Value, timestamp: &str, nonce: &str) -> (String, String) {
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../tests/python/feishu_callback_vectors.py"
    );
    let mut child = Command::new("python3")
        .args([script, KEY, timestamp, nonce])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python3 is needed for these tests: install python3 and `pip install cryptography` (scripts/install-peers)");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(plaintext.to_string().as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "the vector script failed ({}): {}; `pip install cryptography` (scripts/install-peers) installs what it needs",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    (
        v["body"].as_str().unwrap().to_string(),
        v["signature"].as_str().unwrap().to_string(),
    )
}

async fn post(app: &Router, body: String, headers: &[(&str, &str)]) -> (u16, Value) {
    let mut req = Request::post("/feishu/events").header("content-type", "application/json");
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let res = app
        .clone()
        .oneshot(req.body(Body::from(body)).unwrap())
        .await
        .unwrap();
    let status = res.status().as_u16();
    let bytes = res.into_body().collect().await.unwrap().to_bytes();
    (
        status,
        serde_json::from_slice(&bytes)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into())),
    )
}

fn message_event(token: &str) -> Value {
    json!({
        "schema": "2.0",
        "header": {"event_id": "ev_cb_1", "event_type": "im.message.receive_v1",
                   "create_time": "1764000000000", "token": token, "app_id": "cli_x", "tenant_key": "tk"},
        "event": {"sender": {"sender_id": {"open_id": "ou_alice"}, "sender_type": "user"},
                  "message": {"message_id": "om_1", "chat_id": "oc_1", "chat_type": "group",
                              "message_type": "text", "content": "{\"text\":\"@_user_1 hi\"}"}}
    })
}

#[tokio::test]
async fn url_verification_answers_the_challenge() {
    let sink = Arc::new(Recorder::default());
    let plain = app(Some(TOKEN), None, sink.clone());
    let challenge = json!({"challenge": "ch-1", "token": TOKEN, "type": "url_verification"});
    assert_eq!(
        post(&plain, challenge.to_string(), &[]).await,
        (200, json!({"challenge": "ch-1"}))
    );

    // Encrypted, as Feishu sends it when an Encrypt Key is set: no signature needed.
    let encrypted = app(Some(TOKEN), Some(KEY), sink.clone());
    let (body, _) = python_vector(&challenge, "1", "n");
    assert_eq!(
        post(&encrypted, body, &[]).await,
        (200, json!({"challenge": "ch-1"}))
    );
    assert!(
        sink.events.lock().unwrap().is_empty(),
        "a challenge is not an event"
    );
}

#[tokio::test]
async fn bad_token_is_401() {
    let sink = Arc::new(Recorder::default());
    let plain = app(Some(TOKEN), None, sink.clone());
    let challenge = json!({"challenge": "c", "token": "wrong", "type": "url_verification"});
    assert_eq!(post(&plain, challenge.to_string(), &[]).await.0, 401);
    assert_eq!(
        post(&plain, message_event("wrong").to_string(), &[])
            .await
            .0,
        401
    );
    // v1 events carry the token at the top level.
    let v1 = json!({"uuid": "u1", "token": "wrong", "type": "event_callback", "event": {"type": "message"}});
    assert_eq!(post(&plain, v1.to_string(), &[]).await.0, 401);
    assert!(sink.events.lock().unwrap().is_empty());
}

#[tokio::test]
async fn bad_or_missing_signature_is_401() {
    let sink = Arc::new(Recorder::default());
    let encrypted = app(Some(TOKEN), Some(KEY), sink.clone());
    let (body, signature) = python_vector(&message_event(TOKEN), "1764000000", "nonce-1");
    let tampered = format!(
        "{}{}",
        &signature[..63],
        if signature.ends_with('0') { "1" } else { "0" }
    );
    let headers = [
        ("x-lark-request-timestamp", "1764000000"),
        ("x-lark-request-nonce", "nonce-1"),
        ("x-lark-signature", tampered.as_str()),
    ];
    assert_eq!(post(&encrypted, body.clone(), &headers).await.0, 401);
    assert_eq!(post(&encrypted, body.clone(), &headers[..2]).await.0, 401);
    // The right signature over other bytes (re-serialised JSON) does not pass either.
    let reserialised = serde_json::from_str::<Value>(&body).unwrap().to_string();
    assert_ne!(reserialised, body);
    let good = [
        ("x-lark-request-timestamp", "1764000000"),
        ("x-lark-request-nonce", "nonce-1"),
        ("x-lark-signature", signature.as_str()),
    ];
    assert_eq!(post(&encrypted, reserialised, &good).await.0, 401);
    assert!(sink.events.lock().unwrap().is_empty());
}

#[tokio::test]
async fn encrypted_event_is_decrypted_and_published() {
    let sink = Arc::new(Recorder::default());
    let encrypted = app(Some(TOKEN), Some(KEY), sink.clone());
    let event = message_event(TOKEN);
    let (body, signature) = python_vector(&event, "1764000000", "nonce-2");
    let headers = [
        ("x-lark-request-timestamp", "1764000000"),
        ("x-lark-request-nonce", "nonce-2"),
        ("x-lark-signature", signature.as_str()),
    ];
    assert_eq!(
        post(&encrypted, body, &headers).await,
        (200, json!({"msg": "success"}))
    );
    let events = sink.events.lock().unwrap().clone();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].id(), "ev_cb_1");
    assert_eq!(events[0].ty(), "io.aegis.feishu.message.received.v1");
    assert_eq!(
        events[0].source().to_string(),
        "/aegis/feishu-event-handler"
    );
    let data: Value = aegis_core::events::data_as(&events[0]).unwrap();
    assert_eq!(data, event);
}

#[tokio::test]
async fn what_cannot_be_handled_says_why() {
    let up = Arc::new(Recorder::default());
    // Mode off.
    assert_eq!(
        post(&app(None, None, up.clone()), "{}".into(), &[]).await.0,
        404
    );
    // Encrypted, but no key configured.
    let (body, _) = python_vector(&message_event(TOKEN), "1", "n");
    assert_eq!(
        post(&app(Some(TOKEN), None, up.clone()), body, &[]).await.0,
        400
    );
    // Not JSON.
    assert_eq!(
        post(&app(Some(TOKEN), None, up.clone()), "nope".into(), &[])
            .await
            .0,
        400
    );
    // Encrypted with another key.
    let (body, _) = python_vector(&message_event(TOKEN), "1", "n");
    let other_key = app(Some(TOKEN), Some("another-key"), up);
    assert_eq!(post(&other_key, body, &[]).await.0, 400);
    // The broker is down: 503, so Feishu retries.
    let down = Arc::new(Recorder {
        down: true,
        ..Recorder::default()
    });
    let (status, _) = post(
        &app(Some(TOKEN), None, down),
        message_event(TOKEN).to_string(),
        &[],
    )
    .await;
    assert_eq!(status, 503);
}
