//! DescribeShareGroupOffsets (KIP-932): each share-partition's start offset,
//! the share group's "offset". A partition the group has not read yet
//! answers -1, as Kafka's uninitialized share-partition does.

use std::collections::HashMap;
use std::sync::Arc;

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::describe_share_group_offsets_response::{
    DescribeShareGroupOffsetsResponseGroup, DescribeShareGroupOffsetsResponsePartition,
    DescribeShareGroupOffsetsResponseTopic,
};
use kafka_protocol::messages::{
    DescribeShareGroupOffsetsRequest, DescribeShareGroupOffsetsResponse, TopicName,
};
use kafka_protocol::protocol::StrBytes;
use uuid::Uuid;

use super::share_fetch::share_groups_enabled;
use super::{BrokerContext, Handler, RequestContext};
use crate::cluster::MetadataImage;
use crate::security::acl::{AclOperation, ResourceType};

pub struct DescribeShareGroupOffsets;

/// Kafka's start offset of a share-partition with no state.
const UNINITIALIZED: i64 = -1;

fn partition(
    image: &MetadataImage,
    topic: &str,
    index: i32,
    start: Option<i64>,
) -> DescribeShareGroupOffsetsResponsePartition {
    let epoch = image.partition(topic, index).map_or(-1, |p| p.leader_epoch);
    DescribeShareGroupOffsetsResponsePartition::default()
        .with_partition_index(index)
        .with_start_offset(start.unwrap_or(UNINITIALIZED))
        .with_leader_epoch(epoch)
}

impl Handler for DescribeShareGroupOffsets {
    type Request = DescribeShareGroupOffsetsRequest;

    async fn handle(
        broker: Arc<BrokerContext>,
        ctx: RequestContext,
        request: DescribeShareGroupOffsetsRequest,
    ) -> DescribeShareGroupOffsetsResponse {
        let image = broker.image();
        let enabled = share_groups_enabled(&broker);
        let auth = broker.authorization(&ctx);
        let groups = request
            .groups
            .iter()
            .map(|g| {
                let described = DescribeShareGroupOffsetsResponseGroup::default()
                    .with_group_id(g.group_id.clone());
                let refuse = |e: ResponseError| described.clone().with_error_code(e.code());
                if !enabled {
                    return refuse(ResponseError::UnsupportedVersion);
                }
                if let Err(e) = broker.check_group(&ctx, AclOperation::Describe, &g.group_id) {
                    return refuse(e);
                }
                if !broker.groups.is_share_group(&g.group_id) {
                    let message = format!("Group {} is not a share group.", g.group_id.0);
                    return refuse(ResponseError::GroupIdNotFound)
                        .with_error_message(Some(StrBytes::from_string(message)));
                }
                let starts: HashMap<(Uuid, i32), i64> = broker
                    .groups
                    .share_partitions(&g.group_id)
                    .into_iter()
                    .map(|(t, p, start, _)| ((t, p), start))
                    .collect();
                // Null topics: every share-partition the group has state for.
                let wanted: Vec<(String, Vec<i32>)> = match &g.topics {
                    Some(topics) => topics
                        .iter()
                        .map(|t| (t.topic_name.0.to_string(), t.partitions.clone()))
                        .collect(),
                    None => {
                        let mut by_topic: Vec<(String, Vec<i32>)> = Vec::new();
                        for &(topic_id, index) in starts.keys() {
                            let Some(t) = image.topic_by_id(topic_id) else {
                                continue;
                            };
                            match by_topic.iter_mut().find(|(n, _)| *n == t.name) {
                                Some((_, ps)) => ps.push(index),
                                None => by_topic.push((t.name.clone(), vec![index])),
                            }
                        }
                        by_topic.sort();
                        for (_, ps) in &mut by_topic {
                            ps.sort_unstable();
                        }
                        by_topic
                    }
                };
                let topics = wanted
                    .into_iter()
                    .map(|(name, partitions)| {
                        let topic = DescribeShareGroupOffsetsResponseTopic::default()
                            .with_topic_name(TopicName(StrBytes::from_string(name.clone())));
                        if !auth.allows(AclOperation::Describe, ResourceType::Topic, &name) {
                            let refused = ResponseError::TopicAuthorizationFailed.code();
                            return topic.with_partitions(
                                partitions
                                    .iter()
                                    .map(|&p| {
                                        DescribeShareGroupOffsetsResponsePartition::default()
                                            .with_partition_index(p)
                                            .with_start_offset(UNINITIALIZED)
                                            .with_error_code(refused)
                                    })
                                    .collect(),
                            );
                        }
                        // As Kafka: an unknown topic is no error, only no offset.
                        let topic_id = image.topic(&name).map_or(Uuid::nil(), |t| t.id);
                        topic.with_topic_id(topic_id).with_partitions(
                            partitions
                                .iter()
                                .map(|&p| {
                                    let start = starts.get(&(topic_id, p)).copied();
                                    partition(&image, &name, p, start)
                                })
                                .collect(),
                        )
                    })
                    .collect();
                described.with_topics(topics)
            })
            .collect();
        DescribeShareGroupOffsetsResponse::default().with_groups(groups)
    }
}
