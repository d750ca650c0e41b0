use std::time::Duration;

use aegis_core::config::{Env, Error};

/// How a function process runs.
#[derive(Debug, Clone)]
pub struct ServeConfig {
    /// Port to listen on.
    pub port: u16,
    /// Largest request body accepted.
    pub body_limit: usize,
    /// Default request timeout (a function may choose its own).
    pub request_timeout: Duration,
    /// How long in-flight requests may finish after SIGTERM.
    pub shutdown_grace: Duration,
    /// How long a connection may take to send a request's headers, counted from when
    /// it opens or its last response ended: a half-sent request, or a keep-alive
    /// connection left idle, is closed after it.
    pub header_read_timeout: Duration,
    /// Log format.
    pub log_format: LogFormat,
    /// OTLP endpoint for traces.
    pub otlp_endpoint: Option<url::Url>,
    /// Service name on traces.
    pub service_name: Option<String>,
    /// Knative service name.
    pub k_service: Option<String>,
    /// Whether to run under AWS Lambda.
    pub lambda: bool,
}

/// Log line format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    /// One JSON object per line (the default; what log pipelines want).
    Json,
    /// Human-readable lines.
    Text,
}

impl ServeConfig {
    /// Reads `PORT`, `AEGIS_BODY_LIMIT`, timeouts, log and telemetry settings.
    pub fn from_env(env: &Env) -> Result<Self, Error> {
        let log_format = match env.string("AEGIS_LOG_FORMAT").as_deref() {
            None | Some("json") => LogFormat::Json,
            Some("text") => LogFormat::Text,
            Some(other) => {
                return Err(Error::new(
                    "AEGIS_LOG_FORMAT",
                    format!("expected json or text, got {other:?}"),
                ));
            }
        };
        let body_limit = env.bytes("AEGIS_BODY_LIMIT")?.unwrap_or(1 << 20);
        let _ = env.string("RUST_LOG"); // read by the log filter itself; declared for the reference
        Ok(Self {
            port: env
                .parse("PORT", "a port number (1-65535)")?
                .unwrap_or(8080),
            body_limit: usize::try_from(body_limit)
                .map_err(|_| Error::new("AEGIS_BODY_LIMIT", "too large"))?,
            request_timeout: env
                .duration("AEGIS_REQUEST_TIMEOUT")?
                .unwrap_or(Duration::from_secs(30)),
            shutdown_grace: env
                .duration("AEGIS_SHUTDOWN_GRACE")?
                .unwrap_or(Duration::from_secs(20)),
            header_read_timeout: env
                .duration("AEGIS_HEADER_READ_TIMEOUT")?
                .unwrap_or(Duration::from_secs(10)),
            log_format,
            otlp_endpoint: env.url("OTEL_EXPORTER_OTLP_ENDPOINT")?,
            service_name: env.string("OTEL_SERVICE_NAME"),
            k_service: env.string("K_SERVICE"),
            lambda: env.string("AWS_LAMBDA_RUNTIME_API").is_some(),
        })
    }
}
