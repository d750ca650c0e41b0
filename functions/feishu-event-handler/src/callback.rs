//! `POST /feishu/events`: the HTTP callback mode of event subscription, for apps that
//! subscribe with a request URL instead of the long connection (`docs/feishu-protocol.md`
//! §3). It answers the URL verification, checks the token and the signature, decrypts,
//! and publishes the same `feishu.message.received` event the bridge would.

use std::sync::Arc;

use aegis_core::config::Secret;
use aegis_core::events::EventSink;
use aegis_feishu::callback::{
    self, HEADER_NONCE, HEADER_SIGNATURE, HEADER_TIMESTAMP, signature_matches, token_matches,
};
use aegis_feishu::event::{Envelope, received_event};
use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use serde_json::{Value, json};

use crate::error::HandlerError;

/// The callback route's state.
#[derive(Clone)]
pub struct Callback {
    /// The Verification Token; `None` turns the mode off.
    pub verification_token: Option<Secret>,
    /// The Encrypt Key; when set, bodies are encrypted and signed.
    pub encrypt_key: Option<Secret>,
    /// Where the event goes.
    pub sink: Arc<dyn EventSink>,
}

/// `POST /feishu/events`.
pub async fn receive(
    State(cb): State<Callback>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Value>, HandlerError> {
    let Some(token) = &cb.verification_token else {
        return Err(HandlerError::CallbackDisabled);
    };
    let outer: Value = serde_json::from_slice(&body)
        .map_err(|e| HandlerError::Malformed(format!("body is not JSON: {e}")))?;
    let plain: Value = match outer.get("encrypt").and_then(Value::as_str) {
        Some(encrypted) => {
            let key = cb.encrypt_key.as_ref().ok_or(HandlerError::NoEncryptKey)?;
            let bytes = callback::decrypt(key.expose(), encrypted)?;
            serde_json::from_slice(&bytes)
                .map_err(|e| HandlerError::Malformed(format!("decrypted body is not JSON: {e}")))?
        }
        None => outer,
    };
    let envelope: Envelope = serde_json::from_value(plain.clone())
        .map_err(|e| HandlerError::Malformed(e.to_string()))?;

    if envelope.kind.as_deref() == Some("url_verification") {
        // No signature on this request; the token proves it comes from Feishu.
        check_token(token, envelope.token.as_deref())?;
        let challenge = envelope.challenge.unwrap_or_default();
        return Ok(Json(json!({ "challenge": challenge })));
    }
    if let Some(key) = &cb.encrypt_key {
        let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
        let (Some(ts), Some(nonce), Some(sig)) = (
            header(HEADER_TIMESTAMP),
            header(HEADER_NONCE),
            header(HEADER_SIGNATURE),
        ) else {
            return Err(HandlerError::BadSignature);
        };
        if !signature_matches(ts, nonce, key.expose(), &body, sig) {
            return Err(HandlerError::BadSignature);
        }
    }
    check_token(token, envelope.verification_token())?;
    let fallback = aegis_core::events::derive_id(&[String::from_utf8_lossy(&body)]);
    let event = received_event(&plain, crate::NAME, &fallback)?;
    cb.sink.send(event).await?;
    Ok(Json(json!({ "msg": "success" })))
}

fn check_token(expected: &Secret, given: Option<&str>) -> Result<(), HandlerError> {
    match given {
        Some(given) if token_matches(expected.expose(), given) => Ok(()),
        _ => Err(HandlerError::BadToken),
    }
}
