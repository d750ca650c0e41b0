//! A real Prometheus (Debian `prometheus`) on a free port in a temporary folder,
//! optionally loaded with a dataset's metrics through
//! `promtool tsdb create-blocks-from openmetrics`.
//!
//! Blocks are created once per dataset per machine (a few seconds each; kept in the
//! temporary folder) and hard-linked into every instance's own TSDB folder, so
//! instances never share files Prometheus writes.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use tempfile::TempDir;

const INSTALL: &str =
    "run scripts/install-peers (Debian package `prometheus`: prometheus and promtool)";

/// A minimal configuration: no scrape targets, evaluation every 15 s.
pub const MINIMAL_CONFIG: &str = "global:\n  scrape_interval: 15s\n  evaluation_interval: 15s\n";

/// A running Prometheus; killed and its folder removed when dropped.
pub struct Prometheus {
    /// `http://127.0.0.1:<port>`
    pub base_url: String,
    /// The port it listens on.
    pub port: u16,
    child: tokio::process::Child,
    dir: TempDir,
}

impl std::fmt::Debug for Prometheus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Prometheus")
            .field("base_url", &self.base_url)
            .finish()
    }
}

/// Checks that `bin` is on PATH, or fails saying how to install it.
fn require(bin: &str) -> anyhow::Result<()> {
    let found = std::process::Command::new(bin)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    anyhow::ensure!(found, "`{bin}` is not on PATH: {INSTALL}");
    Ok(())
}

impl Prometheus {
    /// Starts Prometheus with `config_yaml` and `files` (name, content) written next to
    /// it, e.g. rule files the config names in `rule_files` by relative path.
    pub async fn start(config_yaml: &str, files: &[(&str, &str)]) -> anyhow::Result<Self> {
        Self::start_in(
            tempfile::Builder::new()
                .prefix("aegis-prometheus-")
                .tempdir()?,
            config_yaml,
            files,
        )
        .await
    }

    /// Starts Prometheus with a minimal configuration and the metrics of the dataset in
    /// `dataset_dir` (its `metrics.om.gz`) already in its TSDB.
    pub async fn start_with_dataset(dataset_dir: &Path) -> anyhow::Result<Self> {
        let blocks = dataset_blocks(dataset_dir).await?;
        let dir = tempfile::Builder::new()
            .prefix("aegis-prometheus-")
            .tempdir()?;
        let data = dir.path().join("data");
        link_tree(&blocks, &data)?;
        Self::start_in(dir, MINIMAL_CONFIG, &[]).await
    }

    /// Starts Prometheus on `dir` (its TSDB in `dir/data`).
    async fn start_in(
        dir: TempDir,
        config_yaml: &str,
        files: &[(&str, &str)],
    ) -> anyhow::Result<Self> {
        require("prometheus")?;
        for (name, content) in files {
            std::fs::write(dir.path().join(name), content)?;
        }
        let config = dir.path().join("prometheus.yml");
        std::fs::write(&config, config_yaml)?;
        let data = dir.path().join("data");
        std::fs::create_dir_all(&data)?;
        let log_path = dir.path().join("prometheus.log");
        let mut last_error = None;
        // A free port can be taken between probing and binding: retry a few times.
        for _ in 0..3 {
            let port = crate::process::free_port()?;
            let log = std::fs::File::create(&log_path)?;
            let mut child = tokio::process::Command::new("prometheus")
                .arg(format!("--config.file={}", config.display()))
                .arg(format!("--storage.tsdb.path={}", data.display()))
                .arg(format!("--web.listen-address=127.0.0.1:{port}"))
                .arg("--storage.tsdb.retention.time=100y")
                .arg("--web.enable-lifecycle")
                .stdout(Stdio::null())
                .stderr(log)
                .kill_on_drop(true)
                .spawn()
                .map_err(|e| anyhow::anyhow!("cannot start prometheus ({e}): {INSTALL}"))?;
            let base_url = format!("http://127.0.0.1:{port}");
            match wait_ready(&base_url, &mut child).await {
                Ok(()) => {
                    return Ok(Self {
                        base_url,
                        port,
                        child,
                        dir,
                    });
                }
                Err(e) => {
                    let _ = child.kill().await;
                    let log = std::fs::read_to_string(&log_path).unwrap_or_default();
                    let tail: Vec<&str> = log.lines().rev().take(15).collect();
                    let tail: Vec<&str> = tail.into_iter().rev().collect();
                    last_error = Some(anyhow::anyhow!("{e}; prometheus log:\n{}", tail.join("\n")));
                }
            }
        }
        Err(last_error.unwrap_or_else(|| anyhow::anyhow!("prometheus did not start")))
    }

    /// The folder holding its configuration and TSDB.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// Asks Prometheus to reload its configuration (after rewriting files in [`dir`](Self::dir)).
    pub async fn reload(&self) -> anyhow::Result<()> {
        let res = reqwest::Client::new()
            .post(format!("{}/-/reload", self.base_url))
            .send()
            .await?;
        anyhow::ensure!(res.status().is_success(), "reload failed: {}", res.status());
        Ok(())
    }

    /// Whether the process is still running.
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }
}

/// Waits up to 60 s for `/-/ready` (loading blocks takes a moment).
async fn wait_ready(base_url: &str, child: &mut tokio::process::Child) -> anyhow::Result<()> {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(2))
        .build()?;
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        if let Some(status) = child.try_wait()? {
            anyhow::bail!("prometheus exited with {status}");
        }
        if let Ok(res) = client.get(format!("{base_url}/-/ready")).send().await
            && res.status().is_success()
        {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    anyhow::bail!("prometheus was not ready within 60 s")
}

/// Per dataset folder, its blocks folder, once this process has found or made it.
type BlockCache = tokio::sync::Mutex<HashMap<PathBuf, PathBuf>>;

fn block_cache() -> &'static BlockCache {
    static CACHE: OnceLock<BlockCache> = OnceLock::new();
    CACHE.get_or_init(Default::default)
}

/// The TSDB blocks of `dataset_dir`'s metrics. They are kept between runs under
/// `<temp>/aegis-prometheus-blocks/<key>`, the key naming the dataset file and its
/// size and modification time, so each dataset is converted once per machine rather
/// than once per test process (a folder per process used to be left behind: a
/// static's `TempDir` is never dropped). Made in a temporary folder beside it and
/// renamed into place, so concurrent test processes never see half a folder; the
/// lock makes concurrent tests of one process wait for one creation.
async fn dataset_blocks(dataset_dir: &Path) -> anyhow::Result<PathBuf> {
    let key = dataset_dir.canonicalize()?;
    let mut cache = block_cache().lock().await;
    if let Some(blocks) = cache.get(&key) {
        return Ok(blocks.clone());
    }
    let root = std::env::temp_dir().join("aegis-prometheus-blocks");
    std::fs::create_dir_all(&root)?;
    let kept = root.join(cache_key(&key)?);
    if !kept.join("blocks").is_dir() {
        require("promtool")?;
        let (source, parent) = (key.clone(), root.clone());
        let made = tokio::task::spawn_blocking(move || create_blocks(&source, &parent)).await??;
        // Another process may have won the race: then its folder is as good.
        if std::fs::rename(made.path(), &kept).is_err() && !kept.join("blocks").is_dir() {
            anyhow::bail!("cannot keep the blocks at {}", kept.display());
        }
    }
    let blocks = kept.join("blocks");
    cache.insert(key, blocks.clone());
    Ok(blocks)
}

/// A name for the blocks of the dataset at `dataset_dir`, new whenever its metrics
/// file changes.
fn cache_key(dataset_dir: &Path) -> anyhow::Result<String> {
    use std::hash::{Hash, Hasher};
    let file = dataset_dir.join("metrics.om.gz");
    let meta = std::fs::metadata(&file).map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?;
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    (dataset_dir, meta.len(), meta.modified()?).hash(&mut hasher);
    let name = dataset_dir
        .file_name()
        .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
    Ok(format!("{name}-{:016x}", hasher.finish()))
}

/// Gunzips `metrics.om.gz` to a temporary file and runs promtool on it, in a
/// temporary folder under `parent`.
fn create_blocks(dataset_dir: &Path, parent: &Path) -> anyhow::Result<TempDir> {
    let dir = tempfile::Builder::new()
        .prefix("creating-")
        .tempdir_in(parent)?;
    let om = dir.path().join("metrics.om");
    let gz = std::fs::File::open(dataset_dir.join("metrics.om.gz"))
        .map_err(|e| anyhow::anyhow!("{}: {e}", dataset_dir.join("metrics.om.gz").display()))?;
    let mut decoder = flate2::read::GzDecoder::new(std::io::BufReader::new(gz));
    std::io::copy(
        &mut decoder,
        &mut std::io::BufWriter::new(std::fs::File::create(&om)?),
    )?;
    let blocks = dir.path().join("blocks");
    let out = std::process::Command::new("promtool")
        .args(["tsdb", "create-blocks-from", "openmetrics"])
        .arg(&om)
        .arg(&blocks)
        .output()
        .map_err(|e| anyhow::anyhow!("cannot run promtool ({e}): {INSTALL}"))?;
    anyhow::ensure!(
        out.status.success(),
        "promtool tsdb create-blocks-from openmetrics failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    std::fs::remove_file(&om)?;
    Ok(dir)
}

/// Recreates the folder tree `from` under `to`, hard-linking files.
fn link_tree(from: &Path, to: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let target = to.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            link_tree(&entry.path(), &target)?;
        } else {
            std::fs::hard_link(entry.path(), &target)
                .or_else(|_| std::fs::copy(entry.path(), &target).map(|_| ()))?;
        }
    }
    Ok(())
}
