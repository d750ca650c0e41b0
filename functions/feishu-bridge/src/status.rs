//! What the bridge reports about itself: the connection state for
//! `GET /healthz/connection`, and its counters on `/metrics`.

use std::sync::{Arc, Mutex};

use aegis_core::Metrics;
use chrono::{DateTime, Utc};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use serde::Serialize;

/// The connection's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum State {
    /// No Feishu app configured: the bridge has nothing to do.
    NotConfigured,
    /// Discovering the endpoint or dialling.
    Connecting,
    /// The long connection is up.
    Connected,
    /// Lost; waiting to reconnect.
    Disconnected,
    /// Stopped for good (bad credentials, forbidden, too many connections, or the
    /// reconnect count used up); needs a restart after the cause is fixed.
    Stopped,
}

/// The state, since when, and why.
#[derive(Debug, Clone, Serialize)]
pub struct Snapshot {
    /// The state.
    pub state: State,
    /// Whether the long connection is up.
    pub connected: bool,
    /// When the state began.
    pub since: DateTime<Utc>,
    /// The connection id (`device_id`) while connected.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub device_id: Option<String>,
    /// Why it is not connected, when it is not.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Connections lost since start.
    pub reconnects: u64,
    /// The ping interval in use, in seconds.
    pub ping_interval_secs: u64,
}

/// Shared, cheap to clone.
#[derive(Clone)]
pub struct Status {
    inner: Arc<Mutex<Snapshot>>,
    /// The counters.
    pub metrics: BridgeMetrics,
}

/// Labels of the ack counter.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct AckLabels {
    /// The code sent (200, 500, 400).
    pub code: u16,
}

/// The bridge's metrics, registered under `aegis_feishu_bridge_*`.
#[derive(Clone)]
pub struct BridgeMetrics {
    /// Connections lost (each one is followed by a reconnect).
    pub reconnects: Counter,
    /// Complete events received.
    pub events: Counter,
    /// Acks sent, by code.
    pub acks: Family<AckLabels, Counter>,
    /// From the first fragment to the ack being written.
    pub ack_latency: Histogram,
    /// 1 while connected.
    pub connected: Gauge,
}

impl BridgeMetrics {
    fn new() -> Self {
        Self {
            ack_latency: Histogram::new([
                0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 3.0, 5.0,
            ]),
            reconnects: Counter::default(),
            events: Counter::default(),
            acks: Family::default(),
            connected: Gauge::default(),
        }
    }

    fn register(&self, metrics: &Metrics) {
        metrics.register(
            "feishu_bridge_reconnects",
            "Feishu long connections lost and re-established",
            self.reconnects.clone(),
        );
        metrics.register(
            "feishu_bridge_events",
            "Complete events received over the Feishu long connection",
            self.events.clone(),
        );
        metrics.register(
            "feishu_bridge_acks",
            "Acks sent to Feishu, by code",
            self.acks.clone(),
        );
        metrics.register(
            "feishu_bridge_ack_latency_seconds",
            "From an event's first fragment to its ack",
            self.ack_latency.clone(),
        );
        metrics.register(
            "feishu_bridge_connected",
            "1 while the Feishu long connection is up",
            self.connected.clone(),
        );
    }
}

impl Status {
    /// A status in `state`, with its metrics registered in `metrics`.
    pub fn new(state: State, metrics: &Metrics) -> Self {
        let bridge = BridgeMetrics::new();
        bridge.register(metrics);
        Self {
            inner: Arc::new(Mutex::new(Snapshot {
                state,
                connected: false,
                since: Utc::now(),
                device_id: None,
                reason: None,
                reconnects: 0,
                ping_interval_secs: 0,
            })),
            metrics: bridge,
        }
    }

    fn update(&self, f: impl FnOnce(&mut Snapshot)) {
        let mut s = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        f(&mut s);
    }

    /// The current snapshot.
    pub fn snapshot(&self) -> Snapshot {
        self.inner.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Moves to `state` (not `Connected`), with a reason.
    pub fn set(&self, state: State, reason: Option<String>) {
        self.metrics.connected.set(0);
        self.update(|s| {
            if s.state != state {
                s.since = Utc::now();
            }
            s.state = state;
            s.connected = false;
            s.device_id = None;
            s.reason = reason;
        });
    }

    /// The connection is up.
    pub fn connected(&self, device_id: Option<String>, ping_interval_secs: u64) {
        self.metrics.connected.set(1);
        self.update(|s| {
            s.state = State::Connected;
            s.connected = true;
            s.since = Utc::now();
            s.device_id = device_id;
            s.reason = None;
            s.ping_interval_secs = ping_interval_secs;
        });
    }

    /// A connection was lost.
    pub fn lost(&self, reason: String) {
        self.metrics.reconnects.inc();
        self.update(|s| s.reconnects += 1);
        self.set(State::Disconnected, Some(reason));
    }

    /// The server changed the ping interval.
    pub fn ping_interval(&self, secs: u64) {
        self.update(|s| s.ping_interval_secs = secs);
    }
}
