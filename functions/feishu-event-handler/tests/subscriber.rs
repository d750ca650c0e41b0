//! The subscriber through its router: chat events in, analysis requests or notices
//! (or 202) out.

#![allow(clippy::unwrap_used)] // test helpers panic on broken invariants

use std::sync::Arc;
use std::time::Duration;

use aegis_core::events::AnalysisCompleted;
use aegis_core::events::AnalysisRequested;
use aegis_i18n::Lang;
use aegis_store::Memory;
use axum::Router;
use axum::body::Body;
use axum::http::Request;
use feishu_event_handler::{Callback, FixedBot, Handler, Policy, router};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use tower::ServiceExt;

fn policy() -> Policy {
    Policy {
        allowed_chats: vec![],
        allowed_users: vec![],
        chat_max_in_flight: 2,
        analysis_budget: Duration::from_secs(240),
        model_aliases: vec!["kimi".into()],
        timezone: chrono_tz::Asia::Shanghai,
        languages: Default::default(),
    }
}

fn app_with(policy: Policy) -> Router {
    let app = Handler::new(
        Arc::new(FixedBot(Some("ou_bot".into()))),
        Arc::new(Memory::default()),
        policy,
    );
    let callback = Callback {
        verification_token: None,
        encrypt_key: None,
        sink: Arc::new(aegis_core::events::Unconfigured),
    };
    router(app, callback)
}

fn now_ms() -> String {
    chrono::Utc::now().timestamp_millis().to_string()
}

fn envelope(event_id: &str, chat_type: &str, text: &str, mention_bot: bool) -> Value {
    let mentions = if mention_bot {
        json!([{"key": "@_user_1", "id": {"open_id": "ou_bot"}, "name": "AegisBot"},
               {"key": "@_user_2", "id": {"open_id": "ou_bob"}, "name": "Bob"}])
    } else {
        json!([{"key": "@_user_2", "id": {"open_id": "ou_bob"}, "name": "Bob"}])
    };
    json!({
        "schema": "2.0",
        "header": {"event_id": event_id, "event_type": "im.message.receive_v1",
                   "create_time": now_ms(), "token": "t", "app_id": "cli_x", "tenant_key": "tk"},
        "event": {
            "sender": {"sender_id": {"open_id": "ou_alice", "user_id": "alice"}, "sender_type": "user"},
            "message": {
                "message_id": format!("om_{event_id}"),
                "create_time": now_ms(),
                "chat_id": "oc_ops",
                "chat_type": chat_type,
                "message_type": "text",
                "content": json!({"text": text}).to_string(),
                "mentions": mentions
            }
        }
    })
}

fn cloud_event(ty: &str, data: &Value) -> Request<Body> {
    Request::post("/")
        .header("ce-specversion", "1.0")
        .header("ce-id", "x1")
        .header("ce-type", ty)
        .header("ce-source", "/aegis/feishu-bridge")
        .header("content-type", "application/json")
        .body(Body::from(data.to_string()))
        .unwrap()
}

const RECEIVED: &str = "io.aegis.feishu.message.received.v1";

/// Status, `ce-type`, and the JSON body.
async fn send(app: &Router, data: &Value) -> (u16, Option<String>, Value) {
    send_typed(app, RECEIVED, data).await
}

async fn send_typed(app: &Router, ty: &str, data: &Value) -> (u16, Option<String>, Value) {
    let res = app.clone().oneshot(cloud_event(ty, data)).await.unwrap();
    let status = res.status().as_u16();
    let ce_type = res
        .headers()
        .get("ce-type")
        .map(|v| v.to_str().unwrap().to_string());
    let body = res.into_body().collect().await.unwrap().to_bytes();
    let json = serde_json::from_slice(&body).unwrap_or(Value::Null);
    (status, ce_type, json)
}

#[tokio::test]
async fn mention_in_a_group_becomes_an_analysis_request() {
    let app = app_with(policy());
    let before = chrono::Utc::now();
    let (status, ty, body) = send(
        &app,
        &envelope(
            "ev1",
            "group",
            "@_user_1 qwen 最近30分钟 checkout 为什么 5xx @_user_2",
            true,
        ),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(ty.as_deref(), Some("io.aegis.analysis.requested.v1"));
    let req: AnalysisRequested = serde_json::from_value(body).unwrap();
    assert_eq!(
        req.request_id,
        aegis_core::events::derive_id(&["feishu", "ev1"])
    );
    assert_eq!(req.request.model.as_deref(), Some("qwen"));
    assert_eq!(req.request.description, "checkout 为什么 5xx @Bob");
    assert_eq!(
        req.request.time_range.duration(),
        chrono::Duration::minutes(30)
    );
    assert!(req.request.time_range.end >= before);
    assert_eq!(req.origin, aegis_core::events::Origin::Feishu);
    assert_eq!(req.reply_to.chat_id.as_deref(), Some("oc_ops"));
    assert_eq!(req.reply_to.message_id.as_deref(), Some("om_ev1"));
    assert_eq!(req.reply_to.user_open_id.as_deref(), Some("ou_alice"));
    assert_eq!(req.request.language, Some(Lang::ZhCn), "asked in Chinese");
}

#[tokio::test]
async fn a_question_is_answered_in_its_language_whatever_the_chat_reads() {
    let mut zh_chat = policy();
    zh_chat.languages.default = Lang::ZhCn;
    let (_, _, body) = send(
        &app_with(zh_chat),
        &envelope("ev_en", "group", "@_user_1 why is checkout slow", true),
    )
    .await;
    let req: AnalysisRequested = serde_json::from_value(body).unwrap();
    assert_eq!(req.request.language, Some(Lang::En));
}

#[tokio::test]
async fn redelivered_event_is_answered_once() {
    let app = app_with(policy());
    let event = envelope("ev_dup", "group", "@_user_1 why 5xx", true);
    assert_eq!(send(&app, &event).await.0, 200);
    assert_eq!(send(&app, &event).await.0, 202);
    // The same message under another event id (a second key) is a duplicate too.
    let mut again = event.clone();
    again["header"]["event_id"] = json!("ev_dup_2");
    assert_eq!(send(&app, &again).await.0, 202);
}

#[tokio::test]
async fn what_is_not_for_the_bot_is_202() {
    let app = app_with(policy());
    // A group message that does not mention the bot.
    assert_eq!(
        send(&app, &envelope("e1", "group", "@_user_2 lunch?", false))
            .await
            .0,
        202
    );
    // The bot's own (or any app's) message.
    let mut from_app = envelope("e2", "group", "@_user_1 hi", true);
    from_app["event"]["sender"]["sender_type"] = json!("app");
    assert_eq!(send(&app, &from_app).await.0, 202);
    // Older than five minutes.
    let mut old = envelope("e3", "group", "@_user_1 hi", true);
    let ten_min_ago = chrono::Utc::now().timestamp_millis() - 10 * 60 * 1000;
    old["event"]["message"]["create_time"] = json!(ten_min_ago.to_string());
    assert_eq!(send(&app, &old).await.0, 202);
    // Another Feishu event type.
    let mut other = envelope("e4", "group", "@_user_1 hi", true);
    other["header"]["event_type"] = json!("im.chat.member.bot.added_v1");
    assert_eq!(send(&app, &other).await.0, 202);
    // An image.
    let mut image = envelope("e5", "p2p", "", false);
    image["event"]["message"]["message_type"] = json!("image");
    image["event"]["message"]["content"] = json!("{\"image_key\":\"img_1\"}");
    assert_eq!(send(&app, &image).await.0, 202);
}

#[tokio::test]
async fn p2p_needs_no_mention_and_post_messages_are_read() {
    let app = app_with(policy());
    let (status, _, body) = send(
        &app,
        &envelope("p1", "p2p", "Kimi last 2h payment errors", false),
    )
    .await;
    assert_eq!(status, 200);
    let req: AnalysisRequested = serde_json::from_value(body).unwrap();
    assert_eq!(req.request.model.as_deref(), Some("kimi"));
    assert_eq!(req.request.description, "payment errors");
    assert_eq!(
        req.request.time_range.duration(),
        chrono::Duration::hours(2)
    );

    let mut post = envelope("p2", "group", "", true);
    post["event"]["message"]["message_type"] = json!("post");
    post["event"]["message"]["content"] = json!(
        json!({"title": "", "content": [[
            {"tag": "at", "user_id": "@_user_1", "user_name": "AegisBot"},
            {"tag": "text", "text": " checkout 5xx"}
        ]]})
        .to_string()
    );
    let (status, _, body) = send(&app, &post).await;
    assert_eq!(status, 200);
    let req: AnalysisRequested = serde_json::from_value(body).unwrap();
    assert_eq!(req.request.description, "checkout 5xx");
    assert_eq!(req.request.model, None);
    assert_eq!(
        req.request.time_range.duration(),
        chrono::Duration::minutes(15)
    );
}

async fn notice(app: &Router, event: &Value) -> AnalysisCompleted {
    let (status, ty, body) = send(app, event).await;
    assert_eq!(status, 200);
    assert_eq!(ty.as_deref(), Some("io.aegis.analysis.completed.v1"));
    let done: AnalysisCompleted = serde_json::from_value(body).unwrap();
    // A notice is its own outcome, never a failed analysis.
    assert_eq!(done.outcome, aegis_core::events::Outcome::Notice);
    assert!(done.failure.is_none(), "{done:?}");
    done
}

#[tokio::test]
async fn help_gets_the_usage_as_a_reply_in_the_asked_language() {
    let mut zh_chat = policy();
    zh_chat.languages.default = Lang::ZhCn;
    for (id, text, policy, lang) in [
        ("h1", "@_user_1 help", policy(), Lang::En),
        ("h2", "@_user_1 帮助", policy(), Lang::ZhCn),
        ("h3", "@_user_1", policy(), Lang::En),
        ("h4", "@_user_1", zh_chat.clone(), Lang::ZhCn),
        ("h5", "@_user_1 help", zh_chat, Lang::En),
    ] {
        let done = notice(&app_with(policy), &envelope(id, "group", text, true)).await;
        assert_eq!(done.language, Some(lang), "{text}");
        let notice = done.notice.unwrap();
        assert_eq!(notice.kind, "usage");
        let usage = match lang {
            Lang::En => "Usage: @AegisBot",
            Lang::ZhCn => "用法：@AegisBot",
        };
        assert!(notice.text.starts_with(usage), "{text}: {}", notice.text);
        assert_eq!(
            done.reply_to.message_id.as_deref(),
            Some(format!("om_{id}").as_str())
        );
    }
}

#[tokio::test]
async fn others_get_a_polite_refusal() {
    let mut p = policy();
    p.allowed_chats = vec!["oc_other".into()];
    let done = notice(
        &app_with(p.clone()),
        &envelope("r1", "group", "@_user_1 why", true),
    )
    .await;
    assert_eq!(done.notice.unwrap().kind, "forbidden");
    let done = notice(
        &app_with(p),
        &envelope("r1zh", "group", "@_user_1 为什么", true),
    )
    .await;
    let refusal = done.notice.unwrap().text;
    assert!(
        refusal.starts_with("抱歉，这个群还没有开通") && !refusal.contains("Sorry"),
        "{refusal}"
    );

    let mut p = policy();
    p.allowed_users = vec!["ou_carol".into()];
    let done = notice(&app_with(p), &envelope("r2", "group", "@_user_1 why", true)).await;
    assert_eq!(done.notice.unwrap().kind, "forbidden");

    let mut p = policy();
    p.allowed_users = vec!["alice".into()]; // by user_id
    let (status, ty, _) = send(&app_with(p), &envelope("r3", "group", "@_user_1 why", true)).await;
    assert_eq!(
        (status, ty.as_deref()),
        (200, Some("io.aegis.analysis.requested.v1"))
    );
}

#[tokio::test]
async fn a_busy_chat_is_told_to_wait() {
    let mut p = policy();
    p.chat_max_in_flight = 1;
    let app = app_with(p);
    let (status, ty, _) = send(&app, &envelope("b1", "group", "@_user_1 why", true)).await;
    assert_eq!(
        (status, ty.as_deref()),
        (200, Some("io.aegis.analysis.requested.v1"))
    );
    let done = notice(&app, &envelope("b2", "group", "@_user_1 why again", true)).await;
    assert_eq!(done.notice.unwrap().kind, "busy");
}

#[tokio::test]
async fn impossible_time_range_is_explained() {
    let app = app_with(policy());
    let done = notice(
        &app,
        &envelope("t1", "group", "@_user_1 last 0m checkout", true),
    )
    .await;
    let notice = done.notice.unwrap();
    assert_eq!(notice.kind, "invalid");
    assert!(notice.text.contains("last 0m"), "{}", notice.text);
}

#[tokio::test]
async fn wrong_event_type_or_data_is_400() {
    let app = app_with(policy());
    let (status, _, _) = send_typed(
        &app,
        "io.aegis.analysis.requested.v1",
        &envelope("w1", "p2p", "x", false),
    )
    .await;
    assert_eq!(status, 400);
    let (status, _, _) = send(&app, &json!({"header": "not an object"})).await;
    assert_eq!(status, 400);
}

fn card_action(event_id: &str, value: Value) -> Value {
    json!({
        "schema": "2.0",
        "header": {"event_id": event_id, "event_type": "card.action.trigger",
                   "create_time": now_ms(), "token": "t", "app_id": "cli_x", "tenant_key": "tk"},
        "event": {
            "operator": {"open_id": "ou_alice", "user_id": "alice"},
            "action": {"tag": "button", "value": value},
            "context": {"open_message_id": "om_card", "open_chat_id": "oc_ops"}
        }
    })
}

#[tokio::test]
async fn a_feedback_click_stores_the_verdict_with_the_report() {
    use aegis_core::report::{FeedbackValue, Verdict};
    use aegis_store::ReportStore;
    let store: Arc<Memory> = Arc::new(Memory::default());
    let mut report = aegis_core::report::Report::new(
        "rep-1",
        aegis_core::report::TimeRange::last(chrono::Utc::now(), 15),
    );
    report.timezone = "Asia/Shanghai".into();
    store
        .put_report(&report, aegis_view::views(&report))
        .await
        .unwrap();
    let app = router(
        Handler::new(
            Arc::new(FixedBot(Some("ou_bot".into()))),
            store.clone(),
            policy(),
        ),
        Callback {
            verification_token: None,
            encrypt_key: None,
            sink: Arc::new(aegis_core::events::Unconfigured),
        },
    );
    let click = |event_id: &str, report_id: &str, verdict| {
        let value = FeedbackValue::new(report_id, "cart", verdict);
        card_action(event_id, serde_json::to_value(value).unwrap())
    };
    let (status, ty, _) = send(&app, &click("ev-1", "rep-1", Verdict::RightCause)).await;
    assert_eq!((status, ty), (202, None), "a click replies with no event");
    let stored = store.get_report("rep-1").await.unwrap().unwrap();
    let feedback = stored.feedback.expect("the verdict is stored");
    assert_eq!(feedback.verdict, Verdict::RightCause);
    assert_eq!(feedback.by.as_deref(), Some("ou_alice"));
    assert!(
        store
            .get_report_markdown("rep-1")
            .await
            .unwrap()
            .unwrap()
            .contains("right cause"),
        "the Markdown is written again"
    );
    // A later click replaces the verdict; an unknown report or another card's button
    // changes nothing and is still 202 (nothing to retry).
    send(&app, &click("ev-2", "rep-1", Verdict::WrongCause)).await;
    let stored = store.get_report("rep-1").await.unwrap().unwrap();
    assert_eq!(stored.feedback.unwrap().verdict, Verdict::WrongCause);
    assert_eq!(
        send(&app, &click("ev-3", "rep-none", Verdict::RightCause))
            .await
            .0,
        202
    );
    let other = card_action("ev-4", json!({"action": "someone.else", "x": 1}));
    assert_eq!(send(&app, &other).await.0, 202);
    assert!(store.get_report("rep-none").await.unwrap().is_none());
}

#[tokio::test]
async fn a_question_in_an_incident_s_thread_is_analysed_with_the_incident_s_alerts_and_range() {
    let store: Arc<dyn aegis_store::ReportStore> = Arc::new(Memory::default());
    let incidents = aegis_incident::Incidents::new(store.clone(), aegis_incident::Rule::default());
    let started = chrono::Utc::now() - chrono::Duration::hours(2);
    let group: aegis_core::alert::Notification = serde_json::from_value(json!({
        "version": "4", "groupKey": "g1", "status": "firing", "receiver": "aegis",
        "alerts": [{"status": "firing",
                    "labels": {"alertname": "CartErrors", "service": "cart", "namespace": "shop", "severity": "critical"},
                    "startsAt": started.to_rfc3339(), "endsAt": "0001-01-01T00:00:00Z", "fingerprint": "a"}],
    }))
    .unwrap();
    let opened = incidents
        .assign(&group, "alert-ev", Some("oc_ops"), chrono::Utc::now())
        .await
        .unwrap();
    incidents
        .set_card(&opened.incident.id, "om_incident")
        .await
        .unwrap();
    let app = router(
        Handler::new(
            Arc::new(FixedBot(Some("ou_bot".into()))),
            store,
            Policy {
                chat_max_in_flight: 3,
                ..policy()
            },
        ),
        Callback {
            verification_token: None,
            encrypt_key: None,
            sink: Arc::new(aegis_core::events::Unconfigured),
        },
    );
    let ask = |event_id: &str, text: &str, root: Option<&str>| {
        let mut event = envelope(event_id, "group", text, true);
        if let Some(root) = root {
            event["event"]["message"]["root_id"] = root.into();
        }
        event
    };
    let (_, _, body) = send(&app, &ask("ev-thread", "@_user_1 why", Some("om_incident"))).await;
    let req: AnalysisRequested = serde_json::from_value(body).unwrap();
    let alert = req.request.alert.expect("the incident's alerts as context");
    assert_eq!(alert.alerts[0].labels["service"], "cart");
    assert!(
        req.request.time_range.start <= started - chrono::Duration::minutes(15),
        "the incident's range, from before its first alert: {:?}",
        req.request.time_range
    );
    // A time phrase still wins; outside any incident's thread nothing is added.
    let (_, _, body) = send(
        &app,
        &ask("ev-phrase", "@_user_1 最近30分钟 why", Some("om_incident")),
    )
    .await;
    let req: AnalysisRequested = serde_json::from_value(body).unwrap();
    assert_eq!(
        req.request.time_range.duration(),
        chrono::Duration::minutes(30)
    );
    assert!(req.request.alert.is_some());
    let (_, _, body) = send(&app, &ask("ev-plain", "@_user_1 why", Some("om_elsewhere"))).await;
    let req: AnalysisRequested = serde_json::from_value(body).unwrap();
    assert!(req.request.alert.is_none());
}
