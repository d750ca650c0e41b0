//! Incidents: related alert groups joined into one thing that broke, with one card,
//! one thread and one analysis. The model is here (it is read by the notifier, the
//! API, the page and the MCP server); the grouping decisions are `aegis-incident`'s.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::alert::{Alert, Notification, Severity, Status};
use crate::labels::service_of;
use crate::report::TimeRange;

/// Minutes of "before" an analysis of alerts reads ahead of the earliest alert, so it
/// sees the baseline the anomaly departs from.
pub const LEAD_MINUTES: i64 = 15;
/// The longest range an analysis of alerts reads: alerts firing for days are analysed
/// over their last six hours, which hold the current state within the tools' budgets.
pub const MAX_HOURS: i64 = 6;

/// The range an analysis of alerts that began at `earliest` reads at `now`: from
/// [`LEAD_MINUTES`] before it (at least the last 15 minutes, at most [`MAX_HOURS`]).
pub fn analysis_range(earliest: DateTime<Utc>, now: DateTime<Utc>) -> TimeRange {
    let lead = chrono::Duration::minutes(LEAD_MINUTES);
    let start = (earliest - lead)
        .min(now - lead)
        .max(now - chrono::Duration::hours(MAX_HOURS));
    TimeRange { start, end: now }
}

/// One incident as it stands after every decision so far.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Incident {
    /// `inc-<opened, yyyymmddThhmmssZ>-<hash>`: sortable by when it opened.
    pub id: String,
    /// When its first alert group arrived.
    pub opened_at: DateTime<Utc>,
    /// The chat its card is in, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chat: Option<String>,
    /// The Feishu message id of its card (the thread's root), once posted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub card: Option<String>,
    /// Its alerts by identity (Alertmanager's fingerprint), latest state of each.
    pub alerts: BTreeMap<String, AlertLine>,
    /// Its alert groups' keys, in the order they joined.
    pub groups: Vec<String>,
    /// Services its alerts name.
    pub services: BTreeSet<String>,
    /// Namespaces its alerts name.
    pub namespaces: BTreeSet<String>,
    /// Services its analyses ranked first or second, and the call graph they saw,
    /// which relate later alerts to it.
    #[serde(default)]
    pub candidates: BTreeSet<String>,
    /// Calls seen by its analyses, `(caller, callee)`.
    #[serde(default)]
    pub calls: BTreeSet<(String, String)>,
    /// Analyses asked for, in order; the last one supersedes the others.
    #[serde(default)]
    pub analyses: Vec<AnalysisRef>,
    /// When the last firing group joined (the grouping window runs from here).
    pub last_firing_at: DateTime<Utc>,
    /// When every alert had resolved, if they have.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resolved_at: Option<DateTime<Utc>>,
    /// What happened, in order.
    pub timeline: Vec<Moment>,
}

/// One alert of an incident, as its last notification said.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct AlertLine {
    /// `alertname`.
    pub name: String,
    /// Its `severity` label, parsed.
    pub severity: Severity,
    /// Firing or resolved.
    pub status: Status,
    /// The service it names, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service: Option<String>,
    /// Its namespace, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// Its `summary` (or `description`) annotation.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub summary: String,
    /// When it started firing.
    pub starts_at: DateTime<Utc>,
    /// When it resolved.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ends_at: Option<DateTime<Utc>>,
    /// When the notification that said this arrived: an older one delivered late (two
    /// replicas, a redelivery) does not undo a newer one.
    #[serde(default = "epoch")]
    pub seen_at: DateTime<Utc>,
}

fn epoch() -> DateTime<Utc> {
    DateTime::<Utc>::UNIX_EPOCH
}

impl AlertLine {
    /// The line of `alert`, as a notification that arrived at `seen_at` said.
    pub fn of(alert: &Alert, seen_at: DateTime<Utc>) -> Self {
        let label = |k: &str| alert.labels.get(k).filter(|v| !v.is_empty()).cloned();
        Self {
            name: label("alertname").unwrap_or_else(|| "alert".into()),
            severity: alert.severity(),
            status: alert.status,
            service: service_of(&alert.labels).map(String::from),
            namespace: label("namespace"),
            summary: alert
                .annotations
                .get("summary")
                .or_else(|| alert.annotations.get("description"))
                .cloned()
                .unwrap_or_default(),
            starts_at: alert.starts_at,
            ends_at: alert.resolved_at(),
            seen_at,
        }
    }
}

/// An analysis of the incident.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct AnalysisRef {
    /// The analysis request's id (also the report's id once it is done).
    pub request_id: String,
    /// Which one it is: 1 for the first, one more for each re-run.
    pub generation: u32,
    /// When it was asked for.
    pub requested_at: DateTime<Utc>,
    /// The services it covers.
    pub services: BTreeSet<String>,
    /// Its report, once done.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub report_id: Option<String>,
    /// Its first candidate, once done.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub top: Option<String>,
    /// Its result card's message id, once posted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// When it finished.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub done_at: Option<DateTime<Utc>>,
    /// Why it failed, if it did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure: Option<String>,
}

/// One step of an incident's timeline.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Moment {
    /// When.
    pub at: DateTime<Utc>,
    /// What.
    #[serde(flatten)]
    pub what: Happening,
}

/// What happened to an incident.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Happening {
    /// An alert group arrived (the first opens the incident).
    Alerts {
        /// Its group key.
        group_key: String,
        /// Its status.
        status: Status,
        /// Its alert name.
        alertname: String,
        /// How many alerts it carried.
        count: usize,
        /// Services new to the incident.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        new_services: Vec<String>,
    },
    /// An analysis was asked for.
    AnalysisRequested {
        /// Its request id.
        request_id: String,
        /// 1 for the first, more for re-runs.
        generation: u32,
    },
    /// An analysis finished.
    AnalysisDone {
        /// Its request id.
        request_id: String,
        /// Its first candidate.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        top: Option<String>,
        /// Why it failed, if it did.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        failure: Option<String>,
    },
    /// A person's verdict on an analysis.
    Verdict {
        /// The report.
        report_id: String,
        /// `right cause` or `wrong cause`.
        verdict: String,
    },
    /// Every alert had resolved.
    Resolved,
}

/// Counts of an incident's alerts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema)]
pub struct Counts {
    /// Alerts still firing.
    pub firing: usize,
    /// Alerts resolved.
    pub resolved: usize,
}

impl Incident {
    /// The incident `id` opened at `at` in `chat`, before any alert joined.
    pub fn new(id: String, at: DateTime<Utc>, chat: Option<String>) -> Self {
        Self {
            id,
            opened_at: at,
            chat,
            card: None,
            alerts: BTreeMap::new(),
            groups: Vec::new(),
            services: BTreeSet::new(),
            namespaces: BTreeSet::new(),
            candidates: BTreeSet::new(),
            calls: BTreeSet::new(),
            analyses: Vec::new(),
            last_firing_at: at,
            resolved_at: None,
            timeline: Vec::new(),
        }
    }

    /// Takes in the group `n` that arrived at `at`; the services it brought that the
    /// incident did not have.
    pub fn absorb(&mut self, n: &Notification, at: DateTime<Utc>) -> Vec<String> {
        if !self.groups.contains(&n.group_key) {
            self.groups.push(n.group_key.clone());
        }
        let mut new_services = Vec::new();
        for alert in &n.alerts {
            let line = AlertLine::of(alert, at);
            let identity = alert.identity();
            if self
                .alerts
                .get(&identity)
                .is_some_and(|known| known.seen_at > at)
            {
                continue; // a newer notification already said more
            }
            if let Some(service) = &line.service
                && self.services.insert(service.clone())
            {
                new_services.push(service.clone());
            }
            if let Some(namespace) = &line.namespace {
                self.namespaces.insert(namespace.clone());
            }
            self.alerts.insert(identity, line);
        }
        if n.status == Status::Firing {
            self.last_firing_at = self.last_firing_at.max(at);
        }
        self.timeline.push(Moment {
            at,
            what: Happening::Alerts {
                group_key: n.group_key.clone(),
                status: n.status,
                alertname: n.alertname().to_string(),
                count: n.alerts.len(),
                new_services: new_services.clone(),
            },
        });
        let counts = self.counts();
        if counts.firing == 0 && self.resolved_at.is_none() {
            let when = self
                .alerts
                .values()
                .filter_map(|a| a.ends_at)
                .max()
                .unwrap_or(at);
            self.resolved_at = Some(when);
            self.timeline.push(Moment {
                at,
                what: Happening::Resolved,
            });
        } else if counts.firing > 0 {
            self.resolved_at = None;
        }
        new_services
    }

    /// How many of its alerts fire and how many resolved.
    pub fn counts(&self) -> Counts {
        let firing = self
            .alerts
            .values()
            .filter(|a| a.status == Status::Firing)
            .count();
        Counts {
            firing,
            resolved: self.alerts.len() - firing,
        }
    }

    /// The highest severity among its alerts.
    pub fn severity(&self) -> Severity {
        self.alerts
            .values()
            .map(|a| a.severity)
            .max()
            .unwrap_or(Severity::None)
    }

    /// When its earliest alert started.
    pub fn since(&self) -> DateTime<Utc> {
        self.alerts
            .values()
            .map(|a| a.starts_at)
            .min()
            .unwrap_or(self.opened_at)
            .min(self.opened_at)
    }

    /// Whether every alert has resolved.
    pub fn is_resolved(&self) -> bool {
        self.resolved_at.is_some()
    }

    /// Its most frequent alert name, for titles.
    pub fn headline(&self) -> &str {
        let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
        for alert in self.alerts.values() {
            *counts.entry(alert.name.as_str()).or_default() += 1;
        }
        counts
            .into_iter()
            .max_by_key(|(name, n)| (*n, std::cmp::Reverse(*name)))
            .map(|(name, _)| name)
            .unwrap_or("alert")
    }

    /// The last analysis asked for, if any.
    pub fn latest_analysis(&self) -> Option<&AnalysisRef> {
        self.analyses.last()
    }

    /// Its alerts as one alert group (Alertmanager's shape), for an analysis: each
    /// alert's name, severity, service, namespace and summary as labels and
    /// annotations.
    pub fn as_notification(&self) -> Notification {
        let alerts = self
            .alerts
            .iter()
            .map(|(identity, line)| {
                let mut labels = BTreeMap::new();
                labels.insert("alertname".to_string(), line.name.clone());
                labels.insert("severity".to_string(), line.severity.as_str().to_string());
                if let Some(service) = &line.service {
                    labels.insert("service".to_string(), service.clone());
                }
                if let Some(namespace) = &line.namespace {
                    labels.insert("namespace".to_string(), namespace.clone());
                }
                let mut annotations = BTreeMap::new();
                if !line.summary.is_empty() {
                    annotations.insert("summary".to_string(), line.summary.clone());
                }
                Alert {
                    status: line.status,
                    labels,
                    annotations,
                    starts_at: line.starts_at,
                    // Alertmanager's "no time" while firing.
                    ends_at: line.ends_at.unwrap_or_else(no_time),
                    generator_url: String::new(),
                    fingerprint: identity.clone(),
                }
            })
            .collect();
        Notification {
            version: "4".into(),
            group_key: self.id.clone(),
            truncated_alerts: 0,
            status: if self.is_resolved() {
                Status::Resolved
            } else {
                Status::Firing
            },
            receiver: "aegis".into(),
            group_labels: BTreeMap::new(),
            common_labels: BTreeMap::new(),
            common_annotations: BTreeMap::new(),
            external_url: String::new(),
            alerts,
        }
    }

    /// The range an analysis of the incident reads at `now` ([`analysis_range`]).
    pub fn analysis_range(&self, now: DateTime<Utc>) -> TimeRange {
        analysis_range(self.since(), now)
    }

    /// Services its alerts name that its latest analysis did not cover.
    pub fn uncovered(&self) -> BTreeSet<String> {
        match self.analyses.last() {
            Some(a) => self.services.difference(&a.services).cloned().collect(),
            None => self.services.clone(),
        }
    }
}

/// `0001-01-01T00:00:00Z`, Alertmanager's end time of a firing alert.
fn no_time() -> DateTime<Utc> {
    chrono::NaiveDate::from_ymd_opt(1, 1, 1)
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|t| t.and_utc())
        .unwrap_or(DateTime::<Utc>::MIN_UTC)
}

/// An incident as the API lists it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct IncidentSummary {
    /// Its id.
    pub id: String,
    /// Its headline: the most frequent alert name.
    pub title: String,
    /// `firing` or `resolved`.
    pub status: Status,
    /// The highest severity.
    pub severity: Severity,
    /// Services its alerts name.
    pub services: Vec<String>,
    /// Alerts firing and resolved.
    pub alerts: Counts,
    /// When it began (its earliest alert's start).
    pub since: DateTime<Utc>,
    /// When it resolved.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resolved_at: Option<DateTime<Utc>>,
    /// Its latest analysis' first candidate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub top: Option<String>,
}

impl IncidentSummary {
    /// The summary of `incident`.
    pub fn of(incident: &Incident) -> Self {
        Self {
            id: incident.id.clone(),
            title: incident.headline().to_string(),
            status: if incident.is_resolved() {
                Status::Resolved
            } else {
                Status::Firing
            },
            severity: incident.severity(),
            services: incident.services.iter().cloned().collect(),
            alerts: incident.counts(),
            since: incident.since(),
            resolved_at: incident.resolved_at,
            top: incident.analyses.iter().rev().find_map(|a| a.top.clone()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn group(key: &str, status: &str, alerts: &[(&str, &str, &str)]) -> Notification {
        let alerts: Vec<serde_json::Value> = alerts
            .iter()
            .map(|(fp, service, alert_status)| {
                serde_json::json!({
                    "status": alert_status,
                    "labels": {"alertname": "HighErrorRate", "service": service, "namespace": "shop", "severity": "critical"},
                    "annotations": {"summary": "errors"},
                    "startsAt": "2026-12-07T10:00:00Z",
                    "endsAt": if *alert_status == "resolved" { "2026-12-07T10:20:00Z" } else { "0001-01-01T00:00:00Z" },
                    "fingerprint": fp,
                })
            })
            .collect();
        serde_json::from_value(serde_json::json!({
            "version": "4", "groupKey": key, "status": status, "receiver": "aegis",
            "alerts": alerts,
        }))
        .unwrap()
    }

    fn at(min: i64) -> DateTime<Utc> {
        "2026-12-07T10:00:00Z".parse::<DateTime<Utc>>().unwrap() + chrono::Duration::minutes(min)
    }

    #[test]
    fn absorbing_groups_collects_services_and_resolves_when_every_alert_has() {
        let mut incident = Incident::new("inc-1".into(), at(0), None);
        let new = incident.absorb(&group("g1", "firing", &[("a", "cart", "firing")]), at(0));
        assert_eq!(new, vec!["cart"]);
        let new = incident.absorb(
            &group(
                "g2",
                "firing",
                &[("b", "redis", "firing"), ("c", "cart", "firing")],
            ),
            at(2),
        );
        assert_eq!(new, vec!["redis"], "cart was already known");
        assert_eq!(
            incident.counts(),
            Counts {
                firing: 3,
                resolved: 0
            }
        );
        assert_eq!(incident.last_firing_at, at(2));
        incident.absorb(
            &group("g1", "resolved", &[("a", "cart", "resolved")]),
            at(20),
        );
        assert!(!incident.is_resolved(), "two alerts still fire");
        incident.absorb(
            &group(
                "g2",
                "resolved",
                &[("b", "redis", "resolved"), ("c", "cart", "resolved")],
            ),
            at(21),
        );
        assert!(incident.is_resolved());
        assert_eq!(
            incident.counts(),
            Counts {
                firing: 0,
                resolved: 3
            }
        );
        assert_eq!(incident.groups, vec!["g1", "g2"]);
        assert!(matches!(
            incident.timeline.last().map(|m| &m.what),
            Some(Happening::Resolved)
        ));
        assert_eq!(IncidentSummary::of(&incident).status, Status::Resolved);
        // The firing notification of g2, delivered late, does not reopen it.
        incident.absorb(
            &group(
                "g2",
                "firing",
                &[("b", "redis", "firing"), ("c", "cart", "firing")],
            ),
            at(2),
        );
        assert!(incident.is_resolved());
        assert_eq!(
            incident.counts(),
            Counts {
                firing: 0,
                resolved: 3
            }
        );
    }

    #[test]
    fn uncovered_services_are_those_the_last_analysis_did_not_see() {
        let mut incident = Incident::new("inc-1".into(), at(0), None);
        incident.absorb(&group("g1", "firing", &[("a", "cart", "firing")]), at(0));
        assert_eq!(incident.uncovered().len(), 1);
        incident.analyses.push(AnalysisRef {
            request_id: "r1".into(),
            generation: 1,
            requested_at: at(0),
            services: incident.services.clone(),
            report_id: None,
            top: None,
            message: None,
            done_at: None,
            failure: None,
        });
        assert!(incident.uncovered().is_empty());
        incident.absorb(&group("g2", "firing", &[("b", "redis", "firing")]), at(1));
        assert_eq!(
            incident.uncovered().into_iter().collect::<Vec<_>>(),
            vec!["redis"]
        );
    }
}
