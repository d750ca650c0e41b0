//! The replay: its Prometheus API against a real Prometheus loaded with the same
//! dataset (the differential test that makes it trustworthy), its refusals in
//! Prometheus' error shape, and its Loki and Jaeger answers against the published
//! API formats.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use aegis_replay::{Dataset, Server};
use aegis_tests::peers::prometheus::Prometheus;
use serde_json::{Value, json};

/// A dev dataset folder (../shared/eval/dev/<name>).
fn dev_dataset(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared/eval/dev")
        .join(name)
}

const TRAIN_TICKET: &str = "nezha-tt-2023-01-29";
const ONLINE_BOUTIQUE: &str = "nezha-ob-2022-08-22";

/// Each dataset is loaded once per test binary (several seconds in debug builds).
async fn dataset(name: &str) -> Arc<Dataset> {
    type Cache = tokio::sync::Mutex<HashMap<String, Arc<Dataset>>>;
    static CACHE: OnceLock<Cache> = OnceLock::new();
    let mut cache = CACHE.get_or_init(Default::default).lock().await;
    if let Some(ds) = cache.get(name) {
        return ds.clone();
    }
    let dir = dev_dataset(name);
    let ds = tokio::task::spawn_blocking(move || Dataset::load(&dir))
        .await
        .unwrap()
        .unwrap_or_else(|e| panic!("dataset {name} loads: {e}"));
    let ds = Arc::new(ds);
    cache.insert(name.to_owned(), ds.clone());
    ds
}

async fn replay(ds: Arc<Dataset>) -> Server {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    Server::start(ds, listener).unwrap()
}

async fn get_json(client: &reqwest::Client, url: &str) -> (u16, Value) {
    let res = client
        .get(url)
        .send()
        .await
        .unwrap_or_else(|e| panic!("GET {url}: {e}"));
    let status = res.status().as_u16();
    let text = res.text().await.unwrap();
    let body = match serde_json::from_str(&text) {
        Ok(v) => v,
        Err(_) => Value::String(text),
    };
    (status, body)
}

fn enc(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

// ---------------------------------------------------------------------------------
// The differential test.

/// Queries an engine would run beyond the dataset's own signals: cAdvisor CPU and
/// memory, request rate, errors and latency, in the shapes catalogs write them.
fn catalog_style_queries(ns: &str) -> Vec<String> {
    let sel = format!("namespace=\"{ns}\"");
    vec![
        format!("sum by (service) (rate(container_cpu_usage_seconds_total{{{sel}}}[5m]))"),
        format!("sum by (service, pod) (irate(container_cpu_usage_seconds_total{{{sel}}}[3m]))"),
        format!(
            "sum without (container) (increase(container_cpu_usage_seconds_total{{{sel}}}[10m]))"
        ),
        format!("max by (service) (container_memory_working_set_bytes{{{sel}}}) / 1024 / 1024"),
        format!("avg by (service) (container_memory_working_set_bytes{{{sel}}})"),
        format!(
            "min by (service) (container_memory_working_set_bytes{{{sel}}}) > 100 * 1024 * 1024"
        ),
        format!("count by (service) (container_memory_working_set_bytes{{{sel}}})"),
        format!("stddev by (service) (container_memory_working_set_bytes{{{sel}}})"),
        format!(
            "delta(container_memory_working_set_bytes{{{sel},service=~\"ts-order.*|frontend|cartservice\"}}[10m])"
        ),
        format!(
            "deriv_free_check_is_not_needed_total{{{sel}}} or on (service) sum by (service) (rate(http_server_requests_total{{{sel}}}[2m]))"
        ),
        format!(
            "sum by (service) (rate(http_server_requests_total{{{sel},code=~\"5..\"}}[2m])) / on (service) group_left sum by (service) (rate(http_server_requests_total{{{sel}}}[2m]))"
        ),
        format!("sum by (service) (rate(http_server_requests_total{{{sel}}}[2m])) > bool 1"),
        format!(
            "topk(3, sum by (service) (rate(container_network_receive_bytes_total{{{sel}}}[2m])))"
        ),
        format!(
            "bottomk(2, sum by (service) (rate(container_network_transmit_bytes_total{{{sel}}}[2m])))"
        ),
        format!(
            "avg_over_time(http_server_request_duration_seconds{{{sel},quantile=\"0.9\"}}[5m])"
        ),
        format!(
            "max_over_time(http_client_request_duration_seconds{{{sel},quantile=\"0.99\"}}[10m]) - min_over_time(http_client_request_duration_seconds{{{sel},quantile=\"0.99\"}}[10m])"
        ),
        format!(
            "quantile by (service) (0.9, http_server_request_duration_seconds{{{sel},quantile=\"0.99\"}})"
        ),
        format!(
            "sum by (service) (rate(container_cpu_usage_seconds_total{{{sel}}}[2m] offset 5m))"
        ),
        format!(
            "sum by (service) (label_replace(rate(container_cpu_usage_seconds_total{{{sel}}}[2m]), \"owner\", \"$1\", \"pod\", \"(.+?)(-[a-z0-9]{{5,10}})?-[a-z0-9]{{5}}\"))"
        ),
        format!(
            "http_server_request_duration_seconds{{{sel},quantile!=\"0.9\",service!~\"ts-a.*\"}} unless on (pod) http_client_request_duration_seconds{{{sel}}}"
        ),
        format!("-sum(rate(http_server_requests_total{{{sel}}}[2m])) + 2 ^ 3 % 5"),
    ]
}

/// The queries compared for a dataset: its signals, catalog-style queries, and the
/// engine's default cluster catalog (metrics a dataset lacks must come back empty in both).
fn queries_for(ds: &Dataset) -> Vec<String> {
    let mut q: Vec<String> = ds.meta.signals.values().cloned().collect();
    q.extend(catalog_style_queries(&ds.meta.namespace));
    q.extend(
        aegis_rca::SignalCatalog::default_cluster()
            .signals
            .into_iter()
            .map(|s| s.query),
    );
    q
}

/// Range windows (start, end, step) in seconds: a case, the start of the data (the
/// extrapolation edge), its end (lookback after the last samples), a long one, an odd step.
fn windows_for(ds: &Dataset) -> Vec<(i64, i64, i64)> {
    let (first, last) = ds.metrics.bounds.expect("the dataset has metrics");
    let (first, last) = (first / 1000, last / 1000);
    let cases = ds.cases();
    let case = &cases[0];
    let mid = &cases[cases.len() / 2];
    vec![
        (case.start.timestamp(), case.end.timestamp(), 15),
        (mid.start.timestamp(), mid.end.timestamp(), 37),
        (first - 600, first + 1200, 30),
        (last - 1200, last + 600, 60),
        (first, first + 4 * 3600, 300),
    ]
}

/// Instants (seconds): inside a case, just after the first samples, and 4 and 6
/// minutes after the last (inside and beyond the 5-minute lookback).
fn instants_for(ds: &Dataset) -> Vec<f64> {
    let (first, last) = ds.metrics.bounds.expect("the dataset has metrics");
    vec![
        ds.cases()[0].end.timestamp() as f64,
        first as f64 / 1000.0 + 61.5,
        last as f64 / 1000.0 + 240.0,
        last as f64 / 1000.0 + 360.0,
    ]
}

fn parse_sample_value(v: &Value) -> f64 {
    match v.as_str().expect("values are strings") {
        "NaN" => f64::NAN,
        "+Inf" => f64::INFINITY,
        "-Inf" => f64::NEG_INFINITY,
        s => s.parse().expect("a float"),
    }
}

/// Equal within 1e-6 relative; 1e-9 absolute covers sums that cancel to ~0, where
/// the order of float additions decides the last bits.
fn close(a: f64, b: f64) -> bool {
    (a.is_nan() && b.is_nan())
        || a == b
        || (a - b).abs() <= 1e-6 * a.abs().max(b.abs())
        || (a - b).abs() < 1e-9
}

/// Series of a `vector` or `matrix` result by label set, as `(ts, value)` points.
fn by_labels(data: &Value) -> BTreeMap<String, Vec<(f64, f64)>> {
    let mut out = BTreeMap::new();
    for s in data["result"].as_array().expect("result is an array") {
        let key = serde_json::to_string(&s["metric"]).unwrap();
        let points: Vec<(f64, f64)> = match s.get("values") {
            Some(values) => values
                .as_array()
                .unwrap()
                .iter()
                .map(|p| (p[0].as_f64().unwrap(), parse_sample_value(&p[1])))
                .collect(),
            None => vec![(
                s["value"][0].as_f64().unwrap(),
                parse_sample_value(&s["value"][1]),
            )],
        };
        assert!(
            out.insert(key, points).is_none(),
            "a label set appears twice in {data}"
        );
    }
    out
}

/// Compares one answer of the replay with Prometheus'; returns what differs.
fn compare(what: &str, prom: &(u16, Value), ours: &(u16, Value)) -> Option<String> {
    let (ps, pb) = prom;
    let (os, ob) = ours;
    if pb["status"] != "success" {
        // Prometheus refused: the replay must refuse the same way.
        return (ps != os || pb["errorType"] != ob["errorType"])
            .then(|| format!("{what}: prometheus {ps} {pb}, replay {os} {ob}"));
    }
    if ob["status"] != "success" {
        return Some(format!("{what}: prometheus answered, replay {os} {ob}"));
    }
    let (pd, od) = (&pb["data"], &ob["data"]);
    if pd["resultType"] != od["resultType"] {
        return Some(format!(
            "{what}: resultType {} vs {}",
            pd["resultType"], od["resultType"]
        ));
    }
    if pd["resultType"] == "scalar" {
        let (p, o) = (
            parse_sample_value(&pd["result"][1]),
            parse_sample_value(&od["result"][1]),
        );
        return (!close(p, o) || pd["result"][0] != od["result"][0])
            .then(|| format!("{what}: scalar {p} vs {o}"));
    }
    let (p, o) = (by_labels(pd), by_labels(od));
    let pk: Vec<&String> = p.keys().collect();
    let ok: Vec<&String> = o.keys().collect();
    if pk != ok {
        let only_p: Vec<_> = pk.iter().filter(|k| !o.contains_key(**k)).take(3).collect();
        let only_o: Vec<_> = ok.iter().filter(|k| !p.contains_key(**k)).take(3).collect();
        return Some(format!(
            "{what}: {} series vs {}; only in prometheus {only_p:?}, only in replay {only_o:?}",
            pk.len(),
            ok.len()
        ));
    }
    for (labels, pp) in &p {
        let op = &o[labels];
        let pts: Vec<f64> = pp.iter().map(|x| x.0).collect();
        let ots: Vec<f64> = op.iter().map(|x| x.0).collect();
        if pts != ots {
            return Some(format!(
                "{what}: {labels}: timestamps differ ({} vs {} points; first {:?} vs {:?})",
                pts.len(),
                ots.len(),
                pts.first(),
                ots.first()
            ));
        }
        if let Some(((t, a), (_, b))) = pp.iter().zip(op).find(|((_, a), (_, b))| !close(*a, *b)) {
            return Some(format!(
                "{what}: {labels} at {t}: prometheus {a}, replay {b}"
            ));
        }
    }
    None
}

async fn differential(name: &str) {
    let ds = dataset(name).await;
    let prom = Prometheus::start_with_dataset(&dev_dataset(name))
        .await
        .unwrap();
    let ours = replay(ds.clone()).await;
    let client = reqwest::Client::new();
    let mut failures = Vec::new();
    let mut compared = 0;
    let mut non_empty = 0;
    for q in queries_for(&ds) {
        for (start, end, step) in windows_for(&ds) {
            let path = format!(
                "/api/v1/query_range?query={}&start={start}&end={end}&step={step}",
                enc(&q)
            );
            let p = get_json(&client, &format!("{}{path}", prom.base_url)).await;
            let o = get_json(&client, &format!("{}{path}", ours.base_url)).await;
            compared += 1;
            non_empty += usize::from(
                p.1["data"]["result"]
                    .as_array()
                    .is_some_and(|r| !r.is_empty()),
            );
            failures.extend(compare(
                &format!("range {q} [{start}, {end}] step {step}"),
                &p,
                &o,
            ));
        }
        for at in instants_for(&ds) {
            let path = format!("/api/v1/query?query={}&time={at}", enc(&q));
            let p = get_json(&client, &format!("{}{path}", prom.base_url)).await;
            let o = get_json(&client, &format!("{}{path}", ours.base_url)).await;
            compared += 1;
            failures.extend(compare(&format!("instant {q} at {at}"), &p, &o));
        }
    }
    // POST form bodies are read as query parameters (clients use them for long queries).
    let q = ds.meta.signals.values().next().unwrap().clone();
    let (start, end, step) = windows_for(&ds)[0];
    let form = format!("query={}&start={start}&end={end}&step={step}", enc(&q));
    let post = |base: String| {
        let client = client.clone();
        let form = form.clone();
        async move {
            let res = client
                .post(format!("{base}/api/v1/query_range"))
                .header("content-type", "application/x-www-form-urlencoded")
                .body(form)
                .send()
                .await
                .unwrap();
            (res.status().as_u16(), res.json::<Value>().await.unwrap())
        }
    };
    let (p, o) = (
        post(prom.base_url.clone()).await,
        post(ours.base_url.clone()).await,
    );
    failures.extend(compare(&format!("POST range {q}"), &p, &o));
    assert!(
        failures.is_empty(),
        "{} of {compared} answers differ from Prometheus; first ones:\n{}",
        failures.len(),
        failures
            .iter()
            .take(15)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    );
    // The comparison must have compared data, not only empty answers.
    assert!(
        non_empty * 3 > compared / 2,
        "only {non_empty} of {compared} range answers held series"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn replay_matches_real_prometheus_on_train_ticket() {
    differential(TRAIN_TICKET).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn replay_matches_real_prometheus_on_online_boutique() {
    differential(ONLINE_BOUTIQUE).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn discovery_endpoints_match_real_prometheus() {
    let ds = dataset(TRAIN_TICKET).await;
    let prom = Prometheus::start_with_dataset(&dev_dataset(TRAIN_TICKET))
        .await
        .unwrap();
    let ours = replay(ds.clone()).await;
    let client = reqwest::Client::new();
    let (first, last) = ds.metrics.bounds.unwrap();
    let range = format!("start={}&end={}", first / 1000, last / 1000);
    for path in [
        format!("/api/v1/labels?{range}"),
        format!("/api/v1/label/service/values?{range}"),
        format!("/api/v1/label/__name__/values?{range}"),
        format!(
            "/api/v1/series?match[]={}&{range}",
            enc("http_server_requests_total{service=\"ts-order-service\"}")
        ),
        format!(
            "/api/v1/label/pod/values?match[]={}&{range}",
            enc("container_memory_working_set_bytes{service=~\"ts-order.*\"}")
        ),
    ] {
        let (ps, mut p) = get_json(&client, &format!("{}{path}", prom.base_url)).await;
        let (os, mut o) = get_json(&client, &format!("{}{path}", ours.base_url)).await;
        assert_eq!((ps, os), (200, 200), "{path}: {p} / {o}");
        for body in [&mut p, &mut o] {
            let data = body["data"].as_array_mut().unwrap();
            data.sort_by_key(|v| v.to_string());
            assert!(!data.is_empty(), "{path} is empty");
        }
        assert_eq!(p["data"], o["data"], "{path}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn unsupported_promql_is_refused_in_prometheus_error_shape() {
    let ds = dataset(TRAIN_TICKET).await;
    let ours = replay(ds).await;
    let client = reqwest::Client::new();
    for q in [
        "max_over_time(rate(container_cpu_usage_seconds_total[1m])[5m:1m])",
        "count_values(\"v\", container_memory_working_set_bytes)",
        "container_memory_working_set_bytes @ 1674981729",
        "predict_linear(container_memory_working_set_bytes[10m], 60)",
        "sum by (service (rate(x[1m]))",
    ] {
        let (status, body) = get_json(
            &client,
            &format!(
                "{}/api/v1/query?query={}&time=1674981729",
                ours.base_url,
                enc(q)
            ),
        )
        .await;
        assert_eq!(status, 400, "{q}: {body}");
        assert_eq!(body["status"], "error", "{q}");
        assert_eq!(body["errorType"], "bad_data", "{q}");
        assert!(
            body["error"].as_str().is_some_and(|e| !e.is_empty()),
            "{q}: {body}"
        );
    }
    // A missing parameter is bad_data too, as in Prometheus.
    let (status, body) = get_json(
        &client,
        &format!("{}/api/v1/query_range?query=up", ours.base_url),
    )
    .await;
    assert_eq!(
        (status, body["errorType"].as_str()),
        (400, Some("bad_data")),
        "{body}"
    );
}

// ---------------------------------------------------------------------------------
// Loki and Jaeger against their published formats.

/// Every error of `instance` against the JSON Schema `schema`.
fn check_shape(what: &str, schema: &Value, instance: &Value) {
    let validator = jsonschema::validator_for(schema).expect("a valid schema");
    let errors: Vec<String> = validator
        .iter_errors(instance)
        .map(|e| format!("{} at {}", e, e.instance_path))
        .take(10)
        .collect();
    assert!(
        errors.is_empty(),
        "{what} does not follow the published format:\n{}",
        errors.join("\n")
    );
}

fn string_map() -> Value {
    json!({"type": "object", "additionalProperties": {"type": "string"}})
}

/// Loki `query_range`/`query` for a log query (grafana.com/docs/loki/latest/reference/loki-http-api).
fn loki_streams_schema() -> Value {
    json!({
        "type": "object",
        "required": ["status", "data"],
        "properties": {
            "status": {"const": "success"},
            "data": {
                "type": "object",
                "required": ["resultType", "result", "stats"],
                "properties": {
                    "resultType": {"const": "streams"},
                    "stats": {"type": "object"},
                    "result": {"type": "array", "items": {
                        "type": "object",
                        "required": ["stream", "values"],
                        "additionalProperties": false,
                        "properties": {
                            "stream": string_map(),
                            "values": {"type": "array", "minItems": 1, "items": {
                                "type": "array", "minItems": 2, "maxItems": 2,
                                "prefixItems": [{"type": "string", "pattern": "^[0-9]+$"}, {"type": "string"}]
                            }}
                        }
                    }}
                }
            }
        }
    })
}

/// Loki metric queries: Prometheus' matrix and vector shapes.
fn loki_metric_schema(result_type: &str) -> Value {
    let point = json!({"type": "array", "minItems": 2, "maxItems": 2,
        "prefixItems": [{"type": "number"}, {"type": "string", "pattern": "^[0-9.e+-]+$"}]});
    let series = if result_type == "matrix" {
        json!({"type": "object", "required": ["metric", "values"], "properties": {"metric": string_map(), "values": {"type": "array", "items": point}}})
    } else {
        json!({"type": "object", "required": ["metric", "value"], "properties": {"metric": string_map(), "value": point}})
    };
    json!({
        "type": "object", "required": ["status", "data"],
        "properties": {"status": {"const": "success"}, "data": {
            "type": "object", "required": ["resultType", "result"],
            "properties": {"resultType": {"const": result_type}, "result": {"type": "array", "items": series}}
        }}
    })
}

fn loki_list_schema(items: Value) -> Value {
    json!({"type": "object", "required": ["status", "data"],
        "properties": {"status": {"const": "success"}, "data": {"type": "array", "items": items}}})
}

/// Jaeger's query-service envelope (jaeger-query `structuredResponse`).
fn jaeger_envelope(data: Value) -> Value {
    json!({
        "type": "object",
        "required": ["data", "total", "limit", "offset", "errors"],
        "properties": {
            "data": data,
            "total": {"type": "integer"},
            "limit": {"type": "integer"},
            "offset": {"type": "integer"},
            "errors": {"type": "null"}
        }
    })
}

/// One trace in Jaeger's UI JSON model (model/json/model.go).
fn jaeger_trace_schema() -> Value {
    let key_value = json!({"type": "object", "required": ["key", "type", "value"], "properties": {
        "key": {"type": "string"},
        "type": {"enum": ["string", "bool", "int64", "float64", "binary"]}
    }});
    json!({
        "type": "object",
        "required": ["traceID", "spans", "processes", "warnings"],
        "properties": {
            "traceID": {"type": "string", "pattern": "^[0-9a-f]+$"},
            "warnings": {"type": ["null", "array"]},
            "processes": {"type": "object", "additionalProperties": {
                "type": "object", "required": ["serviceName", "tags"],
                "properties": {"serviceName": {"type": "string"}, "tags": {"type": "array", "items": key_value}}
            }},
            "spans": {"type": "array", "minItems": 1, "items": {
                "type": "object",
                "required": ["traceID", "spanID", "operationName", "references", "startTime", "duration", "tags", "logs", "processID", "warnings"],
                "properties": {
                    "traceID": {"type": "string"},
                    "spanID": {"type": "string"},
                    "operationName": {"type": "string"},
                    "references": {"type": "array", "items": {
                        "type": "object", "required": ["refType", "traceID", "spanID"],
                        "properties": {"refType": {"enum": ["CHILD_OF", "FOLLOWS_FROM"]}, "traceID": {"type": "string"}, "spanID": {"type": "string"}}
                    }},
                    "startTime": {"type": "integer"},
                    "duration": {"type": "integer"},
                    "tags": {"type": "array", "items": key_value},
                    "logs": {"type": "array"},
                    "processID": {"type": "string"},
                    "warnings": {"type": ["null", "array"]}
                }
            }}
        }
    })
}

#[tokio::test(flavor = "multi_thread")]
async fn loki_answers_follow_the_published_format() {
    let ds = dataset(TRAIN_TICKET).await;
    let ours = replay(ds.clone()).await;
    let client = reqwest::Client::new();
    let base = format!("{}/loki/api/v1", ours.base_url);
    let case = &ds.cases()[0];
    let (start, end) = (
        case.start.timestamp_nanos_opt().unwrap(),
        case.end.timestamp_nanos_opt().unwrap(),
    );

    let sel = "{namespace=\"train-ticket\", app=~\"ts-.*-service\"} |= \"INFO\" != \"DEBUG\"";
    for direction in ["backward", "forward"] {
        let url = format!(
            "{base}/query_range?query={}&start={start}&end={end}&limit=50&direction={direction}",
            enc(sel)
        );
        let (status, body) = get_json(&client, &url).await;
        assert_eq!(status, 200, "{body}");
        check_shape("query_range (streams)", &loki_streams_schema(), &body);
        let mut ts: Vec<i64> = Vec::new();
        for stream in body["data"]["result"].as_array().unwrap() {
            assert!(
                stream["stream"]["app"]
                    .as_str()
                    .unwrap()
                    .ends_with("-service")
            );
            for v in stream["values"].as_array().unwrap() {
                let line = v[1].as_str().unwrap();
                assert!(line.contains("INFO") && !line.contains("DEBUG"), "{line}");
                let t: i64 = v[0].as_str().unwrap().parse().unwrap();
                assert!((start..end).contains(&t), "{t} outside [{start}, {end})");
                ts.push(t);
            }
        }
        assert_eq!(ts.len(), 50, "limit is honoured and the window holds more");
        ts.sort();
        // The newest 50 backward, the oldest 50 forward: check against the whole window.
        let (_, all) = get_json(
            &client,
            &format!(
                "{base}/query_range?query={}&start={start}&end={end}&limit=5000&direction={direction}",
                enc(sel)
            ),
        )
        .await;
        let mut every: Vec<i64> = all["data"]["result"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|s| {
                s["values"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|v| v[0].as_str().unwrap().parse::<i64>().unwrap())
            })
            .collect();
        every.sort();
        let expected: Vec<i64> = if direction == "backward" {
            every[every.len() - 50..].to_vec()
        } else {
            every[..50].to_vec()
        };
        assert_eq!(ts, expected, "{direction}");
    }

    let count =
        "sum by (app) (count_over_time({namespace=\"train-ticket\"} |~ \"(?i)error\" [5m]))";
    let (status, body) = get_json(
        &client,
        &format!(
            "{base}/query_range?query={}&start={start}&end={end}&step=60",
            enc(count)
        ),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    check_shape("query_range (matrix)", &loki_metric_schema("matrix"), &body);
    let (status, body) = get_json(
        &client,
        &format!("{base}/query?query={}&time={end}", enc(count)),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    check_shape("query (vector)", &loki_metric_schema("vector"), &body);

    let (_, labels) = get_json(&client, &format!("{base}/labels?start={start}&end={end}")).await;
    check_shape(
        "labels",
        &loki_list_schema(json!({"type": "string"})),
        &labels,
    );
    assert!(labels["data"].as_array().unwrap().contains(&json!("app")));
    let (_, values) = get_json(
        &client,
        &format!("{base}/label/app/values?start={start}&end={end}"),
    )
    .await;
    check_shape(
        "label values",
        &loki_list_schema(json!({"type": "string"})),
        &values,
    );
    assert!(values["data"].as_array().unwrap().len() > 1);
    let (_, series) = get_json(
        &client,
        &format!(
            "{base}/series?match[]={}&start={start}&end={end}",
            enc("{app=\"ts-travel-service\"}")
        ),
    )
    .await;
    check_shape("series", &loki_list_schema(string_map()), &series);
    assert!(
        series["data"]
            .as_array()
            .unwrap()
            .iter()
            .all(|s| s["app"] == "ts-travel-service")
    );

    // Unsupported LogQL: 400 with Loki's plain-text message.
    for bad in ["{app=\"x\"} | json", "{app=~\".*\"}", "{app=\"x\""] {
        let (status, body) =
            get_json(&client, &format!("{base}/query_range?query={}", enc(bad))).await;
        assert_eq!(status, 400, "{bad}");
        assert!(
            body.as_str().is_some_and(|m| !m.is_empty()),
            "{bad}: {body}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn jaeger_answers_follow_the_published_format() {
    let ds = dataset(TRAIN_TICKET).await;
    let ours = replay(ds.clone()).await;
    let client = reqwest::Client::new();
    let base = format!("{}/api", ours.base_url);

    let (_, services) = get_json(&client, &format!("{base}/services")).await;
    check_shape(
        "services",
        &jaeger_envelope(json!({"type": "array", "items": {"type": "string"}})),
        &services,
    );
    assert!(
        services["data"]
            .as_array()
            .unwrap()
            .contains(&json!("ts-gateway-service"))
    );
    let (_, ops) = get_json(
        &client,
        &format!("{base}/services/ts-gateway-service/operations"),
    )
    .await;
    check_shape(
        "operations",
        &jaeger_envelope(json!({"type": "array", "items": {"type": "string"}, "minItems": 1})),
        &ops,
    );

    let case = &ds.cases()[0];
    let (start, end) = (case.start.timestamp_micros(), case.end.timestamp_micros());
    let url = format!(
        "{base}/traces?service=ts-gateway-service&start={start}&end={end}&limit=5&minDuration=1ms"
    );
    let (status, found) = get_json(&client, &url).await;
    assert_eq!(status, 200, "{found}");
    check_shape(
        "trace search",
        &jaeger_envelope(json!({"type": "array", "items": jaeger_trace_schema()})),
        &found,
    );
    let traces = found["data"].as_array().unwrap();
    assert_eq!(traces.len(), 5);
    for trace in traces {
        let processes = trace["processes"].as_object().unwrap();
        let spans = trace["spans"].as_array().unwrap();
        assert!(
            spans
                .iter()
                .all(|s| processes.contains_key(s["processID"].as_str().unwrap()))
        );
        assert!(spans.iter().any(|s| {
            processes[s["processID"].as_str().unwrap()]["serviceName"] == "ts-gateway-service"
                && (start..=end).contains(&s["startTime"].as_i64().unwrap())
                && s["duration"].as_i64().unwrap() >= 1000
        }));
    }
    let id = traces[0]["traceID"].as_str().unwrap();
    let (_, one) = get_json(&client, &format!("{base}/traces/{id}")).await;
    check_shape(
        "trace by id",
        &jaeger_envelope(
            json!({"type": "array", "items": jaeger_trace_schema(), "minItems": 1, "maxItems": 1}),
        ),
        &one,
    );
    assert_eq!(one["data"][0]["traceID"], id);

    let (status, missing) = get_json(&client, &format!("{base}/traces/00000000deadbeef")).await;
    assert_eq!(status, 404);
    assert_eq!(missing["errors"][0]["code"], 404, "{missing}");

    let (_, deps) = get_json(
        &client,
        &format!("{base}/dependencies?endTs={}&lookback=3600000", end / 1000),
    )
    .await;
    check_shape(
        "dependencies",
        &jaeger_envelope(json!({"type": "array", "minItems": 1, "items": {
            "type": "object", "required": ["parent", "child", "callCount"],
            "properties": {"parent": {"type": "string"}, "child": {"type": "string"}, "callCount": {"type": "integer"}}
        }})),
        &deps,
    );

    let (status, body) = get_json(&client, &format!("{base}/traces?limit=5")).await;
    assert_eq!(status, 400, "a search needs a service: {body}");
    assert_eq!(body["errors"][0]["code"], 400);
}

/// A tiny dataset written to a folder: one failing span, two log streams.
fn tiny_dataset(dir: &Path) {
    use std::io::Write;
    let gz = |name: &str, text: &str| {
        let f = std::fs::File::create(dir.join(name)).unwrap();
        let mut w = flate2::write::GzEncoder::new(f, flate2::Compression::fast());
        w.write_all(text.as_bytes()).unwrap();
        w.finish().unwrap();
    };
    std::fs::write(
        dir.join("dataset.json"),
        r#"{"id": "tiny", "system": "shop", "namespace": "shop", "start": "2024-01-01T00:00:00Z", "end": "2024-01-01T01:00:00Z",
            "services": ["front", "cart"], "signals": {"request_rate": "sum by (service) (rate(http_server_requests_total[2m]))"},
            "graph": [{"from": "front", "to": "cart"}], "extra": "ignored"}"#,
    )
    .unwrap();
    std::fs::write(dir.join("cases.jsonl"), "{\"id\": \"c1\", \"question\": \"slow?\", \"start\": \"2024-01-01T00:00:00Z\", \"end\": \"2024-01-01T00:15:00Z\"}\n").unwrap();
    std::fs::write(dir.join("truth.jsonl"), "{\"id\": \"c1\", \"service\": \"cart\", \"fault\": \"cpu\", \"fault_start\": \"2024-01-01T00:05:00Z\"}\n").unwrap();
    let t0 = 1_704_067_200i64;
    let mut om = String::from("# TYPE http_server_requests counter\n");
    for i in 0..30 {
        om += &format!(
            "http_server_requests_total{{service=\"cart\"}} {} {}\n",
            i * 60,
            t0 + i * 60
        );
    }
    om += "# EOF\n";
    gz("metrics.om.gz", &om);
    gz(
        "traces.jsonl.gz",
        &format!(
            "{{\"trace_id\": \"abc123\", \"span_id\": \"s1\", \"parent_span_id\": null, \"service\": \"front\", \"operation\": \"GET /\", \"start_us\": {}, \"duration_us\": 900, \"error\": null, \"attributes\": {{\"pod\": \"front-1\"}}}}\n\
             {{\"trace_id\": \"abc123\", \"span_id\": \"s2\", \"parent_span_id\": \"s1\", \"service\": \"cart\", \"operation\": \"GetCart\", \"start_us\": {}, \"duration_us\": 500, \"error\": true, \"attributes\": {{\"pod\": \"cart-1\"}}}}\n",
            t0 * 1_000_000 + 10,
            t0 * 1_000_000 + 20
        ),
    );
    gz(
        "logs.jsonl.gz",
        &format!(
            "{{\"ts_ns\": {}, \"labels\": {{\"app\": \"cart\"}}, \"line\": \"ERROR cart failed\"}}\n{{\"ts_ns\": {}, \"labels\": {{\"app\": \"front\"}}, \"line\": \"ok\"}}\n",
            t0 * 1_000_000_000 + 5,
            t0 * 1_000_000_000 + 6
        ),
    );
}

#[tokio::test]
async fn failing_spans_carry_error_true_and_truth_is_read_apart() {
    let dir = tempfile::tempdir().unwrap();
    tiny_dataset(dir.path());
    let ds = Dataset::load(dir.path()).unwrap();
    assert_eq!(ds.meta.graph.len(), 1);
    assert_eq!(ds.cases().len(), 1);
    assert_eq!(ds.truth().unwrap()[0].service, "cart");
    let ours = replay(Arc::new(ds)).await;
    let client = reqwest::Client::new();
    let t0 = 1_704_067_200i64 * 1_000_000;
    let tags = enc("{\"error\":\"true\"}");
    let url = format!(
        "{}/api/traces?service=cart&tags={tags}&start={t0}&end={}",
        ours.base_url,
        t0 + 60_000_000
    );
    let (_, found) = get_json(&client, &url).await;
    let spans = found["data"][0]["spans"].as_array().unwrap();
    let cart = spans
        .iter()
        .find(|s| s["operationName"] == "GetCart")
        .unwrap();
    assert!(
        cart["tags"]
            .as_array()
            .unwrap()
            .contains(&json!({"key": "error", "type": "bool", "value": true}))
    );
    assert_eq!(
        cart["references"][0],
        json!({"refType": "CHILD_OF", "traceID": "abc123", "spanID": "s1"})
    );
    let front = spans
        .iter()
        .find(|s| s["operationName"] == "GET /")
        .unwrap();
    assert!(
        !front["tags"]
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t["key"] == "error")
    );
    // No failing span of front: the same search for front finds nothing.
    let url = format!(
        "{}/api/traces?service=front&tags={tags}&start={t0}&end={}",
        ours.base_url,
        t0 + 60_000_000
    );
    let (_, none) = get_json(&client, &url).await;
    assert_eq!(none["data"], json!([]));
    let (_, deps) = get_json(
        &client,
        &format!(
            "{}/api/dependencies?endTs={}&lookback=60000",
            ours.base_url,
            t0 / 1000 + 1000
        ),
    )
    .await;
    assert_eq!(
        deps["data"],
        json!([{"parent": "front", "child": "cart", "callCount": 1}])
    );
}
