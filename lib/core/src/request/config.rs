use std::collections::HashMap;
use std::time::Duration;

use aegis_i18n::Lang;

use crate::config::{Env, Error};

/// How analyses run, wherever they are asked for or shown: the zone times are read in,
/// the budgets of one analysis, the analyses one instance runs at once, and the public
/// address of reports. The analyze functions run by it; notifier and the chat handler
/// read its zone and budget.
#[derive(Debug, Clone)]
pub struct Config {
    /// Zone for naive times and chat time phrases.
    pub timezone: chrono_tz::Tz,
    /// Wall-clock budget of one analysis.
    pub budget: Duration,
    /// Most agent steps.
    pub max_steps: usize,
    /// Most prompt+completion tokens.
    pub token_budget: u64,
    /// Analyses one instance runs at once.
    pub concurrency: usize,
    /// Requests that may wait for a slot beyond those running; more are refused (429).
    pub queue: usize,
    /// How long a request waits for a slot before it is refused (429).
    pub queue_wait: Duration,
    /// Public base URL of the analyze function.
    pub public_base_url: Option<url::Url>,
    /// The languages chats read.
    pub languages: Languages,
}

/// The language each chat reads: alerts, incidents and anything no question set.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Languages {
    /// Every chat's unless it has its own (`AEGIS_LANGUAGE`).
    pub default: Lang,
    /// Chats with their own (`AEGIS_CHAT_LANGUAGES`, `chat_id=zh-CN,...`).
    pub chats: HashMap<String, Lang>,
}

impl Languages {
    /// Reads `AEGIS_LANGUAGE` and `AEGIS_CHAT_LANGUAGES`.
    pub fn from_env(env: &Env) -> Result<Self, Error> {
        let mut chats = HashMap::new();
        for pair in env.list("AEGIS_CHAT_LANGUAGES") {
            let bad = |why: String| Error::new("AEGIS_CHAT_LANGUAGES", why);
            let (chat, lang) = pair
                .split_once('=')
                .ok_or_else(|| bad(format!("expected chat_id=language, got `{pair}`")))?;
            chats.insert(chat.trim().to_string(), lang.parse().map_err(bad)?);
        }
        Ok(Self {
            default: env
                .parse("AEGIS_LANGUAGE", "en or zh-CN")?
                .unwrap_or_default(),
            chats,
        })
    }

    /// The language `chat` reads: its own, else the default.
    pub fn of_chat(&self, chat: &str) -> Lang {
        self.chats.get(chat).copied().unwrap_or(self.default)
    }
}

impl Config {
    /// Reads `AEGIS_TIMEZONE`, the `AEGIS_ANALYSIS_*` budgets and the
    /// `AEGIS_ANALYZE_*` admission settings and the chats' languages.
    pub fn from_env(env: &Env) -> Result<Self, Error> {
        let concurrency = env
            .parse("AEGIS_ANALYZE_CONCURRENCY", "a positive integer")?
            .unwrap_or(4);
        if concurrency == 0 {
            return Err(Error::new(
                "AEGIS_ANALYZE_CONCURRENCY",
                "expected a positive integer, got 0",
            ));
        }
        Ok(Self {
            timezone: env
                .parse("AEGIS_TIMEZONE", "an IANA time zone such as Asia/Shanghai")?
                .unwrap_or(chrono_tz::Asia::Shanghai),
            budget: env
                .duration("AEGIS_ANALYSIS_BUDGET")?
                .unwrap_or(Duration::from_secs(240)),
            max_steps: env
                .parse("AEGIS_ANALYSIS_MAX_STEPS", "a positive integer")?
                .unwrap_or(12),
            token_budget: env
                .parse("AEGIS_ANALYSIS_TOKEN_BUDGET", "a positive integer")?
                .unwrap_or(60_000),
            concurrency,
            queue: env
                .parse("AEGIS_ANALYZE_QUEUE", "a non-negative integer")?
                .unwrap_or(64),
            queue_wait: env
                .duration("AEGIS_ANALYZE_QUEUE_WAIT")?
                .unwrap_or(Duration::from_secs(240)),
            public_base_url: env.url("AEGIS_PUBLIC_BASE_URL")?,
            languages: Languages::from_env(env)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zero_concurrency_names_the_variable() {
        let err = Config::from_env(&Env::new(&|name| {
            (name == "AEGIS_ANALYZE_CONCURRENCY").then(|| "0".to_string())
        }))
        .unwrap_err();
        assert_eq!(err.name, "AEGIS_ANALYZE_CONCURRENCY");
    }

    fn read(vars: &[(&str, &str)]) -> Result<Config, Error> {
        let vars: Vec<(String, String)> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Config::from_env(&Env::new(&move |name| {
            vars.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone())
        }))
    }

    #[test]
    fn a_chat_reads_its_own_language_else_the_default() {
        let config = read(&[
            ("AEGIS_LANGUAGE", "zh-CN"),
            ("AEGIS_CHAT_LANGUAGES", "oc_ops=en, oc_sre = zh"),
        ])
        .expect("valid");
        assert_eq!(config.languages.of_chat("oc_ops"), Lang::En);
        assert_eq!(config.languages.of_chat("oc_sre"), Lang::ZhCn);
        assert_eq!(config.languages.of_chat("oc_other"), Lang::ZhCn);
        assert_eq!(read(&[]).expect("valid").languages.default, Lang::En);
    }

    #[test]
    fn an_unknown_language_names_the_variable_and_the_choices() {
        let err = read(&[("AEGIS_LANGUAGE", "fr")]).expect_err("fr");
        assert_eq!(err.name, "AEGIS_LANGUAGE");
        let err = read(&[("AEGIS_CHAT_LANGUAGES", "oc_1=klingon")]).expect_err("klingon");
        assert_eq!(err.name, "AEGIS_CHAT_LANGUAGES");
        assert!(err.to_string().contains("en, zh-CN"), "{err}");
        let err = read(&[("AEGIS_CHAT_LANGUAGES", "oc_1")]).expect_err("no =");
        assert!(err.to_string().contains("chat_id=language"), "{err}");
    }
}
