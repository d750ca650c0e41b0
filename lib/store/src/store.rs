//! What the store keeps, written once over any [`ObjectStore`]: the [`ReportStore`]
//! operations callers use, and [`Store`], their one implementation.
//!
//! Callers hold `Arc<dyn ReportStore>` (a trait, so a function's tests can pass any
//! store and the backend is chosen at start-up); the backends only provide the object
//! operations, so the layout, the write order and the listing rules cannot drift apart
//! between them.

use std::collections::HashSet;

use chrono::{DateTime, Utc};

use super::listing::{self, Listed};
use super::{Claim, DeadLetter, Error, ObjectStore, ReportLinks, ReportSummary, layout, similar};
use aegis_core::report::{Feedback, Report, SimilarIncident, Views};
use aegis_similar::Query;

/// Where reports, card ids, markers and dead letters last.
#[async_trait::async_trait]
pub trait ReportStore: Send + Sync {
    /// Stores a report as JSON beside the `views` its caller rendered of it (Markdown
    /// and its page), then its listing line.
    async fn put_report(&self, report: &Report, views: Views) -> Result<(), Error>;
    /// A stored report.
    async fn get_report(&self, id: &str) -> Result<Option<Report>, Error>;
    /// A stored report's Markdown rendering.
    async fn get_report_markdown(&self, id: &str) -> Result<Option<String>, Error>;
    /// A stored report's page (HTML).
    async fn get_report_page(&self, id: &str) -> Result<Option<String>, Error>;
    /// Records a person's verdict on the report `id` and stores the report again with
    /// the views `render` makes of it; the updated report, or `None` when there is no
    /// such report. A later verdict replaces an earlier one.
    async fn put_feedback(
        &self,
        id: &str,
        feedback: Feedback,
        render: &(dyn for<'r> Fn(&'r Report) -> Views + Sync),
    ) -> Result<Option<Report>, Error>;
    /// Reports newest first, stored at or after `since`, at most `limit`; a report
    /// stored twice is listed once, at its newest time.
    async fn list_reports(
        &self,
        since: Option<DateTime<Utc>>,
        limit: usize,
    ) -> Result<Vec<ReportSummary>, Error>;
    /// The `limit` stored incidents closest to `query`, most similar first, at least
    /// `min` alike, leaving out the report `exclude` (the one being analysed). A
    /// report without a readable past-incident entry gets one rebuilt from it.
    async fn similar(
        &self,
        query: &Query,
        exclude: Option<&str>,
        limit: usize,
        min: f64,
    ) -> Result<Vec<SimilarIncident>, Error>;
    /// Remembers the Feishu message id of the card posted for an alert event.
    async fn put_card(&self, alert_event_id: &str, message_id: &str) -> Result<(), Error>;
    /// The Feishu message id of an alert event's card.
    async fn get_card(&self, alert_event_id: &str) -> Result<Option<String>, Error>;
    /// Creates the marker `key` unless it exists (a conditional create).
    async fn claim(&self, key: &str) -> Result<Claim, Error>;
    /// Creates the marker `key` unless one younger than `lease` exists: a claim on
    /// work that ends or is abandoned. A marker older than `lease` is the claim of a
    /// worker that died; it is replaced, so the work is taken over.
    async fn claim_for(&self, key: &str, lease: std::time::Duration) -> Result<Claim, Error>;
    /// Removes a marker so a failed piece of work can be retried.
    async fn release(&self, key: &str) -> Result<(), Error>;
    /// A link to the report for result cards, if the store offers one.
    async fn report_link(&self, id: &str) -> Result<Option<String>, Error>;
    /// Keeps an event whose delivery failed for good, received at `at`: `event` is the
    /// structured CloudEvent (JSON) with the broker's `knativeerror*` extensions, stored
    /// as `dead-letters/<reverse time>-<id>.json` (newest first, like the index), so
    /// that it can be read and sent again.
    async fn put_dead_letter(&self, at: DateTime<Utc>, id: &str, event: &[u8])
    -> Result<(), Error>;
    /// Kept dead letters, newest first, at most `limit`. One that cannot be read is
    /// skipped with a warning: a listing is a best-effort view.
    async fn list_dead_letters(&self, limit: usize) -> Result<Vec<DeadLetter>, Error>;
    /// Removes the dead letter `id` received at `at` (see [`DeadLetter::id`]), once it
    /// has been sent again; removing one that is gone is not an error.
    async fn remove_dead_letter(&self, at: DateTime<Utc>, id: &str) -> Result<(), Error>;
    /// Writes `entry` as number `seq` of the incident log unless that number is taken
    /// (a conditional create): of two writers of one number exactly one wins, so every
    /// replica reads the same decisions in the same order.
    async fn append_incident_entry(&self, seq: u64, entry: &[u8]) -> Result<Claim, Error>;
    /// Entry `seq` of the incident log.
    async fn get_incident_entry(&self, seq: u64) -> Result<Option<Vec<u8>>, Error>;
    /// Replaces the incidents' head: their state as of some entry (a hint where to
    /// start reading the log; a stale head only means more entries to read).
    async fn put_incident_head(&self, head: &[u8]) -> Result<(), Error>;
    /// The incidents' head, if one was written.
    async fn get_incident_head(&self) -> Result<Option<Vec<u8>>, Error>;
    /// Stores the incident `id` opened at `at` as it now stands (JSON), for reading.
    async fn put_incident(&self, at: DateTime<Utc>, id: &str, json: &[u8]) -> Result<(), Error>;
    /// The incident `id` opened at `at`.
    async fn get_incident(&self, at: DateTime<Utc>, id: &str) -> Result<Option<Vec<u8>>, Error>;
    /// Stored incidents, newest opened first, at most `limit`.
    async fn list_incidents(&self, limit: usize) -> Result<Vec<Vec<u8>>, Error>;
    /// Remembers that the thread under `message_id` is the incident `id`'s.
    async fn put_incident_thread(&self, message_id: &str, id: &str) -> Result<(), Error>;
    /// The incident whose thread starts at `message_id`.
    async fn get_incident_thread(&self, message_id: &str) -> Result<Option<String>, Error>;
}

/// The report store over the object store `O`, with the result cards' link policy.
/// [`crate::Folder`], [`crate::S3`] and [`crate::Memory`] are this over each backend.
#[derive(Debug, Clone)]
pub struct Store<O> {
    objects: O,
    links: ReportLinks,
}

impl<O> Store<O> {
    /// The report store over `objects`; `links` says how [`ReportStore::report_link`]
    /// answers (presigned links where the backend has none are treated as none).
    pub fn new(objects: O, links: ReportLinks) -> Self {
        Self { objects, links }
    }

    /// The object store underneath.
    pub fn objects(&self) -> &O {
        &self.objects
    }
}

impl<O: Default> Default for Store<O> {
    /// The store over a default backend, without links.
    fn default() -> Self {
        Self::new(O::default(), ReportLinks::None)
    }
}

impl<O: ObjectStore> Store<O> {
    /// The UTF-8 text under `key`.
    async fn get_text(&self, key: String) -> Result<Option<String>, Error> {
        let Some(bytes) = self.objects.get(&key).await? else {
            return Ok(None);
        };
        String::from_utf8(bytes)
            .map(Some)
            .map_err(|e| Error::Corrupt {
                key,
                reason: e.to_string(),
            })
    }

    async fn newest<T: Listed>(
        &self,
        since: Option<DateTime<Utc>>,
        limit: usize,
        keep: impl FnMut(&T) -> bool + Send,
    ) -> Result<Vec<T>, Error> {
        listing::newest(&self.objects, since, limit, keep).await
    }
}

#[async_trait::async_trait]
impl<O: ObjectStore> ReportStore for Store<O> {
    async fn put_report(&self, report: &Report, views: Views) -> Result<(), Error> {
        let now = Utc::now();
        let corrupt = |e: serde_json::Error| Error::Corrupt {
            key: report.id.clone(),
            reason: e.to_string(),
        };
        let json = serde_json::to_vec_pretty(report).map_err(corrupt)?;
        let line = serde_json::to_vec(&ReportSummary::of(report, now)).map_err(corrupt)?;
        let md = views.markdown.into_bytes();
        let page = views.page.into_bytes();
        let entry = similar::encode(report).map_err(corrupt)?;
        let (json_key, md_key, page_key, entry_key) = (
            layout::report_json(&report.id),
            layout::report_markdown(&report.id),
            layout::report_page(&report.id),
            layout::similar_entry(&report.id),
        );
        futures::try_join!(
            self.objects.put(&json_key, json, layout::JSON),
            self.objects.put(&md_key, md, layout::MARKDOWN),
            self.objects.put(&page_key, page, layout::HTML),
            self.objects.put(&entry_key, entry, layout::JSON),
        )?;
        // The index line last, so a listing never names a report that is not there.
        self.objects
            .put(&layout::index_line(now, &report.id), line, layout::JSON)
            .await
    }

    async fn get_report(&self, id: &str) -> Result<Option<Report>, Error> {
        let key = layout::report_json(id);
        let Some(bytes) = self.objects.get(&key).await? else {
            return Ok(None);
        };
        serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|e| Error::Corrupt {
                key,
                reason: e.to_string(),
            })
    }

    async fn get_report_markdown(&self, id: &str) -> Result<Option<String>, Error> {
        self.get_text(layout::report_markdown(id)).await
    }

    async fn get_report_page(&self, id: &str) -> Result<Option<String>, Error> {
        self.get_text(layout::report_page(id)).await
    }

    async fn put_feedback(
        &self,
        id: &str,
        feedback: Feedback,
        render: &(dyn for<'r> Fn(&'r Report) -> Views + Sync),
    ) -> Result<Option<Report>, Error> {
        let Some(mut report) = self.get_report(id).await? else {
            return Ok(None);
        };
        report.feedback = Some(feedback);
        self.put_report(&report, render(&report)).await?;
        Ok(Some(report))
    }

    async fn list_reports(
        &self,
        since: Option<DateTime<Utc>>,
        limit: usize,
    ) -> Result<Vec<ReportSummary>, Error> {
        let mut seen = HashSet::new();
        // A report stored twice (a redelivery) is listed once, at its newest time.
        self.newest(since, limit, |s: &ReportSummary| seen.insert(s.id.clone()))
            .await
    }

    async fn similar(
        &self,
        query: &Query,
        exclude: Option<&str>,
        limit: usize,
        min: f64,
    ) -> Result<Vec<SimilarIncident>, Error> {
        similar::search(&self.objects, query, exclude, limit, min).await
    }

    async fn put_card(&self, alert_event_id: &str, message_id: &str) -> Result<(), Error> {
        let body = message_id.as_bytes().to_vec();
        self.objects
            .put(&layout::card(alert_event_id), body, layout::TEXT)
            .await
    }

    async fn get_card(&self, alert_event_id: &str) -> Result<Option<String>, Error> {
        let card = self.get_text(layout::card(alert_event_id)).await?;
        Ok(card.map(|s| s.trim().to_string()))
    }

    async fn claim(&self, key: &str) -> Result<Claim, Error> {
        let body = format!("{}\n", Utc::now().to_rfc3339()).into_bytes();
        let created = self
            .objects
            .put_if_absent(&layout::marker(key), body, layout::TEXT)
            .await?;
        Ok(if created {
            Claim::Won
        } else {
            Claim::AlreadyTaken
        })
    }

    async fn claim_for(&self, key: &str, lease: std::time::Duration) -> Result<Claim, Error> {
        if self.claim(key).await? == Claim::Won {
            return Ok(Claim::Won);
        }
        let marker = layout::marker(key);
        let since = self
            .get_text(marker.clone())
            .await?
            .and_then(|text| DateTime::parse_from_rfc3339(text.trim()).ok())
            .map(|t| t.with_timezone(&Utc));
        // A marker without a readable time is one being written (the conditional create
        // comes before its content): taken, not lapsed.
        let lapsed =
            since.is_some_and(|since| (Utc::now() - since).to_std().unwrap_or_default() > lease);
        if !lapsed {
            return Ok(Claim::AlreadyTaken);
        }
        tracing::warn!(%marker, ?since, "claim lapsed; taking the work over");
        // Of two that saw it lapse, the conditional create lets one through.
        self.objects.delete(&marker).await?;
        self.claim(key).await
    }

    async fn release(&self, key: &str) -> Result<(), Error> {
        self.objects.delete(&layout::marker(key)).await
    }

    async fn report_link(&self, id: &str) -> Result<Option<String>, Error> {
        match &self.links {
            ReportLinks::Presigned => {
                self.objects
                    .presign(&layout::report_page(id), layout::HTML)
                    .await
            }
            ReportLinks::PublicBase(base) => Ok(public_link(base, id)),
            ReportLinks::None => Ok(None),
        }
    }

    async fn put_dead_letter(
        &self,
        at: DateTime<Utc>,
        id: &str,
        event: &[u8],
    ) -> Result<(), Error> {
        self.objects
            .put(&layout::dead_letter(at, id), event.to_vec(), layout::JSON)
            .await
    }

    async fn list_dead_letters(&self, limit: usize) -> Result<Vec<DeadLetter>, Error> {
        self.newest(None, limit, |_: &DeadLetter| true).await
    }

    async fn remove_dead_letter(&self, at: DateTime<Utc>, id: &str) -> Result<(), Error> {
        self.objects.delete(&layout::dead_letter(at, id)).await
    }

    async fn append_incident_entry(&self, seq: u64, entry: &[u8]) -> Result<Claim, Error> {
        let created = self
            .objects
            .put_if_absent(&layout::incident_entry(seq), entry.to_vec(), layout::JSON)
            .await?;
        Ok(if created {
            Claim::Won
        } else {
            Claim::AlreadyTaken
        })
    }

    async fn get_incident_entry(&self, seq: u64) -> Result<Option<Vec<u8>>, Error> {
        self.objects.get(&layout::incident_entry(seq)).await
    }

    async fn put_incident_head(&self, head: &[u8]) -> Result<(), Error> {
        self.objects
            .put(layout::INCIDENT_HEAD, head.to_vec(), layout::JSON)
            .await
    }

    async fn get_incident_head(&self) -> Result<Option<Vec<u8>>, Error> {
        self.objects.get(layout::INCIDENT_HEAD).await
    }

    async fn put_incident(&self, at: DateTime<Utc>, id: &str, json: &[u8]) -> Result<(), Error> {
        self.objects
            .put(&layout::incident(at, id), json.to_vec(), layout::JSON)
            .await
    }

    async fn get_incident(&self, at: DateTime<Utc>, id: &str) -> Result<Option<Vec<u8>>, Error> {
        self.objects.get(&layout::incident(at, id)).await
    }

    async fn list_incidents(&self, limit: usize) -> Result<Vec<Vec<u8>>, Error> {
        let keys = self.objects.list(layout::INCIDENTS, None, limit).await?;
        let mut incidents = Vec::with_capacity(keys.len());
        for key in keys {
            // Removed between the listing and the read (retention): skipped.
            if let Some(bytes) = self.objects.get(&key).await? {
                incidents.push(bytes);
            }
        }
        Ok(incidents)
    }

    async fn put_incident_thread(&self, message_id: &str, id: &str) -> Result<(), Error> {
        self.objects
            .put(
                &layout::incident_thread(message_id),
                id.as_bytes().to_vec(),
                layout::TEXT,
            )
            .await
    }

    async fn get_incident_thread(&self, message_id: &str) -> Result<Option<String>, Error> {
        let id = self.get_text(layout::incident_thread(message_id)).await?;
        Ok(id.map(|s| s.trim().to_string()))
    }
}

/// `<public base>/api/ops/analyses/<id>`, the read API's address of the report.
fn public_link(base: &url::Url, id: &str) -> Option<String> {
    let mut url = base.clone();
    url.path_segments_mut()
        .ok()?
        .pop_if_empty()
        .extend(["api", "ops", "analyses", id]);
    Some(url.to_string())
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::Memory;

    #[tokio::test]
    async fn a_claim_is_taken_over_only_once_its_lease_lapsed() {
        let store = Memory::default();
        let lease = Duration::from_secs(60);
        assert_eq!(store.claim_for("a", lease).await.unwrap(), Claim::Won);
        assert_eq!(
            store.claim_for("a", lease).await.unwrap(),
            Claim::AlreadyTaken,
            "a fresh claim holds"
        );
        let old = format!(
            "{}\n",
            (Utc::now() - chrono::Duration::minutes(5)).to_rfc3339()
        );
        let marker = layout::marker("b");
        store
            .objects()
            .put(&marker, old.into_bytes(), layout::TEXT)
            .await
            .unwrap();
        assert_eq!(
            store.claim_for("b", lease).await.unwrap(),
            Claim::Won,
            "the claim of a worker that died is taken over"
        );
        // A marker caught between its create and its content reads empty: still taken.
        let marker = layout::marker("c");
        store
            .objects()
            .put(&marker, Vec::new(), layout::TEXT)
            .await
            .unwrap();
        assert_eq!(
            store.claim_for("c", lease).await.unwrap(),
            Claim::AlreadyTaken
        );
    }
}
