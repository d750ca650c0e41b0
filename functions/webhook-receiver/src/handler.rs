use aegis_core::events::Payload;
use axum::Json;
use axum::extract::State;
use serde_json::{Value, json};

use crate::{NAME, Receiver, Webhook, WebhookError};

/// Parse, validate, publish, answer: 200 only once the broker holds the event, so a
/// notification Alertmanager saw acknowledged is never lost. The body keeps the
/// original service's `{"status":"ok"}` and adds the event id.
pub async fn receive(
    State(app): State<Receiver>,
    Webhook(notification): Webhook,
) -> Result<Json<Value>, WebhookError> {
    notification.validate()?;
    let id = notification.event_id();
    let severity = notification.highest_severity();
    let status = notification.status.as_str();
    let event = notification
        .to_event(NAME, id.clone())
        .map_err(WebhookError::Encode)?;
    app.sink.send(event).await?;
    tracing::info!(
        event.id = %id,
        group_key = %notification.group_key,
        status,
        severity = %severity,
        alerts = notification.alerts.len(),
        "alert group published"
    );
    Ok(Json(json!({
        "status": "ok",
        "message": "notification accepted",
        "event_id": id,
        "alerts": notification.alerts.len(),
    })))
}
