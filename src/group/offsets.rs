//! Committed offsets: per group, per topic partition, with the metadata and
//! leader epoch the consumer sent.

use std::collections::BTreeMap;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommittedOffset {
    pub offset: i64,
    pub leader_epoch: i32,
    pub metadata: Option<String>,
    pub commit_timestamp_ms: i64,
}

#[derive(Default)]
pub struct OffsetStore {
    offsets: BTreeMap<String, BTreeMap<(String, i32), CommittedOffset>>,
}

impl OffsetStore {
    pub fn commit(&mut self, group: &str, topic: &str, partition: i32, offset: CommittedOffset) {
        self.offsets
            .entry(group.to_string())
            .or_default()
            .insert((topic.to_string(), partition), offset);
    }

    pub fn remove(&mut self, group: &str, topic: &str, partition: i32) {
        if let Some(m) = self.offsets.get_mut(group) {
            m.remove(&(topic.to_string(), partition));
        }
    }

    pub fn remove_group(&mut self, group: &str) {
        self.offsets.remove(group);
    }

    pub fn get(&self, group: &str, topic: &str, partition: i32) -> Option<&CommittedOffset> {
        self.offsets
            .get(group)?
            .get(&(topic.to_string(), partition))
    }

    /// Every committed partition of `group`, in topic then partition order.
    pub fn all(&self, group: &str) -> Vec<(String, i32, CommittedOffset)> {
        self.offsets
            .get(group)
            .map(|m| {
                m.iter()
                    .map(|((t, p), o)| (t.clone(), *p, o.clone()))
                    .collect()
            })
            .unwrap_or_default()
    }
}
