//! ShareAcknowledge (KIP-932): a share consumer's acknowledgements sent
//! apart from a fetch (on commit, or as it closes its share session with
//! epoch -1, which gives back whatever it still holds).

use std::sync::Arc;

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::share_acknowledge_response::{
    LeaderIdAndEpoch, PartitionData, ShareAcknowledgeTopicResponse,
};
use kafka_protocol::messages::{ShareAcknowledgeRequest, ShareAcknowledgeResponse};
use kafka_protocol::protocol::StrBytes;

use super::share_fetch::{acknowledge, share_groups_enabled};
use super::{BrokerContext, Handler, RequestContext};
use crate::group::Opened;
use crate::security::acl::{AclOperation, ResourceType};

pub struct ShareAcknowledge;

fn refused(error: ResponseError, message: Option<&'static str>) -> ShareAcknowledgeResponse {
    ShareAcknowledgeResponse::default()
        .with_error_code(error.code())
        .with_error_message(message.map(StrBytes::from_static_str))
}

impl Handler for ShareAcknowledge {
    type Request = ShareAcknowledgeRequest;

    async fn handle(
        broker: Arc<BrokerContext>,
        ctx: RequestContext,
        request: ShareAcknowledgeRequest,
    ) -> ShareAcknowledgeResponse {
        if !share_groups_enabled(&broker) {
            return refused(
                ResponseError::UnsupportedVersion,
                Some("Share groups are not enabled: finalize share.version 1 or set group.share.enable."),
            );
        }
        let (Some(group), Some(member)) = (&request.group_id, &request.member_id) else {
            return refused(
                ResponseError::InvalidRequest,
                Some("GroupId and MemberId must be set."),
            );
        };
        let (group, member) = (group.0.to_string(), member.to_string());
        let auth = broker.authorization(&ctx);
        if !auth.allows(AclOperation::Read, ResourceType::Group, &group) {
            return refused(ResponseError::GroupAuthorizationFailed, None);
        }
        // Share-partitions read and write their state there.
        if let Err(e) = broker.ensure_share_state_topic().await {
            tracing::error!(error = %e, "cannot create the share state topic");
            return refused(ResponseError::CoordinatorNotAvailable, None);
        }
        let opened = match broker.groups.share_session_acknowledge(
            &group,
            &member,
            request.share_session_epoch,
            ctx.connection_id,
        ) {
            Ok(opened) => opened,
            Err(e) => return refused(e, None),
        };
        let image = broker.image();
        let mut responses = Vec::with_capacity(request.topics.len());
        for t in &request.topics {
            let name = image.topic_by_id(t.topic_id).map(|t| t.name.clone());
            let readable = |name: &str| auth.allows(AclOperation::Read, ResourceType::Topic, name);
            let mut partitions = Vec::with_capacity(t.partitions.len());
            for p in &t.partitions {
                let result = match &name {
                    None => Err(ResponseError::UnknownTopicId),
                    Some(name) if !readable(name) => Err(ResponseError::TopicAuthorizationFailed),
                    Some(_) => {
                        let acks = p
                            .acknowledgement_batches
                            .iter()
                            .map(|b| {
                                (
                                    b.first_offset,
                                    b.last_offset,
                                    b.acknowledge_types.as_slice(),
                                )
                            })
                            .collect();
                        acknowledge(
                            &broker,
                            &group,
                            &member,
                            t.topic_id,
                            p.partition_index,
                            acks,
                        )
                        .await
                    }
                };
                let leader = name
                    .as_ref()
                    .and_then(|n| broker.replicas.leader_partition(n, p.partition_index).ok())
                    .map_or((-1, -1), |l| (broker.node_id, l.leader_epoch()));
                partitions.push(
                    PartitionData::default()
                        .with_partition_index(p.partition_index)
                        .with_error_code(result.err().map_or(0, |e| e.code()))
                        .with_current_leader(
                            LeaderIdAndEpoch::default()
                                .with_leader_id(leader.0)
                                .with_leader_epoch(leader.1),
                        ),
                );
            }
            responses.push(
                ShareAcknowledgeTopicResponse::default()
                    .with_topic_id(t.topic_id)
                    .with_partitions(partitions),
            );
        }
        if let Opened::Closed(_) = opened {
            broker.groups.release_share_member(&group, &member);
        }
        ShareAcknowledgeResponse::default().with_responses(responses)
    }
}
