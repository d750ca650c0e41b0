use cloudevents::{AttributesReader, Event, EventBuilder, EventBuilderV10};
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::DecodeError;

/// The event types Aegis emits and consumes: past-tense facts, versioned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EventType {
    /// webhook-receiver took an Alertmanager notification.
    AlertGroupReceived,
    /// A chat message reached Aegis (bridge or HTTP callback).
    FeishuMessageReceived,
    /// Someone (an alert policy, a chat user, an API caller) asked for an analysis.
    AnalysisRequested,
    /// An analysis finished, with its report or its failure.
    AnalysisCompleted,
}

impl EventType {
    /// Every type, for catalogs and manifest checks.
    pub const ALL: [EventType; 4] = [
        Self::AlertGroupReceived,
        Self::FeishuMessageReceived,
        Self::AnalysisRequested,
        Self::AnalysisCompleted,
    ];

    /// The CloudEvents `type` attribute.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::AlertGroupReceived => "io.aegis.alert.group.received.v1",
            Self::FeishuMessageReceived => "io.aegis.feishu.message.received.v1",
            Self::AnalysisRequested => "io.aegis.analysis.requested.v1",
            Self::AnalysisCompleted => "io.aegis.analysis.completed.v1",
        }
    }

    /// The type named by a CloudEvents `type` attribute.
    pub fn parse(ty: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.as_str() == ty)
    }
}

impl std::fmt::Display for EventType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Extension: `firing` or `resolved` (alert events).
pub const EXT_STATUS: &str = "aegisstatus";
/// Extension: the highest severity in an alert group.
pub const EXT_SEVERITY: &str = "aegisseverity";
/// Extension: `p2p`, `group` or `topic_group` (chat events).
pub const EXT_CHAT_TYPE: &str = "aegischattype";
/// Extension: `alert`, `feishu` or `api` (analysis events).
pub const EXT_ORIGIN: &str = "aegisorigin";
/// Extension: `ok`, `failed` or `notice` (analysis completions).
pub const EXT_OUTCOME: &str = "aegisoutcome";
/// Extension: W3C trace context (CloudEvents distributed tracing extension).
pub const EXT_TRACEPARENT: &str = "traceparent";

/// Builds an event: `source` = `/aegis/<function>`, the data as JSON, the given
/// extensions, and the current trace context as `traceparent` when there is one.
///
/// The typed way is [`Payload::to_event`](super::Payload::to_event), which names the
/// type and the routing extensions itself; this one is for data that is no payload
/// (tests of routing, tools resending what they read).
///
/// The data is serialised straight to JSON text and carried as bytes with
/// `datacontenttype: application/json`, never as a `serde_json::Value`: in binary mode,
/// which every sink and broker here speaks, the event is the same (the body is the
/// same JSON, fields in the type's order rather than sorted) and [`data_as`] reads it
/// the same; only a structured-mode encoding would differ (`data_base64`). Building,
/// writing and dropping the `Value` tree was about a third of webhook-receiver's
/// instructions per notification (callgrind).
pub fn build(
    ty: EventType,
    function: &str,
    id: impl Into<String>,
    data: &impl Serialize,
    extensions: &[(&str, &str)],
) -> Result<Event, serde_json::Error> {
    let data = serde_json::to_vec(data)?;
    let mut builder = EventBuilderV10::new()
        .id(id.into())
        .source(format!("/aegis/{function}"))
        .ty(ty.as_str())
        .time(chrono::Utc::now())
        .data("application/json", data);
    for (name, value) in extensions {
        builder = builder.extension(name, *value);
    }
    if let Some(traceparent) = crate::trace_context::current_traceparent() {
        builder = builder.extension(EXT_TRACEPARENT, traceparent);
    }
    // Every required attribute is set above, so building cannot fail.
    Ok(builder.build().expect("id, source and type are set"))
}

/// The event's JSON data as `T`, whatever its type; the error says what does not
/// match. Subscribers receive typed data through [`Received`](super::Received).
pub fn data_as<T: DeserializeOwned>(event: &Event) -> Result<T, DecodeError> {
    use cloudevents::Data;
    let parsed = match event.data() {
        Some(Data::Json(v)) => T::deserialize(v),
        Some(Data::String(s)) => serde_json::from_str(s),
        Some(Data::Binary(b)) => serde_json::from_slice(b),
        None => return Err(DecodeError::NoData(event.ty().to_string())),
    };
    parsed.map_err(|e| DecodeError::Malformed {
        ty: event.ty().to_string(),
        reason: e.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn types_round_trip() {
        for t in EventType::ALL {
            assert_eq!(EventType::parse(t.as_str()), Some(t));
        }
        assert_eq!(EventType::parse("io.aegis.other"), None);
    }

    #[test]
    fn built_event_carries_data_and_extensions() {
        let e = build(
            EventType::AnalysisRequested,
            "notifier",
            "id1",
            &serde_json::json!({"a": 1}),
            &[(EXT_ORIGIN, "alert")],
        )
        .unwrap();
        assert_eq!(e.ty(), "io.aegis.analysis.requested.v1");
        assert_eq!(e.source().to_string(), "/aegis/notifier");
        assert_eq!(
            e.extension(EXT_ORIGIN).map(|v| v.to_string()),
            Some("alert".into())
        );
        let v: serde_json::Value = data_as(&e).unwrap();
        assert_eq!(v["a"], 1);
    }

    #[tokio::test]
    async fn data_is_json_bytes_in_binary_mode() {
        let data = serde_json::json!({"b": [1, 2], "a": {"c": "d"}});
        let e = build(
            EventType::AlertGroupReceived,
            "w",
            "id",
            &data,
            &[("x", "y")],
        )
        .unwrap();
        assert_eq!(data_as::<serde_json::Value>(&e).unwrap(), data);
        let (headers, body) = crate::events::encode_binary(e).await.unwrap();
        assert_eq!(headers["content-type"], "application/json");
        assert_eq!(headers["ce-x"], "y");
        let parsed: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(parsed, data);
    }

    #[test]
    fn data_that_does_not_match_names_the_type() {
        let e = build(EventType::AnalysisRequested, "t", "id", &[1], &[("a", "b")]).unwrap();
        let err = data_as::<std::collections::BTreeMap<String, u8>>(&e).unwrap_err();
        assert!(
            err.to_string().contains("io.aegis.analysis.requested.v1"),
            "{err}"
        );
    }
}
