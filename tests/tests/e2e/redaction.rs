//! Peers that echo the credentials they were sent (proxies and gateways answer 401
//! with the `Authorization` they got; a token endpoint may quote the app secret): no
//! secret, in any form, reaches a report, a stored view, a log line or the printed
//! configuration (issue 28, point 3).

use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aegis_tests::process::{aegis_bin, free_port};
use aegis_tests::vars::{Vars, serve_alone};
use axum::http::{HeaderMap, StatusCode, Uri, header};
use axum::response::IntoResponse;
use chrono::Utc;
use serde_json::{Value, json};
use tokio::io::AsyncReadExt;

const PROMETHEUS_TOKEN: &str = "pr0m/t0ken+echo=1";
const LOKI_USER: &str = "reader";
const LOKI_PASSWORD: &str = "l0ki-p@ss/word";
const JAEGER_TOKEN: &str = "jaeger-t0ken-echo-2";
const FEISHU_SECRET: &str = "f3ishu/app+secret=9";

/// Each secret as a request carries it or a peer may echo it: plain, base64 (the
/// alphabets agree for these values; padded and not), percent-encoded, and Loki's
/// basic-auth pair as its header carries it.
const FORMS: &[&str] = &[
    PROMETHEUS_TOKEN,
    "cHIwbS90MGtlbitlY2hvPTE",
    "pr0m%2Ft0ken%2Becho%3D1",
    LOKI_PASSWORD,
    "bDBraS1wQHNzL3dvcmQ",
    "l0ki-p%40ss%2Fword",
    "cmVhZGVyOmwwa2ktcEBzcy93b3Jk",
    JAEGER_TOKEN,
    "amFlZ2VyLXQwa2VuLWVjaG8tMg",
    FEISHU_SECRET,
    "ZjNpc2h1L2FwcCtzZWNyZXQ9OQ",
    "f3ishu%2Fapp%2Bsecret%3D9",
];

fn assert_clean(what: &str, text: &str) {
    for form in FORMS {
        assert!(!text.contains(form), "{what} leaks {form}:\n{text}");
    }
}

fn percent(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// A gateway that refuses everything with 401, echoing the `Authorization` it got
/// (whole, its credential alone, and form-encoded) and the query, in each backend's
/// error shape: Prometheus's JSON, Loki's text, Jaeger's `errors`.
async fn echoing_gateway() -> String {
    async fn refuse(uri: Uri, headers: HeaderMap) -> axum::response::Response {
        let auth = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("(none)")
            .to_string();
        let credential = auth.split_once(' ').map_or(auth.as_str(), |(_, c)| c);
        let text = format!(
            "denied {auth}; credential {credential}; encoded {}; query {}",
            percent(credential),
            uri.query().unwrap_or("")
        );
        let path = uri.path();
        if path.starts_with("/loki/") {
            (StatusCode::UNAUTHORIZED, text).into_response()
        } else if path.starts_with("/api/v1/") {
            let body = json!({"status": "error", "errorType": "unauthorized", "error": text});
            (StatusCode::UNAUTHORIZED, axum::Json(body)).into_response()
        } else {
            let body = json!({"data": null, "errors": [{"code": 401, "msg": text}]});
            (StatusCode::UNAUTHORIZED, axum::Json(body)).into_response()
        }
    }
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        axum::serve(listener, axum::Router::new().fallback(refuse))
            .await
            .unwrap()
    });
    url
}

/// Every file under `dir`, read as text.
fn files_under(dir: &std::path::Path) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(files_under(&path));
        } else {
            let text = String::from_utf8_lossy(&std::fs::read(&path).unwrap()).into_owned();
            out.push((path.display().to_string(), text));
        }
    }
    out
}

#[tokio::test]
async fn backends_echoing_their_credentials_leak_nothing_into_the_report() {
    let gateway = echoing_gateway().await;
    let data = tempfile::tempdir().unwrap();
    let loki_auth = format!("basic:{LOKI_USER}:{LOKI_PASSWORD}");
    let prometheus_auth = format!("bearer:{PROMETHEUS_TOKEN}");
    let jaeger_auth = format!("bearer:{JAEGER_TOKEN}");
    let vars = Vars::of(&[
        ("AEGIS_DATA_DIR", data.path().to_str().unwrap()),
        ("PROMETHEUS_BASE_URL", &gateway),
        ("AEGIS_PROMETHEUS_AUTH", &prometheus_auth),
        ("LOKI_BASE_URL", &gateway),
        ("AEGIS_LOKI_AUTH", &loki_auth),
        ("JAEGER_BASE_URL", &gateway),
        ("AEGIS_JAEGER_AUTH", &jaeger_auth),
        ("FEISHU_APP_ID", "cli_echo"),
        ("FEISHU_APP_SECRET", FEISHU_SECRET),
    ]);
    let url = serve_alone("analyze", &vars.context()).await;

    let tz = chrono::FixedOffset::east_opt(8 * 3600).unwrap();
    let end = Utc::now().with_timezone(&tz);
    let start = end - chrono::Duration::minutes(15);
    let http = reqwest::Client::new();
    let res = http
        .post(format!("{url}/api/ops/analyze"))
        .json(&json!({
            "description": "checkout errors are up",
            "time_range": {
                "start": start.format("%Y-%m-%d %H:%M:%S").to_string(),
                "end": end.format("%Y-%m-%d %H:%M:%S").to_string(),
            },
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let answer = res.text().await.unwrap();
    assert_clean("the analyze answer", &answer);
    // The gateway was reached and what it said is in the report, masked.
    assert!(answer.contains("[REDACTED]"), "{answer}");
    assert!(answer.contains("401"), "{answer}");

    let id = serde_json::from_str::<Value>(&answer).unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    for accept in ["application/json", "text/markdown", "text/html"] {
        let res = http
            .get(format!("{url}/api/ops/analyses/{id}"))
            .header(header::ACCEPT, accept)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200, "{accept}");
        assert_clean(accept, &res.text().await.unwrap());
    }
    let stored = files_under(data.path());
    assert!(
        stored.iter().any(|(path, _)| path.ends_with(".md")),
        "{stored:?}"
    );
    for (path, text) in &stored {
        assert_clean(path, text);
    }
}

/// A Feishu token endpoint that refuses the app, quoting the secret it was sent
/// (plain, base64 and form-encoded) in its message; counts its calls.
async fn quoting_token_endpoint(calls: Arc<Mutex<u32>>) -> String {
    // Only the token endpoint: the long connection's discovery is the bridge's own.
    let token = move |body: axum::body::Bytes| {
        let calls = calls.clone();
        async move {
            *calls.lock().unwrap() += 1;
            let sent: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
            let secret = sent["app_secret"].as_str().unwrap_or("");
            let msg = format!(
                "app secret {secret} ({}, {}) does not match the app",
                "ZjNpc2h1L2FwcCtzZWNyZXQ9OQ==",
                percent(secret)
            );
            axum::Json(json!({"code": 10014, "msg": msg}))
        }
    };
    let app = axum::Router::new().route(
        "/open-apis/auth/v3/tenant_access_token/internal",
        axum::routing::post(token),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    url
}

#[tokio::test]
async fn a_token_endpoint_quoting_the_app_secret_leaks_nothing_into_the_logs() {
    let calls = Arc::new(Mutex::new(0));
    let feishu = quoting_token_endpoint(calls.clone()).await;
    let data = tempfile::tempdir().unwrap();
    let port = free_port().unwrap();
    let mut child = tokio::process::Command::new(aegis_bin().unwrap())
        .args(["dev", "--port", &port.to_string()])
        .env("AEGIS_DATA_DIR", data.path())
        .env("FEISHU_BASE_URL", &feishu)
        .env("FEISHU_APP_ID", "cli_echo")
        .env("FEISHU_APP_SECRET", FEISHU_SECRET)
        .env("FEISHU_DEFAULT_CHAT_ID", "oc_oncall")
        .env("AEGIS_AUTO_ANALYZE_SEVERITIES", "none-in-this-test")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let logs = Arc::new(Mutex::new(String::new()));
    for mut pipe in [
        Box::new(child.stdout.take().unwrap()) as Box<dyn tokio::io::AsyncRead + Send + Unpin>,
        Box::new(child.stderr.take().unwrap()),
    ] {
        let logs = logs.clone();
        tokio::spawn(async move {
            let mut buf = vec![0u8; 8192];
            while let Ok(n) = pipe.read(&mut buf).await {
                if n == 0 {
                    break;
                }
                logs.lock()
                    .unwrap()
                    .push_str(&String::from_utf8_lossy(&buf[..n]));
            }
        });
    }
    let base = format!("http://127.0.0.1:{port}");
    let http = reqwest::Client::new();
    let started = Instant::now();
    while !http
        .get(format!("{base}/healthz"))
        .send()
        .await
        .is_ok_and(|r| r.status().is_success())
    {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "aegis dev did not start"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    let alert = json!({
        "version": "4", "groupKey": "{}:{alertname=\"Echo\"}", "truncatedAlerts": 0,
        "status": "firing", "receiver": "aegis", "groupLabels": {"alertname": "Echo"},
        "commonLabels": {"alertname": "Echo"}, "commonAnnotations": {},
        "externalURL": "http://alertmanager:9093",
        "alerts": [{
            "status": "firing",
            "labels": {"alertname": "Echo", "severity": "warning", "namespace": "shop"},
            "annotations": {"summary": "echo"},
            "startsAt": "2026-11-25T10:00:00Z", "endsAt": "0001-01-01T00:00:00Z",
            "generatorURL": "http://prometheus:9090/graph", "fingerprint": "echo-0"
        }]
    });
    let res = http
        .post(format!("{base}/alertmanager/webhook"))
        .json(&alert)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);

    // The notifier tries to post the card, asks for a token and is refused (and the
    // broker retries): wait for a few refusals in the logs.
    let started = Instant::now();
    loop {
        let refusals = logs
            .lock()
            .unwrap()
            .matches("Feishu refused the tenant token request")
            .count();
        if refusals >= 2 {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "no refusal logged ({} token calls):\n{}",
            calls.lock().unwrap(),
            logs.lock().unwrap()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    child.start_kill().unwrap();
    let _ = child.wait().await;
    let logs = logs.lock().unwrap().clone();
    assert_clean("the logs", &logs);
    assert!(logs.contains("app secret [REDACTED]"), "{logs}");
}

#[tokio::test]
async fn config_check_masks_credentials_inside_urls() {
    let out = aegis_tests::process::run(
        &["config", "check"],
        &[
            (
                "LOKI_BASE_URL",
                "http://reader:p4ss-in-url@loki:3100/?api_key=k3y-in-url&tenant=shop",
            ),
            (
                "PROMETHEUS_BASE_URL",
                "http://prometheus:9090/?access_token=t0ken-in-url",
            ),
        ],
    )
    .await
    .unwrap();
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    for secret in ["p4ss-in-url", "k3y-in-url", "t0ken-in-url"] {
        assert!(
            !out.stdout.contains(secret),
            "{secret} printed:\n{}",
            out.stdout
        );
    }
    let loki = out
        .stdout
        .lines()
        .find(|l| l.starts_with("LOKI_BASE_URL"))
        .unwrap();
    assert!(
        loki.contains("http://reader:[REDACTED]@loki:3100/?api_key=[REDACTED]&tenant=shop"),
        "{loki}"
    );
}
