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
use aegis_i18n::t;
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
                &t!(request.language.unwrap_or_default(), "agent-engine-late"),
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
        let lang = request.language.unwrap_or_default();
        let agent = Agent {
            client: &client,
            tools: tools.as_ref(),
            redactor: &self.redactor,
            limits,
            progress,
            language: lang,
        };
        let cases = prompt::cases(request, self.settings.analysis.timezone, &engine_report);
        let outcome = agent.run(cases, deadline).await;
        match outcome.answer {
            Ok(mut answer) => {
                if let Some(note) =
                    super::guard::keep_engine_top(&mut answer, &engine_report, &outcome.steps, lang)
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
                // The engine wrote its report in the request's language already.
                report.degraded.insert(
                    0,
                    t!(
                        lang,
                        "agent-fallback",
                        model = provider.alias.as_str(),
                        reason = reason.words(lang)
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
    use std::collections::VecDeque;
    use std::sync::Mutex;

    use aegis_core::report::{Direction, Moved, RootCause, TimeRange};
    use aegis_i18n::Lang;
    use aegis_store::ReportStore;
    use serde_json::{Value, json};

    /// An engine whose every report blames cart for its CPU, in the request's language
    /// (as the statistical engine writes it).
    struct CartCpu;

    #[async_trait::async_trait]
    impl Ranker for CartCpu {
        async fn analyze(&self, id: &str, request: &Request) -> Report {
            let summary = match request.language.unwrap_or_default() {
                Lang::En => "cart is starved of CPU",
                Lang::ZhCn => "cart 的 CPU 不够用",
            };
            Report {
                summary: summary.into(),
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

    fn request(language: Option<Lang>) -> Request {
        Request {
            description: "cart is slow".into(),
            time_range: TimeRange::last(chrono::Utc::now(), 15),
            model: None,
            session_id: None,
            alert: None,
            language,
        }
    }

    /// An OpenAI-compatible model on port 0 answering a script of contents in order
    /// (500 once it is spent), keeping the requests it was sent.
    struct Scripted {
        base_url: String,
        requests: Arc<Mutex<Vec<Value>>>,
    }

    impl Scripted {
        async fn start(script: &[&str]) -> Self {
            let script: Arc<Mutex<VecDeque<String>>> =
                Arc::new(Mutex::new(script.iter().map(|s| s.to_string()).collect()));
            let requests = Arc::new(Mutex::new(Vec::new()));
            let seen = requests.clone();
            let answer = move |body: axum::body::Bytes| {
                let (script, seen) = (script.clone(), seen.clone());
                async move {
                    use axum::response::IntoResponse;
                    let body = serde_json::from_slice(&body).unwrap_or(Value::Null);
                    seen.lock().unwrap().push(body);
                    let next = script.lock().unwrap().pop_front();
                    match next {
                        Some(content) => axum::Json(json!({
                            "object": "chat.completion",
                            "choices": [{"index": 0, "finish_reason": "stop",
                                         "message": {"role": "assistant", "content": content}}],
                            "usage": {"prompt_tokens": 100, "completion_tokens": 20},
                        }))
                        .into_response(),
                        None => axum::http::StatusCode::INTERNAL_SERVER_ERROR.into_response(),
                    }
                }
            };
            let app =
                axum::Router::new().route("/v1/chat/completions", axum::routing::post(answer));
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let base_url = format!("http://{}/v1", listener.local_addr().unwrap());
            tokio::spawn(async move { axum::serve(listener, app).await });
            Self { base_url, requests }
        }

        /// An analyzer whose model is this one, with no tools and the [`CartCpu`] engine.
        fn analyzer(&self) -> Analyzer {
            let vars = HashMap::from([
                ("AEGIS_LLM_BASE_URL", self.base_url.as_str()),
                ("AEGIS_LLM_MODEL", "scripted-model"),
                ("AEGIS_LLM_TIMEOUT", "30s"),
                ("AEGIS_ANALYSIS_BUDGET", "90s"),
            ]);
            let lookup = |k: &str| vars.get(k).map(|v| v.to_string());
            let settings = Settings::from_env(&aegis_core::config::Env::new(&lookup)).unwrap();
            Analyzer::new(settings, Arc::new(NoTools), Arc::new(CartCpu)).with_retry(llm::Retry {
                attempts: 1,
                first_backoff: Duration::from_millis(10),
                max_wait: Duration::from_secs(1),
            })
        }

        /// The messages of every request, as text.
        fn messages(&self) -> Vec<String> {
            let requests = self.requests.lock().unwrap();
            requests.iter().map(|r| r["messages"].to_string()).collect()
        }
    }

    /// A final answer with no candidate (no tool ran, so none could be supported).
    fn answer(summary: &str) -> String {
        json!({"summary": summary, "ranked_root_causes": [], "next_actions": []}).to_string()
    }

    const ENGLISH: &str = "cart ran out of CPU from 10:02; the data shows nothing else";
    const CHINESE: &str = "cart 从 10:02 起 CPU 不足，数据中没有其他异常";

    #[tokio::test]
    async fn a_chinese_question_answered_in_english_is_corrected_into_a_chinese_report() {
        let model = Scripted::start(&[&answer(ENGLISH), &answer(CHINESE)]).await;
        let report = model
            .analyzer()
            .run("zh-1", &request(Some(Lang::ZhCn)), &Progress::none())
            .await;
        let messages = model.messages();
        assert_eq!(messages.len(), 2, "{messages:?}");
        assert!(
            messages[0].contains("next_actions in Simplified Chinese"),
            "the system prompt names the language: {}",
            messages[0]
        );
        assert!(
            messages[1].contains("answer again in Chinese"),
            "the correction: {}",
            messages[1]
        );
        assert!(report.degraded.is_empty(), "{:?}", report.degraded);
        assert_eq!(report.model, "custom", "the answer is the model's");
        assert_eq!(report.language, Lang::ZhCn);
        assert!(report.summary.starts_with(CHINESE), "{}", report.summary);
        // The guard kept the engine's candidate, and says so in Chinese.
        assert_eq!(report.ranked_root_causes[0].service, "cart");
        assert!(
            report.summary.contains("保留统计引擎的排序"),
            "{}",
            report.summary
        );
        assert_eq!(Lang::of_text(&report.summary), Lang::ZhCn);
    }

    #[tokio::test]
    async fn a_model_that_keeps_answering_in_english_gives_way_to_the_engine_s_chinese_report() {
        let model = Scripted::start(&[&answer(ENGLISH), &answer(ENGLISH)]).await;
        let report = model
            .analyzer()
            .run("zh-2", &request(Some(Lang::ZhCn)), &Progress::none())
            .await;
        assert_eq!(model.messages().len(), 2, "one correction, no more");
        assert_eq!(report.model, STATISTICAL);
        assert_eq!(report.language, Lang::ZhCn);
        assert_eq!(report.summary, "cart 的 CPU 不够用", "the engine's report");
        let note = &report.degraded[0];
        assert!(
            note.starts_with("LLM 智能体（custom）没有给出有效回答：")
                && note.contains("统计引擎的报告"),
            "{note}"
        );
    }

    #[tokio::test]
    async fn an_english_question_gets_an_english_note_when_the_model_fails() {
        let model = Scripted::start(&[]).await;
        let report = model
            .analyzer()
            .run("en-1", &request(None), &Progress::none())
            .await;
        assert_eq!(report.language, Lang::En);
        assert_eq!(report.summary, "cart is starved of CPU");
        assert!(
            report.degraded[0].starts_with("LLM agent (custom) gave no valid answer: ")
                && report.degraded[0].ends_with("this is the statistical engine's report"),
            "{:?}",
            report.degraded
        );
    }

    #[tokio::test]
    async fn an_archived_report_names_the_stored_incidents_like_it() {
        let analyzer = Analyzer::new(Settings::for_test(), Arc::new(NoTools), Arc::new(CartCpu));
        let store = aegis_store::Memory::default();
        let request = request(None);
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
