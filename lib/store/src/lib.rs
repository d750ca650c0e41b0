//! The report store: analysis reports (JSON and Markdown), alert-card message ids, and
//! idempotency markers; S3 in a cluster, a local folder on a laptop.

pub mod api;
mod config;
mod degrade;
mod folder;
pub mod key;
pub mod markdown;
mod memory;
mod s3;
#[cfg(test)]
mod test_support;

pub use config::{Config, ReportLinks, S3Config};
pub use degrade::{Operation, archive, claim_or_proceed, failures, register_metrics};
pub use folder::Folder;
pub use memory::Memory;
pub use s3::{Credentials, S3};

use chrono::{DateTime, Utc};

use aegis_core::report::Report;

/// Why the store could not do what was asked. Callers degrade: an analysis still
/// answers when its report cannot be archived; a marker that cannot be read means
/// "process anyway" (at least once beats lost).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The backend could not be reached or failed.
    #[error("report store unavailable: {0}")]
    Unavailable(String),
    /// A stored object could not be decoded.
    #[error("stored object {key} is corrupt: {reason}")]
    Corrupt {
        /// The object's key.
        key: String,
        /// What is wrong.
        reason: String,
    },
}

/// The result of claiming an idempotency marker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Claim {
    /// This caller created the marker: go ahead.
    Won,
    /// Someone created it before: the work is done or in progress elsewhere.
    AlreadyTaken,
}

/// A line of the report listing.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct ReportSummary {
    /// The report id.
    pub id: String,
    /// When it was stored.
    pub created_at: DateTime<Utc>,
    /// Its summary line.
    pub summary: String,
    /// The top candidate's service, if any.
    pub top_service: Option<String>,
}

impl ReportSummary {
    /// The listing line of `report`, stored at `created_at`.
    pub fn of(report: &Report, created_at: DateTime<Utc>) -> Self {
        Self {
            id: report.id.clone(),
            created_at,
            summary: report.summary.clone(),
            top_service: report.ranked_root_causes.first().map(|c| c.service.clone()),
        }
    }
}

/// Where reports, card ids and markers last.
#[async_trait::async_trait]
pub trait ReportStore: Send + Sync {
    /// Stores a report as JSON and as Markdown.
    async fn put_report(&self, report: &Report) -> Result<(), Error>;
    /// A stored report.
    async fn get_report(&self, id: &str) -> Result<Option<Report>, Error>;
    /// A stored report's Markdown rendering.
    async fn get_report_markdown(&self, id: &str) -> Result<Option<String>, Error>;
    /// Reports newest first, stored at or after `since`, at most `limit`.
    async fn list_reports(
        &self,
        since: Option<DateTime<Utc>>,
        limit: usize,
    ) -> Result<Vec<ReportSummary>, Error>;
    /// Remembers the Feishu message id of the card posted for an alert event.
    async fn put_card(&self, alert_event_id: &str, message_id: &str) -> Result<(), Error>;
    /// The Feishu message id of an alert event's card.
    async fn get_card(&self, alert_event_id: &str) -> Result<Option<String>, Error>;
    /// Creates the marker `key` unless it exists (a conditional create).
    async fn claim(&self, key: &str) -> Result<Claim, Error>;
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
}

/// One kept dead letter (see [`ReportStore::put_dead_letter`]).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct DeadLetter {
    /// When the dead letter sink received it.
    pub received_at: DateTime<Utc>,
    /// The CloudEvent as the sink received it (structured JSON, with the Broker's
    /// `knativeerrordest`, `knativeerrorcode` and `knativeerrordata` extensions).
    #[schema(value_type = Object)]
    pub event: serde_json::Value,
}

impl DeadLetter {
    /// The kept event's id (`""` for an event without one, which a Broker never
    /// delivers).
    pub fn id(&self) -> &str {
        self.event
            .get("id")
            .and_then(serde_json::Value::as_str)
            .unwrap_or_default()
    }

    /// The object name of the dead letter `id` received at `at`:
    /// `<reverse time>-<id>.json`, so a name-ordered listing is newest first.
    fn object_name(at: DateTime<Utc>, id: &str) -> String {
        format!("{}.json", key::index_name(at, id))
    }

    /// The dead letter stored under `name` (see [`DeadLetter::object_name`]) with
    /// `bytes`; `None` for a name that is not a dead letter's.
    fn parse(name: &str, bytes: &[u8]) -> Option<Result<Self, String>> {
        let received_at = key::index_time(name.strip_suffix(".json")?)?;
        Some(
            serde_json::from_slice(bytes)
                .map(|event| Self { received_at, event })
                .map_err(|e| e.to_string()),
        )
    }
}

/// Opens the store the configuration names: S3 when a bucket is set, else the folder
/// (created if needed, and pruned of entries older than the retention).
pub async fn open(config: &Config) -> Result<std::sync::Arc<dyn ReportStore>, anyhow::Error> {
    if let Some(s3) = &config.s3 {
        let store = S3::connect(s3, config.links.clone(), config.link_expiry)
            .await
            .map_err(|e| anyhow::anyhow!("the report store cannot open: {e}"))?;
        tracing::info!(bucket = %s3.bucket, prefix = %s3.prefix, "report store: S3");
        // Checked in the background: a bucket that is down degrades analyses (reports
        // not archived) but must not keep the function from starting.
        let probe = store.clone();
        tokio::spawn(async move {
            if let Err(e) = probe.check().await {
                tracing::warn!(error = %e, "the report bucket is not reachable; reports will not be archived until it is");
            }
        });
        return Ok(std::sync::Arc::new(store));
    }
    let folder = Folder::open(&config.data_dir, config.retention, config.links.clone())
        .await
        .map_err(|e| anyhow::anyhow!("the report store cannot open: {e}"))?;
    tracing::info!(dir = %config.data_dir.display(), "report store: folder");
    Ok(std::sync::Arc::new(folder))
}

/// `<public base>/api/ops/analyses/<id>` when links go through the analyze function.
pub(crate) fn public_link(links: &ReportLinks, id: &str) -> Option<String> {
    let ReportLinks::PublicBase(base) = links else {
        return None;
    };
    let mut url = base.clone();
    url.path_segments_mut()
        .ok()?
        .pop_if_empty()
        .extend(["api", "ops", "analyses", id]);
    Some(url.to_string())
}
