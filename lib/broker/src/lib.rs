//! The local broker of `aegis dev`: Knative Broker and Trigger manifests, filters,
//! delivery policy, and the in-process broker that routes by them over real HTTP,
//! durably when given a journal.

mod delivery;
mod destination;
mod filter;
mod hop;
mod journal;
mod local;
mod manifest;

pub use delivery::{BackoffPolicy, Delivery, parse_iso8601};
pub use destination::Destination;
pub use filter::{Filter, FilterError, attribute};
pub use hop::{Hop, HopOutcome};
pub use journal::{Journal, JournalError, Owed};
pub use local::{
    Broker, DEFAULT_TTL, EXT_ERROR_CODE, EXT_ERROR_DATA, EXT_ERROR_DEST, PublishError,
    TTL_EXTENSION,
};
pub use manifest::{BrokerManifest, EMBEDDED, ManifestError, Manifests, Trigger};
