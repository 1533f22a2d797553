//! TxnOffsetCommit: offsets committed as part of a producer's transaction
//! (consume-transform-produce); they count only if the transaction commits.

use std::sync::Arc;

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::txn_offset_commit_response::{
    TxnOffsetCommitResponsePartition, TxnOffsetCommitResponseTopic,
};
use kafka_protocol::messages::{TxnOffsetCommitRequest, TxnOffsetCommitResponse};

use super::{BrokerContext, Handler, RequestContext};
use crate::group::CommittedOffset;
use crate::partition::now_ms;
use crate::security::acl::{AclOperation, ResourceType};
use crate::topic_partition::TopicPartition;

pub struct TxnOffsetCommit;

impl Handler for TxnOffsetCommit {
    type Request = TxnOffsetCommitRequest;

    async fn handle(
        broker: Arc<BrokerContext>,
        ctx: RequestContext,
        request: TxnOffsetCommitRequest,
    ) -> TxnOffsetCommitResponse {
        let now = now_ms();
        // As Kafka: WRITE on the transactional id and READ on the group, or
        // nothing is committed; then READ on each topic, whose refused
        // partitions fail alone.
        let auth = broker.authorization(&ctx);
        let refused = if !auth.allows(
            AclOperation::Write,
            ResourceType::TransactionalId,
            &request.transactional_id.0,
        ) {
            Some(ResponseError::TransactionalIdAuthorizationFailed)
        } else if !auth.allows(AclOperation::Read, ResourceType::Group, &request.group_id.0) {
            Some(ResponseError::GroupAuthorizationFailed)
        } else {
            None
        };
        let readable = |topic: &str| auth.allows(AclOperation::Read, ResourceType::Topic, topic);
        let offsets: Vec<(TopicPartition, CommittedOffset)> = request
            .topics
            .iter()
            .filter(|t| readable(&t.name.0))
            .flat_map(|t| {
                t.partitions.iter().map(move |p| {
                    (
                        TopicPartition::new(t.name.0.to_string(), p.partition_index),
                        CommittedOffset {
                            offset: p.committed_offset,
                            leader_epoch: p.committed_leader_epoch,
                            metadata: p.committed_metadata.as_ref().map(|m| m.to_string()),
                            commit_timestamp_ms: now,
                        },
                    )
                })
            })
            .collect();
        let outcome = match refused {
            Some(e) => Err(e),
            None => broker.check_group_coordinator(&request.group_id.0),
        }
        .and_then(|()| {
            broker.groups.txn_commit_offsets(
                &request.group_id.0,
                (request.producer_id.0, request.producer_epoch),
                request.generation_id,
                &request.member_id,
                request.group_instance_id.as_deref(),
                offsets,
            )
        });
        let outcome = match outcome {
            Ok(()) => broker.groups.replicated(&request.group_id.0).await,
            Err(e) => Err(e),
        };
        let code = ctx.error_code(outcome.err());
        let topics = request
            .topics
            .iter()
            .map(|t| {
                let code = if refused.is_none() && !readable(&t.name.0) {
                    ResponseError::TopicAuthorizationFailed.code()
                } else {
                    code
                };
                TxnOffsetCommitResponseTopic::default()
                    .with_name(t.name.clone())
                    .with_partitions(
                        t.partitions
                            .iter()
                            .map(|p| {
                                TxnOffsetCommitResponsePartition::default()
                                    .with_partition_index(p.partition_index)
                                    .with_error_code(code)
                            })
                            .collect(),
                    )
            })
            .collect();
        TxnOffsetCommitResponse::default().with_topics(topics)
    }
}
