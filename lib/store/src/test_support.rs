//! Fixtures for the store's unit tests: a report and a store that is always down.

use chrono::{DateTime, Utc};

use super::{Claim, Error, ReportStore, ReportSummary};
use aegis_core::report::{Report, TimeRange, Trace, Usage};

/// A minimal report with id `id`.
pub fn report(id: &str) -> Report {
    Report {
        id: id.into(),
        summary: format!("summary of {id}"),
        ranked_root_causes: vec![],
        next_actions: vec![],
        trace: Trace::default(),
        model: "statistical".into(),
        time_range: TimeRange::last(Utc::now(), 15),
        duration_ms: 1,
        usage: Usage::default(),
        degraded: vec![],
        archived: true,
    }
}

/// A store whose every operation fails as unavailable.
pub struct Down;

fn down<T>() -> Result<T, Error> {
    Err(Error::Unavailable("connection refused".into()))
}

#[async_trait::async_trait]
impl ReportStore for Down {
    async fn put_report(&self, _: &Report) -> Result<(), Error> {
        down()
    }
    async fn get_report(&self, _: &str) -> Result<Option<Report>, Error> {
        down()
    }
    async fn get_report_markdown(&self, _: &str) -> Result<Option<String>, Error> {
        down()
    }
    async fn list_reports(
        &self,
        _: Option<DateTime<Utc>>,
        _: usize,
    ) -> Result<Vec<ReportSummary>, Error> {
        down()
    }
    async fn put_card(&self, _: &str, _: &str) -> Result<(), Error> {
        down()
    }
    async fn get_card(&self, _: &str) -> Result<Option<String>, Error> {
        down()
    }
    async fn claim(&self, _: &str) -> Result<Claim, Error> {
        down()
    }
    async fn release(&self, _: &str) -> Result<(), Error> {
        down()
    }
    async fn report_link(&self, _: &str) -> Result<Option<String>, Error> {
        down()
    }
    async fn put_dead_letter(&self, _: DateTime<Utc>, _: &str, _: &[u8]) -> Result<(), Error> {
        down()
    }
    async fn list_dead_letters(&self, _: usize) -> Result<Vec<super::DeadLetter>, Error> {
        down()
    }
    async fn remove_dead_letter(&self, _: DateTime<Utc>, _: &str) -> Result<(), Error> {
        down()
    }
}
