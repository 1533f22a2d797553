//! Leader elections, as kafka-leader-election.sh runs them.
//!
//! They go through librdkafka's ElectLeaders rather than the tools' own
//! Kafka-protocol connection that reassignments need: librdkafka finds the
//! controller itself and honours every -X setting (TLS, SASL), as the other
//! admin commands do.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use super::admin::Admin;
use super::error::{ClientError, Result};
use super::native::{self, ElectionKind, TopicPartition};

/// Which replica an election may choose.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ElectionType {
    /// The first replica, if it is alive and in sync.
    Preferred,
    /// Any live replica when no in-sync one is left, at the risk of losing
    /// records the old leader acknowledged.
    Unclean,
}

/// One partition's election.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Election {
    pub topic: String,
    pub partition: i32,
    #[serde(flatten)]
    pub outcome: ElectionOutcome,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "result")]
pub enum ElectionOutcome {
    Elected,
    /// The replica the election would choose already leads (Kafka's
    /// ELECTION_NOT_NEEDED), which is not a failure.
    NotNeeded,
    /// Kafka's name for the error, with the broker's explanation.
    Failed {
        error: String,
    },
}

// Other fields are let through, as Kafka's tool does, so that a
// reassignment plan names its partitions for an election too.
#[derive(Deserialize)]
struct PartitionsFile {
    partitions: Vec<PartitionEntry>,
}

#[derive(Deserialize)]
struct PartitionEntry {
    topic: String,
    partition: i32,
}

/// Reads Kafka's `{"partitions":[{"topic":"a","partition":0}]}`, or the
/// partitions of a reassignment plan; `source` names where the text came
/// from.
pub fn parse_partitions(text: &str, source: &str) -> Result<Vec<TopicPartition>> {
    let invalid = |why: String| ClientError::Invalid(format!("{source}: {why}"));
    let file: PartitionsFile = serde_json::from_str(text)
        .map_err(|e| invalid(format!("not a list of partitions: {e}")))?;
    if file.partitions.is_empty() {
        return Err(invalid("no partitions named".to_string()));
    }
    let mut seen = BTreeSet::new();
    file.partitions
        .into_iter()
        .map(|p| {
            if p.partition < 0 {
                return Err(invalid(format!(
                    "{}-{} is not a partition",
                    p.topic, p.partition
                )));
            }
            if !seen.insert((p.topic.clone(), p.partition)) {
                return Err(invalid(format!(
                    "{}-{} is named twice",
                    p.topic, p.partition
                )));
            }
            Ok(TopicPartition::new(p.topic, p.partition))
        })
        .collect()
}

impl Admin {
    /// ElectLeaders for `partitions`, or for every partition that needs a
    /// new leader when `None`; results sorted by topic and partition.
    pub async fn elect_leaders(
        &self,
        election: ElectionType,
        partitions: Option<Vec<TopicPartition>>,
    ) -> Result<Vec<Election>> {
        let kind = match election {
            ElectionType::Preferred => ElectionKind::RD_KAFKA_ELECTION_TYPE_PREFERRED,
            ElectionType::Unclean => ElectionKind::RD_KAFKA_ELECTION_TYPE_UNCLEAN,
        };
        let timeout = self.settings.timeout;
        let answers = self
            .blocking(move |_, handle| {
                native::elect_leaders(handle, kind, partitions.as_deref(), timeout)
            })
            .await?;
        let mut elections: Vec<Election> = answers
            .into_iter()
            .map(|a| Election {
                topic: a.partition.topic,
                partition: a.partition.partition,
                outcome: match a.error {
                    None => ElectionOutcome::Elected,
                    Some((rdkafka::types::RDKafkaErrorCode::ElectionNotNeeded, _)) => {
                        ElectionOutcome::NotNeeded
                    }
                    Some((code, message)) => ElectionOutcome::Failed {
                        error: match message {
                            Some(m) if !m.is_empty() => format!("{code:?} ({m})"),
                            _ => format!("{code:?}"),
                        },
                    },
                },
            })
            .collect();
        elections.sort_by(|a, b| (&a.topic, a.partition).cmp(&(&b.topic, b.partition)));
        Ok(elections)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partition_files_as_kafka_writes_them() {
        assert_eq!(
            parse_partitions(
                r#"{"partitions":[{"topic":"a","partition":1},{"topic":"b","partition":0}]}"#,
                "f"
            )
            .unwrap(),
            [TopicPartition::new("a", 1), TopicPartition::new("b", 0)]
        );
        assert_eq!(
            parse_partitions(
                r#"{"version":1,"partitions":[{"topic":"a","partition":2,"replicas":[1,2]}]}"#,
                "plan"
            )
            .unwrap(),
            [TopicPartition::new("a", 2)],
            "a reassignment plan names partitions too"
        );
        for (text, expected) in [
            ("[]", "not a list of partitions"),
            (r#"{"partitions":[]}"#, "no partitions"),
            (
                r#"{"partitions":[{"topic":"a"}]}"#,
                "missing field `partition`",
            ),
            (
                r#"{"partitions":[{"topic":"a","partition":0},{"topic":"a","partition":0}]}"#,
                "a-0 is named twice",
            ),
        ] {
            let e = parse_partitions(text, "f").unwrap_err().to_string();
            assert!(e.starts_with("f: ") && e.contains(expected), "{text}: {e}");
        }
    }
}
