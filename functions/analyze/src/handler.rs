use aegis_analysis::{Progress, Report, api};
use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use super::App;

/// The response: the report, plus the caller's `session_id` echoed back as the
/// original service did.
#[derive(Serialize)]
pub struct Answer {
    #[serde(flatten)]
    report: Report,
    #[serde(skip_serializing_if = "Option::is_none")]
    session_id: Option<String>,
}

/// Why a request got no report.
#[derive(Debug, thiserror::Error)]
pub enum AnalyzeError {
    /// 400/422: what is wrong with the request.
    #[error(transparent)]
    Request(#[from] api::RequestError),
    /// 429: every slot is taken.
    #[error(transparent)]
    Busy(#[from] aegis_analysis::Busy),
}

impl IntoResponse for AnalyzeError {
    fn into_response(self) -> Response {
        match self {
            Self::Request(e) => e.into_response(),
            Self::Busy(e) => e.into_response(),
        }
    }
}

/// `POST /api/ops/analyze`: parse, validate, take a slot, analyse, store, answer.
pub async fn analyze(State(app): State<App>, body: Bytes) -> Result<Json<Answer>, AnalyzeError> {
    let request = api::parse(&body, &app.analyzer, chrono::Utc::now())?;
    let _slot = app.slots.try_acquire()?;
    let id = uuid::Uuid::new_v4().simple().to_string();
    let report = app
        .analyzer
        .run_archived(&id, &request, &Progress::none(), app.store.as_ref())
        .await;
    Ok(Json(Answer {
        report,
        session_id: request.session_id,
    }))
}
