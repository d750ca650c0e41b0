//! The extensions a Knative Broker (and the local broker of `aegis dev`, which
//! follows it) sets on the events it routes: what the dead-letter sink reads and what
//! a resend must drop.

/// The hop-count extension: set on ingress, decremented on each reply, dropped at 0
/// (Knative's broker uses the same name and default), so a reply loop cannot run away.
pub const TTL_EXTENSION: &str = "knativebrokerttl";
/// The hop budget of a new event.
pub const DEFAULT_TTL: u32 = 255;

/// Dead-lettered events carry where, with what status and what body delivery failed.
pub const EXT_ERROR_DEST: &str = "knativeerrordest";
/// The status of the last failed attempt (absent for connection errors).
pub const EXT_ERROR_CODE: &str = "knativeerrorcode";
/// The body of the last failed attempt, base64, at most 1 KiB of it.
pub const EXT_ERROR_DATA: &str = "knativeerrordata";
