use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::agent::{Agent, Limits};
use super::progress::{Progress, ProgressEvent};
use super::ranker::{NoRanker, Ranker, STATISTICAL};
use super::toolset::{NoTools, ToolSet};
use super::{Settings, prompt};
use aegis_core::redact::Redactor;
use aegis_core::report::{Report, Trace};
use aegis_core::request::Request;
use aegis_llm as llm;

/// Runs analyses: the LLM agent when a model is configured (the request's alias, else
/// `DEFAULT_MODEL`), else the statistical engine; the engine's report is also the
/// agent's starting hypothesis and its fallback. Used by analyze, analyze-stream and
/// `aegis demo`. Cheap to clone.
#[derive(Clone)]
pub struct Analyzer {
    settings: Arc<Settings>,
    tools: Tools,
    engine: Arc<dyn Ranker>,
    redactor: Arc<Redactor>,
    retry: Option<llm::Retry>,
    limits: Limits,
    /// Context sizes by alias, asked once per process (a server that did not answer
    /// and has no setting is asked again next time).
    windows: Arc<std::sync::Mutex<HashMap<String, u64>>>,
    store: Option<Arc<dyn aegis_store::ReportStore>>,
}

/// Where the agent's tools come from.
#[derive(Clone)]
enum Tools {
    /// A fixed set (tests, benchmarks).
    Fixed(Arc<dyn ToolSet>),
    /// The configured backends; each analysis gets their catalog over its own range,
    /// plus `rank_root_causes` (the engine as a tool) when `rank` is set.
    Backends {
        /// The backends' clients.
        tools: Box<aegis_tools::Clients>,
        /// Whether the statistical engine can read them (its signal catalog loaded).
        rank: bool,
    },
}

/// A model alias that is not configured.
#[derive(Debug, Clone, thiserror::Error)]
#[error("unknown model {alias:?}; known models: {}", .known.join(", "))]
pub struct UnknownModel {
    /// What was asked for.
    pub alias: String,
    /// The configured aliases.
    pub known: Vec<String>,
}

impl Analyzer {
    /// The analyzer of a function: the tools and engine built from its settings.
    pub fn from_settings(settings: Settings) -> Self {
        let config = &settings;
        let (tools, engine): (Tools, Arc<dyn Ranker>) =
            match aegis_tools::Clients::new(&config.tools) {
                Err(e) => {
                    tracing::error!(error = %e, "observability tools unavailable");
                    let reason = format!("observability tools unavailable: {e}");
                    (
                        Tools::Fixed(Arc::new(NoTools)),
                        Arc::new(NoRanker { reason }),
                    )
                }
                Ok(tools) => {
                    let (engine, rank): (Arc<dyn Ranker>, bool) =
                        match aegis_rca::SignalCatalog::from_config(&config.tools) {
                            Ok(catalog) => (
                                Arc::new(super::ranker::Statistical {
                                    engine: aegis_rca::Engine::default(),
                                    tools: tools.clone(),
                                    catalog,
                                    clock: aegis_core::report::Clock(config.analysis.timezone),
                                }),
                                true,
                            ),
                            Err(e) => (
                                Arc::new(NoRanker {
                                    reason: format!("the signal catalog could not be read: {e}"),
                                }),
                                false,
                            ),
                        };
                    let tools = Tools::Backends {
                        tools: Box::new(tools),
                        rank,
                    };
                    (tools, engine)
                }
            };
        let mut analyzer = Self::new(settings.clone(), Arc::new(NoTools), engine);
        analyzer.tools = tools;
        analyzer
    }

    /// An analyzer with the given tools and engine (tests, benchmarks, the demo).
    pub fn new(settings: Settings, tools: Arc<dyn ToolSet>, engine: Arc<dyn Ranker>) -> Self {
        // The backends' redactor adds their basic-auth pairs as a header carries them.
        let redactor = Arc::new(
            settings
                .tools
                .redactor()
                .with(settings.secrets.iter().map(|s| s.expose().to_string())),
        );
        let limits = Limits::from_config(&settings.analysis);
        Self {
            settings: Arc::new(settings),
            tools: Tools::Fixed(tools),
            engine,
            redactor,
            retry: None,
            limits,
            windows: Arc::default(),
            store: None,
        }
    }

    /// Replaces the model-call retry policy (tests keep backoffs short).
    pub fn with_retry(mut self, retry: llm::Retry) -> Self {
        self.retry = Some(retry);
        self
    }

    /// Gives the agent `search_past_incidents` over `store` (the store its reports go
    /// to).
    pub fn with_store(mut self, store: Arc<dyn aegis_store::ReportStore>) -> Self {
        self.store = Some(store);
        self
    }

    /// Replaces the agent's bounds.
    pub fn with_limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    /// What it was built from.
    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// The provider a request would use: `None` for the statistical engine.
    pub fn provider_for(&self, request: &Request) -> Result<Option<&llm::Provider>, UnknownModel> {
        let llm = &self.settings.llm;
        let alias = match request
            .model
            .as_deref()
            .map(str::trim)
            .filter(|m| !m.is_empty())
        {
            Some(a) => a.to_string(),
            None => match &llm.default_model {
                Some(d) => d.clone(),
                None => return Ok(None),
            },
        };
        if alias.eq_ignore_ascii_case(STATISTICAL) {
            return Ok(None);
        }
        llm.provider(&alias).map(Some).ok_or_else(|| UnknownModel {
            alias,
            known: llm
                .aliases()
                .into_iter()
                .map(String::from)
                .chain([STATISTICAL.to_string()])
                .collect(),
        })
    }

    /// Longest time one analysis takes: the budget, plus the engine's share when the
    /// agent falls back at the very end. Functions set their timeout from it.
    pub fn max_duration(&self) -> Duration {
        self.settings.analysis.budget + self.engine_budget()
    }

    fn engine_budget(&self) -> Duration {
        (self.settings.analysis.budget / 4).min(Duration::from_secs(60))
    }

    /// Analyses `request` under the id `id`. Never fails: a failing model or budget
    /// gives the engine's report marked `degraded` with the reason. Emits `start`,
    /// the agent's events and `final` (the caller adds `end`).
    pub async fn run(&self, id: &str, request: &Request, progress: &Progress) -> Report {
        let report = self.analyze(id, request, progress).await;
        progress.emit(ProgressEvent::Final {
            report: Box::new(report.clone()),
        });
        report
    }

    /// Like [`Analyzer::run`], and stores the report before `final` is emitted
    /// (archive or degrade: `archived` says whether the store took it), with the
    /// closest past incidents of the store in `similar`.
    pub async fn run_archived(
        &self,
        id: &str,
        request: &Request,
        progress: &Progress,
        store: &dyn aegis_store::ReportStore,
    ) -> Report {
        let mut report = self.analyze(id, request, progress).await;
        report.similar = similar_incidents(store, &report).await;
        aegis_store::archive(store, &mut report, aegis_view::views).await;
        progress.emit(ProgressEvent::Final {
            report: Box::new(report.clone()),
        });
        report
    }

    async fn analyze(&self, id: &str, request: &Request, progress: &Progress) -> Report {
        let started = Instant::now();
        let provider = self.provider_for(request);
        let model = match &provider {
            Ok(Some(p)) => p.alias.clone(),
            _ => STATISTICAL.to_string(),
        };
        progress.emit(ProgressEvent::Start {
            id: id.to_string(),
            description: request.description.clone(),
            time_range: request.time_range,
            model: model.clone(),
        });
        let deadline = tokio::time::Instant::now() + self.settings.analysis.budget;
        let mut engine_report = match tokio::time::timeout(
            self.engine_budget(),
            self.engine.analyze(id, request),
        )
        .await
        {
            Ok(r) => r,
            Err(_) => super::ranker::empty_report(
                id,
                request,
                "the statistical engine did not finish within its share of the budget",
            ),
        };
        let mut report = match provider {
            Err(unknown) => {
                engine_report.degraded.insert(0, unknown.to_string());
                engine_report
            }
            Ok(None) => engine_report,
            Ok(Some(p)) => {
                self.with_agent(p, id, request, engine_report, progress, deadline)
                    .await
            }
        };
        report.id = id.to_string();
        report.time_range = request.time_range;
        report.duration_ms = started.elapsed().as_millis() as u64;
        report.timezone = self.settings.analysis.timezone.name().into();
        report.language = request.language.unwrap_or_default();
        super::metrics::record(&report);
        report
    }

    /// The model's context: the server's word (asked once per alias), else the
    /// provider's setting.
    async fn context_window(&self, client: &llm::Client) -> Option<u64> {
        let alias = client.provider().alias.clone();
        let known = self
            .windows
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&alias)
            .copied();
        if known.is_some() {
            return known;
        }
        let window = client.context_window().await?;
        self.windows
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(alias, window);
        Some(window)
    }

    async fn with_agent(
        &self,
        provider: &llm::Provider,
        id: &str,
        request: &Request,
        engine_report: Report,
        progress: &Progress,
        deadline: tokio::time::Instant,
    ) -> Report {
        let mut client = llm::Client::new(provider.clone(), self.settings.llm.timeout);
        if let Some(retry) = self.retry {
            client = client.with_retry(retry);
        }
        let tools: Arc<dyn ToolSet> = match &self.tools {
            Tools::Fixed(t) => t.clone(),
            Tools::Backends { tools, rank } => {
                let range = request.time_range;
                let mut catalog = aegis_tools::catalog_for(
                    tools,
                    aegis_tools::catalog::window(range.start, range.end),
                );
                if let Some(store) = &self.store {
                    catalog.add(super::past_tool::tool(store.clone(), Some(id.to_string())));
                }
                if *rank {
                    catalog.add(super::rank_tool::tool(
                        self.engine.clone(),
                        request.clone(),
                        self.engine_budget(),
                    ));
                }
                Arc::new(catalog)
            }
        };
        let mut limits = self.limits;
        limits.context_window = self.context_window(&client).await;
        limits.max_tokens = self.settings.llm.max_tokens;
        let agent = Agent {
            client: &client,
            tools: tools.as_ref(),
            redactor: &self.redactor,
            limits,
            progress,
        };
        let cases = prompt::cases(request, self.settings.analysis.timezone, &engine_report);
        let outcome = agent.run(cases, deadline).await;
        match outcome.answer {
            Ok(mut answer) => {
                if let Some(note) =
                    super::guard::keep_engine_top(&mut answer, &engine_report, &outcome.steps)
                {
                    tracing::info!(analysis = %id, model = %provider.alias, %note, "model ranking adjusted");
                    answer.summary = format!("{} {note}", answer.summary.trim_end());
                }
                let degraded = outcome
                    .steps
                    .iter()
                    .zip(&outcome.ok)
                    .filter(|(_, ok)| !**ok)
                    .map(|(s, _)| {
                        format!(
                            "step {} ({}) failed: {}",
                            s.index,
                            s.tool,
                            s.observation.chars().take(200).collect::<String>()
                        )
                    })
                    .collect();
                Report {
                    summary: answer.summary,
                    ranked_root_causes: answer.ranked_root_causes,
                    next_actions: answer.next_actions,
                    trace: Trace {
                        steps: outcome.steps,
                    },
                    model: provider.alias.clone(),
                    usage: outcome.usage,
                    degraded,
                    timezone: engine_report.timezone.clone(),
                    call_graph: engine_report.call_graph.clone(),
                    feedback: None,
                    // The engine measured the same range: its account of what moved
                    // fingerprints the agent's report too.
                    moved: engine_report.moved,
                    ..Report::new(id, request.time_range)
                }
            }
            Err(reason) => {
                tracing::warn!(analysis = %id, model = %provider.alias, %reason, "agent failed; using the statistical report");
                let mut report = engine_report;
                report.degraded.insert(
                    0,
                    format!(
                        "LLM agent ({}) gave no valid answer: {reason}; this is the statistical engine's report",
                        provider.alias
                    ),
                );
                report.usage.prompt_tokens += outcome.usage.prompt_tokens;
                report.usage.completion_tokens += outcome.usage.completion_tokens;
                report.usage.tool_calls += outcome.usage.tool_calls;
                report
            }
        }
    }
}

/// The store's closest past incidents to `report` (none when its evidence is empty, or
/// the store cannot say within a few seconds: the analysis answers without them).
async fn similar_incidents(
    store: &dyn aegis_store::ReportStore,
    report: &Report,
) -> Vec<aegis_core::report::SimilarIncident> {
    let fingerprint = aegis_similar::Fingerprint::of(report);
    if fingerprint.is_empty() {
        return Vec::new();
    }
    let query = aegis_similar::Query::Like(fingerprint);
    let search = store.similar(
        &query,
        Some(&report.id),
        aegis_similar::SHOWN,
        aegis_similar::MIN_SIMILARITY,
    );
    match tokio::time::timeout(SIMILAR_BUDGET, search).await {
        Ok(Ok(found)) => found,
        Ok(Err(e)) => {
            tracing::warn!(analysis = %report.id, error = %e, "past-incident search failed; the report has none");
            Vec::new()
        }
        Err(_) => {
            tracing::warn!(analysis = %report.id, "past-incident search timed out; the report has none");
            Vec::new()
        }
    }
}

/// How long the past-incident search may add to an analysis.
const SIMILAR_BUDGET: Duration = Duration::from_secs(5);

#[cfg(test)]
mod tests {
    use super::*;
    use aegis_core::report::{Direction, Moved, RootCause, TimeRange};
    use aegis_store::ReportStore;

    /// An engine whose every report blames cart for its CPU.
    struct CartCpu;

    #[async_trait::async_trait]
    impl Ranker for CartCpu {
        async fn analyze(&self, id: &str, request: &Request) -> Report {
            Report {
                summary: "cart is starved of CPU".into(),
                ranked_root_causes: vec![RootCause::new(1, "cart", 0.8)],
                moved: vec![Moved {
                    service: "cart".into(),
                    signal: "metric:cpu_seconds_rate".into(),
                    direction: Direction::Up,
                }],
                ..Report::new(id, request.time_range)
            }
        }
    }

    #[tokio::test]
    async fn an_archived_report_names_the_stored_incidents_like_it() {
        let analyzer = Analyzer::new(Settings::for_test(), Arc::new(NoTools), Arc::new(CartCpu));
        let store = aegis_store::Memory::default();
        let request = Request {
            description: "cart is slow".into(),
            time_range: TimeRange::last(chrono::Utc::now(), 15),
            model: None,
            session_id: None,
            alert: None,
            language: None,
        };
        let progress = Progress::none();
        let first = analyzer
            .run_archived("first", &request, &progress, &store)
            .await;
        assert!(first.similar.is_empty(), "nothing stored before it");
        let second = analyzer
            .run_archived("second", &request, &progress, &store)
            .await;
        assert_eq!(second.similar.len(), 1, "{:?}", second.similar);
        assert_eq!(second.similar[0].id, "first");
        assert_eq!(second.similar[0].similarity, 1.0);
        let stored = store.get_report("second").await.unwrap().unwrap();
        assert_eq!(
            stored.similar, second.similar,
            "stored with its past incidents"
        );
    }
}
