//! A real Prometheus loaded with a dataset's metrics: `promtool tsdb
//! create-blocks-from openmetrics` into a temporary folder, then `prometheus` on a
//! free local port over it (under a watchdog that stops it when this process ends).
//! Stopped and removed when dropped.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use tokio::process::{Child, Command};

/// Runs `prometheus "$@"` and stops it when its standard input closes. The pipe
/// to it closes however this process ends, SIGKILL included (an OOM kill, a CI
/// timeout), so Prometheus never outlives the evaluation on its port. (The kernel's
/// own way, `prctl(PR_SET_PDEATHSIG)` before exec, needs unsafe code, which this
/// workspace forbids.)
const WATCHDOG: &str =
    r#"prometheus "$@" & p=$!; while read -r _; do :; done; kill "$p"; wait "$p""#;

/// A running Prometheus over one dataset's metrics.
pub struct LoadedPrometheus {
    /// `http://127.0.0.1:<port>`.
    pub base_url: String,
    child: Child,
    dir: PathBuf,
}

/// Whether both `prometheus` and `promtool` are on the PATH.
pub fn available() -> bool {
    ["prometheus", "promtool"].iter().all(|bin| on_path(bin))
}

fn on_path(bin: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|paths| std::env::split_paths(&paths).any(|p| p.join(bin).is_file()))
}

impl LoadedPrometheus {
    /// Loads `dataset/metrics.om.gz` and starts Prometheus; ready when this returns.
    pub async fn start(dataset: &Path) -> anyhow::Result<Self> {
        let dir = std::env::temp_dir().join(format!("aegis-eval-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        // From here on, dropping `guard` removes the folder whatever fails.
        let guard = Cleanup(dir.clone());

        let om = dir.join("metrics.om");
        let source = dataset.join("metrics.om.gz");
        let om_path = om.clone();
        tokio::task::spawn_blocking(move || -> anyhow::Result<()> {
            let input = std::fs::File::open(&source)
                .with_context(|| format!("opening {}", source.display()))?;
            let mut reader = flate2::read::GzDecoder::new(std::io::BufReader::new(input));
            let mut out = std::io::BufWriter::new(std::fs::File::create(&om_path)?);
            std::io::copy(&mut reader, &mut out)
                .with_context(|| format!("decompressing {}", source.display()))?;
            Ok(())
        })
        .await??;

        let data = dir.join("data");
        let output = Command::new("promtool")
            .args(["tsdb", "create-blocks-from", "openmetrics"])
            .arg(&om)
            .arg(&data)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .output()
            .await
            .context("running promtool")?;
        if !output.status.success() {
            bail!(
                "promtool could not load {}: {}",
                dataset.display(),
                String::from_utf8_lossy(&output.stderr).trim()
            );
        }
        std::fs::remove_file(&om).ok();

        let config = dir.join("prometheus.yml");
        std::fs::write(&config, "global:\n  scrape_interval: 1h\n")?;
        let port = free_port()?;
        let child = Command::new("sh")
            .args(["-c", WATCHDOG, "sh"])
            .arg(format!("--config.file={}", config.display()))
            .arg(format!("--storage.tsdb.path={}", data.display()))
            // Recorded data is old: keep it all.
            .arg("--storage.tsdb.retention.time=100y")
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .context("starting prometheus")?;
        std::mem::forget(guard);
        let loaded = Self {
            base_url: format!("http://127.0.0.1:{port}"),
            child,
            dir,
        };
        loaded.wait_ready(Duration::from_secs(60)).await?;
        Ok(loaded)
    }

    async fn wait_ready(&self, within: Duration) -> anyhow::Result<()> {
        // The readiness probe is not a query endpoint, so it goes around the tools.
        let client = reqwest::Client::new();
        let url = format!("{}/-/ready", self.base_url);
        let started = Instant::now();
        while started.elapsed() < within {
            if let Ok(r) = client.get(&url).send().await
                && r.status().is_success()
            {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        bail!("prometheus did not become ready within {within:?}")
    }
}

impl Drop for LoadedPrometheus {
    fn drop(&mut self) {
        // Closing the watchdog's input stops Prometheus; the watchdog ends once
        // Prometheus has, and only then is its folder free to remove (a few seconds
        // at most: a blocking wait, but only ever at the end of an evaluation).
        drop(self.child.stdin.take());
        let deadline = Instant::now() + Duration::from_secs(5);
        while matches!(self.child.try_wait(), Ok(None)) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        std::fs::remove_dir_all(&self.dir).ok();
    }
}

struct Cleanup(PathBuf);

impl Drop for Cleanup {
    fn drop(&mut self) {
        std::fs::remove_dir_all(&self.0).ok();
    }
}

fn free_port() -> anyhow::Result<u16> {
    let listener = std::net::TcpListener::bind(("127.0.0.1", 0))?;
    Ok(listener.local_addr()?.port())
}
