use std::collections::BTreeMap;
use std::time::Duration;

use crate::config::{Env, Error};

/// Where and how published events go.
#[derive(Debug, Clone)]
pub struct Config {
    /// The broker ingress (`K_SINK`).
    pub sink: Option<url::Url>,
    /// Extensions from `K_CE_OVERRIDES`, set on every published event.
    pub overrides: BTreeMap<String, String>,
    /// Retries after the first attempt.
    pub retries: u32,
    /// Timeout of one attempt.
    pub timeout: Duration,
}

impl Config {
    /// Reads `K_SINK`, `K_CE_OVERRIDES` and the retry settings.
    pub fn from_env(env: &Env) -> Result<Self, Error> {
        let overrides = match env.string("K_CE_OVERRIDES") {
            None => BTreeMap::new(),
            Some(raw) => parse_overrides(&raw).map_err(|e| Error::new("K_CE_OVERRIDES", e))?,
        };
        Ok(Self {
            sink: env.url("K_SINK")?,
            overrides,
            retries: env
                .parse("AEGIS_SINK_RETRIES", "a whole number")?
                .unwrap_or(3),
            timeout: env
                .duration("AEGIS_SINK_TIMEOUT")?
                .unwrap_or(Duration::from_secs(5)),
        })
    }
}

/// `{"extensions":{"name":"value",...}}`; values may be strings, numbers or booleans.
fn parse_overrides(raw: &str) -> Result<BTreeMap<String, String>, String> {
    #[derive(serde::Deserialize)]
    struct Overrides {
        #[serde(default)]
        extensions: BTreeMap<String, serde_json::Value>,
    }
    let parsed: Overrides = serde_json::from_str(raw)
        .map_err(|e| format!("expected JSON {{\"extensions\":{{...}}}}: {e}"))?;
    parsed
        .extensions
        .into_iter()
        .map(|(k, v)| match v {
            serde_json::Value::String(s) => Ok((k, s)),
            serde_json::Value::Number(n) => Ok((k, n.to_string())),
            serde_json::Value::Bool(b) => Ok((k, b.to_string())),
            other => Err(format!(
                "extension {k:?} must be a string, number or boolean, got {other}"
            )),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::parse_overrides;

    #[test]
    fn overrides_parse() {
        let o = parse_overrides(r#"{"extensions":{"cluster":"prod","shard":3}}"#).unwrap();
        assert_eq!(o["cluster"], "prod");
        assert_eq!(o["shard"], "3");
        assert!(parse_overrides("nope").is_err());
    }
}
