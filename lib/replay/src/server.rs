//! The replay's HTTP server: one router answering the Prometheus, Loki and Jaeger
//! query APIs from one dataset.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use axum::Router;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

use super::{Dataset, jaeger, loki, prometheus};

/// The router of the three query APIs over `dataset`; mount it anywhere.
pub fn router(dataset: Arc<Dataset>) -> Router {
    Router::new()
        .merge(prometheus::routes())
        .merge(loki::routes())
        .merge(jaeger::routes())
        .route("/-/ready", axum::routing::get(|| async { "ready" }))
        .route("/healthz", axum::routing::get(|| async { "ok" }))
        .with_state(dataset)
}

/// A replay serving in the background; dropping it stops the server.
#[derive(Debug)]
pub struct Server {
    /// `http://127.0.0.1:<port>`: the base URL of all three APIs.
    pub base_url: String,
    /// The bound address.
    pub addr: SocketAddr,
    task: JoinHandle<()>,
}

impl Server {
    /// Serves `dataset` on `listener` in a background task (bind port 0 in tests).
    pub fn start(dataset: Arc<Dataset>, listener: TcpListener) -> std::io::Result<Self> {
        let addr = listener.local_addr()?;
        let app = router(dataset);
        let task = tokio::spawn(async move {
            if let Err(e) = axum::serve(listener, app).await {
                tracing::error!(error = %e, "replay server failed");
            }
        });
        Ok(Self {
            base_url: format!("http://{addr}"),
            addr,
            task,
        })
    }

    /// Loads the dataset in `dir` (on a blocking thread) and serves it on
    /// `127.0.0.1:0`.
    pub async fn load_and_start(dir: &Path) -> anyhow::Result<Self> {
        let dir = dir.to_path_buf();
        let dataset = tokio::task::spawn_blocking(move || Dataset::load(&dir)).await??;
        let listener = TcpListener::bind(("127.0.0.1", 0)).await?;
        Ok(Self::start(Arc::new(dataset), listener)?)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// `aegis replay <dataset> --port N`: loads the dataset and serves it until Ctrl-C.
pub async fn serve_dataset(dir: &Path, port: u16) -> anyhow::Result<()> {
    let started = std::time::Instant::now();
    let owned = dir.to_path_buf();
    let dataset = tokio::task::spawn_blocking(move || Dataset::load(&owned))
        .await?
        .map_err(|e| anyhow::anyhow!("cannot load the dataset in {}: {e}", dir.display()))?;
    let listener = TcpListener::bind(("0.0.0.0", port))
        .await
        .map_err(|e| anyhow::anyhow!("cannot listen on port {port}: {e}"))?;
    eprintln!(
        "replaying {} ({} series, {} log lines, {} spans, loaded in {:.1?}) on http://{}: \
         Prometheus at /api/v1, Loki at /loki/api/v1, Jaeger at /api",
        dataset.meta.id,
        dataset.metrics.series.len(),
        dataset.logs.len(),
        dataset.traces.spans.len(),
        started.elapsed(),
        listener.local_addr()?,
    );
    axum::serve(listener, router(Arc::new(dataset)))
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
    Ok(())
}
