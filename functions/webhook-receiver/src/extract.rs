use aegis_core::alert::{Notification, SUPPORTED_VERSION};
use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::StatusCode;

use crate::WebhookError;

/// A notification read from the body under the runtime's body limit. Unlike axum's
/// `Json` (422, no location) a bad body is a 400 naming the JSON path at fault, such as
/// `alerts[0].startsAt: premature end of input`; a wrong `version` is reported as such
/// even when the rest of the payload does not match version 4 either.
#[derive(Debug, Clone)]
pub struct Webhook(pub Notification);

impl<S: Send + Sync> FromRequest<S> for Webhook {
    type Rejection = WebhookError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let body = Bytes::from_request(req, state).await.map_err(|e| {
            if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                WebhookError::TooLarge(format!("request body too large: {}", e.body_text()))
            } else {
                WebhookError::Malformed(e.body_text())
            }
        })?;
        parse(&body).map(Self)
    }
}

/// Parses a notification, locating the first error.
///
/// A valid body is parsed once, without tracking paths; only a body that fails is
/// parsed again with `serde_path_to_error` to name the field at fault. Tracking every
/// path cost about a fifth of the receiver's instructions per notification
/// (callgrind), and nearly every notification is valid.
pub fn parse(body: &[u8]) -> Result<Notification, WebhookError> {
    if let Ok(n) = serde_json::from_slice(body) {
        return Ok(n);
    }
    let mut de = serde_json::Deserializer::from_slice(body);
    let error = match serde_path_to_error::deserialize::<_, Notification>(&mut de) {
        Ok(n) => match de.end() {
            Ok(()) => return Ok(n),
            Err(e) => e.to_string(),
        },
        Err(e) => {
            let path = e.path().to_string();
            if path == "." {
                e.into_inner().to_string()
            } else {
                format!("{path}: {}", e.into_inner())
            }
        }
    };
    if let Some(version) = other_version(body) {
        return Err(aegis_core::alert::Invalid::new(
            "version",
            format!(
                "unsupported webhook payload version {version:?}; expected \"{SUPPORTED_VERSION}\""
            ),
        )
        .into());
    }
    Err(WebhookError::Malformed(error))
}

/// The body's `version` when it is readable and not the supported one.
fn other_version(body: &[u8]) -> Option<String> {
    #[derive(serde::Deserialize)]
    struct Versioned {
        version: serde_json::Value,
    }
    let v: Versioned = serde_json::from_slice(body).ok()?;
    let version = match v.version {
        serde_json::Value::String(s) => s,
        other => other.to_string(),
    };
    (version != SUPPORTED_VERSION).then_some(version)
}

#[cfg(test)]
mod proptests;
