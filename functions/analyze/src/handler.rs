use aegis_analysis::Progress;
use aegis_api::accept_language;
use aegis_api::{Admitted, Analyses, Refused};
use aegis_core::report::Report;
use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use serde::Serialize;

/// The response: the report, plus the caller's `session_id` echoed back as the
/// original service did.
#[derive(Serialize)]
pub struct Answer {
    #[serde(flatten)]
    report: Report,
    #[serde(skip_serializing_if = "Option::is_none")]
    session_id: Option<String>,
}

/// `POST /api/ops/analyze`: parse, validate, take a slot, analyse, store, answer.
pub async fn analyze(
    State(app): State<Analyses>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Answer>, Refused> {
    let Admitted {
        request,
        slot: _slot,
    } = app.admit(&body, accept_language(&headers)).await?;
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
