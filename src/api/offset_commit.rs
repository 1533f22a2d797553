//! OffsetCommit: store a group's consumed positions.

use std::sync::Arc;

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::offset_commit_response::{
    OffsetCommitResponsePartition, OffsetCommitResponseTopic,
};
use kafka_protocol::messages::{OffsetCommitRequest, OffsetCommitResponse};

use super::{BrokerContext, Handler, RequestContext};
use crate::group::CommittedOffset;
use crate::partition::now_ms;
use crate::security::acl::{AclOperation, ResourceType};
use crate::topic_partition::TopicPartition;

pub struct OffsetCommit;

impl Handler for OffsetCommit {
    type Request = OffsetCommitRequest;

    async fn handle(
        broker: Arc<BrokerContext>,
        ctx: RequestContext,
        request: OffsetCommitRequest,
    ) -> OffsetCommitResponse {
        let image = broker.image();
        let now = now_ms();
        // As Kafka: READ on the group, else every partition answers
        // GROUP_AUTHORIZATION_FAILED; then READ on each topic.
        let auth = broker.authorization(&ctx);
        let group_allowed =
            auth.allows(AclOperation::Read, ResourceType::Group, &request.group_id.0);
        let refusal = |topic: &str, partition: i32| {
            if !group_allowed {
                Some(ResponseError::GroupAuthorizationFailed)
            } else if !auth.allows(AclOperation::Read, ResourceType::Topic, topic) {
                Some(ResponseError::TopicAuthorizationFailed)
            } else if image.partition(topic, partition).is_none() {
                Some(ResponseError::UnknownTopicOrPartition)
            } else {
                None
            }
        };
        let mut valid = Vec::new();
        for t in &request.topics {
            for p in &t.partitions {
                if refusal(&t.name.0, p.partition_index).is_none() {
                    valid.push((
                        TopicPartition::new(t.name.0.to_string(), p.partition_index),
                        CommittedOffset {
                            offset: p.committed_offset,
                            leader_epoch: p.committed_leader_epoch,
                            metadata: p.committed_metadata.as_ref().map(|m| m.to_string()),
                            commit_timestamp_ms: now,
                        },
                    ));
                }
            }
        }
        // Nothing is committed for a group the principal may not read.
        let outcome = if !group_allowed {
            Err(ResponseError::GroupAuthorizationFailed)
        } else {
            broker
                .ensure_offsets_topic()
                .await
                .map_err(|_| ResponseError::CoordinatorNotAvailable)
        }
        .and_then(|()| broker.check_group_coordinator(&request.group_id.0))
        .and_then(|()| {
            broker.groups.commit_offsets(
                &request.group_id.0,
                request.generation_id_or_member_epoch,
                &request.member_id,
                request.group_instance_id.as_deref(),
                valid,
            )
        });
        let outcome = match outcome {
            Ok(()) => broker.groups.replicated(&request.group_id.0).await,
            Err(e) => Err(e),
        };
        let topics = request
            .topics
            .iter()
            .map(|t| {
                let partitions = t
                    .partitions
                    .iter()
                    .map(|p| {
                        let code = match refusal(&t.name.0, p.partition_index) {
                            Some(refused) => refused.code(),
                            None => outcome.err().map_or(0, |e| e.code()),
                        };
                        OffsetCommitResponsePartition::default()
                            .with_partition_index(p.partition_index)
                            .with_error_code(code)
                    })
                    .collect();
                OffsetCommitResponseTopic::default()
                    .with_name(t.name.clone())
                    .with_partitions(partitions)
            })
            .collect();
        OffsetCommitResponse::default().with_topics(topics)
    }
}
