//! The read API over stored reports, mounted by the analyze function:
//!
//! - `GET /api/ops/analyses/{id}`: the report as JSON, as Markdown when `Accept`
//!   names `text/markdown` first, or as its page when it names `text/html` first (a
//!   browser). 404 when absent, 400 for an id
//!   that cannot be a report id, 503 when the store is down (a retry can help).
//! - `GET /api/ops/analyses?since=<RFC 3339>&limit=<1..=200>`: `{"analyses": [...]}`,
//!   newest first, 20 by default. 400 names the bad parameter.
//! - `GET /api/ops/dead-letters?since=...&limit=...`: `{"dead_letters": [...]}`, the
//!   events whose delivery failed for good, newest first, with the same parameters.

use std::sync::Arc;

use axum::Router;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use chrono::{DateTime, Utc};

use aegis_store::{DeadLetter, Error, ReportStore, ReportSummary, key, layout};

/// Listing size when `limit` is absent.
pub const DEFAULT_LIMIT: usize = 20;
/// Largest `limit` accepted.
pub const MAX_LIMIT: usize = 200;

/// The routes of the read API, over `store`.
pub fn routes(store: Arc<dyn ReportStore>) -> Router {
    Router::new()
        .route("/api/ops/analyses", get(list))
        .route("/api/ops/analyses/{id}", get(show))
        .route("/api/ops/dead-letters", get(dead_letters))
        .with_state(store)
}

/// The body of `GET /api/ops/analyses`.
#[derive(Debug, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct Listing {
    /// Stored reports, newest first.
    pub analyses: Vec<ReportSummary>,
}

/// The body of `GET /api/ops/dead-letters`.
#[derive(Debug, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct DeadLetterListing {
    /// Kept dead letters, newest first.
    pub dead_letters: Vec<DeadLetter>,
}

/// Why a read was refused; `Display` is what the caller sees.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// 400: the id cannot name a report.
    #[error(
        "malformed analysis id: expected 1 to 128 characters of A-Z, a-z, 0-9, '.', '_' or '-', starting with a letter or digit"
    )]
    MalformedId,
    /// 400: a query parameter is wrong.
    #[error("invalid query parameter {name}: {problem}")]
    BadParameter {
        /// The parameter.
        name: String,
        /// What is wrong and what is expected.
        problem: String,
    },
    /// 404: nothing stored under the id.
    #[error("no analysis with id {0}")]
    NotFound(String),
    /// 503 when the store is down; 500 when a stored object is unreadable.
    #[error("{}", match .0 { Error::Unavailable(_) => "the report store is unavailable; retry later", Error::Corrupt { .. } => "the stored report is unreadable", Error::InvalidKey(_) => "the report store failed" })]
    Store(#[from] Error),
}

impl ApiError {
    /// The status each failure answers with.
    pub fn status(&self) -> StatusCode {
        match self {
            Self::MalformedId | Self::BadParameter { .. } => StatusCode::BAD_REQUEST,
            Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::Store(Error::Unavailable(_)) => StatusCode::SERVICE_UNAVAILABLE,
            Self::Store(Error::Corrupt { .. } | Error::InvalidKey(_)) => {
                StatusCode::INTERNAL_SERVER_ERROR
            }
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        if status.is_server_error() {
            tracing::warn!(error = ?self, "report read failed");
        }
        (status, self.to_string()).into_response()
    }
}

async fn show(
    State(store): State<Arc<dyn ReportStore>>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    if !key::is_plain(&id) {
        return Err(ApiError::MalformedId);
    }
    let text = |text: Option<String>, content_type: &'static str| {
        let mut res = text.ok_or(ApiError::NotFound(id.clone()))?.into_response();
        res.headers_mut()
            .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
        Ok::<_, ApiError>(res)
    };
    let mut res = match representation(&headers) {
        Representation::Json => {
            let report = store.get_report(&id).await?.ok_or(ApiError::NotFound(id))?;
            axum::Json(report).into_response()
        }
        Representation::Markdown => text(store.get_report_markdown(&id).await?, layout::MARKDOWN)?,
        Representation::Html => {
            let page = match store.get_report_page(&id).await? {
                Some(page) => Some(page),
                // A report stored before pages were: drawn from its JSON.
                None => store.get_report(&id).await?.map(|r| aegis_view::page(&r)),
            };
            text(page, layout::HTML)?
        }
    };
    res.headers_mut()
        .insert(header::VARY, HeaderValue::from_static("accept"));
    Ok(res)
}

async fn list(
    State(store): State<Arc<dyn ReportStore>>,
    RawQuery(query): RawQuery,
) -> Result<axum::Json<Listing>, ApiError> {
    let (since, limit) = parse_listing_query(query.as_deref().unwrap_or(""))?;
    let analyses = store.list_reports(since, limit).await?;
    Ok(axum::Json(Listing { analyses }))
}

async fn dead_letters(
    State(store): State<Arc<dyn ReportStore>>,
    RawQuery(query): RawQuery,
) -> Result<axum::Json<DeadLetterListing>, ApiError> {
    let (since, limit) = parse_listing_query(query.as_deref().unwrap_or(""))?;
    let mut dead_letters = store.list_dead_letters(limit).await?;
    // The newest `limit`, then those at or after `since`: older ones are all older.
    dead_letters.retain(|d| since.is_none_or(|s| d.received_at >= s));
    Ok(axum::Json(DeadLetterListing { dead_letters }))
}

fn bad(name: &str, problem: impl Into<String>) -> ApiError {
    ApiError::BadParameter {
        name: name.to_string(),
        problem: problem.into(),
    }
}

/// `since` and `limit` from the query string; unknown parameters are refused so a typo
/// (`limt=5`) does not silently return the default.
fn parse_listing_query(query: &str) -> Result<(Option<DateTime<Utc>>, usize), ApiError> {
    let mut since = None;
    let mut limit = DEFAULT_LIMIT;
    for (name, value) in url::form_urlencoded::parse(query.as_bytes()) {
        match name.as_ref() {
            "since" => {
                let at = DateTime::parse_from_rfc3339(&value).map_err(|_| {
                    bad(
                        "since",
                        format!(
                            "expected an RFC 3339 time such as 2026-11-25T08:00:00Z, got {value:?}"
                        ),
                    )
                })?;
                since = Some(at.with_timezone(&Utc));
            }
            "limit" => limit = parse_limit(&value).map_err(|problem| bad("limit", problem))?,
            other => return Err(bad(other, "unknown parameter; expected since or limit")),
        }
    }
    Ok((since, limit))
}

/// A listing's `limit`: a whole number from 1 to [`MAX_LIMIT`], or what is wrong.
pub(crate) fn parse_limit(value: &str) -> Result<usize, String> {
    value
        .parse()
        .ok()
        .filter(|n| (1..=MAX_LIMIT).contains(n))
        .ok_or_else(|| format!("expected a whole number from 1 to {MAX_LIMIT}, got {value:?}"))
}

/// How a report is asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Representation {
    Json,
    Markdown,
    Html,
}

/// The first of JSON, Markdown and HTML that `Accept` names (and does not refuse
/// with `q=0`), in the order it names them; JSON when it names none (`*/*`, curl).
pub(crate) fn representation(headers: &HeaderMap) -> Representation {
    for value in headers.get_all(header::ACCEPT) {
        let Ok(value) = value.to_str() else { continue };
        for range in value.split(',') {
            let mut parts = range.split(';').map(str::trim);
            let media = parts.next().unwrap_or("").to_ascii_lowercase();
            let refused = parts.any(|p| {
                p.strip_prefix("q=")
                    .and_then(|q| q.parse::<f32>().ok())
                    .is_some_and(|q| q <= 0.0)
            });
            if refused {
                continue;
            }
            match media.as_str() {
                "text/markdown" => return Representation::Markdown,
                "text/html" | "application/xhtml+xml" => return Representation::Html,
                "application/json" | "application/*" => return Representation::Json,
                _ => {}
            }
        }
    }
    Representation::Json
}

#[cfg(test)]
mod tests {
    use axum::body::Body;
    use axum::http::Request;
    use http_body_util::BodyExt;
    use tower::ServiceExt;

    use super::*;
    use aegis_store::Memory;
    use aegis_store::test_support::{down, report};

    async fn call(
        store: Arc<dyn ReportStore>,
        uri: &str,
        accept: Option<&str>,
    ) -> (StatusCode, String, String) {
        let mut req = Request::get(uri);
        if let Some(accept) = accept {
            req = req.header(header::ACCEPT, accept);
        }
        let res = routes(store)
            .oneshot(req.body(Body::empty()).expect("request"))
            .await
            .expect("infallible");
        let status = res.status();
        let ctype = res
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string();
        let body = res.into_body().collect().await.expect("body").to_bytes();
        (status, ctype, String::from_utf8_lossy(&body).into_owned())
    }

    async fn with_reports(ids: &[&str]) -> Arc<dyn ReportStore> {
        let store = Arc::new(Memory::default());
        for id in ids {
            store
                .put_report(&report(id), aegis_view::views(&report(id)))
                .await
                .expect("memory");
            tokio::time::sleep(std::time::Duration::from_millis(2)).await;
        }
        store
    }

    #[tokio::test]
    async fn a_stored_report_is_served_as_json() {
        let (status, ctype, body) =
            call(with_reports(&["a1"]).await, "/api/ops/analyses/a1", None).await;
        assert_eq!(status, StatusCode::OK);
        assert!(ctype.starts_with("application/json"));
        let report: aegis_core::report::Report = serde_json::from_str(&body).expect("json");
        assert_eq!(report.id, "a1");
    }

    #[tokio::test]
    async fn accept_markdown_gets_markdown() {
        let store = with_reports(&["a1"]).await;
        let (status, ctype, body) =
            call(store.clone(), "/api/ops/analyses/a1", Some("text/markdown")).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(ctype, "text/markdown; charset=utf-8");
        assert!(body.starts_with("# Analysis a1"));
        let (_, ctype, _) = call(
            store,
            "/api/ops/analyses/a1",
            Some("application/json, text/markdown"),
        )
        .await;
        assert!(ctype.starts_with("application/json"));
    }

    #[tokio::test]
    async fn a_browser_gets_the_page_and_a_feedback_verdict_shows_on_it() {
        let store = with_reports(&["a1"]).await;
        let browser = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8";
        let (status, ctype, body) =
            call(store.clone(), "/api/ops/analyses/a1", Some(browser)).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(ctype, "text/html; charset=utf-8");
        assert!(body.starts_with("<!DOCTYPE html>"), "{}", &body[..60]);
        assert!(!body.contains("right cause"));
        let (_, ctype, _) = call(store.clone(), "/api/ops/analyses/a1", Some("*/*")).await;
        assert!(ctype.starts_with("application/json"), "curl gets JSON");

        let feedback = aegis_core::report::Feedback {
            verdict: aegis_core::report::Verdict::RightCause,
            by: Some("ou_1".into()),
            at: Utc::now(),
        };
        let updated = store
            .put_feedback("a1", feedback.clone(), &aegis_view::views)
            .await
            .unwrap();
        assert_eq!(updated.and_then(|r| r.feedback), Some(feedback.clone()));
        let (_, _, body) = call(store.clone(), "/api/ops/analyses/a1", Some(browser)).await;
        assert!(body.contains("right cause"), "the page is stored again");
        assert_eq!(
            store
                .put_feedback("absent", feedback, &aegis_view::views)
                .await
                .unwrap(),
            None
        );
    }

    #[tokio::test]
    async fn absent_is_404_and_malformed_is_400() {
        let store = with_reports(&[]).await;
        let (status, _, body) = call(store.clone(), "/api/ops/analyses/nope", None).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert!(body.contains("nope"));
        let (status, _, body) = call(store, "/api/ops/analyses/..%2Fetc", None).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert!(body.contains("malformed analysis id"));
    }

    #[tokio::test]
    async fn store_down_is_503_without_internals() {
        let (status, _, body) = call(Arc::new(down()), "/api/ops/analyses/a1", None).await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        assert!(!body.contains("connection refused"), "{body}");
        let (status, _, _) = call(Arc::new(down()), "/api/ops/analyses", None).await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    }

    #[tokio::test]
    async fn listing_is_newest_first_and_limited() {
        let store = with_reports(&["first", "second", "third"]).await;
        let (status, _, body) = call(store, "/api/ops/analyses?limit=2", None).await;
        assert_eq!(status, StatusCode::OK);
        let listing: Listing = serde_json::from_str(&body).expect("json");
        let ids: Vec<_> = listing.analyses.iter().map(|s| s.id.as_str()).collect();
        assert_eq!(ids, ["third", "second"]);
    }

    #[tokio::test]
    async fn bad_listing_parameters_are_named() {
        let store = with_reports(&[]).await;
        for (query, name) in [
            ("limit=0", "limit"),
            ("limit=201", "limit"),
            ("limit=ten", "limit"),
            ("since=yesterday", "since"),
            ("limt=5", "limt"),
        ] {
            let (status, _, body) =
                call(store.clone(), &format!("/api/ops/analyses?{query}"), None).await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "{query}");
            assert!(
                body.contains(&format!("parameter {name}:")),
                "{query}: {body}"
            );
        }
        let (status, _, _) = call(
            store,
            "/api/ops/analyses?since=2026-11-25T08:00:00%2B08:00&limit=200",
            None,
        )
        .await;
        assert_eq!(status, StatusCode::OK);
    }

    #[tokio::test]
    async fn dead_letters_are_listed_newest_first_with_since_and_limit() {
        let store = Arc::new(Memory::default());
        let t0 = DateTime::parse_from_rfc3339("2026-11-26T08:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        for (i, id) in ["a", "b", "c"].iter().enumerate() {
            let event =
                serde_json::json!({"specversion": "1.0", "id": id, "knativeerrorcode": "503"});
            store
                .put_dead_letter(
                    t0 + chrono::Duration::minutes(i as i64),
                    id,
                    &serde_json::to_vec(&event).unwrap(),
                )
                .await
                .unwrap();
        }
        let ids = |body: &str| -> Vec<String> {
            let listing: DeadLetterListing = serde_json::from_str(body).unwrap();
            listing
                .dead_letters
                .iter()
                .map(|d| d.event["id"].as_str().unwrap().to_string())
                .collect()
        };
        let (status, ctype, body) = call(store.clone(), "/api/ops/dead-letters", None).await;
        assert_eq!(status, StatusCode::OK);
        assert!(ctype.starts_with("application/json"), "{ctype}");
        assert_eq!(ids(&body), ["c", "b", "a"]);
        let (_, _, body) = call(store.clone(), "/api/ops/dead-letters?limit=2", None).await;
        assert_eq!(ids(&body), ["c", "b"]);
        let (_, _, body) = call(
            store.clone(),
            "/api/ops/dead-letters?since=2026-11-26T08:01:00Z",
            None,
        )
        .await;
        assert_eq!(ids(&body), ["c", "b"]);
        let (status, _, body) = call(store, "/api/ops/dead-letters?limt=2", None).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert!(body.contains("limt"), "{body}");
        let (status, _, _) = call(Arc::new(down()), "/api/ops/dead-letters", None).await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    }
}
