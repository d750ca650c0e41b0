//! The whole configuration, read once from the environment at start-up and validated
//! into types (the primitives are `aegis_core::config`).

use aegis_core::config::{Env, Error};

/// The whole effective configuration of an Aegis process.
///
/// Each domain owns its part; this struct only gathers them so one start-up check
/// validates everything and `aegis config check` can print it.
#[derive(Debug, Clone)]
pub struct Config {
    /// Listening, limits and telemetry.
    pub runtime: crate::ServeConfig,
    /// Where events go (`K_SINK`) and how.
    pub events: aegis_core::events::Config,
    /// The Feishu app, chats and chat policy.
    pub feishu: aegis_feishu::Config,
    /// Prometheus, Loki and Jaeger.
    pub tools: aegis_tools::Config,
    /// Models and their providers.
    pub llm: aegis_llm::Config,
    /// The report store.
    pub store: aegis_store::Config,
    /// Alert intake and routing policy.
    pub alert: aegis_core::alert::Config,
    /// Analysis budgets and time zone.
    pub analysis: aegis_analysis::Config,
}

impl Config {
    /// Reads the process environment.
    pub fn from_env() -> Result<Self, Error> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads configuration through `var`; tests pass a closure over a map and never
    /// touch the process environment.
    pub fn from_lookup(var: impl Fn(&str) -> Option<String>) -> Result<Self, Error> {
        let env = Env::new(&var);
        Ok(Self {
            runtime: crate::ServeConfig::from_env(&env)?,
            events: aegis_core::events::Config::from_env(&env)?,
            feishu: aegis_feishu::Config::from_env(&env)?,
            tools: aegis_tools::Config::from_env(&env)?,
            llm: aegis_llm::Config::from_env(&env)?,
            store: aegis_store::Config::from_env(&env)?,
            alert: aegis_core::alert::Config::from_env(&env)?,
            analysis: aegis_analysis::Config::from_env(&env)?,
        })
    }

    /// Every configured secret value (Feishu app secret and tokens, the webhook token,
    /// model API keys, backend credentials), so an analysis can keep them out of
    /// prompts and reports.
    pub fn secrets(&self) -> Vec<aegis_core::config::Secret> {
        let feishu = &self.feishu;
        let app_secret = feishu.credentials.as_ref().map(|(_, s)| s);
        let tokens = [
            app_secret,
            feishu.verification_token.as_ref(),
            feishu.encrypt_key.as_ref(),
            self.alert.webhook_token.as_ref(),
        ];
        let api_keys = self.llm.providers.iter().filter_map(|p| p.api_key.as_ref());
        let backends = [&self.tools.prometheus, &self.tools.loki, &self.tools.jaeger];
        let credentials =
            backends
                .into_iter()
                .flatten()
                .filter_map(|backend| match &backend.auth {
                    Some(aegis_tools::Auth::Bearer(s)) => Some(s),
                    Some(aegis_tools::Auth::Basic { password, .. }) => Some(password),
                    None => None,
                });
        tokens
            .into_iter()
            .flatten()
            .chain(api_keys)
            .chain(credentials)
            .cloned()
            .collect()
    }

    /// What an analyzer of this process is built from.
    pub fn analyzer_settings(&self) -> aegis_analysis::Settings {
        aegis_analysis::Settings {
            analysis: self.analysis.clone(),
            llm: self.llm.clone(),
            tools: self.tools.clone(),
            secrets: self.secrets(),
        }
    }

    /// A configuration with every default and nothing external configured, for tests.
    pub fn for_test() -> Self {
        Self::from_lookup(|_| None).expect("defaults are valid")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aegis_core::config::VARIABLES;
    use std::collections::HashMap;

    #[test]
    fn defaults_are_valid() {
        Config::from_lookup(|_| None).unwrap();
    }

    #[test]
    fn bad_value_names_the_variable() {
        let vars = HashMap::from([("AEGIS_BODY_LIMIT", "lots")]);
        let err = Config::from_lookup(|k| vars.get(k).map(|v| v.to_string())).unwrap_err();
        let line = err.to_string();
        assert!(line.contains("AEGIS_BODY_LIMIT"), "{line}");
        assert!(!line.contains('\n'), "one line: {line}");
    }

    #[test]
    fn secrets_from_configuration() {
        let vars = HashMap::from([
            ("AEGIS_LLM_BASE_URL", "http://llm"),
            ("AEGIS_LLM_MODEL", "m"),
            ("AEGIS_LLM_API_KEY", "key-from-config-1"),
            ("PROMETHEUS_BASE_URL", "http://prometheus:9090"),
            ("AEGIS_PROMETHEUS_AUTH", "basic:u:promPassw0rd"),
            ("AEGIS_WEBHOOK_TOKEN", "webhook-token-2"),
        ]);
        let config = Config::from_lookup(|k| vars.get(k).map(|v| v.to_string())).unwrap();
        let secrets: Vec<String> = config
            .analyzer_settings()
            .secrets
            .iter()
            .map(|s| s.expose().to_string())
            .collect();
        for expected in ["key-from-config-1", "promPassw0rd", "webhook-token-2"] {
            assert!(secrets.iter().any(|s| s == expected), "{expected} missing");
        }
    }

    #[test]
    fn every_declared_variable_is_read() {
        // Some variables are read only when another is set (S3 settings once a bucket is
        // named, auth once a backend is), so read once with nothing set and once with
        // every backend configured, and require each declared name in the union.
        let configured = HashMap::from([
            ("PROMETHEUS_BASE_URL", "http://prometheus:9090"),
            ("LOKI_BASE_URL", "http://loki:3100"),
            ("JAEGER_BASE_URL", "http://jaeger:16686"),
            ("AEGIS_S3_BUCKET", "reports"),
            ("AEGIS_LLM_BASE_URL", "http://llm:8000/v1"),
            ("AEGIS_LLM_MODEL", "m"),
            ("FEISHU_APP_ID", "cli_x"),
            ("FEISHU_APP_SECRET", "s"),
        ]);
        let read = std::sync::Mutex::new(Vec::new());
        for vars in [HashMap::new(), configured] {
            Config::from_lookup(|k| {
                read.lock().unwrap().push(k.to_string());
                vars.get(k).map(|v| v.to_string())
            })
            .unwrap();
        }
        let read = read.into_inner().unwrap();
        for var in VARIABLES {
            assert!(
                read.iter().any(|r| r == var.name),
                "{} is declared but never read",
                var.name
            );
        }
    }
}
