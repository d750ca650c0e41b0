//! `aegis eval`: runs the engine on every case of incident datasets and scores it.

use std::path::{Path, PathBuf};

/// Evaluates the engine on `datasets`, printing a table and optionally writing JSON.
pub async fn run(
    datasets: &[PathBuf],
    json: Option<&Path>,
    limit: Option<usize>,
) -> anyhow::Result<()> {
    let _ = (datasets, json, limit);
    anyhow::bail!("evaluation is not implemented yet")
}
