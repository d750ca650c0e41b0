//! The report store flow: one suite, run against the folder store and against S3 on a
//! real S3-compatible server (moto), through `aegis_store`'s public API.

use std::sync::Arc;
use std::time::Duration;

use aegis_core::report::Report;
use aegis_store::{self as store, Claim, Folder, Operation, ReportLinks, ReportStore, S3};
use aegis_tests::peers::s3::S3Server;
use aegis_tests::reports::sample as report;
use chrono::Utc;

const BUCKET: &str = "aegis-reports";

/// What a test runs against, kept alive for the test's duration.
enum Backend {
    Folder(tempfile::TempDir),
    S3(Box<S3Server>),
}

struct Fixture {
    store: Arc<dyn ReportStore>,
    backend: Backend,
}

/// The S3 store on `server`'s bucket, with `links`.
fn s3_store(server: &S3Server, links: ReportLinks) -> S3 {
    S3::with_credentials(
        &server.store_config(BUCKET),
        links,
        Duration::from_secs(600),
        S3Server::credentials(),
    )
    .expect("S3 store builds")
}

impl Fixture {
    async fn folder(links: ReportLinks) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Folder::open(dir.path().join("data"), Duration::from_secs(86_400), links)
            .await
            .expect("folder store opens");
        Self {
            store: Arc::new(store),
            backend: Backend::Folder(dir),
        }
    }

    async fn s3(links: ReportLinks) -> Self {
        let server = S3Server::start().await.expect("moto's S3 server starts");
        server.create_bucket(BUCKET).await.expect("bucket");
        let store = s3_store(&server, links);
        Self {
            store: Arc::new(store),
            backend: Backend::S3(Box::new(server)),
        }
    }

    /// Makes the backend unreachable: moto stopped, or the data folder gone.
    async fn take_down(&mut self) {
        match &mut self.backend {
            Backend::S3(server) => server.stop().await.expect("moto stops"),
            Backend::Folder(dir) => {
                std::fs::remove_dir_all(dir.path().join("data")).expect("remove data folder")
            }
        }
    }
}

impl Fixture {
    /// The dead letters kept, in the backend's listing order: (name, content type or
    /// "" for a file, bytes).
    async fn dead_letters(&self) -> Vec<(String, String, Vec<u8>)> {
        match &self.backend {
            Backend::S3(server) => server
                .objects(BUCKET, "aegis/dead-letters/")
                .await
                .expect("listing the bucket")
                .into_iter()
                .map(|(key, ty, bytes)| (key.rsplit('/').next().unwrap().to_string(), ty, bytes))
                .collect(),
            Backend::Folder(dir) => {
                let mut files: Vec<_> = std::fs::read_dir(dir.path().join("data/dead-letters"))
                    .expect("the dead letter folder")
                    .map(|e| e.unwrap())
                    .map(|e| {
                        let name = e.file_name().to_string_lossy().into_owned();
                        (name, String::new(), std::fs::read(e.path()).unwrap())
                    })
                    .collect();
                files.sort();
                files
            }
        }
    }
}

/// Runs `$check` against both stores, as two tests in a module named after it.
macro_rules! both_stores {
    ($check:ident, $links:expr) => {
        mod $check {
            #[tokio::test]
            async fn folder() {
                super::$check(super::Fixture::folder($links).await).await;
            }

            #[tokio::test]
            async fn s3() {
                super::$check(super::Fixture::s3($links).await).await;
            }
        }
    };
}

async fn put_get_markdown_and_cards(f: Fixture) {
    let stored = report("rep-1");
    f.store
        .put_report(&stored, aegis_view::views(&stored))
        .await
        .expect("put");
    let got = f.store.get_report("rep-1").await.expect("get");
    assert_eq!(got.as_ref(), Some(&stored));
    assert_eq!(f.store.get_report("absent").await.expect("get"), None);

    let md = f
        .store
        .get_report_markdown("rep-1")
        .await
        .expect("markdown")
        .expect("markdown stored");
    assert!(md.starts_with("# Analysis rep-1"), "{md}");
    assert!(
        md.contains("| 1 | payments-db | 70% | connection pool exhausted |"),
        "{md}"
    );
    assert!(
        md.contains("```promql\nsum(rate(pg_errors_total{db=\"payments\"}[5m]))\n```"),
        "{md}"
    );
    assert!(md.contains("## Degraded sources"), "{md}");
    let page = f
        .store
        .get_report_page("rep-1")
        .await
        .expect("page")
        .expect("page stored");
    assert!(page.starts_with("<!DOCTYPE html>") && page.contains("payments-db"));
    assert_eq!(f.store.get_report_page("absent").await.expect("page"), None);

    assert_eq!(f.store.get_card("alert-1").await.expect("card"), None);
    f.store.put_card("alert-1", "om_first").await.expect("card");
    f.store
        .put_card("alert-1", "om_second")
        .await
        .expect("card");
    assert_eq!(
        f.store.get_card("alert-1").await.expect("card").as_deref(),
        Some("om_second")
    );
}
both_stores!(put_get_markdown_and_cards, aegis_store::ReportLinks::None);

async fn list_newest_first_with_since_and_limit(f: Fixture) {
    assert!(
        f.store
            .list_reports(None, 10)
            .await
            .expect("list")
            .is_empty()
    );
    f.store
        .put_report(&report("a"), aegis_view::views(&report("a")))
        .await
        .expect("put");
    tokio::time::sleep(Duration::from_millis(5)).await;
    let after_a = Utc::now();
    tokio::time::sleep(Duration::from_millis(5)).await;
    for id in ["b", "c"] {
        f.store
            .put_report(&report(id), aegis_view::views(&report(id)))
            .await
            .expect("put");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let ids = |list: Vec<store::ReportSummary>| list.into_iter().map(|s| s.id).collect::<Vec<_>>();

    let all = f.store.list_reports(None, 10).await.expect("list");
    assert_eq!(all[0].top_service.as_deref(), Some("payments-db"));
    assert!(all[0].created_at >= all[1].created_at);
    assert_eq!(ids(all), ["c", "b", "a"]);
    assert_eq!(
        ids(f.store.list_reports(None, 2).await.expect("list")),
        ["c", "b"]
    );
    assert_eq!(
        ids(f.store.list_reports(Some(after_a), 10).await.expect("list")),
        ["c", "b"]
    );
    assert_eq!(
        ids(f.store.list_reports(Some(after_a), 1).await.expect("list")),
        ["c"]
    );
}
both_stores!(
    list_newest_first_with_since_and_limit,
    aegis_store::ReportLinks::None
);

async fn concurrent_claims_exactly_one_wins(f: Fixture) {
    for round in 0..10 {
        let key = format!("event-{round}");
        let (a, b) = tokio::join!(f.store.claim(&key), f.store.claim(&key));
        let wins = [a.expect("claim"), b.expect("claim")]
            .iter()
            .filter(|c| **c == Claim::Won)
            .count();
        assert_eq!(wins, 1, "round {round}: exactly one of two claims wins");
    }
    assert_eq!(
        f.store.claim("event-0").await.expect("claim"),
        Claim::AlreadyTaken
    );
    f.store.release("event-0").await.expect("release");
    assert_eq!(f.store.claim("event-0").await.expect("claim"), Claim::Won);
    assert_eq!(
        f.store.claim("event-0").await.expect("claim"),
        Claim::AlreadyTaken
    );
    // Releasing a marker nobody holds is not an error.
    f.store.release("never-claimed").await.expect("release");
}
both_stores!(
    concurrent_claims_exactly_one_wins,
    aegis_store::ReportLinks::None
);

async fn store_down_the_analysis_still_answers(mut f: Fixture) {
    let mut ok = report("before-down");
    assert!(store::archive(&*f.store, &mut ok, aegis_view::views).await);
    assert!(ok.archived);

    f.take_down().await;
    let archive_failures = store::failures(Operation::Archive);
    let claim_failures = store::failures(Operation::Claim);
    let mut answer = report("while-down");
    let archived = store::archive(&*f.store, &mut answer, aegis_view::views).await;
    assert!(!archived);
    assert!(
        !answer.archived,
        "the answer says the report was not archived"
    );
    assert!(store::failures(Operation::Archive) > archive_failures);
    assert!(
        store::claim_or_proceed(&*f.store, "while-down").await,
        "an unavailable marker means process anyway"
    );
    assert!(store::failures(Operation::Claim) > claim_failures);
    assert!(matches!(
        f.store.get_report("before-down").await,
        Err(store::Error::Unavailable(_))
    ));
}
both_stores!(
    store_down_the_analysis_still_answers,
    aegis_store::ReportLinks::None
);

#[tokio::test]
async fn presigned_link_serves_the_report_page_with_no_function_running() {
    let f = Fixture::s3(ReportLinks::Presigned).await;
    let stored = report("linked");
    f.store
        .put_report(&stored, aegis_view::views(&stored))
        .await
        .expect("put");
    let link = f
        .store
        .report_link("linked")
        .await
        .expect("presign")
        .expect("presigned link");
    assert!(link.contains("X-Amz-Signature="), "{link}");
    let res = reqwest::get(&link).await.expect("GET presigned URL");
    assert_eq!(res.status(), reqwest::StatusCode::OK);
    let ctype = res
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    assert!(ctype.starts_with("text/html"), "{ctype}");
    let page = res.text().await.expect("the page");
    assert!(page.starts_with("<!DOCTYPE html>"), "{}", &page[..60]);
    assert!(page.contains(&stored.summary), "the page is this report's");
}

async fn public_base_links_point_at_the_read_api(f: Fixture) {
    let link = f.store.report_link("abc").await.expect("link");
    assert_eq!(
        link.as_deref(),
        Some("https://aegis.example.com/ops/api/ops/analyses/abc")
    );
}
both_stores!(
    public_base_links_point_at_the_read_api,
    aegis_store::ReportLinks::PublicBase(
        url::Url::parse("https://aegis.example.com/ops/").expect("url")
    )
);

/// The read API served over real HTTP on top of the S3 store.
#[tokio::test]
async fn read_api_serves_reports_from_s3() {
    let f = Fixture::s3(ReportLinks::None).await;
    f.store
        .put_report(&report("api-1"), aegis_view::views(&report("api-1")))
        .await
        .expect("put");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    let app = aegis_api::read::routes(f.store.clone());
    tokio::spawn(async move { axum::serve(listener, app).await });

    let http = reqwest::Client::new();
    let json: Report = http
        .get(format!("{base}/api/ops/analyses/api-1"))
        .send()
        .await
        .expect("GET")
        .json()
        .await
        .expect("json");
    assert_eq!(json.id, "api-1");
    let md = http
        .get(format!("{base}/api/ops/analyses/api-1"))
        .header("accept", "text/markdown")
        .send()
        .await
        .expect("GET");
    assert_eq!(
        md.headers()["content-type"].to_str().expect("ascii"),
        "text/markdown; charset=utf-8"
    );
    assert!(
        md.text()
            .await
            .expect("text")
            .starts_with("# Analysis api-1")
    );
    let list: serde_json::Value = http
        .get(format!("{base}/api/ops/analyses?limit=5"))
        .send()
        .await
        .expect("GET")
        .json()
        .await
        .expect("json");
    assert_eq!(list["analyses"][0]["id"], "api-1");
    let missing = http
        .get(format!("{base}/api/ops/analyses/nope"))
        .send()
        .await
        .expect("GET");
    assert_eq!(missing.status(), reqwest::StatusCode::NOT_FOUND);
}

/// The real analyze function on the S3 store: reports are archived while moto runs;
/// once it is stopped, analyses still answer 200 with `archived: false`, the failure is
/// on `/metrics`, and reading a report answers 503.
#[tokio::test]
async fn analyze_answers_when_s3_goes_down() {
    let mut server = S3Server::start().await.expect("moto's S3 server starts");
    server.create_bucket(BUCKET).await.expect("bucket");
    let data = tempfile::tempdir().expect("tempdir");
    let data_dir = data.path().to_string_lossy().into_owned();
    // No model and no backends: the statistical engine answers with a degraded report.
    let ctx = aegis_tests::vars::Vars::of(&[
        ("AEGIS_DATA_DIR", &data_dir),
        ("AEGIS_ANALYSIS_BUDGET", "20s"),
    ])
    .context();
    let s3 = s3_store(&server, ReportLinks::None);
    s3.check().await.expect("the bucket is reachable");
    let store: Arc<dyn ReportStore> = Arc::new(s3.clone());
    ctx.provide(store).await;
    let base = aegis_tests::vars::serve_alone("analyze", &ctx).await;

    let http = reqwest::Client::new();
    let analyze = || async {
        let res = http
            .post(format!("{base}/api/ops/analyze"))
            .json(&serde_json::json!({"description": "checkout latency is up"}))
            .send()
            .await
            .expect("POST /api/ops/analyze");
        assert_eq!(res.status(), reqwest::StatusCode::OK);
        res.json::<serde_json::Value>().await.expect("JSON report")
    };

    let first = analyze().await;
    assert_eq!(first["archived"], true, "{first}");
    let id = first["id"].as_str().expect("id");
    let stored = http
        .get(format!("{base}/api/ops/analyses/{id}"))
        .send()
        .await
        .expect("GET");
    assert_eq!(stored.status(), reqwest::StatusCode::OK);

    server.stop().await.expect("moto stops");
    assert!(matches!(
        s3.check().await,
        Err(store::Error::Unavailable(_))
    ));
    let second = analyze().await;
    assert_eq!(second["archived"], false, "{second}");
    assert!(second["summary"].as_str().is_some_and(|s| !s.is_empty()));
    let metrics = http
        .get(format!("{base}/metrics"))
        .send()
        .await
        .expect("GET /metrics")
        .text()
        .await
        .expect("text");
    assert!(
        metrics.lines().any(
            |l| l.starts_with("aegis_store_failures_total{operation=\"archive\"}")
                && !l.ends_with(" 0")
        ),
        "{metrics}"
    );
    let down = http
        .get(format!("{base}/api/ops/analyses/{id}"))
        .send()
        .await
        .expect("GET");
    assert_eq!(down.status(), reqwest::StatusCode::SERVICE_UNAVAILABLE);
}

async fn dead_letters_are_kept_newest_first_and_removed_once_sent(f: Fixture) {
    let at = Utc::now();
    let event = |id: &str| {
        serde_json::to_vec(&serde_json::json!({"specversion": "1.0", "id": id})).unwrap()
    };
    f.store
        .put_dead_letter(at, "alert-1", &event("alert-1"))
        .await
        .expect("stored");
    // An id that is no file name is stored under a hashed one.
    f.store
        .put_dead_letter(
            at + chrono::Duration::seconds(5),
            "../x y",
            &event("../x y"),
        )
        .await
        .expect("stored");
    let kept = f.dead_letters().await;
    assert_eq!(kept.len(), 2, "{kept:?}");
    let ids: Vec<String> = kept
        .iter()
        .map(|(_, _, bytes)| {
            serde_json::from_slice::<serde_json::Value>(bytes).unwrap()["id"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    assert_eq!(ids, ["../x y", "alert-1"], "newest first");
    let listed = f.store.list_dead_letters(10).await.expect("listed");
    let listed_ids: Vec<&str> = listed
        .iter()
        .map(|d| d.event["id"].as_str().unwrap())
        .collect();
    assert_eq!(listed_ids, ["../x y", "alert-1"]);
    assert_eq!(
        listed[1].received_at.timestamp_micros(),
        at.timestamp_micros(),
        "the time it was received, from its name"
    );
    assert_eq!(f.store.list_dead_letters(1).await.expect("listed").len(), 1);
    for (name, content_type, _) in &kept {
        assert!(
            name.ends_with(".json") && !name.contains('/') && !name.contains(' '),
            "{name}"
        );
        if matches!(f.backend, Backend::S3(_)) {
            assert!(
                content_type.starts_with("application/json"),
                "{content_type}"
            );
        }
    }
    // A letter sent again is removed by what the listing says of it; removing it
    // twice is no error.
    for _ in 0..2 {
        f.store
            .remove_dead_letter(listed[0].received_at, listed[0].id())
            .await
            .expect("removed");
    }
    let left = f.store.list_dead_letters(10).await.expect("listed");
    assert_eq!(left.len(), 1, "{left:?}");
    assert_eq!(left[0].id(), "alert-1");
    assert_eq!(f.dead_letters().await.len(), 1, "gone from the backend too");
}
both_stores!(
    dead_letters_are_kept_newest_first_and_removed_once_sent,
    aegis_store::ReportLinks::None
);

/// The object-store contract (the same body the folder and memory backends run in
/// `aegis-store`'s unit tests) against S3 on moto.
#[tokio::test]
async fn s3_objects_keep_the_object_store_contract() {
    let server = S3Server::start().await.expect("moto's S3 server starts");
    server.create_bucket(BUCKET).await.expect("bucket");
    let s3 = s3_store(&server, ReportLinks::None);
    store::contract::object_store(s3.objects()).await;
}

/// The incident records' contract (log entries created once, racing appends, the
/// head, the listing, threads) against S3 on moto, as the folder and memory stores run it.
#[tokio::test]
async fn s3_keeps_the_incident_records() {
    let server = S3Server::start().await.expect("moto's S3 server starts");
    server.create_bucket(BUCKET).await.expect("bucket");
    let s3 = s3_store(&server, ReportLinks::None);
    store::contract::incident_records(&s3).await;
}

/// The past-incident index contract (the body the folder and memory stores run in
/// `aegis-store`'s unit tests) against S3 on moto: entries written with reports,
/// rebuilt from them when missing or unreadable.
#[tokio::test]
async fn s3_keeps_the_past_incident_index() {
    let server = S3Server::start().await.expect("moto's S3 server starts");
    server.create_bucket(BUCKET).await.expect("bucket");
    let s3 = s3_store(&server, ReportLinks::None);
    store::contract::past_incidents(&s3).await;
}
