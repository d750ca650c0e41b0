//! The report store: analysis reports (JSON and Markdown), alert-card message ids, and
//! idempotency markers; S3 in a cluster, a local folder on a laptop.

mod config;
mod memory;

pub use config::{Config, ReportLinks, S3Config};
pub use memory::Memory;

use chrono::{DateTime, Utc};

use crate::analysis::Report;

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
}

/// Opens the store the configuration names: S3 when a bucket is set, else the folder.
pub async fn open(config: &Config) -> Result<std::sync::Arc<dyn ReportStore>, anyhow::Error> {
    // The folder and S3 stores arrive with the store issue; until then, memory.
    let _ = config;
    Ok(std::sync::Arc::new(Memory::default()))
}
