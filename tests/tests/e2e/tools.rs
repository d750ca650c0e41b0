//! The observability tools end to end: every client method and every LLM tool against a
//! recording HTTP server (nothing outside the query allowlist ever leaves), bounds,
//! failures as structured errors, auth, and compaction of large inputs within the
//! token budget (checked with a real tokenizer, `cl100k_base`).

#[path = "tools/fixtures.rs"]
mod fixtures;
#[path = "tools/incident.rs"]
mod incident;
#[path = "tools/recording.rs"]
mod recording;

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

use aegis_tools::compact::{self, BUDGET, tokens};
use aegis_tools::http::{Http, Request};
use aegis_tools::jaeger::TraceQuery;
use aegis_tools::loki::Direction;
use aegis_tools::{Api, Capped, Clients, Error, catalog::window};
use axum::http::{Method, StatusCode};
use chrono::{DateTime, Utc};
use serde_json::json;

use recording::{Recorded, Recorder};

/// The tools configured through the same variables as production.
fn tools_from(vars: &[(&str, String)]) -> Clients {
    let map: HashMap<String, String> = vars
        .iter()
        .map(|(k, v)| (k.to_string(), v.clone()))
        .collect();
    let lookup = |k: &str| map.get(k).cloned();
    let env = aegis_core::config::Env::new(&lookup);
    let config = aegis_tools::Config::from_env(&env).expect("valid tool configuration");
    Clients::new(&config).expect("tools build")
}

/// All three backends on one recording server, each under its own path prefix.
fn all_backends(base: &str, extra: &[(&str, String)]) -> Clients {
    let mut vars = vec![
        ("PROMETHEUS_BASE_URL", format!("{base}/prometheus")),
        ("LOKI_BASE_URL", format!("{base}/loki")),
        ("JAEGER_BASE_URL", format!("{base}/jaeger/")),
    ];
    vars.extend(extra.iter().cloned());
    tools_from(&vars)
}

fn at(secs: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(secs, 0).expect("valid time")
}

fn incident_window() -> (DateTime<Utc>, DateTime<Utc>) {
    (at(incident::START), at(incident::START + incident::LENGTH))
}

/// Fails naming the first of `requests` that is not a read-only query.
fn assert_only_queries(requests: &[Recorded]) {
    for r in requests {
        assert!(
            is_query_endpoint(r),
            "{} {} left the process but is not a query endpoint",
            r.method,
            r.path
        );
    }
}

/// The read-only query endpoints, written out independently of the code under test.
fn is_query_endpoint(r: &Recorded) -> bool {
    let segments: Vec<&str> = r.path.trim_start_matches('/').split('/').collect();
    let get = r.method == Method::GET;
    let form_post = r.method == Method::POST
        && r.headers
            .get("content-type")
            .is_some_and(|v| v == "application/x-www-form-urlencoded");
    match segments.as_slice() {
        [
            "prometheus",
            "api",
            "v1",
            "query" | "query_range" | "series" | "labels",
        ] => get || form_post,
        ["prometheus", "api", "v1", "metadata" | "alerts" | "rules"] => get,
        ["prometheus", "api", "v1", "label", name, "values"] => get && !name.is_empty(),
        [
            "loki",
            "loki",
            "api",
            "v1",
            "query_range" | "labels" | "series",
        ] => get,
        ["loki", "loki", "api", "v1", "label", name, "values"] => get && !name.is_empty(),
        ["jaeger", "api", "services" | "traces" | "dependencies"] => get,
        ["jaeger", "api", "services", service, "operations"] => get && !service.is_empty(),
        ["jaeger", "api", "traces", id] => get && !id.is_empty(),
        _ => false,
    }
}

#[tokio::test]
async fn every_client_method_and_tool_sends_only_query_endpoints() {
    let server = Recorder::start(fixtures::every_api).await;
    let tools = all_backends(&server.base, &[("LOKI_TENANT_ID", "team-a".into())]);
    let (start, end) = incident_window();

    // Every client method.
    let prom = tools.prometheus().unwrap();
    assert_eq!(prom.query("up", Some(end)).await.unwrap().len(), 2);
    let range = prom
        .query_range("rate(x[1m])", start, end, None)
        .await
        .unwrap();
    assert_eq!(range.len(), 5);
    assert_eq!(range[0].points.len(), 60);
    prom.labels(&["up"], Some(start), Some(end)).await.unwrap();
    prom.label_values("service", &[], None, None).await.unwrap();
    assert_eq!(
        prom.series(&["up"], Some(start), Some(end))
            .await
            .unwrap()
            .len(),
        2
    );
    assert_eq!(
        prom.metadata(Some("up"), Some(10)).await.unwrap()["up"][0].kind,
        "gauge"
    );
    assert_eq!(prom.alerts().await.unwrap()[0].state, "firing");
    let rules = prom.rules().await.unwrap();
    assert_eq!((rules.len(), rules[0].group.as_str()), (2, "slo"));
    let long_query = format!(
        "sum(rate(http_server_requests_total{{service=~\"{}\"}}[5m]))",
        (0..400)
            .map(incident::service)
            .collect::<Vec<_>>()
            .join("|")
    );
    prom.query(&long_query, Some(end)).await.unwrap();

    let loki = tools.loki().unwrap();
    let streams = loki
        .query_range("{app=\"a\"}", start, end, 100, Direction::Forward)
        .await
        .unwrap();
    assert_eq!(streams.iter().map(|s| s.entries.len()).sum::<usize>(), 100);
    loki.labels(Some(start), Some(end)).await.unwrap();
    loki.label_values("app", None, None).await.unwrap();
    loki.series(&["{app=\"a\"}"], Some(start), Some(end))
        .await
        .unwrap();

    let jaeger = tools.jaeger().unwrap();
    jaeger.services().await.unwrap();
    jaeger.operations("svc-00-orders").await.unwrap();
    let query = TraceQuery {
        service: "svc-00-orders".into(),
        operation: Some("GET /a".into()),
        tags: BTreeMap::from([("error".to_string(), "true".to_string())]),
        min_duration: Some(Duration::from_millis(100)),
        limit: 5,
        start,
        end,
    };
    assert_eq!(jaeger.find_traces(&query).await.unwrap().len(), 5);
    assert!(jaeger.trace("abc123").await.unwrap().is_some());
    jaeger
        .dependencies(end, Duration::from_secs(900))
        .await
        .unwrap();

    // Every tool.
    let catalog = aegis_tools::catalog_for(&tools, window(start, end));
    let calls = [
        (
            "prometheus_query",
            json!({"query": "sum by (service) (rate(x[5m]))"}),
        ),
        (
            "prometheus_range",
            json!({"query": "sum by (service) (rate(x[5m]))"}),
        ),
        ("prometheus_labels", json!({"match": ["up"]})),
        ("prometheus_label_values", json!({"label": "service"})),
        ("prometheus_series", json!({"match": ["up"]})),
        ("prometheus_alerts", json!({})),
        (
            "loki_query",
            json!({"query": "{app=\"a\"} |= \"error\"", "limit": 50}),
        ),
        ("loki_labels", json!(null)),
        ("loki_label_values", json!({"label": "app"})),
        (
            "jaeger_traces",
            json!({"service": "svc-00-orders", "tags": {"error": "true"}, "min_duration": "100ms"}),
        ),
        ("jaeger_trace", json!({"trace_id": "abc123"})),
        ("jaeger_services", json!({})),
        ("jaeger_operations", json!({"service": "svc-00-orders"})),
        ("jaeger_dependencies", json!({})),
    ];
    let mut named: Vec<&str> = calls.iter().map(|c| c.0).collect();
    let mut listed = catalog.names();
    named.sort_unstable();
    listed.sort_unstable();
    assert_eq!(named, listed, "every tool in the catalog is exercised here");
    for (name, args) in calls {
        let text = catalog
            .call(name, args)
            .await
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(!text.trim().is_empty(), "{name} answered nothing");
        assert!(tokens::estimate(&text) < 4_000, "{name}: {text}");
    }

    let requests = server.requests();
    assert!(requests.len() >= 30, "{} requests", requests.len());
    assert_only_queries(&requests);
    // The long query went as a form POST, everything else as GET.
    assert!(requests.iter().any(|r| r.method == Method::POST
        && r.path == "/prometheus/api/v1/query"
        && r.param("query").as_deref() == Some(long_query.as_str())));
    // The range query without a step asked for about 300 points: 900 s / 300 = 3 s.
    let range = requests
        .iter()
        .find(|r| r.path.ends_with("/query_range") && r.path.starts_with("/prometheus"))
        .unwrap();
    assert_eq!(range.param("step").as_deref(), Some("3s"));
    assert_eq!(range.param("start").as_deref(), Some("1674981000"));
    // Loki got the tenant on every request and a capped limit.
    for r in requests.iter().filter(|r| r.path.starts_with("/loki")) {
        assert_eq!(
            r.headers.get("x-scope-orgid").unwrap(),
            "team-a",
            "{}",
            r.path
        );
    }
    // Jaeger got the search as its API spells it.
    let search = requests
        .iter()
        .find(|r| r.path == "/jaeger/api/traces" && r.param("operation").is_some())
        .unwrap();
    assert_eq!(search.param("tags").as_deref(), Some(r#"{"error":"true"}"#));
    assert_eq!(search.param("minDuration").as_deref(), Some("100000us"));
    assert_eq!(search.param("limit").as_deref(), Some("5"));
    assert_eq!(search.param("start").as_deref(), Some("1674981000000000"));
}

/// `aegis mcp`'s tools (the backends' catalog, `rank_root_causes`,
/// `search_past_incidents`, `list_incidents`) are read-only: called against the
/// recorder, nothing but query endpoints leaves the process.
#[tokio::test]
async fn the_mcp_servers_tools_send_only_query_endpoints() {
    let server = Recorder::start(fixtures::every_api).await;
    let tools = all_backends(&server.base, &[]);
    let engine = std::sync::Arc::new(aegis_analysis::Statistical {
        engine: aegis_rca::Engine::default(),
        tools: tools.clone(),
        catalog: aegis_rca::SignalCatalog::default_cluster(),
        clock: aegis_core::report::Clock::default(),
    });
    let store = std::sync::Arc::new(aegis_store::Memory::default());
    let mcp = aegis_cli::mcp::tools(&tools, Some(engine), store, Duration::from_secs(30));
    let backends = aegis_tools::catalog(&tools);
    let mut expected = backends.names();
    expected.extend([
        "rank_root_causes",
        "search_past_incidents",
        "list_incidents",
    ]);
    expected.sort_unstable();
    let mut listed = mcp.names();
    listed.sort_unstable();
    assert_eq!(
        listed, expected,
        "the backends' tools, the engine, the search and the incidents, no more"
    );
    let (start, end) = incident_window();
    let text = mcp
        .call(
            "rank_root_causes",
            json!({"start": start.to_rfc3339(), "end": end.to_rfc3339()}),
        )
        .await
        .expect("rank_root_causes");
    assert!(text.starts_with("Statistical ranking of"), "{text}");
    let text = mcp
        .call(
            "search_past_incidents",
            json!({"services": ["svc-00-orders"]}),
        )
        .await
        .expect("search_past_incidents");
    assert_eq!(text, "No stored past incident matches.");
    let text = mcp
        .call("list_incidents", json!({}))
        .await
        .expect("list_incidents");
    assert_eq!(text, "[]", "no incident in an empty store");
    let requests = server.requests();
    assert!(!requests.is_empty(), "the engine read the backends");
    assert_only_queries(&requests);
}

#[tokio::test]
async fn a_refused_request_never_leaves_the_process() {
    let server = Recorder::start(fixtures::every_api).await;
    let backend = aegis_tools::Backend {
        url: format!("{}/prometheus", server.base).parse().unwrap(),
        auth: None,
    };
    let prom = Http::new(Api::Prometheus, &backend, Duration::from_secs(5), 1 << 20);
    let loki = Http::new(Api::Loki, &backend, Duration::from_secs(5), 1 << 20);
    let jaeger = Http::new(Api::Jaeger, &backend, Duration::from_secs(5), 1 << 20);
    let attempts = [
        (
            &prom,
            Request::post_form(
                &["api", "v1", "admin", "tsdb", "delete_series"],
                vec![("match[]".into(), "up".into())],
            ),
        ),
        (
            &prom,
            Request::post_form(&["api", "v1", "admin", "tsdb", "snapshot"], vec![]),
        ),
        (&prom, Request::get(&["-", "quit"], vec![])),
        (
            &prom,
            Request::get(&["api", "v1", "label", "..", "values"], vec![]),
        ),
        (&prom, Request::post_form(&["api", "v1", "rules"], vec![])),
        (
            &loki,
            Request::post_form(&["loki", "api", "v1", "push"], vec![]),
        ),
        (
            &loki,
            Request::get(&["loki", "api", "v1", "delete"], vec![]),
        ),
        (&jaeger, Request::post_form(&["api", "traces"], vec![])),
        (&jaeger, Request::get(&["api", "archive", "abc"], vec![])),
    ];
    for (http, request) in attempts {
        match http.send(&request).await {
            Err(Error::Refused { .. }) => {}
            other => panic!("{request:?} was not refused: {other:?}"),
        }
    }
    assert!(server.requests().is_empty(), "{:?}", server.requests());
    // The same layer does send an allowlisted request, so the refusals above are not a
    // broken client.
    prom.send(&Request::get(&["api", "v1", "labels"], vec![]))
        .await
        .unwrap();
    assert_eq!(server.requests().len(), 1);
}

#[tokio::test]
async fn auth_and_tenant_headers_are_sent_and_never_printed() {
    let server = Recorder::start(fixtures::every_api).await;
    let vars = [
        ("PROMETHEUS_BASE_URL", format!("{}/prometheus", server.base)),
        ("AEGIS_PROMETHEUS_AUTH", "bearer:prom-s3cret".into()),
        ("LOKI_BASE_URL", format!("{}/loki", server.base)),
        ("AEGIS_LOKI_AUTH", "basic:reader:l0ki-pass".into()),
        ("LOKI_TENANT_ID", "tenant-1".into()),
        ("JAEGER_BASE_URL", format!("{}/jaeger", server.base)),
        ("AEGIS_JAEGER_AUTH", "bearer:jaeger-s3cret".into()),
    ];
    let tools = tools_from(&vars);
    tools
        .prometheus()
        .unwrap()
        .labels(&[], None, None)
        .await
        .unwrap();
    tools.loki().unwrap().labels(None, None).await.unwrap();
    tools.jaeger().unwrap().services().await.unwrap();
    let requests = server.requests();
    let auth = |prefix: &str| {
        requests
            .iter()
            .find(|r| r.path.starts_with(prefix))
            .and_then(|r| r.headers.get("authorization"))
            .map(|v| v.to_str().unwrap().to_string())
    };
    assert_eq!(auth("/prometheus").as_deref(), Some("Bearer prom-s3cret"));
    // base64("reader:l0ki-pass")
    assert_eq!(
        auth("/loki").as_deref(),
        Some("Basic cmVhZGVyOmwwa2ktcGFzcw==")
    );
    assert_eq!(auth("/jaeger").as_deref(), Some("Bearer jaeger-s3cret"));
    let loki = requests
        .iter()
        .find(|r| r.path.starts_with("/loki"))
        .unwrap();
    assert_eq!(loki.headers.get("x-scope-orgid").unwrap(), "tenant-1");

    let printed = format!("{tools:?}");
    for secret in ["prom-s3cret", "l0ki-pass", "jaeger-s3cret"] {
        assert!(!printed.contains(secret), "{secret} printed in {printed}");
    }
}

#[tokio::test]
async fn a_backend_that_is_down_is_a_structured_error() {
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let tools = tools_from(&[
        ("PROMETHEUS_BASE_URL", format!("http://127.0.0.1:{port}")),
        ("AEGIS_TOOL_TIMEOUT", "2s".into()),
    ]);
    let began = Instant::now();
    let err = tools
        .prometheus()
        .unwrap()
        .query("up", None)
        .await
        .unwrap_err();
    assert!(began.elapsed() < Duration::from_secs(3));
    assert!(
        matches!(
            err,
            Error::Unreachable {
                api: Api::Prometheus,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err.retryable());
    let text = err.to_string();
    assert!(
        text.contains("Prometheus is unreachable") && text.contains("retry"),
        "{text}"
    );

    // Backends that are not configured say so, and their tools are not offered.
    let err = tools.loki().unwrap_err();
    assert!(err.to_string().contains("LOKI_BASE_URL"), "{err}");
    let catalog = aegis_tools::catalog(&tools);
    assert!(
        catalog.names().iter().all(|n| n.starts_with("prometheus_")),
        "{catalog:?}"
    );
}

#[tokio::test]
async fn a_slow_backend_times_out_within_the_timeout() {
    let server = Recorder::start_slow(Duration::from_secs(10), fixtures::every_api).await;
    let tools = all_backends(&server.base, &[("AEGIS_TOOL_TIMEOUT", "300ms".into())]);
    let catalog = aegis_tools::catalog(&tools);
    for (name, args) in [
        ("prometheus_range", json!({"query": "up"})),
        ("loki_query", json!({"query": "{app=\"a\"}"})),
        ("jaeger_services", json!({})),
    ] {
        let began = Instant::now();
        let err = catalog.call(name, args).await.unwrap_err();
        let took = began.elapsed();
        assert!(took < Duration::from_secs(2), "{name} took {took:?}");
        assert!(matches!(err, Error::Timeout { .. }), "{name}: {err:?}");
        assert!(
            err.to_string().contains("did not answer within 0.3s"),
            "{err}"
        );
    }
}

#[tokio::test]
async fn garbage_and_oversized_answers_are_structured_errors() {
    let garbage = Recorder::start(|_| {
        (
            StatusCode::OK,
            "text/html",
            "<html>maintenance</html>".into(),
        )
    })
    .await;
    let tools = all_backends(&garbage.base, &[]);
    let (start, end) = incident_window();
    let errors = [
        tools
            .prometheus()
            .unwrap()
            .query_range("up", start, end, None)
            .await
            .unwrap_err(),
        tools
            .loki()
            .unwrap()
            .query_range("{a=\"b\"}", start, end, 10, Direction::Backward)
            .await
            .unwrap_err(),
        tools.jaeger().unwrap().services().await.unwrap_err(),
    ];
    for err in errors {
        assert!(matches!(err, Error::Malformed { .. }), "{err:?}");
    }

    // A valid but wrong shape (a matrix where a label list belongs) is malformed too.
    let wrong =
        Recorder::start(|_| fixtures::ok(json!({"resultType": "matrix", "result": 5}))).await;
    let err = all_backends(&wrong.base, &[])
        .prometheus()
        .unwrap()
        .query("up", None)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Malformed { .. }), "{err:?}");

    // Larger than the byte cap: refused from the Content-Length.
    let labels = serde_json::Value::from(vec!["x".repeat(100); 100]);
    let big = Recorder::start(move |_| fixtures::ok(labels.clone())).await;
    let tools = all_backends(&big.base, &[("AEGIS_TOOL_MAX_BYTES", "1KiB".into())]);
    let err = tools
        .prometheus()
        .unwrap()
        .labels(&[], None, None)
        .await
        .unwrap_err();
    assert!(
        matches!(err, Error::TooLarge { limit: 1024, .. }),
        "{err:?}"
    );
    assert!(err.to_string().contains("narrow the query"), "{err}");

    // An endless body without a length: reading stops at the cap, well before the timeout.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let endless = axum::Router::new().fallback(|| async {
        let chunks = futures::stream::repeat_with(|| {
            Ok::<_, std::io::Error>(axum::body::Bytes::from_static(&[b' '; 4096]))
        });
        axum::body::Body::from_stream(chunks)
    });
    tokio::spawn(async move { axum::serve(listener, endless).await });
    let tools = tools_from(&[
        ("JAEGER_BASE_URL", format!("http://{addr}")),
        ("AEGIS_TOOL_MAX_BYTES", "64KiB".into()),
        ("AEGIS_TOOL_TIMEOUT", "10s".into()),
    ]);
    let began = Instant::now();
    let err = tools.jaeger().unwrap().services().await.unwrap_err();
    assert!(matches!(err, Error::TooLarge { .. }), "{err:?}");
    assert!(began.elapsed() < Duration::from_secs(5));
}

#[tokio::test]
async fn backend_error_messages_reach_the_model() {
    let server = Recorder::start(|r| {
        if r.path.starts_with("/prometheus") {
            (
                StatusCode::BAD_REQUEST,
                "application/json",
                json!({"status": "error", "errorType": "bad_data", "error": "1:5: parse error: unexpected <EOF>"}).to_string(),
            )
        } else if r.path.starts_with("/loki") {
            (StatusCode::BAD_REQUEST, "text/plain", "parse error at line 1, col 7: syntax error: unexpected IDENTIFIER\n".into())
        } else {
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                "application/json",
                json!({"data": null, "total": 0, "limit": 0, "offset": 0, "errors": [{"code": 500, "msg": "storage backend unavailable"}]}).to_string(),
            )
        }
    })
    .await;
    let catalog = aegis_tools::catalog(&all_backends(&server.base, &[]));
    let prom = catalog
        .call("prometheus_query", json!({"query": "sum("}))
        .await
        .unwrap_err();
    assert_eq!(
        prom.to_string(),
        "Prometheus rejected the request (HTTP 400): bad_data: 1:5: parse error: unexpected <EOF>"
    );
    assert!(!prom.retryable());
    let loki = catalog
        .call("loki_query", json!({"query": "{app=x}"}))
        .await
        .unwrap_err();
    assert!(
        loki.to_string()
            .ends_with("syntax error: unexpected IDENTIFIER"),
        "{loki}"
    );
    let jaeger = catalog
        .call("jaeger_services", json!({}))
        .await
        .unwrap_err();
    assert!(
        jaeger.to_string().contains("storage backend unavailable"),
        "{jaeger}"
    );
    assert!(jaeger.retryable());

    // Bad arguments are refused before any request, with what was expected.
    let before = server.requests().len();
    let err = catalog
        .call("prometheus_range", json!({"q": "up"}))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("missing field `query`"), "{err}");
    let err = catalog
        .call(
            "prometheus_range",
            json!({"query": "up", "start": "2023-01-01T00:00:00Z", "end": "2023-03-01T00:00:00Z"}),
        )
        .await
        .unwrap_err();
    assert!(matches!(err, Error::RangeTooLong { .. }), "{err:?}");
    let err = catalog.call("no_such_tool", json!({})).await.unwrap_err();
    assert!(err.to_string().contains("prometheus_range"), "{err}");
    assert_eq!(
        server.requests().len(),
        before,
        "nothing was sent for bad arguments"
    );
}

#[tokio::test]
async fn ten_thousand_series_are_capped_with_a_note() {
    let all = incident::series(10_000, 10);
    let body = fixtures::matrix(&all);
    let server = Recorder::start(move |_| fixtures::ok(body.clone())).await;
    let tools = all_backends(&server.base, &[]);
    let (start, end) = incident_window();
    let series = tools
        .prometheus()
        .unwrap()
        .query_range("x", start, end, None)
        .await
        .unwrap();
    assert_eq!((series.len(), series.omitted), (50, 9_950));
    let text = aegis_tools::catalog_for(&tools, window(start, end))
        .call("prometheus_range", json!({"query": "x"}))
        .await
        .unwrap();
    assert!(
        text.contains("9950 more series: narrow with topk or by"),
        "{text}"
    );
    assert!(text.contains("10000 series"), "{text}");
    assert!(tokens::estimate(&text) < 4_000);

    // Compaction alone over all 10,000 series of 300 points stays in budget too.
    let all = Capped::new(incident::series(10_000, 300), usize::MAX);
    let text = compact::series::range("x", start, end, 3.0, &all, BUDGET);
    assert!(
        tokens::estimate(&text) <= BUDGET + 200,
        "{}",
        tokens::estimate(&text)
    );
    assert!(
        text.lines().nth(2).unwrap().contains(&incident::service(7)),
        "the shifted service comes first: {text}"
    );
    assert!(text.contains("more series omitted"), "{text}");
}

#[tokio::test]
async fn log_lines_are_capped_at_the_line_limit() {
    let streams = incident::log_streams(5_000, 5);
    let body = fixtures::streams(&streams);
    let server = Recorder::start(move |_| fixtures::ok(body.clone())).await;
    let tools = all_backends(&server.base, &[("AEGIS_TOOL_MAX_LOG_LINES", "2000".into())]);
    let (start, end) = incident_window();
    let got = tools
        .loki()
        .unwrap()
        .query_range(
            "{namespace=\"shop\"}",
            start,
            end,
            1_000_000,
            Direction::Backward,
        )
        .await
        .unwrap();
    assert_eq!(got.iter().map(|s| s.entries.len()).sum::<usize>(), 2_000);
    assert_eq!(server.requests()[0].param("limit").as_deref(), Some("2000"));
    let text = aegis_tools::catalog_for(&tools, window(start, end))
        .call("loki_query", json!({"query": "{namespace=\"shop\"}"}))
        .await
        .unwrap();
    assert!(text.contains("the line cap (2000) was reached"), "{text}");
}

/// Tokens as OpenAI's `cl100k_base` counts them: the reference the estimate must not
/// under-count.
fn real_tokens(text: &str) -> usize {
    use std::sync::OnceLock;
    static BPE: OnceLock<tiktoken_rs::CoreBPE> = OnceLock::new();
    BPE.get_or_init(|| tiktoken_rs::cl100k_base().expect("cl100k_base ships with the crate"))
        .encode_with_special_tokens(text)
        .len()
}

#[tokio::test]
async fn a_fifty_service_incident_compacts_under_4000_tokens() {
    let (start, end) = incident_window();
    let series = Capped::new(incident::series(50, 300), 50);
    let logs = incident::log_streams(100_000, 50);
    let traces = incident::traces(200, 50);

    let metrics = compact::series::range(
        "sum by (service) (rate(x[1m]))",
        start,
        end,
        3.0,
        &series,
        BUDGET,
    );
    let logs_text = compact::logs::render(
        "{namespace=\"shop\"}",
        start,
        end,
        &logs,
        "app",
        200_000,
        BUDGET,
    );
    let traces_text = compact::traces::render("all services", &traces, 1_000, BUDGET);

    for (what, text) in [
        ("metrics", &metrics),
        ("logs", &logs_text),
        ("traces", &traces_text),
    ] {
        let real = real_tokens(text);
        let estimated = tokens::estimate(text);
        assert!(real < 4_000, "{what}: {real} cl100k tokens\n{text}");
        assert!(
            estimated >= real,
            "{what}: the estimate {estimated} under-counts cl100k {real}"
        );
    }
    // The signal survives: the faulty service's shift, its errors first, its slow path.
    assert!(
        metrics.lines().nth(2).unwrap().starts_with("{pod="),
        "{metrics}"
    );
    assert!(
        metrics
            .lines()
            .nth(2)
            .unwrap()
            .contains(&incident::service(7)),
        "{metrics}"
    );
    let first_template = logs_text.lines().find(|l| l.starts_with('[')).unwrap();
    assert!(
        first_template.starts_with("[ERROR]") && first_template.contains(&incident::service(7)),
        "{logs_text}"
    );
    assert!(
        logs_text.contains("100000 lines in 50 streams"),
        "{logs_text}"
    );
    assert!(
        traces_text.contains("critical path") && traces_text.contains(&incident::service(7)),
        "{traces_text}"
    );
    let first_op = traces_text
        .lines()
        .skip_while(|l| !l.starts_with("service operation"))
        .nth(1)
        .unwrap();
    assert!(
        first_op.starts_with(&incident::service(7)),
        "errors first: {traces_text}"
    );
}

/// The dev dataset the real-Prometheus test loads.
fn dev_dataset() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared/eval/dev/nezha-ob-2022-08-22")
}

#[tokio::test]
async fn prometheus_tools_against_a_real_prometheus() {
    let dataset = dev_dataset();
    assert!(dataset.is_dir(), "{} is missing", dataset.display());
    let prometheus = aegis_tests::peers::prometheus::Prometheus::start_with_dataset(&dataset)
        .await
        .expect("a real Prometheus over the dev dataset");
    let tools = tools_from(&[("PROMETHEUS_BASE_URL", prometheus.base_url.clone())]);
    // Case nezha-ob-2022-08-22-0402: frontend starts returning errors at 04:02:07.
    let start: DateTime<Utc> = "2022-08-22T03:52:07Z".parse().unwrap();
    let end: DateTime<Utc> = "2022-08-22T04:07:07Z".parse().unwrap();
    let catalog = aegis_tools::catalog_for(&tools, window(start, end));
    let call = |name: &'static str, args: serde_json::Value| {
        let catalog = catalog.clone();
        async move {
            let text = catalog
                .call(name, args)
                .await
                .unwrap_or_else(|e| panic!("{name}: {e}"));
            assert!(tokens::estimate(&text) < 4_000, "{name}: {text}");
            text
        }
    };

    let services = call("prometheus_label_values", json!({"label": "service"})).await;
    for s in ["adservice", "cartservice", "frontend", "shippingservice"] {
        assert!(services.contains(s), "{services}");
    }
    let labels = call(
        "prometheus_labels",
        json!({"match": ["container_cpu_usage_seconds_total"]}),
    )
    .await;
    assert!(
        labels.contains("pod") && labels.contains("namespace"),
        "{labels}"
    );
    let series = call(
        "prometheus_series",
        json!({"match": ["container_memory_working_set_bytes{service=\"frontend\"}"]}),
    )
    .await;
    assert!(
        series.contains("service=\"frontend\"") && series.contains("pod="),
        "{series}"
    );

    let request_rate =
        "sum by (service) (rate(http_server_requests_total{namespace=\"online-boutique\"}[2m]))";
    let instant = call("prometheus_query", json!({"query": request_rate})).await;
    assert!(instant.contains("{service=\"frontend\"}"), "{instant}");

    // The range tool, and under it the client, against what Prometheus itself computes.
    let client = tools.prometheus().unwrap();
    let raw = client
        .query_range(request_rate, start, end, None)
        .await
        .unwrap();
    assert!(raw.len() >= 5 && raw.omitted == 0, "{} series", raw.len());
    for s in raw.iter() {
        assert!(s.points.len() <= 301, "{} points", s.points.len());
        assert!(
            s.points
                .windows(2)
                .all(|w| (w[1].0 - w[0].0 - 3.0).abs() < 1e-9),
            "3 s step"
        );
    }
    let error_ratio = "sum by (service) (rate(http_server_requests_total{code=\"5xx\",namespace=\"online-boutique\"}[2m])) / sum by (service) (rate(http_server_requests_total{namespace=\"online-boutique\"}[2m]))";
    let range = call("prometheus_range", json!({"query": error_ratio})).await;
    assert!(range.contains("shift at"), "{range}");
    let first = range.lines().nth(2).unwrap();
    assert!(
        first.starts_with("{service=\"frontend\"}"),
        "the faulty service shifted most:\n{range}"
    );

    client.metadata(None, Some(5)).await.unwrap();

    // Prometheus's own error shape reaches the model.
    let err = catalog
        .call("prometheus_query", json!({"query": "sum by (service (up)"}))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Backend { status: 400, .. }), "{err:?}");
    assert!(err.to_string().contains("bad_data"), "{err}");
}

#[tokio::test]
async fn loki_and_jaeger_tools_against_the_replay() {
    let replay = aegis_replay::Server::load_and_start(&dev_dataset())
        .await
        .expect("the replay serves the dev dataset");
    let tools = tools_from(&[
        ("LOKI_BASE_URL", replay.base_url.clone()),
        ("JAEGER_BASE_URL", replay.base_url.clone()),
    ]);
    // Case nezha-ob-2022-08-22-0532: the window where the dataset has logs.
    let start: DateTime<Utc> = "2022-08-22T05:17:06Z".parse().unwrap();
    let end: DateTime<Utc> = "2022-08-22T05:32:06Z".parse().unwrap();
    let catalog = aegis_tools::catalog_for(&tools, window(start, end));
    let call = |name: &'static str, args: serde_json::Value| {
        let catalog = catalog.clone();
        async move {
            let text = catalog
                .call(name, args)
                .await
                .unwrap_or_else(|e| panic!("{name}: {e}"));
            assert!(tokens::estimate(&text) < 4_000, "{name}: {text}");
            text
        }
    };

    // Loki: the client, then the tools.
    let loki = tools.loki().unwrap();
    let streams = loki
        .query_range("{app=\"frontend\"}", start, end, 25, Direction::Forward)
        .await
        .unwrap();
    let entries: Vec<&(i64, String)> = streams.iter().flat_map(|s| &s.entries).collect();
    assert_eq!(entries.len(), 25);
    let (from, to) = (
        start.timestamp_nanos_opt().unwrap(),
        end.timestamp_nanos_opt().unwrap(),
    );
    assert!(entries.iter().all(|(ts, _)| (from..=to).contains(ts)));
    assert!(streams.iter().all(|s| s.labels["app"] == "frontend"));

    let labels = call("loki_labels", json!({})).await;
    assert!(labels.contains("app") && labels.contains("pod"), "{labels}");
    let apps = call("loki_label_values", json!({"label": "app"})).await;
    assert!(apps.contains("frontend"), "{apps}");
    let logs = call(
        "loki_query",
        json!({"query": "{namespace=\"online-boutique\"}"}),
    )
    .await;
    assert!(logs.contains("templates") && logs.contains("x"), "{logs}");
    assert!(
        logs.contains("<uuid>") || logs.contains("<hex>"),
        "ids are masked: {logs}"
    );

    // Jaeger: the client, then the tools.
    let jaeger = tools.jaeger().unwrap();
    let services = jaeger.services().await.unwrap();
    assert!(services.iter().any(|s| s == "frontend"), "{services:?}");
    assert!(!jaeger.operations("frontend").await.unwrap().is_empty());
    let traces = jaeger
        .find_traces(&TraceQuery {
            service: "frontend".into(),
            limit: 10,
            start,
            end,
            ..TraceQuery::default()
        })
        .await
        .unwrap();
    assert!(
        !traces.is_empty() && traces.len() <= 10,
        "{} traces",
        traces.len()
    );
    let first = &traces[0];
    assert!(first.spans.iter().any(|s| s.service == "frontend"));
    assert!(
        first.spans.iter().any(|s| s.parent_span_id.is_none()),
        "a root span"
    );
    let again = jaeger
        .trace(&first.trace_id)
        .await
        .unwrap()
        .expect("found by id");
    assert_eq!(again.spans.len(), first.spans.len());

    call("jaeger_services", json!({})).await;
    call("jaeger_operations", json!({"service": "frontend"})).await;
    let found = call("jaeger_traces", json!({"service": "frontend", "limit": 50})).await;
    assert!(
        found.contains("critical path") && found.contains("frontend"),
        "{found}"
    );
    let one = call("jaeger_trace", json!({"trace_id": first.trace_id})).await;
    assert!(one.contains(&first.trace_id), "{one}");
    let edges = call("jaeger_dependencies", json!({})).await;
    assert!(edges.contains("frontend -> "), "{edges}");
}

#[tokio::test]
async fn alerts_and_rules_from_a_real_prometheus() {
    let config =
        "global:\n  scrape_interval: 1h\n  evaluation_interval: 1s\nrule_files: [rules.yml]\n";
    let rules = r#"groups:
  - name: aegis-test
    rules:
      - alert: AegisAlwaysFiring
        expr: vector(1)
        labels: {severity: critical}
        annotations: {summary: "always firing, for the test"}
      - record: aegis:one
        expr: vector(1)
"#;
    let prometheus =
        aegis_tests::peers::prometheus::Prometheus::start(config, &[("rules.yml", rules)])
            .await
            .expect("a real Prometheus with rules");
    let tools = tools_from(&[("PROMETHEUS_BASE_URL", prometheus.base_url.clone())]);
    let client = tools.prometheus().unwrap();

    let rules = client.rules().await.unwrap();
    let alerting = rules
        .iter()
        .find(|r| r.name == "AegisAlwaysFiring")
        .unwrap();
    assert_eq!(
        (alerting.group.as_str(), alerting.kind.as_str()),
        ("aegis-test", "alerting")
    );
    assert_eq!(alerting.query, "vector(1)");
    assert_eq!(alerting.labels["severity"], "critical");
    assert!(
        rules
            .iter()
            .any(|r| r.name == "aegis:one" && r.kind == "recording")
    );

    // Rules are evaluated every second: the alert fires within a few.
    let began = Instant::now();
    let text = loop {
        let text = aegis_tools::catalog(&tools)
            .call("prometheus_alerts", json!({}))
            .await
            .unwrap();
        if text.contains("[firing]") || began.elapsed() > Duration::from_secs(20) {
            break text;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    assert!(
        text.contains("[firing]") && text.contains("alertname=\"AegisAlwaysFiring\""),
        "{text}"
    );
    assert!(text.contains("always firing, for the test"), "{text}");
    let alerts = client.alerts().await.unwrap();
    assert_eq!(
        alerts[0].annotations["summary"],
        "always firing, for the test"
    );
}
