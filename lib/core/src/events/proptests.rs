//! Properties of CloudEvents as the functions read them ([`AnyEvent`], [`Received`]),
//! in binary and structured mode: arbitrary requests never panic and are either an
//! event or a 400 with a reason, valid events round-trip, and a missing attribute or a
//! wrong type is refused naming it.

use axum::body::Body;
use axum::extract::FromRequest;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use cloudevents::{AttributesReader, Event};
use proptest::prelude::*;
use serde_json::{Value, json};

use super::{AnyEvent, EventType, Payload, Received, Rejection, data_as, encode_binary};
use crate::alert::Notification;
use crate::alert::proptests::{config, json as any_json, notification};

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("a current-thread runtime")
}

fn any_event(req: axum::http::Request<Body>) -> Result<AnyEvent, Rejection> {
    runtime().block_on(AnyEvent::from_request(req, &()))
}

fn received<T: super::Decode + Send>(
    req: axum::http::Request<Body>,
) -> Result<Received<T>, Rejection> {
    runtime().block_on(Received::<T>::from_request(req, &()))
}

/// What a refusal tells the caller: its status and text.
fn refusal(e: Rejection) -> (StatusCode, String) {
    let text = e.to_string();
    (e.into_response().status(), text)
}

/// The attributes a sender sets, as generated: id, source, type, extensions, data.
#[derive(Debug, Clone)]
struct Attributes {
    id: String,
    source: String,
    ty: String,
    extensions: Vec<(String, String)>,
    data: Value,
}

fn attributes() -> impl Strategy<Value = Attributes> {
    (
        "[!-~]{1,30}",
        "/[a-z0-9/_-]{0,20}",
        "[a-z][a-z0-9.]{0,30}",
        prop::collection::btree_map("x[a-z0-9]{1,10}", "[!-~]{1,20}", 0..4),
        any_json(),
    )
        .prop_map(|(id, source, ty, extensions, data)| Attributes {
            id,
            source,
            ty,
            extensions: extensions.into_iter().collect(),
            data,
        })
}

/// `a` in binary mode, without the `ce-` headers named in `drop`.
fn binary(a: &Attributes, drop: &[&str]) -> axum::http::Request<Body> {
    let mut req = axum::http::Request::post("/").header("content-type", "application/json");
    for (name, value) in [
        ("specversion", "1.0"),
        ("id", a.id.as_str()),
        ("source", a.source.as_str()),
        ("type", a.ty.as_str()),
    ] {
        if !drop.contains(&name) {
            req = req.header(format!("ce-{name}"), value);
        }
    }
    for (name, value) in &a.extensions {
        req = req.header(format!("ce-{name}"), value);
    }
    req.body(Body::from(a.data.to_string()))
        .expect("a valid request")
}

/// `a` in structured mode, without the attributes named in `drop`.
fn structured(a: &Attributes, drop: &[&str]) -> axum::http::Request<Body> {
    let mut doc = json!({
        "specversion": "1.0",
        "id": a.id,
        "source": a.source,
        "type": a.ty,
        "datacontenttype": "application/json",
        "data": a.data,
    });
    let object = doc.as_object_mut().expect("an object");
    for (name, value) in &a.extensions {
        object.insert(name.clone(), Value::String(value.clone()));
    }
    for name in drop {
        object.remove(*name);
    }
    axum::http::Request::post("/")
        .header("content-type", "application/cloudevents+json")
        .body(Body::from(doc.to_string()))
        .expect("a valid request")
}

fn assert_same(e: &Event, a: &Attributes) -> Result<(), TestCaseError> {
    prop_assert_eq!(e.id(), a.id.as_str());
    prop_assert_eq!(e.source().to_string(), a.source.clone());
    prop_assert_eq!(e.ty(), a.ty.as_str());
    for (name, value) in &a.extensions {
        prop_assert_eq!(
            e.extension(name).map(|v| v.to_string()),
            Some(value.clone())
        );
    }
    match data_as::<Value>(e) {
        Ok(data) => prop_assert_eq!(data, a.data.clone()),
        // Structured mode reads `"data": null` as no data.
        Err(super::DecodeError::NoData(_)) => prop_assert!(a.data.is_null()),
        Err(e) => prop_assert!(false, "{}", e),
    }
    Ok(())
}

/// A header value as a sender might write it: a plausible one or any printable text.
fn header_value(plausible: &'static [&'static str]) -> impl Strategy<Value = Option<String>> {
    prop::option::of(prop_oneof![
        prop::sample::select(plausible).prop_map(str::to_string),
        "[ -~]{0,40}",
    ])
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn arbitrary_requests_are_an_event_or_a_400_with_a_reason(
        content_type in header_value(&["application/json", "application/cloudevents+json", "application/cloudevents-batch+json", "text/plain"]),
        specversion in header_value(&["1.0", "0.3", "2.0"]),
        id in header_value(&["1"]),
        source in header_value(&["/aegis/test", "::", "http://[::1"]),
        ty in header_value(&["io.aegis.analysis.requested.v1"]),
        time in header_value(&["2026-11-25T10:00:00Z", "0001-01-01T00:00:00Z", "yesterday"]),
        dataschema in header_value(&["http://schema", "not a url"]),
        traceparent in header_value(&["00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", "00-0-0-0", "ff-zz"]),
        body in prop_oneof![
            prop::collection::vec(any::<u8>(), 0..256),
            any_json().prop_map(|v| v.to_string().into_bytes()),
            any_json().prop_map(|data| json!({"specversion": "1.0", "id": "1", "source": "/s", "type": "t", "data": data}).to_string().into_bytes()),
        ],
    ) {
        let mut req = axum::http::Request::post("/");
        for (name, value) in [
            ("content-type", content_type),
            ("ce-specversion", specversion),
            ("ce-id", id),
            ("ce-source", source),
            ("ce-type", ty),
            ("ce-time", time),
            ("ce-dataschema", dataschema),
            ("ce-traceparent", traceparent),
        ] {
            if let Some(value) = value {
                req = req.header(name, value);
            }
        }
        let req = req.body(Body::from(body)).expect("printable header values");
        if let Err(e) = any_event(req) {
            let (status, text) = refusal(e);
            prop_assert_eq!(status, StatusCode::BAD_REQUEST);
            prop_assert!(!text.is_empty());
        }
    }

    #[test]
    fn a_binary_event_round_trips(a in attributes()) {
        let AnyEvent(e) = any_event(binary(&a, &[])).expect("a valid binary event");
        assert_same(&e, &a)?;
    }

    #[test]
    fn a_structured_event_round_trips(a in attributes()) {
        let AnyEvent(e) = any_event(structured(&a, &[])).expect("a valid structured event");
        assert_same(&e, &a)?;
    }

    #[test]
    fn a_missing_required_attribute_is_named(
        a in attributes(),
        missing in prop::sample::select(&["id", "source", "type"][..]),
        is_binary in any::<bool>(),
    ) {
        let req = if is_binary { binary(&a, &[missing]) } else { structured(&a, &[missing]) };
        let (status, text) = refusal(any_event(req).expect_err("refused"));
        prop_assert_eq!(status, StatusCode::BAD_REQUEST);
        prop_assert!(text.contains(missing), "{} does not name {}", text, missing);
    }

    #[test]
    fn a_payload_sent_by_a_sink_is_received_typed(n in notification()) {
        let event = n.to_event("webhook-receiver", n.event_id()).expect("builds");
        let (headers, body) = runtime().block_on(encode_binary(event)).expect("encodes");
        let mut req = axum::http::Request::post("/").body(Body::from(body)).expect("a request");
        *req.headers_mut() = headers;
        let r = received::<Notification>(req).expect("received");
        prop_assert_eq!(r.event.id(), n.event_id());
        prop_assert_eq!(r.data, n);
    }

    #[test]
    fn a_wrong_type_is_refused_naming_the_expected_one(a in attributes()) {
        prop_assume!(a.ty != Notification::TYPE.as_str());
        let (status, text) = refusal(received::<Notification>(binary(&a, &[])).expect_err("refused"));
        prop_assert_eq!(status, StatusCode::BAD_REQUEST);
        prop_assert!(text.contains(Notification::TYPE.as_str()) && text.contains(&a.ty), "{}", text);
    }

    #[test]
    fn data_that_does_not_match_the_type_is_refused_naming_it(a in attributes(), structured_mode in any::<bool>()) {
        let a = Attributes { ty: EventType::AlertGroupReceived.as_str().into(), ..a };
        let req = if structured_mode { structured(&a, &[]) } else { binary(&a, &[]) };
        if let Err(e) = received::<Notification>(req) {
            let (status, text) = refusal(e);
            prop_assert_eq!(status, StatusCode::BAD_REQUEST);
            prop_assert!(text.contains(&a.ty), "{}", text);
        }
    }
}
