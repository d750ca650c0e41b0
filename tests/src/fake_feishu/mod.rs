//! A fake Feishu open platform, faithful to `docs/feishu-protocol.md` and checked
//! against the official `lark-oapi` SDK: token, bot info, send and reply (`api`), and
//! endpoint discovery plus the long connection's protobuf frames (`ws`). It records
//! everything it receives.

pub mod api;
pub mod ws;

pub use api::{ApiState, Fault, Posted, Recorded};
pub use ws::{APP_ID, APP_SECRET, WsState};

/// An `im.message.receive_v1` event as Feishu pushes it: `text` from Alice in the group
/// `chat`, mentioning the bot as `@_user_1`; its message id is `om_<event_id>`.
pub fn message_event(event_id: &str, chat: &str, text: &str) -> serde_json::Value {
    let now = chrono::Utc::now().timestamp_millis().to_string();
    serde_json::json!({
        "schema": "2.0",
        "header": {"event_id": event_id, "event_type": "im.message.receive_v1", "create_time": now,
                   "token": "", "app_id": APP_ID, "tenant_key": "tenant"},
        "event": {
            "sender": {"sender_id": {"open_id": "ou_alice", "union_id": "on_alice", "user_id": "alice"},
                       "sender_type": "user", "tenant_key": "tenant"},
            "message": {
                "message_id": format!("om_{event_id}"), "root_id": "", "parent_id": "",
                "create_time": now, "update_time": now, "chat_id": chat, "thread_id": "",
                "chat_type": "group", "message_type": "text",
                "content": serde_json::json!({"text": text}).to_string(),
                "mentions": [{"key": "@_user_1", "id": {"open_id": api::BOT_OPEN_ID, "union_id": "on_bot", "user_id": ""},
                              "name": "AegisBot", "tenant_key": "tenant"}],
                "user_agent": ""
            }
        }
    })
}

/// A running fake on `127.0.0.1:<free port>`, serving the HTTP API and the long
/// connection from one address; stops when dropped.
pub struct FakeFeishu {
    /// The HTTP API's state: script faults, read what it received.
    pub api: ApiState,
    /// The long connection's state.
    pub ws: WsState,
    base_url: url::Url,
    server: tokio::task::JoinHandle<()>,
}

impl FakeFeishu {
    /// Starts the fake on a free port.
    pub async fn start() -> anyhow::Result<Self> {
        let api = ApiState::default();
        let ws = WsState::default();
        let app = api::router(api.clone()).merge(ws::router(ws.clone()));
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0)).await?;
        let addr = listener.local_addr()?;
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(Self {
            api,
            ws,
            base_url: url::Url::parse(&format!("http://{addr}"))?,
            server,
        })
    }

    /// The base URL to use as `FEISHU_BASE_URL`.
    pub fn base_url(&self) -> url::Url {
        self.base_url.clone()
    }

    /// A Feishu client for the fake app.
    pub fn client(&self) -> aegis_feishu::Client {
        aegis_feishu::Client::new(
            self.base_url(),
            APP_ID,
            aegis_core::config::Secret::new(APP_SECRET),
        )
    }
}

impl Drop for FakeFeishu {
    fn drop(&mut self) {
        self.server.abort();
    }
}
