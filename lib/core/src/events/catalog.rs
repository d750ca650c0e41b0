use cloudevents::{AttributesReader, Event, EventBuilder, EventBuilderV10};
use serde::Serialize;
use serde::de::DeserializeOwned;

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
/// Extension: `ok` or `failed` (analysis completions).
pub const EXT_OUTCOME: &str = "aegisoutcome";
/// Extension: W3C trace context (CloudEvents distributed tracing extension).
pub const EXT_TRACEPARENT: &str = "traceparent";

/// Builds an event: `source` = `/aegis/<function>`, JSON data, the given extensions,
/// and the current trace context as `traceparent` when there is one.
pub fn build(
    ty: EventType,
    function: &str,
    id: impl Into<String>,
    data: &impl Serialize,
    extensions: &[(&str, &str)],
) -> Result<Event, serde_json::Error> {
    let data = serde_json::to_value(data)?;
    Ok(assemble(ty, function, id.into(), data.into(), extensions))
}

/// Like [`build`], but the data is serialised straight to JSON text and carried as
/// bytes with `datacontenttype: application/json`, never as a `serde_json::Value`.
///
/// In binary mode, which every sink and broker here speaks, the event is the same:
/// the same headers and a body of the same JSON (fields in the type's order rather
/// than sorted), and [`data_as`] reads it the same. Only a structured-mode encoding
/// would differ (`data_base64`). It exists for the alert hot path: building, writing
/// and dropping the `Value` tree was about a third of webhook-receiver's instructions
/// per notification (callgrind).
pub fn build_serialized(
    ty: EventType,
    function: &str,
    id: impl Into<String>,
    data: &impl Serialize,
    extensions: &[(&str, &str)],
) -> Result<Event, serde_json::Error> {
    let data = serde_json::to_vec(data)?;
    Ok(assemble(ty, function, id.into(), data.into(), extensions))
}

fn assemble(
    ty: EventType,
    function: &str,
    id: String,
    data: cloudevents::Data,
    extensions: &[(&str, &str)],
) -> Event {
    let mut builder = EventBuilderV10::new()
        .id(id)
        .source(format!("/aegis/{function}"))
        .ty(ty.as_str())
        .time(chrono::Utc::now())
        .data("application/json", data);
    for (name, value) in extensions {
        builder = builder.extension(name, *value);
    }
    if let Some(traceparent) = crate::trace::current_traceparent() {
        builder = builder.extension(EXT_TRACEPARENT, traceparent);
    }
    // Every required attribute is set above, so building cannot fail.
    builder.build().expect("id, source and type are set")
}

/// The event's JSON data as `T`; the error says what does not match.
pub fn data_as<T: DeserializeOwned>(event: &Event) -> Result<T, String> {
    use cloudevents::Data;
    match event.data() {
        Some(Data::Json(v)) => serde_json::from_value(v.clone())
            .map_err(|e| format!("data does not match {}: {e}", event.ty())),
        Some(Data::String(s)) => {
            serde_json::from_str(s).map_err(|e| format!("data does not match {}: {e}", event.ty()))
        }
        Some(Data::Binary(b)) => serde_json::from_slice(b)
            .map_err(|e| format!("data does not match {}: {e}", event.ty())),
        None => Err(format!("{} event has no data", event.ty())),
    }
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
    async fn serialized_data_is_the_same_event_in_binary_mode() {
        let data = serde_json::json!({"b": [1, 2], "a": {"c": "d"}});
        let ext = [(EXT_STATUS, "firing")];
        let by_value = build(EventType::AlertGroupReceived, "w", "id", &data, &ext).unwrap();
        let by_bytes =
            build_serialized(EventType::AlertGroupReceived, "w", "id", &data, &ext).unwrap();
        assert_eq!(
            data_as::<serde_json::Value>(&by_bytes).unwrap(),
            data_as::<serde_json::Value>(&by_value).unwrap()
        );
        let (h1, b1) = crate::events::encode_binary(by_value).await.unwrap();
        let (h2, b2) = crate::events::encode_binary(by_bytes).await.unwrap();
        for (name, value) in &h1 {
            if name != "ce-time" {
                assert_eq!(h2.get(name), Some(value), "{name}");
            }
        }
        assert_eq!(h1.len(), h2.len());
        assert_eq!(h2["content-type"], "application/json");
        let parse = |b: &[u8]| serde_json::from_slice::<serde_json::Value>(b).unwrap();
        assert_eq!(parse(&b1), parse(&b2));
    }
}
