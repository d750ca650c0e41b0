use cloudevents::{AttributesReader, Event};

use super::{EventType, Payload, data_as};

/// What a subscriber takes out of an event: one [`Payload`], or an enum of several
/// (a subscriber on several Triggers) that implements this by matching on the type and
/// decoding each arm with the payload's own `decode`.
pub trait Decode: Sized {
    /// The data of `event`, once its type is one this accepts.
    fn decode(event: &Event) -> Result<Self, DecodeError>;
}

impl<T: Payload> Decode for T {
    fn decode(event: &Event) -> Result<Self, DecodeError> {
        if event.ty() != T::TYPE.as_str() {
            return Err(DecodeError::wrong_type(&[T::TYPE], event.ty()));
        }
        data_as(event)
    }
}

/// Why an event is not the data a subscriber takes. Both are 400: the same event
/// can never succeed, so it is dropped rather than retried.
#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    /// The event's type is none the subscriber takes.
    #[error("expected {expected}, got {got}")]
    WrongType {
        /// The type, or `one of` the types, accepted.
        expected: String,
        /// The event's type.
        got: String,
    },
    /// The data does not match what the type promises.
    #[error("data does not match {ty}: {reason}")]
    Malformed {
        /// The event's type.
        ty: String,
        /// What does not match, from serde.
        reason: String,
    },
    /// The event has no data.
    #[error("{0} event has no data")]
    NoData(String),
}

impl DecodeError {
    /// An event of type `got` where one of `expected` was wanted.
    pub fn wrong_type(expected: &[EventType], got: &str) -> Self {
        let names: Vec<&str> = expected.iter().map(|t| t.as_str()).collect();
        let expected = match names.as_slice() {
            [one] => (*one).to_string(),
            many => format!("one of {}", many.join(", ")),
        };
        Self::WrongType {
            expected,
            got: got.to_string(),
        }
    }
}
