//! DescribeLogDirs: each log directory, its space, and the partitions in it.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::describe_log_dirs_response::{
    DescribeLogDirsPartition, DescribeLogDirsResult, DescribeLogDirsTopic,
};
use kafka_protocol::messages::{DescribeLogDirsRequest, DescribeLogDirsResponse, TopicName};
use kafka_protocol::protocol::StrBytes;

use super::{BrokerContext, Handler, RequestContext};
use crate::partition::Partition;
use crate::security::acl::AclOperation;

pub struct DescribeLogDirs;

impl Handler for DescribeLogDirs {
    type Request = DescribeLogDirsRequest;

    async fn handle(
        broker: Arc<BrokerContext>,
        ctx: RequestContext,
        request: DescribeLogDirsRequest,
    ) -> DescribeLogDirsResponse {
        if !broker.allows_cluster(&ctx, AclOperation::Describe) {
            return DescribeLogDirsResponse::default()
                .with_error_code(ResponseError::ClusterAuthorizationFailed.code());
        }
        let wanted: Option<Vec<(String, Vec<i32>)>> = request.topics.map(|ts| {
            ts.into_iter()
                .map(|t| (t.topic.0.to_string(), t.partitions))
                .collect()
        });
        let futures = broker.replicas.future_replicas();
        let results = broker
            .replicas
            .log_dirs()
            .into_iter()
            .enumerate()
            .map(|(at, (dir, failed, partitions))| {
                if failed {
                    // Kafka's answer for an offline log dir: the error, no
                    // partitions, and the volume's bytes unknown.
                    DescribeLogDirsResult::default()
                        .with_log_dir(StrBytes::from_string(display(&dir)))
                        .with_error_code(ResponseError::KafkaStorageError.code())
                        .with_total_bytes(-1)
                        .with_usable_bytes(-1)
                } else {
                    let futures: Vec<(Arc<Partition>, u64)> = futures
                        .iter()
                        .filter(|(target, _, _)| *target == at)
                        .map(|(_, p, copied)| (p.clone(), *copied))
                        .collect();
                    describe_dir(&dir, &partitions, &futures, wanted.as_deref())
                }
            })
            .collect();
        DescribeLogDirsResponse::default().with_results(results)
    }
}

/// A log directory's name as Kafka gives it: its canonical path.
fn display(dir: &Path) -> String {
    std::fs::canonicalize(dir)
        .unwrap_or_else(|_| dir.to_path_buf())
        .display()
        .to_string()
}

/// One log directory: its space and the partitions in it `wanted` names
/// (all when None), with the future replicas being copied into it and
/// the bytes copied so far.
fn describe_dir(
    dir: &Path,
    partitions: &[Arc<Partition>],
    futures: &[(Arc<Partition>, u64)],
    wanted: Option<&[(String, Vec<i32>)]>,
) -> DescribeLogDirsResult {
    let included = |p: &Partition| {
        wanted.is_none_or(|w| {
            w.iter()
                .any(|(t, parts)| *t == p.topic && parts.contains(&p.index))
        })
    };
    let mut topics: BTreeMap<String, Vec<DescribeLogDirsPartition>> = BTreeMap::new();
    for (p, copied) in futures {
        if included(p) {
            // Kafka's lag of a future replica is how far its log end is
            // behind the current one's; this copy counts as caught up only
            // when it takes over, so until then it lags by the whole log.
            topics.entry(p.topic.clone()).or_default().push(
                DescribeLogDirsPartition::default()
                    .with_partition_index(p.index)
                    .with_partition_size(*copied as i64)
                    .with_offset_lag(p.log_end_offset() - p.log_start_offset())
                    .with_is_future_key(true),
            );
        }
    }
    for p in partitions {
        if included(p) {
            topics.entry(p.topic.clone()).or_default().push(
                DescribeLogDirsPartition::default()
                    .with_partition_index(p.index)
                    .with_partition_size(p.size_bytes() as i64)
                    // Kafka's getLogEndOffsetLag for a current (not
                    // future) replica: how far its log end is behind
                    // the high watermark it knows, never negative.
                    .with_offset_lag((p.high_watermark() - p.log_end_offset()).max(0)),
            );
        }
    }
    let (total, usable) = match fs4::statvfs(dir) {
        Ok(stats) => (stats.total_space() as i64, stats.available_space() as i64),
        Err(_) => (-1, -1),
    };
    DescribeLogDirsResult::default()
        .with_log_dir(StrBytes::from_string(display(dir)))
        .with_total_bytes(total)
        .with_usable_bytes(usable)
        .with_topics(
            topics
                .into_iter()
                .map(|(name, mut partitions)| {
                    partitions.sort_by_key(|p| p.partition_index);
                    DescribeLogDirsTopic::default()
                        .with_name(TopicName(StrBytes::from_string(name)))
                        .with_partitions(partitions)
                })
                .collect(),
        )
}
