//! `topic-admin delete-records`: kafka-delete-records.sh.

use std::path::Path;

use crate::client::admin::{parse_delete_records_json, Admin, DeletedRecords};
use crate::client::Result;
use crate::topic_partition::TopicPartition;

/// A partition and the offset before which its records go (-1: all).
pub type Deletion = (TopicPartition, i64);

/// The deletions of an --offset-json-file, or of --topic, --partition and
/// --offset (clap lets exactly one way through).
pub fn deletions(
    file: Option<&Path>,
    topic: Option<String>,
    partition: Option<i32>,
    offset: Option<i64>,
) -> Result<Vec<Deletion>> {
    match (file, topic, partition, offset) {
        (Some(path), ..) => parse_delete_records_json(&super::read(path)?),
        (None, Some(t), Some(p), Some(o)) => Ok(vec![(TopicPartition::new(t, p), o)]),
        _ => unreachable!("clap requires --offset-json-file or --topic, --partition and --offset"),
    }
}

/// The question asked before deleting.
pub fn prompt(deletions: &[Deletion]) -> String {
    let listed: Vec<String> = deletions
        .iter()
        .map(|(tp, o)| match o {
            -1 => format!("{tp} (all records)"),
            o => format!("{tp} (before offset {o})"),
        })
        .collect();
    format!("Delete the records of {}?", listed.join(", "))
}

pub async fn run(admin: &Admin, deletions: &[Deletion]) -> Result<Deleted> {
    Ok(Deleted(admin.delete_records(deletions).await?))
}

/// Each partition's low watermark after the deletion, or its error.
pub struct Deleted(pub Vec<DeletedRecords>);

impl Deleted {
    /// Kafka's tool's report.
    pub fn render(&self) -> String {
        let mut text = String::from("Records delete operation completed:\n");
        for o in &self.0 {
            let tp = &o.partition;
            match o.outcome {
                Ok(low) => text.push_str(&format!("partition: {tp}\tlow_watermark: {low}\n")),
                Err(code) => text.push_str(&format!("partition: {tp}\terror: {code:?}\n")),
            }
        }
        text
    }

    /// What went wrong, when a partition kept its records.
    pub fn failure(&self) -> Option<String> {
        let failed = self.0.iter().filter(|o| o.outcome.is_err()).count();
        (failed > 0).then(|| format!("{failed} of {} partitions kept their records", self.0.len()))
    }
}

#[cfg(test)]
mod tests {
    use rdkafka::types::RDKafkaErrorCode;

    use super::*;

    #[test]
    fn the_flags_make_one_deletion() {
        assert_eq!(
            deletions(None, Some("orders".into()), Some(2), Some(-1)).unwrap(),
            vec![(TopicPartition::new("orders", 2), -1)]
        );
    }

    #[test]
    fn a_missing_file_is_named() {
        let error = deletions(Some(Path::new("/nonexistent/plan.json")), None, None, None)
            .unwrap_err()
            .to_string();
        assert!(
            error.starts_with("cannot read /nonexistent/plan.json: "),
            "{error}"
        );
    }

    #[test]
    fn the_question_says_what_goes() {
        let asked = prompt(&[
            (TopicPartition::new("a", 0), -1),
            (TopicPartition::new("b", 1), 42),
        ]);
        assert_eq!(
            asked,
            "Delete the records of a-0 (all records), b-1 (before offset 42)?"
        );
    }

    #[test]
    fn a_partition_that_kept_its_records_fails_the_run() {
        let deleted = Deleted(vec![
            DeletedRecords {
                partition: TopicPartition::new("a", 0),
                outcome: Ok(7),
            },
            DeletedRecords {
                partition: TopicPartition::new("a", 1),
                outcome: Err(RDKafkaErrorCode::OffsetOutOfRange),
            },
        ]);
        assert_eq!(
            deleted.render(),
            "Records delete operation completed:\n\
             partition: a-0\tlow_watermark: 7\n\
             partition: a-1\terror: OffsetOutOfRange\n"
        );
        assert_eq!(
            deleted.failure().as_deref(),
            Some("1 of 2 partitions kept their records")
        );
        assert_eq!(Deleted(Vec::new()).failure(), None);
    }
}
