//! webhook-receiver: takes Alertmanager webhook notifications and publishes
//! `io.aegis.alert.group.received.v1`, answering 200 only once the broker holds the event.

mod auth;
mod error;
mod extract;
mod handler;

use std::sync::Arc;
use std::time::Duration;

use aegis_core::config::Secret;
use aegis_core::events::EventSink;
use aegis_runtime::{BuildError, Context, Function};
use axum::Router;
use axum::routing::post;

pub use error::WebhookError;
pub use extract::Webhook;

/// The function's name, as in `/fn/webhook-receiver/` and the manifests.
pub const NAME: &str = "webhook-receiver";

/// What the handlers share.
#[derive(Clone)]
pub struct Receiver {
    /// Where `alert.group.received` goes.
    pub sink: Arc<dyn EventSink>,
    /// The bearer token callers must present, if one is configured.
    pub token: Option<Secret>,
}

/// Builds the function's router from the shared context: the alert intake settings
/// (the webhook token) are all it reads.
pub async fn build(ctx: &Context) -> Result<Function, BuildError> {
    let alert = ctx.read(NAME, aegis_core::alert::Config::from_env)?;
    let app = Receiver {
        sink: ctx.sink.clone(),
        token: alert.webhook_token,
    };
    Ok(Function {
        name: NAME,
        router: router(app),
        timeout: Duration::from_secs(30),
    })
}

/// `POST /alertmanager/webhook` and `POST /` (Knative), behind the optional bearer
/// check.
pub fn router(app: Receiver) -> Router {
    Router::new()
        .route("/alertmanager/webhook", post(handler::receive))
        .route("/", post(handler::receive))
        .route_layer(axum::middleware::from_fn_with_state(
            app.token.clone(),
            auth::require_bearer,
        ))
        .with_state(app)
}

#[cfg(test)]
mod tests;
