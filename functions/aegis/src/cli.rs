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
        /// Address to listen on: 127.0.0.1 keeps it on this machine; 0.0.0.0 lets
        /// containers (an Alertmanager in Docker) and other machines reach it.
        #[arg(long, default_value = "127.0.0.1")]
        host: std::net::IpAddr,
        /// Read Broker and Trigger manifests from this folder instead of the built-in ones.
        #[arg(long)]
        knative: Option<PathBuf>,
    },
    /// Run one function alone (as its own binary would).
    Serve {
        /// The function: webhook-receiver, notifier, analyze, analyze-stream, feishu-event-handler, feishu-bridge.
        function: String,
    },
    /// The whole product on this machine, nothing else needed: a recorded real incident
    /// replayed as if live, its alert through the webhook, the cards in the terminal.
    Demo {
        /// Port to listen on.
        #[arg(long, env = "PORT", default_value_t = 8080)]
        port: u16,
        /// Run the incident once and exit.
        #[arg(long)]
        once: bool,
    },
    /// Serve a recorded incident dataset behind the Prometheus, Loki and Jaeger query APIs.
    Replay {
        /// The dataset folder (see docs/dataset-format.md).
        dataset: PathBuf,
        /// Port to listen on.
        #[arg(long, default_value_t = 9090)]
        port: u16,
    },
    /// Run the statistical engine on every case of the datasets and score it; or,
    /// with --feedback, score the stored reports by the verdicts people gave them.
    Eval {
        /// Dataset folders.
        #[arg(required_unless_present = "feedback")]
        datasets: Vec<PathBuf>,
        /// Score the reports in the configured store (AEGIS_DATA_DIR or AEGIS_S3_*)
        /// against the result cards' "right cause" / "wrong cause" verdicts.
        #[arg(long, conflicts_with = "datasets")]
        feedback: bool,
        /// Write the scores as JSON to this file.
        #[arg(long)]
        json: Option<PathBuf>,
        /// Run only the first N cases of each dataset.
        #[arg(long)]
        limit: Option<usize>,
        /// Also rank every case under each variant of the engine's settings: leave
        /// one system out, the ablation, the per-fault-type and the calibration
        /// tables.
        #[arg(long, conflicts_with = "feedback")]
        study: bool,
        /// Also write each case's fetched telemetry as DIR/<dataset id>/<case id>.json,
        /// for --from-dump to rank again without backends.
        #[arg(long, value_name = "DIR", conflicts_with_all = ["feedback", "from_dump"])]
        dump: Option<PathBuf>,
        /// Rank again the telemetry --dump wrote under DIR instead of fetching it (no
        /// Prometheus, no replay; seconds). The datasets still give the cases and the
        /// truth. Prints the mean log-likelihood of the true cause, the mean top
        /// probability and the time ranking took before the table.
        #[arg(long, value_name = "DIR", conflicts_with = "feedback")]
        from_dump: Option<PathBuf>,
        /// With --from-dump: print each case's first four candidates and the truth,
        /// with their probability (p) and evidence (m metrics, l error logs, mix
        /// template mix, t spans, n mentions, d drift, i broken log invariant, f
        /// broken traffic invariant).
        #[arg(long, requires = "from_dump")]
        verbose: bool,
        /// With --from-dump: write every candidate's score per case as DIR/<case id>.json.
        #[arg(long, value_name = "DIR", requires = "from_dump")]
        scores: Option<PathBuf>,
        /// With --from-dump: give the engine the true fault start as an alert's would
        /// be (what a perfect incident start is worth).
        #[arg(long, requires = "from_dump")]
        oracle_onset: bool,
        /// With --from-dump: rank without these sources, as on a dataset that never
        /// recorded them (metrics, logs, traces; comma-separated).
        #[arg(
            long,
            value_name = "SOURCES",
            requires = "from_dump",
            default_value = ""
        )]
        drop: aegis_eval::rerank::Dropped,
        /// With --from-dump: the engine's settings as JSON (aegis_rca::Settings, any
        /// subset of its fields), e.g. '{"temperature": 0.2}'.
        #[arg(long, value_name = "JSON", requires = "from_dump", value_parser = aegis_eval::rerank::settings_json)]
        settings: Option<aegis_rca::Settings>,
        /// With --from-dump: rank partly synthetic cases instead, each cut a minute
        /// before its recorded fault with this fault written into one service's
        /// spans and latency series (and its callers'): latency or network_delay,
        /// optionally :<milliseconds> (200 unless given), e.g. network_delay:500.
        #[arg(long, value_name = "FAULT", requires = "from_dump")]
        inject: Option<aegis_eval::inject::Injection>,
    },
    /// The read-only engine as an MCP server: the Prometheus, Loki and Jaeger tools,
    /// rank_root_causes and search_past_incidents, configured from the environment
    /// like every function. Over stdio unless --http is given.
    Mcp {
        /// Serve streamable HTTP at http://ADDR/mcp instead of stdio (e.g. 127.0.0.1:8090).
        #[arg(long, value_name = "ADDR")]
        http: Option<std::net::SocketAddr>,
        /// Also accept requests whose Host is NAME (or NAME:PORT); loopback names
        /// always are. Needed when clients reach it by another name.
        #[arg(long = "allow-host", value_name = "NAME")]
        allow_hosts: Vec<String>,
    },
    /// Events whose delivery failed for good, kept in the report store by the
    /// dead-letter sink: list them, or send them to the Broker again.
    DeadLetters {
        #[command(subcommand)]
        command: DeadLettersCommand,
    },
    /// Configuration commands.
    Config {
        #[command(subcommand)]
        command: ConfigCommand,
    },
}

#[derive(Debug, Subcommand)]
enum DeadLettersCommand {
    /// One line per kept dead letter, newest first: received, id, type, the failed
    /// delivery's status and destination.
    List {
        #[command(flatten)]
        selection: crate::dead_letters::Selection,
    },
    /// Send kept dead letters to the Broker again, oldest first, as first published;
    /// each one the Broker accepts is removed from the store. Exits 1 when any stays.
    Resend {
        /// The Broker ingress (in a cluster
        /// `http://broker-ingress.knative-eventing.svc.cluster.local/aegis/aegis`,
        /// under `aegis dev` `http://127.0.0.1:8080/broker`). Default: `K_SINK`.
        #[arg(long)]
        to: Option<url::Url>,
        /// Send AEGIS_WEBHOOK_TOKEN as the bearer token: what `aegis dev`'s /broker asks
        /// for when the token is set (a Knative Broker ingress asks for none).
        #[arg(long)]
        with_webhook_token: bool,
        #[command(flatten)]
        selection: crate::dead_letters::Selection,
    },
}

#[derive(Debug, Subcommand)]
enum ConfigCommand {
    /// Validate the environment and print the effective configuration, secrets masked.
    Check,
    /// Print the Markdown reference of every variable (docs/configuration.md).
    Reference,
}

/// Parses the command line and runs it.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Config {
            command: ConfigCommand::Check,
        } => crate::host::config_check(),
        Command::Config {
            command: ConfigCommand::Reference,
        } => {
            print!("{}", aegis_core::config::reference::markdown());
            ExitCode::SUCCESS
        }
        Command::DeadLetters {
            command: DeadLettersCommand::List { selection },
        } => block_on(crate::dead_letters::list_command(selection)),
        Command::DeadLetters {
            command:
                DeadLettersCommand::Resend {
                    to,
                    with_webhook_token,
                    selection,
                },
        } => block_on(crate::dead_letters::resend_command(
            to,
            with_webhook_token,
            selection,
        )),
        Command::Mcp { http, allow_hosts } => {
            // Logs to stderr: on stdio, stdout is the protocol's.
            tracing_subscriber::fmt()
                .with_writer(std::io::stderr)
                .with_env_filter(
                    tracing_subscriber::EnvFilter::try_from_default_env()
                        .unwrap_or_else(|_| "warn".into()),
                )
                .init();
            block_on(crate::mcp::run(http, allow_hosts))
        }
        Command::Serve { function } => crate::host::serve_one(&function),
        Command::Demo { port, once } => block_on(crate::demo::run(port, once)),
        Command::Dev {
            port,
            host,
            knative,
        } => crate::host::dev(port, host, knative),
        Command::Replay { dataset, port } => block_on(aegis_replay::serve_dataset(&dataset, port)),
        Command::Eval {
            feedback: true,
            json,
            ..
        } => block_on(feedback(json)),
        Command::Eval {
            datasets,
            json,
            limit,
            study,
            from_dump: Some(dump),
            verbose,
            scores,
            oracle_onset,
            drop,
            settings,
            inject,
            ..
        } => block_on(async move {
            aegis_eval::rerank::run(
                &datasets,
                &dump,
                json.as_deref(),
                &aegis_eval::rerank::Options {
                    limit,
                    verbose,
                    scores,
                    oracle_onset,
                    drop,
                    study,
                    settings: settings.unwrap_or_default(),
                    inject,
                },
            )
        }),
        Command::Eval {
            datasets,
            json,
            limit,
            study,
            dump,
            ..
        } => block_on(aegis_eval::run(
            &datasets,
            json.as_deref(),
            aegis_eval::Options {
                limit,
                progress: true,
                observations: dump,
                study,
            },
            aegis_runtime::shutdown_signal(),
        )),
    }
}

/// `aegis eval --feedback`: the verdicts on the stored reports, as a table (and JSON).
async fn feedback(json: Option<PathBuf>) -> anyhow::Result<()> {
    let store = crate::config::store().await?;
    let scores = aegis_eval::feedback::score(store.as_ref()).await?;
    print!("{}", aegis_eval::feedback::table(&scores));
    if let Some(path) = json {
        std::fs::write(&path, serde_json::to_vec_pretty(&scores)?)?;
    }
    Ok(())
}

/// Runs a command's future on a fresh runtime; an error is printed as one line.
fn block_on(fut: impl std::future::Future<Output = anyhow::Result<()>>) -> ExitCode {
    aegis_runtime::block_on(async move {
        match fut.await {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("error: {e:#}");
                ExitCode::FAILURE
            }
        }
    })
}
