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
/// without running again; one being analysed by another delivery (a duplicate or a
/// redelivery) waits for that one's report instead of running twice. An invalid
/// request replies a `failed` completion, so the asker hears why; another event type
/// or a malformed request is 400 (never retried, see [`Received`]); a full queue is
/// 429 (the broker retries).
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
    let claim = format!("analysis-{}", requested.request_id);
    if let Some(report) = claim_or_await(&app, &claim, &requested.request_id).await {
        tracing::info!(request = %requested.request_id, "analysed by another delivery; replying its report");
        let link = app.store.report_link(&report.id).await.ok().flatten();
        return completed(&requested, Ok(report), link);
    }
    let _slot = match app.slots.acquire().await {
        Ok(slot) => slot,
        Err(busy) => {
            // Not started: the broker's retry may claim it again.
            if let Err(e) = app.store.release(&claim).await {
                tracing::warn!(request = %requested.request_id, error = %e, "claim not released; a retry waits for it to lapse");
            }
            return busy.into_response();
        }
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

/// How often a duplicate delivery looks for the report of the one that claimed it.
const CLAIM_POLL: std::time::Duration = std::time::Duration::from_millis(500);

/// Claims the analysis of `request_id` (`None`: go ahead), or waits for the delivery
/// holding the claim to store its report (`Some`). A claim older than the longest
/// analysis (with its wait for a slot) is one whose worker died: it is taken over. A
/// store that cannot say means "go ahead": at least once beats lost.
async fn claim_or_await(app: &Analyses, claim: &str, request_id: &str) -> Option<Report> {
    let lease = app.timeout();
    let waiting = std::time::Instant::now();
    loop {
        // A claim that neither shows a report nor lapses (a marker left without a
        // time) is not waited on longer than an analysis could take.
        if waiting.elapsed() > lease {
            tracing::warn!(request = %request_id, "claimed analysis never reported; analysing");
            return None;
        }
        match app.store.claim_for(claim, lease).await {
            Ok(aegis_store::Claim::Won) => return None,
            Ok(aegis_store::Claim::AlreadyTaken) => {}
            Err(e) => {
                tracing::warn!(request = %request_id, error = %e, "claim unavailable; analysing");
                return None;
            }
        }
        match app.store.get_report(request_id).await {
            Ok(Some(report)) => return Some(report),
            Ok(None) => tokio::time::sleep(CLAIM_POLL).await,
            Err(e) => {
                tracing::warn!(request = %request_id, error = %e, "store unreadable; analysing");
                return None;
            }
        }
    }
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
        language: requested.request.language,
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
