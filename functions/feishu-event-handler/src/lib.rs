//! feishu-event-handler: turns chat messages into analysis requests; also the HTTP
//! callback mode of Feishu event subscription.
//!
//! Routes: `POST /` (Trigger subscriber of `io.aegis.feishu.message.received.v1`,
//! replies `io.aegis.analysis.requested.v1`, or a notice as a failed
//! `io.aegis.analysis.completed.v1`, or 202) and `POST /feishu/events` (Feishu's HTTP
//! callbacks, published into the broker).

mod bot;
mod callback;
mod error;
mod handler;
mod question;
pub mod time_phrase;

use std::sync::Arc;
use std::time::Duration;

use aegis_runtime::{BuildError, Context, Function};
use axum::Router;
use axum::routing::post;

pub use bot::{BotIdentity, CachedBot, FixedBot};
pub use callback::Callback;
pub use error::HandlerError;
pub use handler::{App, MAX_AGE, Policy};

/// The function's name, as in `/fn/feishu-event-handler/` and the manifests.
pub const NAME: &str = "feishu-event-handler";

/// Builds the function's router from the shared context.
pub fn build(ctx: &Context) -> Result<Function, BuildError> {
    let bot = Arc::new(CachedBot::new(aegis_feishu::Client::from_config(
        &ctx.config.feishu,
    )));
    Ok(Function {
        name: NAME,
        router: router(app(ctx, bot), callback_state(ctx)),
        timeout: Duration::from_secs(30),
    })
}

/// The subscriber's state from the context, with `bot` as the bot's identity.
pub fn app(ctx: &Context, bot: Arc<dyn BotIdentity>) -> App {
    let feishu = &ctx.config.feishu;
    App {
        bot,
        store: ctx.store.clone(),
        policy: Arc::new(Policy {
            allowed_chats: feishu.allowed_chats.clone(),
            allowed_users: feishu.allowed_users.clone(),
            chat_max_in_flight: feishu.chat_max_in_flight,
            analysis_budget: ctx.config.analysis.budget,
            model_aliases: feishu.model_aliases.clone(),
            timezone: ctx.config.analysis.timezone,
        }),
    }
}

/// The callback route's state from the context.
pub fn callback_state(ctx: &Context) -> Callback {
    Callback {
        verification_token: ctx.config.feishu.verification_token.clone(),
        encrypt_key: ctx.config.feishu.encrypt_key.clone(),
        sink: ctx.sink.clone(),
    }
}

/// The routes.
pub fn router(app: App, callback: Callback) -> Router {
    Router::new()
        .route("/", post(handler::receive).with_state(app))
        .route(
            "/feishu/events",
            post(callback::receive).with_state(callback),
        )
}
