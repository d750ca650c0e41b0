//! The whole configuration, gathered at the top: each function reads its own part when
//! it is built; `aegis config check` and `aegis dev` read them all first, so a bad
//! variable stops the process with one line naming it before anything starts.

use aegis_core::config::{Env, Error};

/// Reads every part of the configuration any function or the host reads.
pub fn validate(env: &Env) -> Result<(), Error> {
    aegis_runtime::ServeConfig::from_env(env)?;
    aegis_core::events::Config::from_env(env)?;
    aegis_core::alert::Config::from_env(env)?;
    notifier::Config::from_env(env)?;
    feishu_event_handler::Config::from_env(env)?;
    aegis_analysis::Settings::from_env(env)?;
    aegis_store::Config::from_env(env)?;
    Ok(())
}

/// The report store the environment configures (the CLI's store commands).
pub async fn store() -> anyhow::Result<std::sync::Arc<dyn aegis_store::ReportStore>> {
    let config = aegis_store::Config::from_env(&Env::new(&|name| std::env::var(name).ok()))?;
    aegis_store::open(&config).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use aegis_core::config::VARIABLES;
    use std::collections::HashMap;

    #[test]
    fn defaults_are_valid() {
        validate(&Env::new(&|_| None)).unwrap();
    }

    #[test]
    fn bad_value_names_the_variable() {
        let err = validate(&Env::new(&|k| {
            (k == "AEGIS_BODY_LIMIT").then(|| "lots".to_string())
        }))
        .unwrap_err();
        let line = err.to_string();
        assert!(line.contains("AEGIS_BODY_LIMIT"), "{line}");
        assert!(!line.contains('\n'), "one line: {line}");
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
            validate(&Env::new(&|k| {
                read.lock().unwrap().push(k.to_string());
                vars.get(k).map(|v| v.to_string())
            }))
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
