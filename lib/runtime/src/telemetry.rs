//! Logs and distributed traces: JSON logs through `tracing`, and OpenTelemetry spans
//! exported over OTLP/HTTP when `OTEL_EXPORTER_OTLP_ENDPOINT` is set. How trace context
//! crosses hops is `aegis_core::trace_context`.

use opentelemetry::trace::TracerProvider as _;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing_subscriber::Layer as _;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

use super::{LogFormat, ServeConfig};

/// Keeps telemetry alive; dropping it flushes pending spans to the OTLP endpoint.
pub struct Guard {
    provider: Option<SdkTracerProvider>,
}

impl Drop for Guard {
    fn drop(&mut self) {
        if let Some(provider) = self.provider.take()
            && let Err(e) = provider.shutdown()
        {
            eprintln!("trace export could not be flushed: {e}");
        }
    }
}

/// Installs the global log subscriber (JSON or text, filtered by `RUST_LOG`) and the
/// OpenTelemetry layer. Spans are always built so trace context is passed on; they are
/// exported only when `OTEL_EXPORTER_OTLP_ENDPOINT` is set. Safe to call twice: the
/// second call changes nothing.
pub fn init(config: &ServeConfig, function: &str) -> Guard {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let service = config
        .service_name
        .clone()
        .or_else(|| config.k_service.clone())
        .unwrap_or_else(|| function.to_string());
    let mut builder = SdkTracerProvider::builder().with_resource(
        opentelemetry_sdk::Resource::builder()
            .with_service_name(service)
            .build(),
    );
    let mut exporting = false;
    if let Some(endpoint) = &config.otlp_endpoint {
        match otlp_exporter(endpoint) {
            Ok(exporter) => {
                builder = builder.with_batch_exporter(exporter);
                exporting = true;
            }
            Err(e) => eprintln!("traces will not be exported: {e}"),
        }
    }
    let provider = builder.build();
    let otel = tracing_opentelemetry::layer().with_tracer(provider.tracer("aegis"));
    let fmt = match config.log_format {
        LogFormat::Json => tracing_subscriber::fmt::layer()
            .json()
            .with_current_span(true)
            .with_writer(std::io::stderr)
            .boxed(),
        LogFormat::Text => tracing_subscriber::fmt::layer()
            .with_writer(std::io::stderr)
            .boxed(),
    };
    let installed = tracing_subscriber::registry()
        .with(filter)
        .with(fmt)
        .with(otel)
        .try_init()
        .is_ok();
    if !installed {
        // Someone installed a subscriber already (a test, a second call): keep theirs.
        let _ = provider.shutdown();
        return Guard { provider: None };
    }
    opentelemetry::global::set_text_map_propagator(TraceContextPropagator::new());
    if exporting {
        tracing::info!(endpoint = ?config.otlp_endpoint.as_ref().map(url::Url::as_str), "exporting traces over OTLP/HTTP");
    }
    Guard {
        provider: Some(provider),
    }
}

/// The OTLP/HTTP (protobuf) span exporter for `endpoint` (the collector's base URL, as
/// `OTEL_EXPORTER_OTLP_ENDPOINT` gives it; `/v1/traces` is appended as the spec says).
fn otlp_exporter(
    endpoint: &url::Url,
) -> Result<opentelemetry_otlp::SpanExporter, opentelemetry_otlp::ExporterBuildError> {
    use opentelemetry_otlp::WithExportConfig;
    let traces = format!("{}/v1/traces", endpoint.as_str().trim_end_matches('/'));
    opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .with_endpoint(traces)
        .build()
}
