//! "Archive or degrade": what callers do when the store is down.
//!
//! - [`archive`]: the analysis still answers its caller; the report says
//!   `archived: false`, `aegis_store_failures_total{operation="archive"}` goes up, and a
//!   warning is logged.
//! - [`claim_or_proceed`]: a marker that cannot be read or written means "process
//!   anyway" (at least once beats lost); the metric (`operation="claim"`) and a warning
//!   say so.
//!
//! The counter is process-wide; [`register_metrics`] adds it to the process's
//! registry (each function that uses the store calls it when it is built; a second
//! registration in the same registry is ignored).

use std::sync::LazyLock;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;

use super::{Claim, ReportStore};
use aegis_core::Metrics;
use aegis_core::report::{Report, Views};

/// What the store failed to do, the label of `aegis_store_failures_total`.
#[derive(Debug, Clone, Copy, Hash, PartialEq, Eq)]
pub enum Operation {
    /// Storing a report (`archive`).
    Archive,
    /// Claiming an idempotency marker (`claim`).
    Claim,
}

impl Operation {
    fn label(self) -> Labels {
        Labels {
            operation: match self {
                Self::Archive => "archive",
                Self::Claim => "claim",
            },
        }
    }
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct Labels {
    operation: &'static str,
}

static FAILURES: LazyLock<Family<Labels, Counter>> = LazyLock::new(Family::default);

/// Registers `aegis_store_failures_total{operation}` in `metrics`, once per registry.
pub fn register_metrics(metrics: &Metrics) {
    metrics.register(
        "store_failures",
        "Report store operations that failed and were degraded (report not archived, marker skipped)",
        FAILURES.clone(),
    );
}

/// How many `operation`s have failed in this process so far.
pub fn failures(operation: Operation) -> u64 {
    FAILURES.get_or_create(&operation.label()).get()
}

/// Stores `report` with the views `render` makes of it and sets `report.archived` to
/// whether that worked (the stored report says it is archived). A failure is counted
/// and logged, never returned: the caller answers with the report either way.
pub async fn archive(
    store: &dyn ReportStore,
    report: &mut Report,
    render: impl Fn(&Report) -> Views,
) -> bool {
    report.archived = true;
    match store.put_report(report, render(report)).await {
        Ok(()) => true,
        Err(e) => {
            report.archived = false;
            FAILURES.get_or_create(&Operation::Archive.label()).inc();
            tracing::warn!(report = %report.id, error = %e, "report not archived; answering without it");
            false
        }
    }
}

/// Claims the marker `key`: `true` when the caller should do the work (it won the
/// claim, or the store could not say and at least once beats lost), `false` when
/// someone else already did or is doing it.
pub async fn claim_or_proceed(store: &dyn ReportStore, key: &str) -> bool {
    match store.claim(key).await {
        Ok(Claim::Won) => true,
        Ok(Claim::AlreadyTaken) => false,
        Err(e) => {
            FAILURES.get_or_create(&Operation::Claim.label()).inc();
            tracing::warn!(marker = %key, error = %e, "marker unavailable; processing anyway");
            true
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Memory;
    use crate::test_support::{down, report};

    #[tokio::test]
    async fn archive_marks_and_counts_a_failure() {
        let mut report = report("r1");
        let before = failures(Operation::Archive);
        assert!(!archive(&down(), &mut report, |_| Views::default()).await);
        assert!(!report.archived);
        assert!(failures(Operation::Archive) > before);

        let metrics = Metrics::default();
        register_metrics(&metrics);
        let text = metrics.encode();
        assert!(text.contains("aegis_store_failures_total{operation=\"archive\"}"));
    }

    #[tokio::test]
    async fn archive_stores_and_marks_archived() {
        let store = Memory::default();
        let mut report = report("r2");
        report.archived = false;
        assert!(archive(&store, &mut report, |_| Views::default()).await);
        let stored = store
            .get_report("r2")
            .await
            .expect("memory")
            .expect("stored");
        assert!(stored.archived && report.archived);
    }

    #[tokio::test]
    async fn claims_proceed_when_the_store_is_down() {
        let before = failures(Operation::Claim);
        assert!(claim_or_proceed(&down(), "k").await);
        assert!(failures(Operation::Claim) > before);
        let store = Memory::default();
        assert!(claim_or_proceed(&store, "k").await);
        assert!(!claim_or_proceed(&store, "k").await);
    }
}
