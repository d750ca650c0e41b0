//! The HTTP API of analyses, compatible with the original service's: the analyze
//! request and its errors ([`request`]), admission under the concurrency limit
//! ([`Analyses`], [`Slots`]), the read API over stored reports ([`read`]) and
//! incidents ([`incidents`]) and the OpenAPI document ([`openapi`]). The analyze and analyze-stream functions mount it.

mod admission;
pub mod incidents;
pub mod openapi;
pub mod read;
pub mod request;
mod slots;

pub use admission::{Admitted, Analyses, Refused};
pub use slots::{Busy, RETRY_AFTER_SECS, Slots};

/// The `Accept-Language` header of a request, if it has a readable one.
pub fn accept_language(headers: &axum::http::HeaderMap) -> Option<&str> {
    headers
        .get(axum::http::header::ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok())
}
