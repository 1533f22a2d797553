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
        let results = broker
            .replicas
            .log_dirs()
            .into_iter()
            .map(|(dir, failed, partitions)| {
                if failed {
                    // Kafka's answer for an offline log dir: the error, no
                    // partitions, and the volume's bytes unknown.
                    DescribeLogDirsResult::default()
                        .with_log_dir(StrBytes::from_string(display(&dir)))
                        .with_error_code(ResponseError::KafkaStorageError.code())
                        .with_total_bytes(-1)
                        .with_usable_bytes(-1)
                } else {
                    describe_dir(&dir, &partitions, wanted.as_deref())
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

/// One log directory: its space and the partitions in it `wanted` names (all when None).
fn describe_dir(
    dir: &Path,
    partitions: &[Arc<Partition>],
    wanted: Option<&[(String, Vec<i32>)]>,
) -> DescribeLogDirsResult {
    let mut topics: BTreeMap<String, Vec<DescribeLogDirsPartition>> = BTreeMap::new();
    for p in partitions {
        let included = wanted.is_none_or(|w| {
            w.iter()
                .any(|(t, parts)| *t == p.topic && parts.contains(&p.index))
        });
        if included {
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
