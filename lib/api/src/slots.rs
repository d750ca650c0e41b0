use std::sync::Arc;

use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// The analyses one instance runs at once (`AEGIS_ANALYZE_CONCURRENCY`): an analysis
/// holds a slot until it ends; past the limit, callers get 429 with `Retry-After`.
#[derive(Debug, Clone)]
pub struct Slots {
    semaphore: Arc<Semaphore>,
}

/// Every slot is taken: 429, retry later.
#[derive(Debug, thiserror::Error)]
#[error("too many analyses in progress on this instance; retry in {RETRY_AFTER_SECS}s")]
pub struct Busy;

/// The `Retry-After` of a 429, in seconds.
pub const RETRY_AFTER_SECS: u64 = 5;

impl Slots {
    /// `n` slots.
    pub fn new(n: usize) -> Self {
        Self {
            semaphore: Arc::new(Semaphore::new(n.max(1))),
        }
    }

    /// A slot, held until the permit is dropped, or [`Busy`].
    pub fn try_acquire(&self) -> Result<OwnedSemaphorePermit, Busy> {
        self.semaphore.clone().try_acquire_owned().map_err(|_| Busy)
    }
}

impl IntoResponse for Busy {
    fn into_response(self) -> Response {
        (
            StatusCode::TOO_MANY_REQUESTS,
            [(header::RETRY_AFTER, RETRY_AFTER_SECS.to_string())],
            axum::Json(serde_json::json!({"error": self.to_string()})),
        )
            .into_response()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_are_returned_on_drop() {
        let slots = Slots::new(1);
        let held = slots.try_acquire().unwrap();
        let busy = slots.try_acquire().unwrap_err().into_response();
        assert_eq!(busy.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(busy.headers()[header::RETRY_AFTER], "5");
        drop(held);
        assert!(slots.try_acquire().is_ok());
    }
}
