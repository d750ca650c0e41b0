//! Who the bot is: its open_id, fetched once from `GET /open-apis/bot/v3/info` and
//! cached for the life of the process.

use aegis_feishu as feishu;

/// The bot's identity; a trait so tests can name a bot without a Feishu.
#[async_trait::async_trait]
pub trait BotIdentity: Send + Sync {
    /// The bot's open_id, or `None` when no Feishu app is configured.
    async fn open_id(&self) -> Result<Option<String>, feishu::Error>;
}

/// The configured app's bot, asked once and then remembered (a failed lookup is
/// retried on the next message).
pub struct CachedBot {
    client: Option<feishu::Client>,
    open_id: tokio::sync::OnceCell<String>,
}

impl CachedBot {
    /// The bot of `client`'s app; `None`: no app configured.
    pub fn new(client: Option<feishu::Client>) -> Self {
        Self {
            client,
            open_id: tokio::sync::OnceCell::new(),
        }
    }
}

#[async_trait::async_trait]
impl BotIdentity for CachedBot {
    async fn open_id(&self) -> Result<Option<String>, feishu::Error> {
        let Some(client) = &self.client else {
            return Ok(None);
        };
        let id = self
            .open_id
            .get_or_try_init(|| async { client.bot_info().await.map(|b| b.open_id) })
            .await?;
        Ok(Some(id.clone()))
    }
}

/// A bot with a fixed open_id (tests, and setups that know it).
pub struct FixedBot(pub Option<String>);

#[async_trait::async_trait]
impl BotIdentity for FixedBot {
    async fn open_id(&self) -> Result<Option<String>, feishu::Error> {
        Ok(self.0.clone())
    }
}
