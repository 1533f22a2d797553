//! The metadata log's records, as KRaft's `__cluster_metadata` holds them:
//! each committed change to the image is a list of records, derived by
//! comparing the image before and after the controller's change, and every
//! node applies them in log order to rebuild the same image.
//!
//! Design differs from Kafka: a topic's record carries the whole topic
//! (partitions, assignment, leaders, ISR, config) rather than Kafka's
//! separate TopicRecord, PartitionRecord, PartitionChangeRecord and
//! ConfigRecord.

use serde::{Deserialize, Serialize};

use crate::cluster::metadata::{BrokerRegistration, MetadataImage, TopicImage};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum MetadataRecord {
    /// The cluster id, set once when the quorum first forms.
    ClusterId(String),
    /// A broker registered, or registered again with new endpoints.
    RegisterBroker(BrokerRegistration),
    UnregisterBroker(i32),
    /// A topic created or changed: the whole of it.
    Topic(TopicImage),
    RemoveTopic(String),
    /// Kafka's ProducerIdsRecord: the first producer id not yet reserved.
    ProducerIds(i64),
}

/// The records that turn `before` into `after`.
pub fn delta(before: &MetadataImage, after: &MetadataImage) -> Vec<MetadataRecord> {
    let mut out = Vec::new();
    if before.cluster_id != after.cluster_id {
        out.push(MetadataRecord::ClusterId(after.cluster_id.clone()));
    }
    for (id, broker) in &after.brokers {
        if before.brokers.get(id) != Some(broker) {
            out.push(MetadataRecord::RegisterBroker(broker.clone()));
        }
    }
    for id in before.brokers.keys() {
        if !after.brokers.contains_key(id) {
            out.push(MetadataRecord::UnregisterBroker(*id));
        }
    }
    for (name, topic) in &after.topics {
        if before.topics.get(name) != Some(topic) {
            out.push(MetadataRecord::Topic(topic.clone()));
        }
    }
    for name in before.topics.keys() {
        if !after.topics.contains_key(name) {
            out.push(MetadataRecord::RemoveTopic(name.clone()));
        }
    }
    if before.next_producer_id != after.next_producer_id {
        out.push(MetadataRecord::ProducerIds(after.next_producer_id));
    }
    out
}

/// Applies one record to the image.
pub fn apply(image: &mut MetadataImage, record: MetadataRecord) {
    match record {
        MetadataRecord::ClusterId(id) => image.cluster_id = id,
        MetadataRecord::RegisterBroker(b) => {
            image.brokers.insert(b.node_id, b);
        }
        MetadataRecord::UnregisterBroker(id) => {
            image.brokers.remove(&id);
        }
        MetadataRecord::Topic(t) => {
            image.topics.insert(t.name.clone(), t);
        }
        MetadataRecord::RemoveTopic(name) => {
            image.topics.remove(&name);
        }
        MetadataRecord::ProducerIds(next) => image.next_producer_id = next,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster::metadata::PartitionImage;
    use crate::config::TopicConfig;

    fn topic(name: &str, partitions: usize) -> TopicImage {
        TopicImage {
            name: name.into(),
            id: uuid::Uuid::new_v4(),
            partitions: (0..partitions)
                .map(|_| PartitionImage::new(vec![1]))
                .collect(),
            config: TopicConfig::default(),
            internal: false,
        }
    }

    #[test]
    fn applying_the_delta_rebuilds_the_image() {
        let mut before = MetadataImage::default();
        before.topics.insert("gone".into(), topic("gone", 1));
        before.topics.insert("grows".into(), topic("grows", 1));
        let mut after = before.clone();
        after.cluster_id = "c".into();
        after.brokers.insert(
            2,
            BrokerRegistration {
                node_id: 2,
                host: "h".into(),
                port: 9092,
                rack: None,
                fenced: false,
                endpoints: Vec::new(),
            },
        );
        after.topics.remove("gone");
        after.topics.insert("grows".into(), topic("grows", 3));
        after.topics.insert("new".into(), topic("new", 2));
        after.next_producer_id = 1000;
        let records = delta(&before, &after);
        assert_eq!(records.len(), 6);
        let mut rebuilt = before.clone();
        for r in records {
            apply(&mut rebuilt, r);
        }
        assert_eq!(rebuilt, after);
        assert!(delta(&after, &after).is_empty());
    }
}
