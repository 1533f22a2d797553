//! `topic-admin elect-leaders`: kafka-leader-election.sh.

use serde_json::json;

use super::ElectionScope;
use crate::cli::OutputFormat;
use crate::client::admin::{Admin, TopicDescription};
use crate::client::election::{self, Election, ElectionOutcome, ElectionType};
use crate::client::{ClientError, Result};
use crate::topic_partition::TopicPartition;

/// Holds the elections and chooses the partitions to hold them for.
pub async fn run(
    admin: &Admin,
    election: ElectionType,
    scope: &ElectionScope,
    partition: Option<i32>,
) -> Result<Vec<Election>> {
    let partitions = if let Some(path) = &scope.path_to_json_file {
        Some(election::parse_partitions(
            &super::read(path)?,
            &path.display().to_string(),
        )?)
    } else if let Some(topic) = &scope.topic {
        Some(topic_partitions(
            &admin.describe_topics(None).await?,
            topic,
            partition,
        )?)
    } else {
        None
    };
    admin.elect_leaders(election, partitions).await
}

/// The partitions of `topic` to elect for: all, or the one asked for.
pub fn topic_partitions(
    topics: &[TopicDescription],
    topic: &str,
    partition: Option<i32>,
) -> Result<Vec<TopicPartition>> {
    let Some(found) = topics.iter().find(|t| t.name == topic) else {
        return Err(ClientError::Invalid(format!("no such topic: {topic}")));
    };
    let ids: Vec<i32> = found.partitions.iter().map(|p| p.id).collect();
    match partition {
        Some(p) if !ids.contains(&p) => Err(ClientError::Invalid(format!(
            "topic '{topic}' has no partition {p}"
        ))),
        Some(p) => Ok(vec![TopicPartition::new(topic, p)]),
        None => Ok(ids
            .into_iter()
            .map(|p| TopicPartition::new(topic, p))
            .collect()),
    }
}

/// A row per partition with its result, or JSON.
pub fn render(elections: &[Election], election: ElectionType, output: OutputFormat) -> String {
    match output {
        OutputFormat::Json => format!("{}\n", json!(elections)),
        OutputFormat::Table if elections.is_empty() => {
            "No partition needed a new leader.\n".to_string()
        }
        OutputFormat::Table => {
            let mut table = crate::cli::table(&["TOPIC", "PARTITION", "RESULT"]);
            for e in elections {
                table.add_row(vec![
                    e.topic.clone(),
                    e.partition.to_string(),
                    match (&e.outcome, election) {
                        (ElectionOutcome::Elected, _) => "elected".to_string(),
                        (ElectionOutcome::NotNeeded, ElectionType::Preferred) => {
                            "already led by its preferred replica".to_string()
                        }
                        (ElectionOutcome::NotNeeded, ElectionType::Unclean) => {
                            "has a leader already".to_string()
                        }
                        (ElectionOutcome::Failed { error }, _) => format!("error: {error}"),
                    },
                ]);
            }
            crate::cli::table_text(&table)
        }
    }
}

/// What went wrong, when a partition got no new leader.
pub fn failure(elections: &[Election]) -> Option<String> {
    let failed: Vec<String> = elections
        .iter()
        .filter_map(|e| match &e.outcome {
            ElectionOutcome::Failed { error } => {
                Some(format!("{}-{}: {error}", e.topic, e.partition))
            }
            _ => None,
        })
        .collect();
    (!failed.is_empty()).then(|| {
        format!(
            "{} of {} partitions got no new leader: {}",
            failed.len(),
            elections.len(),
            failed.join("; ")
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::topic_admin::fixtures::topic;

    fn election(partition: i32, outcome: ElectionOutcome) -> Election {
        Election {
            topic: "orders".into(),
            partition,
            outcome,
        }
    }

    #[test]
    fn a_topic_elects_for_all_or_one_existing_partition() {
        let topics = [topic("orders", &[(1, &[1], &[1]), (1, &[1], &[1])])];
        assert_eq!(topic_partitions(&topics, "orders", None).unwrap().len(), 2);
        assert_eq!(
            topic_partitions(&topics, "orders", Some(1)).unwrap(),
            vec![TopicPartition::new("orders", 1)]
        );
        assert_eq!(
            topic_partitions(&topics, "orders", Some(2))
                .unwrap_err()
                .to_string(),
            "topic 'orders' has no partition 2"
        );
        assert_eq!(
            topic_partitions(&topics, "nope", None)
                .unwrap_err()
                .to_string(),
            "no such topic: nope"
        );
    }

    #[test]
    fn results_read_by_election_type() {
        let elections = [
            election(0, ElectionOutcome::Elected),
            election(1, ElectionOutcome::NotNeeded),
        ];
        let preferred = render(&elections, ElectionType::Preferred, OutputFormat::Table);
        assert!(preferred.contains("already led by its preferred replica"));
        let unclean = render(&elections, ElectionType::Unclean, OutputFormat::Table);
        assert!(unclean.contains("has a leader already"));
        assert_eq!(
            render(&[], ElectionType::Preferred, OutputFormat::Table),
            "No partition needed a new leader.\n"
        );
        assert_eq!(failure(&elections), None);
    }

    #[test]
    fn failed_elections_fail_the_run() {
        let elections = [
            election(0, ElectionOutcome::Elected),
            election(
                1,
                ElectionOutcome::Failed {
                    error: "PREFERRED_LEADER_NOT_AVAILABLE".into(),
                },
            ),
        ];
        assert_eq!(
            failure(&elections).as_deref(),
            Some("1 of 2 partitions got no new leader: orders-1: PREFERRED_LEADER_NOT_AVAILABLE")
        );
    }
}
