//! The three events notifier's Triggers send it, decoded by type.

use aegis_core::alert::Notification;
use aegis_core::events::{
    AnalysisCompleted, AnalysisRequested, AttributesReader, Decode, DecodeError, Event, EventType,
};

/// What arrives on notifier's one route: each Trigger sends one of these types.
#[derive(Debug)]
pub enum Inbound {
    /// An alert group: post its card.
    Alert(Notification),
    /// An analysis request: acknowledge a chat question.
    Requested(AnalysisRequested),
    /// A finished analysis or a notice: post it.
    Completed(AnalysisCompleted),
}

impl Decode for Inbound {
    fn decode(event: &Event) -> Result<Self, DecodeError> {
        match EventType::parse(event.ty()) {
            Some(EventType::AlertGroupReceived) => Decode::decode(event).map(Self::Alert),
            Some(EventType::AnalysisRequested) => Decode::decode(event).map(Self::Requested),
            Some(EventType::AnalysisCompleted) => Decode::decode(event).map(Self::Completed),
            _ => Err(DecodeError::wrong_type(
                &[
                    EventType::AlertGroupReceived,
                    EventType::AnalysisRequested,
                    EventType::AnalysisCompleted,
                ],
                event.ty(),
            )),
        }
    }
}
