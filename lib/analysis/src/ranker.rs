use aegis_core::report::Report;
use aegis_core::request::Request;
use aegis_i18n::t;

/// The analyzer without a model: ranks candidates from the signals alone. The
/// analyzer asks it first (its ranking is the agent's starting hypothesis) and falls
/// back to its report when the agent fails.
#[async_trait::async_trait]
pub trait Ranker: Send + Sync {
    /// The report for `request`, under the id `id`. Never fails: what could not be
    /// read is listed in `degraded`.
    async fn analyze(&self, id: &str, request: &Request) -> Report;
}

/// Used when no statistical engine is available: an honest empty report that says
/// why.
#[derive(Debug, Clone)]
pub struct NoRanker {
    /// Why there is no engine.
    pub reason: String,
}

#[async_trait::async_trait]
impl Ranker for NoRanker {
    async fn analyze(&self, id: &str, request: &Request) -> Report {
        empty_report(id, request, &self.reason)
    }
}

/// A report with no candidates, degraded for `reason`, its summary in the request's
/// language.
pub fn empty_report(id: &str, request: &Request, reason: &str) -> Report {
    let language = request.language.unwrap_or_default();
    Report {
        summary: t!(language, "agent-no-cause", reason = reason),
        degraded: vec![reason.to_string()],
        language,
        ..Report::new(id, request.time_range)
    }
}

pub use aegis_core::report::STATISTICAL;

/// The statistical engine (`rca`) reading the configured backends.
#[derive(Debug, Clone)]
pub struct Statistical {
    /// The engine and its limits.
    pub engine: aegis_rca::Engine,
    /// The backends' clients.
    pub tools: aegis_tools::Clients,
    /// The signals to read.
    pub catalog: aegis_rca::SignalCatalog,
    /// The zone the report's text gives times in.
    pub clock: aegis_core::report::Clock,
}

#[async_trait::async_trait]
impl Ranker for Statistical {
    async fn analyze(&self, id: &str, request: &Request) -> Report {
        let mut input = aegis_rca::Input::new(request.time_range, self.catalog.clone());
        input.symptom = Some(request.description.clone());
        input.language = request.language.unwrap_or_default();
        input.alert = request.alert.clone();
        input.clock = self.clock;
        let mut report = self.engine.analyze(&input, &self.tools).await;
        report.id = id.to_string();
        report
    }
}
