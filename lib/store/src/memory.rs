use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Mutex;

use chrono::{DateTime, Utc};

use super::{Claim, DeadLetter, Error, ReportStore, ReportSummary};
use aegis_core::report::Report;

/// An in-memory store, for unit tests of code that needs a store.
#[derive(Debug, Default)]
pub struct Memory {
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    reports: BTreeMap<String, (DateTime<Utc>, Report)>,
    cards: HashMap<String, String>,
    markers: HashSet<String>,
    dead_letters: Vec<(DateTime<Utc>, String, Vec<u8>)>,
}

impl Memory {
    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[async_trait::async_trait]
impl ReportStore for Memory {
    async fn put_report(&self, report: &Report) -> Result<(), Error> {
        self.lock()
            .reports
            .insert(report.id.clone(), (Utc::now(), report.clone()));
        Ok(())
    }

    async fn get_report(&self, id: &str) -> Result<Option<Report>, Error> {
        Ok(self.lock().reports.get(id).map(|(_, r)| r.clone()))
    }

    async fn get_report_markdown(&self, id: &str) -> Result<Option<String>, Error> {
        Ok(self
            .lock()
            .reports
            .get(id)
            .map(|(_, r)| super::markdown::render(r)))
    }

    async fn list_reports(
        &self,
        since: Option<DateTime<Utc>>,
        limit: usize,
    ) -> Result<Vec<ReportSummary>, Error> {
        let inner = self.lock();
        let mut all: Vec<_> = inner
            .reports
            .values()
            .filter(|(at, _)| since.is_none_or(|s| *at >= s))
            .map(|(at, r)| ReportSummary::of(r, *at))
            .collect();
        all.sort_by_key(|s| std::cmp::Reverse(s.created_at));
        all.truncate(limit);
        Ok(all)
    }

    async fn put_card(&self, alert_event_id: &str, message_id: &str) -> Result<(), Error> {
        self.lock()
            .cards
            .insert(alert_event_id.to_string(), message_id.to_string());
        Ok(())
    }

    async fn get_card(&self, alert_event_id: &str) -> Result<Option<String>, Error> {
        Ok(self.lock().cards.get(alert_event_id).cloned())
    }

    async fn claim(&self, key: &str) -> Result<Claim, Error> {
        Ok(if self.lock().markers.insert(key.to_string()) {
            Claim::Won
        } else {
            Claim::AlreadyTaken
        })
    }

    async fn release(&self, key: &str) -> Result<(), Error> {
        self.lock().markers.remove(key);
        Ok(())
    }

    async fn report_link(&self, _id: &str) -> Result<Option<String>, Error> {
        Ok(None)
    }

    async fn put_dead_letter(
        &self,
        at: DateTime<Utc>,
        id: &str,
        event: &[u8],
    ) -> Result<(), Error> {
        self.lock()
            .dead_letters
            .push((at, id.to_string(), event.to_vec()));
        Ok(())
    }

    async fn remove_dead_letter(&self, at: DateTime<Utc>, id: &str) -> Result<(), Error> {
        self.lock()
            .dead_letters
            .retain(|(t, i, _)| (*t, i.as_str()) != (at, id));
        Ok(())
    }

    async fn list_dead_letters(&self, limit: usize) -> Result<Vec<DeadLetter>, Error> {
        let mut letters: Vec<DeadLetter> = self
            .lock()
            .dead_letters
            .iter()
            .filter_map(|(at, _, bytes)| {
                Some(DeadLetter {
                    received_at: *at,
                    event: serde_json::from_slice(bytes).ok()?,
                })
            })
            .collect();
        letters.sort_by_key(|d| std::cmp::Reverse(d.received_at));
        letters.truncate(limit);
        Ok(letters)
    }
}
