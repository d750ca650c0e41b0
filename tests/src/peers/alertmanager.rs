//! A real Alertmanager (Debian `prometheus-alertmanager`) on a free port in a
//! temporary folder, clustering off.

use std::process::Stdio;
use std::time::{Duration, Instant};

use tempfile::TempDir;

const BIN: &str = "prometheus-alertmanager";
const INSTALL: &str = "run scripts/install-peers (Debian package `prometheus-alertmanager`)";

/// A running Alertmanager; killed and its folder removed when dropped.
pub struct Alertmanager {
    /// `http://127.0.0.1:<port>`
    pub base_url: String,
    /// The port it listens on.
    pub port: u16,
    child: tokio::process::Child,
    dir: TempDir,
}

impl Alertmanager {
    /// Starts Alertmanager with `config_yaml` (its `alertmanager.yml`).
    pub async fn start(config_yaml: &str) -> anyhow::Result<Self> {
        let found = std::process::Command::new(BIN)
            .arg("--version")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        anyhow::ensure!(found, "`{BIN}` is not on PATH: {INSTALL}");
        let dir = tempfile::Builder::new()
            .prefix("aegis-alertmanager-")
            .tempdir()?;
        let config = dir.path().join("alertmanager.yml");
        std::fs::write(&config, config_yaml)?;
        let log_path = dir.path().join("alertmanager.log");
        let mut last_error = None;
        // A free port can be taken between probing and binding: retry a few times.
        for _ in 0..3 {
            let port = crate::process::free_port()?;
            let mut child = tokio::process::Command::new(BIN)
                .arg(format!("--config.file={}", config.display()))
                .arg(format!(
                    "--storage.path={}",
                    dir.path().join("data").display()
                ))
                .arg(format!("--web.listen-address=127.0.0.1:{port}"))
                .arg("--cluster.listen-address=")
                .arg("--log.level=debug")
                .stdout(Stdio::null())
                .stderr(std::fs::File::create(&log_path)?)
                .kill_on_drop(true)
                .spawn()
                .map_err(|e| anyhow::anyhow!("cannot start {BIN} ({e}): {INSTALL}"))?;
            let base_url = format!("http://127.0.0.1:{port}");
            let deadline = Instant::now() + Duration::from_secs(20);
            let client = reqwest::Client::new();
            loop {
                if let Ok(Some(status)) = child.try_wait() {
                    last_error = Some(anyhow::anyhow!("{BIN} exited with {status}"));
                    break;
                }
                if client
                    .get(format!("{base_url}/-/ready"))
                    .send()
                    .await
                    .is_ok_and(|r| r.status().is_success())
                {
                    return Ok(Self {
                        base_url,
                        port,
                        child,
                        dir,
                    });
                }
                if Instant::now() > deadline {
                    let _ = child.kill().await;
                    last_error = Some(anyhow::anyhow!("{BIN} not ready within 20 s"));
                    break;
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
        let log = std::fs::read_to_string(&log_path).unwrap_or_default();
        let tail: Vec<&str> = log.lines().rev().take(15).collect::<Vec<_>>();
        Err(last_error
            .unwrap_or_else(|| anyhow::anyhow!("{BIN} did not start"))
            .context(tail.into_iter().rev().collect::<Vec<_>>().join("\n")))
    }

    /// Its log so far (debug level: every notification attempt).
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("alertmanager.log")).unwrap_or_default()
    }

    /// Whether the process is still running.
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }
}
