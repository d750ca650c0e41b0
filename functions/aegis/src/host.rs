use std::path::PathBuf;
use std::process::ExitCode;

use aegis::Config;
use aegis::runtime::{BuildError, Context, Function};

/// Every function, by name, with its builder.
pub const FUNCTIONS: &[(&str, fn(&Context) -> Result<Function, BuildError>)] = &[
    (webhook_receiver::NAME, webhook_receiver::build),
    (notifier::NAME, notifier::build),
    (analyze::NAME, analyze::build),
    (analyze_stream::NAME, analyze_stream::build),
    (feishu_event_handler::NAME, feishu_event_handler::build),
    (feishu_bridge::NAME, feishu_bridge::build),
];

/// `aegis config check`.
pub fn config_check() -> ExitCode {
    match Config::from_env() {
        Ok(config) => {
            println!("{config:#?}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("{e}");
            ExitCode::from(2)
        }
    }
}

/// `aegis serve <function>`.
pub fn serve_one(name: &str) -> ExitCode {
    match FUNCTIONS.iter().find(|(n, _)| *n == name) {
        Some((_, build)) => aegis::runtime::run(*build),
        None => {
            let names: Vec<_> = FUNCTIONS.iter().map(|(n, _)| *n).collect();
            eprintln!(
                "unknown function {name:?}; expected one of {}",
                names.join(", ")
            );
            ExitCode::from(2)
        }
    }
}

/// `aegis dev`.
pub fn dev(port: u16, knative: Option<PathBuf>) -> ExitCode {
    let _ = (port, knative);
    eprintln!("aegis dev: not implemented yet");
    ExitCode::FAILURE
}
