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

use aegis_core::config::Env;
use aegis_runtime::{BuildError, Context, Function};
use aegis_store::ReportStore;
use axum::Router;
use axum::routing::post;

pub use bot::{BotIdentity, CachedBot, FixedBot};
pub use callback::Callback;
pub use error::HandlerError;
pub use handler::{Handler, MAX_AGE, Policy};

/// The function's name, as in `/fn/feishu-event-handler/` and the manifests.
pub const NAME: &str = "feishu-event-handler";

/// What the chat handler reads of the configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// The Feishu app, its callback secrets and the chat policy.
    pub feishu: aegis_feishu::Config,
    /// The analysis budget (a chat's in-flight window) and the zone of time phrases.
    pub analysis: aegis_core::request::Config,
    /// Where claims and verdicts are kept.
    pub store: aegis_store::Config,
}

impl Config {
    /// Reads the chat handler's part of the configuration.
    pub fn from_env(env: &Env) -> Result<Self, aegis_core::config::Error> {
        Ok(Self {
            feishu: aegis_feishu::Config::from_env(env)?,
            analysis: aegis_core::request::Config::from_env(env)?,
            store: aegis_store::Config::from_env(env)?,
        })
    }
}

/// Builds the function's router from the shared context.
pub async fn build(ctx: &Context) -> Result<Function, BuildError> {
    let config = ctx.read(NAME, Config::from_env)?;
    let store = ctx
        .shared(NAME, || aegis_store::open(&config.store))
        .await?;
    aegis_store::register_metrics(&ctx.metrics);
    let bot = Arc::new(CachedBot::new(aegis_feishu::Client::from_config(
        &config.feishu,
    )));
    Ok(Function {
        name: NAME,
        router: router(app(&config, store, bot), callback_state(ctx, &config)),
        timeout: Duration::from_secs(30),
    })
}

/// The subscriber's state from `config`, with `bot` as the bot's identity.
pub fn app(config: &Config, store: Arc<dyn ReportStore>, bot: Arc<dyn BotIdentity>) -> Handler {
    let feishu = &config.feishu;
    Handler::new(
        bot,
        store,
        Policy {
            allowed_chats: feishu.allowed_chats.clone(),
            allowed_users: feishu.allowed_users.clone(),
            chat_max_in_flight: feishu.chat_max_in_flight,
            analysis_budget: config.analysis.budget,
            model_aliases: feishu.model_aliases.clone(),
            timezone: config.analysis.timezone,
            languages: config.analysis.languages.clone(),
        },
    )
}

/// The callback route's state: the callback secrets, publishing to `ctx`'s sink.
pub fn callback_state(ctx: &Context, config: &Config) -> Callback {
    Callback {
        verification_token: config.feishu.verification_token.clone(),
        encrypt_key: config.feishu.encrypt_key.clone(),
        sink: ctx.sink.clone(),
    }
}

/// The routes.
pub fn router(app: Handler, callback: Callback) -> Router {
    Router::new()
        .route("/", post(handler::receive).with_state(app))
        .route(
            "/feishu/events",
            post(callback::receive).with_state(callback),
        )
}
