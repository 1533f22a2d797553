//! ConsumerGroupHeartbeat (KIP-848): the consumer protocol's single call for
//! joining, staying alive, reporting owned partitions and receiving assignments.

use std::sync::Arc;

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::consumer_group_heartbeat_response::{Assignment, TopicPartitions};
use kafka_protocol::messages::{ConsumerGroupHeartbeatRequest, ConsumerGroupHeartbeatResponse};
use kafka_protocol::protocol::StrBytes;

use super::{BrokerContext, Handler, RequestContext};
use crate::group::ConsumerHeartbeat;
use crate::security::acl::{AclOperation, ResourceType};
use crate::topic_partition::by_topic_id;

pub struct ConsumerGroupHeartbeat;

impl Handler for ConsumerGroupHeartbeat {
    type Request = ConsumerGroupHeartbeatRequest;

    async fn handle(
        broker: Arc<BrokerContext>,
        ctx: RequestContext,
        request: ConsumerGroupHeartbeatRequest,
    ) -> ConsumerGroupHeartbeatResponse {
        // As Kafka: READ on the group, DESCRIBE on every topic named in the
        // subscription; a regular expression matches only topics the
        // principal may DESCRIBE.
        let auth = broker.authorization(&ctx);
        if !auth.allows(AclOperation::Read, ResourceType::Group, &request.group_id.0) {
            return ConsumerGroupHeartbeatResponse::default()
                .with_error_code(ResponseError::GroupAuthorizationFailed.code());
        }
        let describes =
            |topic: &str| auth.allows(AclOperation::Describe, ResourceType::Topic, topic);
        if let Some(names) = &request.subscribed_topic_names {
            if names.iter().any(|t| !describes(&t.0)) {
                return ConsumerGroupHeartbeatResponse::default()
                    .with_error_code(ResponseError::TopicAuthorizationFailed.code())
                    .with_error_message(Some(StrBytes::from_static_str(
                        "The subscription names topics the member may not describe.",
                    )));
            }
        }
        if let Err(e) = broker.ensure_offsets_topic().await {
            tracing::error!(error = %e, "cannot create the offsets topic");
            return ConsumerGroupHeartbeatResponse::default()
                .with_error_code(ResponseError::CoordinatorNotAvailable.code());
        }
        if let Err(e) = broker.check_group_coordinator(&request.group_id.0) {
            return ConsumerGroupHeartbeatResponse::default().with_error_code(e.code());
        }
        let image = broker.image();
        let topics = image.assignable_topics(describes);
        let heartbeat = ConsumerHeartbeat {
            group_id: request.group_id.0.to_string(),
            member_id: request.member_id.to_string(),
            member_epoch: request.member_epoch,
            rebalance_timeout_ms: request.rebalance_timeout_ms,
            subscribed_topics: request
                .subscribed_topic_names
                .as_ref()
                .map(|ts| ts.iter().map(|t| t.0.to_string()).collect()),
            subscribed_regex: request
                .subscribed_topic_regex
                .as_ref()
                .map(|s| s.to_string()),
            server_assignor: request.server_assignor.as_ref().map(|s| s.to_string()),
            instance_id: request.instance_id.as_ref().map(|s| s.to_string()),
            client_id: ctx.client_id().to_string(),
            client_host: format!("/{}", ctx.peer.ip()),
            owned: request.topic_partitions.as_ref().map(|tps| {
                tps.iter()
                    .flat_map(|tp| tp.partitions.iter().map(move |p| (tp.topic_id, *p)))
                    .collect()
            }),
        };
        match broker.groups.consumer_heartbeat(heartbeat, &topics) {
            Err(e) => ConsumerGroupHeartbeatResponse::default().with_error_code(e.code()),
            Ok(result) => {
                let assignment = result.assignment.map(|tps| {
                    Assignment::default().with_topic_partitions(
                        by_topic_id(tps)
                            .into_iter()
                            .map(|(topic_id, partitions)| {
                                TopicPartitions::default()
                                    .with_topic_id(topic_id)
                                    .with_partitions(partitions)
                            })
                            .collect(),
                    )
                });
                ConsumerGroupHeartbeatResponse::default()
                    .with_member_id(Some(StrBytes::from_string(result.member_id)))
                    .with_member_epoch(result.member_epoch)
                    .with_heartbeat_interval_ms(result.heartbeat_interval_ms)
                    .with_assignment(assignment)
            }
        }
    }
}
