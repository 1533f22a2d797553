//! A partition named by its topic's name and its index, as Kafka's
//! `TopicPartition`: the key of the replica manager's hosted, offline and
//! moving replicas and of a transaction's partitions.

use std::fmt;

/// Ordered by topic, then index, as Kafka sorts partitions.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TopicPartition {
    pub topic: String,
    pub partition: i32,
}

impl TopicPartition {
    pub fn new(topic: impl Into<String>, partition: i32) -> TopicPartition {
        TopicPartition {
            topic: topic.into(),
            partition,
        }
    }
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
