//! [`Incidents`]: the decisions made once, durably, and the same on every replica.
//!
//! Every decision is an entry of a log in the report store whose numbers are taken
//! by conditional creates (`ReportStore::append_incident_entry`): a writer folds the
//! log up to its end, decides, and writes its entry as the next number; if another
//! writer took that number first, it folds that entry in and decides again. Two
//! notifiers handling two groups of one storm at once therefore never open two
//! incidents: the second sees the first's incident before it decides. The head (the
//! state as of some entry) is written after each entry so readers need not fold
//! from the start; a stale head only means a few more entries to read.

use std::sync::Arc;

use aegis_core::alert::{Notification, Status};
use aegis_core::events::derive_id;
use aegis_core::incident::{AnalysisRef, Incident, IncidentSummary};
use aegis_core::report::Report;
use aegis_store::{Claim, ReportStore};
use chrono::{DateTime, NaiveDateTime, Utc};

use crate::rule::Rule;
use crate::state::{Entry, State};

/// Attempts at the next log number before giving up (each lost race folds one more
/// entry in, so this many concurrent writers would have to win in turn).
const MAX_RACES: usize = 64;

/// What can go wrong: the store, or an entry nobody can read.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The report store failed; a retry can help.
    #[error(transparent)]
    Store(#[from] aegis_store::Error),
    /// A log entry or head that cannot be decoded.
    #[error("incident log entry {seq} cannot be read: {reason}")]
    Corrupt {
        /// The entry's number (0 for the head).
        seq: u64,
        /// Why.
        reason: String,
    },
    /// Other writers kept taking the next number.
    #[error("the incident log is too busy: {MAX_RACES} writers in a row took the next entry")]
    Busy,
}

/// Where an alert group went.
#[derive(Debug, Clone)]
pub struct Assigned {
    /// The incident as it now stands.
    pub incident: Incident,
    /// Whether this group opened it.
    pub opened: bool,
}

/// The incidents over a report store, grouped by a [`Rule`].
#[derive(Clone)]
pub struct Incidents {
    store: Arc<dyn ReportStore>,
    rule: Rule,
}

impl Incidents {
    /// Incidents kept in `store`, grouped by `rule`.
    pub fn new(store: Arc<dyn ReportStore>, rule: Rule) -> Self {
        Self { store, rule }
    }

    /// The grouping rule.
    pub fn rule(&self) -> &Rule {
        &self.rule
    }

    /// The incidents as of the log's end.
    pub async fn state(&self) -> Result<State, Error> {
        let mut state = match self.store.get_incident_head().await? {
            Some(bytes) => serde_json::from_slice(&bytes).map_err(|e| Error::Corrupt {
                seq: 0,
                reason: e.to_string(),
            })?,
            None => State::default(),
        };
        self.catch_up(&mut state).await?;
        Ok(state)
    }

    /// Folds in every entry after `state.seq`.
    async fn catch_up(&self, state: &mut State) -> Result<(), Error> {
        while let Some(bytes) = self.store.get_incident_entry(state.seq + 1).await? {
            let seq = state.seq + 1;
            let entry: Entry = serde_json::from_slice(&bytes).map_err(|e| Error::Corrupt {
                seq,
                reason: e.to_string(),
            })?;
            state.apply(seq, &entry);
        }
        Ok(())
    }

    /// Decides with `decide` on the log's end and writes its entry, deciding again
    /// after each lost race; what `decide` returned last, and the state after it.
    async fn decide<T>(
        &self,
        mut decide: impl FnMut(&State) -> (Option<Entry>, T),
    ) -> Result<(State, T), Error> {
        let mut state = self.state().await?;
        for _ in 0..MAX_RACES {
            let (entry, outcome) = decide(&state);
            let Some(entry) = entry else {
                return Ok((state, outcome));
            };
            let seq = state.seq + 1;
            let bytes = serde_json::to_vec(&entry).map_err(|e| Error::Corrupt {
                seq,
                reason: e.to_string(),
            })?;
            match self.store.append_incident_entry(seq, &bytes).await? {
                Claim::Won => {
                    state.apply(seq, &entry);
                    self.publish(&mut state, entry.incident()).await;
                    return Ok((state, outcome));
                }
                Claim::AlreadyTaken => self.catch_up(&mut state).await?,
            }
        }
        Err(Error::Busy)
    }

    /// Writes the head and the incident `id` as it now stands. Best effort: the log
    /// is the truth, and a later write or read catches up.
    async fn publish(&self, state: &mut State, id: &str) {
        state.prune(Utc::now(), id);
        if let Some(incident) = state.incidents.get(id) {
            match serde_json::to_vec(incident) {
                Ok(json) => {
                    let at = opened_at(id).unwrap_or(incident.opened_at);
                    if let Err(e) = self.store.put_incident(at, id, &json).await {
                        tracing::warn!(incident = id, error = %e, "incident not stored for reading; the log still holds it");
                    }
                }
                Err(e) => tracing::warn!(incident = id, error = %e, "incident not encoded"),
            }
        }
        match serde_json::to_vec(state) {
            Ok(head) => {
                if let Err(e) = self.store.put_incident_head(&head).await {
                    tracing::warn!(error = %e, "incident head not written; readers fold more of the log");
                }
            }
            Err(e) => tracing::warn!(error = %e, "incident head not encoded"),
        }
    }

    /// Puts the alert group of event `event_id`, arrived at `at` for `chat`, into an
    /// incident: the one already holding its group, else a related open one
    /// ([`Rule`]), else a new one. A redelivered event gets the same answer.
    pub async fn assign(
        &self,
        n: &Notification,
        event_id: &str,
        chat: Option<&str>,
        at: DateTime<Utc>,
    ) -> Result<Assigned, Error> {
        let window = chrono::Duration::from_std(self.rule.window).unwrap_or(chrono::Duration::MAX);
        let (state, (id, opened)) = self
            .decide(|state| {
                if let Some((id, opened)) = state.events.get(event_id) {
                    return (None, (id.clone(), *opened));
                }
                let same_chat = |i: &&Incident| i.chat.as_deref() == chat;
                let joined = state
                    .holding(&n.group_key)
                    .filter(same_chat)
                    .filter(|i| !i.is_resolved() || n.status == Status::Resolved)
                    .or_else(|| {
                        if self.rule.window.is_zero() {
                            return None;
                        }
                        state
                            .incidents
                            .values()
                            .filter(same_chat)
                            .filter(|i| State::within(i, n.status, at, window))
                            .filter(|i| self.rule.relates(i, n))
                            .max_by_key(|i| i.last_firing_at)
                    });
                let (id, opened) = match joined {
                    Some(incident) => (incident.id.clone(), false),
                    None => (new_id(event_id, at), true),
                };
                let entry = Entry::Group {
                    event_id: event_id.to_string(),
                    incident: id.clone(),
                    opened,
                    chat: chat.map(String::from),
                    at,
                    notification: n.clone(),
                };
                (Some(entry), (id, opened))
            })
            .await?;
        let incident = state
            .incidents
            .get(&id)
            .cloned()
            .ok_or_else(|| Error::Corrupt {
                seq: state.seq,
                reason: format!("incident {id} is not in the state it was just written to"),
            })?;
        Ok(Assigned { incident, opened })
    }

    /// Records that the incident's card is `message_id` (the first record stands) and
    /// that its thread is the incident's; the incident as it now stands.
    pub async fn set_card(&self, id: &str, message_id: &str) -> Result<Incident, Error> {
        self.store.put_incident_thread(message_id, id).await?;
        let (state, ()) = self
            .decide(|state| {
                let needed = state.incidents.get(id).is_some_and(|i| i.card.is_none());
                let entry = needed.then(|| Entry::Card {
                    incident: id.to_string(),
                    message_id: message_id.to_string(),
                });
                (entry, ())
            })
            .await?;
        self.live(&state, id)
    }

    /// Asks, on behalf of the handling of `event_id`, for the incident's next
    /// analysis when it needs one: its first, or a re-run once the last has finished
    /// and the incident has grown by services it did not cover. While one is running,
    /// none is asked for: its completion asks for the re-run (debounced by the
    /// analysis itself). The redelivery of `event_id` gets the same request back.
    pub async fn request_analysis(
        &self,
        id: &str,
        event_id: &str,
        at: DateTime<Utc>,
    ) -> Result<Option<(Incident, AnalysisRef)>, Error> {
        let (state, asked) = self
            .decide(|state| {
                let Some(incident) = state.incidents.get(id) else {
                    return (None, None);
                };
                if let Some((of, request_id)) = state.asked.get(event_id)
                    && of == id
                {
                    return (None, Some(request_id.clone()));
                }
                let due = match incident.latest_analysis() {
                    None => true,
                    Some(last) => last.done_at.is_some() && !incident.uncovered().is_empty(),
                };
                if !due || incident.is_resolved() {
                    return (None, None);
                }
                let generation = incident.analyses.len() as u32 + 1;
                let request_id = derive_id(&[id, "analysis", &generation.to_string()]);
                let entry = Entry::AnalysisRequested {
                    incident: id.to_string(),
                    request_id: request_id.clone(),
                    generation,
                    services: incident.services.clone(),
                    by_event: event_id.to_string(),
                    at,
                };
                (Some(entry), Some(request_id))
            })
            .await?;
        let Some(request_id) = asked else {
            return Ok(None);
        };
        let incident = self.live(&state, id)?;
        let analysis = incident
            .analyses
            .iter()
            .find(|a| a.request_id == request_id)
            .cloned();
        Ok(analysis.map(|a| (incident, a)))
    }

    /// Records that the analysis `request_id` of the incident finished (with `report`
    /// or `failure`) and its result card is `message_id`; the incident as it stands.
    /// The first record of an analysis stands.
    pub async fn analysis_done(
        &self,
        id: &str,
        request_id: &str,
        report: Option<&Report>,
        failure: Option<&str>,
        message_id: Option<&str>,
        at: DateTime<Utc>,
    ) -> Result<Incident, Error> {
        let (state, ()) = self
            .decide(|state| {
                let open = state.incidents.get(id).is_some_and(|i| {
                    i.analyses
                        .iter()
                        .any(|a| a.request_id == request_id && a.done_at.is_none())
                });
                let entry = open.then(|| Entry::AnalysisDone {
                    incident: id.to_string(),
                    request_id: request_id.to_string(),
                    report_id: report.map(|r| r.id.clone()),
                    candidates: report
                        .map(|r| {
                            r.ranked_root_causes
                                .iter()
                                .take(2)
                                .map(|c| c.service.clone())
                                .collect()
                        })
                        .unwrap_or_default(),
                    calls: report
                        .map(|r| {
                            r.call_graph
                                .iter()
                                .map(|e| (e.caller.clone(), e.callee.clone()))
                                .collect()
                        })
                        .unwrap_or_default(),
                    failure: failure.map(String::from),
                    message_id: message_id.map(String::from),
                    at,
                });
                (entry, ())
            })
            .await?;
        self.live(&state, id)
    }

    /// The incident `id`: live from the log, else as last stored.
    pub async fn get(&self, id: &str) -> Result<Option<Incident>, Error> {
        let state = self.state().await?;
        if let Some(incident) = state.incidents.get(id) {
            return Ok(Some(incident.clone()));
        }
        let Some(at) = opened_at(id) else {
            return Ok(None);
        };
        match self.store.get_incident(at, id).await? {
            Some(bytes) => serde_json::from_slice(&bytes)
                .map(Some)
                .map_err(|e| Error::Corrupt {
                    seq: 0,
                    reason: e.to_string(),
                }),
            None => Ok(None),
        }
    }

    /// The incident whose thread starts at `message_id`.
    pub async fn for_thread(&self, message_id: &str) -> Result<Option<Incident>, Error> {
        match self.store.get_incident_thread(message_id).await? {
            Some(id) => self.get(&id).await,
            None => Ok(None),
        }
    }

    /// Incidents newest opened first, at most `limit` (live ones as the log has them).
    pub async fn list(&self, limit: usize) -> Result<Vec<IncidentSummary>, Error> {
        let state = self.state().await?;
        let mut out = Vec::new();
        for bytes in self.store.list_incidents(limit).await? {
            let stored: Incident = match serde_json::from_slice(&bytes) {
                Ok(incident) => incident,
                Err(e) => {
                    tracing::warn!(error = %e, "a stored incident cannot be read; skipped");
                    continue;
                }
            };
            let incident = state.incidents.get(&stored.id).unwrap_or(&stored);
            out.push(IncidentSummary::of(incident));
        }
        Ok(out)
    }

    fn live(&self, state: &State, id: &str) -> Result<Incident, Error> {
        state
            .incidents
            .get(id)
            .cloned()
            .ok_or_else(|| Error::Corrupt {
                seq: state.seq,
                reason: format!("incident {id} is not in the state"),
            })
    }
}

/// `inc-<yyyymmddThhmmssZ>-<8 hex>`: when it opened, and a hash of the event that
/// opened it.
fn new_id(event_id: &str, at: DateTime<Utc>) -> String {
    let hash = derive_id(&[event_id, "incident"]);
    format!("inc-{}-{}", at.format("%Y%m%dT%H%M%SZ"), &hash[..8])
}

/// When the incident `id` opened, read from its id.
pub fn opened_at(id: &str) -> Option<DateTime<Utc>> {
    let stamp = id.strip_prefix("inc-")?.get(..16)?;
    NaiveDateTime::parse_from_str(stamp, "%Y%m%dT%H%M%SZ")
        .ok()
        .map(|t| t.and_utc())
}
