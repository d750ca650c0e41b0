//! Properties of the analyze request: any body is a request or a 4xx with a reason, a
//! valid request in any of the accepted time spellings parses to the same description
//! and range, and a broken one is refused naming the field.

use chrono::{DateTime, FixedOffset, Utc};
use proptest::prelude::*;
use serde_json::{Value, json};

use super::tests::{analyzer, now};
use super::{DEFAULT_MINUTES, RequestError, parse};
use aegis_core::report::TimeRange;

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: 64,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

/// The default `AEGIS_TIMEZONE`, in which naive times are read (no daylight saving).
const SHANGHAI: chrono_tz::Tz = chrono_tz::Asia::Shanghai;

/// The ways a caller may spell a time, as JSON.
#[derive(Debug, Clone, Copy)]
enum Spelling {
    Rfc3339(i32),
    Seconds,
    SecondsText,
    Millis,
    Naive,
    NaiveT,
}

fn spelling() -> impl Strategy<Value = Spelling> {
    prop_oneof![
        (-12 * 4..=14 * 4).prop_map(|quarters| Spelling::Rfc3339(quarters * 900)),
        Just(Spelling::Seconds),
        Just(Spelling::SecondsText),
        Just(Spelling::Millis),
        Just(Spelling::Naive),
        Just(Spelling::NaiveT),
    ]
}

fn spell(t: DateTime<Utc>, how: Spelling) -> Value {
    match how {
        Spelling::Rfc3339(offset) => {
            let zone = FixedOffset::east_opt(offset).expect("within a day");
            Value::from(t.with_timezone(&zone).to_rfc3339())
        }
        Spelling::Seconds => Value::from(t.timestamp()),
        Spelling::SecondsText => Value::from(t.timestamp().to_string()),
        Spelling::Millis => Value::from(t.timestamp_millis()),
        Spelling::Naive => Value::from(
            t.with_timezone(&SHANGHAI)
                .format("%Y-%m-%d %H:%M:%S")
                .to_string(),
        ),
        Spelling::NaiveT => Value::from(
            t.with_timezone(&SHANGHAI)
                .format("%Y-%m-%dT%H:%M:%S")
                .to_string(),
        ),
    }
}

/// A description with something in it, under the 4000-character limit, with white
/// space around it that is not counted.
fn description() -> impl Strategy<Value = String> {
    (
        "[ \t\n]{0,3}",
        "\\PC{0,200}[^\\s]\\PC{0,200}",
        "[ \t\n]{0,3}",
    )
        .prop_map(|(before, text, after)| format!("{before}{text}{after}"))
}

/// A range the backends can answer: up to 24 h long (the default `AEGIS_TOOL_MAX_RANGE`)
/// and ending up to three days before the request arrives, to the second.
fn range() -> impl Strategy<Value = TimeRange> {
    (0i64..3 * 86_400, 1i64..=86_400).prop_map(|(ago, length)| {
        let end = now() - chrono::Duration::seconds(ago);
        TimeRange {
            start: end - chrono::Duration::seconds(length),
            end,
        }
    })
}

/// A valid request body, with the range it asks for (`None`: the default).
fn request() -> impl Strategy<Value = (Value, String, Option<TimeRange>)> {
    (
        description(),
        prop::option::of((range(), spelling(), spelling())),
        prop::option::of(any::<String>()),
    )
        .prop_map(|(description, range, session_id)| {
            let mut body = json!({"description": description});
            if let Some((r, start, end)) = &range {
                body["time_range"] =
                    json!({"start": spell(r.start, *start), "end": spell(r.end, *end)});
            }
            if let Some(s) = session_id {
                body["session_id"] = Value::from(s);
            }
            (body, description, range.map(|(r, _, _)| r))
        })
}

/// Any JSON document, with the request's keys likely.
fn json_doc() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        any::<String>().prop_map(Value::String),
        "(2026-01-29[ T]0[0-9]:[0-5][0-9](:[0-5][0-9])?(Z|\\+08:00)?|[0-9]{1,16}(\\.[0-9]{1,4})?|-[0-9]{1,5}|qwen|glm)"
            .prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 24, 5, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map(
                "(description|time_range|start|end|session_id|model|[a-z]{1,5})",
                inner,
                0..6,
            )
            .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// A refusal's status is a 4xx and its message says something.
fn is_a_reasoned_4xx(e: &RequestError) -> bool {
    e.status().is_client_error() && !e.to_string().is_empty()
}

/// A value of a type no field of the request takes where it stands.
fn wrong() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(json!(true)),
        Just(json!([1, 2])),
        Just(json!({"a": 1})),
        Just(json!(-1.5)),
    ]
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn any_body_is_a_request_or_a_reasoned_4xx(
        body in prop_oneof![
            prop::collection::vec(any::<u8>(), 0..256),
            json_doc().prop_map(|v| v.to_string().into_bytes()),
            (json_doc(), json_doc()).prop_map(|(start, end)| {
                json!({"description": "x", "time_range": {"start": start, "end": end}}).to_string().into_bytes()
            }),
        ],
    ) {
        if let Err(e) = parse(&body, &analyzer(), now()) {
            prop_assert!(is_a_reasoned_4xx(&e), "{:?}", e);
        }
    }

    #[test]
    fn a_valid_request_keeps_its_description_and_range((body, description, range) in request()) {
        let r = parse(body.to_string().as_bytes(), &analyzer(), now()).expect("accepted");
        prop_assert_eq!(r.description, description.trim());
        prop_assert_eq!(r.time_range, range.unwrap_or_else(|| TimeRange::last(now(), DEFAULT_MINUTES)));
        prop_assert_eq!(r.session_id.as_deref(), body["session_id"].as_str());
    }

    #[test]
    fn a_missing_field_is_named(
        (body, _, _) in request(),
        missing in prop::sample::select(&["description", "time_range.start", "time_range.end"][..]),
    ) {
        let mut body = body;
        let mut path = missing.split('.');
        let first = path.next().expect("a name");
        match path.next() {
            None => { body.as_object_mut().expect("an object").remove(first); }
            Some(second) => {
                if body.get("time_range").is_none() {
                    body["time_range"] = json!({"start": 1_769_670_000, "end": 1_769_670_600});
                }
                body[first].as_object_mut().expect("an object").remove(second);
            }
        }
        let e = parse(body.to_string().as_bytes(), &analyzer(), now()).expect_err("refused");
        prop_assert!(is_a_reasoned_4xx(&e));
        prop_assert!(e.to_string().starts_with(missing), "{} does not name {}", e, missing);
    }

    #[test]
    fn a_field_of_the_wrong_type_is_named(
        (body, _, _) in request(),
        field in prop::sample::select(&["description", "time_range", "time_range.start", "time_range.end", "model", "session_id"][..]),
        wrong in wrong(),
    ) {
        let mut body = body;
        if body.get("time_range").is_none() {
            body["time_range"] = json!({"start": 1_769_670_000, "end": 1_769_670_600});
        }
        // serde reads a struct from an array too (`[start, end]`), so an array is no
        // wrong type for `time_range`.
        let wrong = match (field, wrong) {
            ("time_range", Value::Array(_)) => json!("last hour"),
            (_, wrong) => wrong,
        };
        match field.split_once('.') {
            Some((outer, inner)) => body[outer][inner] = wrong,
            None => body[field] = wrong,
        }
        let e = parse(body.to_string().as_bytes(), &analyzer(), now()).expect_err("refused");
        prop_assert!(is_a_reasoned_4xx(&e));
        prop_assert!(e.to_string().starts_with(field), "{} does not name {}", e, field);
    }

    #[test]
    fn an_unreadable_time_is_named(
        (body, _, _) in request(),
        end in any::<bool>(),
        text in prop_oneof!["[a-z ]{0,12}", "2026-13-[0-9]{2}", "-[1-9][0-9]{0,8}"],
    ) {
        let mut body = body;
        body["time_range"] = json!({"start": 1_769_670_000, "end": 1_769_670_600});
        let field = if end { "end" } else { "start" };
        body["time_range"][field] = Value::from(text);
        let e = parse(body.to_string().as_bytes(), &analyzer(), now()).expect_err("refused");
        prop_assert!(e.to_string().starts_with(&format!("time_range.{field}")), "{}", e);
    }

    #[test]
    fn a_blank_description_or_an_inverted_range_is_named(
        (body, _, range) in request(),
        blank in "[ \t\n]{0,5}",
    ) {
        let mut body = body;
        let field = match range {
            Some(r) => {
                body["time_range"] = json!({"start": r.end.timestamp(), "end": r.start.timestamp()});
                "time_range"
            }
            None => {
                body["description"] = Value::from(blank);
                "description"
            }
        };
        let e = parse(body.to_string().as_bytes(), &analyzer(), now()).expect_err("refused");
        prop_assert!(is_a_reasoned_4xx(&e));
        prop_assert!(e.to_string().starts_with(field), "{} does not name {}", e, field);
    }
}
