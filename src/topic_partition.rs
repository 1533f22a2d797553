//! A partition named by its topic's name and its index, as Kafka's
//! `TopicPartition`: the key of the replica manager's hosted, offline and
//! moving replicas and of a transaction's partitions.

use std::fmt;

use serde::{Deserialize, Serialize};

/// Ordered by topic, then index, as Kafka sorts partitions. Serialized as
/// the pair `[topic, index]`: the form controller commands in the metadata
/// log have always held partitions in.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(from = "(String, i32)", into = "(String, i32)")]
pub struct TopicPartition {
    pub topic: String,
    pub partition: i32,
}

impl From<(String, i32)> for TopicPartition {
    fn from((topic, partition): (String, i32)) -> TopicPartition {
        TopicPartition { topic, partition }
    }
}

impl From<TopicPartition> for (String, i32) {
    fn from(tp: TopicPartition) -> (String, i32) {
        (tp.topic, tp.partition)
    }
}

impl TopicPartition {
    pub fn new(topic: impl Into<String>, partition: i32) -> TopicPartition {
        TopicPartition {
            topic: topic.into(),
            partition,
        }
    }
}

/// Partitions by topic id, topics in the order first seen: the shape the
/// group APIs' assignments (ConsumerGroupHeartbeat, ShareGroupHeartbeat
/// and their Describe) carry them in.
pub fn by_topic_id(
    partitions: impl IntoIterator<Item = (uuid::Uuid, i32)>,
) -> Vec<(uuid::Uuid, Vec<i32>)> {
    let mut topics: Vec<(uuid::Uuid, Vec<i32>)> = Vec::new();
    for (topic_id, partition) in partitions {
        match topics.iter_mut().find(|(id, _)| *id == topic_id) {
            Some((_, ps)) => ps.push(partition),
            None => topics.push((topic_id, vec![partition])),
        }
    }
    topics
}

/// "topic-3", as Kafka prints it and names the partition's directory.
impl fmt::Display for TopicPartition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.topic, self.partition)
    }
}

#[cfg(test)]
mod tests {
    use super::TopicPartition;

    #[test]
    fn partitions_group_by_topic_id_in_the_order_first_seen() {
        let (a, b) = (uuid::Uuid::new_v4(), uuid::Uuid::new_v4());
        assert_eq!(
            super::by_topic_id([(b, 2), (a, 0), (b, 0), (a, 1)]),
            [(b, vec![2, 0]), (a, vec![0, 1])]
        );
    }

    #[test]
    fn serializes_as_the_pair_the_metadata_log_holds() {
        let tp = TopicPartition::new("orders", 3);
        assert_eq!(serde_json::to_string(&tp).unwrap(), r#"["orders",3]"#);
        let old: (String, i32) = ("orders".into(), 3);
        let read: TopicPartition =
            serde_json::from_str(&serde_json::to_string(&old).unwrap()).unwrap();
        assert_eq!(read, tp);
    }

    #[test]
    fn displays_as_kafka_and_sorts_by_topic_then_index() {
        assert_eq!(TopicPartition::new("orders", 3).to_string(), "orders-3");
        let mut sorted = vec![
            TopicPartition::new("b", 0),
            TopicPartition::new("a", 10),
            TopicPartition::new("a", 2),
        ];
        sorted.sort();
        assert_eq!(
            sorted,
            [
                TopicPartition::new("a", 2),
                TopicPartition::new("a", 10),
                TopicPartition::new("b", 0)
            ]
        );
    }
}
