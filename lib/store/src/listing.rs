//! Newest-first listings (report index lines, dead letters) over a name-ordered
//! [`ObjectStore::list`]: names carry a reverse timestamp, so reading pages in name order
//! is reading newest first, and a listing with `since` stops at the first older name.

use chrono::{DateTime, Utc};
use futures::StreamExt;

use super::{Error, ObjectStore};

/// Objects read at once while listing.
const FETCHES: usize = 16;

/// Keys asked for per page: S3's most per `ListObjectsV2`.
const MAX_PAGE: usize = 1000;

/// What a newest-first listing returns, one per object under [`Listed::FOLDER`].
pub(crate) trait Listed: Sized {
    /// The folder (key prefix, ending in `/`) the entries are kept in.
    const FOLDER: &'static str;
    /// What an entry is called in the warning about one that is unreadable.
    const WHAT: &'static str;
    /// The time in an entry's name (the key without [`Listed::FOLDER`]); `None` for a
    /// name that is not an entry's, which the listing skips.
    fn time(name: &str) -> Option<DateTime<Utc>>;
    /// The entry named with time `at` holding `bytes`, or why it is unreadable.
    fn decode(at: DateTime<Utc>, bytes: &[u8]) -> Result<Self, String>;
}

/// Entries newest first, at or after `since`, at most `limit` of those `keep` accepts
/// (it sees them newest first, so it can drop repeats). An entry that vanished between
/// list and read (pruned, expired) is skipped, one that cannot be decoded is skipped with
/// a warning: a listing is a best-effort view. A backend failure fails the listing.
pub(crate) async fn newest<T: Listed>(
    objects: &dyn ObjectStore,
    since: Option<DateTime<Utc>>,
    limit: usize,
    mut keep: impl FnMut(&T) -> bool,
) -> Result<Vec<T>, Error> {
    let mut out = Vec::new();
    if limit == 0 {
        return Ok(out);
    }
    let page_size = limit.min(MAX_PAGE);
    let mut after: Option<String> = None;
    loop {
        let page = objects.list(T::FOLDER, after.as_deref(), page_size).await?;
        let last_page = page.len() < page_size;
        let mut reached_since = false;
        let mut wanted = Vec::new();
        for key in &page {
            let Some(at) = key.strip_prefix(T::FOLDER).and_then(T::time) else {
                continue;
            };
            if since.is_some_and(|s| at < s) {
                reached_since = true;
                break;
            }
            wanted.push((key.clone(), at));
        }
        for chunk in wanted.chunks(FETCHES) {
            let fetched: Vec<_> = futures::stream::iter(chunk.iter().cloned())
                .map(|(key, at)| async move {
                    let bytes = objects.get(&key).await;
                    (key, at, bytes)
                })
                .buffered(FETCHES)
                .collect()
                .await;
            for (key, at, bytes) in fetched {
                let Some(bytes) = bytes? else { continue };
                match T::decode(at, &bytes) {
                    Ok(entry) => {
                        if keep(&entry) {
                            out.push(entry);
                        }
                        if out.len() >= limit {
                            return Ok(out);
                        }
                    }
                    Err(reason) => {
                        tracing::warn!(%key, %reason, "skipping an unreadable {}", T::WHAT);
                    }
                }
            }
        }
        if reached_since || last_page {
            return Ok(out);
        }
        after = page.last().cloned();
    }
}
