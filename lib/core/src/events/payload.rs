use cloudevents::Event;
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::{EventType, build};

/// The data of one event type: it knows its type and its routing extensions, so an
/// event is built from it in one way and a subscriber receives it typed
/// ([`Received`](super::Received)). Implemented by the data of each of the four
/// events: the alert `Notification`, the Feishu envelope, [`AnalysisRequested`] and
/// [`AnalysisCompleted`].
///
/// [`AnalysisRequested`]: super::AnalysisRequested
/// [`AnalysisCompleted`]: super::AnalysisCompleted
pub trait Payload: Serialize + DeserializeOwned {
    /// The event type carrying this data.
    const TYPE: EventType;

    /// The routing extensions (name, value) the Triggers filter on, read from the data
    /// so they can never disagree with it.
    fn extensions(&self) -> Vec<(&'static str, String)>;

    /// The event carrying this data: `source` = `/aegis/<function>`, the given
    /// deterministic id, the type, the routing extensions and the current trace
    /// context (see [`build`]).
    fn to_event(&self, function: &str, id: impl Into<String>) -> Result<Event, serde_json::Error> {
        let extensions = self.extensions();
        let extensions: Vec<(&str, &str)> = extensions
            .iter()
            .map(|(name, value)| (*name, value.as_str()))
            .collect();
        build(Self::TYPE, function, id, self, &extensions)
    }
}
