//! Recorded telemetry (an incident dataset) served behind the real Prometheus, Loki and
//! Jaeger query APIs, for the demo, the tests and the evaluation.

/// `aegis replay <dataset> --port N`: serves the dataset until Ctrl-C.
pub async fn serve_dataset(dataset: &std::path::Path, port: u16) -> anyhow::Result<()> {
    let _ = (dataset, port);
    anyhow::bail!("the replay is not implemented yet")
}
