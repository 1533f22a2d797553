//! ShareGroupHeartbeat (KIP-932): a share consumer's one call for joining
//! a share group, staying in it, changing its subscription, receiving its
//! assignment and leaving. Served while `share.version` is finalized at 1.

use std::sync::Arc;

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::share_group_heartbeat_response::{Assignment, TopicPartitions};
use kafka_protocol::messages::{ShareGroupHeartbeatRequest, ShareGroupHeartbeatResponse};
use kafka_protocol::protocol::StrBytes;

use super::share_fetch::share_groups_enabled;
use super::{BrokerContext, Handler, RequestContext};
use crate::group::ShareHeartbeat;
use crate::partition::now_ms;
use crate::security::acl::{AclOperation, ResourceType};
use crate::topic_partition::by_topic_id;

pub struct ShareGroupHeartbeat;

fn refused(error: ResponseError, message: &'static str) -> ShareGroupHeartbeatResponse {
    ShareGroupHeartbeatResponse::default()
        .with_error_code(error.code())
        .with_error_message(Some(StrBytes::from_static_str(message)))
}

impl Handler for ShareGroupHeartbeat {
    type Request = ShareGroupHeartbeatRequest;

    async fn handle(
        broker: Arc<BrokerContext>,
        ctx: RequestContext,
        request: ShareGroupHeartbeatRequest,
    ) -> ShareGroupHeartbeatResponse {
        if !share_groups_enabled(&broker) {
            return refused(
                ResponseError::UnsupportedVersion,
                "Share groups are not enabled: finalize share.version 1 or set group.share.enable.",
            );
        }
        let auth = broker.authorization(&ctx);
        if !auth.allows(AclOperation::Read, ResourceType::Group, &request.group_id.0) {
            return ShareGroupHeartbeatResponse::default()
                .with_error_code(ResponseError::GroupAuthorizationFailed.code());
        }
        let describes =
            |topic: &str| auth.allows(AclOperation::Describe, ResourceType::Topic, topic);
        if let Some(names) = &request.subscribed_topic_names {
            if names.iter().any(|t| !describes(&t.0)) {
                return refused(
                    ResponseError::TopicAuthorizationFailed,
                    "The subscription names topics the member may not describe.",
                );
            }
        }
        if request.group_id.0.is_empty() {
            return refused(ResponseError::InvalidRequest, "GroupId can't be empty.");
        }
        if let Err(e) = broker.ensure_offsets_topic().await {
            tracing::error!(error = %e, "cannot create the offsets topic");
            return ShareGroupHeartbeatResponse::default()
                .with_error_code(ResponseError::CoordinatorNotAvailable.code());
        }
        // The group's share-partitions keep their state there from their
        // first fetch on, as Kafka creates it when a share group starts.
        if let Err(e) = broker.ensure_share_state_topic().await {
            tracing::error!(error = %e, "cannot create the share state topic");
            return ShareGroupHeartbeatResponse::default()
                .with_error_code(ResponseError::CoordinatorNotAvailable.code());
        }
        if let Err(e) = broker.check_group_coordinator(&request.group_id.0) {
            return ShareGroupHeartbeatResponse::default().with_error_code(e.code());
        }
        let image = broker.image();
        let topics = image.assignable_topics(describes);
        let heartbeat = ShareHeartbeat {
            group_id: request.group_id.0.to_string(),
            member_id: request.member_id.to_string(),
            member_epoch: request.member_epoch,
            rack_id: request.rack_id.as_ref().map(|s| s.to_string()),
            subscribed_topics: request
                .subscribed_topic_names
                .as_ref()
                .map(|ts| ts.iter().map(|t| t.0.to_string()).collect()),
            client_id: ctx.client_id().to_string(),
            client_host: format!("/{}", ctx.peer.ip()),
        };
        match broker.groups.share_heartbeat(&heartbeat, &topics, now_ms()) {
            Err(ResponseError::InvalidRequest) if heartbeat.member_id.is_empty() => {
                refused(ResponseError::InvalidRequest, "MemberId can't be empty.")
            }
            Err(ResponseError::InvalidRequest) => refused(
                ResponseError::InvalidRequest,
                "SubscribedTopicNames must be set in first request.",
            ),
            Err(ResponseError::GroupIdNotFound) => refused(
                ResponseError::GroupIdNotFound,
                "The group is not a share group.",
            ),
            Err(e) => ShareGroupHeartbeatResponse::default().with_error_code(e.code()),
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
                ShareGroupHeartbeatResponse::default()
                    .with_member_id(Some(StrBytes::from_string(result.member_id)))
                    .with_member_epoch(result.member_epoch)
                    .with_heartbeat_interval_ms(result.heartbeat_interval_ms)
                    .with_assignment(assignment)
            }
        }
    }
}
