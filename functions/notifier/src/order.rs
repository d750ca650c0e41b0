//! Messages of one conversation in the order their events were made: an alert
//! group's cards in the order its notifications were received, a question's
//! acknowledgement before its result.
//!
//! Alertmanager sends a group's notifications one after the other, but a broker
//! delivers events concurrently (Knative's does; so does `aegis dev`'s), and a
//! notifier scaling from zero receives every queued event at once. Two events of one
//! conversation can therefore reach the notifier in either order (a quick analysis'
//! result can overtake the acknowledgement of its question). Each event carries the
//! time it was made (the CloudEvent `time`: when the webhook receiver accepted the
//! notification, when the analysis finished); a conversation's sends take turns in
//! that order: waiters are queued by it, not by arrival, and an event first waits
//! until it is `settle` old, so one delivered a little late still goes first.
//!
//! Hand-written: a FIFO lock (tokio's `Mutex`) orders by arrival, which is the very
//! thing that is not trusted here; no crate offers a lock granted in key order.

use std::collections::hash_map::Entry;
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::sync::oneshot;

/// How long after it was made an event waits for earlier ones still in delivery.
pub const SETTLE: Duration = Duration::from_millis(200);

/// Turns per conversation (an alert group, a request), granted in order of the
/// events' times. Cheap to clone.
#[derive(Clone)]
pub struct Order {
    inner: Arc<Inner>,
}

struct Inner {
    settle: Duration,
    /// A conversation is here while its turn is held (or being handed over).
    groups: Mutex<HashMap<String, Queue>>,
}

/// A waiter's place: receipt time, then arrival (for equal times).
type Place = (DateTime<Utc>, u64);

#[derive(Default)]
struct Queue {
    waiting: BTreeMap<Place, oneshot::Sender<()>>,
    arrivals: u64,
}

/// A conversation's turn; the next waiter (earliest event) gets it on drop.
pub struct Turn {
    inner: Arc<Inner>,
    group: String,
}

impl Order {
    /// Turns that wait `settle` after an event's receipt before going.
    pub fn new(settle: Duration) -> Self {
        Self {
            inner: Arc::new(Inner {
                settle,
                groups: Mutex::default(),
            }),
        }
    }

    /// Waits for `group`'s turn for an event made at `received`: after every waiting
    /// event of the conversation made earlier, and no sooner than `settle` after
    /// `received` (at most `settle` from now, whatever the clocks say).
    pub async fn turn(&self, group: &str, received: DateTime<Utc>) -> Turn {
        let settle = self.inner.settle;
        // A receipt time ahead of this clock (skew between nodes) waits the full settle.
        let hold = (Utc::now() - received)
            .to_std()
            .map_or(settle, |age| settle.saturating_sub(age));
        tokio::time::sleep(hold).await;
        let waiting = {
            let mut groups = self.inner.lock();
            match groups.entry(group.to_string()) {
                Entry::Vacant(free) => {
                    free.insert(Queue::default());
                    None
                }
                Entry::Occupied(mut held) => {
                    let queue = held.get_mut();
                    let (tx, rx) = oneshot::channel();
                    let place = (received, queue.arrivals);
                    queue.arrivals += 1;
                    queue.waiting.insert(place, tx);
                    Some(Waiting {
                        inner: self.inner.clone(),
                        group: group.to_string(),
                        place,
                        rx,
                        granted: false,
                    })
                }
            }
        };
        if let Some(waiting) = waiting {
            waiting.wait().await;
        }
        Turn {
            inner: self.inner.clone(),
            group: group.to_string(),
        }
    }
}

impl Inner {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Queue>> {
        self.groups
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Hands `group`'s turn to its earliest waiter, or frees it.
    fn release(&self, group: &str) {
        let mut groups = self.lock();
        let Some(queue) = groups.get_mut(group) else {
            return;
        };
        match queue.waiting.pop_first() {
            // The waiter's receiver lives until its `Waiting` is dropped, and that
            // drop takes this lock and finds its place gone: it passes the turn on.
            Some((_, tx)) => {
                let _ = tx.send(());
            }
            None => {
                groups.remove(group);
            }
        }
    }
}

/// A queued waiter. Dropped before its turn came (the request was cancelled), it
/// leaves the queue; dropped after the turn was handed to it, it passes it on.
struct Waiting {
    inner: Arc<Inner>,
    group: String,
    place: Place,
    rx: oneshot::Receiver<()>,
    granted: bool,
}

impl Waiting {
    async fn wait(mut self) {
        // The sender is only dropped by sending (see `release`).
        let _ = (&mut self.rx).await;
        self.granted = true;
    }
}

impl Drop for Waiting {
    fn drop(&mut self) {
        if self.granted {
            return; // the `Turn` now holds it
        }
        let still_waiting = {
            let mut groups = self.inner.lock();
            groups
                .get_mut(&self.group)
                .and_then(|q| q.waiting.remove(&self.place))
                .is_some()
        };
        if !still_waiting {
            self.inner.release(&self.group);
        }
    }
}

impl Drop for Turn {
    fn drop(&mut self) {
        self.inner.release(&self.group);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(ms: i64) -> DateTime<Utc> {
        DateTime::<Utc>::UNIX_EPOCH + chrono::Duration::milliseconds(ms)
    }

    #[tokio::test]
    async fn waiters_go_in_order_of_receipt_not_arrival() {
        let order = Order::new(Duration::ZERO);
        let first = order.turn("g", at(1)).await;
        let done = Arc::new(Mutex::new(Vec::new()));
        let mut tasks = Vec::new();
        // Arrive as 4, 2, 3 while 1 holds the turn.
        for received in [4, 2, 3] {
            let (order, done) = (order.clone(), done.clone());
            tasks.push(tokio::spawn(async move {
                let _turn = order.turn("g", at(received)).await;
                done.lock().unwrap().push(received);
                tokio::task::yield_now().await;
            }));
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        assert!(
            done.lock().unwrap().is_empty(),
            "nobody overtakes the holder"
        );
        drop(first);
        for task in tasks {
            task.await.unwrap();
        }
        assert_eq!(*done.lock().unwrap(), vec![2, 3, 4]);
    }

    #[tokio::test]
    async fn groups_do_not_wait_for_each_other() {
        let order = Order::new(Duration::ZERO);
        let _a = order.turn("a", at(1)).await;
        let b = tokio::time::timeout(Duration::from_secs(1), order.turn("b", at(2))).await;
        assert!(b.is_ok(), "another group's turn is free");
    }

    #[tokio::test]
    async fn a_late_delivery_of_an_earlier_event_still_goes_first() {
        let order = Order::new(Duration::from_millis(300));
        let now = Utc::now();
        let done = Arc::new(Mutex::new(Vec::new()));
        let later = {
            let (order, done) = (order.clone(), done.clone());
            tokio::spawn(async move {
                let _turn = order
                    .turn("g", now + chrono::Duration::milliseconds(10))
                    .await;
                done.lock().unwrap().push("later");
            })
        };
        // The earlier event arrives 100 ms after the later one, inside the settle time.
        tokio::time::sleep(Duration::from_millis(100)).await;
        {
            let _turn = order.turn("g", now).await;
            done.lock().unwrap().push("earlier");
        }
        later.await.unwrap();
        assert_eq!(*done.lock().unwrap(), vec!["earlier", "later"]);
    }

    #[tokio::test]
    async fn a_cancelled_waiter_neither_blocks_nor_loses_the_turn() {
        let order = Order::new(Duration::ZERO);
        let first = order.turn("g", at(1)).await;
        // Cancelled while queued: leaves the queue.
        let cancelled =
            tokio::time::timeout(Duration::from_millis(20), order.turn("g", at(2))).await;
        assert!(cancelled.is_err());
        let next = {
            let order = order.clone();
            tokio::spawn(async move { order.turn("g", at(3)).await })
        };
        tokio::time::sleep(Duration::from_millis(5)).await;
        drop(first);
        let next = tokio::time::timeout(Duration::from_secs(1), next)
            .await
            .expect("the turn reaches the next waiter")
            .unwrap();
        drop(next);
        assert!(
            order.inner.lock().is_empty(),
            "the group is forgotten once idle"
        );
    }

    #[tokio::test]
    async fn an_old_event_does_not_wait() {
        let order = Order::new(Duration::from_secs(30));
        let turn = tokio::time::timeout(
            Duration::from_secs(1),
            order.turn("g", Utc::now() - chrono::Duration::minutes(1)),
        )
        .await;
        assert!(turn.is_ok());
    }
}
