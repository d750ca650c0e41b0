use crate::config::{Env, Error, Secret};

/// Alert intake and policy.
#[derive(Debug, Clone)]
pub struct Config {
    /// Bearer token Alertmanager must send; `None` accepts any caller.
    pub webhook_token: Option<Secret>,
    /// Severities (lower-case) whose firing groups are analysed automatically.
    pub auto_analyze_severities: Vec<String>,
}

impl Config {
    /// Reads `AEGIS_WEBHOOK_TOKEN` and `AEGIS_AUTO_ANALYZE_SEVERITIES`.
    pub fn from_env(env: &Env) -> Result<Self, Error> {
        let mut severities = env.list("AEGIS_AUTO_ANALYZE_SEVERITIES");
        if env.string("AEGIS_AUTO_ANALYZE_SEVERITIES").is_none() {
            severities = vec!["critical".to_string()];
        }
        Ok(Self {
            webhook_token: env.secret("AEGIS_WEBHOOK_TOKEN"),
            auto_analyze_severities: severities
                .into_iter()
                .map(|s| s.to_ascii_lowercase())
                .collect(),
        })
    }
}
