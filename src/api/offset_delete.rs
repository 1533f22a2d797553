//! OffsetDelete: forget a group's committed offsets for topics it no longer consumes.

use std::sync::Arc;

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::offset_delete_response::{
    OffsetDeleteResponsePartition, OffsetDeleteResponseTopic,
};
use kafka_protocol::messages::{OffsetDeleteRequest, OffsetDeleteResponse};

use super::{BrokerContext, Handler, RequestContext};
use crate::security::acl::{AclOperation, ResourceType};
use crate::topic_partition::TopicPartition;

pub struct OffsetDelete;

impl Handler for OffsetDelete {
    type Request = OffsetDeleteRequest;

    async fn handle(
        broker: Arc<BrokerContext>,
        ctx: RequestContext,
        request: OffsetDeleteRequest,
    ) -> OffsetDeleteResponse {
        // As Kafka: DELETE on the group, then READ on each topic; offsets
        // of a topic the principal may not read are left alone.
        let auth = broker.authorization(&ctx);
        let readable = |topic: &str| auth.allows(AclOperation::Read, ResourceType::Topic, topic);
        let partitions: Vec<TopicPartition> = request
            .topics
            .iter()
            .filter(|t| readable(&t.name.0))
            .flat_map(|t| {
                t.partitions
                    .iter()
                    .map(|p| TopicPartition::new(t.name.0.to_string(), p.partition_index))
            })
            .collect();
        let outcomes = match broker
            .check_group(&ctx, AclOperation::Delete, &request.group_id.0)
            .and_then(|()| {
                broker
                    .groups
                    .delete_offsets(&request.group_id.0, &partitions)
            }) {
            Ok(o) => o,
            Err(e) => return OffsetDeleteResponse::default().with_error_code(e.code()),
        };
        let mut outcomes = outcomes.into_iter();
        let topics = request
            .topics
            .iter()
            .map(|t| {
                let partitions = t
                    .partitions
                    .iter()
                    .map(|p| {
                        let code = if readable(&t.name.0) {
                            outcomes.next().flatten().map_or(0, |e| e.code())
                        } else {
                            ResponseError::TopicAuthorizationFailed.code()
                        };
                        OffsetDeleteResponsePartition::default()
                            .with_partition_index(p.partition_index)
                            .with_error_code(code)
                    })
                    .collect();
                OffsetDeleteResponseTopic::default()
                    .with_name(t.name.clone())
                    .with_partitions(partitions)
            })
            .collect();
        OffsetDeleteResponse::default().with_topics(topics)
    }
}
