//! The folder store: the default on a laptop, when no bucket is configured.
//!
//! Layout under the data folder:
//! `reports/<id>.json` and `reports/<id>.md`, `index/<reverse time>-<id>` (the listing
//! line, so listing reads only what it returns), `cards/<alert event id>` (the Feishu
//! message id), `markers/<key>` and `dead-letters/<reverse time>-<event id>.json`.
//! Names go through [`key::object_name`]. Every write is atomic (a temp file in the
//! same folder, fsync, rename); markers are created with `O_EXCL`, so two claims of
//! one marker cannot both win.

use std::collections::HashSet;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use chrono::{DateTime, Utc};

use super::{Claim, DeadLetter, Error, ReportLinks, ReportStore, ReportSummary, key, markdown};
use aegis_core::report::Report;

const REPORTS: &str = "reports";
const INDEX: &str = "index";
const CARDS: &str = "cards";
const MARKERS: &str = "markers";
const DEAD_LETTERS: &str = "dead-letters";

/// Pruning runs at open and then at most this often (on writes).
const PRUNE_EVERY: Duration = Duration::from_secs(3600);

/// Reports, cards and markers as files under one folder.
#[derive(Debug)]
pub struct Folder {
    root: Arc<PathBuf>,
    retention: Duration,
    links: ReportLinks,
    last_prune: Mutex<Instant>,
}

impl Folder {
    /// Creates the layout under `root` if needed and prunes entries older than
    /// `retention`. `links` says how [`ReportStore::report_link`] answers (presigned
    /// links need S3 and are treated as none).
    pub async fn open(
        root: impl Into<PathBuf>,
        retention: Duration,
        links: ReportLinks,
    ) -> Result<Self, Error> {
        let root = Arc::new(root.into());
        let dirs = root.clone();
        blocking(move || {
            for sub in [REPORTS, INDEX, CARDS, MARKERS, DEAD_LETTERS] {
                fs::create_dir_all(dirs.join(sub))?;
            }
            Ok(())
        })
        .await
        .map_err(|e| Error::Unavailable(format!("cannot create {}: {e}", root.display())))?;
        let store = Self {
            root,
            retention,
            links,
            last_prune: Mutex::new(Instant::now()),
        };
        store.prune().await?;
        Ok(store)
    }

    /// Deletes reports, index lines, cards and markers older than the retention;
    /// returns how many files went.
    pub async fn prune(&self) -> Result<usize, Error> {
        let root = self.root.clone();
        let cutoff = SystemTime::now()
            .checked_sub(self.retention)
            .unwrap_or(SystemTime::UNIX_EPOCH);
        let removed = blocking(move || prune_before(&root, cutoff))
            .await
            .map_err(|e| self.unavailable("prune", e))?;
        if removed > 0 {
            tracing::info!(removed, root = %self.root.display(), "pruned the report store");
        }
        Ok(removed)
    }

    /// Starts a prune in the background when the last one is over an hour old.
    fn maybe_prune(&self) {
        {
            let mut last = self
                .last_prune
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            if last.elapsed() < PRUNE_EVERY {
                return;
            }
            *last = Instant::now();
        }
        let root = self.root.clone();
        let cutoff = SystemTime::now()
            .checked_sub(self.retention)
            .unwrap_or(SystemTime::UNIX_EPOCH);
        tokio::task::spawn_blocking(move || {
            if let Err(e) = prune_before(&root, cutoff) {
                tracing::warn!(error = %e, root = %root.display(), "pruning the report store failed");
            }
        });
    }

    fn unavailable(&self, what: &str, e: io::Error) -> Error {
        Error::Unavailable(format!("{what} in {}: {e}", self.root.display()))
    }

    async fn read_optional(
        &self,
        dir: &'static str,
        name: String,
    ) -> Result<Option<Vec<u8>>, Error> {
        let path = self.root.join(dir).join(&name);
        blocking(move || match fs::read(&path) {
            Ok(bytes) => Ok(Some(bytes)),
            // Absent only if its folder is there: a missing folder (an unmounted volume,
            // a deleted data dir) means the store is down, not that nothing was stored.
            Err(e)
                if e.kind() == io::ErrorKind::NotFound
                    && path.parent().is_some_and(Path::is_dir) =>
            {
                Ok(None)
            }
            Err(e) => Err(e),
        })
        .await
        .map_err(|e| self.unavailable(&format!("reading {dir}/{name}"), e))
    }
}

#[async_trait::async_trait]
impl ReportStore for Folder {
    async fn put_report(&self, report: &Report) -> Result<(), Error> {
        let now = Utc::now();
        let name = key::object_name(&report.id);
        let json = serde_json::to_vec_pretty(report).map_err(|e| Error::Corrupt {
            key: report.id.clone(),
            reason: e.to_string(),
        })?;
        let md = markdown::render(report);
        let line =
            serde_json::to_vec(&ReportSummary::of(report, now)).map_err(|e| Error::Corrupt {
                key: report.id.clone(),
                reason: e.to_string(),
            })?;
        let index_name = key::index_name(now, &report.id);
        let root = self.root.clone();
        blocking(move || {
            let reports = root.join(REPORTS);
            write_atomic(&reports, &format!("{name}.json"), &json)?;
            write_atomic(&reports, &format!("{name}.md"), md.as_bytes())?;
            // The index line last, so a listing never names a report that is not there.
            write_atomic(&root.join(INDEX), &index_name, &line)
        })
        .await
        .map_err(|e| self.unavailable("storing a report", e))?;
        self.maybe_prune();
        Ok(())
    }

    async fn get_report(&self, id: &str) -> Result<Option<Report>, Error> {
        let name = format!("{}.json", key::object_name(id));
        let Some(bytes) = self.read_optional(REPORTS, name).await? else {
            return Ok(None);
        };
        serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|e| Error::Corrupt {
                key: format!("{REPORTS}/{id}.json"),
                reason: e.to_string(),
            })
    }

    async fn get_report_markdown(&self, id: &str) -> Result<Option<String>, Error> {
        let name = format!("{}.md", key::object_name(id));
        let Some(bytes) = self.read_optional(REPORTS, name).await? else {
            return Ok(None);
        };
        String::from_utf8(bytes)
            .map(Some)
            .map_err(|e| Error::Corrupt {
                key: format!("{REPORTS}/{id}.md"),
                reason: e.to_string(),
            })
    }

    async fn list_reports(
        &self,
        since: Option<DateTime<Utc>>,
        limit: usize,
    ) -> Result<Vec<ReportSummary>, Error> {
        let index = self.root.join(INDEX);
        blocking(move || {
            let mut names: Vec<String> = fs::read_dir(&index)?
                .filter_map(|entry| entry.ok()?.file_name().into_string().ok())
                .filter(|name| key::index_time(name).is_some())
                .collect();
            names.sort_unstable();
            let mut seen = HashSet::new();
            let mut out = Vec::new();
            for name in names {
                if out.len() >= limit {
                    break;
                }
                let at = key::index_time(&name).expect("filtered on index_time above");
                if since.is_some_and(|s| at < s) {
                    break;
                }
                // An entry pruned or unreadable since the directory was read is skipped:
                // a listing is a best-effort view, the reports themselves are intact.
                let summary: ReportSummary = match fs::read(index.join(&name))
                    .map_err(|e| e.to_string())
                    .and_then(|b| serde_json::from_slice(&b).map_err(|e| e.to_string()))
                {
                    Ok(summary) => summary,
                    Err(reason) => {
                        tracing::warn!(%name, %reason, "skipping an unreadable index entry");
                        continue;
                    }
                };
                // A report stored twice (a redelivery) is listed once, at its newest time.
                if seen.insert(summary.id.clone()) {
                    out.push(summary);
                }
            }
            Ok(out)
        })
        .await
        .map_err(|e| self.unavailable("listing reports", e))
    }

    async fn put_card(&self, alert_event_id: &str, message_id: &str) -> Result<(), Error> {
        let dir = self.root.join(CARDS);
        let name = key::object_name(alert_event_id);
        let body = message_id.as_bytes().to_vec();
        blocking(move || write_atomic(&dir, &name, &body))
            .await
            .map_err(|e| self.unavailable("storing a card id", e))
    }

    async fn get_card(&self, alert_event_id: &str) -> Result<Option<String>, Error> {
        let Some(bytes) = self
            .read_optional(CARDS, key::object_name(alert_event_id))
            .await?
        else {
            return Ok(None);
        };
        String::from_utf8(bytes)
            .map(|s| Some(s.trim().to_string()))
            .map_err(|e| Error::Corrupt {
                key: format!("{CARDS}/{alert_event_id}"),
                reason: e.to_string(),
            })
    }

    async fn claim(&self, key: &str) -> Result<Claim, Error> {
        let path = self.root.join(MARKERS).join(key::object_name(key));
        blocking(move || {
            // O_CREAT | O_EXCL: the kernel lets exactly one creator through.
            match OpenOptions::new().write(true).create_new(true).open(&path) {
                Ok(mut file) => {
                    writeln!(file, "{}", Utc::now().to_rfc3339())?;
                    file.sync_all()?;
                    Ok(Claim::Won)
                }
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Ok(Claim::AlreadyTaken),
                Err(e) => Err(e),
            }
        })
        .await
        .map_err(|e| self.unavailable("claiming a marker", e))
    }

    async fn release(&self, key: &str) -> Result<(), Error> {
        let path = self.root.join(MARKERS).join(key::object_name(key));
        blocking(move || match fs::remove_file(&path) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        })
        .await
        .map_err(|e| self.unavailable("releasing a marker", e))
    }

    async fn report_link(&self, id: &str) -> Result<Option<String>, Error> {
        Ok(super::public_link(&self.links, id))
    }

    async fn put_dead_letter(
        &self,
        at: DateTime<Utc>,
        id: &str,
        event: &[u8],
    ) -> Result<(), Error> {
        let dir = self.root.join(DEAD_LETTERS);
        let name = DeadLetter::object_name(at, id);
        let body = event.to_vec();
        blocking(move || write_atomic(&dir, &name, &body))
            .await
            .map_err(|e| self.unavailable("storing a dead letter", e))
    }

    async fn remove_dead_letter(&self, at: DateTime<Utc>, id: &str) -> Result<(), Error> {
        let path = self
            .root
            .join(DEAD_LETTERS)
            .join(DeadLetter::object_name(at, id));
        blocking(move || match fs::remove_file(&path) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        })
        .await
        .map_err(|e| self.unavailable("removing a dead letter", e))
    }

    async fn list_dead_letters(&self, limit: usize) -> Result<Vec<DeadLetter>, Error> {
        let dir = self.root.join(DEAD_LETTERS);
        blocking(move || {
            let mut names: Vec<String> = fs::read_dir(&dir)?
                .filter_map(|entry| entry.ok()?.file_name().into_string().ok())
                .filter(|name| !name.starts_with('.'))
                .collect();
            names.sort_unstable();
            let mut out = Vec::new();
            for name in names {
                if out.len() >= limit {
                    break;
                }
                let parsed = fs::read(dir.join(&name))
                    .map_err(|e| e.to_string())
                    .map(|bytes| DeadLetter::parse(&name, &bytes));
                match parsed {
                    Ok(None) => {}
                    Ok(Some(Ok(letter))) => out.push(letter),
                    Ok(Some(Err(reason))) | Err(reason) => {
                        tracing::warn!(%name, %reason, "skipping an unreadable dead letter");
                    }
                }
            }
            Ok(out)
        })
        .await
        .map_err(|e| self.unavailable("listing dead letters", e))
    }
}

/// Runs blocking file I/O off the async threads.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> io::Result<T> + Send + 'static,
) -> io::Result<T> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| io::Error::other(format!("file task failed: {e}")))?
}

/// Writes `dir/name` so that readers see the old content or the new, never a mix:
/// a temp file in the same folder (same file system, so the rename is atomic), fsync,
/// rename, then fsync the folder so the rename itself survives a crash.
fn write_atomic(dir: &Path, name: &str, bytes: &[u8]) -> io::Result<()> {
    let tmp = dir.join(format!(".{name}.{}.tmp", uuid::Uuid::new_v4().simple()));
    let written = File::create_new(&tmp).and_then(|mut file| {
        file.write_all(bytes)?;
        file.sync_all()?;
        fs::rename(&tmp, dir.join(name))
    });
    if let Err(e) = written {
        let _ = fs::remove_file(&tmp);
        return Err(e);
    }
    File::open(dir)?.sync_all()
}

/// Removes files last modified before `cutoff` from every folder of the layout.
fn prune_before(root: &Path, cutoff: SystemTime) -> io::Result<usize> {
    let mut removed = 0;
    for sub in [INDEX, REPORTS, CARDS, MARKERS, DEAD_LETTERS] {
        for entry in fs::read_dir(root.join(sub))? {
            let entry = entry?;
            let meta = match entry.metadata() {
                Ok(meta) if meta.is_file() => meta,
                _ => continue,
            };
            if meta.modified()? < cutoff {
                match fs::remove_file(entry.path()) {
                    Ok(()) => removed += 1,
                    Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                    Err(e) => return Err(e),
                }
            }
        }
    }
    Ok(removed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::report;

    fn age(path: &Path, by: Duration) {
        let file = File::options().write(true).open(path).expect("open");
        file.set_modified(SystemTime::now() - by)
            .expect("set mtime");
    }

    #[tokio::test]
    async fn prune_removes_only_entries_past_retention() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Folder::open(dir.path(), Duration::from_secs(3600), ReportLinks::None)
            .await
            .expect("open");
        store.put_report(&report("old")).await.expect("put");
        store.put_report(&report("new")).await.expect("put");
        store.put_card("alert-old", "om_1").await.expect("card");
        assert_eq!(store.claim("marker-old").await.expect("claim"), Claim::Won);

        let two_hours = Duration::from_secs(7200);
        for rel in [
            "reports/old.json",
            "reports/old.md",
            "cards/alert-old",
            "markers/marker-old",
        ] {
            age(&dir.path().join(rel), two_hours);
        }
        for entry in fs::read_dir(dir.path().join(INDEX)).expect("index") {
            let path = entry.expect("entry").path();
            if path.to_string_lossy().ends_with("-old") {
                age(&path, two_hours);
            }
        }

        assert_eq!(store.prune().await.expect("prune"), 5);
        assert_eq!(store.get_report("old").await.expect("get"), None);
        assert!(store.get_report("new").await.expect("get").is_some());
        assert_eq!(store.get_card("alert-old").await.expect("card"), None);
        let listed: Vec<_> = store
            .list_reports(None, 10)
            .await
            .expect("list")
            .into_iter()
            .map(|s| s.id)
            .collect();
        assert_eq!(listed, ["new"]);
        // The pruned marker can be claimed again.
        assert_eq!(store.claim("marker-old").await.expect("claim"), Claim::Won);
    }

    #[tokio::test]
    async fn open_prunes_what_is_already_old() {
        let dir = tempfile::tempdir().expect("tempdir");
        {
            let store = Folder::open(dir.path(), Duration::from_secs(3600), ReportLinks::None)
                .await
                .expect("open");
            store.put_card("a", "om_1").await.expect("card");
        }
        age(&dir.path().join("cards/a"), Duration::from_secs(7200));
        let store = Folder::open(dir.path(), Duration::from_secs(3600), ReportLinks::None)
            .await
            .expect("reopen");
        assert_eq!(store.get_card("a").await.expect("card"), None);
    }

    #[tokio::test]
    async fn traversal_keys_stay_inside_the_folder() {
        let parent = tempfile::tempdir().expect("tempdir");
        let root = parent.path().join("store");
        let store = Folder::open(&root, Duration::from_secs(3600), ReportLinks::None)
            .await
            .expect("open");
        assert_eq!(
            store.claim("../../escape").await.expect("claim"),
            Claim::Won
        );
        store.put_card("../x", "om_2").await.expect("card");
        assert_eq!(
            store.get_card("../x").await.expect("card").as_deref(),
            Some("om_2")
        );
        let mut outside: Vec<_> = fs::read_dir(parent.path())
            .expect("read")
            .map(|e| e.expect("entry").file_name())
            .collect();
        outside.sort();
        assert_eq!(outside, ["store"]);
    }

    #[tokio::test]
    async fn no_temp_files_are_left_behind() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Folder::open(dir.path(), Duration::from_secs(3600), ReportLinks::None)
            .await
            .expect("open");
        store.put_report(&report("r")).await.expect("put");
        store.put_report(&report("r")).await.expect("overwrite");
        let names: Vec<_> = fs::read_dir(dir.path().join(REPORTS))
            .expect("read")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names.len(), 2, "{names:?}");
        assert!(names.iter().all(|n| !n.starts_with('.')));
        let listed = store.list_reports(None, 10).await.expect("list");
        assert_eq!(listed.len(), 1, "a report stored twice is listed once");
    }
}
