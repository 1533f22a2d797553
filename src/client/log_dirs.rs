//! What kafka-log-dirs.sh shows: per broker, each log directory and the
//! replicas in it with their size, offset lag and whether they are future
//! replicas, from DescribeLogDirs sent to every broker over this library's
//! own Kafka-protocol connection (librdkafka does not send it); and
//! AlterReplicaLogDirs, which moves replicas between a broker's directories.

use std::collections::BTreeMap;

use kafka_protocol::messages::alter_replica_log_dirs_request::{
    AlterReplicaLogDir, AlterReplicaLogDirTopic,
};
use kafka_protocol::messages::describe_log_dirs_request::DescribableLogDirTopic;
use kafka_protocol::messages::{AlterReplicaLogDirsRequest, DescribeLogDirsRequest, TopicName};
use kafka_protocol::protocol::StrBytes;
use serde::Serialize;

use super::error::{ClientError, Result};
use super::wire::Connection;
use super::ClientSettings;

/// One broker's log directories, in kafka-log-dirs.sh's JSON names.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct BrokerLogDirs {
    pub broker: i32,
    #[serde(rename = "logDirs")]
    pub log_dirs: Vec<LogDir>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct LogDir {
    #[serde(rename = "logDir")]
    pub log_dir: String,
    /// Kafka's error name for a directory that cannot be described.
    pub error: Option<String>,
    pub partitions: Vec<ReplicaInfo>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ReplicaInfo {
    /// `<topic>-<partition>`.
    pub partition: String,
    /// Bytes of the replica's log segments.
    pub size: i64,
    /// How far the replica's log end is behind the partition's high
    /// watermark (behind the current replica, for a future one); -1 when
    /// the broker cannot tell.
    #[serde(rename = "offsetLag")]
    pub offset_lag: i64,
    #[serde(rename = "isFuture")]
    pub is_future: bool,
}

/// Every broker's log directories, with the replicas of `topics` (topic,
/// partitions) or, when `None`, of every topic.
pub async fn describe(
    settings: &ClientSettings,
    topics: Option<&[(String, Vec<i32>)]>,
) -> Result<Vec<BrokerLogDirs>> {
    let request = DescribeLogDirsRequest::default().with_topics(topics.map(|ts| {
        ts.iter()
            .map(|(name, partitions)| {
                DescribableLogDirTopic::default()
                    .with_topic(TopicName(StrBytes::from_string(name.clone())))
                    .with_partitions(partitions.clone())
            })
            .collect()
    }));
    let mut out = Vec::new();
    for (broker, address) in Connection::brokers(settings).await? {
        let mut connection = Connection::to_address(settings, &address).await?;
        let response = connection.call(&request, 0).await?;
        if response.error_code != 0 {
            return Err(ClientError::Protocol {
                context: format!("DescribeLogDirs at broker {broker}"),
                code: response.error_code,
                message: None,
            });
        }
        let mut log_dirs: Vec<LogDir> = response
            .results
            .into_iter()
            .map(|dir| {
                let mut replicas: Vec<(&str, i32, ReplicaInfo)> = dir
                    .topics
                    .iter()
                    .flat_map(|t| {
                        t.partitions.iter().map(|p| {
                            let info = ReplicaInfo {
                                partition: format!("{}-{}", t.name.as_str(), p.partition_index),
                                size: p.partition_size,
                                offset_lag: p.offset_lag,
                                is_future: p.is_future_key,
                            };
                            (t.name.as_str(), p.partition_index, info)
                        })
                    })
                    .collect();
                replicas.sort_by(|a, b| (a.0, a.1).cmp(&(b.0, b.1)));
                let partitions = replicas.into_iter().map(|(_, _, info)| info).collect();
                LogDir {
                    log_dir: dir.log_dir.to_string(),
                    error: (dir.error_code != 0).then(|| {
                        kafka_protocol::error::ResponseError::try_from_code(dir.error_code)
                            .map_or_else(|| dir.error_code.to_string(), |e| format!("{e:?}"))
                    }),
                    partitions,
                }
            })
            .collect();
        log_dirs.sort_by(|a, b| a.log_dir.cmp(&b.log_dir));
        out.push(BrokerLogDirs { broker, log_dirs });
    }
    Ok(out)
}

/// One replica to move to a log directory of its broker.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReplicaMove {
    pub broker: i32,
    pub dir: String,
    pub topic: String,
    pub partition: i32,
}

/// Sends AlterReplicaLogDirs to each broker `moves` names, for its
/// replicas; the broker moves them in the background (a replica it does
/// not host yet is created there when it arrives). Any replica refused is an error naming
/// it, its broker and Kafka's error; the others are moving all the same.
pub async fn alter(settings: &ClientSettings, moves: &[ReplicaMove]) -> Result<()> {
    let mut by_broker: BTreeMap<i32, BTreeMap<&str, BTreeMap<&str, Vec<i32>>>> = BTreeMap::new();
    for m in moves {
        by_broker
            .entry(m.broker)
            .or_default()
            .entry(m.dir.as_str())
            .or_default()
            .entry(m.topic.as_str())
            .or_default()
            .push(m.partition);
    }
    let addresses: BTreeMap<i32, String> =
        Connection::brokers(settings).await?.into_iter().collect();
    let mut refused = Vec::new();
    for (broker, dirs) in by_broker {
        let Some(address) = addresses.get(&broker) else {
            refused.push(format!("broker {broker} is not in the cluster"));
            continue;
        };
        let request = AlterReplicaLogDirsRequest::default().with_dirs(
            dirs.into_iter()
                .map(|(dir, topics)| {
                    AlterReplicaLogDir::default()
                        .with_path(StrBytes::from_string(dir.to_string()))
                        .with_topics(
                            topics
                                .into_iter()
                                .map(|(topic, partitions)| {
                                    AlterReplicaLogDirTopic::default()
                                        .with_name(TopicName(StrBytes::from_string(
                                            topic.to_string(),
                                        )))
                                        .with_partitions(partitions)
                                })
                                .collect(),
                        )
                })
                .collect(),
        );
        let mut connection = Connection::to_address(settings, address).await?;
        let response = connection.call(&request, 1).await?;
        for topic in &response.results {
            // As Kafka's tool: a replica its broker has not created yet
            // goes to the directory when it is.
            let replica_not_available =
                kafka_protocol::error::ResponseError::ReplicaNotAvailable.code();
            let failed = topic
                .partitions
                .iter()
                .filter(|p| p.error_code != 0 && p.error_code != replica_not_available);
            for p in failed {
                let error = kafka_protocol::error::ResponseError::try_from_code(p.error_code)
                    .map_or_else(|| p.error_code.to_string(), |e| format!("{e:?}"));
                refused.push(format!(
                    "{}-{} on broker {broker}: {error}",
                    topic.topic_name.as_str(),
                    p.partition_index
                ));
            }
        }
    }
    if refused.is_empty() {
        Ok(())
    } else {
        Err(ClientError::Invalid(format!(
            "log directory moves refused: {}",
            refused.join("; ")
        )))
    }
}
