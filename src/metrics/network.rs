//! Kafka's socket-server-metrics per listener: connections open, created
//! and closed. A listener takes its handle once; each connection then
//! costs two atomic adds.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, LazyLock};

use parking_lot::Mutex;

#[derive(Debug, Default)]
pub struct ListenerCounters {
    created: AtomicU64,
    closed: AtomicU64,
}

impl ListenerCounters {
    /// An accepted connection, counted closed when the guard drops.
    pub fn opened(self: &Arc<Self>) -> OpenConnection {
        self.created.fetch_add(1, Ordering::Relaxed);
        OpenConnection(self.clone())
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

/// (listener, created, closed) for every listener.
pub fn snapshot() -> Vec<(String, u64, u64)> {
    LISTENERS
        .lock()
        .iter()
        .map(|(name, c)| {
            // Closed first: a connection counted closed is always counted created.
            let closed = c.closed.load(Ordering::Relaxed);
            (name.clone(), c.created.load(Ordering::Relaxed), closed)
        })
        .collect()
}
