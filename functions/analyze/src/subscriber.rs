use aegis_analysis::Progress;
use aegis_core::events::{
    self, AnalysisCompleted, AnalysisRequested, EventType, Failure, Outcome, Payload, Received,
};
use aegis_core::report::Report;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use super::Analyses;
use super::NAME;

/// `POST /`: an `analysis.requested` event. Replies `analysis.completed` (id derived
/// from the request id). A request already completed replies its stored report
/// without running again. An invalid request replies a `failed` completion, so the
/// asker hears why; another event type or a malformed request is 400 (never retried,
/// see [`Received`]); no free slot is 429 (the broker retries).
pub async fn receive(
    State(app): State<Analyses>,
    Received {
        data: requested, ..
    }: Received<AnalysisRequested>,
) -> Response {
    if let Err(problem) = requested.request.validate() {
        return completed(
            &requested,
            Err(Failure {
                kind: "invalid".into(),
                message: format!("{}: {problem}", problem.field()),
            }),
            None,
        );
    }
    match app.store.get_report(&requested.request_id).await {
        Ok(Some(report)) => {
            tracing::info!(request = %requested.request_id, "already analysed; replying the stored report");
            let link = app.store.report_link(&report.id).await.ok().flatten();
            return completed(&requested, Ok(report), link);
        }
        Ok(None) => {}
        // At least once beats lost: analyse again.
        Err(e) => {
            tracing::warn!(request = %requested.request_id, error = %e, "store unreadable; analysing")
        }
    }
    let _slot = match app.slots.try_acquire() {
        Ok(slot) => slot,
        Err(busy) => return busy.into_response(),
    };
    let report = app
        .analyzer
        .run_archived(
            &requested.request_id,
            &requested.request,
            &Progress::none(),
            app.store.as_ref(),
        )
        .await;
    let link = if report.archived {
        app.store.report_link(&report.id).await.ok().flatten()
    } else {
        None
    };
    completed(&requested, Ok(report), link)
}

fn completed(
    requested: &AnalysisRequested,
    result: Result<Report, Failure>,
    report_url: Option<String>,
) -> Response {
    let (outcome, report, failure) = match result {
        Ok(r) => (Outcome::Ok, Some(r), None),
        Err(f) => (Outcome::Failed, None, Some(f)),
    };
    let data = AnalysisCompleted {
        request_id: requested.request_id.clone(),
        origin: requested.origin,
        reply_to: requested.reply_to.clone(),
        outcome,
        report,
        failure,
        notice: None,
        report_url,
    };
    let id = events::derive_id(&[EventType::AnalysisCompleted.as_str(), &requested.request_id]);
    match data.to_event(NAME, id) {
        Ok(event) => events::reply(event),
        Err(e) => {
            tracing::error!(error = %e, "completion could not be encoded");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                "completion could not be encoded",
            )
                .into_response()
        }
    }
}
