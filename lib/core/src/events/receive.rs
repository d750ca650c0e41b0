use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use cloudevents::{AttributesReader, Event};

/// A CloudEvent received in binary or structured mode, read under the body limit that
/// the runtime sets (cloudevents-sdk's own extractor reads unbounded bodies).
#[derive(Debug, Clone)]
pub struct Received(pub Event);

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
}

impl IntoResponse for Rejection {
    fn into_response(self) -> Response {
        let status = match &self {
            Self::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            Self::Body(_) | Self::Malformed(_) => StatusCode::BAD_REQUEST,
        };
        tracing::warn!(error = %self, "event rejected");
        (status, self.to_string()).into_response()
    }
}

impl<S: Send + Sync> FromRequest<S> for Received {
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
        crate::trace::adopt_event_context(&event);
        tracing::debug!(event.id = %event.id(), event.ty = %event.ty(), event.source = %event.source(), "event received");
        Ok(Self(event))
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

    async fn extract(req: axum::http::Request<Body>) -> Result<Received, Rejection> {
        Received::from_request(req, &()).await
    }

    #[tokio::test]
    async fn binary_and_structured_are_read() {
        let binary = axum::http::Request::post("/")
            .header("ce-specversion", "1.0")
            .header("ce-id", "1")
            .header("ce-type", "io.aegis.analysis.requested.v1")
            .header("ce-source", "/aegis/test")
            .header("content-type", "application/json")
            .body(Body::from(r#"{"x":1}"#))
            .unwrap();
        let Received(e) = extract(binary).await.unwrap();
        assert_eq!(e.id(), "1");

        let structured = axum::http::Request::post("/")
            .header("content-type", "application/cloudevents+json")
            .body(Body::from(
                r#"{"specversion":"1.0","id":"2","type":"t","source":"/s","datacontenttype":"application/json","data":{"x":1}}"#,
            ))
            .unwrap();
        let Received(e) = extract(structured).await.unwrap();
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
}
