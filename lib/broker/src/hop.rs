//! The record of one delivery attempt, logged and kept so tests (and people) can see
//! where an event went.

use aegis_core::events::{AttributesReader, Event};

/// What happened on one hop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HopOutcome {
    /// The subscriber accepted the event (2xx).
    Delivered,
    /// The attempt failed in a way a retry can help; another attempt follows.
    Retrying,
    /// Delivery failed for good (retries used up, or a 4xx that no retry can fix).
    Failed,
    /// The dead letter sink accepted the event.
    DeadLettered,
    /// The dead letter sink failed too: the event is lost (logged as an error).
    DeadLetterFailed,
    /// The event had no hops left (a reply loop) and was dropped.
    Dropped,
}

/// One delivery attempt.
#[derive(Debug, Clone)]
pub struct Hop {
    /// The event's id.
    pub event_id: String,
    /// The event's type.
    pub event_type: String,
    /// The Trigger that routed it.
    pub trigger: String,
    /// The URL it was posted to.
    pub destination: String,
    /// 0 for the first attempt.
    pub attempt: u32,
    /// The HTTP status, when a response came.
    pub status: Option<u16>,
    /// What happened.
    pub outcome: HopOutcome,
    /// Why it failed, when no status tells.
    pub error: Option<String>,
    /// The reply event's id and type, when the subscriber replied.
    pub reply: Option<(String, String)>,
}

impl Hop {
    /// A hop of `event`.
    pub fn new(
        event: &Event,
        trigger: &str,
        destination: &str,
        attempt: u32,
        status: Option<u16>,
        outcome: HopOutcome,
    ) -> Self {
        Self {
            event_id: event.id().to_string(),
            event_type: event.ty().to_string(),
            trigger: trigger.to_string(),
            destination: destination.to_string(),
            attempt,
            status,
            outcome,
            error: None,
            reply: None,
        }
    }

    /// With the reason of a failure.
    pub fn with_error(mut self, error: &str) -> Self {
        self.error = Some(error.to_string());
        self
    }

    /// With the reply the subscriber sent.
    pub fn with_reply(mut self, reply: &Event) -> Self {
        self.reply = Some((reply.id().to_string(), reply.ty().to_string()));
        self
    }

    /// Logs the hop: info when it went through, warn on a retry, error when lost.
    pub fn log(&self) {
        let reply_id = self.reply.as_ref().map(|(id, _)| id.as_str());
        let reply_type = self.reply.as_ref().map(|(_, ty)| ty.as_str());
        macro_rules! hop {
            ($level:ident) => {
                tracing::$level!(
                    event.id = %self.event_id,
                    event.ty = %self.event_type,
                    trigger = %self.trigger,
                    destination = %self.destination,
                    attempt = self.attempt,
                    status = ?self.status,
                    outcome = ?self.outcome,
                    error = ?self.error,
                    reply.id = ?reply_id,
                    reply.ty = ?reply_type,
                    "hop"
                )
            };
        }
        match self.outcome {
            HopOutcome::Delivered | HopOutcome::DeadLettered => hop!(info),
            HopOutcome::Retrying | HopOutcome::Failed => hop!(warn),
            HopOutcome::DeadLetterFailed | HopOutcome::Dropped => hop!(error),
        }
    }
}
