use aegis_core::config::{Env, Error, Secret};
use aegis_core::request;

/// What an analyzer is built from: the analysis budgets, the models, the backends, and
/// every configured secret, to keep out of prompts and reports.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Budgets and defaults of an analysis.
    pub analysis: request::Config,
    /// Models and their providers.
    pub llm: aegis_llm::Config,
    /// Prometheus, Loki and Jaeger.
    pub tools: aegis_tools::Config,
    /// Every configured secret value.
    pub secrets: Vec<Secret>,
}

impl Settings {
    /// Reads the analysis budgets, the models and the backends; the secrets are every
    /// variable declared secret (Feishu's, the webhook token, API keys) plus the
    /// credentials the models' and backends' settings carry (a password inside a URL).
    pub fn from_env(env: &Env) -> Result<Self, Error> {
        let llm = aegis_llm::Config::from_env(env)?;
        let tools = aegis_tools::Config::from_env(env)?;
        let mut secrets = env.declared_secrets();
        secrets.extend(llm.secrets());
        secrets.extend(tools.secrets());
        secrets.sort_by(|a, b| a.expose().cmp(b.expose()));
        secrets.dedup();
        Ok(Self {
            analysis: request::Config::from_env(env)?,
            llm,
            tools,
            secrets,
        })
    }

    /// Every default, nothing external configured and no secret, for tests.
    pub fn for_test() -> Self {
        Self::from_env(&Env::new(&|_| None)).expect("defaults are valid")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    #[test]
    fn secrets_from_every_domain() {
        let vars = HashMap::from([
            ("AEGIS_LLM_BASE_URL", "http://llm"),
            ("AEGIS_LLM_MODEL", "m"),
            ("AEGIS_LLM_API_KEY", "key-from-config-1"),
            ("PROMETHEUS_BASE_URL", "http://prometheus:9090"),
            ("AEGIS_PROMETHEUS_AUTH", "basic:u:promPassw0rd"),
            ("AEGIS_WEBHOOK_TOKEN", "webhook-token-2"),
            ("FEISHU_APP_SECRET", "app-secret-3"),
            ("LOKI_BASE_URL", "http://user:urlPassw0rd@loki:3100"),
        ]);
        let settings =
            Settings::from_env(&Env::new(&|k| vars.get(k).map(|v| v.to_string()))).unwrap();
        let secrets: Vec<&str> = settings.secrets.iter().map(Secret::expose).collect();
        for expected in [
            "key-from-config-1",
            "promPassw0rd",
            "webhook-token-2",
            "app-secret-3",
            "urlPassw0rd",
        ] {
            assert!(secrets.contains(&expected), "{expected} missing");
        }
    }
}
