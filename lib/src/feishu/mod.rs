//! Feishu (Lark): the open-platform client, cards, the long connection's frames, and the
//! HTTP callback mode. Protocol facts: `shared/specs/feishu.md`.

mod config;

pub use config::{ChatRoute, Config};
