use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// An Alertmanager webhook notification (payload version 4), as Alertmanager sends it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Notification {
    /// Payload version; only `"4"` is accepted.
    pub version: String,
    /// Identifies the alert group across notifications.
    pub group_key: String,
    /// How many alerts Alertmanager left out (max_alerts).
    #[serde(default)]
    pub truncated_alerts: u64,
    /// `firing` or `resolved`.
    pub status: Status,
    /// The receiver's name.
    pub receiver: String,
    /// Labels the group is keyed by.
    #[serde(default)]
    pub group_labels: BTreeMap<String, String>,
    /// Labels all alerts share.
    #[serde(default)]
    pub common_labels: BTreeMap<String, String>,
    /// Annotations all alerts share.
    #[serde(default)]
    pub common_annotations: BTreeMap<String, String>,
    /// Alertmanager's external URL.
    #[serde(rename = "externalURL", default)]
    pub external_url: String,
    /// The alerts.
    pub alerts: Vec<Alert>,
}

/// One alert of a group.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Alert {
    /// `firing` or `resolved`.
    pub status: Status,
    /// Its labels (`alertname`, `severity`, `namespace`, ...).
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    /// Its annotations (`summary`, `description`, ...).
    #[serde(default)]
    pub annotations: BTreeMap<String, String>,
    /// When it started firing.
    pub starts_at: DateTime<Utc>,
    /// When it resolved; Alertmanager sends `0001-01-01T00:00:00Z` while firing.
    pub ends_at: DateTime<Utc>,
    /// Link to the expression in Prometheus.
    #[serde(rename = "generatorURL", default)]
    pub generator_url: String,
    /// Stable identity of the alert.
    #[serde(default)]
    pub fingerprint: String,
}

/// Alert or group status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Firing.
    Firing,
    /// Resolved.
    Resolved,
}

impl Status {
    /// `firing` or `resolved`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Firing => "firing",
            Self::Resolved => "resolved",
        }
    }
}
