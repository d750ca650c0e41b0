//! The listing line of a stored report.

use chrono::{DateTime, Utc};

use super::listing::Listed;
use super::{key, layout};
use aegis_core::report::Report;

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

impl Listed for ReportSummary {
    const FOLDER: &'static str = layout::INDEX;
    const WHAT: &'static str = "index entry";

    fn time(name: &str) -> Option<DateTime<Utc>> {
        key::index_time(name)
    }

    /// The line says when it was stored; the name's time only orders it.
    fn decode(_: DateTime<Utc>, bytes: &[u8]) -> Result<Self, String> {
        serde_json::from_slice(bytes).map_err(|e| e.to_string())
    }
}
