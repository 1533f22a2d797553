//! OffsetFetch: a group's committed positions (v8+: several groups at once),
//! holding back those an open transaction has committed when asked for
//! stable offsets.

use std::sync::Arc;

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::offset_fetch_response::{
    OffsetFetchResponseGroup, OffsetFetchResponsePartition, OffsetFetchResponsePartitions,
    OffsetFetchResponseTopic, OffsetFetchResponseTopics,
};
use kafka_protocol::messages::{OffsetFetchRequest, OffsetFetchResponse, TopicName};
use kafka_protocol::protocol::StrBytes;

use super::{BrokerContext, Handler, RequestContext};
use crate::group::CommittedOffset;
use crate::security::acl::{AclOperation, ResourceType};
use crate::security::authorizer::Authorization;
use crate::topic_partition::TopicPartition;

pub struct OffsetFetch;

type Found = Vec<(TopicPartition, Option<CommittedOffset>)>;
type PartitionOffsets = Vec<(i32, Option<CommittedOffset>)>;

/// Groups `found` by topic, in first-seen order.
fn by_topic(found: Found) -> Vec<(String, PartitionOffsets)> {
    let mut out: Vec<(String, PartitionOffsets)> = Vec::new();
    for (TopicPartition { topic, partition }, offset) in found {
        match out.iter_mut().find(|(t, _)| *t == topic) {
            Some((_, parts)) => parts.push((partition, offset)),
            None => out.push((topic, vec![(partition, offset)])),
        }
    }
    out
}

/// As Kafka: topics the principal may not DESCRIBE are left out when a
/// group's every offset is asked for, and answer TOPIC_AUTHORIZATION_FAILED
/// when named; the flag says which topics may be shown.
fn authorized(
    auth: &Authorization,
    named: bool,
    found: Vec<(String, PartitionOffsets)>,
) -> Vec<(String, PartitionOffsets, bool)> {
    found
        .into_iter()
        .map(|(topic, parts)| {
            let allowed = auth.allows(AclOperation::Describe, ResourceType::Topic, &topic);
            (topic, parts, allowed)
        })
        .filter(|(_, _, allowed)| named || *allowed)
        .collect()
}

/// (offset, leader epoch, metadata) as Kafka reports them; -1 and "" when nothing was committed.
fn fields(o: Option<CommittedOffset>) -> (i64, i32, Option<StrBytes>) {
    match o {
        Some(o) => (
            o.offset,
            o.leader_epoch,
            Some(StrBytes::from_string(o.metadata.unwrap_or_default())),
        ),
        None => (-1, -1, Some(StrBytes::default())),
    }
}

/// With require_stable (KIP-447), an offset an open transaction has
/// committed is not answered: UNSTABLE_OFFSET_COMMIT tells the consumer to
/// ask again once the transaction ends.
fn stable(
    broker: &BrokerContext,
    require_stable: bool,
    (group, topic, partition): (&str, &str, i32),
    offset: Option<CommittedOffset>,
) -> (Option<CommittedOffset>, i16) {
    if require_stable && broker.groups.has_pending_offset(group, topic, partition) {
        (None, ResponseError::UnstableOffsetCommit.code())
    } else {
        (offset, 0)
    }
}

impl Handler for OffsetFetch {
    type Request = OffsetFetchRequest;

    async fn handle(
        broker: Arc<BrokerContext>,
        ctx: RequestContext,
        request: OffsetFetchRequest,
    ) -> OffsetFetchResponse {
        let auth = broker.authorization(&ctx);
        let topic_refused = ResponseError::TopicAuthorizationFailed.code();
        if ctx.api_version >= 8 {
            let groups = request
                .groups
                .iter()
                .map(|g| {
                    if let Err(e) = broker.check_group(&ctx, AclOperation::Describe, &g.group_id.0)
                    {
                        return OffsetFetchResponseGroup::default()
                            .with_group_id(g.group_id.clone())
                            .with_error_code(e.code());
                    }
                    let wanted = g.topics.as_ref().map(|ts| {
                        ts.iter()
                            .map(|t| (t.name.0.to_string(), t.partition_indexes.clone()))
                            .collect()
                    });
                    let named = g.topics.is_some();
                    let found = by_topic(broker.groups.fetch_offsets(&g.group_id.0, wanted));
                    let topics = authorized(&auth, named, found)
                        .into_iter()
                        .map(|(topic, parts, allowed)| {
                            OffsetFetchResponseTopics::default()
                                .with_name(TopicName(StrBytes::from_string(topic.clone())))
                                .with_partitions(
                                    parts
                                        .into_iter()
                                        .map(|(p, o)| {
                                            let (o, error) = if allowed {
                                                stable(
                                                    &broker,
                                                    request.require_stable,
                                                    (&g.group_id.0, &topic, p),
                                                    o,
                                                )
                                            } else {
                                                (None, topic_refused)
                                            };
                                            let (offset, epoch, metadata) = fields(o);
                                            OffsetFetchResponsePartitions::default()
                                                .with_partition_index(p)
                                                .with_committed_offset(offset)
                                                .with_committed_leader_epoch(epoch)
                                                .with_metadata(metadata)
                                                .with_error_code(error)
                                        })
                                        .collect(),
                                )
                        })
                        .collect();
                    OffsetFetchResponseGroup::default()
                        .with_group_id(g.group_id.clone())
                        .with_topics(topics)
                })
                .collect();
            return OffsetFetchResponse::default().with_groups(groups);
        }
        // Versions 0 and 1 have no error for the whole group to carry
        // this; a refused group then answers in each partition asked for.
        match broker.check_group(&ctx, AclOperation::Describe, &request.group_id.0) {
            Err(e) if ctx.api_version >= 2 => {
                return OffsetFetchResponse::default().with_error_code(e.code())
            }
            Err(ResponseError::GroupAuthorizationFailed) => {
                let topics = request.topics.iter().flatten().map(|t| {
                    OffsetFetchResponseTopic::default()
                        .with_name(t.name.clone())
                        .with_partitions(
                            t.partition_indexes
                                .iter()
                                .map(|p| {
                                    OffsetFetchResponsePartition::default()
                                        .with_partition_index(*p)
                                        .with_committed_offset(-1)
                                        .with_error_code(
                                            ResponseError::GroupAuthorizationFailed.code(),
                                        )
                                })
                                .collect(),
                        )
                });
                return OffsetFetchResponse::default().with_topics(topics.collect());
            }
            _ => {}
        }
        let wanted = request.topics.as_ref().map(|ts| {
            ts.iter()
                .map(|t| (t.name.0.to_string(), t.partition_indexes.clone()))
                .collect()
        });
        let found = by_topic(broker.groups.fetch_offsets(&request.group_id.0, wanted));
        let topics = authorized(&auth, request.topics.is_some(), found)
            .into_iter()
            .map(|(topic, parts, allowed)| {
                OffsetFetchResponseTopic::default()
                    .with_name(TopicName(StrBytes::from_string(topic.clone())))
                    .with_partitions(
                        parts
                            .into_iter()
                            .map(|(p, o)| {
                                let (o, error) = if allowed {
                                    stable(
                                        &broker,
                                        request.require_stable,
                                        (&request.group_id.0, &topic, p),
                                        o,
                                    )
                                } else {
                                    (None, topic_refused)
                                };
                                let (offset, epoch, metadata) = fields(o);
                                OffsetFetchResponsePartition::default()
                                    .with_partition_index(p)
                                    .with_committed_offset(offset)
                                    .with_committed_leader_epoch(epoch)
                                    .with_metadata(metadata)
                                    .with_error_code(error)
                            })
                            .collect(),
                    )
            })
            .collect();
        OffsetFetchResponse::default().with_topics(topics)
    }
}
