//! Foundation flow: `aegis dev` (in-process and as the real binary), the local broker
//! routing over real HTTP by Trigger manifests, delivery retries and dead letters, the
//! hop limit, body limits, malformed events, configuration errors, graceful shutdown.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use aegis_broker::{HopOutcome, Manifests};
use aegis_core::events::{AnyEvent, AttributesReader, AttributesWriter, Event};
use aegis_tests::process::{self, Aegis};
use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// What a test subscriber does with each event it receives.
#[derive(Clone, Copy)]
enum Behaviour {
    /// 202, no reply.
    Accept,
    /// 200 with a reply event of this type (id = `reply-of-<id>`).
    Reply(&'static str),
    /// Answers this status with the body `down`.
    Fail(u16),
    /// Answers this status to the first this-many events, then accepts (a cause
    /// that got fixed).
    FailFirst(u16, usize),
}

/// Every event a subscriber received, with its headers.
type Seen = Arc<Mutex<Vec<(HeaderMap, Event)>>>;

/// An HTTP subscriber on a free port that records every event (and its headers).
#[derive(Clone)]
struct Subscriber {
    url: String,
    seen: Seen,
}

impl Subscriber {
    async fn start(behaviour: Behaviour) -> Self {
        let seen: Seen = Arc::default();
        let app = Router::new()
            .route("/", post(receive))
            .with_state((behaviour, seen.clone()));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        Self { url, seen }
    }

    fn events(&self) -> Vec<Event> {
        self.seen
            .lock()
            .unwrap()
            .iter()
            .map(|(_, e)| e.clone())
            .collect()
    }

    fn headers(&self) -> Vec<HeaderMap> {
        self.seen
            .lock()
            .unwrap()
            .iter()
            .map(|(h, _)| h.clone())
            .collect()
    }
}

async fn receive(
    State((behaviour, seen)): State<(Behaviour, Seen)>,
    headers: HeaderMap,
    AnyEvent(event): AnyEvent,
) -> Response {
    let received = {
        let mut seen = seen.lock().unwrap();
        seen.push((headers, event.clone()));
        seen.len()
    };
    match behaviour {
        Behaviour::FailFirst(status, n) if received <= n => {
            (StatusCode::from_u16(status).unwrap(), "down").into_response()
        }
        Behaviour::FailFirst(..) => StatusCode::ACCEPTED.into_response(),
        Behaviour::Accept => StatusCode::ACCEPTED.into_response(),
        Behaviour::Reply(ty) => {
            let reply = aegis_core::events::build(
                aegis_core::events::EventType::AnalysisRequested,
                "test",
                format!("reply-of-{}", event.id()),
                &serde_json::json!({"cause": event.id()}),
                &[],
            )
            .unwrap();
            let mut reply = reply;
            reply.set_type(ty);
            aegis_core::events::reply(reply)
        }
        Behaviour::Fail(status) => (StatusCode::from_u16(status).unwrap(), "down").into_response(),
    }
}

const BROKER: &str =
    "apiVersion: eventing.knative.dev/v1\nkind: Broker\nmetadata:\n  name: aegis\n";

/// A Trigger manifest routing `type` (exact, through the `filters` dialect when
/// `modern`) to `uri`, with an optional delivery block.
fn trigger(name: &str, ty: &str, uri: &str, modern: bool, delivery: &str) -> String {
    let filter = if modern {
        format!("  filters:\n    - exact:\n        type: {ty}\n")
    } else {
        format!("  filter:\n    attributes:\n      type: {ty}\n")
    };
    format!(
        "---\napiVersion: eventing.knative.dev/v1\nkind: Trigger\nmetadata:\n  name: {name}\nspec:\n  broker: aegis\n{filter}  subscriber:\n    uri: {uri}\n{delivery}"
    )
}

fn knative_dir(manifests: &[String]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let mut text = BROKER.to_string();
    for m in manifests {
        text.push_str(m);
    }
    std::fs::write(dir.path().join("test.yaml"), text).unwrap();
    dir
}

fn client() -> reqwest::Client {
    reqwest::Client::builder().no_proxy().build().unwrap()
}

/// A structured-mode event body.
fn structured(id: &str, ty: &str, extra: &str) -> String {
    format!(
        r#"{{"specversion":"1.0","id":"{id}","type":"{ty}","source":"/test","datacontenttype":"application/json","data":{{"n":1}}{extra}}}"#
    )
}

async fn post_structured(url: &str, body: String) -> reqwest::Response {
    client()
        .post(url)
        .header("content-type", "application/cloudevents+json")
        .body(body)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn event_reaches_its_trigger_subscriber_and_the_reply_reaches_the_next() {
    let first = Subscriber::start(Behaviour::Reply("test.second")).await;
    let second = Subscriber::start(Behaviour::Accept).await;
    let knative = knative_dir(&[
        trigger("to-first", "test.first", &first.url, false, ""),
        trigger("to-second", "test.second", &second.url, true, ""),
    ]);
    let (dev, _data) = process::dev(&[], Some(knative.path())).await.unwrap();

    let traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    let res = post_structured(
        &dev.url("/broker"),
        structured(
            "e1",
            "test.first",
            &format!(r#","traceparent":"{traceparent}""#),
        ),
    )
    .await;
    assert_eq!(res.status(), StatusCode::ACCEPTED);
    dev.broker().wait_idle().await;

    let got = first.events();
    assert_eq!(got.len(), 1, "the first subscriber gets the event once");
    assert_eq!(got[0].id(), "e1");
    assert_eq!(got[0].ty(), "test.first");
    let headers = &first.headers()[0];
    assert_eq!(headers["prefer"], "reply", "the broker asks for a reply");
    assert_eq!(
        headers["traceparent"], traceparent,
        "the event's trace context travels in the HTTP header too"
    );
    assert_eq!(headers["ce-traceparent"], traceparent);
    assert!(
        got[0].extension("knativebrokerttl").is_none(),
        "subscribers never see the hop count"
    );

    let next = second.events();
    assert_eq!(next.len(), 1, "the reply reaches the second subscriber");
    assert_eq!(next[0].id(), "reply-of-e1");
    assert_eq!(next[0].ty(), "test.second");
    assert!(
        first.events().len() == 1,
        "the reply is not routed back to the first"
    );

    let hops = dev.broker().hops();
    assert!(hops.iter().any(|h| h.trigger == "to-first"
        && h.outcome == HopOutcome::Delivered
        && h.status == Some(200)
        && h.reply.as_ref().map(|r| r.0.as_str()) == Some("reply-of-e1")));
    assert!(
        hops.iter().any(|h| h.trigger == "to-second"
            && h.event_id == "reply-of-e1"
            && h.status == Some(202))
    );
    dev.shutdown().await.unwrap();
}

#[tokio::test]
async fn delivery_retries_with_backoff_then_dead_letters() {
    let failing = Subscriber::start(Behaviour::Fail(503)).await;
    let refusing = Subscriber::start(Behaviour::Fail(400)).await;
    let dead = Subscriber::start(Behaviour::Accept).await;
    let delivery = format!(
        "  delivery:\n    retry: 2\n    backoffPolicy: linear\n    backoffDelay: PT0.05S\n    timeout: PT5S\n    deadLetterSink:\n      uri: {}\n",
        dead.url
    );
    let knative = knative_dir(&[
        trigger("to-failing", "test.flaky", &failing.url, false, &delivery),
        trigger("to-refusing", "test.bad", &refusing.url, false, &delivery),
    ]);
    let (dev, _data) = process::dev(&[], Some(knative.path())).await.unwrap();

    // Binary mode this time.
    let res = client()
        .post(dev.url("/broker"))
        .header("ce-specversion", "1.0")
        .header("ce-id", "f1")
        .header("ce-type", "test.flaky")
        .header("ce-source", "/test")
        .header("content-type", "application/json")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::ACCEPTED);
    let res = post_structured(&dev.url("/broker"), structured("b1", "test.bad", "")).await;
    assert_eq!(res.status(), StatusCode::ACCEPTED);
    dev.broker().wait_idle().await;

    assert_eq!(
        failing.events().len(),
        3,
        "503 is retried: 1 attempt + 2 retries"
    );
    assert_eq!(refusing.events().len(), 1, "400 is never retried");
    let dead_letters = dead.events();
    assert_eq!(dead_letters.len(), 2, "both end in the dead letter sink");
    let flaky = dead_letters.iter().find(|e| e.id() == "f1").unwrap();
    let ext = |e: &Event, n: &str| e.extension(n).map(|v| v.to_string());
    assert_eq!(ext(flaky, "knativeerrordest"), Some(failing.url.clone()));
    assert_eq!(ext(flaky, "knativeerrorcode"), Some("503".into()));
    assert_eq!(
        ext(flaky, "knativeerrordata"),
        Some("ZG93bg==".into()),
        "base64 of `down`"
    );
    let bad = dead_letters.iter().find(|e| e.id() == "b1").unwrap();
    assert_eq!(ext(bad, "knativeerrorcode"), Some("400".into()));

    let hops = dev.broker().hops();
    let flaky_hops: Vec<_> = hops.iter().filter(|h| h.event_id == "f1").collect();
    let outcomes: Vec<_> = flaky_hops.iter().map(|h| h.outcome).collect();
    assert_eq!(
        outcomes,
        [
            HopOutcome::Retrying,
            HopOutcome::Retrying,
            HopOutcome::Failed,
            HopOutcome::DeadLettered
        ]
    );
    dev.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_dead_letter_lands_in_the_report_store_the_read_api_lists_it_and_it_is_resent() {
    // Down for the first delivery and its retry, fixed afterwards.
    let failing = Subscriber::start(Behaviour::FailFirst(503, 2)).await;
    let delivery = "  delivery:\n    retry: 1\n    backoffPolicy: linear\n    backoffDelay: PT0.05S\n    deadLetterSink:\n      ref:\n        apiVersion: serving.knative.dev/v1\n        kind: Service\n        name: dead-letter\n";
    let knative = knative_dir(&[trigger(
        "to-failing",
        "test.flaky",
        &failing.url,
        true,
        delivery,
    )]);
    let (dev, data) = process::dev(&[], Some(knative.path())).await.unwrap();
    let res = post_structured(&dev.url("/broker"), structured("lost-1", "test.flaky", "")).await;
    assert_eq!(res.status(), StatusCode::ACCEPTED);
    dev.broker().wait_idle().await;
    assert_eq!(failing.events().len(), 2, "1 attempt + 1 retry");

    let kept: Vec<_> = std::fs::read_dir(data.path().join("dead-letters"))
        .expect("the folder store has a dead letter folder")
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(kept.len(), 1, "{kept:?}");
    assert!(
        kept[0].to_string_lossy().ends_with("-lost-1.json"),
        "{kept:?}"
    );
    let event: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&kept[0]).unwrap()).unwrap();
    assert_eq!(event["id"], "lost-1");
    assert_eq!(event["type"], "test.flaky");
    assert_eq!(event["knativeerrorcode"], "503");
    assert_eq!(event["knativeerrordest"], failing.url.as_str());
    let hops = dev.broker().hops();
    assert_eq!(
        hops.last().map(|h| h.outcome),
        Some(HopOutcome::DeadLettered),
        "{hops:?}"
    );
    // And the read API lists it.
    let listing: serde_json::Value = client()
        .get(dev.url("/api/ops/dead-letters"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let listed = listing["dead_letters"].as_array().unwrap();
    assert_eq!(listed.len(), 1, "{listing}");
    assert_eq!(listed[0]["event"]["id"], "lost-1");
    assert_eq!(listed[0]["event"]["knativeerrorcode"], "503");

    // The command line lists it too, and sends it again once the cause is fixed.
    let data_dir = data.path().display().to_string();
    let env = [("AEGIS_DATA_DIR", data_dir.as_str())];
    let listed = process::run(&["dead-letters", "list"], &env).await.unwrap();
    assert_eq!(listed.code, Some(0), "{}", listed.stderr);
    assert!(
        listed
            .stdout
            .contains(&format!("lost-1  test.flaky  HTTP 503  {}", failing.url)),
        "{}",
        listed.stdout
    );
    let unset = process::run(&["dead-letters", "resend"], &env)
        .await
        .unwrap();
    assert_eq!(unset.code, Some(1));
    assert!(unset.stderr.contains("--to"), "{}", unset.stderr);
    // A destination that refuses it: it stays, and the command fails saying why.
    let refusing = Subscriber::start(Behaviour::Fail(400)).await;
    let refused = process::run(&["dead-letters", "resend", "--to", &refusing.url], &env)
        .await
        .unwrap();
    assert_eq!(refused.code, Some(1), "{}", refused.stdout);
    assert!(
        refused
            .stdout
            .contains("kept lost-1: event sink rejected the event: HTTP 400"),
        "{}",
        refused.stdout
    );
    assert_eq!(
        std::fs::read_dir(data.path().join("dead-letters"))
            .unwrap()
            .count(),
        1
    );
    // Back through the broker to the fixed subscriber, and gone from the store.
    let broker = dev.url("/broker");
    let resent = process::run(&["dead-letters", "resend", "--to", &broker], &env)
        .await
        .unwrap();
    assert_eq!(resent.code, Some(0), "{}\n{}", resent.stdout, resent.stderr);
    assert!(resent.stdout.contains("resent lost-1"), "{}", resent.stdout);
    dev.broker().wait_idle().await;
    let delivered = failing.events();
    assert_eq!(delivered.len(), 3, "delivered once more");
    assert_eq!(delivered[2].id(), "lost-1", "the same event, same id");
    assert!(
        delivered[2].extension("knativeerrorcode").is_none(),
        "the failure's extensions were the broker's, not the event's"
    );
    assert_eq!(
        std::fs::read_dir(data.path().join("dead-letters"))
            .unwrap()
            .count(),
        0,
        "removed once the broker took it"
    );
    dev.shutdown().await.unwrap();
}

#[tokio::test]
async fn reply_loop_is_stopped_by_the_hop_count() {
    let looping = Subscriber::start(Behaviour::Reply("test.loop")).await;
    let knative = knative_dir(&[trigger("loop", "test.loop", &looping.url, false, "")]);
    let (dev, _data) = process::dev(&[], Some(knative.path())).await.unwrap();

    let res = post_structured(
        &dev.url("/broker"),
        structured("l1", "test.loop", r#","knativebrokerttl":3"#),
    )
    .await;
    assert_eq!(res.status(), StatusCode::ACCEPTED);
    dev.broker().wait_idle().await;
    assert_eq!(
        looping.events().len(),
        3,
        "three hops, then the reply is dropped"
    );
    assert!(
        dev.broker()
            .hops()
            .iter()
            .any(|h| h.outcome == HopOutcome::Dropped)
    );

    let res = post_structured(
        &dev.url("/broker"),
        structured("l2", "test.loop", r#","knativebrokerttl":0"#),
    )
    .await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    assert!(res.text().await.unwrap().contains("knativebrokerttl"));
    dev.shutdown().await.unwrap();
}

#[tokio::test]
async fn malformed_cloudevent_is_400_with_the_reason() {
    let (dev, _data) = process::dev(&[], None).await.unwrap();
    let res = client()
        .post(dev.url("/broker"))
        .header("ce-specversion", "1.0")
        .header("ce-type", "test.x")
        .header("ce-source", "/test")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    let reason = res.text().await.unwrap();
    assert!(reason.contains("malformed CloudEvent"), "{reason}");
    assert!(
        reason.contains("id"),
        "names the missing attribute: {reason}"
    );

    let res = post_structured(&dev.url("/broker"), "{not json".to_string()).await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    dev.shutdown().await.unwrap();
}

#[tokio::test]
async fn oversized_body_is_413_with_a_message() {
    let (dev, _data) = process::dev(&[("AEGIS_BODY_LIMIT", "1KiB")], None)
        .await
        .unwrap();
    let big = structured(
        "big",
        "test.big",
        &format!(r#","pad":"{}""#, "x".repeat(4096)),
    );
    let res = post_structured(&dev.url("/broker"), big.clone()).await;
    assert_eq!(res.status(), StatusCode::PAYLOAD_TOO_LARGE);
    let message = res.text().await.unwrap();
    assert!(
        message.contains("1024") && message.contains("AEGIS_BODY_LIMIT"),
        "{message}"
    );

    // Without a declared length the body is cut while it is read.
    let chunks = futures::stream::iter(
        big.into_bytes()
            .chunks(512)
            .map(|c| Ok::<_, std::io::Error>(bytes::Bytes::copy_from_slice(c)))
            .collect::<Vec<_>>(),
    );
    let res = client()
        .post(dev.url("/broker"))
        .header("content-type", "application/cloudevents+json")
        .body(reqwest::Body::wrap_stream(chunks))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert!(res.text().await.unwrap().contains("too large"));
    dev.shutdown().await.unwrap();
}

#[tokio::test]
async fn every_function_is_mounted_and_public_paths_reach_their_function() {
    let (dev, _data) = process::dev(&[], None).await.unwrap();
    let c = client();
    let res = c.get(dev.url("/healthz")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert!(res.headers().contains_key("x-request-id"));
    // An unknown function is 404, so "not 404" below means the route reached a function.
    let res = c.post(dev.url("/fn/nope/")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    // Each public path reaches its function, which answers the same under /fn/<name>.
    for (path, function) in aegis_cli::functions::PUBLIC_ROUTES {
        if path.contains('{') {
            continue; // a missing report is a genuine 404
        }
        let mounted = format!("/fn/{function}{path}");
        let public = (
            c.post(dev.url(path)).send().await.unwrap().status(),
            c.get(dev.url(path)).send().await.unwrap().status(),
        );
        let under_fn = (
            c.post(dev.url(&mounted)).send().await.unwrap().status(),
            c.get(dev.url(&mounted)).send().await.unwrap().status(),
        );
        assert!(
            public.0 != StatusCode::NOT_FOUND || public.1 != StatusCode::NOT_FOUND,
            "{path} does not reach {function}"
        );
        assert_eq!(public, under_fn, "{path} and {mounted} differ");
    }
    // The dead letter sink is mounted and reads CloudEvents.
    let res = c
        .post(dev.url("/fn/dead-letter/"))
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    let metrics = aegis_tests::http::text(c.get(dev.url("/metrics"))).await;
    assert!(metrics.contains("aegis_http_requests_total"), "{metrics}");
    dev.shutdown().await.unwrap();
}

#[tokio::test]
async fn built_in_manifests_load_and_every_trigger_routes_to_a_mounted_function() {
    let manifests = Manifests::embedded().unwrap();
    assert_eq!(manifests.main_broker().name, "aegis");
    let (dev, _data) = process::dev(&[], None).await.unwrap();
    let functions = aegis_cli::functions::NAMES;
    assert!(!dev.broker().triggers().is_empty());
    for trigger in dev.broker().triggers() {
        let function = trigger
            .subscriber
            .function()
            .unwrap_or_else(|| panic!("trigger {} must name a function by ref", trigger.name));
        assert!(
            functions.contains(&function),
            "{} names unknown {function}",
            trigger.name
        );
        if let Some(dls) = trigger
            .delivery
            .dead_letter_sink
            .as_ref()
            .and_then(|d| d.function())
        {
            assert!(
                functions.contains(&dls),
                "{}: dead letter sink {dls} unknown",
                trigger.name
            );
        }
        // The function's mount answers something other than 404.
        let url = trigger
            .subscriber
            .url(&url::Url::parse(&dev.url("/")).unwrap())
            .unwrap();
        let status = client().post(url).send().await.unwrap().status();
        assert_ne!(
            status,
            StatusCode::NOT_FOUND,
            "{} is not routable",
            trigger.name
        );
    }
    // The flows of docs/architecture.md, by event: which functions each reaches.
    let route = |ty: &str, origin: Option<&str>| {
        let ty = aegis_core::events::EventType::parse(ty).unwrap();
        let ext: Vec<(&str, &str)> = origin.map(|o| ("aegisorigin", o)).into_iter().collect();
        let e = aegis_core::events::build(ty, "test", "x", &serde_json::json!({}), &ext).unwrap();
        let mut to: Vec<String> = dev
            .broker()
            .routes(&e)
            .filter_map(|t| t.subscriber.function().map(str::to_string))
            .collect();
        to.sort();
        to
    };
    assert_eq!(
        route("io.aegis.alert.group.received.v1", None),
        ["notifier"]
    );
    assert_eq!(
        route("io.aegis.analysis.requested.v1", Some("alert")),
        ["analyze"]
    );
    assert_eq!(
        route("io.aegis.analysis.requested.v1", Some("feishu")),
        ["analyze", "notifier"]
    );
    assert_eq!(
        route("io.aegis.analysis.completed.v1", Some("alert")),
        ["notifier"]
    );
    assert_eq!(
        route("io.aegis.feishu.message.received.v1", None),
        ["feishu-event-handler"]
    );
    dev.shutdown().await.unwrap();
}

#[tokio::test]
async fn bad_environment_variable_gives_one_line_naming_it() {
    let out = process::run(&["dev"], &[("AEGIS_BODY_LIMIT", "lots")])
        .await
        .unwrap();
    assert_ne!(out.code, Some(0));
    let stderr = out.stderr.trim();
    assert_eq!(stderr.lines().count(), 1, "one line: {stderr:?}");
    assert!(stderr.contains("AEGIS_BODY_LIMIT"), "{stderr}");
}

#[tokio::test]
async fn config_check_prints_every_variable_with_secrets_masked() {
    let out = process::run(
        &["config", "check"],
        &[
            ("FEISHU_APP_ID", "cli_test"),
            ("FEISHU_APP_SECRET", "hunter2-secret"),
            ("PORT", "9999"),
        ],
    )
    .await
    .unwrap();
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert!(
        !out.stdout.contains("hunter2"),
        "a secret leaked:\n{}",
        out.stdout
    );
    let line = |name: &str| {
        out.stdout
            .lines()
            .find(|l| l.split_whitespace().next() == Some(name))
            .unwrap_or_else(|| panic!("no line for {name}:\n{}", out.stdout))
            .to_string()
    };
    assert!(line("FEISHU_APP_SECRET").contains("***"));
    assert!(line("PORT").contains("9999"));
    assert!(
        line("AEGIS_BODY_LIMIT").contains("1MiB"),
        "defaults are shown"
    );
    for var in aegis_core::config::VARIABLES {
        line(var.name);
    }
}

#[tokio::test]
async fn sigterm_lets_the_in_flight_request_finish_and_refuses_new_connections() {
    let data = tempfile::tempdir().unwrap();
    let data_dir = data.path().display().to_string();
    let mut aegis = Aegis::spawn(
        &["dev"],
        &[
            ("AEGIS_DATA_DIR", &data_dir),
            ("AEGIS_SHUTDOWN_GRACE", "10s"),
        ],
    )
    .await
    .unwrap();
    // A slow request: the body arrives in two halves, SIGTERM in between.
    let body = structured("slow", "test.nobody.listens", "");
    let (head, tail) = body.split_at(body.len() / 2);
    let mut conn = tokio::net::TcpStream::connect(("127.0.0.1", aegis.port))
        .await
        .unwrap();
    let request = format!(
        "POST /broker HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/cloudevents+json\r\ncontent-length: {}\r\n\r\n{head}",
        body.len()
    );
    conn.write_all(request.as_bytes()).await.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    aegis.terminate().unwrap();

    // New connections are refused once the signal is handled.
    let mut refused = false;
    for _ in 0..100 {
        tokio::time::sleep(Duration::from_millis(50)).await;
        if tokio::net::TcpStream::connect(("127.0.0.1", aegis.port))
            .await
            .is_err()
        {
            refused = true;
            break;
        }
    }
    assert!(refused, "new connections are still accepted after SIGTERM");

    conn.write_all(tail.as_bytes()).await.unwrap();
    let mut response = Vec::new();
    conn.read_to_end(&mut response).await.unwrap();
    let response = String::from_utf8_lossy(&response);
    assert!(
        response.starts_with("HTTP/1.1 202"),
        "the in-flight request completes: {response}"
    );
    assert_eq!(aegis.wait(Duration::from_secs(15)).await.unwrap(), Some(0));
}

#[tokio::test]
async fn traces_are_exported_over_otlp_and_flushed_on_shutdown() {
    // A stand-in for an OTLP/HTTP receiver (Jaeger or a collector): records each body.
    let bodies: Arc<Mutex<Vec<bytes::Bytes>>> = Arc::default();
    let seen = bodies.clone();
    let app = Router::new().route(
        "/v1/traces",
        post(move |body: bytes::Bytes| async move {
            seen.lock().unwrap().push(body);
            StatusCode::OK
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let endpoint = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });

    let data = tempfile::tempdir().unwrap();
    let data_dir = data.path().display().to_string();
    let mut aegis = Aegis::spawn(
        &["dev"],
        &[
            ("AEGIS_DATA_DIR", &data_dir),
            ("OTEL_EXPORTER_OTLP_ENDPOINT", &endpoint),
        ],
    )
    .await
    .unwrap();
    let trace_id = "4bf92f3577b34da6a3ce929d0e0e4736";
    let res = client()
        .get(aegis.url("/healthz"))
        .header("traceparent", format!("00-{trace_id}-00f067aa0ba902b7-01"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    aegis.terminate().unwrap();
    assert_eq!(aegis.wait(Duration::from_secs(15)).await.unwrap(), Some(0));

    // The request's span is in the caller's trace: its id appears as raw bytes in the
    // protobuf export, sent at the latest when the process flushed on shutdown.
    let raw: Vec<u8> = (0..trace_id.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&trace_id[i..i + 2], 16).unwrap())
        .collect();
    let bodies = bodies.lock().unwrap();
    assert!(!bodies.is_empty(), "nothing was exported");
    assert!(
        bodies
            .iter()
            .any(|b| b.windows(raw.len()).any(|w| w == raw)),
        "no exported span carries the caller's trace id"
    );
}

#[tokio::test]
async fn function_runs_under_aws_lambda_when_the_runtime_api_is_set() {
    // A stand-in for the Lambda Runtime API (the documented 2018-06-01 interface): hands
    // out one API Gateway HTTP API event, then records the function's response.
    let event = serde_json::json!({
        "version": "2.0", "routeKey": "$default", "rawPath": "/healthz", "rawQueryString": "",
        "headers": {"host": "example.test"},
        "requestContext": {
            "accountId": "123456789012", "apiId": "api", "domainName": "example.test",
            "domainPrefix": "example", "requestId": "r1", "routeKey": "$default",
            "stage": "$default", "time": "25/Nov/2026:19:00:00 +0000", "timeEpoch": 0,
            "http": {"method": "GET", "path": "/healthz", "protocol": "HTTP/1.1",
                     "sourceIp": "192.0.2.1", "userAgent": "test"}
        },
        "isBase64Encoded": false
    });
    let handed_out = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let (tx, rx) = tokio::sync::oneshot::channel::<serde_json::Value>();
    let tx = Arc::new(Mutex::new(Some(tx)));
    let app = Router::new()
        .route(
            "/2018-06-01/runtime/invocation/next",
            axum::routing::get(move || {
                let event = event.clone();
                let handed_out = handed_out.clone();
                async move {
                    if handed_out.swap(true, std::sync::atomic::Ordering::SeqCst) {
                        std::future::pending::<()>().await; // one invocation only
                    }
                    (
                        [
                            ("lambda-runtime-aws-request-id", "inv-1"),
                            ("lambda-runtime-deadline-ms", "9999999999999"),
                            (
                                "lambda-runtime-invoked-function-arn",
                                "arn:aws:lambda:us-east-1:123456789012:function:notifier",
                            ),
                            (
                                "lambda-runtime-trace-id",
                                "Root=1-5759e988-bd862e3fe1be46a994272793",
                            ),
                        ],
                        axum::Json(event),
                    )
                }
            }),
        )
        .route(
            "/2018-06-01/runtime/invocation/inv-1/response",
            // The runtime client sends no content type, so read the body as it is.
            post(move |body: bytes::Bytes| async move {
                let body: serde_json::Value = serde_json::from_slice(&body).unwrap();
                if let Some(tx) = tx.lock().unwrap().take() {
                    let _ = tx.send(body);
                }
                StatusCode::ACCEPTED
            }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let api = listener.local_addr().unwrap().to_string();
    tokio::spawn(async move { axum::serve(listener, app).await });

    let data = tempfile::tempdir().unwrap();
    let mut child = tokio::process::Command::new(process::aegis_bin().unwrap())
        .args(["serve", "notifier"])
        .env("AWS_LAMBDA_RUNTIME_API", &api)
        .env("AWS_LAMBDA_FUNCTION_NAME", "notifier")
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
        .env("AWS_LAMBDA_FUNCTION_VERSION", "1")
        .env("AEGIS_DATA_DIR", data.path())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let response = tokio::time::timeout(Duration::from_secs(30), rx)
        .await
        .expect("the function answered the invocation")
        .unwrap();
    child.kill().await.unwrap();
    assert_eq!(response["statusCode"], 200, "{response}");
    let body = response["body"].as_str().unwrap_or_default();
    assert!(body.contains("ok"), "{response}");
}
