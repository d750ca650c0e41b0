//! The event envelope Feishu pushes (schema 2.0, and the v1 fields the HTTP callback
//! mode may still carry) and the `im.message.receive_v1` event inside it.

use aegis_core::events::{EXT_CHAT_TYPE, Event, EventType, Payload, derive_id};
use serde::{Deserialize, Serialize};

/// `header.event_type` of a message sent to the bot.
pub const MESSAGE_RECEIVE_V1: &str = "im.message.receive_v1";

/// An event envelope as received. Unknown fields are kept out; the raw JSON is what
/// the bridge publishes, this view is what consumers read.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Envelope {
    /// `"2.0"` for schema 2.0 events.
    #[serde(default)]
    pub schema: Option<String>,
    /// The 2.0 header.
    #[serde(default)]
    pub header: Option<EventHeader>,
    /// The event body.
    #[serde(default)]
    pub event: Option<serde_json::Value>,
    /// v1 and url_verification: the Verification Token.
    #[serde(default)]
    pub token: Option<String>,
    /// v1 and url_verification: `event_callback`, `url_verification`.
    #[serde(rename = "type", default)]
    pub kind: Option<String>,
    /// url_verification: the value to echo.
    #[serde(default)]
    pub challenge: Option<String>,
    /// v1: the event id.
    #[serde(default)]
    pub uuid: Option<String>,
}

/// The schema 2.0 header.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct EventHeader {
    /// Unique per event; redeliveries keep it.
    #[serde(default)]
    pub event_id: String,
    /// `im.message.receive_v1`, ...
    #[serde(default)]
    pub event_type: String,
    /// Milliseconds since the epoch, as a string.
    #[serde(default)]
    pub create_time: String,
    /// The Verification Token.
    #[serde(default)]
    pub token: String,
    /// The app.
    #[serde(default)]
    pub app_id: String,
    /// The tenant.
    #[serde(default)]
    pub tenant_key: String,
}

/// `header.event_type` of a click on a card's callback button.
pub const CARD_ACTION_TRIGGER: &str = "card.action.trigger";

/// The body of `card.action.trigger`: who clicked which button of which card.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct CardAction {
    /// Who clicked.
    #[serde(default)]
    pub operator: UserId,
    /// What was clicked.
    #[serde(default)]
    pub action: Action,
    /// Where: `open_message_id`, `open_chat_id`.
    #[serde(default)]
    pub context: serde_json::Value,
}

/// The clicked element of a [`CardAction`].
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Action {
    /// The `value` the button's callback behaviour carries.
    #[serde(default)]
    pub value: serde_json::Value,
    /// `button`, ...
    #[serde(default)]
    pub tag: String,
}

/// The body of `im.message.receive_v1`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct MessageReceived {
    /// Who sent it.
    #[serde(default)]
    pub sender: Sender,
    /// The message.
    #[serde(default)]
    pub message: ChatMessage,
}

/// The sender of a message.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Sender {
    /// Its ids.
    #[serde(default)]
    pub sender_id: UserId,
    /// `user` for people, `app` for bots.
    #[serde(default)]
    pub sender_type: String,
    /// The tenant.
    #[serde(default)]
    pub tenant_key: String,
}

/// The ids of a user.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserId {
    /// Union id.
    #[serde(default)]
    pub union_id: Option<String>,
    /// User id (needs an extra permission).
    #[serde(default)]
    pub user_id: Option<String>,
    /// Open id (per app).
    #[serde(default)]
    pub open_id: Option<String>,
}

/// A chat message.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ChatMessage {
    /// `om_...`.
    #[serde(default)]
    pub message_id: String,
    /// The thread root, if a reply.
    #[serde(default)]
    pub root_id: Option<String>,
    /// The parent, if a reply.
    #[serde(default)]
    pub parent_id: Option<String>,
    /// Milliseconds since the epoch, as a string.
    #[serde(default)]
    pub create_time: String,
    /// `oc_...`.
    #[serde(default)]
    pub chat_id: String,
    /// `p2p`, `group` or `topic_group`.
    #[serde(default)]
    pub chat_type: String,
    /// `text`, `post`, ...
    #[serde(default)]
    pub message_type: String,
    /// The content, a JSON document serialised as a string.
    #[serde(default)]
    pub content: String,
    /// The mentions, whose `key` appears in the text as a placeholder (`@_user_1`).
    #[serde(default)]
    pub mentions: Vec<Mention>,
}

/// An @-mention in a message.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Mention {
    /// The placeholder in the text (`@_user_1`).
    #[serde(default)]
    pub key: String,
    /// Who is mentioned.
    #[serde(default)]
    pub id: UserId,
    /// Their display name.
    #[serde(default)]
    pub name: String,
}

impl Envelope {
    /// The event id: `header.event_id` (2.0) or `uuid` (v1).
    pub fn event_id(&self) -> Option<&str> {
        self.header
            .as_ref()
            .map(|h| h.event_id.as_str())
            .or(self.uuid.as_deref())
            .filter(|id| !id.is_empty())
    }

    /// The event type: `header.event_type` (2.0) or `event.type` (v1).
    pub fn event_type(&self) -> Option<&str> {
        if let Some(h) = &self.header {
            return Some(h.event_type.as_str());
        }
        self.event.as_ref()?.get("type")?.as_str()
    }

    /// The Verification Token it carries: `header.token` (2.0) or `token` (v1).
    pub fn verification_token(&self) -> Option<&str> {
        self.header
            .as_ref()
            .map(|h| h.token.as_str())
            .or(self.token.as_deref())
    }

    /// The message event, when this is `im.message.receive_v1`.
    pub fn message(&self) -> Option<MessageReceived> {
        if self.event_type() != Some(MESSAGE_RECEIVE_V1) {
            return None;
        }
        serde_json::from_value(self.event.clone()?).ok()
    }

    /// The card action, when this is `card.action.trigger`.
    pub fn card_action(&self) -> Option<CardAction> {
        if self.event_type() != Some(CARD_ACTION_TRIGGER) {
            return None;
        }
        serde_json::from_value(self.event.clone()?).ok()
    }

    /// `p2p`, `group` or `topic_group` for message events.
    pub fn chat_type(&self) -> Option<String> {
        let event = self.event.as_ref()?;
        event
            .pointer("/message/chat_type")?
            .as_str()
            .map(str::to_string)
    }
}

/// Data of `io.aegis.feishu.message.received.v1`: the envelope as Feishu sent it
/// (raw JSON, unknown fields kept, which is what goes on the wire) and the typed view
/// consumers read.
#[derive(Debug, Clone)]
pub struct RawEnvelope {
    raw: serde_json::Value,
    envelope: Envelope,
}

impl RawEnvelope {
    /// The envelope Feishu sent. A body that is not an envelope still publishes (with
    /// an empty view: no id, no chat type); the subscriber then refuses it, where the
    /// refusal is logged and counted, rather than the bridge losing it.
    pub fn new(raw: serde_json::Value) -> Self {
        let envelope = Envelope::deserialize(&raw).unwrap_or_default();
        Self { raw, envelope }
    }

    /// The typed view.
    pub fn envelope(&self) -> &Envelope {
        &self.envelope
    }

    /// The JSON as received.
    pub fn raw(&self) -> &serde_json::Value {
        &self.raw
    }
}

impl Serialize for RawEnvelope {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.raw.serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for RawEnvelope {
    /// Strict, unlike [`RawEnvelope::new`]: data that is not an envelope is malformed.
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = serde_json::Value::deserialize(deserializer)?;
        let envelope = Envelope::deserialize(&raw).map_err(serde::de::Error::custom)?;
        Ok(Self { raw, envelope })
    }
}

impl Payload for RawEnvelope {
    const TYPE: EventType = EventType::FeishuMessageReceived;

    /// `aegischattype` for message events (none for others).
    fn extensions(&self) -> Vec<(&'static str, String)> {
        self.envelope
            .chat_type()
            .map(|chat_type| (EXT_CHAT_TYPE, chat_type))
            .into_iter()
            .collect()
    }
}

/// The `io.aegis.feishu.message.received.v1` event for an envelope as received (its
/// raw JSON): the id is `header.event_id` (v1: `uuid`), else derived from `fallback`
/// (the frame's message id); `aegischattype` is set for message events. Used by the
/// bridge and the HTTP callback mode alike.
pub fn received_event(
    raw: &serde_json::Value,
    function: &str,
    fallback: &str,
) -> Result<Event, serde_json::Error> {
    let data = RawEnvelope::new(raw.clone());
    let id = match data.envelope.event_id() {
        Some(id) => id.to_string(),
        None => derive_id(&["feishu-event", fallback]),
    };
    data.to_event(function, id)
}

impl ChatMessage {
    /// The message's plain text with mention placeholders left in place: `text`
    /// messages' `text`, and the title and text runs of `post` (rich text) messages,
    /// whose `at` elements become their placeholder. `None` for other types.
    pub fn text(&self) -> Option<String> {
        let content: serde_json::Value = serde_json::from_str(&self.content).ok()?;
        match self.message_type.as_str() {
            "text" => content.get("text")?.as_str().map(str::to_string),
            "post" => Some(post_text(&content)),
            _ => None,
        }
    }

    /// When the message was sent.
    pub fn created_at(&self) -> Option<chrono::DateTime<chrono::Utc>> {
        let ms: i64 = self.create_time.trim().parse().ok()?;
        chrono::DateTime::from_timestamp_millis(ms)
    }
}

/// A post is `{"title","content":[[element...]...]}`, sometimes wrapped in a locale
/// key (`{"zh_cn":{...}}`) as in the send API.
fn post_text(content: &serde_json::Value) -> String {
    let body = if content.get("content").is_some() {
        content
    } else {
        content
            .as_object()
            .and_then(|o| o.values().find(|v| v.get("content").is_some()))
            .unwrap_or(content)
    };
    let mut out = Vec::new();
    if let Some(title) = body.get("title").and_then(|t| t.as_str())
        && !title.is_empty()
    {
        out.push(title.to_string());
    }
    for line in body
        .get("content")
        .and_then(|c| c.as_array())
        .into_iter()
        .flatten()
    {
        let mut parts = Vec::new();
        for el in line.as_array().into_iter().flatten() {
            let part = match el.get("tag").and_then(|t| t.as_str()) {
                Some("text") | Some("a") | Some("code_block") => el.get("text"),
                Some("at") => el.get("user_id"),
                _ => None,
            };
            if let Some(p) = part.and_then(|p| p.as_str()) {
                parts.push(p.to_string());
            }
        }
        out.push(parts.join(""));
    }
    out.join("\n")
}

#[cfg(test)]
mod proptests;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_and_post_messages_are_read() {
        let text = ChatMessage {
            message_type: "text".into(),
            content: r#"{"text":"@_user_1 hi"}"#.into(),
            ..ChatMessage::default()
        };
        assert_eq!(text.text().as_deref(), Some("@_user_1 hi"));
        let post = ChatMessage {
            message_type: "post".into(),
            content: r#"{"title":"t","content":[[{"tag":"at","user_id":"@_user_1","user_name":"Bot"},{"tag":"text","text":" why 5xx"}],[{"tag":"text","text":"more"}]]}"#.into(),
            ..ChatMessage::default()
        };
        assert_eq!(post.text().as_deref(), Some("t\n@_user_1 why 5xx\nmore"));
        let image = ChatMessage {
            message_type: "image".into(),
            content: r#"{"image_key":"k"}"#.into(),
            ..ChatMessage::default()
        };
        assert_eq!(image.text(), None);
    }

    #[test]
    fn received_event_takes_the_feishu_event_id_and_chat_type() {
        use aegis_core::events::AttributesReader;
        let raw = serde_json::json!({"schema":"2.0","header":{"event_id":"ev9","event_type":"im.message.receive_v1"},"event":{"message":{"chat_type":"p2p"}}});
        let e = received_event(&raw, "feishu-bridge", "m").unwrap();
        assert_eq!(e.id(), "ev9");
        assert_eq!(e.ty(), "io.aegis.feishu.message.received.v1");
        assert_eq!(
            e.extension(aegis_core::events::EXT_CHAT_TYPE)
                .map(|v| v.to_string()),
            Some("p2p".into())
        );
        let anonymous = received_event(&serde_json::json!({}), "feishu-bridge", "m").unwrap();
        assert_eq!(
            anonymous.id(),
            aegis_core::events::derive_id(&["feishu-event", "m"])
        );
    }

    #[test]
    fn raw_envelope_keeps_unknown_fields_and_decodes_strictly() {
        use aegis_core::events::AttributesReader;
        let raw = serde_json::json!({"schema":"2.0","header":{"event_id":"ev1","event_type":"x"},"extra":{"kept":true}});
        let e = received_event(&raw, "feishu-bridge", "m").unwrap();
        let back: RawEnvelope = aegis_core::events::data_as(&e).unwrap();
        assert_eq!(back.raw(), &raw);
        assert_eq!(back.envelope().event_id(), Some("ev1"));
        assert!(
            back.extensions().is_empty(),
            "no chat type for a non-message"
        );
        let not_an_envelope = serde_json::json!({"header": "nope"});
        assert!(serde_json::from_value::<RawEnvelope>(not_an_envelope.clone()).is_err());
        let published = received_event(&not_an_envelope, "feishu-bridge", "m").unwrap();
        assert_eq!(
            published.id(),
            aegis_core::events::derive_id(&["feishu-event", "m"])
        );
    }

    #[test]
    fn envelope_exposes_id_type_and_token() {
        let e: Envelope = serde_json::from_str(
            r#"{"schema":"2.0","header":{"event_id":"ev1","event_type":"im.message.receive_v1","create_time":"1","token":"tok"},"event":{"message":{"chat_type":"group","message_id":"om_1"}}}"#,
        )
        .unwrap();
        assert_eq!(e.event_id(), Some("ev1"));
        assert_eq!(e.verification_token(), Some("tok"));
        assert_eq!(e.chat_type().as_deref(), Some("group"));
        assert_eq!(e.message().unwrap().message.message_id, "om_1");
    }
}
