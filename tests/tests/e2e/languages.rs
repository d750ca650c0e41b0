//! Languages (issue 30): alert cards and their analyses in each chat's language, a chat
//! question answered in the language it is asked in, and the HTTP API in the caller's,
//! through `aegis dev` and the fake Feishu. A Chinese card must hold none of Aegis's own
//! English sentences (`aegis_i18n::untranslated`); the data's own words (alert
//! annotations, log lines, queries, errors) stay as they are.

use std::time::Duration;

use aegis_i18n::untranslated;
use aegis_tests::fake_feishu::{APP_ID, APP_SECRET, FakeFeishu, Posted, message_event};
use aegis_tests::http::{json, text};
use aegis_tests::process;
use serde_json::{Value, json};

const EN_CHAT: &str = "oc_en";
const ZH_CHAT: &str = "oc_zh";

/// `aegis dev` wired to the fake Feishu: alerts of `team=zh` go to the Chinese chat,
/// the others to the English one; the statistical engine answers (no model).
async fn dev_with(fake: &FakeFeishu) -> (aegis_cli::DevHandle, tempfile::TempDir) {
    let base = fake.base_url().to_string();
    let routes = format!("team=zh:{ZH_CHAT}");
    let languages = format!("{ZH_CHAT}=zh-CN");
    process::dev(
        &[
            ("FEISHU_BASE_URL", base.as_str()),
            ("FEISHU_APP_ID", APP_ID),
            ("FEISHU_APP_SECRET", APP_SECRET),
            ("FEISHU_DEFAULT_CHAT_ID", EN_CHAT),
            ("AEGIS_CHAT_ROUTES", routes.as_str()),
            ("AEGIS_CHAT_LANGUAGES", languages.as_str()),
            ("DEFAULT_MODEL", ""),
            ("AEGIS_LLM_BASE_URL", ""),
            ("AEGIS_LOG_FORMAT", "text"),
        ],
        None,
    )
    .await
    .expect("aegis dev starts")
}

/// A firing critical group `name` with one alert, labelled `team` when given.
fn notification(name: &str, team: Option<&str>) -> Value {
    let mut labels = json!({"alertname": name, "severity": "critical", "namespace": "shop", "service": "checkout"});
    if let Some(team) = team {
        labels["team"] = json!(team);
    }
    json!({
        "version": "4", "groupKey": format!("{{}}:{{alertname=\"{name}\"}}"), "truncatedAlerts": 0,
        "status": "firing", "receiver": "aegis", "groupLabels": {"alertname": name},
        "commonLabels": labels, "commonAnnotations": {}, "externalURL": "http://alertmanager:9093",
        "alerts": [{
            "status": "firing", "labels": labels,
            "annotations": {"summary": "checkout answers slowly"},
            "startsAt": chrono::Utc::now().to_rfc3339(), "endsAt": "0001-01-01T00:00:00Z",
            "generatorURL": "http://prometheus:9090/graph", "fingerprint": format!("{name}-0")
        }]
    })
}

/// Waits (on the broker, not on a clock) until `done` holds of the fake's messages.
async fn until(
    dev: &aegis_cli::DevHandle,
    fake: &FakeFeishu,
    done: impl Fn(&[Posted]) -> bool,
) -> Vec<Posted> {
    for _ in 0..600 {
        dev.broker().wait_idle().await;
        let messages = fake.api.messages();
        if done(&messages) {
            return messages;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("not reached: {:#?}", fake.api.messages());
}

/// Everything a person reads of `m`: its title, its text, and every update of it.
fn all_text(m: &Posted) -> String {
    let mut out = format!("{}\n{}", m.title().unwrap_or_default(), m.text());
    for update in &m.updates {
        out.push('\n');
        out.push_str(&update.to_string());
    }
    out
}

fn starts(m: &Posted, prefix: &str) -> bool {
    m.title().is_some_and(|t| t.starts_with(prefix))
}

#[tokio::test]
async fn alert_cards_and_their_analyses_speak_each_chat_s_language() {
    let fake = FakeFeishu::start().await.unwrap();
    let (dev, _data) = dev_with(&fake).await;
    let http = reqwest::Client::new();
    for body in [
        notification("CheckoutSlow", Some("zh")),
        notification("PaymentSlow", None),
    ] {
        let res = http
            .post(dev.url("/alertmanager/webhook"))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
    }
    // Each chat: the incident card, then the analysis' result card in its thread.
    let results = |ms: &[Posted]| {
        ms.iter()
            .filter(|m| m.in_thread && m.msg_type == "interactive")
            .count()
    };
    let messages = until(&dev, &fake, |ms| results(ms) >= 2).await;
    let in_chat = |chat: &str| -> Vec<&Posted> {
        let root = messages
            .iter()
            .find(|m| m.chat_id.as_deref() == Some(chat))
            .unwrap_or_else(|| panic!("no card in {chat}: {messages:#?}"));
        messages
            .iter()
            .filter(|m| {
                m.message_id == root.message_id || m.parent_id.as_deref() == Some(&root.message_id)
            })
            .collect()
    };

    let zh = in_chat(ZH_CHAT);
    assert!(
        starts(zh[0], "[告警中] CheckoutSlow"),
        "{:?}",
        zh[0].title()
    );
    let card = zh[0].latest().text();
    assert!(card.contains("严重 · 告警中"), "{card}");
    let result = zh
        .iter()
        .find(|m| starts(m, "根因分析"))
        .expect("a Chinese result card");
    assert!(result.text().contains("**结论**"), "{}", result.text());
    // No backend, no candidate: the engine's own sentence for that, in Chinese.
    assert!(
        result
            .text()
            .contains("这个时间范围内的遥测数据没有显示变化。"),
        "{}",
        result.text()
    );
    // No backend is configured here: the card says so in Chinese too.
    assert!(result.text().contains("降级："), "{}", result.text());
    assert!(
        result.text().contains("未配置 Prometheus"),
        "{}",
        result.text()
    );
    for m in &zh {
        let text = all_text(m);
        assert!(
            untranslated(&text).is_empty(),
            "English on a Chinese card: {:?}\n{text}",
            untranslated(&text)
        );
    }

    let en = in_chat(EN_CHAT);
    assert!(starts(en[0], "[FIRING] PaymentSlow"), "{:?}", en[0].title());
    assert!(
        en[0].text().contains("critical · firing"),
        "{}",
        en[0].text()
    );
    assert!(
        en.iter().any(|m| starts(m, "Root-cause analysis")),
        "{en:#?}"
    );
}

#[tokio::test]
async fn a_chat_question_is_answered_in_the_language_it_is_asked_in() {
    let fake = FakeFeishu::start().await.unwrap();
    fake.ws
        .set_endpoint_config(aegis_feishu::endpoint::ClientConfig {
            reconnect_count: Some(-1),
            reconnect_interval: Some(1),
            reconnect_nonce: Some(0),
            ping_interval: Some(120),
        });
    let (dev, _data) = dev_with(&fake).await;
    assert!(
        fake.ws
            .wait_until(Duration::from_secs(10), |s| s.connected())
            .await,
        "the bridge did not connect"
    );
    // Both asked in the English chat: the question's language wins over the chat's.
    fake.ws.push(
        &message_event("ev_en", EN_CHAT, "@_user_1 why is checkout failing"),
        1,
    );
    fake.ws.push(
        &message_event("ev_zh", EN_CHAT, "@_user_1 checkout 为什么失败"),
        1,
    );
    let under = |ms: &[Posted], id: &str| -> Vec<Posted> {
        ms.iter()
            .filter(|m| m.parent_id.as_deref() == Some(id))
            .cloned()
            .collect()
    };
    let messages = until(&dev, &fake, |ms| {
        under(ms, "om_ev_en").len() >= 2 && under(ms, "om_ev_zh").len() >= 2
    })
    .await;

    let en = under(&messages, "om_ev_en");
    assert_eq!(en[0].text(), "Got it, analysing…");
    assert!(starts(&en[1], "Root-cause analysis"), "{:?}", en[1].title());
    assert!(en[1].text().contains("**Summary**"), "{}", en[1].text());

    let zh = under(&messages, "om_ev_zh");
    assert_eq!(zh[0].text(), "收到，正在分析…");
    assert!(starts(&zh[1], "根因分析"), "{:?}", zh[1].title());
    let card = all_text(&zh[1]);
    assert!(
        card.contains("**结论**") && card.contains("症状：checkout 为什么失败"),
        "{card}"
    );
    assert!(
        untranslated(&card).is_empty(),
        "{:?}\n{card}",
        untranslated(&card)
    );
}

#[tokio::test]
async fn the_api_answers_in_the_caller_s_language_and_english_by_default() {
    let fake = FakeFeishu::start().await.unwrap();
    let (dev, _data) = dev_with(&fake).await;
    let http = reqwest::Client::new();
    let ask = |body: Value, accept: Option<&'static str>| {
        let mut req = http.post(dev.url("/api/ops/analyze")).json(&body);
        if let Some(accept) = accept {
            req = req.header("Accept-Language", accept);
        }
        req
    };
    let question = |language: Option<&str>| {
        let mut body = json!({"description": "checkout 为什么失败"});
        if let Some(l) = language {
            body["language"] = json!(l);
        }
        body
    };

    // Neither header nor field: English, as before languages existed.
    let report = json(ask(question(None), None)).await;
    assert_eq!(report["language"], "en");
    assert!(
        report["summary"].as_str().unwrap().starts_with("Symptom: "),
        "{report}"
    );

    let report = json(ask(question(None), Some("zh-CN,zh;q=0.9,en;q=0.8"))).await;
    assert_eq!(report["language"], "zh-CN");
    let summary = report["summary"].as_str().unwrap();
    assert!(
        summary.starts_with("症状：checkout 为什么失败。"),
        "{summary}"
    );
    assert!(untranslated(summary).is_empty(), "{summary}");
    // Its Markdown and page, as stored, in Chinese too.
    let id = report["id"].as_str().unwrap();
    let stored = |accept: &'static str| {
        http.get(dev.url(&format!("/api/ops/analyses/{id}")))
            .header("Accept", accept)
    };
    let markdown = text(stored("text/markdown")).await;
    assert!(markdown.contains("**模型：** statistical"), "{markdown}");
    let page = text(stored("text/html")).await;
    assert!(
        page.contains(r#"<html lang="zh-CN">"#) && page.contains("根因分析"),
        "{page}"
    );

    // The field wins over the header.
    let report = json(ask(question(Some("en")), Some("zh-CN"))).await;
    assert_eq!(report["language"], "en");

    // Like every field of the wrong value (FastAPI's validation status).
    let res = ask(question(Some("fr")), None).send().await.unwrap();
    assert_eq!(res.status(), 422);
    let error: Value = res.json().await.unwrap();
    assert_eq!(error["field"], "language", "{error}");
    assert!(
        error["error"].as_str().unwrap().contains("en, zh-CN"),
        "{error}"
    );
}
