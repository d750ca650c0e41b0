use std::sync::{Arc, Mutex};

use aegis_core::events::{self, AttributesReader, EventType, Payload};
use aegis_feishu::{Error, Outgoing, ReceiveIdType, Sent};
use aegis_runtime::Context;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use tower::ServiceExt;

use super::*;

/// One recorded Feishu call.
#[derive(Debug, Clone)]
struct Call {
    to: String,
    reply: bool,
    message: Outgoing,
    uuid: String,
}

/// Records calls; answers with `fail` while it holds something.
#[derive(Default)]
struct Recording {
    calls: Mutex<Vec<Call>>,
    fail: Mutex<Option<fn() -> Error>>,
    /// Image uploads fail (sends still work).
    fail_uploads: std::sync::atomic::AtomicBool,
    uploads: std::sync::atomic::AtomicUsize,
    /// Cards replaced in place: `(message id, card)`.
    updates: Mutex<Vec<(String, aegis_feishu::Card)>>,
}

impl Recording {
    fn answer(&self, call: Call) -> Result<Sent, Error> {
        if let Some(fail) = *self.fail.lock().unwrap() {
            return Err(fail());
        }
        let mut calls = self.calls.lock().unwrap();
        calls.push(call);
        Ok(Sent {
            message_id: format!("om_{}", calls.len()),
        })
    }

    fn calls(&self) -> Vec<Call> {
        self.calls.lock().unwrap().clone()
    }
}

#[async_trait::async_trait]
impl Messenger for Recording {
    async fn send(
        &self,
        _t: ReceiveIdType,
        id: &str,
        message: &Outgoing,
        uuid: &str,
    ) -> Result<Sent, Error> {
        self.answer(Call {
            to: id.into(),
            reply: false,
            message: message.clone(),
            uuid: uuid.into(),
        })
    }

    async fn reply(
        &self,
        id: &str,
        message: &Outgoing,
        uuid: &str,
        _thread: bool,
    ) -> Result<Sent, Error> {
        self.answer(Call {
            to: id.into(),
            reply: true,
            message: message.clone(),
            uuid: uuid.into(),
        })
    }

    async fn update(&self, id: &str, card: &aegis_feishu::Card) -> Result<(), Error> {
        if let Some(fail) = *self.fail.lock().unwrap() {
            return Err(fail());
        }
        self.updates
            .lock()
            .unwrap()
            .push((id.to_string(), card.clone()));
        Ok(())
    }

    async fn upload_image(&self, png: &[u8]) -> Result<String, Error> {
        if let Some(fail) = *self.fail.lock().unwrap() {
            return Err(fail());
        }
        assert!(png.starts_with(b"\x89PNG"), "a PNG is uploaded");
        self.uploads
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        if self.fail_uploads.load(std::sync::atomic::Ordering::SeqCst) {
            return Err(Error::Unavailable("HTTP 500".into()));
        }
        Ok("img_recorded".into())
    }
}

fn setup() -> (Arc<Recording>, Notifier) {
    let (feishu, app, _) = setup_counted();
    (feishu, app)
}

/// [`setup`], and the context whose `/metrics` counts the sends.
fn setup_counted() -> (Arc<Recording>, Notifier, Context) {
    let ctx = Context::for_test_with(&[
        ("FEISHU_DEFAULT_CHAT_ID", "oc_oncall"),
        ("FEISHU_APP_ID", "cli_x"),
        ("FEISHU_APP_SECRET", "s"),
    ]);
    let messenger = Arc::new(Recording::default());
    let app = test_app(&ctx, messenger.clone());
    (messenger, app, ctx)
}

/// The app of `ctx`'s configuration over an in-memory store.
fn test_app(ctx: &Context, messenger: Arc<Recording>) -> Notifier {
    let config = ctx.read("test", crate::Config::from_env).unwrap();
    Notifier::new(
        ctx,
        config,
        Arc::new(aegis_store::Memory::default()),
        messenger,
    )
}

fn alert_event(status: &str, severity: &str) -> events::Event {
    let mut n = crate::alert_card::tests::group(1, status);
    n.alerts[0]
        .labels
        .insert("severity".into(), severity.into());
    n.to_event("webhook-receiver", n.event_id()).unwrap()
}

/// A chat question `request_id`, asked as message `om_question` in chat `oc_team`.
fn chat_question(request_id: &str) -> events::Event {
    let data = events::AnalysisRequested {
        request_id: request_id.into(),
        request: aegis_core::request::Request {
            description: "why is cart slow".into(),
            time_range: aegis_core::report::TimeRange::last(chrono::Utc::now(), 15),
            model: None,
            session_id: None,
            alert: None,
            language: None,
        },
        origin: events::Origin::Feishu,
        reply_to: events::ReplyTarget {
            chat_id: Some("oc_team".into()),
            message_id: Some("om_question".into()),
            ..Default::default()
        },
    };
    data.to_event("feishu-event-handler", request_id).unwrap()
}

async fn deliver(app: &Notifier, event: events::Event) -> axum::response::Response {
    let (parts, body) = cloudevents::binding::http::builder::adapter::to_response(event)
        .unwrap()
        .into_parts();
    let mut req = Request::post("/");
    for (k, v) in &parts.headers {
        req = req.header(k, v);
    }
    let body = http_body_util::BodyExt::collect(body)
        .await
        .unwrap()
        .to_bytes();
    router(app.clone())
        .oneshot(req.body(Body::from(body)).unwrap())
        .await
        .unwrap()
}

async fn reply_event(res: axum::response::Response) -> events::Event {
    let headers = res.headers().clone();
    let body = http_body_util::BodyExt::collect(res.into_body())
        .await
        .unwrap()
        .to_bytes();
    cloudevents::binding::http::to_event(&headers, body.to_vec()).unwrap()
}

/// The only incident the app knows.
async fn only_incident(app: &Notifier) -> aegis_core::incident::Incident {
    let state = app.incidents.state().await.unwrap();
    assert_eq!(state.incidents.len(), 1, "{:?}", state.incidents.keys());
    state.incidents.into_values().next().unwrap()
}

#[tokio::test]
async fn critical_firing_opens_an_incident_and_asks_for_its_analysis_under_the_card() {
    let (feishu, app) = setup();
    let event = alert_event("firing", "critical");
    let res = deliver(&app, event.clone()).await;
    assert_eq!(res.status(), StatusCode::OK);
    let calls = feishu.calls();
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[0].to, "oc_oncall");
    assert!(!calls[0].reply);
    let incident = only_incident(&app).await;
    assert_eq!(
        calls[0].uuid,
        aegis_feishu::message_uuid(&incident.id, "incident-card")
    );
    let Outgoing::Card(card) = &calls[0].message else {
        panic!("card")
    };
    assert!(card.text().contains("<at id=all></at>"));
    assert!(card.text().contains(&incident.id));
    assert_eq!(incident.card.as_deref(), Some("om_1"));
    let reply = reply_event(res).await;
    assert_eq!(reply.ty(), "io.aegis.analysis.requested.v1");
    assert_eq!(reply.extension("aegisorigin").unwrap().to_string(), "alert");
    let data: events::AnalysisRequested = events::data_as(&reply).unwrap();
    assert_eq!(data.reply_to.message_id.as_deref(), Some("om_1"));
    assert_eq!(
        data.reply_to.incident_id.as_deref(),
        Some(incident.id.as_str())
    );
    assert_eq!(data.request_id, incident.analyses[0].request_id);
    // The redelivery asks again by the same id (the broker may have lost the reply).
    let again = reply_event(deliver(&app, event).await).await;
    let again: events::AnalysisRequested = events::data_as(&again).unwrap();
    assert_eq!(again.request_id, data.request_id);
    assert_eq!(feishu.calls().len(), 1, "posted once");
}

/// A firing critical group `name` about `service`.
fn group_event(name: &str, service: &str, status: &str) -> events::Event {
    let mut n = crate::alert_card::tests::group(1, status);
    n.group_key = format!("{{}}:{{alertname=\"{name}\"}}");
    for alert in &mut n.alerts {
        alert.labels.insert("alertname".into(), name.into());
        alert.labels.insert("service".into(), service.into());
        alert.labels.insert("severity".into(), "critical".into());
        alert.fingerprint = format!("fp-{name}");
    }
    n.to_event("webhook-receiver", n.event_id()).unwrap()
}

/// An `analysis.completed` of `request_id` for incident `incident`, ok with a report
/// naming `top` first, or failed.
fn incident_completion(
    id: &str,
    request_id: &str,
    incident: &str,
    card: &str,
    top: Option<&str>,
) -> events::Event {
    let mut data = serde_json::json!({
        "request_id": request_id, "origin": "alert",
        "reply_to": {"chat_id": "oc_oncall", "message_id": card, "incident_id": incident},
    });
    match top {
        Some(top) => {
            let mut report = aegis_core::report::Report::new(
                request_id,
                aegis_core::report::TimeRange::last(chrono::Utc::now(), 15),
            );
            report.summary = format!("{top} broke");
            report.ranked_root_causes = vec![aegis_core::report::RootCause::new(1, top, 0.8)];
            data["outcome"] = "ok".into();
            data["report"] = serde_json::to_value(report).unwrap();
        }
        None => {
            data["outcome"] = "failed".into();
            data["failure"] = serde_json::json!({"kind": "timeout", "message": "budget spent"});
        }
    }
    events::build(EventType::AnalysisCompleted, "analyze", id, &data, &[]).unwrap()
}

#[tokio::test]
async fn related_groups_go_into_the_incident_s_thread_and_a_grown_incident_is_analysed_again() {
    let (feishu, app) = setup();
    let first = deliver(&app, group_event("CartErrors", "cart", "firing")).await;
    let asked: events::AnalysisRequested = events::data_as(&reply_event(first).await).unwrap();
    // Same service: joins, into the thread, no second analysis while the first runs.
    let res = deliver(&app, group_event("CartLatency", "cart", "firing")).await;
    assert_eq!(
        res.status(),
        StatusCode::ACCEPTED,
        "no new analysis while one runs"
    );
    let calls = feishu.calls();
    assert_eq!(calls.len(), 2);
    assert!(calls[1].reply, "in the thread");
    assert_eq!(calls[1].to, "om_1");
    let Outgoing::Card(joined) = &calls[1].message else {
        panic!("card")
    };
    assert!(!joined.text().contains("<at"), "no @all in the thread");
    {
        let updates = feishu.updates.lock().unwrap();
        assert_eq!(updates.len(), 1, "the incident card is updated in place");
        assert_eq!(updates[0].0, "om_1");
        assert!(
            updates[0].1.text().contains("2 firing"),
            "{}",
            updates[0].1.text()
        );
    }
    // The first analysis ends naming db, a service no alert named: its result goes
    // into the thread.
    let incident = only_incident(&app).await;
    let done = deliver(
        &app,
        incident_completion(
            "done-1",
            &asked.request_id,
            &incident.id,
            "om_1",
            Some("db"),
        ),
    )
    .await;
    assert_eq!(
        done.status(),
        StatusCode::ACCEPTED,
        "nothing new to cover yet"
    );
    let last = feishu.calls().last().cloned().unwrap();
    assert!(
        last.reply && last.to == "om_1",
        "the result is in the thread"
    );
    // An unrelated service opens its own incident...
    deliver(&app, group_event("PaymentDown", "payment", "firing")).await;
    assert_eq!(app.incidents.state().await.unwrap().incidents.len(), 2);
    // ...while a group about db, the analysis' candidate, joins the first and, bringing
    // a service the analysis did not cover, asks for a re-run.
    let res = deliver(&app, group_event("DbDown", "db", "firing")).await;
    assert_eq!(app.incidents.state().await.unwrap().incidents.len(), 2);
    let rerun: events::AnalysisRequested = events::data_as(&reply_event(res).await).unwrap();
    let incident = app.incidents.get(&incident.id).await.unwrap().unwrap();
    assert_eq!(incident.analyses.len(), 2);
    assert_eq!(rerun.request_id, incident.analyses[1].request_id);
    assert!(incident.analyses[1].services.contains("db"));
    // The re-run's result supersedes the first one's card.
    let first_result = incident.analyses[0].message.clone().unwrap();
    deliver(
        &app,
        incident_completion(
            "done-2",
            &rerun.request_id,
            &incident.id,
            "om_1",
            Some("db"),
        ),
    )
    .await;
    let updates = feishu.updates.lock().unwrap();
    let superseded = updates
        .iter()
        .find(|(id, _)| *id == first_result)
        .expect("the first result updated");
    assert!(
        superseded.1.title.starts_with("Superseded"),
        "{}",
        superseded.1.title
    );
}

#[tokio::test]
async fn warning_and_resolved_groups_are_not_analysed() {
    let (feishu, app) = setup();
    let res = deliver(&app, alert_event("firing", "warning")).await;
    assert_eq!(res.status(), StatusCode::ACCEPTED);
    let res = deliver(&app, alert_event("resolved", "critical")).await;
    assert_eq!(res.status(), StatusCode::ACCEPTED);
    let calls = feishu.calls();
    assert_eq!(calls.len(), 2);
    assert!(
        calls[1].reply,
        "the resolution goes into the incident's thread"
    );
    let Outgoing::Card(resolved) = &calls[1].message else {
        panic!("card")
    };
    assert_eq!(resolved.template, aegis_feishu::Template::Green);
    assert!(!resolved.text().contains("<at"));
    let updates = feishu.updates.lock().unwrap();
    let closed = &updates.last().expect("the incident card updated").1;
    assert!(closed.title.starts_with("[RESOLVED]"), "{}", closed.title);
}

#[tokio::test]
async fn the_same_event_three_times_posts_once() {
    let (feishu, app) = setup();
    let event = alert_event("firing", "warning");
    for _ in 0..3 {
        let res = deliver(&app, event.clone()).await;
        assert!(res.status().is_success());
    }
    assert_eq!(feishu.calls().len(), 1);
}

#[tokio::test]
async fn a_groups_cards_go_in_order_of_receipt_whatever_the_delivery_order() {
    let (feishu, app) = setup();
    let firing = alert_event("firing", "warning");
    let resolved = alert_event("resolved", "warning");
    assert!(firing.time() < resolved.time());
    // The broker delivers the later event first; the earlier one 50 ms after.
    let later = tokio::spawn({
        let (app, resolved) = (app.clone(), resolved.clone());
        async move { deliver(&app, resolved).await }
    });
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    assert!(deliver(&app, firing.clone()).await.status().is_success());
    assert!(later.await.unwrap().status().is_success());
    let incident = only_incident(&app).await;
    let uuids: Vec<_> = feishu.calls().into_iter().map(|c| c.uuid).collect();
    assert_eq!(
        uuids,
        [
            feishu::message_uuid(&incident.id, "incident-card"),
            feishu::message_uuid(resolved.id(), "card")
        ],
        "the firing group opened the incident; its resolution went into the thread"
    );
}

#[tokio::test]
async fn feishu_failures_map_to_redelivery_or_drop() {
    let (feishu, app) = setup();
    let cases: [(fn() -> Error, StatusCode); 3] = [
        (
            || Error::Throttled {
                code: 99991400,
                retry_after: Some(std::time::Duration::from_secs(30)),
            },
            StatusCode::TOO_MANY_REQUESTS,
        ),
        (
            || Error::Unavailable("HTTP 502".into()),
            StatusCode::SERVICE_UNAVAILABLE,
        ),
        (
            || Error::Rejected {
                code: 230002,
                msg: "bot not in chat".into(),
            },
            StatusCode::ACCEPTED,
        ),
    ];
    for (fail, status) in cases {
        *feishu.fail.lock().unwrap() = Some(fail);
        let res = deliver(&app, alert_event("firing", "warning")).await;
        assert_eq!(res.status(), status);
        if status == StatusCode::TOO_MANY_REQUESTS {
            assert_eq!(res.headers()["retry-after"], "30");
        }
    }
}

#[tokio::test]
async fn chat_request_is_acknowledged_under_the_question() {
    let (feishu, app) = setup();
    let event = chat_question("req1");
    assert_eq!(deliver(&app, event).await.status(), StatusCode::ACCEPTED);
    let calls = feishu.calls();
    assert_eq!(calls.len(), 1);
    assert!(calls[0].reply);
    assert_eq!(calls[0].to, "om_question");
    assert!(matches!(&calls[0].message, Outgoing::Text(t) if *t == ack(aegis_i18n::Lang::En)));
}

#[tokio::test]
async fn a_result_that_overtakes_its_acknowledgement_waits_for_it() {
    let (feishu, app) = setup();
    let asked = chat_question("req2");
    let done = serde_json::json!({
        "request_id": "req2", "origin": "feishu",
        "reply_to": {"chat_id": "oc_team", "message_id": "om_question"},
        "outcome": "failed", "failure": {"kind": "timeout", "message": "budget spent"}
    });
    let done = events::build(EventType::AnalysisCompleted, "analyze", "done2", &done, &[]).unwrap();
    // A quick analysis: the result is delivered first, the question 50 ms later.
    let result = tokio::spawn({
        let app = app.clone();
        async move { deliver(&app, done).await }
    });
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    assert_eq!(deliver(&app, asked).await.status(), StatusCode::ACCEPTED);
    assert_eq!(result.await.unwrap().status(), StatusCode::ACCEPTED);
    let texts: Vec<_> = feishu
        .calls()
        .into_iter()
        .map(|c| match c.message {
            Outgoing::Text(t) => t,
            other => format!("{other:?}"),
        })
        .collect();
    assert_eq!(texts.len(), 2);
    assert_eq!(texts[0], ack(aegis_i18n::Lang::En), "{texts:?}");
    assert!(texts[1].contains("timeout"), "{texts:?}");
}

#[tokio::test]
async fn completion_replies_under_the_stored_alert_card() {
    let (feishu, app) = setup();
    app.store.put_card("alert-ev", "om_card").await.unwrap();
    let data = serde_json::json!({
        "request_id": "req1", "origin": "alert",
        "reply_to": {"chat_id": "oc_oncall", "alert_event_id": "alert-ev"},
        "outcome": "failed", "failure": {"kind": "timeout", "message": "budget spent"}
    });
    let event =
        events::build(EventType::AnalysisCompleted, "analyze", "done1", &data, &[]).unwrap();
    assert_eq!(deliver(&app, event).await.status(), StatusCode::ACCEPTED);
    let calls = feishu.calls();
    assert_eq!(calls.len(), 1);
    assert!(calls[0].reply);
    assert_eq!(calls[0].to, "om_card");
    assert!(matches!(&calls[0].message, Outgoing::Text(t) if t.contains("timeout")));
}

/// A notice from feishu-event-handler, in `shape`: its own outcome, or (as events in
/// flight during an upgrade still are) a failed completion naming a notice kind.
fn notice_event(id: &str, shape: serde_json::Value) -> events::Event {
    let mut data = serde_json::json!({
        "request_id": id, "origin": "feishu",
        "reply_to": {"chat_id": "oc_team", "message_id": "om_question"},
    });
    for (k, v) in shape.as_object().unwrap() {
        data[k] = v.clone();
    }
    events::build(
        EventType::AnalysisCompleted,
        "feishu-event-handler",
        id,
        &data,
        &[],
    )
    .unwrap()
}

#[tokio::test]
async fn a_notice_is_posted_as_it_is_and_not_counted_as_an_analysis_result() {
    let usage = "用法：@AegisBot [模型] 问题";
    let shapes = [
        serde_json::json!({"outcome": "notice", "notice": {"kind": "usage", "text": usage}}),
        serde_json::json!({"outcome": "failed", "failure": {"kind": "usage", "message": usage}}),
    ];
    for (i, shape) in shapes.into_iter().enumerate() {
        let (feishu, app, ctx) = setup_counted();
        let res = deliver(&app, notice_event(&format!("n{i}"), shape)).await;
        assert_eq!(res.status(), StatusCode::ACCEPTED);
        let calls = feishu.calls();
        assert_eq!(calls.len(), 1);
        assert!(calls[0].reply);
        assert_eq!(calls[0].to, "om_question");
        assert!(
            matches!(&calls[0].message, Outgoing::Text(t) if t == usage),
            "{:?}",
            calls[0].message
        );
        let text = ctx.metrics.encode();
        assert!(
            text.contains(r#"aegis_feishu_sends_total{what="notice",outcome="ok"} 1"#),
            "{text}"
        );
        assert!(!text.contains(r#"what="analysis result""#), "{text}");
    }
}

#[tokio::test]
async fn a_failed_analysis_is_counted_as_an_analysis_result() {
    let (_, app, ctx) = setup_counted();
    let failed = serde_json::json!({"outcome": "failed", "failure": {"kind": "timeout", "message": "budget spent"}});
    let res = deliver(&app, notice_event("f1", failed)).await;
    assert_eq!(res.status(), StatusCode::ACCEPTED);
    let text = ctx.metrics.encode();
    assert!(
        text.contains(r#"aegis_feishu_sends_total{what="analysis result",outcome="ok"} 1"#),
        "{text}"
    );
}

#[tokio::test]
async fn a_notice_outcome_without_a_notice_is_400() {
    let (feishu, app) = setup();
    let res = deliver(
        &app,
        notice_event("n", serde_json::json!({"outcome": "notice"})),
    )
    .await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    assert!(feishu.calls().is_empty());
}

#[tokio::test]
async fn other_event_types_are_400_naming_the_three_taken() {
    let (feishu, app) = setup();
    let e = events::build(
        EventType::FeishuMessageReceived,
        "feishu-bridge",
        "x",
        &serde_json::json!({}),
        &[],
    )
    .unwrap();
    let res = deliver(&app, e).await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    let body = http_body_util::BodyExt::collect(res.into_body())
        .await
        .unwrap()
        .to_bytes();
    let body = String::from_utf8_lossy(&body);
    assert!(
        body.contains("one of io.aegis.alert.group.received.v1"),
        "{body}"
    );
    assert!(feishu.calls().is_empty());
}

#[tokio::test]
async fn malformed_data_is_400() {
    let (feishu, app) = setup();
    let event = events::build(
        EventType::AlertGroupReceived,
        "webhook-receiver",
        "x",
        &serde_json::json!({"version": "4"}),
        &[],
    )
    .unwrap();
    assert_eq!(deliver(&app, event).await.status(), StatusCode::BAD_REQUEST);
    assert!(feishu.calls().is_empty());
}

#[tokio::test]
async fn send_outcomes_are_counted_on_metrics() {
    let ctx = Context::for_test_with(&[("FEISHU_DEFAULT_CHAT_ID", "oc_oncall")]);
    let feishu = Arc::new(Recording::default());
    let app = test_app(&ctx, feishu.clone());
    deliver(&app, alert_event("firing", "warning")).await;
    *feishu.fail.lock().unwrap() = Some(|| Error::Throttled {
        code: 230020,
        retry_after: None,
    });
    deliver(&app, alert_event("resolved", "warning")).await;
    let text = ctx.metrics.encode();
    assert!(
        text.contains(r#"aegis_feishu_sends_total{what="incident card",outcome="ok"} 1"#),
        "the firing group opened its incident with a card: {text}"
    );
    assert!(
        text.contains(r#"aegis_feishu_sends_total{what="alert card",outcome="throttled"} 1"#),
        "{text}"
    );
}

/// A completed analysis whose top candidate has a charted series.
fn completed_with_chart(id: &str) -> events::Event {
    let points: Vec<[f64; 2]> = (0..20)
        .map(|i| [1_769_700_000.0 + 15.0 * i as f64, i as f64])
        .collect();
    let data = serde_json::json!({
        "request_id": id, "origin": "alert",
        "reply_to": {"chat_id": "oc_oncall"},
        "outcome": "ok",
        "report": {
            "id": format!("rep-{id}"), "summary": "cart is slow", "next_actions": [],
            "ranked_root_causes": [{"rank": 1, "service": "cart", "probability": 0.8,
                "description": "cpu", "key_indicators": [], "key_logs": [],
                "evidence": [{"source": "prometheus", "query": "q", "summary": "cpu of cart",
                    "chart": {"title": "cpu_seconds_rate of cart", "unit": "cores", "points": points,
                              "baseline": 1.0, "baseline_end": 1_769_700_060.0, "onset": 1_769_700_150.0}}]}],
            "trace": {"steps": []}, "model": "statistical",
            "time_range": {"start": "2026-01-29T08:00:00Z", "end": "2026-01-29T08:15:00Z"},
            "duration_ms": 1, "usage": {"prompt_tokens": 0, "completion_tokens": 0, "tool_calls": 0},
            "degraded": [], "timezone": "Asia/Shanghai"
        }
    });
    events::build(EventType::AnalysisCompleted, "analyze", id, &data, &[]).unwrap()
}

#[tokio::test]
async fn the_result_card_shows_the_uploaded_chart_and_goes_out_without_it_when_the_upload_fails() {
    let (feishu, app) = setup();
    assert_eq!(
        deliver(&app, completed_with_chart("c1")).await.status(),
        StatusCode::ACCEPTED
    );
    feishu
        .fail_uploads
        .store(true, std::sync::atomic::Ordering::SeqCst);
    assert_eq!(
        deliver(&app, completed_with_chart("c2")).await.status(),
        StatusCode::ACCEPTED
    );
    assert_eq!(feishu.uploads.load(std::sync::atomic::Ordering::SeqCst), 2);
    let cards: Vec<String> = feishu
        .calls()
        .iter()
        .map(|c| match &c.message {
            Outgoing::Card(card) => card.to_value().to_string(),
            Outgoing::Text(t) => panic!("a card, not {t}"),
        })
        .collect();
    assert_eq!(cards.len(), 2, "both cards went out");
    assert!(
        cards[0].contains(r#""img_key":"img_recorded""#),
        "{}",
        cards[0]
    );
    assert!(!cards[1].contains("img_key"), "{}", cards[1]);
    assert!(
        cards[1].contains("wrong cause"),
        "the feedback buttons are there"
    );
}
