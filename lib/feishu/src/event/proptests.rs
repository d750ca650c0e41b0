//! Properties of the events Feishu pushes (long-connection frames and the HTTP
//! callback alike): any document is read or refused without a panic, a message or
//! card action as Feishu sends it keeps its fields, and what a consumer reads back
//! from the published event is what Feishu sent.

use aegis_core::events::{AttributesReader, EXT_CHAT_TYPE, data_as, derive_id};
use proptest::prelude::*;
use serde_json::{Value, json};

use super::{
    CARD_ACTION_TRIGGER, ChatMessage, Envelope, MESSAGE_RECEIVE_V1, RawEnvelope, received_event,
};
use crate::frame::{Frame, Header};

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: 64,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

/// Any JSON document, with keys an envelope, a message or a post uses.
fn json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<String>().prop_map(Value::String),
        "(2\\.0|im\\.message\\.receive_v1|card\\.action\\.trigger|text|post|p2p|group|at|[0-9]{1,14})"
            .prop_map(Value::String),
    ];
    leaf.prop_recursive(5, 64, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
            prop::collection::btree_map(
                "(schema|header|event|token|type|challenge|uuid|event_id|event_type|message|\
                 sender|sender_type|chat_type|content|message_type|create_time|mentions|\
                 operator|action|value|tag|title|text|user_id|zh_cn|[a-z]{1,6})",
                inner,
                0..8,
            )
            .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// Reads everything a consumer reads; none of it may panic.
fn read_all(envelope: &Envelope) {
    let _ = (
        envelope.event_id(),
        envelope.event_type(),
        envelope.verification_token(),
        envelope.chat_type(),
        envelope.card_action(),
    );
    if let Some(m) = envelope.message() {
        let _ = (m.message.text(), m.message.created_at());
    }
}

/// A post's content: a title and lines of `text`/`at` runs, optionally under a locale.
fn post() -> impl Strategy<Value = (Value, String)> {
    let run = prop_oneof![
        any::<String>().prop_map(|t| (json!({"tag": "text", "text": t}), t)),
        "@_user_[0-9]".prop_map(|k| (json!({"tag": "at", "user_id": k, "user_name": "Bot"}), k)),
        any::<String>().prop_map(|t| (json!({"tag": "img", "image_key": t}), String::new())),
    ];
    (
        any::<String>(),
        prop::collection::vec(prop::collection::vec(run, 0..4), 0..4),
        any::<bool>(),
    )
        .prop_map(|(title, lines, localised)| {
            let content: Vec<Value> = lines
                .iter()
                .map(|l| Value::Array(l.iter().map(|(v, _)| v.clone()).collect()))
                .collect();
            let mut text: Vec<String> = Vec::new();
            if !title.is_empty() {
                text.push(title.clone());
            }
            text.extend(
                lines
                    .iter()
                    .map(|l| l.iter().map(|(_, t)| t.as_str()).collect::<String>()),
            );
            let body = json!({"title": title, "content": content});
            let body = if localised {
                json!({"zh_cn": body})
            } else {
                body
            };
            (body, text.join("\n"))
        })
}

/// A schema 2.0 `im.message.receive_v1` as Feishu sends it, with the text it carries.
fn message_event() -> impl Strategy<Value = (Value, String)> {
    (
        "[a-z0-9]{1,32}",
        "[!-~]{0,32}",
        "om_[a-z0-9]{1,20}",
        "oc_[a-z0-9]{1,20}",
        prop::sample::select(&["p2p", "group", "topic_group"][..]),
        prop_oneof![
            any::<String>().prop_map(|t| (json!({"text": t}).to_string(), "text", t)),
            post().prop_map(|(body, text)| (body.to_string(), "post", text)),
        ],
        0i64..4_000_000_000_000,
    )
        .prop_map(
            |(event_id, token, message_id, chat_id, chat_type, (content, kind, text), ms)| {
                let raw = json!({
                    "schema": "2.0",
                    "header": {
                        "event_id": event_id,
                        "event_type": MESSAGE_RECEIVE_V1,
                        "create_time": ms.to_string(),
                        "token": token,
                        "app_id": "cli_x",
                        "tenant_key": "t",
                    },
                    "event": {
                        "sender": {"sender_id": {"open_id": "ou_1"}, "sender_type": "user"},
                        "message": {
                            "message_id": message_id,
                            "chat_id": chat_id,
                            "chat_type": chat_type,
                            "message_type": kind,
                            "content": content,
                            "create_time": ms.to_string(),
                            "mentions": [],
                        },
                    },
                    "unknown": {"kept": true},
                });
                (raw, text)
            },
        )
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn any_body_is_read_or_refused_without_a_panic(
        body in prop_oneof![
            prop::collection::vec(any::<u8>(), 0..256),
            json().prop_map(|v| v.to_string().into_bytes()),
        ],
    ) {
        if let Ok(raw) = serde_json::from_slice::<Value>(&body) {
            match serde_json::from_value::<Envelope>(raw.clone()) {
                Ok(envelope) => read_all(&envelope),
                Err(e) => prop_assert!(!e.to_string().is_empty()),
            }
            // The strict reading agrees with the typed view.
            prop_assert_eq!(
                serde_json::from_value::<RawEnvelope>(raw.clone()).is_ok(),
                serde_json::from_value::<Envelope>(raw.clone()).is_ok()
            );
            // What is published always has an id, even for a body that is no envelope.
            let event = received_event(&raw, "feishu-bridge", "m").expect("publishable");
            prop_assert!(!event.id().is_empty());
            read_all(RawEnvelope::new(raw).envelope());
        }
    }

    #[test]
    fn a_message_event_keeps_its_fields((raw, text) in message_event()) {
        let envelope: Envelope = serde_json::from_slice(raw.to_string().as_bytes()).expect("an envelope");
        prop_assert_eq!(envelope.event_id(), raw["header"]["event_id"].as_str());
        prop_assert_eq!(envelope.event_type(), Some(MESSAGE_RECEIVE_V1));
        prop_assert_eq!(envelope.verification_token(), raw["header"]["token"].as_str());
        let chat_type = raw["event"]["message"]["chat_type"].as_str();
        let parsed_chat_type = envelope.chat_type();
        prop_assert_eq!(parsed_chat_type.as_deref(), chat_type);
        let received = envelope.message().expect("a message");
        prop_assert_eq!(received.sender.sender_type, "user");
        prop_assert_eq!(received.sender.sender_id.open_id.as_deref(), Some("ou_1"));
        let m = received.message;
        prop_assert_eq!(Some(m.message_id.as_str()), raw["event"]["message"]["message_id"].as_str());
        prop_assert_eq!(Some(m.chat_id.as_str()), raw["event"]["message"]["chat_id"].as_str());
        prop_assert_eq!(m.text(), Some(text));
        let ms: i64 = m.create_time.parse().expect("digits");
        prop_assert_eq!(m.created_at().map(|t| t.timestamp_millis()), Some(ms));
    }

    #[test]
    fn the_published_event_is_what_feishu_sent((raw, _) in message_event()) {
        let event = received_event(&raw, "feishu-bridge", "m").expect("publishable");
        prop_assert_eq!(Some(event.id()), raw["header"]["event_id"].as_str());
        let chat_type = event.extension(EXT_CHAT_TYPE).map(|v| v.to_string());
        prop_assert_eq!(chat_type.as_deref(), raw["event"]["message"]["chat_type"].as_str());
        let back: RawEnvelope = data_as(&event).expect("decodes strictly");
        prop_assert_eq!(back.raw(), &raw);
    }

    #[test]
    fn a_v1_envelope_and_a_url_verification_keep_their_fields(
        uuid in "[a-z0-9-]{1,36}",
        token in any::<String>(),
        challenge in any::<String>(),
        kind in "[a-z_.]{1,30}",
    ) {
        let v1: Envelope = serde_json::from_value(
            json!({"uuid": uuid, "token": token, "type": "event_callback", "event": {"type": kind}}),
        ).expect("a v1 envelope");
        prop_assert_eq!(v1.event_id(), Some(uuid.as_str()));
        prop_assert_eq!(v1.event_type(), Some(kind.as_str()));
        prop_assert_eq!(v1.verification_token(), Some(token.as_str()));
        let check: Envelope = serde_json::from_value(
            json!({"type": "url_verification", "token": token, "challenge": challenge}),
        ).expect("a url_verification");
        prop_assert_eq!(check.kind.as_deref(), Some("url_verification"));
        prop_assert_eq!(check.verification_token(), Some(token.as_str()));
        prop_assert_eq!(check.event_id(), None);
        prop_assert_eq!(check.challenge, Some(challenge));
    }

    #[test]
    fn a_card_action_keeps_who_clicked_what(
        event_id in "[a-z0-9]{1,32}",
        open_id in "ou_[a-z0-9]{1,20}",
        value in json(),
        tag in "[a-z_]{0,10}",
    ) {
        let raw = json!({
            "schema": "2.0",
            "header": {"event_id": event_id, "event_type": CARD_ACTION_TRIGGER},
            "event": {
                "operator": {"open_id": open_id},
                "action": {"value": value, "tag": tag},
                "context": {"open_message_id": "om_1"},
            },
        });
        let envelope: Envelope = serde_json::from_value(raw).expect("an envelope");
        prop_assert!(envelope.message().is_none());
        let action = envelope.card_action().expect("a card action");
        prop_assert_eq!(action.operator.open_id, Some(open_id));
        prop_assert_eq!(action.action.value, value);
        prop_assert_eq!(action.action.tag, tag);
    }

    #[test]
    fn a_field_of_the_wrong_type_is_refused_strictly_and_still_published(
        field in prop::sample::select(&["schema", "header", "token", "type", "challenge", "uuid"][..]),
        wrong in prop_oneof![Just(json!(7)), Just(json!([1])), Just(json!({"a": 1})), Just(json!(true))],
        (raw, _) in message_event(),
    ) {
        // `header` is an object, every other field a string: give each what it is not.
        let wrong = match (field, &wrong) {
            ("header", Value::Object(_)) => json!("nope"),
            _ => wrong,
        };
        let mut raw = raw;
        raw[field] = wrong;
        let err = serde_json::from_value::<RawEnvelope>(raw.clone()).expect_err("refused");
        prop_assert!(!err.to_string().is_empty());
        // The bridge still publishes it (under the fallback id when the header is
        // gone) so the subscriber's refusal is logged rather than the event lost.
        let event = received_event(&raw, "feishu-bridge", "m").expect("publishable");
        if field == "header" {
            prop_assert_eq!(event.id(), derive_id(&["feishu-event", "m"]));
        }
    }

    #[test]
    fn message_content_and_times_of_any_shape_are_read_without_a_panic(
        message_type in prop::sample::select(&["text", "post", "image", ""][..]),
        content in prop_oneof![any::<String>(), json().prop_map(|v| v.to_string())],
        create_time in prop_oneof![any::<String>(), any::<i64>().prop_map(|n| n.to_string())],
    ) {
        let m = ChatMessage {
            message_type: message_type.into(),
            content,
            create_time,
            ..ChatMessage::default()
        };
        let _ = (m.text(), m.created_at());
    }

    #[test]
    fn a_frame_round_trips_and_any_bytes_are_a_frame_or_an_error(
        seq_id in any::<u64>(),
        method in 0i32..3,
        headers in prop::collection::vec((any::<String>(), any::<String>()), 0..5),
        payload in prop::option::of(prop::collection::vec(any::<u8>(), 0..256)),
        garbage in prop::collection::vec(any::<u8>(), 0..256),
    ) {
        let frame = Frame {
            seq_id,
            method,
            headers: headers.into_iter().map(|(k, v)| Header::new(k, v)).collect(),
            payload,
            ..Frame::default()
        };
        prop_assert_eq!(Frame::from_bytes(&frame.to_bytes()).expect("decodes"), frame.clone());
        let _ = (frame.kind(), frame.header_num("sum"), frame.ack(200, 1));
        match Frame::from_bytes(&garbage) {
            Ok(f) => { let _ = (f.kind(), f.header_num("seq"), f.payload_bytes()); }
            Err(e) => prop_assert!(!e.to_string().is_empty()),
        }
    }
}
