//! Properties of the webhook body as the receiver reads it: any body is a notification
//! or a 400 with a reason, a notification Alertmanager could send is read with every
//! field intact, and a broken one is refused naming the JSON path at fault.

use axum::http::StatusCode;
use proptest::prelude::*;
use serde_json::{Value, json};

use super::parse;
use crate::WebhookError;

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: 64,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

/// RFC 3339 times of this century as Alertmanager writes them: whole seconds or
/// milli-, micro- or nanoseconds (a last digit that is not 0, so each reads back as
/// written).
fn time() -> impl Strategy<Value = String> {
    "20[0-9]{2}-(0[1-9]|1[0-2])-(0[1-9]|1[0-9]|2[0-8])T([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\\.[0-9]{2}[1-9]|\\.[0-9]{5}[1-9]|\\.[0-9]{8}[1-9])?Z"
}

fn labels() -> impl Strategy<Value = Value> {
    prop::collection::btree_map("[a-z_][a-z0-9_]{0,12}", any::<String>(), 0..5)
        .prop_map(|m| json!(m))
}

fn alert() -> impl Strategy<Value = Value> {
    (any::<bool>(), labels(), labels(), time(), "[0-9a-f]{0,16}").prop_map(
        |(resolved, labels, annotations, starts, fingerprint)| {
            json!({
                "status": if resolved { "resolved" } else { "firing" },
                "labels": labels,
                "annotations": annotations,
                "startsAt": starts,
                // Alertmanager's zero time while firing; resolved alerts end as they start.
                "endsAt": if resolved { starts.clone() } else { "0001-01-01T00:00:00Z".into() },
                "generatorURL": "http://prometheus:9090/graph",
                "fingerprint": fingerprint,
            })
        },
    )
}

/// A version 4 notification, as Alertmanager sends it.
fn notification() -> impl Strategy<Value = Value> {
    (
        "[!-~]\\PC{0,40}",
        any::<u32>(),
        any::<bool>(),
        labels(),
        prop::collection::vec(alert(), 1..6),
    )
        .prop_map(|(group_key, truncated, resolved, common, alerts)| {
            json!({
                "version": "4",
                "groupKey": group_key,
                "truncatedAlerts": truncated,
                "status": if resolved { "resolved" } else { "firing" },
                "receiver": "aegis",
                "groupLabels": {},
                "commonLabels": common,
                "commonAnnotations": {},
                "externalURL": "http://alertmanager:9093",
                "alerts": alerts,
            })
        })
}

/// Any JSON document, with the notification's keys and values likely.
fn json_doc() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        any::<String>().prop_map(Value::String),
        "(4|firing|resolved|0001-01-01T00:00:00Z|2026-11-25T10:00:00Z)".prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
            prop::collection::btree_map(
                "(version|groupKey|status|receiver|alerts|startsAt|endsAt|labels|[a-z]{1,6})",
                inner,
                0..8,
            )
            .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// The notification's paths that must be present, top-level and in the first alert.
const REQUIRED: [&str; 8] = [
    "version",
    "groupKey",
    "status",
    "receiver",
    "alerts",
    "alerts.0.status",
    "alerts.0.startsAt",
    "alerts.0.endsAt",
];

/// A mutable reference to the object holding the last step of `path`, and that step.
fn parent<'d, 'p>(doc: &'d mut Value, path: &'p str) -> (&'d mut Value, &'p str) {
    match path.rsplit_once('.') {
        None => (doc, path),
        Some((outer, last)) => {
            let pointer = format!("/{}", outer.replace('.', "/"));
            (doc.pointer_mut(&pointer).expect("the path exists"), last)
        }
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn any_body_is_a_notification_or_a_reasoned_400(
        body in prop_oneof![
            prop::collection::vec(any::<u8>(), 0..512),
            json_doc().prop_map(|v| v.to_string().into_bytes()),
            // A valid notification cut short or with bytes after it.
            (notification(), any::<prop::sample::Index>(), "[ -~]{0,4}").prop_map(|(n, cut, tail)| {
                let mut text = n.to_string().into_bytes();
                text.truncate(cut.index(text.len() + 1));
                text.extend(tail.into_bytes());
                text
            }),
        ],
    ) {
        match parse(&body) {
            Ok(n) => { let _ = n.validate(); }
            Err(e) => {
                prop_assert_eq!(e.status(), StatusCode::BAD_REQUEST);
                prop_assert!(!e.to_string().is_empty());
            }
        }
    }

    #[test]
    fn a_valid_notification_is_read_whole(doc in notification()) {
        let n = parse(doc.to_string().as_bytes()).expect("parses");
        prop_assert_eq!(n.validate(), Ok(()));
        // Nothing is lost or changed on the way in: it writes back as it came.
        prop_assert_eq!(serde_json::to_value(&n).expect("serialisable"), doc);
    }

    #[test]
    fn a_missing_required_field_is_named_with_its_path(
        doc in notification(),
        field in prop::sample::select(&REQUIRED[..]),
    ) {
        let mut doc = doc;
        let name = {
            let (holder, name) = parent(&mut doc, field);
            holder.as_object_mut().expect("an object").remove(name);
            name
        };
        let e = parse(doc.to_string().as_bytes()).expect_err("refused");
        prop_assert!(matches!(e, WebhookError::Malformed(_)), "{:?}", e);
        let text = e.to_string();
        prop_assert!(text.contains(&format!("`{name}`")), "{} does not name {}", text, name);
        if field.starts_with("alerts.0.") {
            prop_assert!(text.contains("alerts[0]"), "{} does not locate alerts[0]", text);
        }
    }

    #[test]
    fn a_field_of_the_wrong_type_is_named_with_its_path(
        doc in notification(),
        field in prop::sample::select(&[
            "groupKey", "status", "receiver", "alerts", "truncatedAlerts", "commonLabels",
            "alerts.0.status", "alerts.0.startsAt", "alerts.0.endsAt", "alerts.0.labels",
        ][..]),
        wrong in prop_oneof![Just(json!(true)), Just(json!(-1.5)), Just(json!({"a": []})), Just(json!("yesterday"))],
    ) {
        // A string is the right type for some fields; a nonsense one is still refused,
        // except where any string will do.
        prop_assume!(!(wrong.is_string() && ["groupKey", "receiver"].contains(&field)));
        let mut doc = doc;
        {
            let (holder, name) = parent(&mut doc, field);
            holder[name] = wrong;
        }
        let e = parse(doc.to_string().as_bytes()).expect_err("refused");
        prop_assert_eq!(e.status(), StatusCode::BAD_REQUEST);
        let path = field.replace(".0.", "[0].");
        prop_assert!(e.to_string().contains(&path), "{} does not name {}", e, path);
    }

    #[test]
    fn another_version_is_named_whatever_the_rest(
        doc in prop_oneof![notification(), json_doc().prop_map(|d| json!({"alerts": d}))],
        version in prop_oneof![Just(json!("3")), Just(json!(5)), Just(json!("v4")), Just(json!(null)), Just(json!([4]))],
    ) {
        let mut doc = doc;
        doc["version"] = version;
        let result = parse(doc.to_string().as_bytes());
        // A readable body with another version parses (and fails validation on the
        // version); one that is not a notification is refused naming the version.
        let field = match result {
            Ok(n) => n.validate().expect_err("refused").field,
            Err(WebhookError::Invalid(invalid)) => invalid.field,
            Err(e) => return Err(TestCaseError::fail(format!("not named as a version problem: {e}"))),
        };
        prop_assert_eq!(field, "version");
    }
}
