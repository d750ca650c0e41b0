use std::time::Duration;

use aegis_core::config::{Env, Error, Secret};
use aegis_core::redact::Redactor;

/// How to reach and bound the observability backends.
#[derive(Debug, Clone)]
pub struct Config {
    /// Prometheus, if configured.
    pub prometheus: Option<Backend>,
    /// Loki, if configured.
    pub loki: Option<Backend>,
    /// Sent as `X-Scope-OrgID` to Loki.
    pub loki_tenant_id: Option<String>,
    /// The Loki stream label naming the service.
    pub loki_service_label: String,
    /// Jaeger query, if configured.
    pub jaeger: Option<Backend>,
    /// Timeout of one call.
    pub timeout: Duration,
    /// Longest range one call may query.
    pub max_range: Duration,
    /// Most series returned before asking to narrow.
    pub max_series: usize,
    /// Most log lines read per call.
    pub max_log_lines: usize,
    /// Most traces read per call.
    pub max_traces: usize,
    /// Most bytes read per call.
    pub max_bytes: u64,
    /// A JSON file of named signals replacing the default catalog.
    pub signals_file: Option<std::path::PathBuf>,
    /// Every variable declared secret that is set, whichever domain reads it: a
    /// backend that echoes what it received must not carry any of them out.
    declared_secrets: Vec<Secret>,
}

/// One backend: its base URL and optional auth.
#[derive(Debug, Clone)]
pub struct Backend {
    /// Base URL, e.g. `http://prometheus:9090`.
    pub url: url::Url,
    /// Credentials sent with every request.
    pub auth: Option<Auth>,
}

/// Credentials for a backend.
#[derive(Debug, Clone)]
pub enum Auth {
    /// `Authorization: Bearer <token>`.
    Bearer(Secret),
    /// HTTP basic auth.
    Basic {
        /// User name.
        user: String,
        /// Password.
        password: Secret,
    },
}

impl Config {
    /// Reads the backend URLs, their auth and the bounds.
    pub fn from_env(env: &Env) -> Result<Self, Error> {
        Ok(Self {
            prometheus: backend(env, "PROMETHEUS_BASE_URL", "AEGIS_PROMETHEUS_AUTH")?,
            loki: backend(env, "LOKI_BASE_URL", "AEGIS_LOKI_AUTH")?,
            loki_tenant_id: env.string("LOKI_TENANT_ID"),
            loki_service_label: env.string_or("LOKI_SERVICE_LABEL_KEY", "app"),
            jaeger: backend(env, "JAEGER_BASE_URL", "AEGIS_JAEGER_AUTH")?,
            timeout: env
                .duration("AEGIS_TOOL_TIMEOUT")?
                .unwrap_or(Duration::from_secs(15)),
            max_range: env
                .duration("AEGIS_TOOL_MAX_RANGE")?
                .unwrap_or(Duration::from_secs(24 * 3600)),
            max_series: env
                .parse("AEGIS_TOOL_MAX_SERIES", "a positive integer")?
                .unwrap_or(50),
            max_log_lines: env
                .parse("AEGIS_TOOL_MAX_LOG_LINES", "a positive integer")?
                .unwrap_or(2000),
            max_traces: env
                .parse("AEGIS_TOOL_MAX_TRACES", "a positive integer")?
                .unwrap_or(200),
            max_bytes: env.bytes("AEGIS_TOOL_MAX_BYTES")?.unwrap_or(16 << 20),
            signals_file: env.string("AEGIS_SIGNALS_FILE").map(Into::into),
            declared_secrets: env.declared_secrets(),
        })
    }
}

impl Config {
    /// The backends' credentials (tokens and passwords, from the auth variables or the
    /// URLs), to keep out of prompts, reports and logs.
    pub fn secrets(&self) -> Vec<Secret> {
        [&self.prometheus, &self.loki, &self.jaeger]
            .into_iter()
            .flatten()
            .filter_map(|backend| match &backend.auth {
                Some(Auth::Bearer(token)) => Some(token.clone()),
                Some(Auth::Basic { password, .. }) => Some(password.clone()),
                None => None,
            })
            .collect()
    }

    /// What the backends' answers are cleaned of before they reach an error, a log
    /// line or a report: every configured secret, the backends' tokens and passwords,
    /// and each basic-auth pair as its `Authorization` header carries it. Built from
    /// the backends as they are now (tests point them elsewhere after reading).
    pub fn redactor(&self) -> Redactor {
        let secrets = self.secrets();
        [&self.prometheus, &self.loki, &self.jaeger]
            .into_iter()
            .flatten()
            .fold(
                Redactor::from_secrets(self.declared_secrets.iter().chain(&secrets)),
                |r, backend| backend.redact(r),
            )
    }
}

impl Backend {
    /// `redactor` and this backend's credentials too.
    pub(crate) fn redact(&self, redactor: Redactor) -> Redactor {
        match &self.auth {
            None => redactor,
            Some(Auth::Bearer(token)) => redactor.with([token.expose().to_string()]),
            Some(Auth::Basic { user, password }) => redactor.with_basic(user, password.expose()),
        }
    }
}

fn backend(env: &Env, url_var: &str, auth_var: &str) -> Result<Option<Backend>, Error> {
    let Some(url) = env.url(url_var)? else {
        return Ok(None);
    };
    let mut url = url;
    // Credentials written into the URL become basic auth, so the URL itself (printed
    // in Debug and logs) never carries a password.
    let from_url = (!url.username().is_empty()).then(|| Auth::Basic {
        user: percent_decode(url.username()),
        password: Secret::new(percent_decode(url.password().unwrap_or_default())),
    });
    // Cannot fail: http(s) URLs (checked by `env.url`) always take credentials.
    let _ = url.set_username("");
    let _ = url.set_password(None);
    let auth = match env.string(auth_var) {
        None => from_url,
        Some(v) => Some(parse_auth(&v).ok_or_else(|| {
            Error::new(
                auth_var,
                "expected bearer:<token> or basic:<user>:<password>",
            )
        })?),
    };
    Ok(Some(Backend { url, auth }))
}

// `url` re-exports no percent decoder; form decoding is one, once `+` is escaped.
fn percent_decode(v: &str) -> String {
    url::form_urlencoded::parse(format!("v={}", v.replace('+', "%2B")).as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}

fn parse_auth(v: &str) -> Option<Auth> {
    if let Some(token) = v.strip_prefix("bearer:") {
        return (!token.is_empty()).then(|| Auth::Bearer(Secret::new(token)));
    }
    let (user, password) = v.strip_prefix("basic:")?.split_once(':')?;
    Some(Auth::Basic {
        user: user.to_string(),
        password: Secret::new(password),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    #[test]
    fn credentials_in_the_url_become_basic_auth() {
        let lookup = |k: &str| {
            (k == "LOKI_BASE_URL").then(|| "https://reader:p%40ss@loki.example:3100/".to_string())
        };
        let config = Config::from_env(&Env::new(&lookup)).unwrap();
        let loki = config.loki.clone().unwrap();
        assert_eq!(loki.url.as_str(), "https://loki.example:3100/");
        let Some(Auth::Basic { user, password }) = loki.auth else {
            panic!("basic auth expected");
        };
        assert_eq!((user.as_str(), password.expose()), ("reader", "p@ss"));
        assert!(!format!("{config:?}").contains("p@ss"));
    }

    #[test]
    fn the_redactor_masks_every_credential_as_it_is_sent() {
        let vars = HashMap::from([
            ("PROMETHEUS_BASE_URL", "http://prometheus:9090"),
            ("AEGIS_PROMETHEUS_AUTH", "bearer:prom-token-1234"),
            ("LOKI_BASE_URL", "http://reader:loki-pass-1234@loki:3100"),
            ("JAEGER_BASE_URL", "http://jaeger:16686"),
            ("AEGIS_JAEGER_AUTH", "bearer:jaeger-token-1234"),
            ("FEISHU_APP_SECRET", "feishu-secret-1234"),
        ]);
        let lookup = |k: &str| vars.get(k).map(|v| v.to_string());
        let config = Config::from_env(&Env::new(&lookup)).unwrap();
        let basic = "cmVhZGVyOmxva2ktcGFzcy0xMjM0"; // base64("reader:loki-pass-1234")
        let echoed =
            format!("401: got prom-token-1234, jaeger-token-1234 and {basic}; feishu-secret-1234");
        let out = config.redactor().redact(&echoed);
        for secret in [
            "prom-token-1234",
            "jaeger-token-1234",
            basic,
            "feishu-secret-1234",
        ] {
            assert!(!out.contains(secret), "{secret} leaked: {out}");
        }
        assert!(!format!("{config:?}").contains("feishu-secret"));
    }
}
