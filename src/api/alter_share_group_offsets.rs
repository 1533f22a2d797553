//! AlterShareGroupOffsets (KIP-932): sets the start offset of an empty
//! share group's share-partitions; each starts again there with nothing
//! in flight (kafka-share-groups.sh --reset-offsets).

use std::sync::Arc;

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::alter_share_group_offsets_response::{
    AlterShareGroupOffsetsResponsePartition, AlterShareGroupOffsetsResponseTopic,
};
use kafka_protocol::messages::{AlterShareGroupOffsetsRequest, AlterShareGroupOffsetsResponse};
use uuid::Uuid;

use super::share_fetch::share_groups_enabled;
use super::{BrokerContext, Handler, RequestContext};
use crate::partition::now_ms;
use crate::security::acl::{AclOperation, ResourceType};

pub struct AlterShareGroupOffsets;

impl Handler for AlterShareGroupOffsets {
    type Request = AlterShareGroupOffsetsRequest;

    async fn handle(
        broker: Arc<BrokerContext>,
        ctx: RequestContext,
        request: AlterShareGroupOffsetsRequest,
    ) -> AlterShareGroupOffsetsResponse {
        let refuse =
            |e: ResponseError| AlterShareGroupOffsetsResponse::default().with_error_code(e.code());
        if !share_groups_enabled(&broker) {
            return refuse(ResponseError::UnsupportedVersion);
        }
        if request.group_id.0.is_empty() {
            return refuse(ResponseError::InvalidGroupId);
        }
        if let Err(e) = broker.check_group(&ctx, AclOperation::Read, &request.group_id) {
            return refuse(e);
        }
        let image = broker.image();
        let auth = broker.authorization(&ctx);
        // Each partition's outcome first, then the ones that may go are
        // altered together, all or none.
        let mut offsets: Vec<(Uuid, i32, i64)> = Vec::new();
        let mut responses: Vec<AlterShareGroupOffsetsResponseTopic> = request
            .topics
            .iter()
            .map(|t| {
                let name = t.topic_name.0.as_str();
                let topic = image.topic(name);
                let readable = auth.allows(AclOperation::Read, ResourceType::Topic, name);
                let partitions = t
                    .partitions
                    .iter()
                    .map(|p| {
                        let error = if !readable {
                            Some(ResponseError::TopicAuthorizationFailed)
                        } else {
                            match topic {
                                Some(topic)
                                    if p.partition_index >= 0
                                        && (p.partition_index as usize)
                                            < topic.partitions.len() =>
                                {
                                    if p.start_offset < 0 {
                                        Some(ResponseError::InvalidRequest)
                                    } else {
                                        offsets.push((topic.id, p.partition_index, p.start_offset));
                                        None
                                    }
                                }
                                _ => Some(ResponseError::UnknownTopicOrPartition),
                            }
                        };
                        AlterShareGroupOffsetsResponsePartition::default()
                            .with_partition_index(p.partition_index)
                            .with_error_code(error.map_or(0, |e| e.code()))
                    })
                    .collect();
                AlterShareGroupOffsetsResponseTopic::default()
                    .with_topic_name(t.topic_name.clone())
                    .with_topic_id(topic.map_or(Uuid::nil(), |t| t.id))
                    .with_partitions(partitions)
            })
            .collect();
        let topics = image.assignable_topics(|_| true);
        if let Err(e) = broker
            .groups
            .alter_share_start_offsets(&request.group_id, &offsets, &topics, now_ms())
            .await
        {
            // A group-level refusal (unknown group, members still in it)
            // is the answer for every partition too, as Kafka's.
            for topic in &mut responses {
                for p in &mut topic.partitions {
                    if p.error_code == 0 {
                        p.error_code = e.code();
                    }
                }
            }
            return refuse(e).with_responses(responses);
        }
        AlterShareGroupOffsetsResponse::default().with_responses(responses)
    }
}
