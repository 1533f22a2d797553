//! Requests waiting on partitions (a fetch's long poll, an acks=all or
//! acks=1 produce) register with exactly the partitions they wait on, as
//! Kafka's purgatories watch by partition: an append to one partition
//! wakes only the requests waiting on it, rather than every waiting
//! request re-reading all of its partitions.

use std::sync::Arc;

use parking_lot::Mutex;
use tokio::sync::Notify;

use super::Partition;

/// What a waiting request needs to move.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Awaited {
    /// What consumers may read and producers are answered at: the high
    /// watermark, the last stable offset and the durable end.
    HighWatermark,
    /// The log end: followers replicate up to it.
    LogEnd,
}

/// The requests waiting on one partition.
#[derive(Default)]
pub(super) struct Watchers {
    high_watermark: Mutex<Vec<Arc<Notify>>>,
    log_end: Mutex<Vec<Arc<Notify>>>,
}

impl Watchers {
    fn list(&self, awaited: Awaited) -> &Mutex<Vec<Arc<Notify>>> {
        match awaited {
            Awaited::HighWatermark => &self.high_watermark,
            Awaited::LogEnd => &self.log_end,
        }
    }

    /// Wakes the requests waiting for `awaited`. `notify_one` keeps a
    /// permit for a request between its check and its await, so no wake-up
    /// is lost.
    pub(super) fn wake(&self, awaited: Awaited) {
        for notify in self.list(awaited).lock().iter() {
            notify.notify_one();
        }
    }

    pub(super) fn wake_all(&self) {
        self.wake(Awaited::HighWatermark);
        self.wake(Awaited::LogEnd);
    }

    fn add(&self, awaited: Awaited, notify: &Arc<Notify>) {
        self.list(awaited).lock().push(Arc::clone(notify));
    }

    fn remove(&self, awaited: Awaited, notify: &Arc<Notify>) {
        let mut list = self.list(awaited).lock();
        if let Some(at) = list.iter().position(|n| Arc::ptr_eq(n, notify)) {
            list.swap_remove(at);
        }
    }

    #[cfg(test)]
    pub(super) fn count(&self, awaited: Awaited) -> usize {
        self.list(awaited).lock().len()
    }
}

/// One request's registration with the partitions it waits on, undone
/// when dropped (the request answered, timed out or its connection gone).
pub struct Waiter {
    notify: Arc<Notify>,
    awaited: Awaited,
    partitions: Vec<Arc<Partition>>,
}

impl Waiter {
    pub fn new(partitions: Vec<Arc<Partition>>, awaited: Awaited) -> Waiter {
        let notify = Arc::new(Notify::new());
        for p in &partitions {
            p.watchers.add(awaited, &notify);
        }
        Waiter {
            notify,
            awaited,
            partitions,
        }
    }

    /// Returns once one of the partitions moved as awaited (or at once
    /// when one did since the last call), or changed leader or was deleted.
    pub async fn woken(&self) {
        self.notify.notified().await;
    }
}

impl Drop for Waiter {
    fn drop(&mut self) {
        for p in &self.partitions {
            p.watchers.remove(self.awaited, &self.notify);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test]
    async fn a_wake_before_the_await_is_kept_and_only_watchers_of_the_kind_are_woken() {
        let watchers = Watchers::default();
        let a = Arc::new(Notify::new());
        let b = Arc::new(Notify::new());
        watchers.add(Awaited::HighWatermark, &a);
        watchers.add(Awaited::LogEnd, &b);
        watchers.wake(Awaited::HighWatermark);
        tokio::time::timeout(Duration::from_secs(5), a.notified())
            .await
            .expect("the permit left before the await");
        let early = tokio::time::timeout(Duration::from_millis(20), b.notified()).await;
        assert!(
            early.is_err(),
            "a log-end watcher woken by a high watermark move"
        );
        watchers.wake_all();
        tokio::time::timeout(Duration::from_secs(5), b.notified())
            .await
            .expect("woken by wake_all");
        watchers.remove(Awaited::HighWatermark, &a);
        watchers.remove(Awaited::LogEnd, &b);
        assert_eq!(watchers.count(Awaited::HighWatermark), 0);
        assert_eq!(watchers.count(Awaited::LogEnd), 0);
    }
}
