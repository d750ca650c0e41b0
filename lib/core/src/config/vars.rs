//! The table of every environment variable Aegis reads. `docs/configuration.md` is
//! generated from it (`aegis config reference`) and a test keeps the two in step.

/// One environment variable.
#[derive(Debug, Clone, Copy)]
pub struct Variable {
    /// Its name.
    pub name: &'static str,
    /// The value used when it is unset, as a person would write it.
    pub default: &'static str,
    /// Whether it holds a secret (masked in every output).
    pub secret: bool,
    /// What it does.
    pub doc: &'static str,
}

const fn var(name: &'static str, default: &'static str, doc: &'static str) -> Variable {
    Variable {
        name,
        default,
        secret: false,
        doc,
    }
}

const fn secret(name: &'static str, doc: &'static str) -> Variable {
    Variable {
        name,
        default: "",
        secret: true,
        doc,
    }
}

/// Every variable, grouped by domain. Add a row here before reading a new name.
pub const VARIABLES: &[Variable] = &[
    // runtime
    var("PORT", "8080", "Port to listen on (Knative sets it)."),
    var(
        "AEGIS_BODY_LIMIT",
        "1MiB",
        "Largest request body any handler accepts; larger bodies get 413.",
    ),
    var(
        "AEGIS_REQUEST_TIMEOUT",
        "30s",
        "Longest time a non-streaming request may take before 503 (analysis routes use the analysis budget).",
    ),
    var(
        "AEGIS_SHUTDOWN_GRACE",
        "20s",
        "On SIGTERM, how long in-flight requests may run before the process exits; never less than the function's own request timeout (analyze: the analysis budget and 15 s).",
    ),
    var(
        "AEGIS_HEADER_READ_TIMEOUT",
        "10s",
        "Longest a connection may take to send a request's headers (from opening, or from its last response): half-sent requests and idle keep-alive connections are closed.",
    ),
    var("AEGIS_LOG_FORMAT", "json", "Log format: json or text."),
    var(
        "RUST_LOG",
        "info",
        "Log filter (tracing-subscriber EnvFilter syntax).",
    ),
    var(
        "OTEL_EXPORTER_OTLP_ENDPOINT",
        "",
        "OTLP/HTTP endpoint; when set, traces are exported there.",
    ),
    var(
        "OTEL_SERVICE_NAME",
        "",
        "Service name on exported traces (default: the function name).",
    ),
    var(
        "K_SERVICE",
        "",
        "Knative service name (set by Knative; used in logs).",
    ),
    var(
        "AWS_LAMBDA_RUNTIME_API",
        "",
        "Set by AWS Lambda; when present the function runs under lambda_http.",
    ),
    // events
    var(
        "K_SINK",
        "",
        "Where published events go (injected by a SinkBinding or set to the Broker's URL).",
    ),
    var(
        "K_CE_OVERRIDES",
        "",
        "JSON {\"extensions\":{...}} applied to every published event (injected by a SinkBinding).",
    ),
    var(
        "AEGIS_SINK_RETRIES",
        "3",
        "Retries of a failed publish (connection error, 5xx, 429) before the caller is told.",
    ),
    var(
        "AEGIS_SINK_TIMEOUT",
        "5s",
        "Timeout of one publish attempt.",
    ),
    // feishu
    var(
        "FEISHU_BASE_URL",
        "https://open.feishu.cn",
        "Feishu or Lark open-platform base URL (https://open.larksuite.com for Lark).",
    ),
    var(
        "FEISHU_APP_ID",
        "",
        "The Feishu app's App ID; without it and the secret, cards are printed to the console.",
    ),
    secret("FEISHU_APP_SECRET", "The Feishu app's App Secret."),
    secret(
        "FEISHU_VERIFICATION_TOKEN",
        "Verification Token of the HTTP callback mode.",
    ),
    secret(
        "FEISHU_ENCRYPT_KEY",
        "Encrypt Key of the HTTP callback mode.",
    ),
    var(
        "FEISHU_DEFAULT_CHAT_ID",
        "",
        "Chat that receives alert cards when no route matches.",
    ),
    var(
        "AEGIS_CHAT_ROUTES",
        "",
        "Label-based routing of alert cards: `label=value:chat_id` pairs, comma-separated, first match wins.",
    ),
    var(
        "AEGIS_MENTION_ALL",
        "true",
        "Whether firing alert cards @all.",
    ),
    var(
        "AEGIS_ALLOWED_CHATS",
        "",
        "Comma-separated chat ids allowed to ask questions (empty: all).",
    ),
    var(
        "AEGIS_ALLOWED_USERS",
        "",
        "Comma-separated open_ids/user_ids allowed to ask questions (empty: all).",
    ),
    var(
        "AEGIS_CHAT_MAX_IN_FLIGHT",
        "2",
        "Analyses one chat may have in flight at once.",
    ),
    var(
        "AEGIS_MODEL_ALIASES",
        "",
        "Extra model aliases accepted at the start of a question, comma-separated.",
    ),
    // alert
    secret(
        "AEGIS_WEBHOOK_TOKEN",
        "Bearer token Alertmanager must send (http_config.authorization).",
    ),
    var(
        "AEGIS_AUTO_ANALYZE_SEVERITIES",
        "critical",
        "Severities whose firing alert groups are analysed automatically, comma-separated.",
    ),
    // incidents
    var(
        "AEGIS_INCIDENT_WINDOW",
        "30m",
        "How long after an incident's last firing alert group a related group still joins it; `0` makes every alert group its own incident.",
    ),
    var(
        "AEGIS_INCIDENT_RELATE",
        "service,graph,candidate",
        "What relates an alert group to an open incident in the same namespace, comma-separated: `service` (a service in common), `graph` (a service calling or called by one of the incident's, in `AEGIS_SERVICE_GRAPH` or the call graph its analyses saw), `candidate` (a service its analyses ranked first or second), `namespace` (any group of the same namespace).",
    ),
    var(
        "AEGIS_SERVICE_GRAPH",
        "",
        "Known calls between services for grouping alerts, `caller>callee` pairs, comma-separated (`frontend>checkout,checkout>payment`).",
    ),
    // tools
    var("PROMETHEUS_BASE_URL", "", "Prometheus HTTP API base URL."),
    secret(
        "AEGIS_PROMETHEUS_AUTH",
        "Prometheus auth: `bearer:<token>` or `basic:<user>:<password>`.",
    ),
    var("LOKI_BASE_URL", "", "Loki HTTP API base URL."),
    var("LOKI_TENANT_ID", "", "Sent as X-Scope-OrgID to Loki."),
    var(
        "LOKI_SERVICE_LABEL_KEY",
        "app",
        "Loki stream label that names the service.",
    ),
    secret(
        "AEGIS_LOKI_AUTH",
        "Loki auth: `bearer:<token>` or `basic:<user>:<password>`.",
    ),
    var("JAEGER_BASE_URL", "", "Jaeger query HTTP API base URL."),
    secret(
        "AEGIS_JAEGER_AUTH",
        "Jaeger auth: `bearer:<token>` or `basic:<user>:<password>`.",
    ),
    var(
        "AEGIS_TOOL_TIMEOUT",
        "15s",
        "Timeout of one tool call to a backend.",
    ),
    var(
        "AEGIS_TOOL_MAX_RANGE",
        "24h",
        "Longest time range a tool call may query.",
    ),
    var(
        "AEGIS_TOOL_MAX_SERIES",
        "50",
        "Most series one metric tool call returns before asking to narrow.",
    ),
    var(
        "AEGIS_TOOL_MAX_LOG_LINES",
        "2000",
        "Most log lines one log tool call reads.",
    ),
    var(
        "AEGIS_TOOL_MAX_TRACES",
        "200",
        "Most traces one trace tool call reads.",
    ),
    var(
        "AEGIS_TOOL_MAX_BYTES",
        "16MiB",
        "Most bytes read from a backend in one call.",
    ),
    var(
        "AEGIS_SIGNALS_FILE",
        "",
        "A JSON file of named PromQL signals replacing the default catalog.",
    ),
    // llm
    var(
        "DEFAULT_MODEL",
        "",
        "Model alias used when a question names none (qwen, glm, deepseek, doubao, or a configured one); empty: the statistical engine only, unless AEGIS_LLM_BASE_URL is set.",
    ),
    var(
        "OLLAMA_BASE_URL",
        "http://localhost:11434",
        "Ollama (or any OpenAI-compatible server) for the qwen, glm and deepseek aliases.",
    ),
    var(
        "OLLAMA_QWEN_MODEL",
        "qwen2.5:32b",
        "Model name behind the qwen alias.",
    ),
    var(
        "OLLAMA_GLM_MODEL",
        "glm-4.7-flash",
        "Model name behind the glm alias.",
    ),
    var(
        "OLLAMA_DEEPSEEK_MODEL",
        "deepseek-r1:32b",
        "Model name behind the deepseek alias.",
    ),
    var(
        "OLLAMA_CONTEXT_TOKENS",
        "",
        "Context size (tokens) of the qwen, glm and deepseek models when the server does not say it; Ollama's /api/show is asked first (its num_ctx, else 4096 capped by the model's trained length).",
    ),
    secret(
        "DOUBAO_API_KEY",
        "Volcengine Ark API key for the doubao alias (ARK_API_KEY also works).",
    ),
    secret("ARK_API_KEY", "Alternative name of DOUBAO_API_KEY."),
    var(
        "DOUBAO_BASE_URL",
        "https://ark.cn-beijing.volces.com/api/v3",
        "Volcengine Ark OpenAI-compatible base URL.",
    ),
    var(
        "DOUBAO_MODEL",
        "doubao-seed-1-6-250615",
        "Model (or endpoint id) behind the doubao alias.",
    ),
    var(
        "DOUBAO_CONTEXT_TOKENS",
        "",
        "Context size (tokens) of the doubao model; Ark does not say it (empty: the analysis's own prompt bound).",
    ),
    var(
        "AEGIS_LLM_BASE_URL",
        "",
        "One OpenAI-compatible endpoint, used as the default model (alias `custom`).",
    ),
    var("AEGIS_LLM_MODEL", "", "Model name at AEGIS_LLM_BASE_URL."),
    secret("AEGIS_LLM_API_KEY", "API key for AEGIS_LLM_BASE_URL."),
    var(
        "AEGIS_LLM_NATIVE_TOOLS",
        "true",
        "Whether the AEGIS_LLM_BASE_URL model gets native tool calling (false: the text protocol).",
    ),
    var(
        "AEGIS_LLM_CONTEXT_TOKENS",
        "",
        "Context size (tokens) of the AEGIS_LLM_BASE_URL model when the server does not say it (llama.cpp /props, vLLM /v1/models max_model_len and Ollama /api/show are asked first); every prompt is fitted in it.",
    ),
    var("AEGIS_LLM_TIMEOUT", "120s", "Timeout of one model call."),
    var(
        "AEGIS_LLM_MAX_TOKENS",
        "",
        "max_tokens of each model call, also the room kept free for the answer in the context (empty: not sent; a quarter of the context, at most 2048, is kept free).",
    ),
    // analysis
    var(
        "AEGIS_TIMEZONE",
        "Asia/Shanghai",
        "Zone for naive times and chat time phrases.",
    ),
    var(
        "AEGIS_LANGUAGE",
        "en",
        "Language of alert and incident cards, and of answers no question or Accept-Language set: `en` or `zh-CN`. A question is answered in the language it is asked in.",
    ),
    var(
        "AEGIS_CHAT_LANGUAGES",
        "",
        "Chats that read another language than AEGIS_LANGUAGE: `chat_id=zh-CN,chat_id=en`.",
    ),
    var(
        "AEGIS_ANALYSIS_BUDGET",
        "240s",
        "Wall-clock budget of one analysis.",
    ),
    var(
        "AEGIS_ANALYSIS_MAX_STEPS",
        "12",
        "Most agent steps in one analysis.",
    ),
    var(
        "AEGIS_ANALYSIS_TOKEN_BUDGET",
        "60000",
        "Most prompt+completion tokens in one analysis.",
    ),
    var(
        "AEGIS_ANALYZE_CONCURRENCY",
        "4",
        "Analyses one instance runs at once; more wait in its queue.",
    ),
    var(
        "AEGIS_ANALYZE_QUEUE",
        "64",
        "Requests that may wait for an analysis slot on one instance; more get 429 (the broker retries).",
    ),
    var(
        "AEGIS_ANALYZE_QUEUE_WAIT",
        "240s",
        "Longest wait for an analysis slot before 429; with the analysis it must fit the Trigger's delivery timeout.",
    ),
    var(
        "AEGIS_PUBLIC_BASE_URL",
        "",
        "Public base URL of the analyze function, for report links and the incident cards' timeline links.",
    ),
    // store
    var(
        "AEGIS_DATA_DIR",
        "",
        "The folder store (default $XDG_DATA_HOME/aegis, else ~/.local/share/aegis).",
    ),
    var(
        "AEGIS_S3_BUCKET",
        "",
        "S3 bucket of the report store; when set, S3 is used instead of the folder.",
    ),
    var("AEGIS_S3_PREFIX", "aegis/", "Key prefix in the bucket."),
    var(
        "AEGIS_S3_FORCE_PATH_STYLE",
        "false",
        "Path-style addressing, for MinIO and other S3-compatible servers.",
    ),
    var(
        "AWS_ENDPOINT_URL_S3",
        "",
        "S3 endpoint (standard AWS SDK variable), for S3-compatible servers.",
    ),
    var(
        "AWS_REGION",
        "us-east-1",
        "AWS region (standard AWS SDK variable).",
    ),
    var(
        "AEGIS_REPORT_LINKS",
        "",
        "How result cards link to reports: `presigned`, or empty for AEGIS_PUBLIC_BASE_URL links.",
    ),
    var(
        "AEGIS_REPORT_LINK_EXPIRY",
        "7d",
        "Lifetime of presigned report links.",
    ),
    var(
        "AEGIS_RETENTION",
        "30d",
        "The folder store deletes reports, markers and dead letters older than this.",
    ),
];
