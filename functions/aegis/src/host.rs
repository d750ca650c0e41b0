//! The host commands: `aegis serve <function>`, `aegis dev`, `aegis config check`.

use std::path::PathBuf;
use std::process::ExitCode;

use aegis_core::config::{Env, Lookup};

use crate::functions;

/// `aegis config check`: validates the environment as every function reads it (a bad
/// variable: one line naming it, exit code 2) and prints one line per variable with its
/// effective value, secrets masked.
pub fn config_check() -> ExitCode {
    match crate::config::validate(&Env::new(&|name| std::env::var(name).ok())) {
        Ok(()) => {
            print!("{}", effective_config(|name| std::env::var(name).ok()));
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("{e}");
            ExitCode::from(2)
        }
    }
}

/// `NAME  value  (set|default)` for every variable of [`aegis_core::config::VARIABLES`];
/// secrets that are set show as `***`, unset ones as `(unset)`, and the credentials
/// inside a URL as `[REDACTED]`.
pub fn effective_config(var: impl Fn(&str) -> Option<String>) -> String {
    use std::fmt::Write;
    let width = aegis_core::config::VARIABLES
        .iter()
        .map(|v| v.name.len())
        .max()
        .unwrap_or(0);
    let mut out = String::new();
    for v in aegis_core::config::VARIABLES {
        let set = var(v.name).filter(|s| !s.trim().is_empty());
        let (value, source) = match (set, v.secret) {
            (Some(_), true) => (aegis_core::config::Secret::new("").to_string(), "set"),
            // A URL may carry a password or a token in its query.
            (Some(value), false) => (aegis_core::redact::mask_url(&value), "set"),
            (None, _) if v.default.is_empty() => ("(unset)".to_string(), "default"),
            (None, _) => (v.default.to_string(), "default"),
        };
        let _ = writeln!(out, "{:width$}  {value}  ({source})", v.name);
    }
    out
}

/// `aegis serve <function>`.
pub fn serve_one(name: &str) -> ExitCode {
    if !functions::NAMES.contains(&name) {
        eprintln!(
            "unknown function {name:?}; expected one of {}",
            functions::NAMES.join(", ")
        );
        return ExitCode::from(2);
    }
    let name = name.to_string();
    aegis_runtime::run(async move |ctx: &aegis_runtime::Context| {
        functions::build(&name, ctx).await.unwrap_or_else(|| {
            Err(aegis_runtime::BuildError::new(
                "aegis",
                format!("unknown function {name:?}"),
            ))
        })
    })
}

/// `aegis dev`: serves until SIGTERM or SIGINT, then shuts down gracefully.
pub fn dev(port: u16, host: std::net::IpAddr, knative: Option<PathBuf>) -> ExitCode {
    let env = aegis_core::config::process_env();
    let vars: Lookup = std::sync::Arc::new(move |name| match name {
        "PORT" => Some(port.to_string()),
        _ => env(name),
    });
    let serve = match crate::config::validate(&Env::new(&*vars))
        .and_then(|()| aegis_runtime::ServeConfig::from_env(&Env::new(&*vars)))
    {
        Ok(serve) => serve,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    aegis_runtime::block_on(async move {
        let _telemetry = aegis_runtime::telemetry::init(&serve, "aegis");
        let mut opts = crate::dev::DevOptions::new(vars).host(host);
        opts.knative = knative;
        let handle = match crate::dev::start_dev(opts).await {
            Ok(handle) => handle,
            Err(e) => {
                eprintln!("{e}");
                return ExitCode::from(2);
            }
        };
        eprintln!("aegis dev listening on {}", handle.url("/"));
        eprintln!("{}", handle.exposure());
        aegis_runtime::shutdown_signal().await;
        // Events already accepted are delivered first (within the grace); what the
        // grace cuts short stays in the broker's journal for the next start.
        let grace = handle.context().serve.shutdown_grace;
        if tokio::time::timeout(grace, handle.broker().wait_idle())
            .await
            .is_err()
        {
            tracing::warn!("event deliveries still running after the shutdown grace");
        }
        match handle.shutdown().await {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                tracing::error!(error = %e, "server failed");
                ExitCode::FAILURE
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn effective_config_masks_secrets_and_shows_defaults() {
        let out = effective_config(|name| match name {
            "FEISHU_APP_SECRET" => Some("hunter2".into()),
            "PORT" => Some("9000".into()),
            _ => None,
        });
        assert!(!out.contains("hunter2"), "{out}");
        let line = |name: &str| {
            out.lines()
                .find(|l| l.split_whitespace().next() == Some(name))
                .unwrap()
                .to_string()
        };
        assert!(line("FEISHU_APP_SECRET").contains("***  (set)"));
        assert!(line("PORT").contains("9000  (set)"));
        assert!(line("AEGIS_BODY_LIMIT").contains("1MiB  (default)"));
        assert!(line("K_SINK").contains("(unset)"));
        assert_eq!(out.lines().count(), aegis_core::config::VARIABLES.len());
    }
}
