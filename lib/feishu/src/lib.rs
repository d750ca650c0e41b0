//! Feishu (Lark): the open-platform client, cards, the long connection's frames, and the
//! HTTP callback mode. Protocol facts: `docs/feishu-protocol.md`.

pub mod callback;
mod card;
mod client;
mod config;
pub mod endpoint;
mod error;
pub mod event;
pub mod frame;
mod message;
mod messenger;
mod pacer;
mod token;

pub use card::{CARD_LIMIT, Card, Element, Template, escape_markdown, unescape_markdown};
pub use client::{Client, RetryPolicy};
pub use config::{ChatRoute, Config};
pub use error::Error;
pub use message::{BotInfo, Outgoing, ReceiveIdType, Sent, TEXT_LIMIT};
pub use messenger::{Console, Messenger, message_uuid, messenger};
