//! Outgoing request failures in a few words.

/// What went wrong with an outgoing request, without the URL (which may carry
/// credentials or tickets) and without upstream bodies: fit for logs, errors and
/// answers to callers.
pub fn describe(e: &reqwest::Error) -> &'static str {
    if e.is_timeout() {
        "timeout"
    } else if e.is_connect() {
        "connection failed"
    } else if e.is_decode() || e.is_body() {
        "unreadable answer"
    } else {
        "request failed"
    }
}
