//! DescribeShareGroupOffsets (KIP-932): each share-partition's start offset,
//! the share group's "offset", as its share coordinator keeps it (read with
//! ReadShareGroupStateSummary wherever that coordinator is, as Kafka's
//! group coordinator reads it: the share-partitions themselves live on the
//! partitions' leaders, not here). A partition the group has not read yet
//! answers -1, as Kafka's uninitialized share-partition does.

use std::sync::Arc;

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::describe_share_group_offsets_request::DescribeShareGroupOffsetsRequestGroup;
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
use crate::security::acl::{AclOperation, ResourceType};

pub struct DescribeShareGroupOffsets;

/// Kafka's start offset of a share-partition with no state.
const UNINITIALIZED: i64 = -1;

fn uninitialized(index: i32) -> DescribeShareGroupOffsetsResponsePartition {
    DescribeShareGroupOffsetsResponsePartition::default()
        .with_partition_index(index)
        .with_start_offset(UNINITIALIZED)
        .with_leader_epoch(-1)
}

/// One partition as its share coordinator has it; `None` when it has no
/// state and `all` (every share-partition with state) was asked.
async fn partition_state(
    broker: &BrokerContext,
    group: &str,
    topic_id: Uuid,
    index: i32,
    all: bool,
) -> Option<DescribeShareGroupOffsetsResponsePartition> {
    match broker
        .groups
        .share_state_summary(group, topic_id, index)
        .await
    {
        Ok(Some(s)) => Some(
            uninitialized(index)
                .with_start_offset(s.start_offset)
                .with_leader_epoch(s.leader_epoch),
        ),
        Ok(None) if all => None,
        Ok(None) => Some(uninitialized(index)),
        Err(e) => {
            tracing::warn!(group, %topic_id, partition = index, error = ?e, "cannot read a share-partition's state summary");
            Some(uninitialized(index).with_error_code(e.code()))
        }
    }
}

/// One group of the request.
async fn describe_group(
    broker: &BrokerContext,
    ctx: &RequestContext,
    g: &DescribeShareGroupOffsetsRequestGroup,
) -> DescribeShareGroupOffsetsResponseGroup {
    let described =
        DescribeShareGroupOffsetsResponseGroup::default().with_group_id(g.group_id.clone());
    let refuse = |e: ResponseError| described.clone().with_error_code(e.code());
    if !share_groups_enabled(broker) {
        return refuse(ResponseError::UnsupportedVersion);
    }
    if let Err(e) = broker.check_group(ctx, AclOperation::Describe, &g.group_id) {
        return refuse(e);
    }
    let group = g.group_id.0.as_str();
    if !broker.groups.is_share_group(group) {
        let message = format!("Group {group} is not a share group.");
        return refuse(ResponseError::GroupIdNotFound)
            .with_error_message(Some(StrBytes::from_string(message)));
    }
    let image = broker.image();
    // Null topics: every partition of the topics the group may have state
    // in, of which those with state are answered.
    let all = g.topics.is_none();
    let mut wanted: Vec<(String, Vec<i32>)> = match &g.topics {
        Some(topics) => topics
            .iter()
            .map(|t| (t.topic_name.0.to_string(), t.partitions.clone()))
            .collect(),
        None => broker
            .groups
            .share_group_topics(group)
            .into_iter()
            .filter_map(|id| image.topic_by_id(id))
            .map(|t| (t.name.clone(), (0..t.partitions.len() as i32).collect()))
            .collect(),
    };
    wanted.sort();
    let auth = broker.authorization(ctx);
    let mut topics = Vec::with_capacity(wanted.len());
    for (name, partitions) in wanted {
        let topic = DescribeShareGroupOffsetsResponseTopic::default()
            .with_topic_name(TopicName(StrBytes::from_string(name.clone())));
        if !auth.allows(AclOperation::Describe, ResourceType::Topic, &name) {
            let refused = ResponseError::TopicAuthorizationFailed.code();
            topics.push(
                topic.with_partitions(
                    partitions
                        .iter()
                        .map(|&p| uninitialized(p).with_error_code(refused))
                        .collect(),
                ),
            );
            continue;
        }
        // As Kafka: an unknown topic is no error, only no offset.
        let Some(topic_id) = image.topic(&name).map(|t| t.id) else {
            topics.push(
                topic
                    .with_topic_id(Uuid::nil())
                    .with_partitions(partitions.iter().map(|&p| uninitialized(p)).collect()),
            );
            continue;
        };
        let mut answered = Vec::with_capacity(partitions.len());
        for p in partitions {
            if let Some(d) = partition_state(broker, group, topic_id, p, all).await {
                answered.push(d);
            }
        }
        if !answered.is_empty() || !all {
            topics.push(topic.with_topic_id(topic_id).with_partitions(answered));
        }
    }
    described.with_topics(topics)
}

impl Handler for DescribeShareGroupOffsets {
    type Request = DescribeShareGroupOffsetsRequest;

    async fn handle(
        broker: Arc<BrokerContext>,
        ctx: RequestContext,
        request: DescribeShareGroupOffsetsRequest,
    ) -> DescribeShareGroupOffsetsResponse {
        let mut groups = Vec::with_capacity(request.groups.len());
        for g in &request.groups {
            groups.push(describe_group(&broker, &ctx, g).await);
        }
        DescribeShareGroupOffsetsResponse::default().with_groups(groups)
    }
}
