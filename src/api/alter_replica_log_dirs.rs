//! AlterReplicaLogDirs (KIP-113): moves replicas between the log
//! directories of this broker. Each partition is answered at once; the
//! copy runs in the background, and DescribeLogDirs shows it as a future
//! replica until it takes over.

use std::sync::Arc;

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::alter_replica_log_dirs_response::{
    AlterReplicaLogDirPartitionResult, AlterReplicaLogDirTopicResult,
};
use kafka_protocol::messages::{AlterReplicaLogDirsRequest, AlterReplicaLogDirsResponse};

use super::{BrokerContext, Handler, RequestContext};
use crate::security::acl::AclOperation;

pub struct AlterReplicaLogDirs;

impl Handler for AlterReplicaLogDirs {
    type Request = AlterReplicaLogDirsRequest;

    async fn handle(
        broker: Arc<BrokerContext>,
        ctx: RequestContext,
        request: AlterReplicaLogDirsRequest,
    ) -> AlterReplicaLogDirsResponse {
        let authorized = broker.allows_cluster(&ctx, AclOperation::Alter);
        let results = request
            .dirs
            .into_iter()
            .flat_map(|dir| {
                // Kafka: a path not among log.dirs is LOG_DIR_NOT_FOUND, an
                // offline one KAFKA_STORAGE_ERROR (alter_log_dir's answer).
                let at = broker.replicas.log_dir_index(&dir.path);
                dir.topics.into_iter().map(move |topic| (at, topic))
            })
            .map(|(at, topic)| {
                let partitions = topic
                    .partitions
                    .iter()
                    .map(|index| {
                        let outcome = if !authorized {
                            Err(ResponseError::ClusterAuthorizationFailed)
                        } else {
                            match at {
                                None => Err(ResponseError::LogDirNotFound),
                                Some(at) => broker.replicas.alter_log_dir(&topic.name, *index, at),
                            }
                        };
                        AlterReplicaLogDirPartitionResult::default()
                            .with_partition_index(*index)
                            .with_error_code(outcome.err().map_or(0, |e| e.code()))
                    })
                    .collect();
                AlterReplicaLogDirTopicResult::default()
                    .with_topic_name(topic.name)
                    .with_partitions(partitions)
            })
            .collect();
        AlterReplicaLogDirsResponse::default().with_results(results)
    }
}
