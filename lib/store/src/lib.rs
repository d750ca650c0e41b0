//! The report store: analysis reports (JSON beside the views their makers rendered),
//! past-incident entries, alert-card message ids, idempotency markers and dead
//! letters; S3 in a cluster, a local folder on a laptop. It stores; it renders and
//! serves nothing.

//!
//! Two layers: an [`ObjectStore`] (get, put, conditional create, list, delete, presign)
//! implemented by each backend, and [`Store`], which lays reports, index lines, card ids,
//! markers and dead letters out on any of them (docs/store.md) and is what callers use,
//! as `Arc<dyn ReportStore>`.

mod config;
#[cfg(any(test, feature = "contract"))]
pub mod contract;
mod dead_letter;
mod degrade;
mod folder;
pub mod key;
pub mod layout;
mod listing;
mod memory;
mod object;
mod s3;
mod similar;
mod store;
mod summary;
#[cfg(any(test, feature = "contract"))]
pub mod test_support;

pub use config::{Config, ReportLinks, S3Config};
pub use dead_letter::DeadLetter;
pub use degrade::{Operation, archive, claim_or_proceed, failures, register_metrics};
pub use folder::{Folder, FolderObjects};
pub use memory::{Memory, MemoryObjects};
pub use object::ObjectStore;
pub use s3::{Credentials, S3, S3Objects};
pub use store::{ReportStore, Store};
pub use summary::ReportSummary;

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
    /// A key the backend cannot hold (not `<folder>/<name>` with plain names): a bug in
    /// the caller, never a caller-supplied id, which [`key::object_name`] makes safe.
    #[error("{0:?} is not a valid object key")]
    InvalidKey(String),
}

/// The result of claiming an idempotency marker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Claim {
    /// This caller created the marker: go ahead.
    Won,
    /// Someone created it before: the work is done or in progress elsewhere.
    AlreadyTaken,
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
