//! `topic-admin offsets`: kafka-get-offsets.sh.

use std::collections::BTreeMap;

use serde_json::json;

use crate::cli::OutputFormat;
use crate::client::admin::{Admin, TopicDescription};
use crate::client::{ClientError, OffsetQuery, Result};
use crate::topic_partition::TopicPartition;

/// The offset `time` finds in each wanted partition of the matching topics.
pub async fn run(
    admin: &Admin,
    pattern: Option<&str>,
    partitions: &[i32],
    time: OffsetQuery,
    exclude_internal: bool,
) -> Result<BTreeMap<TopicPartition, i64>> {
    let topics = super::matching_topics(admin, pattern, exclude_internal).await?;
    admin.list_offsets(wanted(&topics, partitions)?, time).await
}

/// The partitions of `topics` with the ids in `partitions` (all when it is
/// empty); an id no topic has is an error.
pub fn wanted(topics: &[TopicDescription], partitions: &[i32]) -> Result<Vec<TopicPartition>> {
    let wanted: Vec<TopicPartition> = topics
        .iter()
        .flat_map(|t| {
            t.partitions
                .iter()
                .filter(|p| partitions.is_empty() || partitions.contains(&p.id))
                .map(|p| TopicPartition::new(t.name.clone(), p.id))
        })
        .collect();
    if let Some(p) = partitions
        .iter()
        .find(|p| !wanted.iter().any(|tp| tp.partition == **p))
    {
        return Err(ClientError::Invalid(format!("no such partition: {p}")));
    }
    Ok(wanted)
}

/// `topic:partition:offset` lines, as Kafka's tool, or JSON.
pub fn render(offsets: &BTreeMap<TopicPartition, i64>, output: OutputFormat) -> String {
    match output {
        OutputFormat::Json => format!(
            "{}\n",
            serde_json::Value::Array(
                offsets
                    .iter()
                    .map(
                        |(tp, o)| json!({"topic": tp.topic, "partition": tp.partition, "offset": o})
                    )
                    .collect(),
            )
        ),
        OutputFormat::Table => offsets
            .iter()
            .map(|(tp, o)| format!("{}:{}:{o}\n", tp.topic, tp.partition))
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::topic_admin::fixtures::topic;

    #[test]
    fn partitions_are_picked_by_id_across_topics() {
        let topics = [
            topic("a", &[(1, &[1], &[1]), (1, &[1], &[1])]),
            topic("b", &[(1, &[1], &[1])]),
        ];
        assert_eq!(wanted(&topics, &[]).unwrap().len(), 3);
        assert_eq!(
            wanted(&topics, &[1]).unwrap(),
            vec![TopicPartition::new("a", 1)]
        );
        assert_eq!(
            wanted(&topics, &[0, 5]).unwrap_err().to_string(),
            "no such partition: 5"
        );
    }

    #[test]
    fn offsets_print_as_kafka_get_offsets() {
        let offsets = BTreeMap::from([
            (TopicPartition::new("a", 0), 10),
            (TopicPartition::new("a", 1), 3),
        ]);
        assert_eq!(render(&offsets, OutputFormat::Table), "a:0:10\na:1:3\n");
        assert_eq!(
            render(&offsets, OutputFormat::Json),
            "[{\"offset\":10,\"partition\":0,\"topic\":\"a\"},{\"offset\":3,\"partition\":1,\"topic\":\"a\"}]\n"
        );
    }
}
