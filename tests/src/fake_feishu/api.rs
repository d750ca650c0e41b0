//! The fake's HTTP API: tenant token, bot info, send and reply (in a thread or not),
//! card updates in place (`PATCH /open-apis/im/v1/messages/{message_id}`, the
//! message-card update API), image upload (cards may only name uploaded images), answering with Feishu's
//! envelope `{code, msg, data}` as `docs/feishu-protocol.md` §4 describes; `uuid`
//! makes sends idempotent as on Feishu. Scripted faults: app throttling (HTTP 429,
//! code 99991400, `x-ogw-ratelimit-*` headers), chat throttling (230020), 5xx, and
//! expiring every issued token (99991663). It records every request.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, patch, post};
use axum::{Json, Router};
use serde_json::{Value, json};

use super::ws::{APP_ID, APP_SECRET};

/// The bot's open_id on the fake.
pub const BOT_OPEN_ID: &str = "ou_fake_bot";
/// The bot's name on the fake.
pub const BOT_NAME: &str = "Aegis (fake)";
/// Cards and posts may be at most 30 KB (request body); text 150 KB.
const CARD_LIMIT: usize = 30 * 1024;
const TEXT_LIMIT: usize = 150 * 1024;

/// A scripted failure, answered to the next send or reply instead of doing it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// HTTP 429, code 99991400, `x-ogw-ratelimit-reset: <secs>`.
    AppThrottled {
        /// Seconds until the limit resets.
        reset_secs: u64,
    },
    /// HTTP 400, code 230020 (the chat's 5 QPS).
    ChatThrottled,
    /// HTTP 500 without an envelope.
    ServerError,
}

/// One request the fake received.
#[derive(Debug, Clone)]
pub struct Recorded {
    /// `GET`/`POST`.
    pub method: String,
    /// The path.
    pub path: String,
    /// The raw query string.
    pub query: String,
    /// The `Authorization` header.
    pub authorization: Option<String>,
    /// The JSON body (`Null` when none).
    pub body: Value,
    /// When it arrived.
    pub at: Instant,
    /// HTTP status answered.
    pub status: u16,
    /// Feishu code answered.
    pub code: i64,
}

/// A message the fake created (one per distinct uuid).
#[derive(Debug, Clone)]
pub struct Posted {
    /// `om_...`.
    pub message_id: String,
    /// The chat, for sends (`receive_id` with `receive_id_type=chat_id`).
    pub chat_id: Option<String>,
    /// The message replied under, for replies.
    pub parent_id: Option<String>,
    /// `text`, `interactive`, ...
    pub msg_type: String,
    /// `content` parsed from its string.
    pub content: Value,
    /// The sender's uuid.
    pub uuid: Option<String>,
    /// When it was created.
    pub at: Instant,
    /// A reply posted in the parent's thread (`reply_in_thread`).
    pub in_thread: bool,
    /// The card's contents after each update in place, oldest first.
    pub updates: Vec<Value>,
}

impl Posted {
    /// Text of a text message, or every markdown/plain_text content of a card, joined.
    pub fn text(&self) -> String {
        fn collect(v: &Value, out: &mut Vec<String>) {
            match v {
                Value::Object(map) => {
                    for (k, v) in map {
                        match (k.as_str(), v) {
                            ("content" | "text", Value::String(s)) => out.push(s.clone()),
                            _ => collect(v, out),
                        }
                    }
                }
                Value::Array(items) => items.iter().for_each(|i| collect(i, out)),
                _ => {}
            }
        }
        let mut out = Vec::new();
        collect(&self.content, &mut out);
        out.join("\n")
    }

    /// The message as it now reads: after its last update, if any.
    pub fn latest(&self) -> Posted {
        let mut now = self.clone();
        if let Some(last) = self.updates.last() {
            now.content = last.clone();
        }
        now
    }

    /// A card's header colour.
    pub fn template(&self) -> Option<&str> {
        self.content
            .pointer("/header/template")
            .and_then(Value::as_str)
    }

    /// A card's title.
    pub fn title(&self) -> Option<&str> {
        self.content
            .pointer("/header/title/content")
            .and_then(Value::as_str)
    }
}

/// The fake API's state; clone it to script and inspect the fake while it runs.
#[derive(Clone, Default)]
pub struct ApiState {
    inner: Arc<Mutex<Inner>>,
}

#[derive(Default)]
struct Inner {
    valid_tokens: Vec<String>,
    issued: u64,
    faults: VecDeque<Fault>,
    rejected_chats: Vec<String>,
    requests: Vec<Recorded>,
    messages: Vec<Posted>,
    by_uuid: HashMap<String, usize>,
    images: Vec<(String, Vec<u8>)>,
    image_faults: usize,
}

impl ApiState {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Answers the next sends/replies with these faults, in order.
    pub fn script(&self, faults: impl IntoIterator<Item = Fault>) {
        self.lock().faults.extend(faults);
    }

    /// Makes every token issued so far invalid (code 99991663 on next use).
    pub fn expire_tokens(&self) {
        self.lock().valid_tokens.clear();
    }

    /// Sends to this chat fail for good (code 230002, bot not in the chat).
    pub fn reject_chat(&self, chat_id: &str) {
        self.lock().rejected_chats.push(chat_id.to_string());
    }

    /// Tokens issued so far.
    pub fn tokens_issued(&self) -> u64 {
        self.lock().issued
    }

    /// Every image uploaded, as `(image_key, bytes)`, in order.
    pub fn images(&self) -> Vec<(String, Vec<u8>)> {
        self.lock().images.clone()
    }

    /// The next `n` image uploads fail with HTTP 500.
    pub fn fail_image_uploads(&self, n: usize) {
        self.lock().image_faults += n;
    }

    /// Every request received, in order.
    pub fn requests(&self) -> Vec<Recorded> {
        self.lock().requests.clone()
    }

    /// Every message created, in order (a repeated uuid creates nothing).
    pub fn messages(&self) -> Vec<Posted> {
        self.lock().messages.clone()
    }

    /// Waits until `check` holds or `timeout` passes; returns whether it held.
    pub async fn wait_until(
        &self,
        timeout: std::time::Duration,
        check: impl Fn(&[Posted]) -> bool,
    ) -> bool {
        let deadline = Instant::now() + timeout;
        loop {
            if check(&self.lock().messages) {
                return true;
            }
            if Instant::now() >= deadline {
                return false;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    }
}

/// The HTTP API routes.
pub fn router(state: ApiState) -> Router {
    Router::new()
        .route(
            "/open-apis/auth/v3/tenant_access_token/internal",
            post(tenant_token),
        )
        .route("/open-apis/bot/v3/info", get(bot_info))
        .route("/open-apis/im/v1/messages", post(send))
        .route("/open-apis/im/v1/messages/{message_id}/reply", post(reply))
        .route("/open-apis/im/v1/messages/{message_id}", patch(update))
        .route("/open-apis/im/v1/images", post(upload_image))
        .with_state(state)
}

fn envelope(status: StatusCode, code: i64, msg: &str, extra: Value) -> (StatusCode, Value) {
    let mut body = json!({"code": code, "msg": msg});
    if let (Value::Object(body), Value::Object(extra)) = (&mut body, extra) {
        body.extend(extra);
    }
    (status, body)
}

impl ApiState {
    fn record(
        &self,
        method: &str,
        path: &str,
        query: &str,
        headers: &HeaderMap,
        body: Value,
        answer: &(StatusCode, Value),
    ) {
        self.lock().requests.push(Recorded {
            method: method.into(),
            path: path.into(),
            query: query.into(),
            authorization: headers
                .get(header::AUTHORIZATION)
                .and_then(|v| v.to_str().ok())
                .map(String::from),
            body,
            at: Instant::now(),
            status: answer.0.as_u16(),
            code: answer.1["code"].as_i64().unwrap_or(-1),
        });
    }

    /// `None` when the bearer token is valid, else the 99991663 answer.
    fn check_token(&self, headers: &HeaderMap) -> Option<(StatusCode, Value)> {
        let token = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "));
        let valid = token.is_some_and(|t| self.lock().valid_tokens.iter().any(|v| v == t));
        (!valid).then(|| {
            envelope(
                StatusCode::BAD_REQUEST,
                99991663,
                "Invalid access token for authorization. Please make a request with token attached.",
                json!({}),
            )
        })
    }
}

async fn tenant_token(
    State(state): State<ApiState>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let answer = if body["app_id"] == APP_ID && body["app_secret"] == APP_SECRET {
        let mut inner = state.lock();
        inner.issued += 1;
        let token = format!("t-fake-{}", inner.issued);
        inner.valid_tokens.push(token.clone());
        envelope(
            StatusCode::OK,
            0,
            "ok",
            json!({"tenant_access_token": token, "expire": 7200}),
        )
    } else {
        envelope(StatusCode::OK, 10014, "app secret invalid", json!({}))
    };
    // The secret is not recorded.
    let recorded = json!({"app_id": body["app_id"]});
    state.record(
        "POST",
        "/open-apis/auth/v3/tenant_access_token/internal",
        "",
        &headers,
        recorded,
        &answer,
    );
    (answer.0, Json(answer.1)).into_response()
}

async fn bot_info(State(state): State<ApiState>, headers: HeaderMap) -> Response {
    let answer = state.check_token(&headers).unwrap_or_else(|| {
        envelope(
            StatusCode::OK,
            0,
            "ok",
            json!({"bot": {"activate_status": 2, "app_name": BOT_NAME, "avatar_url": "", "ip_white_list": [], "open_id": BOT_OPEN_ID}}),
        )
    });
    state.record(
        "GET",
        "/open-apis/bot/v3/info",
        "",
        &headers,
        Value::Null,
        &answer,
    );
    (answer.0, Json(answer.1)).into_response()
}

async fn send(
    State(state): State<ApiState>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let raw_query = query
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&");
    let receive_id_type = query.get("receive_id_type").cloned().unwrap_or_default();
    message(
        state,
        headers,
        body,
        "/open-apis/im/v1/messages".into(),
        raw_query,
        Target::Send(receive_id_type),
    )
    .await
}

async fn reply(
    State(state): State<ApiState>,
    Path(message_id): Path<String>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let path = format!("/open-apis/im/v1/messages/{message_id}/reply");
    message(
        state,
        headers,
        body,
        path,
        String::new(),
        Target::Reply(message_id),
    )
    .await
}

/// `PATCH /open-apis/im/v1/messages/{message_id}` with `{content}` (the card JSON as a
/// string): replaces a card the app sent, in place. As on Feishu: only interactive
/// messages, only ones this app sent, only cards that declare `update_multi` before and
/// after the update (shared cards), within the card size limit.
async fn update(
    State(state): State<ApiState>,
    Path(message_id): Path<String>,
    headers: HeaderMap,
    raw: axum::body::Bytes,
) -> Response {
    let path = format!("/open-apis/im/v1/messages/{message_id}");
    let body: Value = serde_json::from_slice(&raw).unwrap_or(Value::Null);
    let answer = state.check_token(&headers).unwrap_or_else(|| {
        let bad = |msg: &str| envelope(StatusCode::BAD_REQUEST, 230001, msg, json!({}));
        let Some(content) = body["content"].as_str() else {
            return bad("invalid param: content must be a string");
        };
        let Ok(content) = serde_json::from_str::<Value>(content) else {
            return bad("invalid param: content is not JSON");
        };
        if raw.len() > CARD_LIMIT {
            return envelope(
                StatusCode::BAD_REQUEST,
                230025,
                "The message content is too long.",
                json!({}),
            );
        }
        if content.pointer("/config/update_multi") != Some(&Value::Bool(true)) {
            return bad(
                "card content invalid: a card updated in place must set config.update_multi",
            );
        }
        let mut inner = state.lock();
        let Some(message) = inner
            .messages
            .iter_mut()
            .find(|m| m.message_id == message_id)
        else {
            return envelope(
                StatusCode::BAD_REQUEST,
                230011,
                "The message was not found.",
                json!({}),
            );
        };
        if message.msg_type != "interactive" {
            return bad("only interactive messages can be updated");
        }
        // Feishu: `update_multi` must be declared before and after the update.
        if message.latest().content.pointer("/config/update_multi") != Some(&Value::Bool(true)) {
            return bad("the card was not sent as a shared card (config.update_multi)");
        }
        message.updates.push(content);
        envelope(StatusCode::OK, 0, "success", json!({}))
    });
    state.record("PATCH", &path, "", &headers, body, &answer);
    (answer.0, Json(answer.1)).into_response()
}

/// `POST /open-apis/im/v1/images`: `multipart/form-data` with `image_type`
/// (`message` or `avatar`) and `image` (JPEG, PNG, WEBP, GIF, TIFF, BMP or ICO, at
/// most 10 MB); `data.image_key` is what a card's `img` element names.
async fn upload_image(
    State(state): State<ApiState>,
    headers: HeaderMap,
    mut form: axum::extract::Multipart,
) -> Response {
    const PATH: &str = "/open-apis/im/v1/images";
    const MAX_IMAGE: usize = 10 * 1024 * 1024;
    let answer = match state.check_token(&headers) {
        Some(refused) => refused,
        None => {
            let (mut image_type, mut image) = (None, None);
            let mut broken = None;
            loop {
                match form.next_field().await {
                    Ok(Some(field)) => {
                        let name = field.name().unwrap_or_default().to_string();
                        match field.bytes().await {
                            Ok(bytes) if name == "image_type" => {
                                image_type = Some(String::from_utf8_lossy(&bytes).into_owned())
                            }
                            Ok(bytes) if name == "image" => image = Some(bytes.to_vec()),
                            Ok(_) => {}
                            Err(e) => broken = Some(e.to_string()),
                        }
                    }
                    Ok(None) => break,
                    Err(e) => {
                        broken = Some(e.to_string());
                        break;
                    }
                }
            }
            let bad = |code, msg: &str| envelope(StatusCode::BAD_REQUEST, code, msg, json!({}));
            let recognised = |b: &[u8]| {
                [&b"\x89PNG"[..], b"\xff\xd8\xff", b"GIF8", b"RIFF", b"BM"]
                    .iter()
                    .any(|magic| b.starts_with(magic))
            };
            let mut inner = state.lock();
            if inner.image_faults > 0 {
                inner.image_faults -= 1;
                envelope(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    1,
                    "internal error",
                    json!({}),
                )
            } else if let Some(e) = broken {
                bad(234001, &format!("Invalid request param: {e}"))
            } else if !matches!(image_type.as_deref(), Some("message" | "avatar")) {
                bad(234001, "Invalid request param: image_type")
            } else {
                match image {
                    None => bad(234001, "Invalid request param: image"),
                    Some(b) if b.len() > MAX_IMAGE => {
                        bad(234006, "The image size exceeds the limit.")
                    }
                    Some(b) if !recognised(&b) => bad(234011, "Can't recognize the image format."),
                    Some(b) => {
                        let key = format!("img_v2_fake_{}", inner.images.len() + 1);
                        inner.images.push((key.clone(), b));
                        envelope(
                            StatusCode::OK,
                            0,
                            "success",
                            json!({"data": {"image_key": key}}),
                        )
                    }
                }
            }
        }
    };
    state.record("POST", PATH, "", &headers, Value::Null, &answer);
    (answer.0, Json(answer.1)).into_response()
}

/// Every `img_key` a card names.
fn image_keys(content: &Value, out: &mut Vec<String>) {
    match content {
        Value::Object(map) => {
            for (k, v) in map {
                match (k.as_str(), v) {
                    ("img_key", Value::String(key)) => out.push(key.clone()),
                    _ => image_keys(v, out),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|i| image_keys(i, out)),
        _ => {}
    }
}

enum Target {
    Send(String),
    Reply(String),
}

async fn message(
    state: ApiState,
    headers: HeaderMap,
    raw: axum::body::Bytes,
    path: String,
    query: String,
    target: Target,
) -> Response {
    let body: Value = serde_json::from_slice(&raw).unwrap_or(Value::Null);
    let mut extra_headers = Vec::new();
    let answer = state.check_token(&headers).unwrap_or_else(|| {
        let fault = state.lock().faults.pop_front();
        match fault {
            Some(Fault::AppThrottled { reset_secs }) => {
                extra_headers.push(("x-ogw-ratelimit-limit", "50".to_string()));
                extra_headers.push(("x-ogw-ratelimit-reset", reset_secs.to_string()));
                envelope(
                    StatusCode::TOO_MANY_REQUESTS,
                    99991400,
                    "request trigger frequency limit",
                    json!({}),
                )
            }
            Some(Fault::ChatThrottled) => envelope(
                StatusCode::BAD_REQUEST,
                230020,
                "This operation triggers the frequency limit.",
                json!({}),
            ),
            Some(Fault::ServerError) => envelope(
                StatusCode::INTERNAL_SERVER_ERROR,
                1,
                "internal error",
                json!({}),
            ),
            None => create(&state, &body, raw.len(), &target),
        }
    });
    state.record("POST", &path, &query, &headers, body, &answer);
    let mut res = (answer.0, Json(answer.1)).into_response();
    for (name, value) in extra_headers {
        if let Ok(value) = value.parse() {
            res.headers_mut().insert(name, value);
        }
    }
    res
}

/// Validates and creates the message, or returns the one created earlier with the
/// same uuid.
fn create(state: &ApiState, body: &Value, size: usize, target: &Target) -> (StatusCode, Value) {
    let bad = |msg: &str| envelope(StatusCode::BAD_REQUEST, 230001, msg, json!({}));
    let Some(msg_type) = body["msg_type"].as_str() else {
        return bad("invalid param: msg_type");
    };
    let Some(content) = body["content"].as_str() else {
        return bad("invalid param: content must be a string");
    };
    let Ok(content) = serde_json::from_str::<Value>(content) else {
        return bad("invalid param: content is not JSON");
    };
    let limit = if msg_type == "text" {
        TEXT_LIMIT
    } else {
        CARD_LIMIT
    };
    if size > limit {
        return envelope(
            StatusCode::BAD_REQUEST,
            230025,
            "The message content is too long.",
            json!({}),
        );
    }
    if msg_type == "interactive" && content["schema"] == "2.0" && content.get("elements").is_some()
    {
        return bad("card JSON 2.0 has no top-level elements; use body.elements");
    }
    let uuid = body["uuid"].as_str().map(String::from);
    if uuid.as_ref().is_some_and(|u| u.len() > 50) {
        return bad("invalid param: uuid longer than 50 characters");
    }
    let mut inner = state.lock();
    let mut keys = Vec::new();
    image_keys(&content, &mut keys);
    if let Some(unknown) = keys
        .iter()
        .find(|k| !inner.images.iter().any(|(i, _)| i == *k))
    {
        return bad(&format!(
            "card content invalid: image_key {unknown} was not uploaded by this app"
        ));
    }
    let (chat_id, parent_id) = match target {
        Target::Send(kind) => {
            let Some(id) = body["receive_id"].as_str() else {
                return bad("invalid param: receive_id");
            };
            if kind.is_empty() {
                return bad("invalid param: receive_id_type");
            }
            if inner.rejected_chats.iter().any(|c| c == id) {
                return envelope(
                    StatusCode::BAD_REQUEST,
                    230002,
                    "Bot/User can NOT be out of the chat.",
                    json!({}),
                );
            }
            (Some(id.to_string()), None)
        }
        Target::Reply(parent) => {
            let chat = inner
                .messages
                .iter()
                .find(|m| &m.message_id == parent)
                .and_then(|m| m.chat_id.clone());
            (chat, Some(parent.clone()))
        }
    };
    let index = match uuid.as_ref().and_then(|u| inner.by_uuid.get(u)) {
        Some(&index) => index,
        None => {
            let index = inner.messages.len();
            inner.messages.push(Posted {
                message_id: format!("om_fake_{}", index + 1),
                chat_id,
                parent_id,
                msg_type: msg_type.into(),
                content,
                uuid: uuid.clone(),
                at: Instant::now(),
                in_thread: matches!(target, Target::Reply(_))
                    && body["reply_in_thread"].as_bool() == Some(true),
                updates: Vec::new(),
            });
            if let Some(u) = uuid {
                inner.by_uuid.insert(u, index);
            }
            index
        }
    };
    let m = &inner.messages[index];
    let now_ms = chrono::Utc::now().timestamp_millis().to_string();
    envelope(
        StatusCode::OK,
        0,
        "success",
        json!({"data": {
            "message_id": m.message_id,
            "root_id": m.parent_id.clone().unwrap_or_default(),
            "parent_id": m.parent_id.clone().unwrap_or_default(),
            "msg_type": m.msg_type,
            "create_time": now_ms,
            "update_time": now_ms,
            "deleted": false,
            "updated": false,
            "chat_id": m.chat_id.clone().unwrap_or_default(),
            "sender": {"id": "cli_fake_app", "id_type": "app_id", "sender_type": "app", "tenant_key": "fake-tenant"},
            "body": {"content": m.content.to_string()},
            "mentions": [],
            "upper_message_id": ""
        }}),
    )
}
