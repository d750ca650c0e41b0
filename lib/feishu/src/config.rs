use aegis_core::config::{Env, Error, Secret};
use aegis_core::redact::Redactor;

/// The Feishu app, where alert cards go, and who may ask questions.
#[derive(Debug, Clone)]
pub struct Config {
    /// Open-platform base URL (`https://open.feishu.cn`, or Lark's, or a test fake).
    pub base_url: url::Url,
    /// App ID and App Secret; `None` means the console sink prints cards instead.
    pub credentials: Option<(String, Secret)>,
    /// Verification Token of the HTTP callback mode.
    pub verification_token: Option<Secret>,
    /// Encrypt Key of the HTTP callback mode.
    pub encrypt_key: Option<Secret>,
    /// Chat for alert cards when no route matches.
    pub default_chat_id: Option<String>,
    /// Label-based alert routes, first match wins.
    pub chat_routes: Vec<ChatRoute>,
    /// Whether firing alert cards @all.
    pub mention_all: bool,
    /// Chats allowed to ask (empty: all).
    pub allowed_chats: Vec<String>,
    /// Users allowed to ask (empty: all).
    pub allowed_users: Vec<String>,
    /// Analyses one chat may have in flight.
    pub chat_max_in_flight: usize,
    /// Extra model aliases accepted at the start of a question.
    pub model_aliases: Vec<String>,
    /// Every variable declared secret that is set, whichever domain reads it: what
    /// Feishu says must not carry any of them out.
    declared_secrets: Vec<Secret>,
}

/// `label=value:chat_id`: alerts whose `label` equals `value` go to `chat_id`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChatRoute {
    /// The label name.
    pub label: String,
    /// The value it must have.
    pub value: String,
    /// The chat that receives the card.
    pub chat_id: String,
}

impl Config {
    /// Reads the `FEISHU_*` variables and the chat policy.
    pub fn from_env(env: &Env) -> Result<Self, Error> {
        let base_url = env
            .url("FEISHU_BASE_URL")?
            .unwrap_or_else(|| url::Url::parse("https://open.feishu.cn").expect("constant URL"));
        let credentials = match (env.string("FEISHU_APP_ID"), env.secret("FEISHU_APP_SECRET")) {
            (Some(id), Some(secret)) => Some((id, secret)),
            (None, None) => None,
            (Some(_), None) => {
                return Err(Error::new(
                    "FEISHU_APP_SECRET",
                    "required when FEISHU_APP_ID is set",
                ));
            }
            (None, Some(_)) => {
                return Err(Error::new(
                    "FEISHU_APP_ID",
                    "required when FEISHU_APP_SECRET is set",
                ));
            }
        };
        let chat_routes = env
            .list("AEGIS_CHAT_ROUTES")
            .iter()
            .map(|r| {
                parse_route(r).ok_or_else(|| {
                    Error::new(
                        "AEGIS_CHAT_ROUTES",
                        format!("expected label=value:chat_id, got {r:?}"),
                    )
                })
            })
            .collect::<Result<_, _>>()?;
        let chat_max_in_flight = env
            .parse("AEGIS_CHAT_MAX_IN_FLIGHT", "a positive integer")?
            .unwrap_or(2);
        if chat_max_in_flight == 0 {
            return Err(Error::new(
                "AEGIS_CHAT_MAX_IN_FLIGHT",
                "expected a positive integer, got 0",
            ));
        }
        Ok(Self {
            base_url,
            credentials,
            verification_token: env.secret("FEISHU_VERIFICATION_TOKEN"),
            encrypt_key: env.secret("FEISHU_ENCRYPT_KEY"),
            default_chat_id: env.string("FEISHU_DEFAULT_CHAT_ID"),
            chat_routes,
            mention_all: env.bool("AEGIS_MENTION_ALL")?.unwrap_or(true),
            allowed_chats: env.list("AEGIS_ALLOWED_CHATS"),
            allowed_users: env.list("AEGIS_ALLOWED_USERS"),
            chat_max_in_flight,
            model_aliases: env.list("AEGIS_MODEL_ALIASES"),
            declared_secrets: env.declared_secrets(),
        })
    }

    /// What Feishu's messages are cleaned of before they reach an error or a log line:
    /// every configured secret (the app secret, the callback secrets and the rest).
    pub fn redactor(&self) -> Redactor {
        let own = [
            self.credentials.as_ref().map(|(_, secret)| secret),
            self.verification_token.as_ref(),
            self.encrypt_key.as_ref(),
        ];
        Redactor::from_secrets(
            self.declared_secrets
                .iter()
                .chain(own.into_iter().flatten()),
        )
    }
}

fn parse_route(route: &str) -> Option<ChatRoute> {
    let (matcher, chat_id) = route.rsplit_once(':')?;
    let (label, value) = matcher.split_once('=')?;
    let (label, value, chat_id) = (label.trim(), value.trim(), chat_id.trim());
    if label.is_empty() || chat_id.is_empty() {
        return None;
    }
    Some(ChatRoute {
        label: label.into(),
        value: value.into(),
        chat_id: chat_id.into(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_parse() {
        assert_eq!(
            parse_route("team=payments:oc_123"),
            Some(ChatRoute {
                label: "team".into(),
                value: "payments".into(),
                chat_id: "oc_123".into()
            })
        );
        assert_eq!(parse_route("nonsense"), None);
    }

    #[test]
    fn the_redactor_masks_the_app_secret_and_every_other_secret() {
        let vars = std::collections::HashMap::from([
            ("FEISHU_APP_ID", "cli_a1"),
            ("FEISHU_APP_SECRET", "app-secret-5678"),
            ("FEISHU_ENCRYPT_KEY", "encrypt-key-5678"),
            ("AEGIS_PROMETHEUS_AUTH", "bearer:prom-token-5678"),
        ]);
        let lookup = |k: &str| vars.get(k).map(|v| v.to_string());
        let config = Config::from_env(&Env::new(&lookup)).unwrap();
        let out = config
            .redactor()
            .redact("invalid app_secret app-secret-5678 (encrypt-key-5678, prom-token-5678)");
        assert!(!out.contains("5678"), "{out}");
        assert!(!format!("{config:?}").contains("5678"));
    }
}
