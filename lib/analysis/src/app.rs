//! What the two analysis functions share (analyze answers the report, analyze-stream
//! streams its progress): the analyzer, the store, the concurrency limit, and how a
//! request is admitted or refused before any work starts.

use std::sync::Arc;
use std::time::Duration;

use aegis_store::ReportStore;
use axum::response::{IntoResponse, Response};
use tokio::sync::OwnedSemaphorePermit;

use crate::api::{self, RequestError};
use crate::{Analyzer, Busy, Request, Settings, Slots};

/// The state of an analysis function's handlers. Cheap to clone.
#[derive(Clone)]
pub struct App {
    /// Runs the analyses.
    pub analyzer: Analyzer,
    /// Where reports go.
    pub store: Arc<dyn ReportStore>,
    /// The concurrency limit (`AEGIS_ANALYZE_CONCURRENCY`).
    pub slots: Slots,
}

/// An admitted request and the slot it holds while it runs.
pub struct Admitted {
    /// The validated request.
    pub request: Request,
    /// Its slot; dropping it frees the slot.
    pub slot: OwnedSemaphorePermit,
}

/// Why a request was refused before any work started.
#[derive(Debug, thiserror::Error)]
pub enum Refused {
    /// 400/422: what is wrong with the request.
    #[error(transparent)]
    Request(#[from] RequestError),
    /// 429 with `Retry-After`: every slot is taken.
    #[error(transparent)]
    Busy(#[from] Busy),
}

impl IntoResponse for Refused {
    fn into_response(self) -> Response {
        match self {
            Self::Request(e) => e.into_response(),
            Self::Busy(e) => e.into_response(),
        }
    }
}

impl App {
    /// The app built from `settings`, storing reports in `store`.
    pub fn new(settings: Settings, store: Arc<dyn ReportStore>) -> Self {
        let slots = Slots::new(settings.analysis.concurrency);
        Self {
            analyzer: Analyzer::from_settings(settings).with_store(store.clone()),
            store,
            slots,
        }
    }

    /// Parses and validates the HTTP body, received now, and takes a slot for it.
    pub fn admit(&self, body: &[u8]) -> Result<Admitted, Refused> {
        let request = api::parse(body, &self.analyzer, chrono::Utc::now())?;
        let slot = self.slots.try_acquire()?;
        Ok(Admitted { request, slot })
    }

    /// How long one request may take: longer than any analysis, so the host's
    /// timeout never cuts one short.
    pub fn timeout(&self) -> Duration {
        self.analyzer.max_duration() + Duration::from_secs(15)
    }
}
