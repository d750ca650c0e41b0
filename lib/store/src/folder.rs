//! The folder backend: the default on a laptop, when no bucket is configured.
//!
//! An object `<folder>/<name>` is the file `<root>/<folder>/<name>`. Every write is atomic
//! (a temp file in the same folder, fsync, rename, fsync of the folder); a conditional
//! create is `O_CREAT | O_EXCL`, so of two creates of one file the kernel lets exactly
//! one through. Files older than the retention are deleted at open and then, at most
//! once an hour, in the background after a write: the folder's lifecycle rule.

use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use super::{Error, ObjectStore, ReportLinks, Store, layout};

/// Pruning runs at open and then at most this often (on writes).
const PRUNE_EVERY: Duration = Duration::from_secs(3600);

/// The report store in a folder.
pub type Folder = Store<FolderObjects>;

impl Folder {
    /// Creates the folder `root` and the layout's folders in it if needed, and prunes
    /// entries older than `retention`.
    /// `links` says how [`crate::ReportStore::report_link`] answers (presigned links
    /// need S3 and are treated as none).
    pub async fn open(
        root: impl Into<PathBuf>,
        retention: Duration,
        links: ReportLinks,
    ) -> Result<Self, Error> {
        let objects = FolderObjects::open(root, retention, &layout::FOLDERS).await?;
        Ok(Store::new(objects, links))
    }

    /// Deletes every file older than the retention; returns how many went.
    pub async fn prune(&self) -> Result<usize, Error> {
        self.objects().prune().await
    }
}

/// Objects as files under one folder, pruned by age.
#[derive(Debug)]
pub struct FolderObjects {
    root: Arc<PathBuf>,
    retention: Duration,
    last_prune: Mutex<Instant>,
}

impl FolderObjects {
    /// Creates `root` and the `folders` in it if needed, and prunes files older than
    /// `retention`. Other folders are made on their first write.
    pub async fn open(
        root: impl Into<PathBuf>,
        retention: Duration,
        folders: &[&str],
    ) -> Result<Self, Error> {
        let root = Arc::new(root.into());
        let dirs: Vec<PathBuf> = folders.iter().map(|folder| root.join(folder)).collect();
        let top = root.clone();
        blocking(move || {
            fs::create_dir_all(&*top)?;
            dirs.iter().try_for_each(fs::create_dir_all)
        })
        .await
        .map_err(|e| Error::Unavailable(format!("cannot create {}: {e}", root.display())))?;
        let objects = Self {
            root,
            retention,
            last_prune: Mutex::new(Instant::now()),
        };
        objects.prune().await?;
        Ok(objects)
    }

    /// Deletes files older than the retention, in the root and the folders in it;
    /// returns how many went.
    pub async fn prune(&self) -> Result<usize, Error> {
        let root = self.root.clone();
        let cutoff = self.cutoff();
        let removed = blocking(move || prune_before(&root, cutoff))
            .await
            .map_err(|e| self.unavailable("pruning", e))?;
        if removed > 0 {
            tracing::info!(removed, root = %self.root.display(), "pruned the report store");
        }
        Ok(removed)
    }

    fn cutoff(&self) -> SystemTime {
        SystemTime::now()
            .checked_sub(self.retention)
            .unwrap_or(SystemTime::UNIX_EPOCH)
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
        let cutoff = self.cutoff();
        tokio::task::spawn_blocking(move || {
            if let Err(e) = prune_before(&root, cutoff) {
                tracing::warn!(error = %e, root = %root.display(), "pruning the report store failed");
            }
        });
    }

    fn unavailable(&self, what: &str, e: io::Error) -> Error {
        Error::Unavailable(format!("{what} in {}: {e}", self.root.display()))
    }

    /// The file of `key`. Only `<folder>/<name>` shapes whose parts are plain names are
    /// accepted, so no key reaches outside the root or a temp file.
    fn path(&self, key: &str) -> Result<PathBuf, Error> {
        let plain = |part: &str| !part.is_empty() && !part.starts_with('.') && !part.contains('\\');
        if !key.split('/').all(plain) {
            return Err(Error::InvalidKey(key.to_string()));
        }
        Ok(self.root.join(key))
    }

    /// Runs `f` on the file of `key` off the async threads; its failure is `what`
    /// failing.
    async fn with_file<T: Send + 'static>(
        &self,
        key: &str,
        what: &str,
        f: impl FnOnce(&Path, &Path) -> io::Result<T> + Send + 'static,
    ) -> Result<T, Error> {
        let path = self.path(key)?;
        let root = self.root.clone();
        blocking(move || f(&root, &path))
            .await
            .map_err(|e| self.unavailable(&format!("{what} {key}"), e))
    }
}

#[async_trait::async_trait]
impl ObjectStore for FolderObjects {
    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, Error> {
        self.with_file(key, "reading", |root, path| match fs::read(path) {
            Ok(bytes) => Ok(Some(bytes)),
            // Absent only if the root is there: a missing root (an unmounted volume, a
            // deleted data dir) means the store is down, not that nothing was stored.
            Err(e) if e.kind() == io::ErrorKind::NotFound && root.is_dir() => Ok(None),
            Err(e) => Err(e),
        })
        .await
    }

    async fn put(&self, key: &str, bytes: Vec<u8>, _: &str) -> Result<(), Error> {
        self.with_file(key, "writing", move |root, path| {
            create_parent(root, path)?;
            write_atomic(path, &bytes)
        })
        .await?;
        self.maybe_prune();
        Ok(())
    }

    async fn put_if_absent(&self, key: &str, bytes: Vec<u8>, _: &str) -> Result<bool, Error> {
        self.with_file(key, "creating", move |root, path| {
            create_parent(root, path)?;
            create_atomic(path, &bytes)
        })
        .await
    }

    async fn list(
        &self,
        prefix: &str,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<String>, Error> {
        let (folder, start) = prefix.rsplit_once('/').unwrap_or(("", prefix));
        let (folder, start) = (folder.to_string(), start.to_string());
        let after = after.map(str::to_string);
        let root = self.root.clone();
        blocking(move || {
            let dir = root.join(&folder);
            let entries = match fs::read_dir(&dir) {
                Ok(entries) => entries,
                // A folder nothing was written to yet is empty; a missing root is down.
                Err(e) if e.kind() == io::ErrorKind::NotFound && root.is_dir() => {
                    return Ok(Vec::new());
                }
                Err(e) => return Err(e),
            };
            let mut keys = Vec::new();
            for entry in entries {
                let entry = entry?;
                let Ok(name) = entry.file_name().into_string() else {
                    continue;
                };
                // Temp files of writes in flight start with `.`; no key does.
                if name.starts_with('.')
                    || !name.starts_with(&start)
                    || !entry.file_type()?.is_file()
                {
                    continue;
                }
                let key = if folder.is_empty() {
                    name
                } else {
                    format!("{folder}/{name}")
                };
                if after.as_ref().is_none_or(|after| key > *after) {
                    keys.push(key);
                }
            }
            keys.sort_unstable();
            keys.truncate(limit);
            Ok(keys)
        })
        .await
        .map_err(|e| self.unavailable(&format!("listing {prefix}"), e))
    }

    async fn delete(&self, key: &str) -> Result<(), Error> {
        self.with_file(key, "deleting", |_, path| match fs::remove_file(path) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        })
        .await
    }

    async fn presign(&self, _: &str, _: &str) -> Result<Option<String>, Error> {
        Ok(None)
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

/// Creates the folders between `root` and `path`'s parent, but never `root` itself: a
/// root that is gone (an unmounted volume) must fail the write, not be recreated empty.
fn create_parent(root: &Path, path: &Path) -> io::Result<()> {
    let Some(parent) = path.parent().filter(|p| !p.is_dir()) else {
        return Ok(());
    };
    let mut missing: Vec<&Path> = parent.ancestors().take_while(|d| *d != root).collect();
    missing.reverse();
    for dir in missing {
        match fs::create_dir(dir) {
            Err(e) if e.kind() != io::ErrorKind::AlreadyExists => return Err(e),
            _ => {}
        }
    }
    Ok(())
}

/// Writes `bytes` to a new temp file beside `path` (same folder, so same file system)
/// and fsyncs it; its path, and the folder. The caller moves it into place.
fn temp_beside<'p>(path: &'p Path, bytes: &[u8]) -> io::Result<(PathBuf, &'p Path)> {
    let (Some(dir), Some(name)) = (path.parent(), path.file_name()) else {
        return Err(io::Error::other("not a file path"));
    };
    let tmp = dir.join(format!(
        ".{}.{}.tmp",
        name.to_string_lossy(),
        uuid::Uuid::new_v4().simple()
    ));
    let written = File::create_new(&tmp).and_then(|mut file| {
        file.write_all(bytes)?;
        file.sync_all()
    });
    if let Err(e) = written {
        let _ = fs::remove_file(&tmp);
        return Err(e);
    }
    Ok((tmp, dir))
}

/// Writes `path` so that readers see the old content or the new, never a mix: a temp
/// file beside it, renamed over it (atomic on one file system), then the folder fsynced
/// so the rename itself survives a crash.
fn write_atomic(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let (tmp, dir) = temp_beside(path, bytes)?;
    if let Err(e) = fs::rename(&tmp, path) {
        let _ = fs::remove_file(&tmp);
        return Err(e);
    }
    File::open(dir)?.sync_all()
}

/// Creates `path` with `bytes` unless it exists, so that a reader sees no file or the
/// whole content, never an empty or partial one (a claim or an incident-log entry is
/// read the moment it exists): a temp file beside it, hard-linked to `path` (`link(2)`
/// fails with EEXIST for all but one creator), then the folder fsynced. `true` when
/// this call created it.
fn create_atomic(path: &Path, bytes: &[u8]) -> io::Result<bool> {
    let (tmp, dir) = temp_beside(path, bytes)?;
    let created = match fs::hard_link(&tmp, path) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Ok(false),
        Err(e) => Err(e),
    };
    let _ = fs::remove_file(&tmp);
    if created? {
        File::open(dir)?.sync_all()?;
        return Ok(true);
    }
    Ok(false)
}

/// Removes files last modified before `cutoff` from `root` and the folders in it.
fn prune_before(root: &Path, cutoff: SystemTime) -> io::Result<usize> {
    let mut removed = 0;
    let mut dirs = vec![root.to_path_buf()];
    for entry in fs::read_dir(root)? {
        let entry = entry?;
        if entry.file_type()?.is_dir() {
            dirs.push(entry.path());
        }
    }
    for dir in dirs {
        for entry in fs::read_dir(dir)? {
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
    use crate::{Claim, ReportStore};
    use aegis_core::report::Views;

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
        store
            .put_report(&report("old"), Views::default())
            .await
            .expect("put");
        store
            .put_report(&report("new"), Views::default())
            .await
            .expect("put");
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
        for entry in fs::read_dir(dir.path().join("index")).expect("index") {
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

    // Several threads, so the reader really reads while the creator creates.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_conditional_create_is_seen_whole_or_not_at_all() {
        let dir = tempfile::tempdir().unwrap();
        let objects = Arc::new(
            FolderObjects::open(dir.path().join("data"), Duration::from_secs(3600), &[])
                .await
                .unwrap(),
        );
        let content = vec![b'x'; 256 * 1024];
        let reader = {
            let objects = objects.clone();
            let expected = content.clone();
            tokio::spawn(async move {
                let mut seen = 0;
                for i in 0..64 {
                    let key = format!("log/{i:04}");
                    loop {
                        if let Some(bytes) = objects.get(&key).await.unwrap() {
                            assert_eq!(bytes.len(), expected.len(), "{key} read half-written");
                            seen += 1;
                            break;
                        }
                        tokio::task::yield_now().await;
                    }
                }
                seen
            })
        };
        for i in 0..64 {
            let key = format!("log/{i:04}");
            assert!(
                objects
                    .put_if_absent(&key, content.clone(), "text/plain")
                    .await
                    .unwrap()
            );
            assert!(
                !objects
                    .put_if_absent(&key, b"late".to_vec(), "text/plain")
                    .await
                    .unwrap()
            );
        }
        assert_eq!(reader.await.unwrap(), 64);
        let stray = std::fs::read_dir(dir.path().join("data/log"))
            .unwrap()
            .filter(|e| {
                e.as_ref()
                    .unwrap()
                    .file_name()
                    .to_string_lossy()
                    .ends_with(".tmp")
            })
            .count();
        assert_eq!(stray, 0, "no temp file left");
    }

    #[tokio::test]
    async fn no_temp_files_are_left_behind() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Folder::open(dir.path(), Duration::from_secs(3600), ReportLinks::None)
            .await
            .expect("open");
        store
            .put_report(&report("r"), Views::default())
            .await
            .expect("put");
        store
            .put_report(&report("r"), Views::default())
            .await
            .expect("overwrite");
        let names: Vec<_> = fs::read_dir(dir.path().join("reports"))
            .expect("read")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names.len(), 3, "json, markdown, page: {names:?}");
        assert!(names.iter().all(|n| !n.starts_with('.')));
        let listed = store.list_reports(None, 10).await.expect("list");
        assert_eq!(listed.len(), 1, "a report stored twice is listed once");
    }
}
