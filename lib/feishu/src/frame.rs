//! The long connection's protobuf frames (`pbbp2`, proto2), hand-written with
//! `prost::Message` derives so no `protoc` or build script is needed.
//!
//! proto2 `required` fields map to prost's `required` kind, which is always encoded,
//! even when it holds 0: the server rejects frames without `SeqID`, `LogID`, `service`
//! and `method`. The byte layout is checked against the official Python SDK's
//! `pbbp2_pb2` in the tests below and in `tests/tests/e2e/chat.rs`.

use prost::Message;

/// `method` of a control frame (ping, pong).
pub const METHOD_CONTROL: i32 = 0;
/// `method` of a data frame (event, card).
pub const METHOD_DATA: i32 = 1;

/// Header key: `ping`/`pong` on control frames, `event`/`card` on data frames.
pub const HEADER_TYPE: &str = "type";
/// Header key: the same on every fragment of one message.
pub const HEADER_MESSAGE_ID: &str = "message_id";
/// Header key: how many fragments the message has.
pub const HEADER_SUM: &str = "sum";
/// Header key: this fragment's 0-based index.
pub const HEADER_SEQ: &str = "seq";
/// Header key: the trace id, for logs.
pub const HEADER_TRACE_ID: &str = "trace_id";
/// Header key: the client's handling time in ms, added to the ack.
pub const HEADER_BIZ_RT: &str = "biz_rt";

/// One `key: value` header of a frame.
#[derive(Clone, PartialEq, Eq, Message)]
pub struct Header {
    /// The key.
    #[prost(string, required, tag = "1")]
    pub key: String,
    /// The value.
    #[prost(string, required, tag = "2")]
    pub value: String,
}

/// A frame of the long connection (`pbbp2.Frame`).
#[derive(Clone, PartialEq, Eq, Message)]
pub struct Frame {
    /// Sequence id; echoed back in the ack.
    #[prost(uint64, required, tag = "1")]
    pub seq_id: u64,
    /// Log id; echoed back in the ack.
    #[prost(uint64, required, tag = "2")]
    pub log_id: u64,
    /// The `service_id` from the connection URL.
    #[prost(int32, required, tag = "3")]
    pub service: i32,
    /// [`METHOD_CONTROL`] or [`METHOD_DATA`].
    #[prost(int32, required, tag = "4")]
    pub method: i32,
    /// The headers, in order.
    #[prost(message, repeated, tag = "5")]
    pub headers: Vec<Header>,
    /// Payload encoding (unused by Feishu so far).
    #[prost(string, optional, tag = "6")]
    pub payload_encoding: Option<String>,
    /// Payload type (unused by Feishu so far).
    #[prost(string, optional, tag = "7")]
    pub payload_type: Option<String>,
    /// The payload: a JSON event (or fragment), a `ClientConfig` in a pong, an ack.
    #[prost(bytes = "vec", optional, tag = "8")]
    pub payload: Option<Vec<u8>>,
    /// The newer string log id.
    #[prost(string, optional, tag = "9")]
    pub log_id_new: Option<String>,
}

/// What a frame is, from its `method` and `type` header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A control frame `type=ping`.
    Ping,
    /// A control frame `type=pong` (payload: an optional `ClientConfig`).
    Pong,
    /// A data frame `type=event`.
    Event,
    /// A data frame `type=card` (card callbacks; Aegis does not subscribe to them).
    Card,
    /// Anything else.
    Other,
}

impl Frame {
    /// A ping, sent right after connecting and then every ping interval.
    pub fn ping(service: i32) -> Self {
        Self {
            service,
            method: METHOD_CONTROL,
            headers: vec![Header::new(HEADER_TYPE, "ping")],
            ..Self::default()
        }
    }

    /// The value of header `key`, if present.
    pub fn header(&self, key: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|h| h.key == key)
            .map(|h| h.value.as_str())
    }

    /// A numeric header, if present and numeric.
    pub fn header_num(&self, key: &str) -> Option<usize> {
        self.header(key).and_then(|v| v.trim().parse().ok())
    }

    /// What this frame is.
    pub fn kind(&self) -> Kind {
        match (self.method, self.header(HEADER_TYPE)) {
            (METHOD_CONTROL, Some("ping")) => Kind::Ping,
            (METHOD_CONTROL, Some("pong")) => Kind::Pong,
            (METHOD_DATA, Some("event")) => Kind::Event,
            (METHOD_DATA, Some("card")) => Kind::Card,
            _ => Kind::Other,
        }
    }

    /// The acknowledgement of this (data) frame: the same ids, `method=1`, every
    /// header plus `biz_rt`, and `{"code":<code>,"headers":null,"data":null}`.
    pub fn ack(&self, code: u16, biz_rt_ms: u64) -> Self {
        let mut headers = self.headers.clone();
        headers.retain(|h| h.key != HEADER_BIZ_RT);
        headers.push(Header::new(HEADER_BIZ_RT, biz_rt_ms.to_string()));
        Self {
            seq_id: self.seq_id,
            log_id: self.log_id,
            service: self.service,
            method: METHOD_DATA,
            headers,
            payload_encoding: None,
            payload_type: None,
            payload: Some(format!(r#"{{"code":{code},"headers":null,"data":null}}"#).into_bytes()),
            log_id_new: self.log_id_new.clone(),
        }
    }

    /// The frame's protobuf bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        self.encode_to_vec()
    }

    /// Decodes a frame from a binary WebSocket message.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, prost::DecodeError> {
        Self::decode(bytes)
    }

    /// The payload, empty when absent.
    pub fn payload_bytes(&self) -> &[u8] {
        self.payload.as_deref().unwrap_or_default()
    }
}

impl Header {
    /// A header.
    pub fn new(key: impl Into<String>, value: impl Into<String>) -> Self {
        Self {
            key: key.into(),
            value: value.into(),
        }
    }
}

/// The status code in an ack's payload (`{"code":200,...}`), for the fake and tests.
pub fn ack_code(payload: &[u8]) -> Option<u16> {
    let v: serde_json::Value = serde_json::from_slice(payload).ok()?;
    v.get("code")?.as_u64().and_then(|c| u16::try_from(c).ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    // Produced by the official SDK (lark_oapi.ws.pb.pbbp2_pb2):
    //   f = Frame(); f.SeqID=0; f.LogID=0; f.service=0; f.method=0
    //   h = f.headers.add(); h.key="type"; h.value="ping"
    //   f.SerializeToString().hex()
    const PYTHON_PING_SERVICE_0: &str = "08001000180020002a0c0a0474797065120470696e67";
    // f.SeqID=7; f.LogID=9; f.service=33; f.method=1; headers type=event,
    // message_id=m1, sum=1, seq=0; f.payload=b'{"code":200}'
    const PYTHON_DATA: &str = "08071009182120012a0d0a047479706512056576656e742a100a0a6d6573736167655f696412026d312a080a0373756d1201312a080a03736571120130420c7b22636f6465223a3230307d";

    #[test]
    fn zero_required_fields_are_encoded_like_the_official_sdk() {
        let ping = Frame::ping(0);
        assert_eq!(hex::encode(ping.to_bytes()), PYTHON_PING_SERVICE_0);
    }

    #[test]
    fn data_frame_matches_the_official_sdk_and_round_trips() {
        let frame = Frame {
            seq_id: 7,
            log_id: 9,
            service: 33,
            method: METHOD_DATA,
            headers: vec![
                Header::new("type", "event"),
                Header::new("message_id", "m1"),
                Header::new("sum", "1"),
                Header::new("seq", "0"),
            ],
            payload: Some(br#"{"code":200}"#.to_vec()),
            ..Frame::default()
        };
        let bytes = frame.to_bytes();
        assert_eq!(hex::encode(&bytes), PYTHON_DATA);
        let back = Frame::from_bytes(&hex::decode(PYTHON_DATA).unwrap()).unwrap();
        assert_eq!(back, frame);
        assert_eq!(back.kind(), Kind::Event);
        assert_eq!(back.header_num(HEADER_SUM), Some(1));
    }

    #[test]
    fn ack_keeps_ids_and_headers_and_adds_biz_rt() {
        let frame = Frame {
            seq_id: 3,
            log_id: 4,
            service: 5,
            method: METHOD_DATA,
            headers: vec![Header::new("type", "event"), Header::new("trace_id", "t")],
            payload: Some(b"{}".to_vec()),
            ..Frame::default()
        };
        let ack = frame.ack(500, 12);
        assert_eq!((ack.seq_id, ack.log_id, ack.service), (3, 4, 5));
        assert_eq!(ack.header("trace_id"), Some("t"));
        assert_eq!(ack.header(HEADER_BIZ_RT), Some("12"));
        assert_eq!(ack_code(ack.payload_bytes()), Some(500));
    }
}
