//! The event catalog (ARCHITECTURE.md §3) on cloudevents-sdk: type constants, typed
//! data, routing extensions and deterministic ids; where events go ([`EventSink`]);
//! and how a subscriber receives one ([`Received`]) and answers.

mod catalog;
mod config;
mod id;
mod payload;
mod receive;
mod sink;

pub use catalog::{
    EXT_CHAT_TYPE, EXT_ORIGIN, EXT_OUTCOME, EXT_SEVERITY, EXT_STATUS, EXT_TRACEPARENT, EventType,
    build, build_serialized, data_as,
};
pub use cloudevents::{AttributesReader, AttributesWriter, Event};
pub use config::Config;
pub use id::derive_id;
pub use payload::{AnalysisCompleted, AnalysisRequested, Failure, Origin, Outcome, ReplyTarget};
pub use receive::{Received, Rejection, accepted, reply};
pub use sink::{EventSink, HttpSink, SendError, Unconfigured, encode_binary};
