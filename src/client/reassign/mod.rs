//! Partition reassignment, as kafka-reassign-partitions.sh does it:
//! plans in Kafka's JSON format, a balanced plan to propose, and
//! AlterPartitionReassignments / ListPartitionReassignments, which
//! librdkafka does not offer, spoken over the tools' own connection.

mod flow;
mod plan;
pub mod throttle;

pub use plan::{parse_topics_to_move, propose, PartitionReplicas, Proposal, ReassignmentPlan};

use std::collections::BTreeMap;

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::alter_partition_reassignments_request::{
    ReassignablePartition, ReassignableTopic,
};
use kafka_protocol::messages::list_partition_reassignments_request::ListPartitionReassignmentsTopics;
use kafka_protocol::messages::{
    AlterPartitionReassignmentsRequest, BrokerId, ListPartitionReassignmentsRequest, TopicName,
};
use kafka_protocol::protocol::StrBytes;
use serde::Serialize;

use super::admin::TopicDescription;
use super::config::ClientSettings;
use super::error::{ClientError, Result};
use super::log_dirs::BrokerLogDirs;
use super::wire::Connection;
use crate::topic_partition::TopicPartition;

/// (topic, partition) -> replicas, as Metadata reports them.
pub type Assignment = BTreeMap<TopicPartition, Vec<i32>>;

pub fn assignment(topics: &[TopicDescription]) -> Assignment {
    topics
        .iter()
        .flat_map(|t| {
            t.partitions.iter().map(|p| {
                (
                    TopicPartition::new(t.name.clone(), p.id),
                    p.replicas.clone(),
                )
            })
        })
        .collect()
}

impl ReassignmentPlan {
    /// The plan that puts the partitions of this one back where they are
    /// now; every partition must exist.
    pub fn rollback(&self, now: &Assignment) -> Result<ReassignmentPlan> {
        let partitions = self
            .partitions
            .iter()
            .map(
                |p| match now.get(&TopicPartition::new(p.topic.clone(), p.partition)) {
                    Some(replicas) => Ok(PartitionReplicas::new(
                        &p.topic,
                        p.partition,
                        replicas.clone(),
                    )),
                    None if now.keys().any(|tp| tp.topic == p.topic) => Err(ClientError::Invalid(
                        format!("topic '{}' has no partition {}", p.topic, p.partition),
                    )),
                    None => Err(ClientError::Invalid(format!("no such topic: {}", p.topic))),
                },
            )
            .collect::<Result<_>>()?;
        Ok(ReassignmentPlan::new(partitions))
    }
}

/// A partition whose replicas are moving.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Ongoing {
    pub topic: String,
    pub partition: i32,
    /// Every replica while the move lasts: the target and those leaving.
    pub replicas: Vec<i32>,
    pub adding: Vec<i32>,
    pub removing: Vec<i32>,
}

/// Where a partition of a plan stands.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "state")]
pub enum Progress {
    /// Its replicas are the plan's, in the plan's order.
    Complete,
    InProgress {
        adding: Vec<i32>,
        removing: Vec<i32>,
    },
    /// Not moving, and not where the plan puts it.
    Differs { replicas: Vec<i32> },
    /// The partition does not exist (any more).
    Missing,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PartitionProgress {
    pub topic: String,
    pub partition: i32,
    pub target: Vec<i32>,
    #[serde(flatten)]
    pub progress: Progress,
    /// The replicas the plan names a log directory for, when --verify
    /// looked (kafka-reassign-partitions.sh checks them too).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub log_dirs: Vec<ReplicaLogDir>,
}

/// Where a replica stands against the log directory a plan names for it
/// (kafka-reassign-partitions.sh's LogDirMoveState).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "state")]
pub enum LogDirState {
    /// In the directory named.
    Complete,
    /// Being copied from `current` into `future` (the directory named,
    /// unless another AlterReplicaLogDirs retargeted it).
    InProgress { current: String, future: String },
    /// In `current`, another directory, and not moving.
    Elsewhere { current: String },
    /// Its broker holds it in none of its live directories: likely the
    /// one it was in is offline.
    NotFound,
    /// Its broker did not describe its directories: not in the cluster.
    NoBroker,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ReplicaLogDir {
    pub broker: i32,
    /// The directory the plan names.
    pub log_dir: String,
    #[serde(flatten)]
    pub state: LogDirState,
}

/// Where each replica of `partition` that the plan names a log directory
/// for stands, from every broker's DescribeLogDirs. Directories compare as
/// the brokers name them (canonical paths), as Kafka's tool compares them.
pub fn log_dir_states(
    partition: &PartitionReplicas,
    described: &[BrokerLogDirs],
) -> Vec<ReplicaLogDir> {
    let name = partition.name();
    partition
        .replica_log_dirs()
        .into_iter()
        .map(|(broker, target)| {
            let state = match described.iter().find(|b| b.broker == broker) {
                None => LogDirState::NoBroker,
                Some(b) => {
                    let holding = |future: bool| {
                        b.log_dirs
                            .iter()
                            .filter(|d| d.error.is_none())
                            .find(|d| {
                                d.partitions
                                    .iter()
                                    .any(|r| r.partition == name && r.is_future == future)
                            })
                            .map(|d| d.log_dir.clone())
                    };
                    match (holding(false), holding(true)) {
                        (None, _) => LogDirState::NotFound,
                        (Some(current), Some(future)) => {
                            LogDirState::InProgress { current, future }
                        }
                        (Some(current), None) if current == target => LogDirState::Complete,
                        (Some(current), None) => LogDirState::Elsewhere { current },
                    }
                }
            };
            ReplicaLogDir {
                broker,
                log_dir: target.to_string(),
                state,
            }
        })
        .collect()
}

/// Where each partition of `plan` stands, from the current assignment and
/// the moves in progress.
pub fn progress(
    plan: &ReassignmentPlan,
    now: &Assignment,
    ongoing: &[Ongoing],
) -> Vec<PartitionProgress> {
    plan.partitions
        .iter()
        .map(|p| {
            let moving = ongoing
                .iter()
                .find(|o| o.topic == p.topic && o.partition == p.partition);
            let progress = match (
                moving,
                now.get(&TopicPartition::new(p.topic.clone(), p.partition)),
            ) {
                (Some(o), _) => Progress::InProgress {
                    adding: o.adding.clone(),
                    removing: o.removing.clone(),
                },
                (None, None) => Progress::Missing,
                (None, Some(replicas)) if *replicas == p.replicas => Progress::Complete,
                (None, Some(replicas)) => Progress::Differs {
                    replicas: replicas.clone(),
                },
            };
            PartitionProgress {
                topic: p.topic.clone(),
                partition: p.partition,
                target: p.replicas.clone(),
                progress,
                log_dirs: Vec::new(),
            }
        })
        .collect()
}

/// What cancelling a partition's move found.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Cancelled {
    /// The move stopped; the partition is back on its original replicas.
    Cancelled,
    /// Nothing was moving.
    NotMoving,
}

/// A connection to the active controller for reassignments.
pub struct Reassignments {
    connection: Connection,
}

impl Reassignments {
    pub async fn connect(settings: &ClientSettings) -> Result<Reassignments> {
        Ok(Reassignments {
            connection: Connection::to_controller(settings).await?,
        })
    }

    /// Starts moving every partition of `plan` onto its replicas. A
    /// partition the controller refuses is an error naming it and Kafka's
    /// error; the others have started all the same.
    pub async fn start(&mut self, plan: &ReassignmentPlan) -> Result<()> {
        let moves: Vec<(&str, i32, Option<&[i32]>)> = plan
            .partitions
            .iter()
            .map(|p| (p.topic.as_str(), p.partition, Some(p.replicas.as_slice())))
            .collect();
        let refused: Vec<ClientError> = self
            .alter(&moves, "reassign")
            .await?
            .into_iter()
            .filter_map(|(_, outcome)| outcome.err())
            .collect();
        let started = plan.partitions.len() - refused.len();
        if refused.is_empty() {
            return Ok(());
        }
        if refused.len() == 1 && started == 0 {
            return Err(refused.into_iter().next().expect("one refusal"));
        }
        let mut message = refused
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("; ");
        match started {
            0 => {}
            1 => message.push_str(" (the other partition is moving)"),
            n => message.push_str(&format!(" (the {n} other partitions are moving)")),
        }
        Err(ClientError::Invalid(message))
    }

    /// Cancels the moves of `partitions`: each goes back to its replicas
    /// from before the move.
    pub async fn cancel(
        &mut self,
        partitions: &[TopicPartition],
    ) -> Result<Vec<(TopicPartition, Cancelled)>> {
        let moves: Vec<(&str, i32, Option<&[i32]>)> = partitions
            .iter()
            .map(|tp| (tp.topic.as_str(), tp.partition, None))
            .collect();
        self.alter(&moves, "cancel the reassignment of")
            .await?
            .into_iter()
            .map(|(partition, outcome)| match outcome {
                Ok(()) => Ok((partition, Cancelled::Cancelled)),
                Err(ClientError::Protocol { code, .. })
                    if code == ResponseError::NoReassignmentInProgress.code() =>
                {
                    Ok((partition, Cancelled::NotMoving))
                }
                Err(e) => Err(e),
            })
            .collect()
    }

    /// AlterPartitionReassignments: each partition's outcome, in order.
    async fn alter(
        &mut self,
        moves: &[(&str, i32, Option<&[i32]>)],
        verb: &str,
    ) -> Result<Vec<(TopicPartition, Result<()>)>> {
        let mut topics: Vec<ReassignableTopic> = Vec::new();
        for (topic, partition, replicas) in moves {
            let partition = ReassignablePartition::default()
                .with_partition_index(*partition)
                .with_replicas(replicas.map(|r| r.iter().copied().map(BrokerId).collect()));
            match topics.iter_mut().find(|t| t.name.as_str() == *topic) {
                Some(t) => t.partitions.push(partition),
                None => topics.push(
                    ReassignableTopic::default()
                        .with_name(TopicName(StrBytes::from_string(topic.to_string())))
                        .with_partitions(vec![partition]),
                ),
            }
        }
        let request = AlterPartitionReassignmentsRequest::default()
            .with_timeout_ms(self.connection.timeout_ms())
            .with_topics(topics);
        let response = self.connection.call(&request, 0).await?;
        if response.error_code != 0 {
            return Err(ClientError::Protocol {
                context: format!("cannot {verb} partitions"),
                code: response.error_code,
                message: response.error_message.map(|m| m.to_string()),
            });
        }
        let mut answered: BTreeMap<TopicPartition, (i16, Option<String>)> = BTreeMap::new();
        for t in response.responses {
            for p in t.partitions {
                answered.insert(
                    TopicPartition::new(t.name.to_string(), p.partition_index),
                    (p.error_code, p.error_message.map(|m| m.to_string())),
                );
            }
        }
        Ok(moves
            .iter()
            .map(|(topic, partition, _)| {
                let key = TopicPartition::new(*topic, *partition);
                let outcome = match answered.remove(&key) {
                    Some((0, _)) => Ok(()),
                    Some((code, message)) => Err(ClientError::Protocol {
                        context: format!("cannot {verb} {topic}-{partition}"),
                        code,
                        message,
                    }),
                    None => Err(ClientError::Invalid(format!(
                        "cannot {verb} {topic}-{partition}: the controller did not answer for it"
                    ))),
                };
                (key, outcome)
            })
            .collect())
    }

    /// ListPartitionReassignments: the partitions moving now, of `only`
    /// or of every topic.
    pub async fn ongoing(&mut self, only: Option<&[TopicPartition]>) -> Result<Vec<Ongoing>> {
        let topics = only.map(|partitions| {
            let mut by_topic: BTreeMap<&str, Vec<i32>> = BTreeMap::new();
            for tp in partitions {
                by_topic.entry(&tp.topic).or_default().push(tp.partition);
            }
            by_topic
                .into_iter()
                .map(|(topic, partitions)| {
                    ListPartitionReassignmentsTopics::default()
                        .with_name(TopicName(StrBytes::from_string(topic.to_string())))
                        .with_partition_indexes(partitions)
                })
                .collect()
        });
        let request = ListPartitionReassignmentsRequest::default()
            .with_timeout_ms(self.connection.timeout_ms())
            .with_topics(topics);
        let response = self.connection.call(&request, 0).await?;
        if response.error_code != 0 {
            return Err(ClientError::Protocol {
                context: "cannot list partition reassignments".to_string(),
                code: response.error_code,
                message: response.error_message.map(|m| m.to_string()),
            });
        }
        let ids = |b: &[BrokerId]| b.iter().map(|b| b.0).collect();
        let mut ongoing: Vec<Ongoing> = response
            .topics
            .iter()
            .flat_map(|t| {
                t.partitions.iter().map(|p| Ongoing {
                    topic: t.name.to_string(),
                    partition: p.partition_index,
                    replicas: ids(&p.replicas),
                    adding: ids(&p.adding_replicas),
                    removing: ids(&p.removing_replicas),
                })
            })
            .collect();
        ongoing.sort_by(|a, b| (&a.topic, a.partition).cmp(&(&b.topic, b.partition)));
        Ok(ongoing)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::log_dirs::{LogDir, ReplicaInfo};

    #[test]
    fn each_replica_is_in_the_log_dir_named_moving_elsewhere_or_missing() {
        let plan = ReassignmentPlan::parse(
            r#"{"version":1,"partitions":[{"topic":"t","partition":0,"replicas":[1,2,3,4,5,6],
               "log_dirs":["/b","/b","/b","/b","any","/b"]}]}"#,
            "plan",
        )
        .unwrap();
        let dir = |path: &str, error: Option<&str>, replicas: &[(&str, bool)]| LogDir {
            log_dir: path.to_string(),
            error: error.map(str::to_string),
            partitions: replicas
                .iter()
                .map(|(name, is_future)| ReplicaInfo {
                    partition: name.to_string(),
                    size: 0,
                    offset_lag: 0,
                    is_future: *is_future,
                })
                .collect(),
        };
        let broker = |broker, log_dirs| BrokerLogDirs { broker, log_dirs };
        let described = [
            broker(
                1,
                vec![dir("/a", None, &[]), dir("/b", None, &[("t-0", false)])],
            ),
            broker(
                2,
                vec![
                    dir("/a", None, &[("t-0", false)]),
                    dir("/b", None, &[("t-0", true)]),
                ],
            ),
            broker(3, vec![dir("/a", None, &[("t-0", false), ("t-1", false)])]),
            broker(
                4,
                vec![
                    dir("/a", Some("KafkaStorageError"), &[]),
                    dir("/b", None, &[]),
                ],
            ),
            broker(5, vec![dir("/a", None, &[("t-0", false)])]),
        ];
        let states: Vec<(i32, LogDirState)> = log_dir_states(&plan.partitions[0], &described)
            .into_iter()
            .map(|r| {
                assert_eq!(r.log_dir, "/b");
                (r.broker, r.state)
            })
            .collect();
        let moving = LogDirState::InProgress {
            current: "/a".into(),
            future: "/b".into(),
        };
        let elsewhere = LogDirState::Elsewhere {
            current: "/a".into(),
        };
        assert_eq!(
            states,
            [
                (1, LogDirState::Complete),
                (2, moving),
                (3, elsewhere),
                (4, LogDirState::NotFound),
                (6, LogDirState::NoBroker),
            ]
        );
    }

    #[test]
    fn each_partition_of_a_plan_is_complete_moving_elsewhere_or_gone() {
        let plan = ReassignmentPlan::new(vec![
            PartitionReplicas::new("a", 0, vec![4, 2]),
            PartitionReplicas::new("a", 1, vec![4, 3]),
            PartitionReplicas::new("a", 2, vec![2, 4]),
            PartitionReplicas::new("b", 0, vec![1]),
        ]);
        let now: Assignment = [
            (TopicPartition::new("a", 0), vec![4, 2]),
            (TopicPartition::new("a", 1), vec![1, 3, 4]),
            (TopicPartition::new("a", 2), vec![4, 2]),
        ]
        .into();
        let ongoing = [Ongoing {
            topic: "a".into(),
            partition: 1,
            replicas: vec![1, 3, 4],
            adding: vec![4],
            removing: vec![1],
        }];
        let states: Vec<Progress> = progress(&plan, &now, &ongoing)
            .into_iter()
            .map(|p| p.progress)
            .collect();
        assert_eq!(
            states,
            [
                Progress::Complete,
                Progress::InProgress {
                    adding: vec![4],
                    removing: vec![1]
                },
                Progress::Differs {
                    replicas: vec![4, 2]
                },
                Progress::Missing,
            ]
        );
        let e = plan.rollback(&now).unwrap_err().to_string();
        assert_eq!(e, "no such topic: b");
        let only_a = ReassignmentPlan::new(plan.partitions[..3].to_vec());
        assert_eq!(
            only_a.rollback(&now).unwrap().partitions[1].replicas,
            [1, 3, 4]
        );
    }
}
