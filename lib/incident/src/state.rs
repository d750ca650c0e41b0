//! The incidents as the log's entries make them: each [`Entry`] is one decision, and
//! [`State::apply`] folds it in. Every replica folds the same entries in the same
//! order, so every replica sees the same incidents.

use std::collections::{BTreeMap, BTreeSet};

use aegis_core::alert::{Notification, Status};
use aegis_core::incident::{AnalysisRef, Happening, Incident, Moment};
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

/// One decision, as written to the log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Entry {
    /// The alert group of event `event_id` went to `incident` (opening it if `opened`).
    Group {
        /// The `alert.group.received` event.
        event_id: String,
        /// The incident it joined or opened.
        incident: String,
        /// Whether it opened the incident.
        opened: bool,
        /// The chat the incident's card goes to.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        chat: Option<String>,
        /// When it arrived.
        at: DateTime<Utc>,
        /// The notification.
        notification: Notification,
    },
    /// The incident's card was posted as `message_id`.
    Card {
        /// The incident.
        incident: String,
        /// The card's message id.
        message_id: String,
    },
    /// An analysis of the incident was asked for, by the handling of `by_event`.
    AnalysisRequested {
        /// The incident.
        incident: String,
        /// The request id.
        request_id: String,
        /// 1 for the first, one more per re-run.
        generation: u32,
        /// The services it covers.
        services: BTreeSet<String>,
        /// The event whose handling asked (its redelivery asks again, by the same id).
        by_event: String,
        /// When.
        at: DateTime<Utc>,
    },
    /// An analysis of the incident finished.
    AnalysisDone {
        /// The incident.
        incident: String,
        /// The request id.
        request_id: String,
        /// Its report, when it succeeded.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        report_id: Option<String>,
        /// Its first two candidates.
        #[serde(default)]
        candidates: Vec<String>,
        /// The calls it saw.
        #[serde(default)]
        calls: Vec<(String, String)>,
        /// Why it failed, when it did.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        failure: Option<String>,
        /// Its result card, when posted.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        message_id: Option<String>,
        /// When.
        at: DateTime<Utc>,
    },
}

impl Entry {
    /// The incident the entry is about.
    pub fn incident(&self) -> &str {
        match self {
            Entry::Group { incident, .. }
            | Entry::Card { incident, .. }
            | Entry::AnalysisRequested { incident, .. }
            | Entry::AnalysisDone { incident, .. } => incident,
        }
    }
}

/// How long a resolved incident stays in the state (a late resolution or repeat of
/// one of its groups still finds it); an unresolved one stays for [`STALE`] after
/// its last entry.
pub const KEEP_RESOLVED: Duration = Duration::hours(24);
/// How long an unresolved incident with no new entry stays in the state.
pub const STALE: Duration = Duration::days(7);

/// The incidents as of entry `seq` of the log.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct State {
    /// The last entry folded in (0: none).
    pub seq: u64,
    /// Live incidents by id.
    pub incidents: BTreeMap<String, Incident>,
    /// Which incident each alert event went to, and whether it opened it.
    pub events: BTreeMap<String, (String, bool)>,
    /// When each live incident last had an entry.
    pub touched: BTreeMap<String, DateTime<Utc>>,
    /// Which analysis each event's handling asked for: `(incident, request id)`.
    #[serde(default)]
    pub asked: BTreeMap<String, (String, String)>,
}

impl State {
    /// Folds entry `seq` in.
    pub fn apply(&mut self, seq: u64, entry: &Entry) {
        self.seq = seq;
        let id = entry.incident().to_string();
        match entry {
            Entry::Group {
                event_id,
                opened,
                chat,
                at,
                notification,
                ..
            } => {
                let incident = self
                    .incidents
                    .entry(id.clone())
                    .or_insert_with(|| Incident::new(id.clone(), *at, chat.clone()));
                incident.absorb(notification, *at);
                self.events.insert(event_id.clone(), (id.clone(), *opened));
                self.touched.insert(id, *at);
            }
            Entry::Card { message_id, .. } => {
                if let Some(incident) = self.incidents.get_mut(&id) {
                    incident.card.get_or_insert_with(|| message_id.clone());
                }
            }
            Entry::AnalysisRequested {
                request_id,
                generation,
                services,
                by_event,
                at,
                ..
            } => {
                self.asked
                    .insert(by_event.clone(), (id.clone(), request_id.clone()));
                if let Some(incident) = self.incidents.get_mut(&id) {
                    incident.analyses.push(AnalysisRef {
                        request_id: request_id.clone(),
                        generation: *generation,
                        requested_at: *at,
                        services: services.clone(),
                        report_id: None,
                        top: None,
                        message: None,
                        done_at: None,
                        failure: None,
                    });
                    incident.timeline.push(Moment {
                        at: *at,
                        what: Happening::AnalysisRequested {
                            request_id: request_id.clone(),
                            generation: *generation,
                        },
                    });
                    self.touched.insert(id, *at);
                }
            }
            Entry::AnalysisDone {
                request_id,
                report_id,
                candidates,
                calls,
                failure,
                message_id,
                at,
                ..
            } => {
                if let Some(incident) = self.incidents.get_mut(&id) {
                    incident.candidates.extend(candidates.iter().cloned());
                    incident.calls.extend(calls.iter().cloned());
                    if let Some(analysis) = incident
                        .analyses
                        .iter_mut()
                        .find(|a| &a.request_id == request_id)
                    {
                        analysis.report_id = report_id.clone();
                        analysis.top = candidates.first().cloned();
                        analysis.failure = failure.clone();
                        analysis.message = message_id.clone();
                        analysis.done_at = Some(*at);
                    }
                    incident.timeline.push(Moment {
                        at: *at,
                        what: Happening::AnalysisDone {
                            request_id: request_id.clone(),
                            top: candidates.first().cloned(),
                            failure: failure.clone(),
                        },
                    });
                    self.touched.insert(id, *at);
                }
            }
        }
    }

    /// Forgets incidents resolved more than [`KEEP_RESOLVED`] ago or untouched for
    /// [`STALE`] (they stay readable in the store), and their events; never `keep`, the
    /// incident just written (an old event redelivered late still finds it).
    pub fn prune(&mut self, now: DateTime<Utc>, keep: &str) {
        let gone: BTreeSet<String> = self
            .incidents
            .values()
            .filter(|i| i.id != keep)
            .filter(|i| {
                let touched = self.touched.get(&i.id).copied().unwrap_or(i.opened_at);
                match i.resolved_at {
                    Some(_) => now - touched > KEEP_RESOLVED,
                    None => now - touched > STALE,
                }
            })
            .map(|i| i.id.clone())
            .collect();
        if gone.is_empty() {
            return;
        }
        self.incidents.retain(|id, _| !gone.contains(id));
        self.touched.retain(|id, _| !gone.contains(id));
        self.events.retain(|_, (id, _)| !gone.contains(id));
        self.asked.retain(|_, (id, _)| !gone.contains(id));
    }

    /// The live incident holding the group `group_key`, unresolved ones first, then
    /// the latest.
    pub fn holding(&self, group_key: &str) -> Option<&Incident> {
        self.incidents
            .values()
            .filter(|i| i.groups.iter().any(|g| g == group_key))
            .max_by_key(|i| (!i.is_resolved(), i.last_firing_at))
    }

    /// Whether a firing group of `status` may still join `incident` at `at`.
    pub fn within(
        incident: &Incident,
        status: Status,
        at: DateTime<Utc>,
        window: Duration,
    ) -> bool {
        status == Status::Firing && at - incident.last_firing_at <= window
    }
}
