//! notifier: the only writer to Feishu. Posts alert cards, acknowledgements and result
//! cards, and asks for automatic analyses of severe alerts.

mod alert_card;
mod error;
mod handler;
mod inbound;
mod incident_card;
mod metrics;
mod order;
mod request;
mod result_card;
mod route;

use std::sync::Arc;
use std::time::Duration;

use aegis_core::alert::Notification;
use aegis_core::config::Env;
use aegis_feishu::{self as feishu, Messenger};
use aegis_runtime::{BuildError, Context, Function};
use aegis_store::ReportStore;
use axum::Router;
use axum::routing::post;

pub use alert_card::{Style, render as render_alert_card};
pub use error::NotifyError;
pub use inbound::Inbound;
pub use metrics::{SendLabels, Sends};
pub use order::Order;
pub use result_card::{ack, apology, notice, render as render_result};

/// The function's name, as in `/fn/notifier/` and the manifests.
pub const NAME: &str = "notifier";

/// What the handler shares.
#[derive(Clone)]
pub struct Notifier {
    /// Feishu, or the console.
    pub messenger: Arc<dyn Messenger>,
    /// Alert-card message ids.
    pub store: Arc<dyn ReportStore>,
    /// Chats and routes.
    pub feishu: Arc<feishu::Config>,
    /// How alert cards look.
    pub style: Style,
    /// The language each chat reads.
    pub languages: aegis_core::request::Languages,
    /// Severities analysed automatically (lower-case).
    pub auto_analyze: Vec<String>,
    /// No Feishu app configured: cards without a chat go to the console.
    pub local: bool,
    /// Send outcomes on `/metrics`.
    pub sends: metrics::Sends,
    /// A conversation's messages (an alert group's cards, a question's
    /// acknowledgement and result) in the order of their events.
    pub order: Order,
    /// Which incident each alert group belongs to, decided once in the store.
    pub incidents: aegis_incident::Incidents,
    /// `AEGIS_PUBLIC_BASE_URL`, where the incident cards link to their timeline page.
    pub public_base: Option<String>,
}

impl Notifier {
    /// The app for `config`, sending through `messenger`, keeping card ids in `store`
    /// and counting sends in `ctx`'s registry.
    pub fn new(
        ctx: &Context,
        config: Config,
        store: Arc<dyn ReportStore>,
        messenger: Arc<dyn Messenger>,
    ) -> Self {
        let incidents = aegis_incident::Incidents::new(store.clone(), config.incident);
        let public_base = match &config.store.links {
            aegis_store::ReportLinks::PublicBase(base) => Some(base.as_str().to_string()),
            _ => None,
        };
        Self {
            messenger,
            store,
            style: Style {
                timezone: config.analysis.timezone,
                mention_all: config.feishu.mention_all,
                lang: config.analysis.languages.default,
            },
            languages: config.analysis.languages.clone(),
            auto_analyze: config.alert.auto_analyze_severities,
            incidents,
            public_base,
            local: config.feishu.credentials.is_none(),
            feishu: Arc::new(config.feishu),
            sends: metrics::Sends::register(&ctx.metrics),
            order: Order::new(order::SETTLE),
        }
    }

    /// The card style for `chat`, in the language it reads.
    pub fn style_for(&self, chat: Option<&str>) -> Style {
        self.style.in_lang(self.lang_of(chat))
    }

    /// The language `chat` reads (the default for no chat).
    pub fn lang_of(&self, chat: Option<&str>) -> aegis_i18n::Lang {
        chat.map_or(self.languages.default, |c| self.languages.of_chat(c))
    }

    /// Whether the policy analyses `n` automatically: its highest severity, or any
    /// alert's own `severity` label, is in `AEGIS_AUTO_ANALYZE_SEVERITIES`.
    pub fn auto_analyzes(&self, n: &Notification) -> bool {
        let wanted = |s: &str| self.auto_analyze.iter().any(|w| w.eq_ignore_ascii_case(s));
        wanted(n.highest_severity().as_str())
            || n.alerts
                .iter()
                .filter_map(|a| a.labels.get("severity"))
                .any(|s| wanted(s))
    }
}

/// What notifier reads of the configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// The Feishu app, chats and chat policy.
    pub feishu: feishu::Config,
    /// Which alerts are analysed automatically.
    pub alert: aegis_core::alert::Config,
    /// The zone cards give times in.
    pub analysis: aegis_core::request::Config,
    /// Where card ids and markers are kept.
    pub store: aegis_store::Config,
    /// Which alert groups make one incident.
    pub incident: aegis_incident::Rule,
}

impl Config {
    /// Reads notifier's part of the configuration.
    pub fn from_env(env: &Env) -> Result<Self, aegis_core::config::Error> {
        Ok(Self {
            feishu: feishu::Config::from_env(env)?,
            alert: aegis_core::alert::Config::from_env(env)?,
            analysis: aegis_core::request::Config::from_env(env)?,
            store: aegis_store::Config::from_env(env)?,
            incident: aegis_incident::Rule::from_env(env)?,
        })
    }
}

/// Builds the function's router from the shared context: the Feishu client when an
/// app is configured, else the console.
pub async fn build(ctx: &Context) -> Result<Function, BuildError> {
    let config = ctx.read(NAME, Config::from_env)?;
    let messenger = feishu::messenger(&config.feishu);
    build_with(ctx, config, messenger).await
}

/// The function with a given configuration and messenger (tests pass a client with
/// short waits).
pub async fn build_with(
    ctx: &Context,
    config: Config,
    messenger: Arc<dyn Messenger>,
) -> Result<Function, BuildError> {
    let store = ctx
        .shared(NAME, || aegis_store::open(&config.store))
        .await?;
    aegis_store::register_metrics(&ctx.metrics);
    Ok(Function {
        name: NAME,
        router: router(Notifier::new(ctx, config, store, messenger)),
        timeout: Duration::from_secs(30),
    })
}

/// `POST /`: the Trigger subscriber.
pub fn router(app: Notifier) -> Router {
    Router::new()
        .route("/", post(handler::receive))
        .with_state(app)
}

#[cfg(test)]
mod tests;
