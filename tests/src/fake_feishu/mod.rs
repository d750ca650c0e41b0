//! A fake Feishu open platform, faithful to `shared/specs/feishu.md` and checked
//! against the official `lark-oapi` SDK: token, bot info, send and reply (`api`), and
//! endpoint discovery plus the long connection's protobuf frames (`ws`). It records
//! everything it receives.

pub mod api;
pub mod ws;
