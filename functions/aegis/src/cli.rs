use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Aegis: read-only root-cause analysis for Kubernetes, from Alertmanager and Feishu.
#[derive(Debug, Parser)]
#[command(name = "aegis", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run every function in one process on one port, with the local broker.
    Dev {
        /// Port to listen on.
        #[arg(long, env = "PORT", default_value_t = 8080)]
        port: u16,
        /// Read Broker and Trigger manifests from this folder instead of the built-in ones.
        #[arg(long)]
        knative: Option<PathBuf>,
    },
    /// Run one function alone (as its own binary would).
    Serve {
        /// The function: webhook-receiver, notifier, analyze, analyze-stream, feishu-event-handler, feishu-bridge.
        function: String,
    },
    /// Configuration commands.
    Config {
        #[command(subcommand)]
        command: ConfigCommand,
    },
}

#[derive(Debug, Subcommand)]
enum ConfigCommand {
    /// Validate the environment and print the effective configuration, secrets masked.
    Check,
}

/// Parses the command line and runs it.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Config {
            command: ConfigCommand::Check,
        } => crate::host::config_check(),
        Command::Serve { function } => crate::host::serve_one(&function),
        Command::Dev { port, knative } => crate::host::dev(port, knative),
    }
}
