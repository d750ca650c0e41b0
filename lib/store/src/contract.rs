//! The contract every [`ObjectStore`] keeps, as one test body that each backend's tests
//! run: the folder and memory backends in this crate's unit tests, S3 (on a real
//! S3-compatible server) in the end-to-end tests, through the `contract` feature.
//! Test code: it panics on the first broken promise.

use super::{ObjectStore, ReportStore, Store, layout};
use aegis_core::report::{Direction, Moved, Report, RootCause, TimeRange, Views};
use aegis_similar::{Fingerprint, Query};

/// Checks `objects`, an empty store, against the contract of [`ObjectStore`]: get,
/// put, conditional create (including two racing creates, of which exactly one wins),
/// name-ordered paged listing, delete and presign.
pub async fn object_store(objects: &dyn ObjectStore) {
    get_put_and_delete(objects).await;
    put_if_absent(objects).await;
    racing_creates(objects).await;
    listing(objects).await;
    // A link or none, depending on the backend; never an error for a reachable store.
    objects
        .presign("c/linked", "application/json")
        .await
        .expect("presign");
}

async fn get_put_and_delete(objects: &dyn ObjectStore) {
    assert_eq!(objects.get("a/absent").await.expect("get"), None);
    // The second put replaces the first.
    for bytes in [&b"first"[..], b"second"] {
        objects
            .put("a/one", bytes.to_vec(), "text/plain")
            .await
            .expect("put");
        assert_eq!(
            objects.get("a/one").await.expect("get").as_deref(),
            Some(bytes)
        );
    }
    objects.delete("a/one").await.expect("delete");
    assert_eq!(objects.get("a/one").await.expect("get"), None);
    objects
        .delete("a/one")
        .await
        .expect("deleting what is gone is no error");
}

async fn put_if_absent(objects: &dyn ObjectStore) {
    let create = |bytes: &[u8]| objects.put_if_absent("m/once", bytes.to_vec(), "text/plain");
    assert!(
        create(b"winner").await.expect("create"),
        "the first create wins"
    );
    assert!(
        !create(b"loser").await.expect("create"),
        "the second finds it"
    );
    assert_eq!(
        objects.get("m/once").await.expect("get").as_deref(),
        Some(&b"winner"[..]),
        "a create that lost changes nothing"
    );
    objects.delete("m/once").await.expect("delete");
    assert!(
        create(b"again").await.expect("create"),
        "deleted, it can be created again"
    );
}

async fn racing_creates(objects: &dyn ObjectStore) {
    for round in 0..20 {
        let key = format!("m/race-{round}");
        let (a, b) = futures::join!(
            objects.put_if_absent(&key, b"a".to_vec(), "text/plain"),
            objects.put_if_absent(&key, b"b".to_vec(), "text/plain"),
        );
        let wins = [a.expect("create"), b.expect("create")]
            .iter()
            .filter(|won| **won)
            .count();
        assert_eq!(
            wins, 1,
            "round {round}: exactly one of two racing creates wins"
        );
    }
}

async fn listing(objects: &dyn ObjectStore) {
    for key in ["l/b", "l/c", "l/a", "l/ba", "other/a"] {
        objects
            .put(key, key.as_bytes().to_vec(), "text/plain")
            .await
            .expect("put");
    }
    let list = |prefix: &'static str, after: Option<&'static str>, limit| async move {
        objects.list(prefix, after, limit).await.expect("list")
    };
    assert_eq!(list("l/", None, 10).await, ["l/a", "l/b", "l/ba", "l/c"]);
    assert_eq!(
        list("l/", None, 2).await,
        ["l/a", "l/b"],
        "a page of at most limit"
    );
    assert_eq!(
        list("l/", Some("l/b"), 10).await,
        ["l/ba", "l/c"],
        "after a key"
    );
    assert_eq!(list("l/", Some("l/ba"), 1).await, ["l/c"]);
    assert!(list("l/", Some("l/c"), 10).await.is_empty());
    assert_eq!(
        list("l/b", None, 10).await,
        ["l/b", "l/ba"],
        "a name prefix"
    );
    assert!(list("l/", None, 0).await.is_empty());
    assert!(
        list("never/", None, 10).await.is_empty(),
        "nothing put there"
    );
}

/// Checks the past-incident index of `store`, over an empty object store: an entry is
/// written with each report; the search finds a repeated fault and not another one;
/// an entry that is missing or unreadable is rebuilt from its report and written
/// back; an entry whose report is gone is ignored.
pub async fn past_incidents<O: ObjectStore>(store: &Store<O>) {
    let cpu = |id: &str| incident(id, "cart", "metric:cpu_seconds_rate");
    for r in [
        cpu("cpu-1"),
        cpu("cpu-2"),
        incident("disk", "payment", "metric:disk"),
    ] {
        store
            .put_report(&r, Views::default())
            .await
            .expect("put report");
        assert!(
            store
                .objects()
                .get(&layout::similar_entry(&r.id))
                .await
                .expect("get")
                .is_some(),
            "an entry is written with the report"
        );
    }
    let like_cpu = Query::Like(Fingerprint::of(&cpu("cpu-3")));
    let search = || async {
        store
            .similar(&like_cpu, Some("cpu-3"), 3, 0.1)
            .await
            .expect("search")
            .into_iter()
            .map(|s| s.id)
            .collect::<Vec<_>>()
    };
    let mut found = search().await;
    found.sort();
    assert_eq!(found, ["cpu-1", "cpu-2"], "the other fault is not alike");

    // Missing and unreadable entries come back from their reports.
    let objects = store.objects();
    objects
        .delete(&layout::similar_entry("cpu-1"))
        .await
        .expect("delete");
    objects
        .put(
            &layout::similar_entry("cpu-2"),
            b"{not json".to_vec(),
            layout::JSON,
        )
        .await
        .expect("put");
    let mut found = search().await;
    found.sort();
    assert_eq!(found, ["cpu-1", "cpu-2"], "rebuilt from the reports");
    for id in ["cpu-1", "cpu-2"] {
        let bytes = objects
            .get(&layout::similar_entry(id))
            .await
            .expect("get")
            .expect("written back");
        serde_json::from_slice::<aegis_similar::Entry>(&bytes).expect("a readable entry");
    }

    // The reports are the truth: an entry without its report is not an incident.
    objects
        .delete(&layout::report_json("cpu-2"))
        .await
        .expect("delete");
    assert_eq!(search().await, ["cpu-1"]);
}

/// A report blaming `service`, whose `signal` rose.
/// Checks the incident records of `store`, over an empty object store: log entries
/// are created once (of two writers of one number exactly one wins, racing or not),
/// the head is replaced, incidents list newest opened first, and a thread leads to its
/// incident.
pub async fn incident_records<O: ObjectStore>(store: &Store<O>) {
    use crate::Claim;
    assert_eq!(store.get_incident_entry(1).await.expect("get"), None);
    assert_eq!(store.get_incident_head().await.expect("head"), None);
    let (a, b) = futures::join!(
        store.append_incident_entry(1, b"{\"from\":\"a\"}"),
        store.append_incident_entry(1, b"{\"from\":\"b\"}"),
    );
    let won = [a.expect("append"), b.expect("append")];
    assert_eq!(
        won.iter().filter(|c| **c == Claim::Won).count(),
        1,
        "exactly one writer of entry 1: {won:?}"
    );
    let kept = store
        .get_incident_entry(1)
        .await
        .expect("get")
        .expect("entry 1");
    let winner = if won[0] == Claim::Won { "a" } else { "b" };
    assert_eq!(
        kept,
        format!("{{\"from\":\"{winner}\"}}").into_bytes(),
        "the winner's entry stands"
    );
    assert_eq!(
        store.append_incident_entry(1, b"{}").await.expect("append"),
        Claim::AlreadyTaken
    );
    for head in [&b"{\"seq\":1}"[..], b"{\"seq\":2}"] {
        store.put_incident_head(head).await.expect("put head");
    }
    assert_eq!(
        store.get_incident_head().await.expect("head").as_deref(),
        Some(&b"{\"seq\":2}"[..])
    );
    let at = |h: u32| {
        chrono::DateTime::<chrono::Utc>::UNIX_EPOCH
            + chrono::Duration::hours(i64::from(h) + 480_000)
    };
    store
        .put_incident(at(1), "inc-old", b"old")
        .await
        .expect("put");
    store
        .put_incident(at(2), "inc-new", b"new")
        .await
        .expect("put");
    store
        .put_incident(at(1), "inc-old", b"old, updated")
        .await
        .expect("put");
    assert_eq!(
        store.list_incidents(10).await.expect("list"),
        vec![b"new".to_vec(), b"old, updated".to_vec()],
        "newest opened first, each once"
    );
    assert_eq!(store.list_incidents(1).await.expect("list").len(), 1);
    assert_eq!(
        store
            .get_incident(at(1), "inc-old")
            .await
            .expect("get")
            .as_deref(),
        Some(&b"old, updated"[..])
    );
    store
        .put_incident_thread("om_card", "inc-new")
        .await
        .expect("thread");
    assert_eq!(
        store
            .get_incident_thread("om_card")
            .await
            .expect("thread")
            .as_deref(),
        Some("inc-new")
    );
    assert_eq!(
        store.get_incident_thread("om_other").await.expect("thread"),
        None
    );
}

fn incident(id: &str, service: &str, signal: &str) -> Report {
    Report {
        summary: format!("{service} {signal}"),
        ranked_root_causes: vec![RootCause::new(1, service, 0.8)],
        moved: vec![Moved {
            service: service.into(),
            signal: signal.into(),
            direction: Direction::Up,
        }],
        ..Report::new(id, TimeRange::last(chrono::Utc::now(), 15))
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use crate::{FolderObjects, MemoryObjects};

    #[tokio::test]
    async fn memory_keeps_the_contract() {
        super::object_store(&MemoryObjects::default()).await;
    }

    #[tokio::test]
    async fn memory_keeps_the_past_incident_index() {
        super::past_incidents(&crate::Memory::default()).await;
    }

    /// A folder store in `dir`, with a retention no test reaches.
    async fn folder(dir: &tempfile::TempDir) -> crate::Folder {
        crate::Folder::open(
            &dir.path().join("data"),
            Duration::from_secs(3600),
            crate::ReportLinks::None,
        )
        .await
        .expect("open")
    }

    #[tokio::test]
    async fn memory_keeps_the_incident_records() {
        super::incident_records(&crate::Memory::default()).await;
    }

    // Several threads, so the racing appends really run at once.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn folder_keeps_the_incident_records() {
        let dir = tempfile::tempdir().expect("tempdir");
        let folder = folder(&dir).await;
        super::incident_records(&folder).await;
    }

    #[tokio::test]
    async fn folder_keeps_the_past_incident_index() {
        let dir = tempfile::tempdir().expect("tempdir");
        let folder = folder(&dir).await;
        super::past_incidents(&folder).await;
    }

    // Several threads, so the racing creates really run at once.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn folder_keeps_the_contract() {
        let dir = tempfile::tempdir().expect("tempdir");
        let objects = FolderObjects::open(dir.path().join("data"), Duration::from_secs(3600), &[])
            .await
            .expect("open");
        super::object_store(&objects).await;
    }
}
