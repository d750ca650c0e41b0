use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};

use super::error::{APP_THROTTLED, CHAT_THROTTLED, TOKEN_INVALID};
use super::pacer::Pacer;
use super::token::Token;
use super::{BotInfo, Card, Config, Error, Messenger, Outgoing, ReceiveIdType, Sent};
use aegis_core::config::Secret;
use aegis_core::outgoing::describe;
use aegis_core::redact::Redactor;

/// How the client retries and paces. The defaults suit a subscriber with a 30 s
/// timeout: it sits out short throttles itself and hands long ones back to the caller
/// ([`Error::Throttled`] with `retry_after`) so the broker redelivers later.
#[derive(Debug, Clone)]
pub struct RetryPolicy {
    /// Attempts per call (the token refresh retry is extra).
    pub attempts: u32,
    /// The longest single wait the client sits out; a longer `x-ogw-ratelimit-reset`
    /// is returned to the caller.
    pub max_wait: Duration,
    /// First wait after a 5xx, a network failure or code 230020 without a reset
    /// header; doubled each time.
    pub backoff: Duration,
    /// Minimum interval between two requests to one chat (Feishu allows 5 QPS per chat).
    pub chat_interval: Duration,
    /// Timeout of one HTTP request.
    pub timeout: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            attempts: 5,
            max_wait: Duration::from_secs(10),
            backoff: Duration::from_millis(500),
            chat_interval: Duration::from_millis(250),
            timeout: Duration::from_secs(10),
        }
    }
}

/// The Feishu open-platform client: tenant token, send, reply and bot info, with the
/// token cached and refreshed once for all callers, per-chat pacing, throttling
/// handled as Feishu asks, and every retry reusing the caller's `uuid` so Feishu
/// posts the message once. Cheap to clone.
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

struct Inner {
    base_url: url::Url,
    app_id: String,
    app_secret: Secret,
    token: tokio::sync::Mutex<Option<Token>>,
    pacer: Pacer,
    retry: RetryPolicy,
    /// What Feishu's messages are cleaned of: a token endpoint or a gateway may quote
    /// the app secret or the token it was sent, and its message reaches logs and errors.
    redactor: Redactor,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("feishu::Client")
            .field("base_url", &self.inner.base_url.as_str())
            .field("app_id", &self.inner.app_id)
            .finish_non_exhaustive()
    }
}

/// What one attempt came to.
enum Failure {
    TokenInvalid { code: i64, msg: String },
    Throttled { code: i64, reset: Option<Duration> },
    Unavailable(String),
    Rejected { code: i64, msg: String },
}

impl Client {
    /// A client for the app `app_id` at `base_url` with the default retry policy.
    pub fn new(base_url: url::Url, app_id: impl Into<String>, app_secret: Secret) -> Self {
        Self::with_policy(base_url, app_id, app_secret, RetryPolicy::default())
    }

    /// A client with its own retry policy (tests use short waits).
    pub fn with_policy(
        base_url: url::Url,
        app_id: impl Into<String>,
        app_secret: Secret,
        retry: RetryPolicy,
    ) -> Self {
        let redactor = Redactor::from_secrets([&app_secret]);
        Self::build(base_url, app_id.into(), app_secret, retry, redactor)
    }

    /// The client for the configured app, or `None` when no credentials are set; what
    /// Feishu says is cleaned of every configured secret.
    pub fn from_config(config: &Config) -> Option<Self> {
        config.credentials.as_ref().map(|(id, secret)| {
            Self::build(
                config.base_url.clone(),
                id.clone(),
                secret.clone(),
                RetryPolicy::default(),
                config.redactor(),
            )
        })
    }

    fn build(
        base_url: url::Url,
        app_id: String,
        app_secret: Secret,
        retry: RetryPolicy,
        redactor: Redactor,
    ) -> Self {
        Self {
            inner: Arc::new(Inner {
                base_url,
                app_id,
                app_secret,
                token: tokio::sync::Mutex::new(None),
                pacer: Pacer::new(retry.chat_interval),
                retry,
                redactor,
            }),
        }
    }

    /// The open-platform base URL.
    pub fn base_url(&self) -> &url::Url {
        &self.inner.base_url
    }

    /// The app id.
    pub fn app_id(&self) -> &str {
        &self.inner.app_id
    }

    /// A valid tenant access token: the cached one, or a fresh one fetched by exactly
    /// one caller while concurrent callers wait for it.
    pub async fn tenant_token(&self) -> Result<Secret, Error> {
        let mut slot = self.inner.token.lock().await;
        if let Some(token) = slot.as_ref().filter(|t| t.is_fresh()) {
            return Ok(token.value.clone());
        }
        let token = self.fetch_token().await?;
        let value = token.value.clone();
        *slot = Some(token);
        Ok(value)
    }

    /// Drops the cached token if it is still `stale`, so the next caller refreshes
    /// (a concurrent caller may already have replaced it).
    async fn invalidate(&self, stale: &Secret) {
        let mut slot = self.inner.token.lock().await;
        if slot.as_ref().is_some_and(|t| &t.value == stale) {
            *slot = None;
        }
    }

    async fn fetch_token(&self) -> Result<Token, Error> {
        #[derive(serde::Deserialize)]
        struct Answer {
            code: i64,
            #[serde(default)]
            msg: String,
            #[serde(default)]
            tenant_access_token: String,
            #[serde(default)]
            expire: u64,
        }
        let url = self.url("/open-apis/auth/v3/tenant_access_token/internal");
        let body =
            json!({"app_id": self.inner.app_id, "app_secret": self.inner.app_secret.expose()});
        let res = aegis_core::http_client()
            .map_err(Error::Unavailable)?
            .post(url)
            .timeout(self.inner.retry.timeout)
            .json(&body)
            .send()
            .await
            .map_err(|e| Error::Unavailable(describe(&e).into()))?;
        let status = res.status();
        let answer: Answer = match res.json().await {
            Ok(a) => a,
            Err(_) if status.is_server_error() || status.as_u16() == 429 => {
                return Err(Error::Unavailable(format!(
                    "token endpoint answered HTTP {status}"
                )));
            }
            Err(e) => {
                return Err(Error::Unavailable(format!(
                    "token endpoint answered HTTP {status} with an unreadable body: {}",
                    describe(&e)
                )));
            }
        };
        if answer.code != 0 || answer.tenant_access_token.is_empty() {
            let msg = self.inner.redactor.redact(&answer.msg);
            tracing::error!(code = answer.code, %msg, "Feishu refused the tenant token request");
            return Err(Error::Auth {
                code: answer.code,
                msg,
            });
        }
        tracing::debug!(expire = answer.expire, "Feishu tenant token refreshed");
        Ok(Token::new(
            Secret::new(answer.tenant_access_token),
            answer.expire,
        ))
    }

    /// The bot's open_id and name.
    pub async fn bot_info(&self) -> Result<BotInfo, Error> {
        let answer = self
            .call(
                None,
                reqwest::Method::GET,
                "/open-apis/bot/v3/info",
                &[],
                None,
            )
            .await?;
        serde_json::from_value(answer.get("bot").cloned().unwrap_or(Value::Null)).map_err(|e| {
            // serde quotes the values it could not read: Feishu's text.
            Error::Unavailable(
                self.inner
                    .redactor
                    .redact(&format!("bot info answer has no usable `bot` object: {e}")),
            )
        })
    }

    /// Sends a new message; `uuid` (at most 50 characters) makes it idempotent for an
    /// hour, so derive it from the cause and pass the same one on every retry.
    pub async fn send(
        &self,
        receive_id_type: ReceiveIdType,
        receive_id: &str,
        message: &Outgoing,
        uuid: &str,
    ) -> Result<Sent, Error> {
        let body = json!({
            "receive_id": receive_id,
            "msg_type": message.msg_type(),
            "content": message.content()?,
            "uuid": uuid,
        });
        let answer = self
            .call(
                Some(receive_id),
                reqwest::Method::POST,
                "/open-apis/im/v1/messages",
                &[("receive_id_type", receive_id_type.as_str())],
                Some(Body::Json(&body)),
            )
            .await?;
        sent(&answer)
    }

    /// Replies under `message_id` (in its thread when `reply_in_thread`).
    pub async fn reply(
        &self,
        message_id: &str,
        message: &Outgoing,
        uuid: &str,
        reply_in_thread: bool,
    ) -> Result<Sent, Error> {
        let body = json!({
            "msg_type": message.msg_type(),
            "content": message.content()?,
            "reply_in_thread": reply_in_thread,
            "uuid": uuid,
        });
        // The chat of `message_id` is not known here, so replies are paced per
        // parent message; Feishu's 230020 back-off covers the rest.
        let path = format!("/open-apis/im/v1/messages/{message_id}/reply");
        let answer = self
            .call(
                Some(message_id),
                reqwest::Method::POST,
                &path,
                &[],
                Some(Body::Json(&body)),
            )
            .await?;
        sent(&answer)
    }

    /// Replaces the card `message_id` (one the app sent, with `update_multi`) by `card`
    /// in place: `PATCH /open-apis/im/v1/messages/{message_id}` with `{content}`, the
    /// card JSON as a string (the message-card update API; the SDKs' `message.patch`).
    /// Feishu allows 5 updates a second per message and cards up to 14 days old.
    pub async fn update(&self, message_id: &str, card: &Card) -> Result<(), Error> {
        let body = json!({ "content": card.to_content() });
        let path = format!("/open-apis/im/v1/messages/{message_id}");
        self.call(
            Some(message_id),
            reqwest::Method::PATCH,
            &path,
            &[],
            Some(Body::Json(&body)),
        )
        .await?;
        Ok(())
    }

    /// Uploads a PNG for use in cards (`POST /open-apis/im/v1/images`,
    /// `image_type=message`); its `image_key`.
    pub async fn upload_image(&self, png: &[u8]) -> Result<String, Error> {
        let answer = self
            .call(
                None,
                reqwest::Method::POST,
                "/open-apis/im/v1/images",
                &[],
                Some(Body::Image(png)),
            )
            .await?;
        answer
            .pointer("/data/image_key")
            .and_then(Value::as_str)
            .map(str::to_string)
            .ok_or_else(|| Error::Unavailable("Feishu's answer has no data.image_key".into()))
    }

    fn url(&self, path: &str) -> url::Url {
        let mut url = self.inner.base_url.clone();
        let base = url.path().trim_end_matches('/').to_string();
        url.set_path(&format!("{base}{path}"));
        url
    }

    /// One API call with pacing (when `chat` is given), the token, and retries.
    async fn call(
        &self,
        chat: Option<&str>,
        method: reqwest::Method,
        path: &str,
        query: &[(&str, &str)],
        body: Option<Body<'_>>,
    ) -> Result<Value, Error> {
        let policy = &self.inner.retry;
        let mut turn = match chat {
            Some(key) => Some(self.inner.pacer.turn(key).await),
            None => None,
        };
        let mut refreshed = false;
        let mut backoff = policy.backoff;
        let mut attempt = 0;
        loop {
            attempt += 1;
            if let Some(turn) = turn.as_mut() {
                turn.pace().await;
            }
            let token = self.tenant_token().await?;
            let wait = match self
                .attempt(&method, path, query, body.as_ref(), &token)
                .await
            {
                Ok(answer) => return Ok(answer),
                Err(Failure::TokenInvalid { code, msg }) => {
                    self.invalidate(&token).await;
                    if refreshed {
                        tracing::error!(code, %msg, path, "Feishu refused a freshly refreshed token");
                        return Err(Error::Auth { code, msg });
                    }
                    tracing::info!(code, path, "Feishu tenant token expired; refreshing");
                    refreshed = true;
                    attempt -= 1;
                    continue;
                }
                Err(Failure::Rejected { code, msg }) => {
                    tracing::warn!(code, %msg, path, "Feishu rejected the request");
                    return Err(Error::Rejected { code, msg });
                }
                Err(Failure::Throttled { code, reset }) => {
                    let wait = match (code, reset) {
                        (_, Some(reset)) => reset,
                        _ => backoff,
                    };
                    if attempt >= policy.attempts || wait > policy.max_wait {
                        tracing::warn!(
                            code,
                            ?wait,
                            path,
                            "Feishu throttled; handing back to the caller"
                        );
                        return Err(Error::Throttled {
                            code,
                            retry_after: Some(wait),
                        });
                    }
                    tracing::info!(code, ?wait, attempt, path, "Feishu throttled; waiting");
                    wait
                }
                Err(Failure::Unavailable(reason)) => {
                    if attempt >= policy.attempts {
                        tracing::warn!(%reason, path, attempts = attempt, "Feishu unavailable");
                        return Err(Error::Unavailable(reason));
                    }
                    tracing::info!(%reason, attempt, path, "Feishu unavailable; retrying");
                    backoff
                }
            };
            backoff = (backoff * 2).min(policy.max_wait);
            tokio::time::sleep(wait).await;
        }
    }

    async fn attempt(
        &self,
        method: &reqwest::Method,
        path: &str,
        query: &[(&str, &str)],
        body: Option<&Body<'_>>,
        token: &Secret,
    ) -> Result<Value, Failure> {
        let mut req = aegis_core::http_client()
            .map_err(Failure::Unavailable)?
            .request(method.clone(), self.url(path))
            .timeout(self.inner.retry.timeout)
            .bearer_auth(token.expose());
        if !query.is_empty() {
            req = req.query(query);
        }
        match body {
            Some(Body::Json(body)) => req = req.json(body),
            // A form is consumed by its request, so each attempt builds its own.
            Some(Body::Image(png)) => {
                let image = reqwest::multipart::Part::bytes(png.to_vec())
                    .file_name("chart.png")
                    .mime_str("image/png")
                    .map_err(|e| Failure::Unavailable(e.to_string()))?;
                req = req.multipart(
                    reqwest::multipart::Form::new()
                        .text("image_type", "message")
                        .part("image", image),
                );
            }
            None => {}
        }
        let res = req
            .send()
            .await
            .map_err(|e| Failure::Unavailable(describe(&e).into()))?;
        let status = res.status();
        let reset = res
            .headers()
            .get("x-ogw-ratelimit-reset")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<f64>().ok())
            .filter(|s| s.is_finite() && *s >= 0.0)
            .map(Duration::from_secs_f64);
        let answer: Option<Value> = res.json().await.ok();
        let code = answer
            .as_ref()
            .and_then(|a| a.get("code"))
            .and_then(Value::as_i64);
        // Feishu's message, cleaned of the configured secrets and of the tenant token
        // this request carried (a gateway may quote the `Authorization` it refused).
        let msg = || {
            let msg = answer
                .as_ref()
                .and_then(|a| a.get("msg"))
                .and_then(Value::as_str)
                .unwrap_or_default();
            self.inner
                .redactor
                .with([token.expose().to_string()])
                .redact(msg)
        };
        match (code, status.as_u16()) {
            (Some(0), 200..=299) => Ok(answer.unwrap_or(Value::Null)),
            (Some(code), _) if TOKEN_INVALID.contains(&code) => {
                Err(Failure::TokenInvalid { code, msg: msg() })
            }
            (Some(code @ (APP_THROTTLED | CHAT_THROTTLED)), _) => {
                Err(Failure::Throttled { code, reset })
            }
            (_, 429) => Err(Failure::Throttled {
                code: code.unwrap_or(APP_THROTTLED),
                reset,
            }),
            (_, 500..=599) => Err(Failure::Unavailable(format!("HTTP {status}"))),
            (Some(code), _) => Err(Failure::Rejected { code, msg: msg() }),
            (None, _) => Err(Failure::Rejected {
                code: -1,
                msg: format!("HTTP {status} without a Feishu envelope"),
            }),
        }
    }
}

/// What a request carries.
enum Body<'a> {
    /// A JSON body.
    Json(&'a Value),
    /// An image upload: `multipart/form-data` with `image_type` and `image`.
    Image(&'a [u8]),
}

/// `data.message_id` of a send or reply answer.
fn sent(answer: &Value) -> Result<Sent, Error> {
    answer
        .pointer("/data/message_id")
        .and_then(Value::as_str)
        .map(|id| Sent {
            message_id: id.to_string(),
        })
        .ok_or_else(|| Error::Unavailable("Feishu's answer has no data.message_id".into()))
}

#[async_trait::async_trait]
impl Messenger for Client {
    async fn send(
        &self,
        receive_id_type: ReceiveIdType,
        receive_id: &str,
        message: &Outgoing,
        uuid: &str,
    ) -> Result<Sent, Error> {
        Client::send(self, receive_id_type, receive_id, message, uuid).await
    }

    async fn reply(
        &self,
        message_id: &str,
        message: &Outgoing,
        uuid: &str,
        reply_in_thread: bool,
    ) -> Result<Sent, Error> {
        Client::reply(self, message_id, message, uuid, reply_in_thread).await
    }

    async fn update(&self, message_id: &str, card: &Card) -> Result<(), Error> {
        Client::update(self, message_id, card).await
    }

    async fn upload_image(&self, png: &[u8]) -> Result<String, Error> {
        Client::upload_image(self, png).await
    }
}
