//! Chat flow: Feishu long connection (the fake, checked with the official SDK) →
//! feishu-bridge → broker → feishu-event-handler → analysis.requested → notifier's
//! acknowledgement and analyze → analysis.completed → the result card, through
//! `aegis dev`; plus the frames' bytes against the SDK's own protobuf module.

use std::process::Stdio;
use std::time::Duration;

use aegis_feishu::endpoint::ClientConfig;
use aegis_feishu::frame::{Frame, Header, METHOD_DATA};
use aegis_tests::fake_feishu::{APP_ID, APP_SECRET, FakeFeishu};
use aegis_tests::fake_llm::{FakeLlm, Reply};
use aegis_tests::process;
use serde_json::{Value, json};

const CHAT: &str = "oc_sre";

fn require_lark_oapi() {
    let available = std::process::Command::new("python3")
        .args(["-c", "import lark_oapi"])
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(
        available,
        "python3 with lark-oapi is required: run scripts/install-peers (pip install lark-oapi)"
    );
}

fn quick(ping: u64) -> ClientConfig {
    ClientConfig {
        reconnect_count: Some(-1),
        reconnect_interval: Some(1),
        reconnect_nonce: Some(0),
        ping_interval: Some(ping),
    }
}

fn message_event(event_id: &str, text: &str) -> Value {
    aegis_tests::fake_feishu::message_event(event_id, CHAT, text)
}

/// Serialises frames with the official SDK's `pbbp2_pb2` and compares the bytes.
#[tokio::test]
async fn frames_are_byte_identical_to_the_official_sdk() {
    require_lark_oapi();
    let script = r#"
from lark_oapi.ws.pb.pbbp2_pb2 import Frame
def frame(seq, log, service, method, headers, payload=None):
    f = Frame(); f.SeqID = seq; f.LogID = log; f.service = service; f.method = method
    for k, v in headers:
        h = f.headers.add(); h.key = k; h.value = v
    if payload is not None:
        f.payload = payload
    return f.SerializeToString().hex()
print(frame(0, 0, 0, 0, [("type", "ping")]))
print(frame(0, 0, 33, 0, [("type", "ping")]))
print(frame(12345678901, 987654321, 2147483647, 1,
            [("type", "event"), ("message_id", "m"), ("sum", "3"), ("seq", "2"), ("biz_rt", "7")],
            '{"code":500,"headers":null,"data":null}'.encode()))
"#;
    let out = tokio::process::Command::new("python3")
        .args(["-c", script])
        .output()
        .await
        .expect("python3 runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines: Vec<String> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect();
    let ours = [
        Frame::ping(0),
        Frame::ping(33),
        Frame {
            seq_id: 12_345_678_901,
            log_id: 987_654_321,
            service: i32::MAX,
            method: METHOD_DATA,
            headers: vec![
                Header::new("type", "event"),
                Header::new("message_id", "m"),
                Header::new("sum", "3"),
                Header::new("seq", "2"),
                Header::new("biz_rt", "7"),
            ],
            payload: Some(br#"{"code":500,"headers":null,"data":null}"#.to_vec()),
            ..Frame::default()
        },
    ];
    assert_eq!(lines.len(), ours.len());
    for (python, frame) in lines.iter().zip(&ours) {
        assert_eq!(&hex_of(&frame.to_bytes()), python);
        let parsed = Frame::from_bytes(&hex_to_bytes(python)).unwrap();
        assert_eq!(&parsed, frame);
    }
}

fn hex_of(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn hex_to_bytes(hex: &str) -> Vec<u8> {
    (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
        .collect()
}

/// The official SDK's `lark.ws.Client`, pointed at the fake, connects, pings,
/// reassembles the fake's fragments, and acknowledges as the real server expects.
#[tokio::test]
async fn official_sdk_receives_the_fakes_push_and_acks_it() {
    require_lark_oapi();
    let fake = FakeFeishu::start().await.unwrap();
    fake.ws.set_endpoint_config(quick(1));
    let event = message_event("ev_sdk_1", "@_user_1 hello from the fake");
    // Pushed to the first connection, in three fragments.
    let message_id = fake.ws.push(&event, 3);

    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/python/check_fake_feishu_ws.py"
    );
    let base = fake.base_url().to_string();
    let child = tokio::process::Command::new("python3")
        .args([script, base.trim_end_matches('/'), APP_ID, APP_SECRET])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("python3 runs");
    let acked = fake
        .ws
        .wait_until(Duration::from_secs(30), |s| !s.acks().is_empty())
        .await;
    let out = tokio::time::timeout(Duration::from_secs(15), child.wait_with_output())
        .await
        .expect("the SDK script exits after the event")
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        acked,
        "no ack from the SDK; stdout: {stdout}\nstderr: {stderr}"
    );
    assert!(
        stdout.contains("RECEIVED ev_sdk_1 om_ev_sdk_1 @_user_1 hello from the fake"),
        "stdout: {stdout}\nstderr: {stderr}"
    );
    assert_eq!(fake.ws.endpoint_requests(), 1);
    let acks = fake.ws.acks();
    assert_eq!(acks.len(), 1);
    let ack = &acks[0];
    assert_eq!(ack.message_id, message_id);
    assert_eq!(ack.code, Some(200));
    assert!(ack.biz_rt.is_some(), "the SDK adds biz_rt");
    assert_eq!(ack.frame.service, aegis_tests::fake_feishu::ws::SERVICE_ID);
    let last = fake.ws.pushed().into_iter().last().unwrap();
    assert_eq!(
        (ack.frame.seq_id, ack.frame.log_id),
        (last.seq_id, last.log_id)
    );
    let ping = &fake.ws.pings()[0].2;
    assert_eq!((ping.seq_id, ping.log_id, ping.method), (0, 0, 0));
    assert_eq!(ping.service, aegis_tests::fake_feishu::ws::SERVICE_ID);
    assert!(fake.ws.unacknowledged().is_empty());
}

/// `@AegisBot qwen 最近30分钟 checkout 为什么 5xx` over the long connection, through
/// `aegis dev`: the acknowledgement, the analysis with the requested model, and the
/// result card, each once, as replies under the question.
#[tokio::test]
async fn chat_question_is_acknowledged_analysed_and_answered_once() {
    let fake = FakeFeishu::start().await.unwrap();
    fake.ws.set_endpoint_config(quick(120));
    // Asked in Chinese, so answered in Chinese.
    let llm = FakeLlm::start(vec![Reply::json(json!({
        "summary": "checkout 返回 5xx，因为 payment 超时",
        "ranked_root_causes": [{"rank": 1, "service": "payment", "probability": 0.7,
            "description": "调用 payment 超时", "key_indicators": [], "key_logs": [], "evidence": []}],
        "next_actions": ["检查 payment 的上游"]
    }))])
    .await
    .unwrap();
    let base = fake.base_url().to_string();
    let ollama = llm.base_url.trim_end_matches("/v1").to_string();
    let (dev, data) = process::dev(
        &[
            ("FEISHU_BASE_URL", base.as_str()),
            ("FEISHU_APP_ID", APP_ID),
            ("FEISHU_APP_SECRET", APP_SECRET),
            ("OLLAMA_BASE_URL", ollama.as_str()),
            ("AEGIS_LOG_FORMAT", "text"),
        ],
        None,
    )
    .await
    .expect("aegis dev starts");
    assert!(
        fake.ws
            .wait_until(Duration::from_secs(10), |s| s.connected())
            .await,
        "the bridge in aegis dev did not connect"
    );
    let status: Value = reqwest::get(dev.url("/fn/feishu-bridge/healthz/connection"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(status["state"], "connected", "{status}");

    let event = message_event("ev_chat_1", "@_user_1 qwen 最近30分钟 checkout 为什么 5xx");
    fake.ws.push(&event, 2);
    assert!(
        fake.ws
            .wait_until(Duration::from_secs(10), |s| !s.acks().is_empty())
            .await
    );
    assert_eq!(fake.ws.acks()[0].code, Some(200));
    // Wait for the whole chain: two replies under the question.
    let replies_under = || {
        fake.api
            .messages()
            .into_iter()
            .filter(|m| m.parent_id.as_deref() == Some("om_ev_chat_1"))
            .collect::<Vec<_>>()
    };
    for _ in 0..600 {
        dev.broker().wait_idle().await;
        if replies_under().len() >= 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // A redelivery of the same event changes nothing.
    fake.ws.push(&event, 1);
    assert!(
        fake.ws
            .wait_until(Duration::from_secs(10), |s| s.acks().len() >= 2)
            .await
    );
    dev.broker().wait_idle().await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    dev.broker().wait_idle().await;
    let replies = replies_under();
    assert_eq!(replies.len(), 2, "ack and result, each once: {replies:#?}");
    assert_eq!(replies[0].msg_type, "text");
    assert!(
        replies[0].text().contains("正在分析"),
        "{}",
        replies[0].text()
    );
    assert_eq!(replies[1].msg_type, "interactive", "{:#?}", replies[1]);
    assert_eq!(fake.api.messages().len(), 2, "nothing else was posted");

    // "wrong cause" on a result card (the value its button carries; the card above
    // has no candidate to judge): the click comes back over the long connection as a
    // `card` frame and the verdict is stored with the report.
    let report_id = "rep-feedback";
    let store = aegis_store::Folder::open(
        data.path(),
        Duration::from_secs(3600),
        aegis_store::ReportLinks::None,
    )
    .await
    .unwrap();
    aegis_store::ReportStore::put_report(
        &store,
        &aegis_tests::reports::sample(report_id),
        aegis_view::views(&aegis_tests::reports::sample(report_id)),
    )
    .await
    .unwrap();
    let value = serde_json::to_value(aegis_core::report::FeedbackValue::new(
        report_id,
        "payments-db",
        aegis_core::report::Verdict::WrongCause,
    ))
    .unwrap();
    fake.ws.push_card(&json!({
        "schema": "2.0",
        "header": {"event_id": "ev_card_1", "event_type": "card.action.trigger",
                   "create_time": chrono::Utc::now().timestamp_millis().to_string(),
                   "token": "", "app_id": APP_ID, "tenant_key": "tenant"},
        "event": {
            "operator": {"open_id": "ou_alice", "union_id": "on_alice", "user_id": "alice", "tenant_key": "tenant"},
            "token": "c-callback-token",
            "action": {"tag": "button", "value": value},
            "host": "im_message",
            "context": {"open_message_id": replies[1].message_id, "open_chat_id": CHAT}
        }
    }));
    let mut stored = Value::Null;
    for _ in 0..100 {
        dev.broker().wait_idle().await;
        stored = reqwest::get(dev.url(&format!("/api/ops/analyses/{report_id}")))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if !stored["feedback"].is_null() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(stored["feedback"]["verdict"], "wrong_cause", "{stored}");
    assert_eq!(stored["feedback"]["by"], "ou_alice");
    assert_eq!(fake.api.messages().len(), 2, "a click posts nothing");

    // The model named in the question was the one asked, with the question in its
    // prompt and the bot's mention gone.
    let asked = llm.requests();
    assert!(!asked.is_empty(), "qwen was never asked");
    assert_eq!(asked[0]["model"], "qwen2.5:32b");
    let prompt = asked[0]["messages"].to_string();
    assert!(prompt.contains("checkout 为什么 5xx"), "{prompt}");
    assert!(
        !prompt.contains("@_user_1") && !prompt.contains("最近30分钟"),
        "{prompt}"
    );
    let _ = dev.shutdown().await;
}
