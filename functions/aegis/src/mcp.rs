//! `aegis mcp`: Aegis's read-only engine as a Model Context Protocol server, so Claude,
//! Cursor, HolmesGPT or kagent can use it. The tools are the ones the agent has: the
//! read-only Prometheus, Loki and Jaeger catalog, `rank_root_causes` (the statistical
//! engine) and `search_past_incidents` (the report store), and `list_incidents`
//! (the incidents alert groups were joined into, with their timelines). Nothing here writes
//! anywhere but the past-incident entries the search rebuilds; every backend call goes
//! through the same read-only allowlist as the rest.
//!
//! Over stdio (the default: the client starts `aegis mcp`) or streamable HTTP
//! (`--http ADDR`, at `/mcp`).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CallToolResult, ContentBlock, Implementation,
    JsonObject, ListToolsResult, PaginatedRequestParams, ServerCapabilities, ServerConfig,
    ToolAnnotations,
};
use rmcp::service::{MaybeSendFuture, RequestContext, RoleServer};
use rmcp::{ErrorData, ServerHandler, ServiceExt};

use aegis_analysis::{Ranker, Redactor, past_tool, rank_tool};
use aegis_core::report::TimeRange;
use aegis_core::request::Request;
use aegis_store::ReportStore;
use aegis_tools::catalog::{Catalog, Tool};

/// The range `rank_root_causes` and the backend tools read when the caller gives none.
const DEFAULT_MINUTES: i64 = 15;

/// `aegis mcp [--http ADDR] [--allow-host NAME]...`: configuration from the
/// environment, as every function reads it.
pub async fn run(http: Option<SocketAddr>, allow_hosts: Vec<String>) -> anyhow::Result<()> {
    let config = aegis_analysis::Settings::from_env(&aegis_core::config::Env::new(&|name| {
        std::env::var(name).ok()
    }))?;
    let store = crate::config::store().await?;
    let clients = aegis_tools::Clients::new(&config.tools)?;
    let engine: Option<Arc<dyn Ranker>> = match aegis_rca::SignalCatalog::from_config(&config.tools)
    {
        Ok(catalog) => Some(Arc::new(aegis_analysis::Statistical {
            engine: aegis_rca::Engine::default(),
            tools: clients.clone(),
            catalog,
            clock: aegis_core::report::Clock(config.analysis.timezone),
        })),
        Err(e) => {
            tracing::warn!(error = %e, "the signal catalog cannot be read: rank_root_causes is not offered");
            None
        }
    };
    let budget = (config.analysis.budget / 4).min(Duration::from_secs(60));
    let server = Server::new(
        tools(&clients, engine, store, budget),
        config
            .secrets
            .iter()
            .map(|s| s.expose().to_string())
            .collect(),
    );
    match http {
        None => {
            let running = server.serve(rmcp::transport::stdio()).await?;
            running.waiting().await?;
            Ok(())
        }
        Some(addr) => serve_http(server, addr, allow_hosts).await,
    }
}

/// The tools `aegis mcp` offers: the backends' read-only catalog (default range: the
/// last 15 minutes at call time), `rank_root_causes` when `engine` is given, and
/// `search_past_incidents` over `store`.
pub fn tools(
    clients: &aegis_tools::Clients,
    engine: Option<Arc<dyn Ranker>>,
    store: Arc<dyn ReportStore>,
    budget: Duration,
) -> Catalog {
    let mut catalog = aegis_tools::catalog(clients);
    if let Some(engine) = engine {
        catalog.add(Arc::new(RankNow { engine, budget }));
    }
    catalog.add(past_tool::tool(store.clone(), None));
    catalog.add(incidents_tool(store));
    catalog
}

/// Arguments of `list_incidents`.
#[derive(Debug, serde::Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
struct IncidentArgs {
    /// One incident's id (`inc-...`): its alerts, analyses and timeline. Without it,
    /// the latest incidents.
    id: Option<String>,
    /// How many incidents to list, 1-50. Default 10.
    limit: Option<usize>,
}

/// `list_incidents`: read-only, over the report store's incident log.
fn incidents_tool(store: Arc<dyn ReportStore>) -> Arc<dyn Tool> {
    let incidents = aegis_incident::Incidents::new(store, aegis_incident::Rule::default());
    aegis_tools::catalog::tool(
        "list_incidents",
        "List the incidents Aegis joined related alert groups into, newest first: status \
         (firing/resolved), severity, services, alerts firing and resolved, since when, and \
         the latest analysis' most likely cause. With an id, that incident's alerts and its \
         timeline (alert groups, analyses, resolution) in order.",
        move |a: IncidentArgs| {
            let incidents = incidents.clone();
            async move {
                let unavailable = |e: aegis_incident::Error| aegis_tools::Error::Tool {
                    tool: "list_incidents".into(),
                    message: format!("the incidents cannot be read: {e}"),
                };
                let text = match a.id {
                    Some(id) => match incidents.get(id.trim()).await.map_err(unavailable)? {
                        Some(incident) => serde_json::to_string_pretty(&incident),
                        None => {
                            return Err(aegis_tools::Error::Invalid(format!(
                                "no incident with id {id:?}"
                            )));
                        }
                    },
                    None => {
                        let limit = a.limit.unwrap_or(10);
                        if !(1..=50).contains(&limit) {
                            return Err(aegis_tools::Error::Invalid(format!(
                                "limit must be 1 to 50, not {limit}"
                            )));
                        }
                        let listed = incidents.list(limit).await.map_err(unavailable)?;
                        serde_json::to_string_pretty(&listed)
                    }
                };
                text.map_err(|e| aegis_tools::Error::Invalid(e.to_string()))
            }
        },
    )
}

/// `rank_root_causes` over a range the caller gives, by default the last 15 minutes
/// at call time (the agent's version defaults to its analysis's range).
struct RankNow {
    engine: Arc<dyn Ranker>,
    budget: Duration,
}

impl RankNow {
    fn tool_for_now(&self) -> Arc<dyn Tool> {
        let request = Request {
            description: "the incident in this range".into(),
            time_range: TimeRange::last(chrono::Utc::now(), DEFAULT_MINUTES),
            model: None,
            session_id: None,
            alert: None,
            language: None,
        };
        rank_tool::tool(self.engine.clone(), request, self.budget)
    }
}

#[async_trait::async_trait]
impl Tool for RankNow {
    fn name(&self) -> &str {
        rank_tool::NAME
    }

    fn description(&self) -> &str {
        "Rank every service of the cluster as the root cause of an incident with Aegis's \
         statistical engine: how far each service's metrics, error logs and traces departed \
         from its own baseline, preferring the deepest anomalous callee, with probabilities \
         and the exact queries that show the evidence. start/end default to the last 15 \
         minutes; start at least 5 minutes before the fault (the first part of the range is \
         the baseline). Read-only; takes seconds."
    }

    fn parameters(&self) -> serde_json::Value {
        aegis_tools::catalog::schema_of::<rank_tool::RankArgs>()
    }

    async fn call(&self, args: serde_json::Value) -> Result<String, aegis_tools::Error> {
        self.tool_for_now().call(args).await
    }
}

/// The MCP server over a tool catalog. Cheap to clone (one per HTTP session).
#[derive(Clone)]
pub struct Server {
    tools: Arc<Catalog>,
    redactor: Arc<Redactor>,
}

impl Server {
    /// A server offering `tools`, keeping `secrets` out of every answer.
    pub fn new(tools: Catalog, secrets: Vec<String>) -> Self {
        Self {
            tools: Arc::new(tools),
            redactor: Arc::new(Redactor::new(secrets)),
        }
    }

    fn list(&self) -> Vec<rmcp::model::Tool> {
        self.tools
            .iter()
            .map(|t| {
                let schema: JsonObject = match t.parameters() {
                    serde_json::Value::Object(o) => o,
                    _ => JsonObject::new(),
                };
                rmcp::model::Tool::new(t.name().to_string(), t.description().to_string(), schema)
                    .annotate(
                        ToolAnnotations::new()
                            .read_only(true)
                            .destructive(false)
                            .idempotent(true),
                    )
            })
            .collect()
    }

    async fn call(&self, params: CallToolRequestParams) -> Result<CallToolResult, ErrorData> {
        let Some(tool) = self.tools.get(&params.name) else {
            return Err(ErrorData::invalid_params(
                format!(
                    "no tool named {:?}; the tools are: {}",
                    params.name,
                    self.tools.names().join(", ")
                ),
                None,
            ));
        };
        let args = params
            .arguments
            .map_or(serde_json::json!({}), serde_json::Value::Object);
        // A failing tool is a result the model reads (isError), not a protocol error:
        // the message says what to change.
        Ok(match tool.call(args).await {
            Ok(text) => {
                CallToolResult::success(vec![ContentBlock::text(self.redactor.redact(&text))])
            }
            Err(e) => CallToolResult::error(vec![ContentBlock::text(
                self.redactor.redact(&e.to_string()),
            )]),
        })
    }
}

impl ServerHandler for Server {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
            .with_server_info(Implementation::new("aegis", env!("CARGO_PKG_VERSION")))
            .with_instructions(
                "Aegis: read-only root-cause analysis for Kubernetes. Call rank_root_causes \
                 for a ranking of the services over a range, search_past_incidents for \
                 stored incidents that blamed the same services, list_incidents for the \
                 incidents alerts were joined into, and the prometheus_*, \
                 loki_* and jaeger_* tools to read the evidence. Nothing changes the cluster.",
            )
    }

    fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> impl Future<Output = Result<ListToolsResult, ErrorData>> + MaybeSendFuture + '_ {
        std::future::ready(Ok(ListToolsResult::with_all_items(self.list())))
    }

    // rmcp's signature spelled out, as for list_tools, so the future's bounds are the
    // trait's (`MaybeSendFuture`) rather than inferred.
    #[allow(clippy::manual_async_fn)]
    fn call_tool(
        &self,
        request: CallToolRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> impl Future<Output = Result<CallToolResponse, ErrorData>> + MaybeSendFuture + '_ {
        async move { self.call(request).await.map(CallToolResponse::from) }
    }
}

/// Streamable HTTP at `/mcp` on `addr`, until SIGINT or SIGTERM. Only requests whose
/// `Host` is a loopback name or one of `allow_hosts` are served (DNS rebinding).
async fn serve_http(
    server: Server,
    addr: SocketAddr,
    allow_hosts: Vec<String>,
) -> anyhow::Result<()> {
    use rmcp::transport::streamable_http_server::{
        StreamableHttpServerConfig, StreamableHttpService, session::local::LocalSessionManager,
    };
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| anyhow::anyhow!("cannot listen on {addr}: {e}"))?;
    let mut config = StreamableHttpServerConfig::default();
    config.allowed_hosts.extend(allow_hosts);
    let cancel = config.cancellation_token.clone();
    let service = StreamableHttpService::new(
        move || Ok(server.clone()),
        Arc::new(LocalSessionManager::default()),
        config,
    );
    let app = axum::Router::new().nest_service("/mcp", service);
    // The line a supervisor (or a test) waits for; stdout stays free for nothing else.
    eprintln!(
        "aegis mcp: streamable HTTP at http://{}/mcp",
        listener.local_addr()?
    );
    axum::serve(listener, app)
        .with_graceful_shutdown(async move {
            aegis_runtime::shutdown_signal().await;
            cancel.cancel();
        })
        .await?;
    Ok(())
}
