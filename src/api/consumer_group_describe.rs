//! ConsumerGroupDescribe (KIP-848): epochs, assignor, and each member's
//! subscription, current assignment and target assignment.

use std::sync::Arc;

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::consumer_group_describe_response::{
    Assignment, DescribedGroup, Member, TopicPartitions,
};
use kafka_protocol::messages::{
    ConsumerGroupDescribeRequest, ConsumerGroupDescribeResponse, TopicName,
};
use kafka_protocol::protocol::StrBytes;

use super::{BrokerContext, Handler, RequestContext};
use crate::cluster::MetadataImage;
use crate::group::TopicIdPartition;
use crate::security::acl::{AclOperation, ResourceType};
use crate::topic_partition::by_topic_id;

pub struct ConsumerGroupDescribe;

/// Kafka's member type for members that joined with the consumer protocol.
const CONSUMER_MEMBER: i8 = 1;

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

impl Handler for ConsumerGroupDescribe {
    type Request = ConsumerGroupDescribeRequest;

    async fn handle(
        broker: Arc<BrokerContext>,
        ctx: RequestContext,
        request: ConsumerGroupDescribeRequest,
    ) -> ConsumerGroupDescribeResponse {
        let image = broker.image();
        let auth = broker.authorization(&ctx);
        let groups = request
            .group_ids
            .iter()
            .map(|id| {
                let described = DescribedGroup::default().with_group_id(id.clone());
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
                match broker.groups.describe_consumer_group(id) {
                    Err(message) => described
                        .with_error_code(ResponseError::GroupIdNotFound.code())
                        .with_error_message(Some(StrBytes::from_string(message))),
                    Ok(d) => described
                        .with_group_state(StrBytes::from_static_str(d.state))
                        .with_group_epoch(d.group_epoch)
                        .with_assignment_epoch(d.assignment_epoch)
                        .with_assignor_name(StrBytes::from_string(d.assignor))
                        .with_members(
                            d.members
                                .into_iter()
                                .map(|m| {
                                    Member::default()
                                        .with_member_id(StrBytes::from_string(m.member_id))
                                        .with_instance_id(m.instance_id.map(StrBytes::from_string))
                                        .with_member_epoch(m.member_epoch)
                                        .with_client_id(StrBytes::from_string(m.client_id))
                                        .with_client_host(StrBytes::from_string(m.client_host))
                                        .with_subscribed_topic_names(
                                            m.subscribed_topics
                                                .into_iter()
                                                .map(|t| TopicName(StrBytes::from_string(t)))
                                                .collect(),
                                        )
                                        .with_subscribed_topic_regex(
                                            m.subscribed_regex.map(StrBytes::from_string),
                                        )
                                        .with_assignment(assignment(&image, &m.assignment))
                                        .with_target_assignment(assignment(
                                            &image,
                                            &m.target_assignment,
                                        ))
                                        .with_member_type(CONSUMER_MEMBER)
                                })
                                .collect(),
                        ),
                }
            })
            .collect();
        ConsumerGroupDescribeResponse::default().with_groups(groups)
    }
}
