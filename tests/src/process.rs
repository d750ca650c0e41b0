//! Running Aegis for a test: the real `aegis` binary as a child process on a free port
//! ([`Aegis`]), or `aegis dev` inside the test process ([`dev`]), each waited on until
//! it is healthy.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, Instant};

use tokio::io::AsyncReadExt;

pub use aegis_cli::{DevHandle, DevOptions};

/// `target/<profile>/aegis`, next to the test executable (`target/<profile>/deps/e2e-*`).
/// Fails with how to build it when it is missing: `scripts/test` builds every binary
/// before running the tests, but a bare `cargo test` does not.
pub fn aegis_bin() -> anyhow::Result<PathBuf> {
    let exe = std::env::current_exe()?;
    let dir = exe
        .parent()
        .and_then(|deps| deps.parent())
        .ok_or_else(|| anyhow::anyhow!("test executable {} has no parent", exe.display()))?;
    let bin = dir.join(format!("aegis{}", std::env::consts::EXE_SUFFIX));
    anyhow::ensure!(
        bin.is_file(),
        "{} is missing: build it first with `cargo build --workspace --bins` (scripts/test does)",
        bin.display()
    );
    Ok(bin)
}

/// A free TCP port on 127.0.0.1 (bound and released; for child processes only, since
/// in-process servers should bind port 0 themselves).
pub fn free_port() -> anyhow::Result<u16> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    Ok(listener.local_addr()?.port())
}

/// The finished output of a short `aegis` command.
#[derive(Debug)]
pub struct Output {
    /// The exit code (`None` when killed by a signal).
    pub code: Option<i32>,
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
}

/// Runs `aegis <args>` with `env` added to the environment, to completion (60 s at most).
pub async fn run(args: &[&str], env: &[(&str, &str)]) -> anyhow::Result<Output> {
    let mut cmd = tokio::process::Command::new(aegis_bin()?);
    cmd.args(args).envs(env.iter().copied()).kill_on_drop(true);
    let out = tokio::time::timeout(Duration::from_secs(60), cmd.output())
        .await
        .map_err(|_| anyhow::anyhow!("aegis {args:?} did not finish within 60 s"))??;
    Ok(Output {
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    })
}

/// A running `aegis` child process, listening on `port`; killed when dropped.
pub struct Aegis {
    child: tokio::process::Child,
    /// The port it listens on.
    pub port: u16,
}

impl Aegis {
    /// Starts `aegis <args>` with `PORT` set to a free port and `env` added, and waits
    /// (up to 30 s) until `/healthz` answers 200. Its logs go to the test's stderr.
    pub async fn spawn(args: &[&str], env: &[(&str, &str)]) -> anyhow::Result<Self> {
        let port = free_port()?;
        let port_s = port.to_string();
        let child = tokio::process::Command::new(aegis_bin()?)
            .args(args)
            .env("PORT", &port_s)
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::inherit())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()?;
        let mut aegis = Self { child, port };
        aegis.forward_stderr();
        aegis.wait_healthy(Duration::from_secs(30)).await?;
        Ok(aegis)
    }

    fn forward_stderr(&mut self) {
        if let Some(mut err) = self.child.stderr.take() {
            tokio::spawn(async move {
                let mut buf = vec![0u8; 8192];
                while let Ok(n) = err.read(&mut buf).await {
                    if n == 0 {
                        break;
                    }
                    eprint!("{}", String::from_utf8_lossy(&buf[..n]));
                }
            });
        }
    }

    /// `http://127.0.0.1:<port><path>`.
    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    /// Waits until `/healthz` answers 200, failing if the process exits first.
    pub async fn wait_healthy(&mut self, within: Duration) -> anyhow::Result<()> {
        let client = reqwest::Client::builder().no_proxy().build()?;
        let started = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait()? {
                anyhow::bail!("aegis exited before it was healthy: {status}");
            }
            if let Ok(res) = client.get(self.url("/healthz")).send().await
                && res.status().is_success()
            {
                return Ok(());
            }
            anyhow::ensure!(
                started.elapsed() < within,
                "aegis did not answer /healthz within {within:?}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Sends SIGTERM (as Kubernetes and Knative do).
    pub fn terminate(&self) -> anyhow::Result<()> {
        let pid = self
            .child
            .id()
            .ok_or_else(|| anyhow::anyhow!("aegis has already exited"))?;
        let status = std::process::Command::new("kill")
            .args(["-TERM", &pid.to_string()])
            .status()?;
        anyhow::ensure!(status.success(), "kill -TERM {pid} failed: {status}");
        Ok(())
    }

    /// Kills the process with SIGKILL (a crash: nothing is flushed, nothing finishes)
    /// and waits for it to be gone.
    pub async fn kill(&mut self) -> anyhow::Result<()> {
        self.child.kill().await?;
        Ok(())
    }

    /// Waits (up to `within`) for the process to exit and returns its exit code.
    pub async fn wait(&mut self, within: Duration) -> anyhow::Result<Option<i32>> {
        let status = tokio::time::timeout(within, self.child.wait())
            .await
            .map_err(|_| anyhow::anyhow!("aegis did not exit within {within:?}"))??;
        Ok(status.code())
    }
}

/// `aegis dev` in this process on a free port of 127.0.0.1, with the variables `vars`
/// (nothing is read from the process environment) and the report store in a fresh
/// temporary folder (unless `vars` sets `AEGIS_DATA_DIR`); `knative` replaces the
/// built-in manifests. Keep the returned folder alive as long as the server.
pub async fn dev(
    vars: &[(&str, &str)],
    knative: Option<&std::path::Path>,
) -> anyhow::Result<(DevHandle, tempfile::TempDir)> {
    let data = tempfile::tempdir()?;
    let data_dir = data.path().display().to_string();
    let mut all = crate::vars::Vars::of(&[("AEGIS_DATA_DIR", &data_dir)]);
    for (name, value) in vars {
        all.set(name, *value);
    }
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let mut opts = DevOptions::new(all.lookup()).listener(listener);
    if let Some(dir) = knative {
        opts = opts.knative(dir);
    }
    let handle = aegis_cli::start_dev(opts).await?;
    Ok((handle, data))
}
