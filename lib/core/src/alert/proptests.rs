//! Properties of the Alertmanager notification as the webhook receives it: arbitrary
//! input never panics, a valid notification is accepted with its fields intact, and a
//! broken one is refused naming the field.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use proptest::prelude::*;
use serde_json::Value;

use super::{Alert, Notification, Status};
use crate::events::Payload;

/// Bounded so CI stays fast; no persistence, so no `proptest-regressions` folders.
pub(crate) fn config() -> ProptestConfig {
    ProptestConfig {
        cases: 64,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

/// A real time between 2001 and 2096, to the nanosecond.
pub(crate) fn time() -> impl Strategy<Value = DateTime<Utc>> {
    (1_000_000_000i64..4_000_000_000, 0u32..1_000_000_000)
        .prop_map(|(s, ns)| DateTime::from_timestamp(s, ns).expect("in chrono's range"))
}

fn zero_time() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("0001-01-01T00:00:00Z")
        .expect("Alertmanager's zero time")
        .with_timezone(&Utc)
}

fn labels() -> impl Strategy<Value = BTreeMap<String, String>> {
    prop::collection::btree_map("[a-z_][a-z0-9_]{0,12}", any::<String>(), 0..5)
}

fn alert() -> impl Strategy<Value = Alert> {
    (
        any::<bool>(),
        labels(),
        labels(),
        time(),
        0i64..86_400_000_000_000,
        any::<String>(),
        "[0-9a-f]{0,16}",
    )
        .prop_map(
            |(resolved, labels, annotations, starts_at, after_ns, generator_url, fingerprint)| {
                Alert {
                    status: if resolved {
                        Status::Resolved
                    } else {
                        Status::Firing
                    },
                    labels,
                    annotations,
                    starts_at,
                    ends_at: if resolved {
                        starts_at + chrono::Duration::nanoseconds(after_ns)
                    } else {
                        zero_time()
                    },
                    generator_url,
                    fingerprint,
                }
            },
        )
}

/// A notification Alertmanager could send: version 4, a group key, 1..6 alerts whose
/// times are consistent with their status.
pub(crate) fn notification() -> impl Strategy<Value = Notification> {
    (
        "\\PC*[^\\s]\\PC*",
        any::<u64>(),
        any::<bool>(),
        any::<String>(),
        labels(),
        labels(),
        labels(),
        any::<String>(),
        prop::collection::vec(alert(), 1..6),
    )
        .prop_map(
            |(
                group_key,
                truncated_alerts,
                resolved,
                receiver,
                group_labels,
                common_labels,
                common_annotations,
                external_url,
                alerts,
            )| Notification {
                version: "4".into(),
                group_key,
                truncated_alerts,
                status: if resolved {
                    Status::Resolved
                } else {
                    Status::Firing
                },
                receiver,
                group_labels,
                common_labels,
                common_annotations,
                external_url,
                alerts,
            },
        )
}

/// Any JSON document, a few levels deep.
pub(crate) fn json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        // Quarters print and parse back exactly, so documents round-trip.
        any::<i32>().prop_map(|i| Value::from(f64::from(i) / 4.0)),
        any::<String>().prop_map(Value::String),
        "(firing|resolved|4|0001-01-01T00:00:00Z|2026-11-25T10:00:00Z)".prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map(
                "(version|groupKey|status|receiver|alerts|startsAt|endsAt|labels|[a-zA-Z]{1,8})",
                inner,
                0..8,
            )
            .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// The required fields, at the top and in an alert, with the name serde reports.
const REQUIRED: [&str; 5] = ["version", "groupKey", "status", "receiver", "alerts"];
const REQUIRED_IN_ALERT: [&str; 3] = ["status", "startsAt", "endsAt"];

proptest! {
    #![proptest_config(config())]

    #[test]
    fn arbitrary_bytes_never_panic(body in prop::collection::vec(any::<u8>(), 0..512)) {
        if let Ok(n) = serde_json::from_slice::<Notification>(&body)
            && let Err(e) = n.validate()
        {
            prop_assert!(!e.field.is_empty() && !e.problem.is_empty());
        }
    }

    #[test]
    fn arbitrary_json_is_accepted_or_refused_with_a_reason(doc in json()) {
        match serde_json::from_value::<Notification>(doc) {
            Ok(n) => {
                // Whatever serde accepted, the policy helpers and validation cope.
                let _ = (n.event_id(), n.highest_severity(), n.alertname(), n.earliest_start());
                if let Err(e) = n.validate() {
                    prop_assert!(!e.to_string().is_empty() && !e.field.is_empty());
                }
            }
            Err(e) => prop_assert!(!e.to_string().is_empty()),
        }
    }

    #[test]
    fn a_valid_notification_is_accepted_and_its_fields_survive(n in notification()) {
        let body = serde_json::to_vec(&n).expect("serialisable");
        let back: Notification = serde_json::from_slice(&body).expect("parses");
        prop_assert_eq!(&back, &n);
        prop_assert_eq!(back.validate(), Ok(()));
        prop_assert_eq!(back.event_id(), n.event_id());
        let mut reordered = n.clone();
        reordered.alerts.reverse();
        prop_assert_eq!(reordered.event_id(), n.event_id());
        // The event carries it whole, so every consumer reads the same alerts.
        let event = n.to_event("webhook-receiver", n.event_id()).expect("builds");
        let carried: Notification = crate::events::data_as(&event).expect("decodes");
        prop_assert_eq!(carried, n);
    }

    #[test]
    fn a_missing_required_field_is_named(
        n in notification(),
        top in 0..REQUIRED.len(),
        in_alert in prop::option::of(0..REQUIRED_IN_ALERT.len()),
    ) {
        let mut doc = serde_json::to_value(&n).expect("serialisable");
        let field = match in_alert {
            Some(i) => {
                doc["alerts"][0].as_object_mut().expect("an object").remove(REQUIRED_IN_ALERT[i]);
                REQUIRED_IN_ALERT[i]
            }
            None => {
                doc.as_object_mut().expect("an object").remove(REQUIRED[top]);
                REQUIRED[top]
            }
        };
        let err = serde_json::from_value::<Notification>(doc).expect_err("refused");
        prop_assert!(err.to_string().contains(&format!("`{field}`")), "{} does not name {}", err, field);
    }

    #[test]
    fn a_field_of_the_wrong_type_is_refused(
        n in notification(),
        field in prop::sample::select(&["version", "groupKey", "status", "receiver", "alerts", "truncatedAlerts", "commonLabels"][..]),
        wrong in prop_oneof![Just(Value::Bool(true)), Just(Value::from(-1.5)), Just(Value::Null), Just(serde_json::json!([{}]))],
    ) {
        let mut doc = serde_json::to_value(&n).expect("serialisable");
        // `alerts: [{}]` is the right type with a missing field: refused all the same.
        doc[field] = wrong;
        let err = serde_json::from_value::<Notification>(doc).expect_err("refused");
        prop_assert!(!err.to_string().is_empty());
    }

    #[test]
    fn validation_names_the_field_at_fault(
        n in notification(),
        version in "[0-35-9]|4.0|v4|",
        blank in "[ \t\n]{0,3}",
        which in 0..4usize,
        index in any::<prop::sample::Index>(),
    ) {
        let mut n = n;
        let i = index.index(n.alerts.len());
        let field = match which {
            0 => { n.version = version; "version".to_string() }
            1 => { n.group_key = blank; "groupKey".to_string() }
            2 => { n.alerts[i].starts_at = zero_time(); format!("alerts[{i}].startsAt") }
            _ => {
                n.alerts[i].status = Status::Resolved;
                n.alerts[i].ends_at = zero_time();
                format!("alerts[{i}].endsAt")
            }
        };
        // An earlier alert may fail first only if it was already broken, and none is.
        let err = n.validate().expect_err("refused");
        prop_assert_eq!(err.field, field);
        prop_assert!(!err.problem.is_empty());
    }

    #[test]
    fn an_alert_that_ends_before_it_starts_is_refused(n in notification(), index in any::<prop::sample::Index>(), back_ns in 1i64..86_400_000_000_000) {
        let mut n = n;
        let i = index.index(n.alerts.len());
        n.alerts[i].status = Status::Resolved;
        n.alerts[i].ends_at = n.alerts[i].starts_at - chrono::Duration::nanoseconds(back_ns);
        let err = n.validate().expect_err("refused");
        prop_assert_eq!(err.field, format!("alerts[{i}].endsAt"));
    }
}
