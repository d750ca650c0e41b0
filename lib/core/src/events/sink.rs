use std::collections::BTreeMap;
use std::time::Duration;

use cloudevents::{AttributesReader, Event};

use super::Config;

/// Why an event could not be handed to the broker. The caller answers 5xx so its own
/// sender retries; nothing is acknowledged that was not accepted.
#[derive(Debug, thiserror::Error)]
pub enum SendError {
    /// No sink is configured (`K_SINK` unset outside `aegis dev`).
    #[error("no event sink configured (K_SINK is not set)")]
    Unconfigured,
    /// The sink could not be reached or kept failing after the retries.
    #[error("event sink unavailable after {attempts} attempts: {reason}")]
    Unavailable {
        /// Attempts made.
        attempts: u32,
        /// The last failure (status or connection error), without bodies.
        reason: String,
    },
    /// The sink refused the event for good (4xx other than 404/409/429).
    #[error("event sink rejected the event: HTTP {status}")]
    Rejected {
        /// The status it answered.
        status: u16,
    },
    /// The event could not be encoded.
    #[error("event could not be encoded: {0}")]
    Encode(String),
}

/// Where events go: `K_SINK` over HTTP in a cluster, the local broker in `aegis dev`.
#[async_trait::async_trait]
pub trait EventSink: Send + Sync {
    /// Hands the event over; `Ok` only once the sink accepted it.
    async fn send(&self, event: Event) -> Result<(), SendError>;
}

/// Used when no sink is configured: every send fails, so publishers answer 503
/// instead of losing the event.
#[derive(Debug, Default)]
pub struct Unconfigured;

#[async_trait::async_trait]
impl EventSink for Unconfigured {
    async fn send(&self, _event: Event) -> Result<(), SendError> {
        Err(SendError::Unconfigured)
    }
}

/// Posts events to a broker ingress in binary mode, applying `K_CE_OVERRIDES` and
/// retrying connection errors, 5xx, 404, 409 and 429 with bounded exponential backoff.
#[derive(Debug, Clone)]
pub struct HttpSink {
    url: url::Url,
    overrides: BTreeMap<String, String>,
    timeout: Duration,
    retries: u32,
    first_backoff: Duration,
    bearer: Option<http::HeaderValue>,
}

impl HttpSink {
    /// A sink posting to `url`.
    pub fn new(url: url::Url, config: &Config) -> Self {
        Self {
            url,
            overrides: config.overrides.clone(),
            timeout: config.timeout,
            retries: config.retries,
            first_backoff: Duration::from_millis(100),
            bearer: None,
        }
    }

    /// Sends `Authorization: Bearer <token>` with every event: for an ingress that asks
    /// for one (a guarded `aegis dev`'s `/broker`; a Knative Broker ingress asks none).
    pub fn with_bearer(mut self, token: &crate::config::Secret) -> Self {
        self.bearer = token.bearer();
        self
    }

    /// The sink `config` names, if any.
    pub fn from_config(config: &Config) -> Option<Self> {
        config.sink.clone().map(|url| Self::new(url, config))
    }

    /// Sets the first retry's wait (doubled on each later retry).
    pub fn with_backoff(mut self, first: Duration) -> Self {
        self.first_backoff = first;
        self
    }

    async fn attempt(&self, headers: &http::HeaderMap, body: &bytes::Bytes) -> Result<(), Attempt> {
        // The request is assembled directly: `RequestBuilder::headers` merges header by
        // header, which showed up in the profile for the same result.
        let mut request = reqwest::Request::new(http::Method::POST, self.url.clone());
        *request.headers_mut() = headers.clone();
        *request.body_mut() = Some(body.clone().into());
        *request.timeout_mut() = Some(self.timeout);
        // The process's client, taken here rather than at start (see `http_client`).
        let client = crate::http_client().map_err(Attempt::Retry)?;
        let res = client
            .execute(request)
            .await
            .map_err(|e| Attempt::Retry(crate::outgoing::describe(&e).into()))?;
        let status = res.status();
        if status.is_success() {
            return Ok(());
        }
        match status.as_u16() {
            404 | 409 | 429 | 500..=599 => Err(Attempt::Retry(format!("HTTP {status}"))),
            other => Err(Attempt::Fatal(other)),
        }
    }
}

enum Attempt {
    Retry(String),
    Fatal(u16),
}

/// Binary-mode headers (`ce-*`, `content-type`) and body of an event, ready to POST.
///
/// Encoded by cloudevents-sdk's `http::Request` binding, which writes the headers and
/// the body straight into a request; its response adapter (used before) went through a
/// shared builder and a boxed body that had to be collected again, for the same bytes.
pub async fn encode_binary(event: Event) -> Result<(http::HeaderMap, bytes::Bytes), SendError> {
    let request = http::Request::<Option<Vec<u8>>>::try_from(event)
        .map_err(|e| SendError::Encode(e.to_string()))?;
    let (parts, body) = request.into_parts();
    Ok((
        parts.headers,
        body.map(bytes::Bytes::from).unwrap_or_default(),
    ))
}

#[async_trait::async_trait]
impl EventSink for HttpSink {
    async fn send(&self, mut event: Event) -> Result<(), SendError> {
        for (name, value) in &self.overrides {
            event.set_extension(name, value.clone());
        }
        let id = event.id().to_string();
        let ty = event.ty().to_string();
        let (mut headers, body) = encode_binary(event).await?;
        crate::trace_context::inject_headers(&mut headers);
        if let Some(bearer) = &self.bearer {
            headers.insert(http::header::AUTHORIZATION, bearer.clone());
        }
        let mut backoff = self.first_backoff;
        let mut last = String::new();
        for attempt in 0..=self.retries {
            if attempt > 0 {
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(5));
            }
            match self.attempt(&headers, &body).await {
                Ok(()) => {
                    tracing::debug!(event.id = %id, event.ty = %ty, attempt, "event published");
                    return Ok(());
                }
                Err(Attempt::Fatal(status)) => {
                    tracing::error!(event.id = %id, event.ty = %ty, status, "event rejected by sink");
                    return Err(SendError::Rejected { status });
                }
                Err(Attempt::Retry(reason)) => {
                    tracing::warn!(event.id = %id, event.ty = %ty, attempt, %reason, "event publish failed");
                    last = reason;
                }
            }
        }
        Err(SendError::Unavailable {
            attempts: self.retries + 1,
            reason: last,
        })
    }
}
