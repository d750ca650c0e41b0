//! Configuration, read once from the environment at start-up and validated into types.
//!
//! Every variable Aegis reads is declared in [`vars::VARIABLES`]; [`Env`] refuses to read
//! a name that is not declared there, so the table (and the reference generated from
//! it) cannot drift from the code.

mod env;
pub mod reference;
mod secret;
mod vars;

pub use env::{Env, Error};
pub use secret::Secret;
pub use vars::{VARIABLES, Variable};

/// The whole effective configuration of an Aegis process.
///
/// Each domain owns its part; this struct only gathers them so one start-up check
/// validates everything and `aegis config check` can print it.
#[derive(Debug, Clone)]
pub struct Config {
    /// Listening, limits and telemetry.
    pub runtime: crate::runtime::Config,
    /// Where events go (`K_SINK`) and how.
    pub events: crate::events::Config,
    /// The Feishu app, chats and chat policy.
    pub feishu: crate::feishu::Config,
    /// Prometheus, Loki and Jaeger.
    pub tools: crate::tools::Config,
    /// Models and their providers.
    pub llm: crate::llm::Config,
    /// The report store.
    pub store: crate::store::Config,
    /// Alert intake and routing policy.
    pub alert: crate::alert::Config,
    /// Analysis budgets and time zone.
    pub analysis: crate::analysis::Config,
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
            runtime: crate::runtime::Config::from_env(&env)?,
            events: crate::events::Config::from_env(&env)?,
            feishu: crate::feishu::Config::from_env(&env)?,
            tools: crate::tools::Config::from_env(&env)?,
            llm: crate::llm::Config::from_env(&env)?,
            store: crate::store::Config::from_env(&env)?,
            alert: crate::alert::Config::from_env(&env)?,
            analysis: crate::analysis::Config::from_env(&env)?,
        })
    }

    /// A configuration with every default and nothing external configured, for tests.
    pub fn for_test() -> Self {
        Self::from_lookup(|_| None).expect("defaults are valid")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
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
