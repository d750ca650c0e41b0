use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use cloudevents::{AttributesReader, Event};

use super::{Decode, DecodeError};

/// Any CloudEvent, received in binary or structured mode, read under the body limit
/// that the runtime sets (cloudevents-sdk's own extractor reads unbounded bodies).
/// For what takes every type (the broker's ingress, the dead letter sink); a
/// subscriber receives its data typed with [`Received`].
#[derive(Debug, Clone)]
pub struct AnyEvent(pub Event);

/// A subscriber's event: read as [`AnyEvent`] reads it, its type checked against what
/// `T` takes and its data decoded, so a handler starts from typed data. A wrong type
/// or data that does not match is 400 naming what was expected.
#[derive(Debug, Clone)]
pub struct Received<T> {
    /// The event as received (id, time, extensions; its data too).
    pub event: Event,
    /// Its data, decoded.
    pub data: T,
}

/// Why a request is not a CloudEvent.
#[derive(Debug, thiserror::Error)]
pub enum Rejection {
    /// The body is larger than the limit.
    #[error("request body too large: {0}")]
    TooLarge(String),
    /// The body could not be read.
    #[error("request body could not be read: {0}")]
    Body(String),
    /// Headers or body do not form a valid CloudEvent.
    #[error("malformed CloudEvent: {0}")]
    Malformed(String),
    /// A CloudEvent, but of a type the subscriber does not take or with data that
    /// does not match its type.
    #[error(transparent)]
    Decode(#[from] DecodeError),
}

impl IntoResponse for Rejection {
    fn into_response(self) -> Response {
        let status = match &self {
            Self::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            Self::Body(_) | Self::Malformed(_) | Self::Decode(_) => StatusCode::BAD_REQUEST,
        };
        tracing::warn!(error = %self, "event rejected");
        (status, self.to_string()).into_response()
    }
}

impl<S: Send + Sync> FromRequest<S> for AnyEvent {
    type Rejection = Rejection;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let headers = req.headers().clone();
        let body = Bytes::from_request(req, state).await.map_err(|e| {
            if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                Rejection::TooLarge(e.body_text())
            } else {
                Rejection::Body(e.body_text())
            }
        })?;
        let event = cloudevents::binding::http::to_event(&headers, body.to_vec())
            .map_err(|e| Rejection::Malformed(e.to_string()))?;
        crate::trace_context::adopt_event_context(&event);
        tracing::debug!(event.id = %event.id(), event.ty = %event.ty(), event.source = %event.source(), "event received");
        Ok(Self(event))
    }
}

impl<S: Send + Sync, T: Decode + Send> FromRequest<S> for Received<T> {
    type Rejection = Rejection;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let AnyEvent(event) = AnyEvent::from_request(req, state).await?;
        let data = T::decode(&event)?;
        Ok(Self { event, data })
    }
}

/// 200 with `event` as the reply, in binary mode: the broker publishes it.
pub fn reply(event: Event) -> Response {
    let mut res = event.into_response();
    *res.status_mut() = StatusCode::OK;
    res
}

/// 202: accepted, nothing to reply.
pub fn accepted() -> Response {
    StatusCode::ACCEPTED.into_response()
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use serde::{Deserialize, Serialize};

    use crate::events::{EventType, Payload};

    async fn extract(req: axum::http::Request<Body>) -> Result<AnyEvent, Rejection> {
        AnyEvent::from_request(req, &()).await
    }

    fn binary(ty: &str, body: &'static str) -> axum::http::Request<Body> {
        axum::http::Request::post("/")
            .header("ce-specversion", "1.0")
            .header("ce-id", "1")
            .header("ce-type", ty)
            .header("ce-source", "/aegis/test")
            .header("content-type", "application/json")
            .body(Body::from(body))
            .unwrap()
    }

    /// A payload of the test's own, so the extractor is checked apart from any
    /// real event's data.
    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Asked {
        question: String,
    }

    impl Payload for Asked {
        const TYPE: EventType = EventType::AnalysisRequested;
        fn extensions(&self) -> Vec<(&'static str, String)> {
            Vec::new()
        }
    }

    async fn receive(req: axum::http::Request<Body>) -> Result<Received<Asked>, Response> {
        Received::<Asked>::from_request(req, &())
            .await
            .map_err(IntoResponse::into_response)
    }

    async fn text(res: Response) -> String {
        let body = axum::body::to_bytes(res.into_body(), usize::MAX)
            .await
            .unwrap();
        String::from_utf8(body.to_vec()).unwrap()
    }

    #[tokio::test]
    async fn binary_and_structured_are_read() {
        let AnyEvent(e) = extract(binary("io.aegis.analysis.requested.v1", r#"{"x":1}"#))
            .await
            .unwrap();
        assert_eq!(e.id(), "1");

        let structured = axum::http::Request::post("/")
            .header("content-type", "application/cloudevents+json")
            .body(Body::from(
                r#"{"specversion":"1.0","id":"2","type":"t","source":"/s","datacontenttype":"application/json","data":{"x":1}}"#,
            ))
            .unwrap();
        let AnyEvent(e) = extract(structured).await.unwrap();
        assert_eq!(e.id(), "2");
    }

    #[tokio::test]
    async fn malformed_event_is_400_with_reason() {
        let req = axum::http::Request::post("/")
            .header("ce-specversion", "1.0")
            .body(Body::empty())
            .unwrap();
        let err = extract(req).await.unwrap_err();
        let res = err.into_response();
        assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    }

    #[tokio::test]
    async fn the_right_type_decodes() {
        let ty = "io.aegis.analysis.requested.v1";
        let received = receive(binary(ty, r#"{"question":"why"}"#)).await.unwrap();
        assert_eq!(received.data.question, "why");
        assert_eq!(received.event.id(), "1");
    }

    #[tokio::test]
    async fn a_wrong_type_is_400_naming_the_expected_type() {
        let res = receive(binary(
            "io.aegis.alert.group.received.v1",
            r#"{"question":"why"}"#,
        ))
        .await
        .unwrap_err();
        assert_eq!(res.status(), StatusCode::BAD_REQUEST);
        let text = text(res).await;
        assert!(
            text.contains("expected io.aegis.analysis.requested.v1")
                && text.contains("io.aegis.alert.group.received.v1"),
            "{text}"
        );
    }

    #[tokio::test]
    async fn malformed_data_is_400_naming_the_type() {
        let ty = "io.aegis.analysis.requested.v1";
        for body in [r#"{"question":1}"#, "[]", ""] {
            let res = receive(binary(ty, body)).await.unwrap_err();
            assert_eq!(res.status(), StatusCode::BAD_REQUEST, "{body}");
            let text = text(res).await;
            assert!(text.contains(ty), "{body}: {text}");
        }
    }

    #[test]
    fn several_expected_types_are_listed() {
        let err = DecodeError::wrong_type(
            &[EventType::AlertGroupReceived, EventType::AnalysisCompleted],
            "x",
        );
        assert_eq!(
            err.to_string(),
            "expected one of io.aegis.alert.group.received.v1, io.aegis.analysis.completed.v1, got x"
        );
    }
}
