//! A real S3-compatible server (moto's server, `moto[server]` from PyPI) on a free port.
//!
//! moto implements conditional writes (`If-None-Match: *` on PutObject answers 412 when
//! the key exists), presigned URLs and path-style addressing, which is what the report
//! store needs. It does not check signatures, so any credentials work.
//!
//! One caveat, measured with moto 5.2: it checks `If-None-Match` and then writes without
//! a lock, so under its threaded server two truly concurrent conditional PUTs of one key
//! can both succeed (1 in 300 pairs here), which AWS S3 and MinIO never allow. The
//! harness therefore runs moto's own WSGI app behind a lock (`SERVE`): requests are
//! handled one at a time, which makes the conditional write atomic as on S3 (0 in 1000
//! pairs) without changing any response.

use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::io::{AsyncBufReadExt, BufReader};

use crate::process::free_port;

/// moto's server (`python3 -m moto.server`, minus the CLI) with requests serialised.
const SERVE: &str = r#"
import os, sys, threading
from werkzeug.serving import run_simple
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
host, port = sys.argv[1], int(sys.argv[2])
os.environ.setdefault("MOTO_PORT", str(port))
app = DomainDispatcherApplication(create_backend_app)
lock = threading.Lock()
def serialised(environ, start_response):
    with lock:
        return list(app(environ, start_response))
run_simple(host, port, serialised, threaded=True)
"#;

const INSTALL_HINT: &str =
    "install it with scripts/install-peers (or: python3 -m pip install 'moto[server]')";

/// A running moto server; killed when dropped.
pub struct S3Server {
    child: Option<tokio::process::Child>,
    /// `http://127.0.0.1:<port>`.
    pub endpoint: url::Url,
    log: Arc<Mutex<Vec<String>>>,
}

/// An AWS Signature V4 header naming [`S3Server::credentials`]'s key with a dummy
/// signature: enough for moto, which does not verify signatures.
const UNVERIFIED_SIGNATURE: &str = "AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=0";

impl S3Server {
    /// Starts moto's S3 server on a free port and waits (up to 30 s) until it
    /// answers. Fails with how to install moto when it is missing.
    pub async fn start() -> anyhow::Result<Self> {
        let python = std::env::var("PYTHON").unwrap_or_else(|_| "python3".to_string());
        let probe = tokio::process::Command::new(&python)
            .args(["-c", "import moto.server, flask, flask_cors"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .await;
        if !probe.is_ok_and(|s| s.success()) {
            anyhow::bail!(
                "moto's S3 server is missing ({python} cannot import moto.server); {INSTALL_HINT}"
            );
        }
        let port = free_port()?;
        let mut child = tokio::process::Command::new(&python)
            .args(["-c", SERVE, "127.0.0.1", &port.to_string()])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| {
                anyhow::anyhow!("cannot start moto's server with {python}: {e}; {INSTALL_HINT}")
            })?;
        // moto logs every request; drain it (a full pipe would stall the server) and keep
        // the tail for error messages.
        let log = Arc::new(Mutex::new(Vec::new()));
        if let Some(stderr) = child.stderr.take() {
            let log = log.clone();
            tokio::spawn(async move {
                let mut lines = BufReader::new(stderr).lines();
                while let Ok(Some(line)) = lines.next_line().await {
                    let mut log = log.lock().unwrap_or_else(|p| p.into_inner());
                    if log.len() >= 40 {
                        log.remove(0);
                    }
                    log.push(line);
                }
            });
        }
        let endpoint = url::Url::parse(&format!("http://127.0.0.1:{port}"))?;
        let server = Self {
            child: Some(child),
            endpoint,
            log,
        };
        server.wait_ready().await?;
        Ok(server)
    }

    async fn wait_ready(&self) -> anyhow::Result<()> {
        let http = reqwest::Client::new();
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if http.get(self.endpoint.clone()).send().await.is_ok() {
                return Ok(());
            }
            anyhow::ensure!(
                Instant::now() < deadline,
                "moto's S3 server did not answer on {} within 30 s; its log:\n{}",
                self.endpoint,
                self.log_tail()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// The last lines moto logged.
    pub fn log_tail(&self) -> String {
        self.log
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .join("\n")
    }

    /// Creates `bucket` (moto does not check signatures, so a plain PUT does).
    pub async fn create_bucket(&self, bucket: &str) -> anyhow::Result<()> {
        let url = self.endpoint.join(bucket)?;
        // moto's development server (werkzeug) now and then resets a connection that
        // arrives while it is still warming up on a loaded machine: a reset, and only a
        // reset, is tried again, a few times.
        let mut attempt = 0;
        let res = loop {
            attempt += 1;
            match reqwest::Client::new().put(url.clone()).send().await {
                Err(e) if (e.is_connect() || e.is_request()) && attempt < 5 => {
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
                other => break other?,
            }
        };
        anyhow::ensure!(
            res.status().is_success(),
            "creating bucket {bucket} failed: {}",
            res.status()
        );
        Ok(())
    }

    /// The keys under `prefix` in `bucket`, in S3's order (ListObjectsV2), with each
    /// object's bytes and content type.
    pub async fn objects(
        &self,
        bucket: &str,
        prefix: &str,
    ) -> anyhow::Result<Vec<(String, String, Vec<u8>)>> {
        let client = reqwest::Client::new();
        let mut url = self.endpoint.join(bucket)?;
        url.query_pairs_mut()
            .append_pair("list-type", "2")
            .append_pair("prefix", prefix);
        let listing = client
            .get(url)
            .send()
            .await?
            .error_for_status()?
            .text()
            .await?;
        let mut out = Vec::new();
        for key in listing
            .split("<Key>")
            .skip(1)
            .filter_map(|s| s.split_once("</Key>"))
        {
            let key = key.0.to_string();
            let res = client
                .get(self.endpoint.join(&format!("{bucket}/{key}"))?)
                // Objects are private: a request must carry credentials, which moto
                // reads but does not verify.
                .header(reqwest::header::AUTHORIZATION, UNVERIFIED_SIGNATURE)
                .send()
                .await?
                .error_for_status()?;
            let content_type = res
                .headers()
                .get(reqwest::header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_string();
            out.push((key, content_type, res.bytes().await?.to_vec()));
        }
        Ok(out)
    }

    /// The store configuration for `bucket` on this server (path-style addressing).
    pub fn store_config(&self, bucket: &str) -> aegis_store::S3Config {
        aegis_store::S3Config {
            bucket: bucket.to_string(),
            prefix: "aegis/".to_string(),
            force_path_style: true,
            endpoint: Some(self.endpoint.clone()),
            region: "us-east-1".to_string(),
        }
    }

    /// Credentials moto accepts (it does not check them).
    pub fn credentials() -> aegis_store::Credentials {
        aegis_store::Credentials::new("test", "test", None, None, "tests")
    }

    /// The environment that points a spawned `aegis` at `bucket` on this server.
    pub fn env(&self, bucket: &str) -> Vec<(&'static str, String)> {
        vec![
            ("AEGIS_S3_BUCKET", bucket.to_string()),
            ("AEGIS_S3_FORCE_PATH_STYLE", "true".to_string()),
            ("AWS_ENDPOINT_URL_S3", self.endpoint.to_string()),
            ("AWS_REGION", "us-east-1".to_string()),
            ("AWS_ACCESS_KEY_ID", "test".to_string()),
            ("AWS_SECRET_ACCESS_KEY", "test".to_string()),
        ]
    }

    /// Stops the server (the store is then "down") and waits until it has exited.
    pub async fn stop(&mut self) -> anyhow::Result<()> {
        if let Some(mut child) = self.child.take() {
            child.kill().await?;
        }
        Ok(())
    }
}
