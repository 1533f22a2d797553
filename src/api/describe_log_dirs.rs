//! DescribeLogDirs: the data directory, its space, and the partitions in it.

use std::collections::BTreeMap;
use std::sync::Arc;

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::describe_log_dirs_response::{
    DescribeLogDirsPartition, DescribeLogDirsResult, DescribeLogDirsTopic,
};
use kafka_protocol::messages::{DescribeLogDirsRequest, DescribeLogDirsResponse, TopicName};
use kafka_protocol::protocol::StrBytes;

use super::{BrokerContext, Handler, RequestContext};
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
        let mut topics: BTreeMap<String, Vec<DescribeLogDirsPartition>> = BTreeMap::new();
        for p in broker.replicas.all_partitions() {
            let included = match &wanted {
                None => true,
                Some(w) => w
                    .iter()
                    .any(|(t, parts)| *t == p.topic && parts.contains(&p.index)),
            };
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
        let dir = broker.replicas.data_dir();
        let dir_name = std::fs::canonicalize(dir).unwrap_or_else(|_| dir.to_path_buf());
        let (total, usable) = match fs4::statvfs(dir) {
            Ok(stats) => (stats.total_space() as i64, stats.available_space() as i64),
            Err(_) => (-1, -1),
        };
        let result = DescribeLogDirsResult::default()
            .with_log_dir(StrBytes::from_string(dir_name.display().to_string()))
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
            );
        DescribeLogDirsResponse::default().with_results(vec![result])
    }
}
