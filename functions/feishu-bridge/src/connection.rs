//! The long connection's life: discover, dial, ping, receive, acknowledge, and
//! reconnect by the server's rules (`docs/feishu-protocol.md` §1).

use std::sync::Arc;
use std::time::Duration;

use aegis_core::config::Secret;
use aegis_core::events::AttributesReader;
use aegis_core::events::EventSink;
use aegis_feishu::endpoint::{
    AUTH_EXCEED_CONN_LIMIT, ClientConfig, HANDSHAKE_AUTH_ERRCODE, HANDSHAKE_MSG, HANDSHAKE_STATUS,
    redact_url, url_param,
};
use aegis_feishu::event::received_event;
use aegis_feishu::frame::{Frame, HEADER_MESSAGE_ID, HEADER_TRACE_ID, Kind};
use futures::{SinkExt, StreamExt};
use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::{self, Message};

use crate::discovery::{self, ConnectError};
use crate::fragments::Reassembly;
use crate::status::{AckLabels, State, Status};

/// Feishu pushes an event again when it is not acknowledged within 3 s; the sink gets
/// what is left of this budget after reassembly, the rest is for writing the ack.
const ACK_BUDGET: Duration = Duration::from_millis(2500);
/// No pong for this many ping intervals: the connection is dead.
const WATCHDOG_INTERVALS: u32 = 3;
/// How long dialling may take.
const DIAL_TIMEOUT: Duration = Duration::from_secs(15);

/// Intervals and counts of the connection, as the server last set them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timing {
    /// Reconnect attempts after a loss; negative: forever.
    pub reconnect_count: i64,
    /// Wait between failed attempts.
    pub reconnect_interval: Duration,
    /// Upper bound of the random wait before the first attempt after a loss.
    pub reconnect_nonce: Duration,
    /// Wait between pings.
    pub ping_interval: Duration,
}

impl Default for Timing {
    /// The SDKs' defaults until the server says otherwise.
    fn default() -> Self {
        Self {
            reconnect_count: -1,
            reconnect_interval: Duration::from_secs(120),
            reconnect_nonce: Duration::from_secs(30),
            ping_interval: Duration::from_secs(120),
        }
    }
}

impl Timing {
    /// Applies what the server sent; absent fields keep their value. A zero ping
    /// interval would spin, so pings are at least a second apart.
    pub fn apply(&mut self, c: &ClientConfig) {
        if let Some(n) = c.reconnect_count {
            self.reconnect_count = n;
        }
        if let Some(s) = c.reconnect_interval {
            self.reconnect_interval = Duration::from_secs(s);
        }
        if let Some(s) = c.reconnect_nonce {
            self.reconnect_nonce = Duration::from_secs(s);
        }
        if let Some(s) = c.ping_interval {
            self.ping_interval = Duration::from_secs(s.max(1));
        }
    }
}

/// Everything one bridge needs; [`Bridge::run`] holds the connection until a fatal
/// error.
pub struct Bridge {
    http: reqwest::Client,
    base_url: url::Url,
    app_id: String,
    app_secret: Secret,
    sink: Arc<dyn EventSink>,
    status: Status,
    timing: Timing,
}

impl Bridge {
    /// A bridge for the app, publishing to `sink` and reporting into `status`.
    pub fn new(
        base_url: url::Url,
        app_id: String,
        app_secret: Secret,
        sink: Arc<dyn EventSink>,
        status: Status,
    ) -> Self {
        Self {
            http: aegis_core::http_client().expect("the HTTP client builds"),
            base_url,
            app_id,
            app_secret,
            sink,
            status,
            timing: Timing::default(),
        }
    }

    /// Connects, and reconnects after every loss (or a failed first connection): the
    /// first attempt waits a random time below the reconnect nonce, later ones the
    /// reconnect interval,
    /// at most the reconnect count of attempts (negative: forever). Returns only when
    /// it stopped for good; the status says why.
    pub async fn run(mut self) {
        let mut failures: i64 = 0;
        let mut ever_connected = false;
        // What Feishu's endpoints say reaches the logs and /healthz: a discovery or
        // handshake error quoting the app secret it was sent is masked first.
        let redactor = aegis_core::redact::Redactor::new([self.app_secret.expose().to_string()]);
        loop {
            self.status.set(State::Connecting, None);
            let session = match self.session().await {
                Ok(lost) => Ok(redactor.redact(&lost)),
                Err(ConnectError::Fatal(reason)) => {
                    Err(ConnectError::Fatal(redactor.redact(&reason)))
                }
                Err(ConnectError::Retry(reason)) => {
                    Err(ConnectError::Retry(redactor.redact(&reason)))
                }
            };
            let wait = match session {
                Ok(lost) => {
                    tracing::warn!(reason = %lost, "feishu long connection lost; reconnecting");
                    self.status.lost(lost);
                    failures = 0;
                    ever_connected = true;
                    random_below(self.timing.reconnect_nonce)
                }
                Err(ConnectError::Fatal(reason)) => {
                    tracing::error!(%reason, "feishu long connection stopped");
                    self.status.set(State::Stopped, Some(reason));
                    return;
                }
                Err(ConnectError::Retry(reason)) => {
                    failures += 1;
                    let count = self.timing.reconnect_count;
                    if count >= 0 && failures > count {
                        let reason = format!("gave up after {failures} attempts: {reason}");
                        tracing::error!(%reason, "feishu long connection stopped");
                        self.status.set(State::Stopped, Some(reason));
                        return;
                    }
                    tracing::warn!(%reason, attempt = failures, "feishu long connection attempt failed");
                    self.status.set(State::Disconnected, Some(reason));
                    // Like the SDKs: a failed first connection starts the reconnect
                    // cycle (random wait, then the interval); after a loss the random
                    // wait came before the attempt that just failed.
                    if failures == 1 && !ever_connected {
                        random_below(self.timing.reconnect_nonce)
                    } else {
                        self.timing.reconnect_interval
                    }
                }
            };
            tokio::time::sleep(wait).await;
        }
    }

    /// One connection from discovery to its loss. `Ok` carries why a connection that
    /// was up ended; `Err` means it never came up.
    async fn session(&mut self) -> Result<String, ConnectError> {
        let endpoint =
            discovery::discover(&self.http, &self.base_url, &self.app_id, &self.app_secret).await?;
        if let Some(config) = &endpoint.client_config {
            self.timing.apply(config);
        }
        let shown = redact_url(&endpoint.url);
        let service: i32 = url_param(&endpoint.url, "service_id")
            .and_then(|s| s.parse().ok())
            .unwrap_or_default();
        let device_id = url_param(&endpoint.url, "device_id");
        let (ws, _) = tokio::time::timeout(
            DIAL_TIMEOUT,
            tokio_tungstenite::connect_async(endpoint.url.as_str()),
        )
        .await
        .map_err(|_| ConnectError::Retry(format!("dialling {shown} timed out")))?
        .map_err(|e| handshake_error(e, &shown))?;
        tracing::info!(url = %shown, device_id = ?device_id, "feishu long connection up");
        self.status
            .connected(device_id, self.timing.ping_interval.as_secs());

        let (mut write, mut read) = ws.split();
        let (acks, mut ack_rx) = mpsc::channel::<Ack>(64);
        let mut fragments = Reassembly::default();
        let ping = Message::Binary(Frame::ping(service).to_bytes().into());
        if let Err(e) = write.send(ping.clone()).await {
            return Ok(format!("ping failed: {}", io_kind(&e)));
        }
        let mut last_pong = Instant::now();
        let mut next_ping = Instant::now() + self.timing.ping_interval;
        loop {
            let watchdog = last_pong + self.timing.ping_interval * WATCHDOG_INTERVALS;
            tokio::select! {
                msg = read.next() => {
                    let bytes = match msg {
                        Some(Ok(Message::Binary(bytes))) => bytes,
                        // Only binary messages carry frames; the library answers
                        // WebSocket-level pings itself.
                        Some(Ok(Message::Close(_))) => return Ok("the server closed the connection".into()),
                        Some(Ok(_)) => continue,
                        Some(Err(e)) => return Ok(format!("read failed: {}", io_kind(&e))),
                        None => return Ok("the connection ended".into()),
                    };
                    let Ok(frame) = Frame::from_bytes(&bytes) else {
                        tracing::warn!(len = bytes.len(), "undecodable frame skipped");
                        continue;
                    };
                    match frame.kind() {
                        Kind::Pong => {
                            last_pong = Instant::now();
                            if let Some(interval) = self.pong(&frame) {
                                next_ping = Instant::now() + interval;
                            }
                        }
                        // Card callbacks (the result card's feedback buttons) carry an
                        // envelope like events do and travel the same way.
                        Kind::Event | Kind::Card => self.data(frame, &mut fragments, &acks),
                        Kind::Ping | Kind::Other => {}
                    }
                }
                Some(ack) = ack_rx.recv() => {
                    let frame = ack.frame.ack(ack.code, ack.first_seen.elapsed().as_millis() as u64);
                    if let Err(e) = write.send(Message::Binary(frame.to_bytes().into())).await {
                        return Ok(format!("ack failed: {}", io_kind(&e)));
                    }
                    let metrics = &self.status.metrics;
                    metrics.acks.get_or_create(&AckLabels { code: ack.code }).inc();
                    metrics.ack_latency.observe(ack.first_seen.elapsed().as_secs_f64());
                }
                () = tokio::time::sleep_until(next_ping) => {
                    if let Err(e) = write.send(ping.clone()).await {
                        return Ok(format!("ping failed: {}", io_kind(&e)));
                    }
                    next_ping = Instant::now() + self.timing.ping_interval;
                }
                () = tokio::time::sleep_until(watchdog) => {
                    return Ok(format!("no pong for {} ping intervals", WATCHDOG_INTERVALS));
                }
            }
        }
    }

    /// Applies a pong's `ClientConfig`; returns the new ping interval if it changed.
    fn pong(&mut self, frame: &Frame) -> Option<Duration> {
        let payload = frame.payload_bytes();
        if payload.is_empty() {
            return None;
        }
        let config: ClientConfig = match serde_json::from_slice(payload) {
            Ok(c) => c,
            Err(e) => {
                tracing::warn!(error = %e, "pong payload is not a ClientConfig; ignored");
                return None;
            }
        };
        let before = self.timing.ping_interval;
        self.timing.apply(&config);
        tracing::info!(?config, "client config updated by the server");
        let after = self.timing.ping_interval;
        self.status.ping_interval(after.as_secs());
        (after != before).then_some(after)
    }

    /// Places a data frame; a complete event is published on its own task, which
    /// hands the ack back to the connection.
    fn data(&self, frame: Frame, fragments: &mut Reassembly, acks: &mpsc::Sender<Ack>) {
        let complete = match fragments.add(&frame, Instant::now().into_std()) {
            Ok(Some(c)) => c,
            Ok(None) => return,
            Err(e) => {
                tracing::warn!(error = %e, "data frame skipped");
                return;
            }
        };
        self.status.metrics.events.inc();
        let sink = self.sink.clone();
        let acks = acks.clone();
        tokio::spawn(async move {
            let first_seen = Instant::from_std(complete.first_seen);
            let code = publish(sink.as_ref(), &frame, &complete.payload, first_seen).await;
            // The connection may be gone by now: Feishu then pushes the event again.
            let _ = acks
                .send(Ack {
                    frame,
                    code,
                    first_seen,
                })
                .await;
        });
    }
}

/// An ack to write: the frame it answers, the code, and when the event began.
struct Ack {
    frame: Frame,
    code: u16,
    first_seen: Instant,
}

/// Publishes one event; the ack code: 200 only once the sink accepted it, 500 when a
/// retry can help (sink down or too slow for the ack budget), 400 when the payload can
/// never be published.
async fn publish(sink: &dyn EventSink, frame: &Frame, payload: &[u8], first_seen: Instant) -> u16 {
    let message_id = frame.header(HEADER_MESSAGE_ID).unwrap_or_default();
    let trace_id = frame.header(HEADER_TRACE_ID).unwrap_or_default();
    let raw: serde_json::Value = match serde_json::from_slice(payload) {
        Ok(v) => v,
        Err(e) => {
            tracing::error!(message_id, trace_id, error = %e, "event payload is not JSON; not published");
            return 400;
        }
    };
    let event = match received_event(&raw, crate::NAME, message_id) {
        Ok(e) => e,
        Err(e) => {
            tracing::error!(message_id, error = %e, "event could not be built");
            return 400;
        }
    };
    let id = event.id().to_string();
    let budget = ACK_BUDGET.saturating_sub(first_seen.elapsed());
    match tokio::time::timeout(budget, sink.send(event)).await {
        Ok(Ok(())) => {
            tracing::info!(event.id = %id, message_id, trace_id, "feishu event published");
            200
        }
        Ok(Err(e)) => {
            tracing::warn!(event.id = %id, message_id, error = %e, "event not published; acking 500 so Feishu pushes it again");
            500
        }
        Err(_) => {
            tracing::warn!(event.id = %id, message_id, "sink too slow for the ack budget; acking 500");
            500
        }
    }
}

/// Sorts a failed handshake: 403, and 514 with the too-many-connections code, are
/// fatal; anything else is worth another attempt.
fn handshake_error(e: tungstenite::Error, shown_url: &str) -> ConnectError {
    let tungstenite::Error::Http(res) = e else {
        return ConnectError::Retry(format!("dialling {shown_url} failed: {}", io_kind(&e)));
    };
    let header = |name: &str| {
        res.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    let status: i64 = header(HANDSHAKE_STATUS)
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or_else(|| i64::from(res.status().as_u16()));
    let msg = header(HANDSHAKE_MSG).unwrap_or_default();
    let auth: Option<i64> = header(HANDSHAKE_AUTH_ERRCODE).and_then(|s| s.trim().parse().ok());
    match (status, auth) {
        (403, _) => ConnectError::Fatal(format!("handshake forbidden (403): {msg}")),
        (514, Some(AUTH_EXCEED_CONN_LIMIT)) => ConnectError::Fatal(format!(
            "too many connections for this app (514, {AUTH_EXCEED_CONN_LIMIT}): {msg}"
        )),
        _ => ConnectError::Retry(format!("handshake refused ({status}): {msg}")),
    }
}

/// A short description of a WebSocket error that never includes the URL.
fn io_kind(e: &tungstenite::Error) -> String {
    match e {
        tungstenite::Error::Io(io) => format!("I/O error ({})", io.kind()),
        tungstenite::Error::ConnectionClosed | tungstenite::Error::AlreadyClosed => {
            "connection closed".into()
        }
        tungstenite::Error::Protocol(p) => format!("protocol error ({p})"),
        tungstenite::Error::Tls(_) => "TLS error".into(),
        tungstenite::Error::Http(res) => format!("HTTP {}", res.status()),
        tungstenite::Error::Url(_) => "bad URL".into(),
        _ => "WebSocket error".into(),
    }
}

/// A uniformly random wait in `[0, max)`.
fn random_below(max: Duration) -> Duration {
    if max.is_zero() {
        return Duration::ZERO;
    }
    let ms = u64::try_from(max.as_millis()).unwrap_or(u64::MAX);
    Duration::from_millis(rand::random_range(0..ms))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(status: u16, headers: &[(&str, &str)]) -> tungstenite::Error {
        let mut res = http::Response::builder().status(status);
        for (k, v) in headers {
            res = res.header(*k, *v);
        }
        tungstenite::Error::Http(Box::new(res.body(None).unwrap()))
    }

    #[test]
    fn handshake_errors_are_sorted_like_the_sdks() {
        let forbidden = refused(403, &[(HANDSHAKE_STATUS, "403"), (HANDSHAKE_MSG, "no")]);
        assert!(matches!(
            handshake_error(forbidden, "u"),
            ConnectError::Fatal(_)
        ));
        let too_many = refused(
            514,
            &[
                (HANDSHAKE_STATUS, "514"),
                (HANDSHAKE_AUTH_ERRCODE, "1000040350"),
            ],
        );
        assert!(matches!(
            handshake_error(too_many, "u"),
            ConnectError::Fatal(_)
        ));
        let auth_other = refused(
            514,
            &[(HANDSHAKE_STATUS, "514"), (HANDSHAKE_AUTH_ERRCODE, "1")],
        );
        assert!(matches!(
            handshake_error(auth_other, "u"),
            ConnectError::Retry(_)
        ));
        let busy = refused(500, &[]);
        assert!(matches!(handshake_error(busy, "u"), ConnectError::Retry(_)));
    }

    #[test]
    fn timing_applies_only_what_the_server_sent() {
        let mut t = Timing::default();
        t.apply(&ClientConfig {
            ping_interval: Some(0),
            ..ClientConfig::default()
        });
        assert_eq!(t.ping_interval, Duration::from_secs(1));
        assert_eq!(t.reconnect_nonce, Duration::from_secs(30));
    }

    #[test]
    fn random_wait_stays_below_the_nonce() {
        assert_eq!(random_below(Duration::ZERO), Duration::ZERO);
        for _ in 0..100 {
            assert!(random_below(Duration::from_millis(50)) < Duration::from_millis(50));
        }
    }
}
