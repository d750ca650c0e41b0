//! The local broker's journal: every delivery it owes, written durably before the
//! event is acknowledged, removed once the delivery has ended (delivered, replied,
//! dead-lettered or given up), and read back at start-up so that what a crash cut
//! short is delivered after the restart, at least once.
//!
//! Built on the report store's [`ObjectStore`] rather than an embedded database: the
//! folder backend already writes atomically (temp file, fsync, rename, fsync of the
//! folder) and lists in name order, which is all a queue of a few hundred small records
//! needs, and `aegis dev` keeps everything of its own in `AEGIS_DATA_DIR` already.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use aegis_core::events::Event;
use aegis_store::ObjectStore;
use serde::{Deserialize, Serialize};

/// The folder of the records in the journal's object store.
const PENDING: &str = "pending";

/// One delivery owed: an event and the Trigger that routes it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Owed {
    /// The Trigger's name.
    pub trigger: String,
    /// The hops the event has left.
    pub ttl: u32,
    /// The event (structured JSON in the record).
    pub event: Event,
}

/// Where the broker keeps what it owes. Cheap to clone.
#[derive(Clone)]
pub struct Journal {
    objects: Arc<dyn ObjectStore>,
    sequence: Arc<AtomicU64>,
}

/// The journal could not be written or read: the event is not held.
#[derive(Debug, thiserror::Error)]
#[error("the broker's journal is unavailable: {0}")]
pub struct JournalError(String);

impl Journal {
    /// A journal over `objects` (in `aegis dev`, a folder in `AEGIS_DATA_DIR`).
    pub fn new(objects: Arc<dyn ObjectStore>) -> Self {
        Self {
            objects,
            sequence: Arc::new(AtomicU64::new(0)),
        }
    }

    /// The journal in the folder `dir` (created if needed).
    pub async fn in_folder(dir: impl Into<std::path::PathBuf>) -> Result<Self, JournalError> {
        // Records are removed when their delivery ends; one left for a year is one a
        // broker no longer knows how to deliver.
        let keep = std::time::Duration::from_secs(365 * 24 * 3600);
        let objects = aegis_store::FolderObjects::open(dir, keep, &[PENDING])
            .await
            .map_err(|e| JournalError(e.to_string()))?;
        Ok(Self::new(Arc::new(objects)))
    }

    /// Writes `owed` durably; its key, for [`Journal::remove`]. Keys sort in the order
    /// they were written, so a restart delivers in that order.
    pub async fn write(&self, owed: &Owed) -> Result<String, JournalError> {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
            .as_nanos();
        let n = self.sequence.fetch_add(1, Ordering::Relaxed);
        let key = format!("{PENDING}/{now:024}-{n:08}-{}.json", owed.trigger);
        let bytes = serde_json::to_vec(owed).map_err(|e| JournalError(e.to_string()))?;
        self.objects
            .put(&key, bytes, "application/json")
            .await
            .map_err(|e| JournalError(e.to_string()))?;
        Ok(key)
    }

    /// Forgets a delivery that has ended. A failure is logged: the delivery then
    /// happens again after a restart, which the subscribers' idempotency absorbs.
    pub async fn remove(&self, key: &str) {
        if let Err(e) = self.objects.delete(key).await {
            tracing::warn!(record = key, error = %e, "journal record not removed; it will be delivered again after a restart");
        }
    }

    /// Every delivery still owed, oldest first, with its key. A record that cannot be
    /// read is logged and skipped (and left in place for a person to look at).
    pub async fn pending(&self) -> Result<Vec<(String, Owed)>, JournalError> {
        let mut keys = Vec::new();
        let mut after: Option<String> = None;
        loop {
            let page = self
                .objects
                .list(&format!("{PENDING}/"), after.as_deref(), 1000)
                .await
                .map_err(|e| JournalError(e.to_string()))?;
            let last = page.len() < 1000;
            after = page.last().cloned();
            keys.extend(page);
            if last {
                break;
            }
        }
        let mut owed = Vec::with_capacity(keys.len());
        for key in keys {
            let bytes = match self.objects.get(&key).await {
                Ok(Some(bytes)) => bytes,
                Ok(None) => continue,
                Err(e) => return Err(JournalError(e.to_string())),
            };
            match serde_json::from_slice::<Owed>(&bytes) {
                Ok(record) => owed.push((key, record)),
                Err(e) => {
                    tracing::error!(record = %key, error = %e, "unreadable journal record skipped")
                }
            }
        }
        Ok(owed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aegis_core::events::AttributesReader;
    use cloudevents::EventBuilder;

    fn event(id: &str) -> Event {
        cloudevents::EventBuilderV10::new()
            .id(id)
            .ty("io.aegis.test.v1")
            .source("test")
            .data("application/json", serde_json::json!({"n": id}))
            .build()
            .unwrap()
    }

    #[tokio::test]
    async fn records_survive_a_reopen_in_order_until_removed() {
        let dir = tempfile::tempdir().unwrap();
        let journal = Journal::in_folder(dir.path()).await.unwrap();
        let mut keys = Vec::new();
        for id in ["a", "b", "c"] {
            let owed = Owed {
                trigger: "to-notifier".into(),
                ttl: 7,
                event: event(id),
            };
            keys.push(journal.write(&owed).await.unwrap());
        }
        journal.remove(&keys[1]).await;

        let reopened = Journal::in_folder(dir.path()).await.unwrap();
        let pending = reopened.pending().await.unwrap();
        let ids: Vec<String> = pending
            .iter()
            .map(|(_, o)| o.event.id().to_string())
            .collect();
        assert_eq!(ids, ["a", "c"]);
        assert_eq!(pending[0].1.trigger, "to-notifier");
        assert_eq!(pending[0].1.ttl, 7);
        assert_eq!(pending[0].1.event, event("a"), "the event comes back whole");
    }

    #[tokio::test]
    async fn an_unreadable_record_is_skipped_not_fatal() {
        let dir = tempfile::tempdir().unwrap();
        let journal = Journal::in_folder(dir.path()).await.unwrap();
        std::fs::write(dir.path().join("pending/0-0-x.json"), b"{not json").unwrap();
        let owed = Owed {
            trigger: "t".into(),
            ttl: 1,
            event: event("ok"),
        };
        journal.write(&owed).await.unwrap();
        let pending = journal.pending().await.unwrap();
        assert_eq!(pending.len(), 1);
        assert_eq!(pending[0].1.event.id(), "ok");
    }

    #[tokio::test]
    async fn a_missing_folder_is_an_error_not_an_empty_journal() {
        let dir = tempfile::tempdir().unwrap();
        let journal = Journal::in_folder(dir.path().join("j")).await.unwrap();
        std::fs::remove_dir_all(dir.path().join("j")).unwrap();
        let owed = Owed {
            trigger: "t".into(),
            ttl: 1,
            event: event("x"),
        };
        assert!(journal.write(&owed).await.is_err());
        assert!(journal.pending().await.is_err());
    }
}
