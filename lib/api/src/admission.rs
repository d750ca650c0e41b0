//! What the two analysis functions share (analyze answers the report, analyze-stream
//! streams its progress): the analyzer, the store, the concurrency limit, and how a
//! request is admitted or refused before any work starts.

use std::sync::Arc;
use std::time::Duration;

use aegis_store::ReportStore;
use axum::response::{IntoResponse, Response};
use tokio::sync::OwnedSemaphorePermit;

use crate::request::{self, RequestError};
use crate::slots::{Busy, Slots};
use aegis_analysis::{Analyzer, Settings};
use aegis_core::request::Request;
use aegis_runtime::{BuildError, Context};

/// The state of an analysis function's handlers. Cheap to clone.
#[derive(Clone)]
pub struct Analyses {
    /// Runs the analyses.
    pub analyzer: Analyzer,
    /// Where reports go.
    pub store: Arc<dyn ReportStore>,
    /// The concurrency limit and its queue (`AEGIS_ANALYZE_CONCURRENCY`,
    /// `AEGIS_ANALYZE_QUEUE`, `AEGIS_ANALYZE_QUEUE_WAIT`).
    pub slots: Slots,
    /// The zone pages give times in (`AEGIS_TIMEZONE`).
    pub clock: aegis_core::report::Clock,
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
    /// 429 with `Retry-After`: every slot is taken and the queue is full, or the
    /// wait for a slot ran out.
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

impl Analyses {
    /// The analyses built from `settings`, storing reports in `store`.
    pub fn new(settings: Settings, store: Arc<dyn ReportStore>) -> Self {
        let slots = Slots::new(
            settings.analysis.concurrency,
            settings.analysis.queue,
            settings.analysis.queue_wait,
        );
        let clock = aegis_core::report::Clock(settings.analysis.timezone);
        Self {
            analyzer: Analyzer::from_settings(settings).with_store(store.clone()),
            store,
            slots,
            clock,
        }
    }

    /// The analyses of the analysis function `function` (analyze, analyze-stream): the
    /// analyzer its configuration describes, over the report store the functions of
    /// the process share.
    pub async fn build(ctx: &Context, function: &'static str) -> Result<Self, BuildError> {
        let (settings, store) = ctx.read(function, |env| {
            Ok((
                Settings::from_env(env)?,
                aegis_store::Config::from_env(env)?,
            ))
        })?;
        let store = ctx.shared(function, || aegis_store::open(&store)).await?;
        aegis_store::register_metrics(&ctx.metrics);
        aegis_analysis::register_metrics(&ctx.metrics);
        Ok(Self::new(settings, store))
    }

    /// Parses and validates the HTTP body, received now with `accept_language`, and
    /// takes a slot for it, waiting in the queue when every slot is taken.
    pub async fn admit(
        &self,
        body: &[u8],
        accept_language: Option<&str>,
    ) -> Result<Admitted, Refused> {
        let request = self.parse(body, accept_language)?;
        let slot = self.slots.acquire().await?;
        Ok(Admitted { request, slot })
    }

    /// Parses and validates the HTTP body, received now with `accept_language`, and
    /// takes a slot for it if one is free: for a stream, whose first line cannot wait
    /// for a slot.
    pub fn admit_now(
        &self,
        body: &[u8],
        accept_language: Option<&str>,
    ) -> Result<Admitted, Refused> {
        let request = self.parse(body, accept_language)?;
        let slot = self.slots.try_acquire()?;
        Ok(Admitted { request, slot })
    }

    /// The request in `body`, received now, its answer's language settled.
    fn parse(
        &self,
        body: &[u8],
        accept_language: Option<&str>,
    ) -> Result<aegis_core::request::Request, Refused> {
        let mut request = request::parse(body, &self.analyzer, chrono::Utc::now())?;
        request.language = Some(request::answer_language(&request, accept_language));
        Ok(request)
    }

    /// How long one request may take: the longest wait for a slot plus the longest
    /// analysis, so the host's timeout never cuts one short.
    pub fn timeout(&self) -> Duration {
        self.slots.max_wait() + self.run_timeout()
    }

    /// How long one admitted analysis may take, from its slot to its answer.
    pub fn run_timeout(&self) -> Duration {
        self.analyzer.max_duration() + Duration::from_secs(15)
    }
}
