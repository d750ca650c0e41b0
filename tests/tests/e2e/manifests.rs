//! manifests flow: the deployment manifests (`knative/`, `k8s/`) checked offline, with
//! no cluster and no network. Every document parses and every kustomization lists what
//! exists; the Knative objects validate against the Knative JSON schemas in
//! `tests/schemas/knative` (copied with their licence notice); and what a schema cannot
//! see is checked against the code: Trigger filters name event types the code emits and
//! the subscriber's router really answers; no reply loops back to its sender; timeouts
//! agree with the analysis budget and the stream heartbeat; annotations are well-formed;
//! every variable a manifest sets is one the config module reads; no secret value is
//! committed; and `aegis dev` routes by these same Triggers.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::Duration;

use aegis_broker::{Manifests, parse_iso8601};
use aegis_core::config::VARIABLES;
use aegis_core::events::{EXT_ORIGIN, EXT_OUTCOME, EventType, Origin, Outcome};
use aegis_runtime::Context;
use axum::body::Body;
use http::{Request, StatusCode};
use serde_json::Value;
use tower::ServiceExt;

/// The repository root (this crate lives in `tests/`).
fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ has a parent")
        .to_path_buf()
}

/// Every file under `dir` (relative to the root), recursively, in path order.
fn files_under(dir: &str) -> Vec<PathBuf> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(&path, out);
            } else {
                out.push(path);
            }
        }
    }
    let mut out = Vec::new();
    walk(&root().join(dir), &mut out);
    out.sort();
    out
}

fn is_yaml(path: &Path) -> bool {
    matches!(
        path.extension().and_then(|e| e.to_str()),
        Some("yaml" | "yml")
    )
}

/// One YAML document: the file it came from (relative to the root) and its value.
struct Doc {
    file: String,
    value: Value,
}

impl Doc {
    fn api_version(&self) -> &str {
        self.value["apiVersion"].as_str().unwrap_or("")
    }
    fn kind(&self) -> &str {
        self.value["kind"].as_str().unwrap_or("")
    }
    fn name(&self) -> &str {
        self.value["metadata"]["name"].as_str().unwrap_or("")
    }
    fn is(&self, api_version: &str, kind: &str) -> bool {
        self.api_version() == api_version && self.kind() == kind
    }
}

/// Every YAML document under `knative/` and `k8s/`; panics naming the file and the
/// parser's message when one does not parse.
fn documents() -> Vec<Doc> {
    let mut docs = Vec::new();
    for dir in ["knative", "k8s"] {
        for path in files_under(dir).into_iter().filter(|p| is_yaml(p)) {
            let file = path.strip_prefix(root()).unwrap().display().to_string();
            let text = std::fs::read_to_string(&path).unwrap();
            for doc in serde_yaml_ng::Deserializer::from_str(&text) {
                let yaml = <serde_yaml_ng::Value as serde::Deserialize>::deserialize(doc)
                    .unwrap_or_else(|e| panic!("{file}: not valid YAML: {e}"));
                if yaml.is_null() {
                    continue;
                }
                let value = serde_json::to_value(&yaml)
                    .unwrap_or_else(|e| panic!("{file}: not a JSON-compatible document: {e}"));
                docs.push(Doc {
                    file: file.clone(),
                    value,
                });
            }
        }
    }
    docs
}

const SERVICE: (&str, &str) = ("serving.knative.dev/v1", "Service");
const TRIGGER: (&str, &str) = ("eventing.knative.dev/v1", "Trigger");

/// The Knative Services, by name.
fn services(docs: &[Doc]) -> BTreeMap<String, &Value> {
    docs.iter()
        .filter(|d| d.is(SERVICE.0, SERVICE.1))
        .map(|d| (d.name().to_string(), &d.value))
        .collect()
}

fn triggers(docs: &[Doc]) -> Vec<&Doc> {
    docs.iter().filter(|d| d.is(TRIGGER.0, TRIGGER.1)).collect()
}

/// The exact `type` a Trigger filters on: the GA `filter.attributes.type`, or an
/// `exact: {type: ...}` among `filters` (which win when non-empty, as in Knative).
fn trigger_type(trigger: &Value) -> Option<&str> {
    let spec = &trigger["spec"];
    if let Some(filters) = spec["filters"].as_array().filter(|f| !f.is_empty()) {
        return filters.iter().find_map(exact_type);
    }
    spec["filter"]["attributes"]["type"].as_str()
}

fn exact_type(expr: &Value) -> Option<&str> {
    if let Some(t) = expr["exact"]["type"].as_str() {
        return Some(t);
    }
    expr["all"].as_array()?.iter().find_map(exact_type)
}

fn subscriber(trigger: &Value) -> &str {
    trigger["spec"]["subscriber"]["ref"]["name"]
        .as_str()
        .unwrap_or("")
}

fn seconds(value: &Value) -> Option<u64> {
    value.as_u64()
}

#[test]
fn every_manifest_parses_and_kustomizations_list_existing_files() {
    let docs = documents();
    for doc in &docs {
        assert!(
            !doc.api_version().is_empty() && !doc.kind().is_empty(),
            "{}: a document without apiVersion/kind",
            doc.file
        );
    }
    for dir in ["knative", "k8s"] {
        let kustomization = root().join(dir).join("kustomization.yaml");
        let text = std::fs::read_to_string(&kustomization).unwrap_or_else(|e| {
            panic!("{dir}/kustomization.yaml is missing ({e}): `kubectl apply -k {dir}` needs it")
        });
        let k: serde_yaml_ng::Value = serde_yaml_ng::from_str(&text).unwrap();
        let listed: BTreeSet<String> = k["resources"]
            .as_sequence()
            .unwrap_or_else(|| panic!("{dir}/kustomization.yaml has no resources"))
            .iter()
            .map(|r| r.as_str().unwrap().to_string())
            .collect();
        for file in &listed {
            assert!(
                root().join(dir).join(file).is_file(),
                "{dir}/kustomization.yaml lists {file}, which does not exist"
            );
        }
        // And nothing is forgotten: every manifest of the folder is listed, except
        // templates (the Secret template is filled in and applied by hand, on purpose).
        for path in files_under(dir).into_iter().filter(|p| is_yaml(p)) {
            let rel = path
                .strip_prefix(root().join(dir))
                .unwrap()
                .display()
                .to_string();
            if rel == "kustomization.yaml" || rel.ends_with(".template.yaml") {
                continue;
            }
            assert!(
                listed.contains(&rel),
                "{dir}/{rel} is not in {dir}/kustomization.yaml, so `kubectl apply -k {dir}` skips it"
            );
        }
    }
}

/// The schema of a Knative document: `<group>_<kind lowercase>_<version>.json`.
fn schema_for(doc: &Doc) -> Option<PathBuf> {
    let (group, version) = doc.api_version().split_once('/')?;
    group.ends_with("knative.dev").then(|| {
        root().join(format!(
            "tests/schemas/knative/{group}_{}_{version}.json",
            doc.kind().to_lowercase()
        ))
    })
}

fn schema_errors(schema: &Path, instance: &Value) -> Vec<String> {
    let schema: Value = serde_json::from_str(&std::fs::read_to_string(schema).unwrap()).unwrap();
    let validator = jsonschema::validator_for(&schema)
        .unwrap_or_else(|e| panic!("schema does not compile: {e}"));
    validator
        .iter_errors(instance)
        .map(|e| format!("at {}: {e}", e.instance_path))
        .collect()
}

#[test]
fn knative_documents_validate_against_their_schemas() {
    let docs = documents();
    let mut kinds = BTreeMap::<String, usize>::new();
    for doc in &docs {
        let Some(schema) = schema_for(doc) else {
            continue;
        };
        assert!(
            schema.is_file(),
            "{}: {} {} has no schema ({} is missing)",
            doc.file,
            doc.api_version(),
            doc.kind(),
            schema.display()
        );
        let errors = schema_errors(&schema, &doc.value);
        assert!(
            errors.is_empty(),
            "{}: {} {} does not validate:\n{}",
            doc.file,
            doc.kind(),
            doc.name(),
            errors.join("\n")
        );
        *kinds.entry(doc.kind().to_string()).or_default() += 1;
    }
    // The deployment as the issue describes it, so an empty folder cannot pass.
    assert_eq!(kinds.get("Broker"), Some(&1), "{kinds:?}");
    assert_eq!(kinds.get("SinkBinding"), Some(&1), "{kinds:?}");
    assert!(kinds.get("Trigger").is_some_and(|n| *n >= 5), "{kinds:?}");
    assert!(kinds.get("Service").is_some_and(|n| *n >= 6), "{kinds:?}");
}

#[test]
fn the_schemas_reject_a_broken_trigger() {
    // The check above can fail: a Trigger with a mistyped field is refused.
    let docs = documents();
    let trigger = triggers(&docs)[0];
    let mut broken = trigger.value.clone();
    broken["spec"]["delivery"]["retry"] = Value::from("five");
    broken["spec"]["filter"] = Value::from("type=x");
    let errors = schema_errors(&schema_for(trigger).unwrap(), &broken);
    assert!(errors.len() >= 2, "{errors:?}");
}

/// The event types each function's handler accepts (what its Triggers may send it);
/// the router check below proves each route exists in the code.
const HANDLES: &[(&str, &[EventType])] = &[
    (
        "notifier",
        &[
            EventType::AlertGroupReceived,
            EventType::AnalysisRequested,
            EventType::AnalysisCompleted,
        ],
    ),
    ("analyze", &[EventType::AnalysisRequested]),
    ("feishu-event-handler", &[EventType::FeishuMessageReceived]),
];

/// POSTs a binary CloudEvent of `ty` with `{}` data to `function`'s router at `path`.
async fn post_event(function: &str, path: &str, ty: &str) -> StatusCode {
    let built = built(function, &in_memory(Context::for_test()).await).await;
    let request = Request::post(path)
        .header("ce-specversion", "1.0")
        .header("ce-id", "manifest-check-1")
        .header("ce-source", "/aegis/manifests-test")
        .header("ce-type", ty)
        .header("content-type", "application/json")
        .body(Body::from("{}"))
        .unwrap();
    built.router.oneshot(request).await.unwrap().status()
}

#[tokio::test]
async fn trigger_filters_name_emitted_types_and_subscribers_handle_them() {
    let docs = documents();
    let services = services(&docs);
    let mut routed = BTreeSet::new();
    for trigger in triggers(&docs) {
        let name = trigger.name();
        let ty = trigger_type(&trigger.value)
            .unwrap_or_else(|| panic!("Trigger {name}: no exact type filter"));
        let event_type = EventType::parse(ty)
            .unwrap_or_else(|| panic!("Trigger {name}: {ty} is no event type the code emits"));
        routed.insert(ty);
        let function = subscriber(&trigger.value);
        assert!(
            services.contains_key(function),
            "Trigger {name}: subscriber {function:?} is no Knative Service in knative/services"
        );
        let accepts = HANDLES
            .iter()
            .find(|(f, _)| *f == function)
            .unwrap_or_else(|| panic!("Trigger {name}: {function} handles no events"))
            .1;
        assert!(
            accepts.contains(&event_type),
            "Trigger {name}: {function} does not handle {ty}"
        );
        let path = trigger.value["spec"]["subscriber"]["uri"]
            .as_str()
            .unwrap_or("/");
        let status = post_event(function, path, ty).await;
        assert!(
            status != StatusCode::NOT_FOUND && status != StatusCode::METHOD_NOT_ALLOWED,
            "Trigger {name}: {function} answers {status} to a POST at {path}"
        );
        let dls = &trigger.value["spec"]["delivery"]["deadLetterSink"]["ref"]["name"];
        if let Some(dls) = dls.as_str() {
            assert!(
                services.contains_key(dls),
                "Trigger {name}: dead letter sink {dls:?} is no Knative Service in knative/services"
            );
            let status = post_event(dls, "/", ty).await;
            assert!(
                status.is_success(),
                "Trigger {name}: dead letter sink {dls} answers {status}"
            );
        }
    }
    // Every type the code emits reaches someone.
    for ty in EventType::ALL {
        assert!(
            routed.contains(ty.as_str()),
            "no Trigger routes {ty}: it would be dropped by the Broker"
        );
    }
}

/// What each subscriber replies: the type and the extensions that matter for routing.
/// A reply: (the function sending it, its type, its routing extensions).
type Reply = (&'static str, EventType, Vec<(&'static str, &'static str)>);

fn replies() -> Vec<Reply> {
    vec![
        (
            "notifier",
            EventType::AnalysisRequested,
            vec![(EXT_ORIGIN, Origin::Alert.as_str())],
        ),
        ("analyze", EventType::AnalysisCompleted, vec![]),
        (
            "feishu-event-handler",
            EventType::AnalysisRequested,
            vec![(EXT_ORIGIN, Origin::Feishu.as_str())],
        ),
        (
            "feishu-event-handler",
            EventType::AnalysisCompleted,
            vec![
                (EXT_ORIGIN, Origin::Feishu.as_str()),
                (EXT_OUTCOME, Outcome::Notice.as_str()),
            ],
        ),
    ]
}

fn knative_manifests() -> Manifests {
    Manifests::from_dir(&root().join("knative")).unwrap()
}

/// Each Trigger that sends a subscriber its own reply.
fn reply_loops(manifests: &Manifests) -> Vec<String> {
    let mut loops = Vec::new();
    for (function, ty, extensions) in replies() {
        let reply =
            aegis_core::events::build(ty, function, "reply-1", &serde_json::json!({}), &extensions)
                .unwrap();
        for trigger in manifests
            .triggers
            .iter()
            .filter(|t| t.subscriber.function() == Some(function) && t.filter.matches(&reply))
        {
            loops.push(format!(
                "Trigger {} sends {function} its own reply {ty} {extensions:?}",
                trigger.name
            ));
        }
    }
    loops
}

#[test]
fn no_subscriber_reply_matches_its_own_trigger() {
    let loops = reply_loops(&knative_manifests());
    assert!(loops.is_empty(), "reply loops:\n{}", loops.join("\n"));
    // The check can fail: without its aegisorigin filter, notifier's analysis.requested
    // Trigger would take notifier's own alert-driven requests.
    let text = std::fs::read_to_string(root().join("knative/triggers.yaml")).unwrap();
    let broker = std::fs::read_to_string(root().join("knative/broker.yaml")).unwrap();
    let unfiltered = text.replace("      aegisorigin: feishu\n", "");
    assert_ne!(
        unfiltered, text,
        "the feishu-origin filter moved: update this test"
    );
    let loose = Manifests::parse(
        [
            ("broker.yaml".to_string(), broker),
            ("triggers.yaml".to_string(), unfiltered),
        ],
        "test",
    )
    .unwrap();
    assert!(
        reply_loops(&loose)
            .iter()
            .any(|l| l.contains("analysis-requested-feishu-to-notifier")),
        "{:?}",
        reply_loops(&loose)
    );
}

fn config_map(docs: &[Doc]) -> BTreeMap<String, String> {
    let cm = docs
        .iter()
        .find(|d| d.is("v1", "ConfigMap") && d.name() == "aegis-config")
        .expect("k8s/ has the aegis-config ConfigMap");
    cm.value["data"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| {
            let v = v
                .as_str()
                .unwrap_or_else(|| panic!("ConfigMap key {k}: values must be strings"));
            (k.clone(), v.to_string())
        })
        .collect()
}

#[tokio::test]
async fn timeouts_are_aligned() {
    let docs = documents();
    let services = services(&docs);
    let timeout_of = |name: &str| -> u64 {
        seconds(&services[name]["spec"]["template"]["spec"]["timeoutSeconds"])
            .unwrap_or_else(|| panic!("Service {name}: no timeoutSeconds"))
    };
    // The ConfigMap's settings must be valid for the config module; the functions are
    // built with them, as in the cluster.
    let cm = config_map(&docs);
    let from_map = cm.clone();
    let vars: aegis_core::config::Lookup =
        std::sync::Arc::new(move |k| from_map.get(k).filter(|v| !v.is_empty()).cloned());
    aegis_cli::config::validate(&aegis_core::config::Env::new(&*vars))
        .unwrap_or_else(|e| panic!("the ConfigMap is refused by the config module: {e}"));
    let ctx = in_memory(Context::from_lookup(vars).expect("valid serving settings")).await;
    // Each function's own request limit (it answers 503 past it).
    let mut own = BTreeMap::new();
    for name in services.keys() {
        let timeout = timeout_of(name);
        assert!(
            timeout <= 600,
            "Service {name}: timeoutSeconds {timeout} > 600"
        );
        if aegis_cli::functions::NAMES.contains(&name.as_str()) {
            let limit = built(name, &ctx).await.timeout;
            assert!(
                limit <= Duration::from_secs(timeout),
                "Service {name}: timeoutSeconds {timeout} cuts the function's own limit {limit:?}"
            );
            own.insert(name.clone(), limit);
        }
    }
    // Every Trigger, with its delivery (or the Broker's default), as `aegis dev` reads it:
    // the function's limit <= delivery.timeout (else the Broker retries work still
    // running) <= the Service's timeoutSeconds.
    for trigger in &knative_manifests().triggers {
        let function = trigger.subscriber.function().unwrap();
        let timeout = Duration::from_secs(timeout_of(function));
        assert!(
            trigger.delivery.timeout <= timeout,
            "Trigger {}: delivery.timeout {:?} > {function}'s timeoutSeconds {timeout:?}",
            trigger.name,
            trigger.delivery.timeout
        );
        let limit = own[function];
        assert!(
            trigger.delivery.timeout >= limit,
            "Trigger {}: delivery.timeout {:?} < {function}'s own limit {limit:?}: the Broker would give up on (and retry) work still running",
            trigger.name,
            trigger.delivery.timeout
        );
    }
    for trigger in triggers(&docs) {
        if let Some(t) = trigger.value["spec"]["delivery"]["timeout"].as_str() {
            assert!(
                parse_iso8601(t).is_some(),
                "Trigger {}: delivery.timeout {t:?} is no ISO-8601 duration",
                trigger.name()
            );
        }
    }
    // The analysis budget: the default and the ConfigMap's.
    let analysis_budget = |env: &aegis_core::config::Env| {
        aegis_core::request::Config::from_env(env).map(|c| c.budget)
    };
    let budget = analysis_budget(&aegis_core::config::Env::new(&|_| None))
        .unwrap()
        .max(ctx.read("analyze", analysis_budget).unwrap());
    let analyze = Duration::from_secs(timeout_of("analyze"));
    assert!(
        analyze >= budget,
        "analyze: timeoutSeconds {analyze:?} < the analysis budget {budget:?}"
    );
    for trigger in knative_manifests()
        .triggers
        .iter()
        .filter(|t| t.subscriber.function() == Some("analyze"))
    {
        assert!(
            trigger.delivery.timeout >= budget,
            "Trigger {}: delivery.timeout {:?} < the analysis budget {budget:?}: the Broker would retry running analyses",
            trigger.name,
            trigger.delivery.timeout
        );
    }
    let stream = &services["analyze-stream"]["spec"]["template"]["spec"];
    let idle =
        seconds(&stream["idleTimeoutSeconds"]).expect("analyze-stream sets idleTimeoutSeconds");
    assert!(
        Duration::from_secs(idle) > analyze_stream::HEARTBEAT,
        "analyze-stream: idleTimeoutSeconds {idle} would cut a stream between heartbeats ({:?})",
        analyze_stream::HEARTBEAT
    );
    assert!(
        Duration::from_secs(timeout_of("analyze-stream")) >= budget,
        "analyze-stream: timeoutSeconds < the analysis budget {budget:?}"
    );
}

/// A Go duration (`time.ParseDuration`), as Knative reads its window annotations.
fn is_go_duration(v: &str) -> bool {
    regex::Regex::new(r"^([0-9]+(\.[0-9]+)?(ns|us|µs|ms|s|m|h))+$")
        .unwrap()
        .is_match(v)
}

#[test]
fn annotation_values_are_well_formed() {
    const INTEGERS: &[&str] = &[
        "min-scale",
        "max-scale",
        "initial-scale",
        "target",
        "activation-scale",
    ];
    const DURATIONS: &[&str] = &[
        "window",
        "scale-down-delay",
        "scale-to-zero-pod-retention-period",
    ];
    const OTHERS: &[&str] = &[
        "class",
        "metric",
        "target-utilization-percentage",
        "panic-window-percentage",
        "panic-threshold-percentage",
        "max-scale-up-rate",
        "max-scale-down-rate",
    ];
    let docs = documents();
    let mut checked = 0;
    for doc in &docs {
        for annotations in [
            &doc.value["metadata"]["annotations"],
            &doc.value["spec"]["template"]["metadata"]["annotations"],
        ] {
            let Some(annotations) = annotations.as_object() else {
                continue;
            };
            let mut scale = BTreeMap::new();
            for (key, value) in annotations {
                let Some(key) = key.strip_prefix("autoscaling.knative.dev/") else {
                    continue;
                };
                let value = value
                    .as_str()
                    .unwrap_or_else(|| panic!("{}: annotation {key}: not a string", doc.file));
                checked += 1;
                if INTEGERS.contains(&key) {
                    let n: u32 = value.parse().unwrap_or_else(|_| {
                        panic!(
                            "{}: {} {key}={value:?} is not an integer",
                            doc.file,
                            doc.name()
                        )
                    });
                    scale.insert(key, n);
                } else if DURATIONS.contains(&key) {
                    assert!(
                        is_go_duration(value),
                        "{}: {} {key}={value:?} is not a duration",
                        doc.file,
                        doc.name()
                    );
                } else {
                    assert!(
                        OTHERS.contains(&key),
                        "{}: {}: unknown annotation autoscaling.knative.dev/{key} (a typo is ignored silently)",
                        doc.file,
                        doc.name()
                    );
                }
            }
            if let (Some(min), Some(max)) = (scale.get("min-scale"), scale.get("max-scale")) {
                assert!(
                    *max == 0 || min <= max,
                    "{}: {}: min-scale {min} > max-scale {max}",
                    doc.file,
                    doc.name()
                );
            }
        }
    }
    assert!(checked > 0, "no autoscaling annotation found at all");
    // webhook-receiver never scales to zero (Alertmanager waits on it); the rest may.
    let services = services(&docs);
    let min_scale = |name: &str| {
        services[name]["spec"]["template"]["metadata"]["annotations"]["autoscaling.knative.dev/min-scale"]
            .as_str()
            .map(|v| v.to_string())
    };
    assert_eq!(min_scale("webhook-receiver").as_deref(), Some("1"));
    assert!(is_go_duration("1m30s") && !is_go_duration("90") && !is_go_duration("PT1M"));
}

/// The AWS SDK reads its credentials from these itself; the config module does not.
const AWS_SDK_VARIABLES: &[&str] = &[
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
];

fn is_secret_variable(name: &str) -> bool {
    VARIABLES.iter().any(|v| v.name == name && v.secret) || AWS_SDK_VARIABLES.contains(&name)
}

#[test]
fn manifest_variables_are_read_by_the_config_module_and_required_ones_are_set() {
    let docs = documents();
    let known =
        |name: &str| VARIABLES.iter().any(|v| v.name == name) || AWS_SDK_VARIABLES.contains(&name);
    // Containers' env entries.
    for doc in &docs {
        let Some(containers) = doc.value["spec"]["template"]["spec"]["containers"].as_array()
        else {
            continue;
        };
        for container in containers {
            for env in container["env"].as_array().into_iter().flatten() {
                let name = env["name"].as_str().unwrap_or("");
                assert!(known(name), "{}: env {name} is read by nothing", doc.file);
                assert!(
                    !is_secret_variable(name) || env["value"].is_null(),
                    "{}: env {name} is a secret and must come from the Secret, not a value",
                    doc.file
                );
            }
            for from in container["envFrom"].as_array().into_iter().flatten() {
                if let Some(cm) = from["configMapRef"]["name"].as_str() {
                    assert!(
                        docs.iter()
                            .any(|d| d.is("v1", "ConfigMap") && d.name() == cm),
                        "{}: envFrom names ConfigMap {cm}, which no manifest defines",
                        doc.file
                    );
                }
                if let Some(secret) = from["secretRef"]["name"].as_str() {
                    assert!(
                        docs.iter()
                            .any(|d| d.is("v1", "Secret") && d.name() == secret),
                        "{}: envFrom names Secret {secret}, which the template does not define",
                        doc.file
                    );
                }
            }
        }
    }
    // The ConfigMap: known, non-secret variables, and those a deployment needs.
    let cm = config_map(&docs);
    for name in cm.keys() {
        assert!(known(name), "ConfigMap key {name} is read by nothing");
        assert!(
            !is_secret_variable(name),
            "ConfigMap key {name} is a secret: it belongs in the Secret"
        );
    }
    for required in [
        "PROMETHEUS_BASE_URL",
        "LOKI_BASE_URL",
        "JAEGER_BASE_URL",
        "AEGIS_S3_BUCKET",
    ] {
        assert!(
            cm.get(required).is_some_and(|v| !v.is_empty()),
            "the ConfigMap must set {required}"
        );
    }
    assert!(
        cm.contains_key("FEISHU_DEFAULT_CHAT_ID"),
        "the ConfigMap must have a FEISHU_DEFAULT_CHAT_ID key to fill in"
    );
    // The Secret template: known variables, with the secrets a deployment needs.
    let secret = docs
        .iter()
        .find(|d| d.is("v1", "Secret"))
        .expect("k8s/secret.template.yaml defines the Secret");
    let keys: Vec<&String> = secret.value["stringData"]
        .as_object()
        .unwrap()
        .keys()
        .collect();
    for name in &keys {
        assert!(known(name), "Secret key {name} is read by nothing");
    }
    for required in ["FEISHU_APP_ID", "FEISHU_APP_SECRET", "AEGIS_WEBHOOK_TOKEN"] {
        assert!(
            keys.iter().any(|k| *k == required),
            "the Secret template must have {required}"
        );
    }
}

/// Shapes of real credentials: Feishu tenant tokens, AWS access key ids, OpenAI-style
/// API keys, private keys.
fn secret_shapes() -> Vec<regex::Regex> {
    [
        r"\bt-[0-9a-f]{20,}",
        r"\bAKIA[0-9A-Z]{16}\b",
        r"\bsk-[A-Za-z0-9]{20,}",
        r"-----BEGIN [A-Z ]*PRIVATE KEY-----",
    ]
    .iter()
    .map(|r| regex::Regex::new(r).unwrap())
    .collect()
}

/// A value that stands for a secret without being one.
fn is_placeholder(value: &str) -> bool {
    value.is_empty()
        || value.starts_with('<')
        || value.starts_with('$')
        || value.starts_with("***")
        || value.starts_with("...")
}

/// What in `text` looks like a committed secret: a credential's shape, or a variable
/// marked secret in VARIABLES (or an AWS credential) given a non-placeholder value.
fn secret_findings(text: &str) -> Vec<String> {
    let mut found = Vec::new();
    for shape in secret_shapes() {
        found.extend(
            shape
                .find_iter(text)
                .map(|m| format!("{} looks like a credential", m.as_str())),
        );
    }
    let names = VARIABLES
        .iter()
        .filter(|v| v.secret)
        .map(|v| v.name)
        .chain(AWS_SDK_VARIABLES.iter().copied());
    for name in names {
        let assignment =
            regex::Regex::new(&format!(r#"\b{name}\b["'`]?\s*[:=]\s*["']?([^"'`\s#,|]*)"#))
                .unwrap();
        for captures in assignment.captures_iter(text) {
            let value = captures[1].trim();
            if !is_placeholder(value) {
                found.push(format!("{name} is given the value {value:?}"));
            }
        }
    }
    found
}

#[test]
fn no_secret_value_in_any_file() {
    let docs = documents();
    let secret = docs
        .iter()
        .find(|d| d.is("v1", "Secret"))
        .expect("k8s/secret.template.yaml defines the Secret");
    for field in ["stringData", "data"] {
        for (key, value) in secret.value[field].as_object().into_iter().flatten() {
            let value = value.as_str().unwrap_or("");
            assert!(
                value.is_empty() || (value.starts_with('<') && value.ends_with('>')),
                "{}: {key} must be a <placeholder> or empty, not a value",
                secret.file
            );
        }
    }
    let mut findings = Vec::new();
    let mut scanned = 0;
    let files = ["knative", "k8s", "docs"]
        .into_iter()
        .flat_map(files_under)
        .chain([root().join("Dockerfile")]);
    for path in files {
        let Ok(text) = std::fs::read_to_string(&path) else {
            continue; // not text
        };
        scanned += 1;
        for finding in secret_findings(&text) {
            findings.push(format!("{}: {finding}", path.display()));
        }
    }
    assert!(scanned > 10, "scanned only {scanned} files");
    assert!(
        findings.is_empty(),
        "secrets in the repository:\n{}",
        findings.join("\n")
    );
}

#[test]
fn the_secret_scan_finds_secrets() {
    // Built at run time so this file holds no secret-shaped string itself.
    let hex = "0123456789abcdef".repeat(2);
    let key = format!("AKIA{}", "ABCDEFGHIJKLMNOP");
    for text in [
        format!("token: t-{hex}"),
        format!("aws: {key}"),
        "  FEISHU_APP_SECRET: \"s3cr3tvalue\"".to_string(),
        "export DOUBAO_API_KEY=abc123".to_string(),
    ] {
        assert!(!secret_findings(&text).is_empty(), "missed: {text}");
    }
    for text in [
        "  FEISHU_APP_SECRET: \"<app secret>\"",
        "  AEGIS_WEBHOOK_TOKEN: \"\"",
        "export DOUBAO_API_KEY=$ARK_KEY",
    ] {
        assert!(
            secret_findings(text).is_empty(),
            "false alarm: {text}: {:?}",
            secret_findings(text)
        );
    }
}

/// (name, subscriber function, exact type) of each Trigger.
type Route = (String, String, String);

#[test]
fn aegis_dev_routes_by_these_triggers() {
    let docs = documents();
    let yaml: Vec<Route> = triggers(&docs)
        .iter()
        .map(|t| {
            (
                t.name().to_string(),
                subscriber(&t.value).to_string(),
                trigger_type(&t.value).unwrap_or("").to_string(),
            )
        })
        .collect();
    let routes = |m: Manifests| -> Vec<Route> {
        let broker = m.main_broker().name.clone();
        m.triggers_of(&broker)
            .map(|t| {
                (
                    t.name.clone(),
                    t.subscriber.function().unwrap_or("").to_string(),
                    t.filter.exact_type().unwrap_or("").to_string(),
                )
            })
            .collect()
    };
    assert_eq!(
        routes(knative_manifests()),
        yaml,
        "aegis dev --knative knative/"
    );
    // The copy compiled into the binary (plain `aegis dev`) is this folder too.
    assert_eq!(
        routes(Manifests::embedded().unwrap()),
        yaml,
        "aegis dev (built-in)"
    );
}

#[test]
fn only_functions_with_public_routes_are_public_and_the_bridge_is_bound() {
    let docs = documents();
    for (name, service) in services(&docs) {
        let public = aegis_cli::functions::PUBLIC_ROUTES
            .iter()
            .any(|(_, function)| *function == name);
        let visibility = service["metadata"]["labels"]["networking.knative.dev/visibility"]
            .as_str()
            .unwrap_or("");
        // A function no outside caller needs stays inside the cluster (feishu-event-handler
        // has a public callback route but is cluster-local with the long connection).
        if !public {
            assert_eq!(
                visibility, "cluster-local",
                "Service {name}: no public route in the code, so it must be cluster-local"
            );
        }
    }
    let binding = docs
        .iter()
        .find(|d| d.is("sources.knative.dev/v1", "SinkBinding"))
        .expect("knative/sinkbinding.yaml");
    let subject = &binding.value["spec"]["subject"];
    assert!(
        docs.iter().any(|d| d.is(
            subject["apiVersion"].as_str().unwrap_or(""),
            subject["kind"].as_str().unwrap_or("")
        ) && d.name() == subject["name"].as_str().unwrap_or("")),
        "the SinkBinding's subject {subject} is defined by no manifest"
    );
    let sink = &binding.value["spec"]["sink"]["ref"];
    assert!(
        docs.iter()
            .any(|d| d.is("eventing.knative.dev/v1", "Broker")
                && sink["kind"] == "Broker"
                && d.name() == sink["name"].as_str().unwrap_or("")),
        "the SinkBinding's sink {sink} is not the Broker"
    );
}

/// `ctx` with an in-memory report store for its functions.
async fn in_memory(ctx: Context) -> Context {
    let store: std::sync::Arc<dyn aegis_store::ReportStore> =
        std::sync::Arc::new(aegis_store::Memory::default());
    ctx.provide(store).await;
    ctx
}

/// The function `name` built from `ctx`, without the host's layers.
async fn built(name: &str, ctx: &Context) -> aegis_runtime::Function {
    aegis_cli::functions::build(name, ctx)
        .await
        .unwrap_or_else(|| panic!("the host has no function {name}"))
        .unwrap_or_else(|e| panic!("{name} does not build: {e}"))
}
