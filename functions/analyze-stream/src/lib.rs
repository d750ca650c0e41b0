//! analyze-stream: `POST /api/ops/analyze/stream`, the analysis as NDJSON progress
//! events ending in the report.
//!
//! The request is analyze's (see [`aegis_api::request`]); its errors are answered
//! before the stream starts (422, 400, 429 with `Retry-After`). Then the response is
//! `200 application/x-ndjson`: one JSON object per line, written as it happens:
//!
//! ```text
//! {"event":"start","data":{"id":"…","description":"…","time_range":{…},"model":"qwen"}}
//! {"event":"llm_start","data":{"turn":1,"model":"qwen"}}
//! {"event":"llm_token","data":{"token":"…"}}
//! {"event":"agent_thought","data":{"text":"…"}}          reasoning, shown live, never stored
//! {"event":"llm_end","data":{"turn":1,"prompt_tokens":812,"completion_tokens":40}}
//! {"event":"agent_action","data":{"step":1,"tool":"…","tool_input":{…}}}
//! {"event":"tool_start","data":{"step":1,"tool":"…"}}
//! {"event":"tool_end","data":{"step":1,"tool":"…","duration_ms":12,"ok":true}}
//! {"event":"agent_observation","data":{"step":1,"observation":"…"}}
//! {"event":"error","data":{"message":"…"}}               the analysis goes on or falls back
//! {"event":"heartbeat","data":{}}                        after 15 s without an event
//! {"event":"final","data":{"report":{…}}}               the report, as analyze answers it
//! {"event":"end","data":{"id":"…"}}                      always the last line
//! ```
//!
//! A client that disconnects cancels the analysis (its model calls and tool calls
//! are dropped).

use std::time::Duration;

use aegis_analysis::{Progress, ProgressEvent};
use aegis_api::{Admitted, Analyses, Refused};
use aegis_runtime::{BuildError, Context, Function};
use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use futures::StreamExt;
use tokio::sync::mpsc::UnboundedReceiver;
use tokio::task::AbortHandle;

/// The function's name, as in `/fn/analyze-stream/` and the manifests.
pub const NAME: &str = "analyze-stream";

/// Silence after which a `heartbeat` line is sent.
pub const HEARTBEAT: Duration = Duration::from_secs(15);

/// What the handler shares: the analyses and the heartbeat.
#[derive(Clone)]
pub struct Streams {
    /// The analyzer, the store and the slots.
    pub analysis: Analyses,
    /// Silence before a heartbeat.
    pub heartbeat: Duration,
    /// Resolves when the host is about to cut running responses at shutdown
    /// ([`aegis_runtime::cutting`]; tests pass their own).
    pub cut: fn() -> futures::future::BoxFuture<'static, ()>,
}

/// Builds the function's router from the shared context: the analyzer of the
/// configured models and backends, over the configured report store.
pub async fn build(ctx: &Context) -> Result<Function, BuildError> {
    let app = Streams {
        analysis: Analyses::build(ctx, NAME).await?,
        heartbeat: HEARTBEAT,
        cut: || Box::pin(aegis_runtime::cutting()),
    };
    Ok(Function {
        name: NAME,
        // A stream does not wait for a slot (see `stream`).
        timeout: app.analysis.run_timeout(),
        router: router(app),
    })
}

/// The routes, for the function and for tests.
pub fn router(app: Streams) -> Router {
    Router::new()
        .route("/api/ops/analyze/stream", post(stream))
        .with_state(app)
}

/// `POST /api/ops/analyze/stream`: parse, validate, take a free slot (429 when none is:
/// a stream's first line must come within seconds, so it does not queue), then stream.
async fn stream(
    State(app): State<Streams>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Refused> {
    let Admitted { request, slot } = app
        .analysis
        .admit_now(&body, aegis_api::accept_language(&headers))?;
    let id = uuid::Uuid::new_v4().simple().to_string();
    let (progress, events) = Progress::channel();
    let task = {
        let id = id.clone();
        tokio::spawn(async move {
            let _slot = slot;
            let analysis = app.analysis;
            analysis
                .analyzer
                .run_archived(&id, &request, &progress, analysis.store.as_ref())
                .await;
        })
    };
    let mut lines = Lines {
        events,
        heartbeat: app.heartbeat,
        id,
        saw_final: false,
        ended: false,
        cut_off: false,
        cut: (app.cut)(),
        _cancel: CancelOnDrop(task.abort_handle()),
    };
    // The first line (`start`, emitted at once) goes out with the headers: written
    // separately, a small second write waits for the client's delayed ACK (~40 ms).
    let first = lines.next().await;
    let rest = futures::stream::unfold(lines, |mut lines| async move {
        let line = lines.next().await?;
        Some((Ok::<_, std::convert::Infallible>(line), lines))
    });
    let stream = futures::stream::iter(first.map(Ok)).chain(rest).boxed();
    Ok((
        [
            (header::CONTENT_TYPE, "application/x-ndjson"),
            (header::CACHE_CONTROL, "no-cache"),
            // Tells nginx-style proxies not to buffer the stream.
            (header::HeaderName::from_static("x-accel-buffering"), "no"),
        ],
        Body::from_stream(stream),
    )
        .into_response())
}

/// Aborts the analysis when the response body is dropped (the client went away).
struct CancelOnDrop(AbortHandle);

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        if !self.0.is_finished() {
            tracing::info!("client disconnected; analysis cancelled");
        }
        self.0.abort();
    }
}

/// The NDJSON lines of one analysis.
struct Lines {
    events: UnboundedReceiver<ProgressEvent>,
    heartbeat: Duration,
    id: String,
    saw_final: bool,
    ended: bool,
    /// The cut came: `end` follows the `error` line, whatever else is pending.
    cut_off: bool,
    cut: futures::future::BoxFuture<'static, ()>,
    _cancel: CancelOnDrop,
}

impl Lines {
    /// The next line: an event, a heartbeat after silence, a last `error` if the
    /// analysis died without a report or the server is about to cut the stream at
    /// shutdown, then `end`; `None` after `end`.
    async fn next(&mut self) -> Option<Bytes> {
        if self.ended {
            return None;
        }
        if self.cut_off {
            self.ended = true;
            return Some(line(&ProgressEvent::End {
                id: self.id.clone(),
            }));
        }
        let received = tokio::select! {
            received = tokio::time::timeout(self.heartbeat, self.events.recv()) => received,
            () = &mut self.cut, if !self.saw_final => {
                self.cut_off = true;
                return Some(line(&ProgressEvent::Error {
                    message: "the server is shutting down before the analysis finished; ask again".into(),
                }));
            }
        };
        let event = match received {
            Err(_) => ProgressEvent::Heartbeat {},
            Ok(Some(event)) => {
                self.saw_final |= matches!(event, ProgressEvent::Final { .. });
                event
            }
            Ok(None) if !self.saw_final => {
                self.saw_final = true;
                ProgressEvent::Error {
                    message: "the analysis ended without a report".into(),
                }
            }
            Ok(None) => {
                self.ended = true;
                ProgressEvent::End {
                    id: self.id.clone(),
                }
            }
        };
        Some(line(&event))
    }
}

/// One NDJSON line.
fn line(event: &ProgressEvent) -> Bytes {
    let mut line = serde_json::to_vec(event).unwrap_or_else(|e| {
        tracing::error!(error = %e, event = event.name(), "event not serialisable");
        br#"{"event":"error","data":{"message":"an event could not be encoded"}}"#.to_vec()
    });
    line.push(b'\n');
    Bytes::from(line)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use aegis_analysis::{Analyzer, NoTools, Ranker};
    use aegis_api::Slots;
    use aegis_core::report::Report;
    use aegis_core::request::Request;
    use aegis_store::ReportStore;
    use axum::http::StatusCode;
    use http_body_util::BodyExt;
    use tower::ServiceExt;

    use super::*;

    #[tokio::test]
    async fn metrics_show_the_analyses_when_running_alone() {
        let ctx = Context::for_test();
        let store: Arc<dyn ReportStore> = Arc::new(aegis_store::Memory::default());
        ctx.provide(store).await;
        let app = aegis_runtime::mount(build(&ctx).await.unwrap(), &ctx);
        let req = axum::http::Request::get("/metrics")
            .body(Body::empty())
            .unwrap();
        let res = app.oneshot(req).await.unwrap();
        let text = res.into_body().collect().await.unwrap().to_bytes();
        let text = String::from_utf8_lossy(&text);
        // Families with no series yet (analyses by model) are not exposed; these are.
        for family in [
            "aegis_analysis_duration_seconds histogram",
            "aegis_tool_calls counter",
        ] {
            assert!(
                text.contains(&format!("# TYPE {family}")),
                "{family} missing: {text}"
            );
        }
    }

    /// An app whose engine is [`Slow`], with one slot.
    fn slow_app(heartbeat: Duration) -> Streams {
        slow_app_cut(heartbeat, || Box::pin(std::future::pending()))
    }

    /// [`slow_app`] whose shutdown cut comes when `cut` resolves.
    fn slow_app_cut(
        heartbeat: Duration,
        cut: fn() -> futures::future::BoxFuture<'static, ()>,
    ) -> Streams {
        let analyzer = Analyzer::new(
            aegis_analysis::Settings::for_test(),
            Arc::new(NoTools),
            Arc::new(Slow),
        );
        Streams {
            analysis: Analyses {
                analyzer,
                store: Arc::new(aegis_store::Memory::default()),
                slots: Slots::new(1, 0, std::time::Duration::ZERO),
                clock: Default::default(),
            },
            heartbeat,
            cut,
        }
    }

    /// An engine that takes a while, so the stream has silences to fill.
    struct Slow;

    #[async_trait::async_trait]
    impl Ranker for Slow {
        async fn analyze(&self, id: &str, request: &Request) -> Report {
            tokio::time::sleep(Duration::from_millis(300)).await;
            aegis_analysis::empty_report(id, request, "slow test engine")
        }
    }

    #[tokio::test]
    async fn silence_gets_heartbeats_and_the_stream_ends_with_end() {
        let app = slow_app(Duration::from_millis(50));
        let req = axum::http::Request::post("/api/ops/analyze/stream")
            .body(Body::from(r#"{"description": "x"}"#))
            .unwrap();
        let res = router(app).oneshot(req).await.unwrap();
        assert_eq!(res.status(), StatusCode::OK);
        let body = res.into_body().collect().await.unwrap().to_bytes();
        let names = event_names(&body);
        assert_eq!(names.first().map(String::as_str), Some("start"));
        assert!(names.iter().any(|n| n == "heartbeat"), "{names:?}");
        assert_eq!(&names[names.len() - 2..], ["final", "end"]);
    }

    fn event_names(body: &[u8]) -> Vec<String> {
        body.split(|b| *b == b'\n')
            .filter(|l| !l.is_empty())
            .map(|l| {
                serde_json::from_slice::<serde_json::Value>(l).unwrap()["event"]
                    .as_str()
                    .unwrap()
                    .to_string()
            })
            .collect()
    }

    #[tokio::test]
    async fn a_stream_cut_by_shutdown_ends_with_error_then_end() {
        // The cut comes while the (300 ms) analysis still runs.
        let app = slow_app_cut(HEARTBEAT, || {
            Box::pin(tokio::time::sleep(Duration::from_millis(50)))
        });
        let req = axum::http::Request::post("/api/ops/analyze/stream")
            .body(Body::from(r#"{"description": "x"}"#))
            .unwrap();
        let res = router(app).oneshot(req).await.unwrap();
        let body = res.into_body().collect().await.unwrap().to_bytes();
        let names = event_names(&body);
        assert_eq!(names.first().map(String::as_str), Some("start"));
        assert!(!names.iter().any(|n| n == "final"), "{names:?}");
        assert_eq!(&names[names.len() - 2..], ["error", "end"], "{names:?}");
        assert!(
            String::from_utf8_lossy(&body).contains("shutting down"),
            "the error says why"
        );
    }

    #[tokio::test]
    async fn bad_request_is_refused_before_streaming() {
        let app = slow_app(HEARTBEAT);
        let req = axum::http::Request::post("/api/ops/analyze/stream")
            .body(Body::from(r#"{"description": ""}"#))
            .unwrap();
        let res = router(app).oneshot(req).await.unwrap();
        assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    }
}
