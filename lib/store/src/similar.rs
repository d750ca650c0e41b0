//! The past-incident index: one entry per report (`similar/<id>.json`: its
//! fingerprint and what a reader needs to show it), written with the report and
//! rebuilt from the report when missing or unreadable. The reports are the truth: an
//! entry whose report is gone is ignored, a report without an entry gets one.

use std::collections::HashSet;

use futures::StreamExt;

use super::{Error, ObjectStore, layout};
use aegis_core::report::{Report, SimilarIncident};
use aegis_similar::{Entry, Query};

/// Entries read at once.
const FETCHES: usize = 16;

/// Keys asked for per page: S3's most per `ListObjectsV2`.
const PAGE: usize = 1000;

/// Reports searched at most (the newest ids first is not knowable from the keys, so
/// this only bounds the cost of a store far past its retention).
const MAX_REPORTS: usize = 20_000;

/// The entry of `report` as stored.
pub(crate) fn encode(report: &Report) -> Result<Vec<u8>, serde_json::Error> {
    serde_json::to_vec(&Entry::of(report))
}

/// The `limit` stored incidents closest to `query`, at least `min` alike, leaving out
/// the report `exclude`. Entries missing or unreadable are rebuilt from their report
/// (and written back; a failure to write back is only logged).
pub(crate) async fn search(
    objects: &dyn ObjectStore,
    query: &Query,
    exclude: Option<&str>,
    limit: usize,
    min: f64,
) -> Result<Vec<SimilarIncident>, Error> {
    if limit == 0 {
        return Ok(Vec::new());
    }
    let reports = keys(objects, "reports/").await?;
    let indexed: HashSet<String> = keys(objects, layout::SIMILAR).await?.into_iter().collect();
    let wanted: Vec<(String, String, bool)> = reports
        .iter()
        .filter_map(|k| k.strip_prefix("reports/")?.strip_suffix(".json"))
        .map(|name| {
            let entry_key = format!("{}{name}.json", layout::SIMILAR);
            let has_entry = indexed.contains(&entry_key);
            (name.to_string(), entry_key, has_entry)
        })
        .collect();
    let entries: Vec<Entry> = futures::stream::iter(wanted)
        .map(|(name, entry_key, has_entry)| async move {
            entry(objects, &name, &entry_key, has_entry).await
        })
        .buffer_unordered(FETCHES)
        .collect::<Vec<_>>()
        .await
        .into_iter()
        .collect::<Result<Vec<_>, Error>>()?
        .into_iter()
        .flatten()
        .collect();
    Ok(aegis_similar::closest(query, &entries, exclude, limit, min))
}

/// The entry of the report stored as `reports/<name>.json`: read, or rebuilt from the
/// report when missing or unreadable; `None` when the report itself is gone or
/// unreadable.
async fn entry(
    objects: &dyn ObjectStore,
    name: &str,
    entry_key: &str,
    has_entry: bool,
) -> Result<Option<Entry>, Error> {
    if has_entry && let Some(bytes) = objects.get(entry_key).await? {
        match serde_json::from_slice::<Entry>(&bytes) {
            Ok(e) => return Ok(Some(e)),
            Err(e) => {
                tracing::warn!(key = %entry_key, reason = %e, "rebuilding an unreadable past-incident entry from its report");
            }
        }
    }
    let report_key = format!("reports/{name}.json");
    let Some(bytes) = objects.get(&report_key).await? else {
        return Ok(None);
    };
    let report: Report = match serde_json::from_slice(&bytes) {
        Ok(r) => r,
        Err(e) => {
            tracing::warn!(key = %report_key, reason = %e, "skipping an unreadable report in the past-incident search");
            return Ok(None);
        }
    };
    let entry = Entry::of(&report);
    match serde_json::to_vec(&entry) {
        Ok(bytes) => {
            if let Err(e) = objects.put(entry_key, bytes, layout::JSON).await {
                tracing::warn!(key = %entry_key, error = %e, "could not write back a rebuilt past-incident entry");
            }
        }
        Err(e) => {
            tracing::warn!(key = %entry_key, reason = %e, "could not encode a past-incident entry")
        }
    }
    Ok(Some(entry))
}

/// Every key under `prefix`, up to [`MAX_REPORTS`].
async fn keys(objects: &dyn ObjectStore, prefix: &str) -> Result<Vec<String>, Error> {
    let mut out: Vec<String> = Vec::new();
    loop {
        let page = objects
            .list(prefix, out.last().map(String::as_str), PAGE)
            .await?;
        let last = page.len() < PAGE;
        out.extend(page);
        if last || out.len() >= MAX_REPORTS {
            return Ok(out);
        }
    }
}
