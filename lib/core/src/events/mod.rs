//! The event catalog (docs/architecture.md, "Events") on cloudevents-sdk: type constants, the
//! typed data of each type ([`Payload`]) with its routing extensions, and
//! deterministic ids; where events go ([`EventSink`]); and how a subscriber receives
//! one, typed ([`Received`]), and answers.

mod analysis;
mod catalog;
mod config;
mod decode;
mod id;
pub mod knative;
mod payload;
#[cfg(test)]
mod proptests;
mod receive;
mod sink;

pub use analysis::{
    AnalysisCompleted, AnalysisRequested, Failure, Notice, Origin, Outcome, ReplyTarget,
};
pub use catalog::{
    EXT_CHAT_TYPE, EXT_ORIGIN, EXT_OUTCOME, EXT_SEVERITY, EXT_STATUS, EXT_TRACEPARENT, EventType,
    build, data_as,
};
pub use cloudevents::{AttributesReader, AttributesWriter, Event};
pub use config::Config;
pub use decode::{Decode, DecodeError};
pub use id::derive_id;
pub use payload::Payload;
pub use receive::{AnyEvent, Received, Rejection, accepted, reply};
pub use sink::{EventSink, HttpSink, SendError, Unconfigured, encode_binary};
