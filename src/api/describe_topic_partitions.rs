//! DescribeTopicPartitions (KIP-966): topic layouts as Metadata gives them,
//! paged. Topics go in name order; a response holds at most
//! `response_partition_limit` partitions (capped by
//! `max.request.partition.size.limit`) and a cursor naming the first
//! partition left out, from which the client asks again.

use std::collections::BTreeSet;
use std::sync::Arc;

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::describe_topic_partitions_response::{
    Cursor, DescribeTopicPartitionsResponsePartition, DescribeTopicPartitionsResponseTopic,
};
use kafka_protocol::messages::{
    BrokerId, DescribeTopicPartitionsRequest, DescribeTopicPartitionsResponse, TopicName,
};
use kafka_protocol::protocol::StrBytes;
use uuid::Uuid;

use super::{BrokerContext, Handler, RequestContext};
use crate::cluster::{topic_name, MetadataImage, TopicImage};
use crate::security::acl::{AclOperation, ResourceType};

pub struct DescribeTopicPartitions;

fn name(topic: &str) -> TopicName {
    TopicName(StrBytes::from_string(topic.to_string()))
}

fn error_topic(topic: &str, error: ResponseError) -> DescribeTopicPartitionsResponseTopic {
    DescribeTopicPartitionsResponseTopic::default()
        .with_error_code(error.code())
        .with_name(Some(name(topic)))
        .with_topic_id(Uuid::nil())
        .with_is_internal(topic_name::is_internal(topic))
}

/// Partitions `from..` of `topic`, at most `limit` of them.
fn partitions(
    image: &MetadataImage,
    topic: &TopicImage,
    from: usize,
    limit: usize,
) -> Vec<DescribeTopicPartitionsResponsePartition> {
    // A replica is offline while its broker is fenced or unregistered.
    let offline = |replicas: &[i32]| -> Vec<BrokerId> {
        replicas
            .iter()
            .filter(|id| image.brokers.get(id).is_none_or(|b| b.fenced))
            .copied()
            .map(BrokerId)
            .collect()
    };
    topic
        .partitions
        .iter()
        .enumerate()
        .skip(from)
        .take(limit)
        .map(|(i, p)| {
            DescribeTopicPartitionsResponsePartition::default()
                .with_error_code(if p.leader < 0 {
                    ResponseError::LeaderNotAvailable.code()
                } else {
                    0
                })
                .with_partition_index(i as i32)
                .with_leader_id(BrokerId(p.leader))
                .with_leader_epoch(p.leader_epoch)
                .with_replica_nodes(p.replicas.iter().copied().map(BrokerId).collect())
                .with_isr_nodes(p.isr.iter().copied().map(BrokerId).collect())
                // Gregor elects only from the ISR (no KIP-966 eligible
                // leader replicas): both lists are empty, as Kafka's are
                // when ELR is disabled.
                .with_eligible_leader_replicas(Some(Vec::new()))
                .with_last_known_elr(Some(Vec::new()))
                .with_offline_replicas(offline(&p.replicas))
        })
        .collect()
}

impl Handler for DescribeTopicPartitions {
    type Request = DescribeTopicPartitionsRequest;

    async fn handle(
        broker: Arc<BrokerContext>,
        ctx: RequestContext,
        request: DescribeTopicPartitionsRequest,
    ) -> DescribeTopicPartitionsResponse {
        let image = broker.image();
        let auth = broker.authorization(&ctx);
        let all = request.topics.is_empty();
        let cursor = request
            .cursor
            .as_ref()
            .map(|c| (c.topic_name.0.to_string(), c.partition_index));
        let after = cursor.as_ref().map_or("", |(t, _)| t.as_str());
        // Topics from the cursor's on, in name order.
        let named: Vec<String> = if all {
            image.topics.keys().cloned().collect()
        } else {
            request
                .topics
                .iter()
                .map(|t| t.name.0.to_string())
                .collect()
        };
        let wanted: BTreeSet<String> = named.into_iter().filter(|t| t.as_str() >= after).collect();
        // As Kafka: a cursor must point at a partition of a topic the
        // request covers; anything else fails every named topic.
        let bad_cursor = cursor
            .as_ref()
            .is_some_and(|(t, p)| *p < 0 || !wanted.contains(t));
        if bad_cursor {
            return DescribeTopicPartitionsResponse::default().with_topics(
                request
                    .topics
                    .iter()
                    .map(|t| error_topic(t.name.0.as_str(), ResponseError::InvalidRequest))
                    .collect(),
            );
        }
        let describes = |t: &str| auth.allows(AclOperation::Describe, ResourceType::Topic, t);
        // Listing everything leaves out what the principal may not
        // describe; a named one answers TOPIC_AUTHORIZATION_FAILED after
        // the others, whether it exists or not.
        let (visible, refused): (Vec<String>, Vec<String>) =
            wanted.into_iter().partition(|t| describes(t));
        let limit = request
            .response_partition_limit
            .min(broker.config.max_request_partition_size_limit())
            .max(1) as usize;
        let mut remaining = limit;
        let mut topics = Vec::new();
        let mut next_cursor = None;
        for topic in visible {
            if remaining == 0 {
                next_cursor = Some(
                    Cursor::default()
                        .with_topic_name(name(&topic))
                        .with_partition_index(0),
                );
                break;
            }
            let Some(found) = image.topic(&topic) else {
                if !all {
                    let error = if topic_name::validate(&topic).is_err() {
                        ResponseError::InvalidTopicException
                    } else {
                        ResponseError::UnknownTopicOrPartition
                    };
                    topics.push(error_topic(&topic, error));
                }
                continue;
            };
            let from = match &cursor {
                Some((t, p)) if *t == topic => *p as usize,
                _ => 0,
            };
            let page = partitions(&image, found, from, remaining);
            let next = from + page.len();
            remaining -= page.len();
            topics.push(
                DescribeTopicPartitionsResponseTopic::default()
                    .with_name(Some(name(&topic)))
                    .with_topic_id(found.id)
                    .with_is_internal(found.internal)
                    .with_partitions(page)
                    .with_topic_authorized_operations(
                        auth.authorized_operations(ResourceType::Topic, &topic),
                    ),
            );
            if next < found.partitions.len() {
                next_cursor = Some(
                    Cursor::default()
                        .with_topic_name(name(&topic))
                        .with_partition_index(next as i32),
                );
                break;
            }
        }
        if !all {
            topics.extend(
                refused
                    .iter()
                    .map(|t| error_topic(t, ResponseError::TopicAuthorizationFailed)),
            );
        }
        DescribeTopicPartitionsResponse::default()
            .with_topics(topics)
            .with_next_cursor(next_cursor)
    }
}
