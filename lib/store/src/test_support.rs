//! Fixtures for the store's unit tests: a report and a store that is always down.

use chrono::Utc;

use super::{Error, ObjectStore, ReportLinks, Store};
use aegis_core::report::{Report, TimeRange};

/// A minimal report with id `id`.
pub fn report(id: &str) -> Report {
    Report {
        summary: format!("summary of {id}"),
        duration_ms: 1,
        timezone: "UTC".into(),
        ..Report::new(id, TimeRange::last(Utc::now(), 15))
    }
}

/// Objects whose every operation fails as unavailable.
pub struct Down;

/// A report store that is always down.
pub fn down() -> Store<Down> {
    Store::new(Down, ReportLinks::None)
}

fn refused<T>() -> Result<T, Error> {
    Err(Error::Unavailable("connection refused".into()))
}

#[async_trait::async_trait]
impl ObjectStore for Down {
    async fn get(&self, _: &str) -> Result<Option<Vec<u8>>, Error> {
        refused()
    }
    async fn put(&self, _: &str, _: Vec<u8>, _: &str) -> Result<(), Error> {
        refused()
    }
    async fn put_if_absent(&self, _: &str, _: Vec<u8>, _: &str) -> Result<bool, Error> {
        refused()
    }
    async fn list(&self, _: &str, _: Option<&str>, _: usize) -> Result<Vec<String>, Error> {
        refused()
    }
    async fn delete(&self, _: &str) -> Result<(), Error> {
        refused()
    }
    async fn presign(&self, _: &str, _: &str) -> Result<Option<String>, Error> {
        refused()
    }
}
