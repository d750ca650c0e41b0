//! The fake's long connection: `POST /callback/ws/endpoint` and a WebSocket speaking
//! the `pbbp2` protobuf frames; it pushes events (optionally in fragments) and records
//! the client's acks and pings.
//!
//! Like Feishu, it keeps every pushed event until a client acknowledges it with code
//! 200, and pushes the unacknowledged ones again to each new connection (and on
//! [`WsState::redeliver`]). Checked against the official SDK by
//! `tests/python/check_fake_feishu_ws.py`.
//!
//! axum's own WebSocket support needs a tungstenite release the workspace does not
//! build; the upgrade is a few lines of hyper and tokio-tungstenite instead.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use aegis_feishu::endpoint::{
    ClientConfig, ENDPOINT_PATH, Endpoint, EndpointRequest, EndpointResponse,
    HANDSHAKE_AUTH_ERRCODE, HANDSHAKE_MSG, HANDSHAKE_STATUS,
};
use aegis_feishu::frame::{
    self, Frame, HEADER_MESSAGE_ID, HEADER_SEQ, HEADER_SUM, HEADER_TRACE_ID, HEADER_TYPE, Header,
    Kind, METHOD_CONTROL, METHOD_DATA,
};
use axum::Json;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, post};
use futures::{SinkExt, StreamExt};
use tokio::sync::mpsc;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::protocol::Role;

/// The path of the WebSocket endpoint on the fake server.
pub const WS_PATH: &str = "/ws/v2";
/// The `service_id` the fake puts in its URLs.
pub const SERVICE_ID: i32 = 33;
/// The App ID the fake accepts.
pub const APP_ID: &str = "cli_fake_app";
/// The App Secret the fake accepts.
pub const APP_SECRET: &str = "fake-app-secret";

/// State of the fake long connection (events to push, acks received). Clone it to
/// script the fake from a test while the server runs.
#[derive(Clone, Default)]
pub struct WsState {
    inner: Arc<Mutex<Inner>>,
}

#[derive(Default)]
struct Inner {
    script: Script,
    /// Events not yet acknowledged with 200, by message id.
    pending: BTreeMap<String, Pending>,
    connection: Option<Connection>,
    next_conn: u64,
    next_seq: u64,
    record: Record,
}

#[derive(Clone)]
struct Pending {
    payload: Vec<u8>,
    fragments: usize,
    /// The frame's `type` header: `event`, or `card` for a card callback.
    kind: &'static str,
}

struct Connection {
    id: u64,
    commands: mpsc::UnboundedSender<Command>,
}

enum Command {
    Frames(Vec<Frame>),
    Drop,
}

/// How the fake behaves; the defaults are the real server's.
#[derive(Clone)]
struct Script {
    endpoint_config: ClientConfig,
    endpoint_code: i64,
    pong_config: Option<ClientConfig>,
    refuse: Option<(u16, String, Option<i64>)>,
}

impl Default for Script {
    fn default() -> Self {
        Self {
            endpoint_config: ClientConfig {
                reconnect_count: Some(-1),
                reconnect_interval: Some(120),
                reconnect_nonce: Some(30),
                ping_interval: Some(120),
            },
            endpoint_code: 0,
            pong_config: None,
            refuse: None,
        }
    }
}

/// Everything the fake received.
#[derive(Clone, Default)]
struct Record {
    endpoint_requests: usize,
    handshakes: usize,
    connections: usize,
    pings: Vec<(u64, Instant, Frame)>,
    acks: Vec<Ack>,
    pushed: Vec<Frame>,
}

/// An acknowledgement the client sent.
#[derive(Debug, Clone)]
pub struct Ack {
    /// The message id it acknowledges.
    pub message_id: String,
    /// The code in its payload.
    pub code: Option<u16>,
    /// Its `biz_rt` header.
    pub biz_rt: Option<String>,
    /// The whole frame.
    pub frame: Frame,
    /// The connection it came on (1 is the first).
    pub connection: u64,
}

impl WsState {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Sets the `ClientConfig` returned by endpoint discovery.
    pub fn set_endpoint_config(&self, config: ClientConfig) {
        self.lock().script.endpoint_config = config;
    }

    /// Makes endpoint discovery answer `code` (0 is success).
    pub fn set_endpoint_code(&self, code: i64) {
        self.lock().script.endpoint_code = code;
    }

    /// Sends `config` as the payload of every pong (`None`: empty pongs).
    pub fn set_pong_config(&self, config: Option<ClientConfig>) {
        self.lock().script.pong_config = config;
    }

    /// Refuses every WebSocket handshake with `status`, `Handshake-Msg` and an
    /// optional `Handshake-Autherrcode`, until [`WsState::accept_handshakes`].
    pub fn refuse_handshakes(&self, status: u16, msg: &str, auth_code: Option<i64>) {
        self.lock().script.refuse = Some((status, msg.to_string(), auth_code));
    }

    /// Accepts handshakes again.
    pub fn accept_handshakes(&self) {
        self.lock().script.refuse = None;
    }

    /// Pushes `event` (its JSON) in `fragments` data frames to the connected client,
    /// or to the next one if none is connected. Returns the frames' `message_id`.
    pub fn push(&self, event: &serde_json::Value, fragments: usize) -> String {
        let message_id = format!("fake_msg_{}", uuid_like(event));
        let pending = Pending {
            payload: event.to_string().into_bytes(),
            fragments: fragments.max(1),
            kind: "event",
        };
        let mut inner = self.lock();
        inner.pending.insert(message_id.clone(), pending.clone());
        let frames = inner.frames(&message_id, &pending);
        inner.send(Command::Frames(frames));
        message_id
    }

    /// Pushes a card callback (`card.action.trigger`, a button click) in one frame
    /// of type `card`, as Feishu does for a card's callback buttons.
    pub fn push_card(&self, event: &serde_json::Value) -> String {
        let message_id = format!("fake_card_{}", uuid_like(event));
        let pending = Pending {
            payload: event.to_string().into_bytes(),
            fragments: 1,
            kind: "card",
        };
        let mut inner = self.lock();
        inner.pending.insert(message_id.clone(), pending.clone());
        let frames = inner.frames(&message_id, &pending);
        inner.send(Command::Frames(frames));
        message_id
    }

    /// Pushes only the first `sent` of `fragments` fragments, then drops the
    /// connection without a close frame: a server failing mid-stream.
    pub fn push_partial_then_drop(
        &self,
        event: &serde_json::Value,
        fragments: usize,
        sent: usize,
    ) -> String {
        let message_id = format!("fake_msg_{}", uuid_like(event));
        let pending = Pending {
            payload: event.to_string().into_bytes(),
            fragments: fragments.max(1),
            kind: "event",
        };
        let mut inner = self.lock();
        inner.pending.insert(message_id.clone(), pending.clone());
        let mut frames = inner.frames(&message_id, &pending);
        frames.truncate(sent);
        inner.send(Command::Frames(frames));
        inner.send(Command::Drop);
        message_id
    }

    /// Pushes every event not yet acknowledged with 200 again, as Feishu does after
    /// its ack timeout.
    pub fn redeliver(&self) {
        let mut inner = self.lock();
        let pending: Vec<_> = inner
            .pending
            .iter()
            .map(|(id, p)| (id.clone(), p.clone()))
            .collect();
        for (id, p) in pending {
            let frames = inner.frames(&id, &p);
            inner.send(Command::Frames(frames));
        }
    }

    /// Drops the current connection without a close frame.
    pub fn drop_connection(&self) {
        self.lock().send(Command::Drop);
    }

    /// Whether a client is connected now.
    pub fn connected(&self) -> bool {
        self.lock()
            .connection
            .as_ref()
            .is_some_and(|c| !c.commands.is_closed())
    }

    /// Endpoint discovery requests received.
    pub fn endpoint_requests(&self) -> usize {
        self.lock().record.endpoint_requests
    }

    /// WebSocket handshakes attempted (accepted or refused).
    pub fn handshakes(&self) -> usize {
        self.lock().record.handshakes
    }

    /// Connections accepted.
    pub fn connections(&self) -> usize {
        self.lock().record.connections
    }

    /// Pings received: connection number, when, and the frame.
    pub fn pings(&self) -> Vec<(u64, Instant, Frame)> {
        self.lock().record.pings.clone()
    }

    /// Acks received, in order.
    pub fn acks(&self) -> Vec<Ack> {
        self.lock().record.acks.clone()
    }

    /// Every data frame pushed, in order.
    pub fn pushed(&self) -> Vec<Frame> {
        self.lock().record.pushed.clone()
    }

    /// Event message ids not yet acknowledged with 200.
    pub fn unacknowledged(&self) -> Vec<String> {
        self.lock().pending.keys().cloned().collect()
    }

    /// Waits until `check` holds, polling; `false` after `timeout`.
    pub async fn wait_until(&self, timeout: Duration, check: impl Fn(&WsState) -> bool) -> bool {
        let deadline = Instant::now() + timeout;
        loop {
            if check(self) {
                return true;
            }
            if Instant::now() >= deadline {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

impl Inner {
    fn frames(&mut self, message_id: &str, p: &Pending) -> Vec<Frame> {
        let chunk = p.payload.len().div_ceil(p.fragments).max(1);
        let chunks: Vec<&[u8]> = p.payload.chunks(chunk).collect();
        let sum = chunks.len();
        chunks
            .into_iter()
            .enumerate()
            .map(|(seq, bytes)| {
                self.next_seq += 1;
                Frame {
                    seq_id: self.next_seq,
                    log_id: 7_000_000 + self.next_seq,
                    service: SERVICE_ID,
                    method: METHOD_DATA,
                    headers: vec![
                        Header::new(HEADER_TYPE, p.kind),
                        Header::new(HEADER_MESSAGE_ID, message_id),
                        Header::new(HEADER_SUM, sum.to_string()),
                        Header::new(HEADER_SEQ, seq.to_string()),
                        Header::new(HEADER_TRACE_ID, format!("trace-{message_id}")),
                        Header::new(
                            "timestamp",
                            chrono::Utc::now().timestamp_millis().to_string(),
                        ),
                        Header::new("instance_id", "fake-instance"),
                    ],
                    payload: Some(bytes.to_vec()),
                    ..Frame::default()
                }
            })
            .collect()
    }

    fn send(&mut self, command: Command) {
        if let Command::Frames(frames) = &command {
            self.record.pushed.extend(frames.iter().cloned());
        }
        if let Some(conn) = &self.connection {
            // A closed channel means the connection is gone; the events stay pending
            // and go to the next connection.
            let _ = conn.commands.send(command);
        }
    }
}

fn uuid_like(event: &serde_json::Value) -> String {
    event
        .pointer("/header/event_id")
        .and_then(|v| v.as_str())
        .map(str::to_string)
        .unwrap_or_else(|| format!("{:x}", rand_u64()))
}

fn rand_u64() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default(),
    );
    h.finish()
}

/// The routes of the long connection, merged into the fake's router.
pub fn router(state: WsState) -> axum::Router {
    axum::Router::new()
        .route(ENDPOINT_PATH, post(endpoint))
        .route(WS_PATH, any(connect))
        .with_state(state)
}

async fn endpoint(
    State(state): State<WsState>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let (code, config) = {
        let mut inner = state.lock();
        inner.record.endpoint_requests += 1;
        (inner.script.endpoint_code, inner.script.endpoint_config)
    };
    let creds: Option<EndpointRequest> = serde_json::from_slice(&body).ok();
    let authorised = creds
        .as_ref()
        .is_some_and(|c| c.app_id == APP_ID && c.app_secret == APP_SECRET);
    if !authorised {
        // The real server's answer to bad credentials: a client error code.
        return Json(EndpointResponse {
            code: 1_000_040_351,
            msg: "invalid app_id or app_secret".into(),
            data: None,
        })
        .into_response();
    }
    if code != 0 {
        return Json(EndpointResponse {
            code,
            msg: "scripted failure".into(),
            data: None,
        })
        .into_response();
    }
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("127.0.0.1");
    let device = format!("{:x}", rand_u64());
    let url = format!(
        "ws://{host}{WS_PATH}?fpid=493&aid=552564&device_id={device}&access_key=fake-access-key-{device}&service_id={SERVICE_ID}&ticket=fake-ticket-{device}"
    );
    Json(EndpointResponse {
        code: 0,
        msg: "success".into(),
        data: Some(Endpoint {
            url,
            client_config: Some(config),
        }),
    })
    .into_response()
}

async fn connect(State(state): State<WsState>, mut req: Request) -> Response {
    let refuse = {
        let mut inner = state.lock();
        inner.record.handshakes += 1;
        inner.script.refuse.clone()
    };
    if let Some((status, msg, auth)) = refuse {
        let mut res = (
            StatusCode::from_u16(status).unwrap_or(StatusCode::FORBIDDEN),
            msg.clone(),
        )
            .into_response();
        let h = res.headers_mut();
        h.insert(HANDSHAKE_STATUS, status.into());
        if let Ok(v) = msg.parse() {
            h.insert(HANDSHAKE_MSG, v);
        }
        if let Some(code) = auth {
            h.insert(HANDSHAKE_AUTH_ERRCODE, code.into());
        }
        return res;
    }
    let Some(key) = req.headers().get("sec-websocket-key").cloned() else {
        return (StatusCode::BAD_REQUEST, "not a WebSocket handshake").into_response();
    };
    let on_upgrade = hyper::upgrade::on(&mut req);
    tokio::spawn(async move {
        match on_upgrade.await {
            Ok(upgraded) => {
                let io = hyper_util::rt::TokioIo::new(upgraded);
                let ws = WebSocketStream::from_raw_socket(io, Role::Server, None).await;
                serve_connection(state, ws).await;
            }
            Err(e) => tracing::warn!(error = %e, "fake feishu: upgrade failed"),
        }
    });
    Response::builder()
        .status(StatusCode::SWITCHING_PROTOCOLS)
        .header(header::CONNECTION, "upgrade")
        .header(header::UPGRADE, "websocket")
        .header("sec-websocket-accept", derive_accept_key(key.as_bytes()))
        .body(axum::body::Body::empty())
        .unwrap_or_else(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response())
}

async fn serve_connection<S>(state: WsState, ws: WebSocketStream<S>)
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    let (tx, mut rx) = mpsc::unbounded_channel();
    let conn_id = {
        let mut inner = state.lock();
        inner.next_conn += 1;
        inner.record.connections += 1;
        let id = inner.next_conn;
        inner.connection = Some(Connection {
            id,
            commands: tx.clone(),
        });
        // Like Feishu: whatever was not acknowledged goes to the new connection.
        let pending: Vec<_> = inner
            .pending
            .iter()
            .map(|(id, p)| (id.clone(), p.clone()))
            .collect();
        for (id, p) in pending {
            let frames = inner.frames(&id, &p);
            inner.record.pushed.extend(frames.iter().cloned());
            let _ = tx.send(Command::Frames(frames));
        }
        id
    };
    let (mut sink, mut stream) = ws.split();
    loop {
        tokio::select! {
            command = rx.recv() => match command {
                Some(Command::Frames(frames)) => {
                    for f in frames {
                        if sink.send(Message::Binary(f.to_bytes().into())).await.is_err() {
                            break;
                        }
                    }
                }
                // Dropping the socket without a close frame, as a failing server would.
                Some(Command::Drop) | None => break,
            },
            msg = stream.next() => match msg {
                Some(Ok(Message::Binary(bytes))) => {
                    let Ok(frame) = Frame::from_bytes(&bytes) else { continue };
                    if let Some(reply) = state.receive(conn_id, frame)
                        && sink.send(Message::Binary(reply.to_bytes().into())).await.is_err()
                    {
                        break;
                    }
                }
                Some(Ok(Message::Close(_))) | Some(Err(_)) | None => break,
                Some(Ok(_)) => {}
            },
        }
    }
    let mut inner = state.lock();
    if inner.connection.as_ref().is_some_and(|c| c.id == conn_id) {
        inner.connection = None;
    }
}

impl WsState {
    /// Records a client frame; a ping gets a pong back.
    fn receive(&self, conn_id: u64, frame: Frame) -> Option<Frame> {
        let mut inner = self.lock();
        match frame.kind() {
            Kind::Ping => {
                inner
                    .record
                    .pings
                    .push((conn_id, Instant::now(), frame.clone()));
                let payload = inner
                    .script
                    .pong_config
                    .and_then(|c| serde_json::to_vec(&c).ok());
                Some(Frame {
                    service: frame.service,
                    method: METHOD_CONTROL,
                    headers: vec![Header::new(HEADER_TYPE, "pong")],
                    payload,
                    ..Frame::default()
                })
            }
            Kind::Event | Kind::Card => {
                let message_id = frame
                    .header(HEADER_MESSAGE_ID)
                    .unwrap_or_default()
                    .to_string();
                let code = frame::ack_code(frame.payload_bytes());
                if code == Some(200) {
                    inner.pending.remove(&message_id);
                }
                inner.record.acks.push(Ack {
                    message_id,
                    code,
                    biz_rt: frame.header(frame::HEADER_BIZ_RT).map(str::to_string),
                    frame,
                    connection: conn_id,
                });
                None
            }
            Kind::Pong | Kind::Other => None,
        }
    }
}
