//! ReplicaManager's IsrShrinksPerSec and IsrExpandsPerSec: the ISR
//! changes this broker, as a leader, had the controller accept.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};

use prometheus_client::encoding::{DescriptorEncoder, NoLabelSet};
use prometheus_client::metrics::MetricType;

static SHRINKS: AtomicU64 = AtomicU64::new(0);
static EXPANDS: AtomicU64 = AtomicU64::new(0);

/// A follower fell out of a partition's ISR.
pub fn shrunk() {
    SHRINKS.fetch_add(1, Ordering::Relaxed);
}

/// A follower caught up and joined a partition's ISR.
pub fn expanded() {
    EXPANDS.fetch_add(1, Ordering::Relaxed);
}

pub(super) fn encode(enc: &mut DescriptorEncoder) -> fmt::Result {
    for (name, help, counter) in [
        (
            "kafka_server_replicamanager_isrshrinks",
            "ISR shrinks of partitions this broker leads (IsrShrinksPerSec).",
            &SHRINKS,
        ),
        (
            "kafka_server_replicamanager_isrexpands",
            "ISR expansions of partitions this broker leads (IsrExpandsPerSec).",
            &EXPANDS,
        ),
    ] {
        enc.encode_descriptor(name, help, None, MetricType::Counter)?
            .encode_counter::<NoLabelSet, _, u64>(&counter.load(Ordering::Relaxed), None)?;
    }
    Ok(())
}
