//! When a connection counts as idle (`connections.max.idle.ms`): nothing
//! read, nothing written and no request of its own in progress for that
//! long. Kafka's selector counts any bytes moved as activity, so a request
//! whose bytes stop arriving part-way is idle too, and its buffer goes when
//! the connection does. A request the broker is still handling (a Fetch
//! long poll, a Produce waiting for acks=all) is the broker's delay, not
//! the client's, and keeps the connection.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;

pub(crate) struct Activity {
    opened: Instant,
    /// Milliseconds from `opened` to the last bytes read or written.
    last_ms: AtomicU64,
    /// Requests being handled or waiting for `queued.max.request.bytes`.
    busy: AtomicUsize,
}

impl Activity {
    pub fn new() -> Arc<Activity> {
        Arc::new(Activity {
            opened: Instant::now(),
            last_ms: AtomicU64::new(0),
            busy: AtomicUsize::new(0),
        })
    }

    /// Bytes moved: the connection is in use now.
    pub fn stamp(&self) {
        let ms = self.opened.elapsed().as_millis() as u64;
        self.last_ms.fetch_max(ms, Ordering::Relaxed);
    }

    /// Marks a request in progress until the guard is dropped.
    pub fn busy(self: &Arc<Self>) -> Busy {
        self.busy.fetch_add(1, Ordering::Relaxed);
        Busy(self.clone())
    }

    /// Completes once the connection has been idle for `limit`; never when
    /// `limit` is `None`.
    pub async fn idle(&self, limit: Option<Duration>) {
        let Some(limit) = limit else {
            return std::future::pending().await;
        };
        loop {
            let deadline = if self.busy.load(Ordering::Relaxed) > 0 {
                Instant::now().checked_add(limit)
            } else {
                let last =
                    self.opened + Duration::from_millis(self.last_ms.load(Ordering::Relaxed));
                if last.elapsed() >= limit {
                    return;
                }
                last.checked_add(limit)
            };
            // A limit past the end of time (Long.MAX_VALUE ms) never expires.
            let Some(deadline) = deadline else {
                return std::future::pending().await;
            };
            tokio::time::sleep_until(deadline).await;
        }
    }
}

/// A request in progress; its end counts as activity, so that a handler
/// that ran longer than the idle limit does not leave its connection to be
/// closed at once.
pub(crate) struct Busy(Arc<Activity>);

impl Drop for Busy {
    fn drop(&mut self) {
        self.0.stamp();
        self.0.busy.fetch_sub(1, Ordering::Relaxed);
    }
}
