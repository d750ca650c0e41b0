//! The incidents' read API, mounted beside the reports' ([`crate::read`]):
//!
//! - `GET /api/ops/incidents?limit=<1..=200>`: `{"incidents": [...]}`, newest opened
//!   first, 20 by default; 400 names a bad parameter.
//! - `GET /api/ops/incidents/{id}`: the incident with its alerts and its timeline
//!   (alert groups, analyses, the verdicts people gave them, its resolution) in order;
//!   its page when `Accept` names `text/html` first (a browser), in the language of
//!   `Accept-Language` (English when it names none Aegis speaks). 404 when unknown,
//!   400 for an id that cannot be an incident's, 503 when the store is down.

use std::sync::Arc;

use aegis_core::incident::{Happening, Incident, IncidentSummary, Moment};
use aegis_core::report::Clock;
use aegis_incident::Incidents;
use aegis_store::{ReportStore, key};
use axum::Router;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use crate::read::{Representation, parse_limit, representation};

/// The body of `GET /api/ops/incidents`.
#[derive(Debug, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct IncidentListing {
    /// Incidents, newest opened first.
    pub incidents: Vec<IncidentSummary>,
}

#[derive(Clone)]
struct Reader {
    incidents: Incidents,
    store: Arc<dyn ReportStore>,
    clock: Clock,
}

/// The routes, over `store`; pages give times in `clock`'s zone.
pub fn routes(store: Arc<dyn ReportStore>, clock: Clock) -> Router {
    let reader = Reader {
        // Reading needs no grouping rule: the log holds every decision.
        incidents: Incidents::new(store.clone(), aegis_incident::Rule::default()),
        store,
        clock,
    };
    Router::new()
        .route("/api/ops/incidents", get(list))
        .route("/api/ops/incidents/{id}", get(show))
        .with_state(reader)
}

/// Why a read was refused; `Display` is what the caller sees.
#[derive(Debug, thiserror::Error)]
enum IncidentError {
    #[error("malformed incident id: expected inc-<yyyymmddThhmmssZ>-<hex>")]
    MalformedId,
    #[error("invalid query parameter {name}: {problem}")]
    BadParameter { name: String, problem: String },
    #[error("no incident with id {0}")]
    NotFound(String),
    #[error("{}", match .0 { aegis_incident::Error::Store(_) | aegis_incident::Error::Busy => "the report store is unavailable; retry later", aegis_incident::Error::Corrupt { .. } => "the incident log is unreadable" })]
    Incidents(#[from] aegis_incident::Error),
}

impl IntoResponse for IncidentError {
    fn into_response(self) -> Response {
        let status = match &self {
            Self::MalformedId | Self::BadParameter { .. } => StatusCode::BAD_REQUEST,
            Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::Incidents(aegis_incident::Error::Corrupt { .. }) => {
                StatusCode::INTERNAL_SERVER_ERROR
            }
            Self::Incidents(_) => StatusCode::SERVICE_UNAVAILABLE,
        };
        if status.is_server_error() {
            tracing::warn!(error = ?self, "incident read failed");
        }
        (status, self.to_string()).into_response()
    }
}

async fn list(
    State(reader): State<Reader>,
    RawQuery(query): RawQuery,
) -> Result<axum::Json<IncidentListing>, IncidentError> {
    let mut limit = crate::read::DEFAULT_LIMIT;
    for (name, value) in url::form_urlencoded::parse(query.as_deref().unwrap_or("").as_bytes()) {
        match name.as_ref() {
            "limit" => {
                limit = parse_limit(&value).map_err(|problem| IncidentError::BadParameter {
                    name: "limit".into(),
                    problem,
                })?;
            }
            other => {
                return Err(IncidentError::BadParameter {
                    name: other.into(),
                    problem: "unknown parameter; expected limit".into(),
                });
            }
        }
    }
    let incidents = reader.incidents.list(limit).await?;
    Ok(axum::Json(IncidentListing { incidents }))
}

async fn show(
    State(reader): State<Reader>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, IncidentError> {
    if !key::is_plain(&id) || aegis_incident::opened_at(&id).is_none() {
        return Err(IncidentError::MalformedId);
    }
    let mut incident = reader
        .incidents
        .get(&id)
        .await?
        .ok_or(IncidentError::NotFound(id))?;
    with_verdicts(&reader.store, &mut incident).await;
    let mut res = match representation(&headers) {
        Representation::Html => {
            // An incident has no question to take a language from: the reader's
            // browser says, else English.
            let lang = crate::accept_language(&headers)
                .and_then(aegis_i18n::Lang::from_accept_language)
                .unwrap_or_default();
            let page = aegis_view::incident::render(&incident, reader.clock, lang);
            let mut res = page.into_response();
            res.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static(aegis_store::layout::HTML),
            );
            res
        }
        Representation::Json | Representation::Markdown => axum::Json(incident).into_response(),
    };
    res.headers_mut().insert(
        header::VARY,
        HeaderValue::from_static("accept, accept-language"),
    );
    Ok(res)
}

/// Adds the verdicts people gave the incident's analyses to its timeline, each after
/// the last step made before it (the timeline is in the order of the decisions, whose
/// times come from the alerts' events and need not be monotonic). A report that cannot
/// be read only leaves its verdict out.
async fn with_verdicts(store: &Arc<dyn ReportStore>, incident: &mut Incident) {
    let mut verdicts = Vec::new();
    for analysis in &incident.analyses {
        let Some(report_id) = &analysis.report_id else {
            continue;
        };
        match store.get_report(report_id).await {
            Ok(Some(report)) => {
                if let Some(feedback) = report.feedback {
                    verdicts.push(Moment {
                        at: feedback.at,
                        what: Happening::Verdict {
                            report_id: report_id.clone(),
                            verdict: feedback.verdict.words().to_string(),
                        },
                    });
                }
            }
            Ok(None) => {}
            Err(e) => tracing::warn!(report = %report_id, error = %e, "verdict not read"),
        }
    }
    verdicts.sort_by_key(|m| m.at);
    for verdict in verdicts {
        let after = incident
            .timeline
            .iter()
            .rposition(|m| m.at <= verdict.at)
            .map_or(0, |i| i + 1);
        incident.timeline.insert(after, verdict);
    }
}

#[cfg(test)]
mod tests {
    use axum::body::Body;
    use axum::http::Request;
    use http_body_util::BodyExt;
    use tower::ServiceExt;

    use super::*;
    use aegis_core::report::{Feedback, Report, RootCause, TimeRange, Verdict, Views};

    async fn get(app: &Router, uri: &str, accept: Option<&str>) -> (StatusCode, String) {
        let accept: Vec<_> = accept.map(|a| (header::ACCEPT, a)).into_iter().collect();
        get_with(app, uri, &accept).await
    }

    async fn get_with(
        app: &Router,
        uri: &str,
        headers: &[(header::HeaderName, &str)],
    ) -> (StatusCode, String) {
        let mut req = Request::get(uri);
        for (name, value) in headers {
            req = req.header(name, *value);
        }
        let res = app
            .clone()
            .oneshot(req.body(Body::empty()).expect("request"))
            .await
            .expect("infallible");
        let status = res.status();
        let body = res.into_body().collect().await.expect("body").to_bytes();
        (status, String::from_utf8_lossy(&body).into_owned())
    }

    #[tokio::test]
    async fn an_incident_reads_with_its_timeline_and_the_verdicts_on_its_analyses() {
        let store: Arc<dyn ReportStore> = Arc::new(aegis_store::Memory::default());
        let incidents = Incidents::new(store.clone(), aegis_incident::Rule::default());
        let n: aegis_core::alert::Notification = serde_json::from_value(serde_json::json!({
            "version": "4", "groupKey": "g", "status": "firing", "receiver": "aegis",
            "alerts": [{"status": "firing", "labels": {"alertname": "CartDown", "service": "cart"},
                        "startsAt": "2026-12-07T10:00:00Z", "endsAt": "0001-01-01T00:00:00Z", "fingerprint": "a"}],
        }))
        .expect("notification");
        let at = "2026-12-07T10:01:00Z".parse().expect("time");
        let id = incidents
            .assign(&n, "e1", None, at)
            .await
            .expect("assign")
            .incident
            .id;
        let (_, analysis) = incidents
            .request_analysis(&id, "e1", at)
            .await
            .expect("request")
            .expect("the first analysis");
        let mut report = Report::new(&analysis.request_id, TimeRange::last(at, 15));
        report.ranked_root_causes = vec![RootCause::new(1, "cart", 0.9)];
        incidents
            .analysis_done(&id, &analysis.request_id, Some(&report), None, None, at)
            .await
            .expect("done");
        report.feedback = Some(Feedback {
            verdict: Verdict::RightCause,
            by: None,
            at: at + chrono::Duration::minutes(5),
        });
        store
            .put_report(&report, Views::default())
            .await
            .expect("report");
        let app = routes(store, Clock::default());

        let (status, body) = get(&app, "/api/ops/incidents", None).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let listing: serde_json::Value = serde_json::from_str(&body).expect("json");
        assert_eq!(listing["incidents"][0]["id"], id.as_str());
        assert_eq!(listing["incidents"][0]["top"], "cart");

        let (status, body) = get(&app, &format!("/api/ops/incidents/{id}"), None).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let incident: serde_json::Value = serde_json::from_str(&body).expect("json");
        let kinds: Vec<&str> = incident["timeline"]
            .as_array()
            .expect("timeline")
            .iter()
            .filter_map(|m| m["kind"].as_str())
            .collect();
        assert_eq!(
            kinds,
            ["alerts", "analysis_requested", "analysis_done", "verdict"]
        );

        let (status, page) =
            get(&app, &format!("/api/ops/incidents/{id}"), Some("text/html")).await;
        assert_eq!(status, StatusCode::OK);
        assert!(
            page.contains("Timeline") && page.contains("right cause"),
            "{page}"
        );
        assert!(page.contains(r#"<html lang="en">"#), "{page}");
        // A Chinese reader's browser gets the page in Chinese.
        let (status, page) = get_with(
            &app,
            &format!("/api/ops/incidents/{id}"),
            &[
                (header::ACCEPT, "text/html"),
                (header::ACCEPT_LANGUAGE, "zh-CN,zh;q=0.9,en;q=0.8"),
            ],
        )
        .await;
        assert_eq!(status, StatusCode::OK);
        assert!(page.contains(r#"<html lang="zh-CN">"#), "{page}");
        assert!(
            page.contains("时间线") && page.contains("原因正确") && !page.contains("Timeline"),
            "{page}"
        );

        let (status, body) = get(
            &app,
            "/api/ops/incidents/inc-20261207T100000Z-00000000",
            None,
        )
        .await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
        let (status, body) = get(&app, "/api/ops/incidents/report-1", None).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert!(body.contains("inc-"), "{body}");
        let (status, body) = get(&app, "/api/ops/incidents?limit=0", None).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert!(body.contains("limit"), "{body}");
        let (status, _) = get(&app, "/api/ops/incidents?since=x", None).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
    }
}
