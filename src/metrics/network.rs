//! Kafka's socket-server-metrics per listener: connections open, created
//! and closed, and connections held back by the creation rate quotas. A
//! listener takes its handle once; each connection then costs two atomic
//! adds.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, LazyLock};

use parking_lot::Mutex;

#[derive(Debug, Default)]
pub struct ListenerCounters {
    created: AtomicU64,
    closed: AtomicU64,
    accept_throttled: AtomicU64,
    ip_throttled: AtomicU64,
}

impl ListenerCounters {
    /// An accepted connection, counted closed when the guard drops.
    pub fn opened(self: &Arc<Self>) -> OpenConnection {
        self.created.fetch_add(1, Ordering::Relaxed);
        OpenConnection(self.clone())
    }

    /// A connection the listener waited to serve (`max.connection.creation.rate`).
    pub fn accept_throttled(&self) {
        self.accept_throttled.fetch_add(1, Ordering::Relaxed);
    }

    /// A connection closed unread for its address's `connection_creation_rate`.
    pub fn ip_throttled(&self) {
        self.ip_throttled.fetch_add(1, Ordering::Relaxed);
    }
}

pub struct OpenConnection(Arc<ListenerCounters>);

impl Drop for OpenConnection {
    fn drop(&mut self) {
        self.0.closed.fetch_add(1, Ordering::Relaxed);
    }
}

static LISTENERS: LazyLock<Mutex<BTreeMap<String, Arc<ListenerCounters>>>> =
    LazyLock::new(Default::default);

/// The counters of the listener named `name`.
pub fn listener(name: &str) -> Arc<ListenerCounters> {
    LISTENERS
        .lock()
        .entry(name.to_string())
        .or_default()
        .clone()
}

/// One listener's figures.
pub struct ListenerSnapshot {
    pub listener: String,
    pub created: u64,
    pub closed: u64,
    pub accept_throttled: u64,
    pub ip_throttled: u64,
}

/// Every listener's figures.
pub fn snapshot() -> Vec<ListenerSnapshot> {
    LISTENERS
        .lock()
        .iter()
        .map(|(name, c)| {
            // Closed first: a connection counted closed is always counted created.
            let closed = c.closed.load(Ordering::Relaxed);
            ListenerSnapshot {
                listener: name.clone(),
                created: c.created.load(Ordering::Relaxed),
                closed,
                accept_throttled: c.accept_throttled.load(Ordering::Relaxed),
                ip_throttled: c.ip_throttled.load(Ordering::Relaxed),
            }
        })
        .collect()
}
