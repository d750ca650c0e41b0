//! Reassembly of events Feishu splits over several data frames: fragments share a
//! `message_id`, `sum` says how many there are and `seq` where each goes; a buffer
//! that does not complete within the expiry is dropped (Feishu pushes the event again
//! because it was never acknowledged).

use std::collections::HashMap;
use std::time::{Duration, Instant};

use aegis_feishu::frame::{Frame, HEADER_MESSAGE_ID, HEADER_SEQ, HEADER_SUM};

/// How long an incomplete message is kept.
pub const EXPIRY: Duration = Duration::from_secs(10);

/// Why a data frame cannot be placed.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum FragmentError {
    /// `message_id`, `sum` or `seq` is missing or not a number.
    #[error("data frame without a valid {0} header")]
    MissingHeader(&'static str),
    /// `seq` is not below `sum`.
    #[error("fragment {seq} of a message with {sum} fragments")]
    OutOfRange {
        /// The index.
        seq: usize,
        /// The count.
        sum: usize,
    },
}

/// Buffers of incomplete messages, by `message_id`.
#[derive(Debug)]
pub struct Reassembly {
    buffers: HashMap<String, Buffer>,
    expiry: Duration,
}

#[derive(Debug)]
struct Buffer {
    parts: Vec<Option<Vec<u8>>>,
    first_seen: Instant,
}

/// A complete message: its payload and when its first fragment arrived.
#[derive(Debug, PartialEq, Eq)]
pub struct Complete {
    /// The joined payload.
    pub payload: Vec<u8>,
    /// When the first fragment arrived (the ack's `biz_rt` counts from here).
    pub first_seen: Instant,
}

impl Default for Reassembly {
    fn default() -> Self {
        Self::new(EXPIRY)
    }
}

// Fragments are few (Feishu splits only large events) and 10 s short-lived, so a
// HashMap swept on every add is enough; no cache crate needed.
impl Reassembly {
    /// Buffers that expire after `expiry`.
    pub fn new(expiry: Duration) -> Self {
        Self {
            buffers: HashMap::new(),
            expiry,
        }
    }

    /// Places `frame`; returns the message once every fragment is present.
    pub fn add(&mut self, frame: &Frame, now: Instant) -> Result<Option<Complete>, FragmentError> {
        self.expire(now);
        let sum = frame
            .header_num(HEADER_SUM)
            .ok_or(FragmentError::MissingHeader(HEADER_SUM))?;
        let seq = frame
            .header_num(HEADER_SEQ)
            .ok_or(FragmentError::MissingHeader(HEADER_SEQ))?;
        if sum <= 1 {
            return Ok(Some(Complete {
                payload: frame.payload_bytes().to_vec(),
                first_seen: now,
            }));
        }
        if seq >= sum {
            return Err(FragmentError::OutOfRange { seq, sum });
        }
        let id = frame
            .header(HEADER_MESSAGE_ID)
            .filter(|id| !id.is_empty())
            .ok_or(FragmentError::MissingHeader(HEADER_MESSAGE_ID))?;
        let buffer = self
            .buffers
            .entry(id.to_string())
            .or_insert_with(|| Buffer {
                parts: vec![None; sum],
                first_seen: now,
            });
        if buffer.parts.len() != sum {
            // A different split of the same message (a redelivery): start over.
            *buffer = Buffer {
                parts: vec![None; sum],
                first_seen: now,
            };
        }
        buffer.parts[seq] = Some(frame.payload_bytes().to_vec());
        if buffer.parts.iter().any(Option::is_none) {
            return Ok(None);
        }
        let buffer = self
            .buffers
            .remove(id)
            .expect("the buffer was just updated under this id");
        let payload = buffer.parts.into_iter().flatten().flatten().collect();
        Ok(Some(Complete {
            payload,
            first_seen: buffer.first_seen,
        }))
    }

    /// Drops buffers older than the expiry; returns how many.
    pub fn expire(&mut self, now: Instant) -> usize {
        let before = self.buffers.len();
        let expiry = self.expiry;
        self.buffers
            .retain(|_, b| now.saturating_duration_since(b.first_seen) < expiry);
        before - self.buffers.len()
    }

    /// Messages waiting for fragments.
    pub fn len(&self) -> usize {
        self.buffers.len()
    }

    /// Whether no message is waiting.
    pub fn is_empty(&self) -> bool {
        self.buffers.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aegis_feishu::frame::{Header, METHOD_DATA};

    fn fragment(id: &str, sum: usize, seq: usize, payload: &str) -> Frame {
        Frame {
            method: METHOD_DATA,
            headers: vec![
                Header::new("type", "event"),
                Header::new(HEADER_MESSAGE_ID, id),
                Header::new(HEADER_SUM, sum.to_string()),
                Header::new(HEADER_SEQ, seq.to_string()),
            ],
            payload: Some(payload.as_bytes().to_vec()),
            ..Frame::default()
        }
    }

    #[test]
    fn fragments_in_any_order_join_by_seq() {
        let mut r = Reassembly::default();
        let t = Instant::now();
        assert_eq!(r.add(&fragment("m", 3, 2, "c"), t).unwrap(), None);
        assert_eq!(r.add(&fragment("m", 3, 0, "a"), t).unwrap(), None);
        let done = r.add(&fragment("m", 3, 1, "b"), t).unwrap().unwrap();
        assert_eq!(done.payload, b"abc");
        assert!(r.is_empty());
    }

    #[test]
    fn single_frames_pass_through_and_bad_headers_are_refused() {
        let mut r = Reassembly::default();
        let t = Instant::now();
        assert_eq!(
            r.add(&fragment("m", 1, 0, "x"), t)
                .unwrap()
                .unwrap()
                .payload,
            b"x"
        );
        assert_eq!(
            r.add(&fragment("m", 2, 2, "x"), t),
            Err(FragmentError::OutOfRange { seq: 2, sum: 2 })
        );
        let mut no_sum = fragment("m", 2, 0, "x");
        no_sum.headers.retain(|h| h.key != HEADER_SUM);
        assert_eq!(
            r.add(&no_sum, t),
            Err(FragmentError::MissingHeader(HEADER_SUM))
        );
    }

    #[test]
    fn incomplete_messages_expire() {
        let mut r = Reassembly::new(Duration::from_secs(10));
        let t = Instant::now();
        r.add(&fragment("m", 2, 0, "a"), t).unwrap();
        assert_eq!(r.expire(t + Duration::from_secs(9)), 0);
        assert_eq!(r.expire(t + Duration::from_secs(10)), 1);
        // The late second fragment alone does not complete the message.
        assert_eq!(
            r.add(&fragment("m", 2, 1, "b"), t + Duration::from_secs(11))
                .unwrap(),
            None
        );
    }
}
