//! DeleteShareGroupOffsets (KIP-932): forgets an empty share group's state
//! for whole topics; their share-partitions start again from
//! `share.auto.offset.reset` (kafka-share-groups.sh --delete-offsets).

use std::sync::Arc;

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::delete_share_group_offsets_response::DeleteShareGroupOffsetsResponseTopic;
use kafka_protocol::messages::{DeleteShareGroupOffsetsRequest, DeleteShareGroupOffsetsResponse};
use uuid::Uuid;

use super::share_fetch::share_groups_enabled;
use super::{BrokerContext, Handler, RequestContext};
use crate::partition::now_ms;
use crate::security::acl::{AclOperation, ResourceType};

pub struct DeleteShareGroupOffsets;

impl Handler for DeleteShareGroupOffsets {
    type Request = DeleteShareGroupOffsetsRequest;

    async fn handle(
        broker: Arc<BrokerContext>,
        ctx: RequestContext,
        request: DeleteShareGroupOffsetsRequest,
    ) -> DeleteShareGroupOffsetsResponse {
        let refuse =
            |e: ResponseError| DeleteShareGroupOffsetsResponse::default().with_error_code(e.code());
        if !share_groups_enabled(&broker) {
            return refuse(ResponseError::UnsupportedVersion);
        }
        if request.group_id.0.is_empty() {
            return refuse(ResponseError::InvalidGroupId);
        }
        if let Err(e) = broker.check_group(&ctx, AclOperation::Delete, &request.group_id) {
            return refuse(e);
        }
        let image = broker.image();
        let auth = broker.authorization(&ctx);
        let mut topic_ids = Vec::new();
        let responses: Vec<_> = request
            .topics
            .iter()
            .map(|t| {
                let name = t.topic_name.0.as_str();
                let topic = image.topic(name);
                let error = if !auth.allows(AclOperation::Read, ResourceType::Topic, name) {
                    Some(ResponseError::TopicAuthorizationFailed)
                } else if let Some(topic) = topic {
                    topic_ids.push(topic.id);
                    None
                } else {
                    Some(ResponseError::UnknownTopicOrPartition)
                };
                DeleteShareGroupOffsetsResponseTopic::default()
                    .with_topic_name(t.topic_name.clone())
                    .with_topic_id(topic.map_or(Uuid::nil(), |t| t.id))
                    .with_error_code(error.map_or(0, |e| e.code()))
            })
            .collect();
        let topics = image.assignable_topics(|_| true);
        if let Err(e) = broker
            .groups
            .delete_share_start_offsets(&request.group_id, &topic_ids, &topics, now_ms())
            .await
        {
            return refuse(e);
        }
        DeleteShareGroupOffsetsResponse::default().with_responses(responses)
    }
}
