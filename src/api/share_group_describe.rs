//! ShareGroupDescribe (KIP-932): a share group's state, epochs, assignor
//! and each member's subscription and assignment.

use std::sync::Arc;

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::share_group_describe_response::{
    Assignment, DescribedGroup, Member, TopicPartitions,
};
use kafka_protocol::messages::{ShareGroupDescribeRequest, ShareGroupDescribeResponse, TopicName};
use kafka_protocol::protocol::StrBytes;

use super::share_fetch::share_groups_enabled;
use super::{BrokerContext, Handler, RequestContext};
use crate::cluster::MetadataImage;
use crate::group::TopicIdPartition;
use crate::partition::now_ms;
use crate::security::acl::{AclOperation, ResourceType};
use crate::topic_partition::by_topic_id;

pub struct ShareGroupDescribe;

/// The name Kafka's share groups report for their one assignor.
const SIMPLE_ASSIGNOR: &str = "simple";

fn assignment(image: &MetadataImage, partitions: &[TopicIdPartition]) -> Assignment {
    Assignment::default().with_topic_partitions(
        by_topic_id(partitions.iter().copied())
            .into_iter()
            .map(|(topic_id, partitions)| {
                let name = image
                    .topic_by_id(topic_id)
                    .map(|t| t.name.clone())
                    .unwrap_or_default();
                TopicPartitions::default()
                    .with_topic_id(topic_id)
                    .with_topic_name(TopicName(StrBytes::from_string(name)))
                    .with_partitions(partitions)
            })
            .collect(),
    )
}

impl Handler for ShareGroupDescribe {
    type Request = ShareGroupDescribeRequest;

    async fn handle(
        broker: Arc<BrokerContext>,
        ctx: RequestContext,
        request: ShareGroupDescribeRequest,
    ) -> ShareGroupDescribeResponse {
        let image = broker.image();
        let enabled = share_groups_enabled(&broker);
        let auth = broker.authorization(&ctx);
        let topics = image.assignable_topics(|_| true);
        let groups = request
            .group_ids
            .iter()
            .map(|id| {
                let described = DescribedGroup::default().with_group_id(id.clone());
                if !enabled {
                    return described.with_error_code(ResponseError::UnsupportedVersion.code());
                }
                if let Err(e) = broker.check_group(&ctx, AclOperation::Describe, id) {
                    return described.with_error_code(e.code());
                }
                let described = if request.include_authorized_operations {
                    described.with_authorized_operations(
                        auth.authorized_operations(ResourceType::Group, id),
                    )
                } else {
                    described
                };
                let Some(d) = broker.groups.describe_share_group(id, &topics, now_ms()) else {
                    let message = format!("Group {} not found.", id.0);
                    return described
                        .with_error_code(ResponseError::GroupIdNotFound.code())
                        .with_error_message(Some(StrBytes::from_string(message)));
                };
                let members = d
                    .members
                    .into_iter()
                    .map(|(member_id, m)| {
                        Member::default()
                            .with_member_id(StrBytes::from_string(member_id))
                            .with_rack_id(m.rack_id.map(StrBytes::from_string))
                            .with_member_epoch(m.member_epoch)
                            .with_client_id(StrBytes::from_string(m.client_id))
                            .with_client_host(StrBytes::from_string(m.client_host))
                            .with_subscribed_topic_names(
                                m.subscribed
                                    .into_iter()
                                    .map(|t| TopicName(StrBytes::from_string(t)))
                                    .collect(),
                            )
                            .with_assignment(assignment(&image, &m.assignment))
                    })
                    .collect();
                described
                    .with_group_state(StrBytes::from_static_str(d.state))
                    .with_group_epoch(d.group_epoch)
                    .with_assignment_epoch(d.assignment_epoch)
                    .with_assignor_name(StrBytes::from_static_str(SIMPLE_ASSIGNOR))
                    .with_members(members)
            })
            .collect();
        ShareGroupDescribeResponse::default().with_groups(groups)
    }
}
