//! Every route of the OpenAPI document, through `aegis dev` and through the function
//! that owns it served alone: the same request gets the same documented status.

use std::collections::BTreeMap;
use std::time::Duration;

use aegis_store::{Folder, ReportLinks, ReportStore};
use aegis_tests::{process, reports};
use reqwest::{Method, StatusCode};
use serde_json::Value;

/// One request to send to a route, and the status it must get.
struct Probe {
    method: Method,
    path: String,
    body: Option<&'static str>,
    expect: StatusCode,
}

/// The requests for `template` (a path of the document): the well-formed request
/// that succeeds where one can without backends, and the malformed ones.
fn probes(method: &Method, template: &str, known_id: &str) -> Vec<Probe> {
    let probe = |path: &str, body, expect| Probe {
        method: method.clone(),
        path: path.to_string(),
        body,
        expect,
    };
    match (method.as_str(), template) {
        ("GET", "/api/ops/analyses/{id}") => vec![
            probe(
                &format!("/api/ops/analyses/{known_id}"),
                None,
                StatusCode::OK,
            ),
            probe(
                "/api/ops/analyses/no-such-report",
                None,
                StatusCode::NOT_FOUND,
            ),
            probe("/api/ops/analyses/a%20b%3F", None, StatusCode::BAD_REQUEST),
        ],
        ("GET", "/api/ops/incidents/{id}") => vec![
            probe(
                "/api/ops/incidents/inc-20261207T100000Z-00000000",
                None,
                StatusCode::NOT_FOUND,
            ),
            probe(
                "/api/ops/incidents/not-an-incident",
                None,
                StatusCode::BAD_REQUEST,
            ),
        ],
        ("GET", "/api/ops/analyses" | "/api/ops/dead-letters" | "/api/ops/incidents") => vec![
            probe(template, None, StatusCode::OK),
            probe(
                &format!("{template}?limit=0"),
                None,
                StatusCode::BAD_REQUEST,
            ),
        ],
        ("POST", "/api/ops/analyze" | "/api/ops/analyze/stream") => vec![
            probe(template, Some("{}"), StatusCode::UNPROCESSABLE_ENTITY),
            probe(template, Some("not json"), StatusCode::BAD_REQUEST),
        ],
        ("POST", "/alertmanager/webhook") => {
            vec![probe(
                template,
                Some(r#"{"version":"3"}"#),
                StatusCode::BAD_REQUEST,
            )]
        }
        ("GET", "/healthz") => vec![probe(template, None, StatusCode::OK)],
        _ => panic!("{method} {template} is in the document but has no probe here; add one"),
    }
}

/// The function that owns `path` (every function answers `/healthz`; analyze is one).
fn owner(path: &str) -> &'static str {
    aegis_cli::functions::PUBLIC_ROUTES
        .iter()
        .find(|(p, _)| *p == path)
        .map(|(_, f)| *f)
        .unwrap_or("analyze")
}

/// `name` alone, as `aegis serve` mounts it, on a free port; its base URL.
async fn serve_alone(name: &str, vars: &[(&str, &str)]) -> String {
    aegis_tests::vars::serve_alone(name, &aegis_tests::vars::Vars::of(vars).context()).await
}

async fn send(http: &reqwest::Client, base: &str, probe: &Probe) -> (StatusCode, String) {
    let mut req = http.request(probe.method.clone(), format!("{base}{}", probe.path));
    if let Some(body) = probe.body {
        req = req.header("content-type", "application/json").body(body);
    }
    let res = req.send().await.unwrap();
    (res.status(), res.text().await.unwrap())
}

#[tokio::test]
async fn every_openapi_route_answers_as_documented_through_dev_and_each_function_alone() {
    let data = tempfile::tempdir().unwrap();
    let data_dir = data.path().display().to_string();
    let vars = [("AEGIS_DATA_DIR", data_dir.as_str())];
    let store = Folder::open(data.path(), Duration::from_secs(86400), ReportLinks::None)
        .await
        .unwrap();
    let sample = reports::sample("rep-routes");
    store
        .put_report(&sample, aegis_view::views(&sample))
        .await
        .unwrap();

    let (dev, _dev_data) = process::dev(&vars, None).await.unwrap();
    let http = reqwest::Client::new();
    let doc = get_json(&http, &dev.url("/api/openapi.json")).await;
    let mut alone: BTreeMap<&str, String> = BTreeMap::new();
    let paths = doc["paths"].as_object().expect("the document has paths");
    assert!(paths.len() >= 7, "{paths:?}");
    let mut probed = 0;
    for (template, operations) in paths {
        for (method, operation) in operations.as_object().unwrap() {
            let method: Method = method.to_uppercase().parse().unwrap();
            let documented: Vec<&String> =
                operation["responses"].as_object().unwrap().keys().collect();
            let name = owner(template);
            if !alone.contains_key(name) {
                alone.insert(name, serve_alone(name, &vars).await);
            }
            for probe in probes(&method, template, "rep-routes") {
                let via_dev = send(&http, &dev.url(""), &probe).await;
                let via_fn = send(&http, &alone[name], &probe).await;
                let what = format!("{method} {} ({name})", probe.path);
                assert_eq!(
                    via_dev.0, probe.expect,
                    "{what} through aegis dev: {}",
                    via_dev.1
                );
                assert_eq!(via_fn.0, probe.expect, "{what} alone: {}", via_fn.1);
                assert!(
                    documented.contains(&&probe.expect.as_u16().to_string()),
                    "{what}: {} is not documented ({documented:?})",
                    probe.expect
                );
                if probe.expect.is_client_error() {
                    assert!(!via_dev.1.trim().is_empty(), "{what}: a 4xx says why");
                }
                probed += 1;
            }
        }
    }
    assert!(probed >= 12, "{probed}");
    dev.shutdown().await.unwrap();
}

/// A range longer than the backends may be asked for, or one in the future, is refused
/// before any work with a 400 that names the limit, through `aegis dev` as through
/// analyze-stream; nothing is stored.
#[tokio::test]
async fn over_long_and_future_ranges_are_refused_naming_the_limit() {
    let (dev, _data) = process::dev(&[], None).await.unwrap();
    let http = reqwest::Client::new();
    let now = chrono::Utc::now();
    let cases = [
        (
            serde_json::json!({"description": "why", "time_range": {"start": "1970-01-01T00:00:00Z", "end": now.to_rfc3339()}}),
            "AEGIS_TOOL_MAX_RANGE",
        ),
        (
            serde_json::json!({"description": "why", "time_range": {
                "start": (now + chrono::Duration::hours(1)).to_rfc3339(),
                "end": (now + chrono::Duration::hours(2)).to_rfc3339()}}),
            "in the future",
        ),
    ];
    for path in ["/api/ops/analyze", "/api/ops/analyze/stream"] {
        for (body, says) in &cases {
            let res = http.post(dev.url(path)).json(body).send().await.unwrap();
            assert_eq!(res.status(), StatusCode::BAD_REQUEST, "{path} {body}");
            let answer: Value = res.json().await.unwrap();
            assert_eq!(answer["field"], "time_range", "{answer}");
            assert!(
                answer["error"].as_str().unwrap().contains(says),
                "{path}: {answer}"
            );
        }
    }
    let listed = get_json(&http, &dev.url("/api/ops/analyses")).await;
    assert_eq!(listed["analyses"].as_array().unwrap().len(), 0, "{listed}");
}

async fn get_json(http: &reqwest::Client, url: &str) -> Value {
    let res = http.get(url).send().await.unwrap();
    assert!(res.status().is_success(), "GET {url}: {}", res.status());
    res.json().await.unwrap()
}
