use std::time::Duration;

use aegis_core::config::{Env, Error, Secret};

/// Budgets and defaults of an analysis.
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
    /// Public base URL of the analyze function.
    pub public_base_url: Option<url::Url>,
}

impl Config {
    /// Reads `AEGIS_TIMEZONE` and the `AEGIS_ANALYSIS_*` budgets.
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
            public_base_url: env.url("AEGIS_PUBLIC_BASE_URL")?,
        })
    }
}

/// What an analyzer is built from: the analysis budgets, the models, the backends, and
/// every configured secret, to keep out of prompts and reports (the function host
/// gathers them from each domain's configuration).
#[derive(Debug, Clone)]
pub struct Settings {
    /// Budgets and defaults of an analysis.
    pub analysis: Config,
    /// Models and their providers.
    pub llm: aegis_llm::Config,
    /// Prometheus, Loki and Jaeger.
    pub tools: aegis_tools::Config,
    /// Every configured secret value.
    pub secrets: Vec<Secret>,
}

impl Settings {
    /// Every default, nothing external configured and no secret, for tests.
    pub fn for_test() -> Self {
        let env = Env::new(&|_| None);
        Self {
            analysis: Config::from_env(&env).expect("defaults are valid"),
            llm: aegis_llm::Config::from_env(&env).expect("defaults are valid"),
            tools: aegis_tools::Config::from_env(&env).expect("defaults are valid"),
            secrets: Vec::new(),
        }
    }
}
