//! The HTTP API as an OpenAPI 3.1 document, served at `GET /api/openapi.json`.
//!
//! Schemas are derived from the types the handlers really use (the request body and
//! error of [`crate::request`], [`Report`], the store's listing); the paths are declared
//! here, one per public route, because the handlers live in the function crates and
//! this document is shared by all of them.

use axum::Json;
use axum::Router;
use axum::routing::get;
use utoipa::OpenApi;

use crate::incidents::IncidentListing;
use crate::read::{DeadLetterListing, Listing};
use crate::request::{AnalyzeRequest, ErrorBody, RequestRange, RequestTime};
use aegis_core::alert::{Severity, Status};
use aegis_core::incident::{
    AlertLine, AnalysisRef, Counts, Happening, Incident, IncidentSummary, Moment,
};
use aegis_core::report::{
    Direction, Evidence, Moved, Report, RootCause, SimilarIncident, Step, TimeRange, Trace, Usage,
};
use aegis_store::{DeadLetter, ReportSummary};

/// The routes, declared for the document only: the handlers live in the function
/// crates, which this shared document cannot name. utoipa reads the attributes; the
/// functions themselves are never called.
#[allow(dead_code)]
mod paths {
    use super::*;

    #[utoipa::path(post, path = "/api/ops/analyze", tag = "analysis",
        request_body = AnalyzeRequest,
        params(("Accept-Language" = Option<String>, Header, description = "The answer's language when the body names none: en or zh-CN (default en)")),
        responses(
            (status = 200, description = "The report", body = Report),
            (status = 400, description = "end <= start, an unknown model, a malformed body"),
            (status = 422, description = "A field is missing or invalid; the message names it"),
            (status = 429, description = "Every slot taken and the queue (AEGIS_ANALYZE_QUEUE) full, or no slot within AEGIS_ANALYZE_QUEUE_WAIT; see Retry-After"),
        ))]
    fn analyze() {}

    #[utoipa::path(post, path = "/api/ops/analyze/stream", tag = "analysis",
        request_body = AnalyzeRequest,
        params(("Accept-Language" = Option<String>, Header, description = "The answer's language when the body names none: en or zh-CN (default en)")),
        responses(
            (status = 200, description = "application/x-ndjson: one event per line (start, llm_start, llm_token, llm_end, agent_thought, agent_action, tool_start, tool_end, agent_observation, heartbeat, error, final with the report, end)", content_type = "application/x-ndjson"),
            (status = 400, description = "As for /api/ops/analyze"),
            (status = 422, description = "As for /api/ops/analyze"),
            (status = 429, description = "Every slot taken (a stream does not queue); see Retry-After"),
        ))]
    fn analyze_stream() {}

    #[utoipa::path(get, path = "/api/ops/analyses/{id}", tag = "reports",
        params(("id" = String, Path, description = "The analysis id")),
        responses(
            (status = 200, description = "The report (JSON; Markdown with Accept: text/markdown; its HTML page with Accept: text/html)", body = Report),
            (status = 400, description = "A malformed id"),
            (status = 404, description = "No such analysis"),
            (status = 503, description = "The report store is unavailable"),
        ))]
    fn get_analysis() {}

    #[utoipa::path(get, path = "/api/ops/analyses", tag = "reports",
        params(
            ("since" = Option<String>, Query, description = "RFC 3339; only reports stored at or after it"),
            ("limit" = Option<u32>, Query, description = "1..200, default 20"),
        ),
        responses(
            (status = 200, description = "Reports, newest first", body = Listing),
            (status = 400, description = "A bad parameter, named"),
            (status = 503, description = "The report store is unavailable"),
        ))]
    fn list_analyses() {}

    #[utoipa::path(get, path = "/api/ops/dead-letters", tag = "reports",
        params(
            ("since" = Option<String>, Query, description = "RFC 3339; only dead letters received at or after it"),
            ("limit" = Option<u32>, Query, description = "1..200, default 20"),
        ),
        responses(
            (status = 200, description = "Events whose delivery failed for good, newest first, with the Broker's knativeerror* extensions", body = DeadLetterListing),
            (status = 400, description = "A bad parameter, named"),
            (status = 503, description = "The report store is unavailable"),
        ))]
    fn list_dead_letters() {}

    #[utoipa::path(get, path = "/api/ops/incidents", tag = "incidents",
        params(("limit" = Option<u32>, Query, description = "1..200, default 20")),
        responses(
            (status = 200, description = "Incidents (related alert groups joined into one), newest opened first", body = IncidentListing),
            (status = 400, description = "A bad parameter, named"),
            (status = 503, description = "The report store is unavailable"),
        ))]
    fn list_incidents() {}

    #[utoipa::path(get, path = "/api/ops/incidents/{id}", tag = "incidents",
        params(("id" = String, Path, description = "The incident id, inc-<yyyymmddThhmmssZ>-<hex>")),
        responses(
            (status = 200, description = "The incident with its alerts, analyses and timeline (JSON; its HTML page with Accept: text/html)", body = Incident),
            (status = 400, description = "A malformed id"),
            (status = 404, description = "No such incident"),
            (status = 503, description = "The report store is unavailable"),
        ))]
    fn get_incident() {}

    #[utoipa::path(post, path = "/alertmanager/webhook", tag = "alerts",
        request_body(content = Object, description = "Alertmanager webhook payload, version 4"),
        responses(
            (status = 200, description = "{\"status\":\"ok\"}: the notification is held by the broker"),
            (status = 400, description = "Wrong version, a missing field or a bad timestamp; the message names it"),
            (status = 401, description = "AEGIS_WEBHOOK_TOKEN is set and the bearer token is missing or wrong"),
            (status = 413, description = "The body is over AEGIS_BODY_LIMIT"),
            (status = 503, description = "The broker did not accept the event; Alertmanager retries"),
        ),
        security(("bearer" = [])))]
    fn webhook() {}

    #[utoipa::path(get, path = "/healthz", tag = "operations",
        responses((status = 200, description = "Alive; touches no backend")))]
    fn healthz() {}
}

/// The document.
#[derive(OpenApi)]
#[openapi(
    info(title = "Aegis", description = "Read-only root-cause analysis for Kubernetes: ranked root-cause candidates with probabilities and evidence from Prometheus, Loki and Jaeger."),
    paths(paths::analyze, paths::analyze_stream, paths::get_analysis, paths::list_analyses, paths::list_dead_letters, paths::list_incidents, paths::get_incident, paths::webhook, paths::healthz),
    components(schemas(AnalyzeRequest, RequestRange, RequestTime, ErrorBody, Report, RootCause, Evidence, Trace, Step, Usage, TimeRange, Moved, Direction, SimilarIncident, ReportSummary, Listing, DeadLetter, DeadLetterListing, IncidentListing, Incident, IncidentSummary, AlertLine, AnalysisRef, Moment, Happening, Counts, Severity, Status)),
    modifiers(&BearerAuth),
)]
pub struct ApiDoc;

struct BearerAuth;

impl utoipa::Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// The OpenAPI document of the public HTTP API.
pub fn document() -> utoipa::openapi::OpenApi {
    let mut doc = ApiDoc::openapi();
    doc.info.version = env!("CARGO_PKG_VERSION").to_string();
    doc
}

/// `GET /api/openapi.json`.
pub fn routes() -> Router {
    let doc = document();
    Router::new().route(
        "/api/openapi.json",
        get(move || std::future::ready(Json(doc.clone()))),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn document_names_every_public_route_and_the_report_schema() {
        let json = serde_json::to_value(document()).unwrap();
        for path in [
            "/api/ops/analyze",
            "/api/ops/analyze/stream",
            "/api/ops/analyses/{id}",
            "/api/ops/analyses",
            "/alertmanager/webhook",
            "/healthz",
        ] {
            assert!(json["paths"][path].is_object(), "{path} missing");
        }
        let report = &json["components"]["schemas"]["Report"]["properties"];
        for field in [
            "summary",
            "ranked_root_causes",
            "next_actions",
            "trace",
            "model",
            "degraded",
        ] {
            assert!(report[field].is_object(), "Report.{field} missing");
        }
        let request = &json["components"]["schemas"]["AnalyzeRequest"]["properties"];
        for field in ["description", "time_range", "session_id", "model"] {
            assert!(request[field].is_object(), "AnalyzeRequest.{field} missing");
        }
    }
}
