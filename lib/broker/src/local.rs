//! The local broker of `aegis dev`: routes each event to every Trigger whose filter
//! matches, delivers it over real HTTP, publishes 200 replies back into itself, and
//! applies each Trigger's retries, backoff, timeout and dead letter sink. With a
//! [`Journal`], every delivery it owes is written durably before the event is
//! acknowledged and resumed after a restart ([`Broker::resume`]).

use std::sync::{Arc, Mutex};

use aegis_core::events::{AttributesReader, Event, EventSink, SendError};
use base64::Engine;
use http::HeaderValue;
use tokio::sync::watch;

use super::hop::{Hop, HopOutcome};
use super::journal::{Journal, JournalError, Owed};
use super::manifest::{Manifests, Trigger};

pub use aegis_core::events::knative::{
    DEFAULT_TTL, EXT_ERROR_CODE, EXT_ERROR_DATA, EXT_ERROR_DEST, TTL_EXTENSION,
};

/// Why the broker refused an event.
#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    /// The event has used up its hops: a reply loop.
    #[error("event {id} has no hops left ({TTL_EXTENSION} reached 0): a reply loop?")]
    TtlExhausted {
        /// The event id.
        id: String,
    },
    /// The event could not be written to the journal: it is not held (retry).
    #[error(transparent)]
    Journal(#[from] JournalError),
}

/// The local broker. Cheap to clone; every clone is the same broker.
#[derive(Clone)]
pub struct Broker {
    inner: Arc<Inner>,
}

struct Inner {
    name: String,
    triggers: Vec<Trigger>,
    base: url::Url,
    client: reqwest::Client,
    in_flight: watch::Sender<usize>,
    hops: Mutex<Vec<Hop>>,
    journal: Option<Journal>,
    bearer: Option<HeaderValue>,
}

impl Broker {
    /// A broker routing by the Triggers of `manifests`' main Broker, reaching functions
    /// at `base` (the `aegis dev` server's own address), holding accepted events in
    /// memory only: a crash loses what it had not delivered.
    pub fn new(manifests: &Manifests, base: url::Url) -> Self {
        Self::build(manifests, base, None)
    }

    /// A broker that writes every delivery it owes to `journal` before acknowledging
    /// the event, so that [`Broker::resume`] delivers after a restart what a crash cut
    /// short.
    pub fn durable(manifests: &Manifests, base: url::Url, journal: Journal) -> Self {
        Self::build(manifests, base, Some(journal))
    }

    fn build(manifests: &Manifests, base: url::Url, journal: Option<Journal>) -> Self {
        let name = manifests.main_broker().name.clone();
        let triggers: Vec<Trigger> = manifests.triggers_of(&name).cloned().collect();
        for t in &manifests.triggers {
            if t.broker != name {
                tracing::warn!(trigger = %t.name, broker = %t.broker, "trigger of another broker ignored locally");
            }
        }
        let client = reqwest::Client::builder()
            .no_proxy()
            .build()
            .expect("a client without TLS settings always builds");
        tracing::info!(broker = %name, triggers = triggers.len(), "local broker ready");
        Self {
            inner: Arc::new(Inner {
                name,
                triggers,
                base,
                client,
                in_flight: watch::channel(0).0,
                hops: Mutex::new(Vec::new()),
                journal,
                bearer: None,
            }),
        }
    }

    /// Sends `Authorization: Bearer <token>` with every delivery to a function of the
    /// process (never to an absolute `uri` destination), so that the host can refuse
    /// events that did not come through the broker. Call before the first publish.
    pub fn with_bearer(mut self, token: &aegis_core::config::Secret) -> Self {
        Arc::get_mut(&mut self.inner)
            .expect("with_bearer is called before the broker is shared")
            .bearer = token.bearer();
        self
    }

    /// The Broker's name.
    pub fn name(&self) -> &str {
        &self.inner.name
    }

    /// The Triggers it routes by.
    pub fn triggers(&self) -> &[Trigger] {
        &self.inner.triggers
    }

    /// The Triggers whose filter `event` passes.
    pub fn routes<'a>(&'a self, event: &'a Event) -> impl Iterator<Item = &'a Trigger> + 'a {
        self.inner
            .triggers
            .iter()
            .filter(move |t| t.filter.matches(event))
    }

    /// Accepts an event: checks its hop budget, writes one journal record per matching
    /// Trigger (when durable) and starts those deliveries in the background. `Ok` means
    /// the broker holds the event: durably, when it has a journal.
    pub async fn publish(&self, mut event: Event) -> Result<(), PublishError> {
        let ttl = match event.extension(TTL_EXTENSION).map(|v| v.to_string()) {
            None => DEFAULT_TTL,
            Some(v) => match v.parse::<i64>() {
                Ok(n) if n > 0 => u32::try_from(n).unwrap_or(DEFAULT_TTL),
                Ok(_) => {
                    let id = event.id().to_string();
                    tracing::error!(event.id = %id, event.ty = %event.ty(), "event dropped: no hops left");
                    self.record(Hop::new(&event, "-", "-", 0, None, HopOutcome::Dropped));
                    return Err(PublishError::TtlExhausted { id });
                }
                // A foreign value is not ours to judge; start a fresh budget.
                Err(_) => DEFAULT_TTL,
            },
        };
        // Subscribers never see the broker's bookkeeping.
        event.remove_extension(TTL_EXTENSION);
        let routes: Vec<Trigger> = self.routes(&event).cloned().collect();
        let keys = self.journal_all(&routes, &event, ttl).await?;
        tracing::info!(
            event.id = %event.id(),
            event.ty = %event.ty(),
            event.source = %event.source(),
            ttl,
            durable = self.inner.journal.is_some(),
            triggers = ?routes.iter().map(|t| t.name.as_str()).collect::<Vec<_>>(),
            "event accepted"
        );
        for (trigger, key) in routes.into_iter().zip(keys) {
            self.start(trigger, event.clone(), ttl, key);
        }
        Ok(())
    }

    /// Delivers every record of the journal: the deliveries a crash (or a stop before
    /// they ended) left owed. Call once, when the functions are being served. Returns
    /// how many were resumed.
    pub async fn resume(&self) -> Result<usize, PublishError> {
        let Some(journal) = &self.inner.journal else {
            return Ok(0);
        };
        let mut resumed = 0;
        for (key, owed) in journal.pending().await? {
            let Some(trigger) = self
                .inner
                .triggers
                .iter()
                .find(|t| t.name == owed.trigger)
                .cloned()
            else {
                tracing::error!(record = %key, trigger = %owed.trigger, event.id = %owed.event.id(), "owed delivery dropped: no such Trigger any more");
                journal.remove(&key).await;
                continue;
            };
            tracing::info!(event.id = %owed.event.id(), trigger = %trigger.name, "resuming a delivery owed before the restart");
            self.start(trigger, owed.event, owed.ttl, Some(key));
            resumed += 1;
        }
        Ok(resumed)
    }

    /// One journal record per route, all or none; their keys (`None` per route when
    /// the broker keeps events in memory only).
    async fn journal_all(
        &self,
        routes: &[Trigger],
        event: &Event,
        ttl: u32,
    ) -> Result<Vec<Option<String>>, PublishError> {
        let Some(journal) = &self.inner.journal else {
            return Ok(vec![None; routes.len()]);
        };
        let mut keys = Vec::with_capacity(routes.len());
        for trigger in routes {
            let owed = Owed {
                trigger: trigger.name.clone(),
                ttl,
                event: event.clone(),
            };
            match journal.write(&owed).await {
                Ok(key) => keys.push(Some(key)),
                Err(e) => {
                    for key in keys.into_iter().flatten() {
                        journal.remove(&key).await;
                    }
                    tracing::error!(event.id = %event.id(), error = %e, "event refused: it could not be held durably");
                    return Err(e.into());
                }
            }
        }
        Ok(keys)
    }

    /// Starts one delivery in the background; its journal record, if any, is removed
    /// when the delivery has ended. A plain function, so that the delivery's future
    /// (which publishes replies) is not part of [`Broker::publish`]'s own.
    fn start(&self, trigger: Trigger, event: Event, ttl: u32, key: Option<String>) {
        let guard = self.busy();
        let broker = self.clone();
        let delivery: std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>> =
            Box::pin(async move {
                let ended = broker.deliver(&trigger, event, ttl).await;
                if let (true, Some(key), Some(journal)) = (ended, key, &broker.inner.journal) {
                    journal.remove(&key).await;
                }
                drop(guard);
            });
        tokio::spawn(delivery);
    }

    /// Resolves once no event is being delivered: every delivery, retry, reply and
    /// dead letter started so far (and every one they started) has finished.
    pub async fn wait_idle(&self) {
        let mut rx = self.inner.in_flight.subscribe();
        // The sender lives as long as `self`, so this cannot fail.
        let _ = rx.wait_for(|n| *n == 0).await;
    }

    /// Every hop recorded so far, in order: one per delivery attempt and outcome.
    pub fn hops(&self) -> Vec<Hop> {
        self.lock_hops().clone()
    }

    fn lock_hops(&self) -> std::sync::MutexGuard<'_, Vec<Hop>> {
        self.inner
            .hops
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn record(&self, hop: Hop) {
        hop.log();
        self.lock_hops().push(hop);
    }

    fn busy(&self) -> Busy {
        self.inner.in_flight.send_modify(|n| *n += 1);
        Busy(self.inner.in_flight.clone())
    }

    /// Delivers `event` under the Trigger's policy, its reply published and, when every
    /// attempt failed, the event sent to the dead letter sink. `false` when the delivery
    /// has not ended for good: a reply could not be held, so the event stays owed.
    async fn deliver(&self, trigger: &Trigger, event: Event, ttl: u32) -> bool {
        let delivery = &trigger.delivery;
        let dest = match trigger.subscriber.url(&self.inner.base) {
            Ok(url) => url,
            Err(reason) => {
                tracing::error!(trigger = %trigger.name, %reason, "subscriber cannot be addressed");
                return true;
            }
        };
        let to_function = trigger.subscriber.function().is_some();
        let (last_status, last_body) = match self
            .attempts(
                trigger,
                &event,
                &dest,
                to_function,
                true,
                HopOutcome::Delivered,
            )
            .await
        {
            Ok(reply) => {
                if let Some(mut reply) = reply {
                    let left = ttl - 1;
                    reply.set_extension(TTL_EXTENSION, i64::from(left));
                    // A reply with no hops left is logged and recorded by publish; one
                    // that could not be held keeps this delivery owed.
                    if let Err(PublishError::Journal(_)) = self.publish(reply).await {
                        return false;
                    }
                }
                return true;
            }
            Err(failure) => failure,
        };
        let Some(dls) = &delivery.dead_letter_sink else {
            tracing::error!(event.id = %event.id(), trigger = %trigger.name, "event lost: delivery failed and the trigger has no dead letter sink");
            return true;
        };
        let dls_url = match dls.url(&self.inner.base) {
            Ok(url) => url,
            Err(reason) => {
                tracing::error!(trigger = %trigger.name, %reason, "dead letter sink cannot be addressed");
                return true;
            }
        };
        let mut dead = event;
        dead.set_extension(EXT_ERROR_DEST, dest.to_string());
        if let Some(status) = last_status {
            dead.set_extension(EXT_ERROR_CODE, status.to_string());
        }
        if !last_body.is_empty() {
            let cut = &last_body[..last_body.len().min(1024)];
            dead.set_extension(
                EXT_ERROR_DATA,
                base64::engine::general_purpose::STANDARD.encode(cut),
            );
        }
        let to_function = dls.function().is_some();
        let _ = self
            .attempts(
                trigger,
                &dead,
                &dls_url,
                to_function,
                false,
                HopOutcome::DeadLettered,
            )
            .await;
        true
    }

    /// Tries `dest` (a function of the process when `to_function`) under the Trigger's
    /// retry policy. `Ok` carries the reply event (if `want_reply` and one came back);
    /// `Err` the last status and body.
    async fn attempts(
        &self,
        trigger: &Trigger,
        event: &Event,
        dest: &url::Url,
        to_function: bool,
        want_reply: bool,
        success: HopOutcome,
    ) -> Result<Option<Event>, (Option<u16>, bytes::Bytes)> {
        let delivery = &trigger.delivery;
        let (mut headers, body) = match aegis_core::events::encode_binary(event.clone()).await {
            Ok(encoded) => encoded,
            Err(e) => {
                tracing::error!(event.id = %event.id(), error = %e, "event cannot be encoded");
                return Err((None, bytes::Bytes::new()));
            }
        };
        if want_reply {
            headers.insert("prefer", HeaderValue::from_static("reply"));
        }
        if let (true, Some(bearer)) = (to_function, &self.inner.bearer) {
            headers.insert(http::header::AUTHORIZATION, bearer.clone());
        }
        if let Some(tp) = event
            .extension(aegis_core::events::EXT_TRACEPARENT)
            .and_then(|v| HeaderValue::from_str(&v.to_string()).ok())
        {
            headers.insert("traceparent", tp);
        }
        let failed = if want_reply {
            HopOutcome::Failed
        } else {
            HopOutcome::DeadLetterFailed
        };
        let mut last = (None, bytes::Bytes::new());
        for attempt in 0..=delivery.retry {
            if attempt > 0 {
                tokio::time::sleep(delivery.backoff(attempt)).await;
            }
            let sent = self
                .inner
                .client
                .post(dest.clone())
                .headers(headers.clone())
                .body(body.clone())
                .timeout(delivery.timeout)
                .send()
                .await;
            let res = match sent {
                Ok(res) => res,
                Err(e) => {
                    let reason = aegis_core::outgoing::describe(&e);
                    let outcome = if attempt < delivery.retry {
                        HopOutcome::Retrying
                    } else {
                        failed
                    };
                    self.record(
                        Hop::new(event, &trigger.name, dest.as_str(), attempt, None, outcome)
                            .with_error(reason),
                    );
                    last = (None, bytes::Bytes::new());
                    continue;
                }
            };
            let status = res.status();
            let res_headers = res.headers().clone();
            let res_body = res.bytes().await.unwrap_or_default();
            if status.is_success() {
                let reply = if want_reply && status == http::StatusCode::OK {
                    match reply_event(&res_headers, &res_body) {
                        Ok(reply) => reply,
                        Err(reason) => {
                            // As Knative: an unreadable reply fails the delivery.
                            self.record(
                                Hop::new(
                                    event,
                                    &trigger.name,
                                    dest.as_str(),
                                    attempt,
                                    Some(status.as_u16()),
                                    if attempt < delivery.retry {
                                        HopOutcome::Retrying
                                    } else {
                                        failed
                                    },
                                )
                                .with_error(&format!("malformed reply: {reason}")),
                            );
                            last = (Some(502), bytes::Bytes::from(reason.into_bytes()));
                            continue;
                        }
                    }
                } else {
                    None
                };
                let mut hop = Hop::new(
                    event,
                    &trigger.name,
                    dest.as_str(),
                    attempt,
                    Some(status.as_u16()),
                    success,
                );
                if let Some(reply) = &reply {
                    hop = hop.with_reply(reply);
                }
                self.record(hop);
                return Ok(reply);
            }
            last = (Some(status.as_u16()), res_body);
            let retriable = matches!(status.as_u16(), 404 | 408 | 409 | 429 | 500..=599);
            let outcome = if retriable && attempt < delivery.retry {
                HopOutcome::Retrying
            } else {
                failed
            };
            self.record(Hop::new(
                event,
                &trigger.name,
                dest.as_str(),
                attempt,
                Some(status.as_u16()),
                outcome,
            ));
            if !retriable {
                break;
            }
        }
        Err(last)
    }
}

/// The reply event of a 200 response, if it carries one (binary or structured).
fn reply_event(headers: &http::HeaderMap, body: &[u8]) -> Result<Option<Event>, String> {
    let structured = headers
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/cloudevents"));
    if !structured && !headers.contains_key("ce-specversion") {
        return Ok(None);
    }
    cloudevents::binding::http::to_event(headers, body.to_vec())
        .map(Some)
        .map_err(|e| e.to_string())
}

/// Counts one unit of background work until dropped.
struct Busy(watch::Sender<usize>);

impl Drop for Busy {
    fn drop(&mut self) {
        self.0.send_modify(|n| *n = n.saturating_sub(1));
    }
}

/// In `aegis dev` functions publish through the broker itself, so their events take
/// the same routes as replies and as events posted to `/broker`.
#[async_trait::async_trait]
impl EventSink for Broker {
    async fn send(&self, event: Event) -> Result<(), SendError> {
        self.publish(event).await.map_err(|e| match e {
            PublishError::TtlExhausted { .. } => SendError::Rejected { status: 400 },
            PublishError::Journal(e) => SendError::Unavailable {
                attempts: 1,
                reason: e.to_string(),
            },
        })
    }
}
