//! OffsetForLeaderEpoch: where a leader epoch ended, so a consumer (KIP-320)
//! or a follower can detect and cut a diverged log.

use std::sync::Arc;

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::offset_for_leader_epoch_response::{
    EpochEndOffset, OffsetForLeaderTopicResult,
};
use kafka_protocol::messages::{OffsetForLeaderEpochRequest, OffsetForLeaderEpochResponse};

use super::{BrokerContext, Handler, RequestContext};
use crate::security::acl::{AclOperation, ResourceType};

pub struct OffsetForLeaderEpoch;

impl Handler for OffsetForLeaderEpoch {
    type Request = OffsetForLeaderEpochRequest;

    async fn handle(
        broker: Arc<BrokerContext>,
        ctx: RequestContext,
        request: OffsetForLeaderEpochRequest,
    ) -> OffsetForLeaderEpochResponse {
        // As Kafka: a principal with CLUSTER_ACTION (a follower) may ask
        // about every topic; anyone else needs DESCRIBE on each.
        let auth = broker.authorization(&ctx);
        let cluster_action = auth.allows_cluster(AclOperation::ClusterAction);
        let topics = request
            .topics
            .into_iter()
            .map(|t| {
                let name = t.topic.0.to_string();
                let allowed = cluster_action
                    || auth.allows(AclOperation::Describe, ResourceType::Topic, &name);
                let partitions = t
                    .partitions
                    .iter()
                    .map(|p| {
                        let base = EpochEndOffset::default()
                            .with_partition(p.partition)
                            .with_leader_epoch(-1)
                            .with_end_offset(-1);
                        if !allowed {
                            return base
                                .with_error_code(ResponseError::TopicAuthorizationFailed.code());
                        }
                        let found = broker
                            .replicas
                            .leader_partition(&name, p.partition)
                            .and_then(|partition| {
                                partition.check_leader_epoch(p.current_leader_epoch)?;
                                Ok(partition.end_offset_for_epoch(p.leader_epoch))
                            });
                        match found {
                            Ok((epoch, end_offset)) => {
                                base.with_leader_epoch(epoch).with_end_offset(end_offset)
                            }
                            Err(code) => base.with_error_code(code.code()),
                        }
                    })
                    .collect();
                OffsetForLeaderTopicResult::default()
                    .with_topic(t.topic)
                    .with_partitions(partitions)
            })
            .collect();
        OffsetForLeaderEpochResponse::default().with_topics(topics)
    }
}
