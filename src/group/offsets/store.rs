//! Committed offsets: per group, per topic partition, with the metadata and
//! leader epoch the consumer sent.

use std::collections::BTreeMap;

use crate::topic_partition::TopicPartition;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommittedOffset {
    pub offset: i64,
    pub leader_epoch: i32,
    pub metadata: Option<String>,
    pub commit_timestamp_ms: i64,
}

#[derive(Default)]
pub struct OffsetStore {
    offsets: BTreeMap<String, BTreeMap<TopicPartition, CommittedOffset>>,
}

impl OffsetStore {
    pub fn commit(&mut self, group: &str, topic: &str, partition: i32, offset: CommittedOffset) {
        self.offsets
            .entry(group.to_string())
            .or_default()
            .insert(TopicPartition::new(topic, partition), offset);
    }

    pub fn remove(&mut self, group: &str, topic: &str, partition: i32) {
        if let Some(m) = self.offsets.get_mut(group) {
            m.remove(&TopicPartition::new(topic, partition));
        }
    }

    /// Committed partitions older than `retention_ms` at `now_ms`, in groups
    /// for which `active` is false (Kafka keeps offsets of groups with members).
    pub fn expired(
        &self,
        now_ms: i64,
        retention_ms: i64,
        active: impl Fn(&str) -> bool,
    ) -> Vec<(String, Vec<TopicPartition>)> {
        self.offsets
            .iter()
            .filter(|(group, _)| !active(group))
            .map(|(group, partitions)| {
                let old = partitions
                    .iter()
                    .filter(|(_, o)| now_ms.saturating_sub(o.commit_timestamp_ms) > retention_ms)
                    .map(|(tp, _)| tp.clone())
                    .collect::<Vec<_>>();
                (group.clone(), old)
            })
            .filter(|(_, old)| !old.is_empty())
            .collect()
    }

    /// Keeps only the groups `keep` admits.
    pub fn retain_groups(&mut self, keep: impl Fn(&str) -> bool) {
        self.offsets.retain(|group, _| keep(group));
    }

    pub fn remove_group(&mut self, group: &str) {
        self.offsets.remove(group);
    }

    pub fn get(&self, group: &str, topic: &str, partition: i32) -> Option<&CommittedOffset> {
        self.offsets
            .get(group)?
            .get(&TopicPartition::new(topic, partition))
    }

    /// Every committed offset: (group, topic, partition, offset).
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str, i32, &CommittedOffset)> {
        self.offsets.iter().flat_map(|(g, m)| {
            m.iter()
                .map(move |(tp, o)| (g.as_str(), tp.topic.as_str(), tp.partition, o))
        })
    }

    /// Every committed partition of `group`, in topic then partition order.
    pub fn all(&self, group: &str) -> Vec<(TopicPartition, CommittedOffset)> {
        self.offsets
            .get(group)
            .map(|m| m.iter().map(|(tp, o)| (tp.clone(), o.clone())).collect())
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(ts: i64) -> CommittedOffset {
        CommittedOffset {
            offset: 1,
            leader_epoch: -1,
            metadata: None,
            commit_timestamp_ms: ts,
        }
    }

    #[test]
    fn only_old_offsets_of_inactive_groups_expire() {
        let mut store = OffsetStore::default();
        store.commit("idle", "t", 0, at(1_000));
        store.commit("idle", "t", 1, at(9_000));
        store.commit("busy", "t", 0, at(1_000));
        let expired = store.expired(10_000, 5_000, |g| g == "busy");
        assert_eq!(
            expired,
            vec![("idle".to_string(), vec![TopicPartition::new("t", 0)])]
        );
    }
}
