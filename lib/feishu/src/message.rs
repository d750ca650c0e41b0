use serde::Serialize;

use super::{Card, Error};

/// Text messages may be up to 150 KB of request body.
pub const TEXT_LIMIT: usize = 150 * 1024;

/// A message to send or reply with.
#[derive(Debug, Clone, PartialEq)]
pub enum Outgoing {
    /// Plain text; `<at user_id="ou_x">Name</at>` and `<at user_id="all"></at>` mention.
    Text(String),
    /// An interactive card (JSON 2.0).
    Card(Card),
}

impl Outgoing {
    /// Feishu's `msg_type`: `text` or `interactive`.
    pub fn msg_type(&self) -> &'static str {
        match self {
            Self::Text(_) => "text",
            Self::Card(_) => "interactive",
        }
    }

    /// The `content` field: the message JSON serialised as a string, checked against
    /// Feishu's size limit (30 KB for cards, 150 KB for text) so an oversized message
    /// fails here rather than as a rejected request.
    pub fn content(&self) -> Result<String, Error> {
        #[derive(Serialize)]
        struct Text<'a> {
            text: &'a str,
        }
        let (content, kind, limit) = match self {
            Self::Text(text) => (
                serde_json::to_string(&Text { text }).expect("a string field always serialises"),
                "text",
                TEXT_LIMIT,
            ),
            Self::Card(card) => (card.to_content(), "card", super::card::CARD_LIMIT),
        };
        let size = super::card::encoded_len(&content);
        if size > limit {
            return Err(Error::TooLarge { kind, size, limit });
        }
        Ok(content)
    }
}

/// Who a new message goes to: Feishu's `receive_id_type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReceiveIdType {
    /// A chat (`oc_...`).
    ChatId,
    /// A user's open_id (`ou_...`).
    OpenId,
    /// A user's user_id.
    UserId,
    /// A user's union_id (`on_...`).
    UnionId,
    /// A user's email.
    Email,
}

impl ReceiveIdType {
    /// The query value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ChatId => "chat_id",
            Self::OpenId => "open_id",
            Self::UserId => "user_id",
            Self::UnionId => "union_id",
            Self::Email => "email",
        }
    }
}

/// A message Feishu accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sent {
    /// The new message's id (`om_...`), to reply under later.
    pub message_id: String,
}

/// The bot's identity (`GET /open-apis/bot/v3/info`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
pub struct BotInfo {
    /// The bot's open_id: mentions of it in chat are addressed to Aegis.
    pub open_id: String,
    /// The app's display name.
    #[serde(default)]
    pub app_name: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_content_is_a_json_string() {
        let m = Outgoing::Text("收到，正在分析…".into());
        assert_eq!(m.msg_type(), "text");
        let v: serde_json::Value = serde_json::from_str(&m.content().unwrap()).unwrap();
        assert_eq!(v["text"], "收到，正在分析…");
    }

    #[test]
    fn oversized_text_is_refused() {
        let m = Outgoing::Text("x".repeat(TEXT_LIMIT + 1));
        assert!(matches!(
            m.content(),
            Err(Error::TooLarge { kind: "text", .. })
        ));
    }
}
