use std::sync::Arc;

use super::{Card, Client, Config, Error, Outgoing, ReceiveIdType, Sent};

/// Where Aegis's Feishu messages go: the real [`Client`], or the [`Console`] when no
/// Feishu app is configured (local use).
#[async_trait::async_trait]
pub trait Messenger: Send + Sync {
    /// Sends a new message to `receive_id`; `uuid` makes it idempotent.
    async fn send(
        &self,
        receive_id_type: ReceiveIdType,
        receive_id: &str,
        message: &Outgoing,
        uuid: &str,
    ) -> Result<Sent, Error>;

    /// Replies under `message_id`; `uuid` makes it idempotent.
    async fn reply(
        &self,
        message_id: &str,
        message: &Outgoing,
        uuid: &str,
        reply_in_thread: bool,
    ) -> Result<Sent, Error>;

    /// Replaces the card `message_id` by `card`, in place.
    async fn update(&self, message_id: &str, card: &Card) -> Result<(), Error>;

    /// Uploads a PNG for cards; its `image_key`.
    async fn upload_image(&self, png: &[u8]) -> Result<String, Error>;
}

/// The messenger the configuration calls for: the client when credentials are set,
/// else the console.
pub fn messenger(config: &Config) -> Arc<dyn Messenger> {
    match Client::from_config(config) {
        Some(client) => Arc::new(client),
        None => Arc::new(Console),
    }
}

/// The `uuid` of a send: deterministic from the event and the purpose (`card`,
/// `ack`, `result`), so a redelivered event never posts twice. 32 hex characters,
/// under Feishu's 50.
pub fn message_uuid(event_id: &str, purpose: &str) -> String {
    aegis_core::events::derive_id(&[event_id, purpose])
}

/// Prints each message to standard output instead of sending it; message ids are
/// `console-<uuid>`.
#[derive(Debug, Default, Clone, Copy)]
pub struct Console;

impl Console {
    fn print(target: &str, message: &Outgoing) -> Result<(), Error> {
        message.content()?; // the same size check as a real send
        let body = match message {
            Outgoing::Text(text) => text.clone(),
            Outgoing::Card(card) => format!(
                "[{}] {}\n{}",
                card.template.as_str(),
                card.title,
                super::card::unescape_markdown(&card.text())
            ),
        };
        println!("── Feishu (console) {target}\n{body}\n──");
        Ok(())
    }
}

#[async_trait::async_trait]
impl Messenger for Console {
    async fn send(
        &self,
        receive_id_type: ReceiveIdType,
        receive_id: &str,
        message: &Outgoing,
        uuid: &str,
    ) -> Result<Sent, Error> {
        Self::print(
            &format!("to {} {receive_id}", receive_id_type.as_str()),
            message,
        )?;
        Ok(Sent {
            message_id: format!("console-{uuid}"),
        })
    }

    async fn reply(
        &self,
        message_id: &str,
        message: &Outgoing,
        uuid: &str,
        _reply_in_thread: bool,
    ) -> Result<Sent, Error> {
        Self::print(&format!("reply to {message_id}"), message)?;
        Ok(Sent {
            message_id: format!("console-{uuid}"),
        })
    }

    async fn update(&self, message_id: &str, card: &Card) -> Result<(), Error> {
        Self::print(
            &format!("update of {message_id}"),
            &Outgoing::Card(card.clone()),
        )
    }

    /// The console shows no images: the card goes out without its chart.
    async fn upload_image(&self, _png: &[u8]) -> Result<String, Error> {
        Err(Error::Unavailable(
            "the console messenger shows no images".into(),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uuids_differ_by_purpose_and_fit() {
        let a = message_uuid("e1", "card");
        assert_eq!(a, message_uuid("e1", "card"));
        assert_ne!(a, message_uuid("e1", "result"));
        assert!(a.len() <= 50);
    }

    #[tokio::test]
    async fn console_answers_with_a_message_id() {
        let sent = Console
            .send(
                ReceiveIdType::ChatId,
                "oc_1",
                &Outgoing::Text("hi".into()),
                "u1",
            )
            .await
            .unwrap();
        assert_eq!(sent.message_id, "console-u1");
    }
}
