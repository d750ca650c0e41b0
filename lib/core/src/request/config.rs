use std::time::Duration;

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
}

impl Config {
    /// Reads `AEGIS_TIMEZONE`, the `AEGIS_ANALYSIS_*` budgets and the
    /// `AEGIS_ANALYZE_*` admission settings.
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
}
