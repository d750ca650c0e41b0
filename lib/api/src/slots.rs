//! The analyses one instance runs at once, and the bounded queue of those waiting for
//! a slot: a burst waits its turn instead of being refused into dead letters.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// `AEGIS_ANALYZE_CONCURRENCY` slots and a queue of at most `AEGIS_ANALYZE_QUEUE`
/// requests waiting up to `AEGIS_ANALYZE_QUEUE_WAIT` for one. An analysis holds its slot
/// until it ends. Cheap to clone; clones share the slots.
#[derive(Debug, Clone)]
pub struct Slots {
    semaphore: Arc<Semaphore>,
    waiting: Arc<AtomicUsize>,
    queue: usize,
    wait: Duration,
}

/// No slot for this request: 429 with `Retry-After`, saying why.
#[derive(Debug, thiserror::Error)]
pub enum Busy {
    /// Every slot is taken and the caller does not wait.
    #[error("every analysis slot on this instance is taken; retry in {RETRY_AFTER_SECS}s")]
    Taken,
    /// The queue is full.
    #[error(
        "too many analyses on this instance: every slot is taken and {queue} requests are already waiting (AEGIS_ANALYZE_QUEUE); retry in {RETRY_AFTER_SECS}s"
    )]
    QueueFull {
        /// The queue's length.
        queue: usize,
    },
    /// The request waited as long as it may.
    #[error(
        "no analysis slot became free within {}s (AEGIS_ANALYZE_QUEUE_WAIT); retry in {RETRY_AFTER_SECS}s",
        .waited.as_secs()
    )]
    Waited {
        /// How long it waited.
        waited: Duration,
    },
}

/// The `Retry-After` of a 429, in seconds.
pub const RETRY_AFTER_SECS: u64 = 5;

impl Slots {
    /// `n` slots (at least one), a queue of `queue` waiting at most `wait`.
    pub fn new(n: usize, queue: usize, wait: Duration) -> Self {
        Self {
            semaphore: Arc::new(Semaphore::new(n.max(1))),
            waiting: Arc::new(AtomicUsize::new(0)),
            queue,
            wait,
        }
    }

    /// A slot, held until the permit is dropped: at once when one is free, else after
    /// waiting in the queue; [`Busy`] when the queue is full or the wait runs out.
    pub async fn acquire(&self) -> Result<OwnedSemaphorePermit, Busy> {
        if let Ok(permit) = self.semaphore.clone().try_acquire_owned() {
            return Ok(permit);
        }
        let queued = self.waiting.fetch_add(1, Ordering::AcqRel);
        let _leave = Leave(self.waiting.clone());
        if queued >= self.queue {
            return Err(Busy::QueueFull { queue: self.queue });
        }
        match tokio::time::timeout(self.wait, self.semaphore.clone().acquire_owned()).await {
            Ok(Ok(permit)) => Ok(permit),
            // The semaphore is never closed; treat it as a wait that ran out.
            Ok(Err(_)) | Err(_) => Err(Busy::Waited { waited: self.wait }),
        }
    }

    /// A slot at once, or [`Busy::Taken`]: for callers that cannot wait (a stream
    /// must start within seconds).
    pub fn try_acquire(&self) -> Result<OwnedSemaphorePermit, Busy> {
        self.semaphore
            .clone()
            .try_acquire_owned()
            .map_err(|_| Busy::Taken)
    }

    /// Requests waiting for a slot now.
    pub fn waiting(&self) -> usize {
        self.waiting.load(Ordering::Acquire)
    }

    /// The longest a request waits for a slot.
    pub fn max_wait(&self) -> Duration {
        self.wait
    }
}

/// Leaves the queue when dropped (the slot came, the wait ran out, or the caller went).
struct Leave(Arc<AtomicUsize>);

impl Drop for Leave {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
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

    #[tokio::test]
    async fn a_waiting_request_gets_the_slot_freed_before_its_wait_ends() {
        let slots = Slots::new(1, 4, Duration::from_secs(30));
        let held = slots.acquire().await.unwrap();
        let waiter = tokio::spawn({
            let slots = slots.clone();
            async move { slots.acquire().await.map(|_| ()) }
        });
        while slots.waiting() == 0 {
            tokio::task::yield_now().await;
        }
        drop(held);
        waiter
            .await
            .unwrap()
            .expect("the freed slot went to the waiter");
        assert_eq!(slots.waiting(), 0);
    }

    #[tokio::test]
    async fn a_full_queue_is_refused_with_429_naming_the_setting() {
        let slots = Slots::new(1, 1, Duration::from_secs(30));
        let _held = slots.acquire().await.unwrap();
        let _waiter = tokio::spawn({
            let slots = slots.clone();
            async move { slots.acquire().await.map(|_| ()) }
        });
        while slots.waiting() == 0 {
            tokio::task::yield_now().await;
        }
        let busy = slots.acquire().await.unwrap_err();
        assert!(matches!(busy, Busy::QueueFull { queue: 1 }), "{busy}");
        assert_eq!(slots.waiting(), 1, "the refused request left the queue");
        let res = busy.into_response();
        assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(res.headers()[header::RETRY_AFTER], "5");
        let body = axum::body::to_bytes(res.into_body(), 1 << 16)
            .await
            .unwrap();
        assert!(String::from_utf8_lossy(&body).contains("AEGIS_ANALYZE_QUEUE"));
    }

    #[tokio::test(start_paused = true)]
    async fn a_wait_that_runs_out_is_refused() {
        let slots = Slots::new(1, 4, Duration::from_secs(3));
        let _held = slots.acquire().await.unwrap();
        let busy = slots.acquire().await.unwrap_err();
        assert!(matches!(busy, Busy::Waited { .. }), "{busy}");
        assert!(busy.to_string().contains("within 3s"), "{busy}");
        assert_eq!(slots.waiting(), 0);
    }
}
