//! Kafka's BrokerTopicMetrics: per-topic counters bumped on the produce
//! and fetch paths. Each partition keeps its topic's handle, so an append
//! costs two atomic adds (the topic's and the all-topics total) and no
//! lookup; the fetch and produce responses look a topic up once each.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, LazyLock};

use parking_lot::RwLock;
use uuid::Uuid;

/// One topic's counters (or the all-topics total).
#[derive(Debug, Default)]
pub struct TopicCounters {
    pub messages_in: AtomicU64,
    pub bytes_in: AtomicU64,
    pub bytes_out: AtomicU64,
    pub replication_bytes_out: AtomicU64,
    pub failed_produce: AtomicU64,
    pub failed_fetch: AtomicU64,
    pub produce_requests: AtomicU64,
    pub fetch_requests: AtomicU64,
}

/// The counter fields, in the order [`TopicCounters::values`] gives them.
pub const FIELDS: [(&str, &str); 8] = [
    (
        "kafka_server_brokertopicmetrics_messagesin",
        "Records appended as leader (MessagesInPerSec).",
    ),
    (
        "kafka_server_brokertopicmetrics_bytesin",
        "Record batch bytes appended as leader (BytesInPerSec).",
    ),
    (
        "kafka_server_brokertopicmetrics_bytesout",
        "Record bytes sent to consumers, replication excluded (BytesOutPerSec).",
    ),
    (
        "kafka_server_brokertopicmetrics_replicationbytesout",
        "Record bytes sent to follower replicas (ReplicationBytesOutPerSec).",
    ),
    (
        "kafka_server_brokertopicmetrics_failedproducerequests",
        "Produce partition requests answered with an error (FailedProduceRequestsPerSec).",
    ),
    (
        "kafka_server_brokertopicmetrics_failedfetchrequests",
        "Fetch partition requests answered with an error (FailedFetchRequestsPerSec).",
    ),
    (
        "kafka_server_brokertopicmetrics_totalproducerequests",
        "Produce partition requests (TotalProduceRequestsPerSec).",
    ),
    (
        "kafka_server_brokertopicmetrics_totalfetchrequests",
        "Fetch partition requests from consumers (TotalFetchRequestsPerSec).",
    ),
];

impl TopicCounters {
    pub fn values(&self) -> [u64; 8] {
        [
            &self.messages_in,
            &self.bytes_in,
            &self.bytes_out,
            &self.replication_bytes_out,
            &self.failed_produce,
            &self.failed_fetch,
            &self.produce_requests,
            &self.fetch_requests,
        ]
        .map(|c| c.load(Ordering::Relaxed))
    }
}

/// A topic's handle, which adds to the all-topics total as well.
#[derive(Debug, Clone)]
pub struct TopicHandle(Arc<TopicCounters>);

impl TopicHandle {
    /// A leader's append of `records` records in `bytes` bytes.
    pub fn appended(&self, records: u64, bytes: u64) {
        if !super::enabled() {
            return;
        }
        for c in [&*self.0, &ALL] {
            c.messages_in.fetch_add(records, Ordering::Relaxed);
            c.bytes_in.fetch_add(bytes, Ordering::Relaxed);
        }
    }

    /// Bumps `field` of this topic and of the total by `n`.
    fn add(&self, field: fn(&TopicCounters) -> &AtomicU64, n: u64) {
        field(&self.0).fetch_add(n, Ordering::Relaxed);
        field(&ALL).fetch_add(n, Ordering::Relaxed);
    }

    pub fn produced(&self, failed: bool) {
        self.add(|c| &c.produce_requests, 1);
        if failed {
            self.add(|c| &c.failed_produce, 1);
        }
    }

    /// One partition of a Fetch answered with `bytes` record bytes.
    pub fn fetched(&self, follower: bool, failed: bool, bytes: u64) {
        if follower {
            self.add(|c| &c.replication_bytes_out, bytes);
            return;
        }
        self.add(|c| &c.fetch_requests, 1);
        self.add(|c| &c.bytes_out, bytes);
        if failed {
            self.add(|c| &c.failed_fetch, 1);
        }
    }
}

/// Every topic's counters: all topics since the process started; the
/// scrape shows those still in the metadata.
#[derive(Default)]
struct Topics {
    by_name: HashMap<String, Arc<TopicCounters>>,
    by_id: HashMap<Uuid, Arc<TopicCounters>>,
}

static TOPICS: LazyLock<RwLock<Topics>> = LazyLock::new(Default::default);
static ALL: TopicCounters = TopicCounters {
    messages_in: AtomicU64::new(0),
    bytes_in: AtomicU64::new(0),
    bytes_out: AtomicU64::new(0),
    replication_bytes_out: AtomicU64::new(0),
    failed_produce: AtomicU64::new(0),
    failed_fetch: AtomicU64::new(0),
    produce_requests: AtomicU64::new(0),
    fetch_requests: AtomicU64::new(0),
};

/// The handle of topic `name` (id `id`), made on first use. A topic
/// deleted and created again under the same name keeps counting on.
pub fn topic(name: &str, id: Uuid) -> TopicHandle {
    if let Some(c) = TOPICS.read().by_id.get(&id) {
        return TopicHandle(c.clone());
    }
    let mut topics = TOPICS.write();
    let counters = topics.by_name.entry(name.to_string()).or_default().clone();
    topics.by_id.insert(id, counters.clone());
    TopicHandle(counters)
}

/// The handle of a topic named in a response: by id, else by name.
pub fn known(name: &str, id: &Uuid) -> Option<TopicHandle> {
    let topics = TOPICS.read();
    match topics.by_id.get(id) {
        Some(c) => Some(TopicHandle(c.clone())),
        None => topics.by_name.get(name).map(|c| TopicHandle(c.clone())),
    }
}

/// Each topic's counter values, by name, and the all-topics total.
pub fn snapshot() -> (Vec<(String, [u64; 8])>, [u64; 8]) {
    let topics = TOPICS.read();
    let per_topic = topics
        .by_name
        .iter()
        .map(|(name, c)| (name.clone(), c.values()))
        .collect();
    (per_topic, ALL.values())
}
