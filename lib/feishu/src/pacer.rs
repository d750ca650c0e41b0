use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::OwnedMutexGuard;
use tokio::time::Instant;

/// Keeps each chat under Feishu's 5 QPS and its messages in order: one fair (FIFO)
/// lock per chat, held for a whole send including its retries, and a minimum interval
/// between two requests to the chat.
///
/// Hand-written rather than `governor`: a rate limiter alone lets waiters overtake
/// each other and lets a second message slip in while the first is backing off; the
/// FIFO lock gives both ordering and pacing in a few lines.
#[derive(Debug)]
pub(crate) struct Pacer {
    interval: Duration,
    chats: Mutex<HashMap<String, Arc<tokio::sync::Mutex<Option<Instant>>>>>,
}

/// Forget idle chats once this many are tracked.
const PRUNE_AT: usize = 1024;

/// A chat's turn: only one holder per chat at a time.
pub(crate) struct Turn {
    last: OwnedMutexGuard<Option<Instant>>,
    interval: Duration,
}

impl Pacer {
    pub(crate) fn new(interval: Duration) -> Self {
        Self {
            interval,
            chats: Mutex::new(HashMap::new()),
        }
    }

    /// Waits for `key`'s turn (in call order).
    pub(crate) async fn turn(&self, key: &str) -> Turn {
        let slot = {
            let mut chats = self
                .chats
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            if chats.len() >= PRUNE_AT {
                chats.retain(|_, slot| Arc::strong_count(slot) > 1);
            }
            chats.entry(key.to_string()).or_default().clone()
        };
        Turn {
            last: slot.lock_owned().await,
            interval: self.interval,
        }
    }
}

impl Turn {
    /// Sleeps until the interval since the chat's previous request has passed, then
    /// records this request.
    pub(crate) async fn pace(&mut self) {
        if let Some(last) = *self.last {
            tokio::time::sleep_until(last + self.interval).await;
        }
        *self.last = Some(Instant::now());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn one_chat_is_paced_others_are_not() {
        let pacer = Pacer::new(Duration::from_millis(40));
        let start = Instant::now();
        for _ in 0..5 {
            pacer.turn("oc_a").await.pace().await;
        }
        assert!(start.elapsed() >= Duration::from_millis(160));
        let other = Instant::now();
        pacer.turn("oc_b").await.pace().await;
        assert!(other.elapsed() < Duration::from_millis(40));
    }

    #[tokio::test]
    async fn turns_are_taken_in_call_order() {
        let pacer = Arc::new(Pacer::new(Duration::from_millis(5)));
        let order = Arc::new(Mutex::new(Vec::new()));
        let first = pacer.turn("oc_a").await;
        let mut waiters = Vec::new();
        for i in 0..5 {
            let (pacer, order) = (pacer.clone(), order.clone());
            waiters.push(tokio::spawn(async move {
                let mut turn = pacer.turn("oc_a").await;
                turn.pace().await;
                order.lock().unwrap().push(i);
            }));
            // Let each waiter queue up before the next one starts.
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        drop(first);
        for w in waiters {
            w.await.unwrap();
        }
        assert_eq!(*order.lock().unwrap(), vec![0, 1, 2, 3, 4]);
    }
}
