use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::Severity;
use crate::events::{EXT_SEVERITY, EXT_STATUS, EventType, Payload, derive_id};

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
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
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

    /// The word a person reads on a card, in `lang`.
    pub fn word(self, lang: aegis_i18n::Lang) -> String {
        use aegis_i18n::t;
        match self {
            Self::Firing => t!(lang, "status-firing"),
            Self::Resolved => t!(lang, "status-resolved"),
        }
    }
}

/// Alertmanager's "no time" (`0001-01-01T00:00:00Z`), and anything before year 2 too.
pub(crate) fn is_zero_time(t: DateTime<Utc>) -> bool {
    use chrono::Datelike;
    t.year() <= 1
}

impl Alert {
    /// When it resolved; `None` while firing (Alertmanager sends the zero time).
    pub fn resolved_at(&self) -> Option<DateTime<Utc>> {
        Some(self.ends_at).filter(|t| !is_zero_time(*t))
    }

    /// Its `severity` label, ranked.
    pub fn severity(&self) -> Severity {
        self.labels
            .get("severity")
            .map(|s| Severity::parse(s))
            .unwrap_or(Severity::None)
    }

    /// A stable identity: Alertmanager's fingerprint, or a hash of the labels when a
    /// sender left it out.
    pub fn identity(&self) -> String {
        if !self.fingerprint.is_empty() {
            return self.fingerprint.clone();
        }
        let parts: Vec<String> = self
            .labels
            .iter()
            .flat_map(|(k, v)| [k.clone(), v.clone()])
            .collect();
        derive_id(&parts)
    }
}

impl Payload for Notification {
    const TYPE: EventType = EventType::AlertGroupReceived;

    /// `aegisstatus` and `aegisseverity` (the highest in the group), so Triggers can
    /// pick firing or severe groups without reading the data.
    fn extensions(&self) -> Vec<(&'static str, String)> {
        vec![
            (EXT_STATUS, self.status.as_str().to_string()),
            (EXT_SEVERITY, self.highest_severity().as_str().to_string()),
        ]
    }
}

impl Notification {
    /// The id of the `alert.group.received` event: a hash of the group key, the group
    /// status, and each alert's identity, status and start time (in a fixed order), so
    /// Alertmanager's retries and repeats of an unchanged group produce the same id and
    /// every consumer can dedupe, while any change (an alert resolving, a new alert,
    /// a restart of the same alert) produces a new one.
    pub fn event_id(&self) -> String {
        let mut alerts: Vec<(String, &'static str, String)> = self
            .alerts
            .iter()
            .map(|a| {
                (
                    a.identity(),
                    a.status.as_str(),
                    a.starts_at
                        .to_rfc3339_opts(chrono::SecondsFormat::Nanos, true),
                )
            })
            .collect();
        alerts.sort();
        let mut parts = vec![self.group_key.clone(), self.status.as_str().to_string()];
        for (identity, status, starts) in alerts {
            parts.extend([identity, status.to_string(), starts]);
        }
        derive_id(&parts)
    }

    /// The highest severity among its alerts.
    pub fn highest_severity(&self) -> Severity {
        self.alerts
            .iter()
            .map(Alert::severity)
            .max()
            .unwrap_or(Severity::None)
    }

    /// The group's alert name: `commonLabels.alertname`, else the first alert's, else
    /// `alert`.
    pub fn alertname(&self) -> &str {
        self.common_labels
            .get("alertname")
            .or_else(|| self.alerts.iter().find_map(|a| a.labels.get("alertname")))
            .map(String::as_str)
            .unwrap_or("alert")
    }

    /// The earliest start among its alerts.
    pub fn earliest_start(&self) -> Option<DateTime<Utc>> {
        self.alerts.iter().map(|a| a.starts_at).min()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn sample() -> Notification {
        serde_json::from_value(serde_json::json!({
            "version": "4",
            "groupKey": "{}:{alertname=\"HighErrorRate\"}",
            "truncatedAlerts": 0,
            "status": "firing",
            "receiver": "aegis",
            "groupLabels": {"alertname": "HighErrorRate"},
            "commonLabels": {"alertname": "HighErrorRate"},
            "commonAnnotations": {},
            "externalURL": "http://alertmanager:9093",
            "alerts": [
                {"status": "firing", "labels": {"alertname": "HighErrorRate", "severity": "warning", "pod": "a"},
                 "annotations": {"summary": "errors"}, "startsAt": "2026-11-25T10:00:00Z",
                 "endsAt": "0001-01-01T00:00:00Z", "generatorURL": "http://prom/graph", "fingerprint": "aaa"},
                {"status": "firing", "labels": {"alertname": "HighErrorRate", "severity": "critical", "pod": "b"},
                 "annotations": {}, "startsAt": "2026-11-25T10:01:00Z",
                 "endsAt": "0001-01-01T00:00:00Z", "generatorURL": "", "fingerprint": "bbb"}
            ]
        }))
        .unwrap()
    }

    #[test]
    fn event_carries_status_and_highest_severity() {
        use crate::events::AttributesReader;
        let n = sample();
        let e = n.to_event("webhook-receiver", n.event_id()).unwrap();
        assert_eq!(e.ty(), "io.aegis.alert.group.received.v1");
        let ext = |name| e.extension(name).map(|v| v.to_string());
        assert_eq!(ext(EXT_STATUS).as_deref(), Some("firing"));
        assert_eq!(ext(EXT_SEVERITY).as_deref(), Some("critical"));
    }

    #[test]
    fn event_id_is_stable_and_order_independent() {
        let n = sample();
        let mut reordered = n.clone();
        reordered.alerts.reverse();
        assert_eq!(n.event_id(), reordered.event_id());
        assert_eq!(n.event_id().len(), 32);
    }

    #[test]
    fn event_id_changes_with_status_alerts_and_starts() {
        let n = sample();
        let mut resolved = n.clone();
        resolved.status = Status::Resolved;
        assert_ne!(n.event_id(), resolved.event_id());
        let mut one_resolved = n.clone();
        one_resolved.alerts[0].status = Status::Resolved;
        assert_ne!(n.event_id(), one_resolved.event_id());
        let mut restarted = n.clone();
        restarted.alerts[1].starts_at += chrono::Duration::minutes(5);
        assert_ne!(n.event_id(), restarted.event_id());
        let mut other_group = n.clone();
        other_group.group_key.push('x');
        assert_ne!(n.event_id(), other_group.event_id());
    }

    #[test]
    fn highest_severity_and_firing_end_time() {
        let n = sample();
        assert_eq!(n.highest_severity(), Severity::Critical);
        assert_eq!(n.alertname(), "HighErrorRate");
        assert_eq!(n.alerts[0].resolved_at(), None);
        assert!(n.validate().is_ok());
    }

    #[test]
    fn validation_names_the_field() {
        let mut n = sample();
        n.version = "3".into();
        assert_eq!(n.validate().unwrap_err().field, "version");
        let mut n = sample();
        n.alerts.clear();
        assert_eq!(n.validate().unwrap_err().field, "alerts");
        let mut n = sample();
        n.alerts[1].starts_at = n.alerts[1].ends_at;
        assert_eq!(n.validate().unwrap_err().field, "alerts[1].startsAt");
        let mut n = sample();
        n.alerts[0].status = Status::Resolved;
        assert_eq!(n.validate().unwrap_err().field, "alerts[0].endsAt");
    }
}
