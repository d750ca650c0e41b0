//! A kept dead letter: an event whose delivery failed for good.

use chrono::{DateTime, Utc};

use super::listing::Listed;
use super::{key, layout};

/// One kept dead letter (see [`crate::ReportStore::put_dead_letter`]).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct DeadLetter {
    /// When the dead letter sink received it.
    pub received_at: DateTime<Utc>,
    /// The CloudEvent as the sink received it (structured JSON, with the Broker's
    /// `knativeerrordest`, `knativeerrorcode` and `knativeerrordata` extensions).
    #[schema(value_type = Object)]
    pub event: serde_json::Value,
}

impl DeadLetter {
    /// The kept event's id (`""` for an event without one, which a Broker never
    /// delivers).
    pub fn id(&self) -> &str {
        self.event
            .get("id")
            .and_then(serde_json::Value::as_str)
            .unwrap_or_default()
    }
}

impl Listed for DeadLetter {
    const FOLDER: &'static str = layout::DEAD_LETTERS;
    const WHAT: &'static str = "dead letter";

    /// The time in `<reverse time>-<id>.json`; other names are not dead letters.
    fn time(name: &str) -> Option<DateTime<Utc>> {
        key::index_time(name.strip_suffix(".json")?)
    }

    fn decode(received_at: DateTime<Utc>, bytes: &[u8]) -> Result<Self, String> {
        serde_json::from_slice(bytes)
            .map(|event| Self { received_at, event })
            .map_err(|e| e.to_string())
    }
}
