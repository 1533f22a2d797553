//! ShareFetch (KIP-932): a share consumer's fetch. In its share session
//! (`group::share`'s ShareSessionCache) it acknowledges what the request
//! carries, then acquires records for the member from each partition of
//! the session (Kafka's SharePartitionManager.fetchMessages): the records
//! read from the log are sent as they are stored, with the offset ranges
//! the member acquired beside them. With nothing to acquire it waits up to
//! max_wait_ms for an append or an expiring acquisition lock; the
//! connection's next requests go on meanwhile (`Pipelined`), once the
//! session's epoch and the acknowledgements are applied in request order.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::share_fetch_response::{
    AcquiredRecords, LeaderIdAndEpoch, PartitionData, ShareFetchableTopicResponse,
};
use kafka_protocol::messages::{ShareFetchRequest, ShareFetchResponse};
use kafka_protocol::protocol::StrBytes;
use uuid::Uuid;

use super::{BrokerContext, Concurrency, Handler, RequestContext};
use crate::cluster::features;
use crate::group::{
    log_batches, mark_aborted, AckBatch, AckType, AutoOffsetReset, Opened, INITIAL_EPOCH,
};
use crate::partition::{now_ms, Awaited, IsolationLevel};
use crate::security::acl::{AclOperation, ResourceType};

pub struct ShareFetch;

/// Longest wait honoured, as Fetch's.
const MAX_WAIT_CAP: Duration = Duration::from_secs(60);

/// The acknowledgement batches of one partition, as the wire carries them:
/// (first offset, last offset, types).
pub(super) type WireAcks<'a> = Vec<(i64, i64, &'a [i8])>;

/// Applies a member's acknowledgements to one share-partition, once their
/// write landed; the error of the partition's acknowledgement.
pub(super) async fn acknowledge(
    broker: &BrokerContext,
    group: &str,
    member: &str,
    topic_id: Uuid,
    partition: i32,
    acks: WireAcks<'_>,
) -> Result<(), ResponseError> {
    let Some(name) = broker.image().topic_by_id(topic_id).map(|t| t.name.clone()) else {
        return Err(ResponseError::UnknownTopicId);
    };
    let leader = match broker.replicas.leader_partition(&name, partition) {
        Ok(leader) => leader,
        Err(e) => {
            broker
                .groups
                .drop_share_partition(group, topic_id, partition);
            return Err(e);
        }
    };
    let leader_epoch = leader.leader_epoch();
    let mut batches = Vec::with_capacity(acks.len());
    for (first, last, types) in acks {
        let Some(types) = types
            .iter()
            .map(|t| AckType::from_wire(*t))
            .collect::<Option<Vec<_>>>()
        else {
            return Err(ResponseError::InvalidRequest);
        };
        batches.push(AckBatch { first, last, types });
    }
    let reset = broker.groups.share_auto_offset_reset(group);
    broker
        .groups
        .load_share_partition(group, topic_id, partition, leader_epoch, || {
            start_offset(&leader, reset)
        })
        .await?;
    broker
        .groups
        .acknowledge_share(
            group,
            topic_id,
            partition,
            leader_epoch,
            now_ms(),
            member,
            &batches,
        )
        .await
}

/// Loads the share-partition of each target this broker leads, as its
/// leader at its current epoch; a target that cannot be loaded takes the
/// error. Partitions led elsewhere are dropped (their next leader reads
/// the written state).
async fn load_all(
    broker: &BrokerContext,
    group: &str,
    targets: &mut [(Uuid, i32, Result<String, ResponseError>)],
) {
    let reset = broker.groups.share_auto_offset_reset(group);
    for (topic_id, index, name) in targets.iter_mut() {
        let Ok(topic) = name.as_ref() else {
            continue;
        };
        let leader = match broker.replicas.leader_partition(topic, *index) {
            Ok(leader) => leader,
            Err(_) => {
                broker.groups.drop_share_partition(group, *topic_id, *index);
                continue;
            }
        };
        let loaded = broker
            .groups
            .load_share_partition(group, *topic_id, *index, leader.leader_epoch(), || {
                start_offset(&leader, reset)
            })
            .await;
        if let Err(e) = loaded {
            tracing::warn!(group, %topic_id, partition = *index, error = ?e, "cannot read a share-partition's state");
            *name = Err(e);
        }
    }
}

/// Writes what a pass changed in the targets' share-partitions (records
/// archived at the delivery limit, the start offset moved, a new
/// share-partition's start); a failure is written with the next change,
/// since it costs nothing acknowledged.
async fn write_all(
    broker: &BrokerContext,
    group: &str,
    targets: &[(Uuid, i32, Result<String, ResponseError>)],
) {
    for (topic_id, index, name) in targets {
        let Ok(topic) = name.as_ref() else {
            continue;
        };
        let Ok(leader) = broker.replicas.leader_partition(topic, *index) else {
            continue;
        };
        let written = broker
            .groups
            .write_share_partition(group, *topic_id, *index, leader.leader_epoch())
            .await;
        if let Err(e) = written {
            tracing::warn!(group, %topic_id, partition = *index, error = ?e, "cannot write a share-partition's state; written with its next change");
        }
    }
}

/// Whether share groups are served: Kafka's isShareGroupProtocolEnabled,
/// `share.version` finalized at 1 or `group.share.enable`.
pub(super) fn share_groups_enabled(broker: &BrokerContext) -> bool {
    broker.config.group_share_enable()
        || features::share_groups_enabled(&broker.image().finalized_features())
}

/// Where a new share-partition starts: `share.auto.offset.reset`.
fn start_offset(leader: &crate::partition::Partition, reset: AutoOffsetReset) -> i64 {
    match reset {
        AutoOffsetReset::Earliest => leader.log_start_offset(),
        AutoOffsetReset::Latest => leader.high_watermark(),
    }
}

fn leader_of(node_id: i32, epoch: i32) -> LeaderIdAndEpoch {
    LeaderIdAndEpoch::default()
        .with_leader_id(node_id)
        .with_leader_epoch(epoch)
}

fn no_leader() -> LeaderIdAndEpoch {
    leader_of(-1, -1)
}

/// What one pass over the session's partitions acquired.
struct Pass {
    partitions: BTreeMap<(Uuid, i32), PartitionData>,
    /// Whether it is news to answer at once: records or an error.
    news: bool,
}

/// One acquisition pass: for each partition of the session, the records
/// it could acquire for `member`, within `max_records` and `max_bytes` in
/// all. Under read_committed (`share.isolation.level`) nothing past the
/// last stable offset is acquired and aborted transactions' records are
/// archived, as Kafka's SharePartition reads a read_committed fetch.
#[allow(clippy::too_many_arguments)]
fn acquire_all(
    broker: &BrokerContext,
    group: &str,
    member: &str,
    partitions: &[(Uuid, i32, Result<String, ResponseError>)],
    max_records: usize,
    max_bytes: usize,
) -> Pass {
    let now = now_ms();
    let isolation = if broker.groups.share_read_committed(group) {
        IsolationLevel::ReadCommitted
    } else {
        IsolationLevel::ReadUncommitted
    };
    let mut records_left = max_records;
    let mut bytes_left = max_bytes;
    let mut out = BTreeMap::new();
    let mut news = false;
    for (topic_id, index, name) in partitions {
        let pd = PartitionData::default().with_partition_index(*index);
        let leader = name
            .clone()
            .and_then(|name| broker.replicas.leader_partition(&name, *index));
        let leader = match leader {
            Ok(p) => p,
            Err(e) => {
                news = true;
                let pd = pd
                    .with_error_code(e.code())
                    .with_current_leader(no_leader());
                out.insert((*topic_id, *index), pd);
                continue;
            }
        };
        let leader_epoch = leader.leader_epoch();
        let pd = pd.with_current_leader(leader_of(broker.node_id, leader_epoch));
        if records_left == 0 || bytes_left == 0 {
            out.insert((*topic_id, *index), pd);
            continue;
        }
        // What members may be given: up to the high watermark, or under
        // read_committed the last stable offset.
        let readable = match isolation {
            IsolationLevel::ReadCommitted => leader.last_stable_offset(),
            IsolationLevel::ReadUncommitted => leader.high_watermark(),
        };
        let log_start = leader.log_start_offset();
        // Not loaded at this epoch: leadership moved since the pass began;
        // the next request loads it.
        let from = broker.groups.with_share_partition(
            group,
            *topic_id,
            *index,
            leader_epoch,
            now,
            |sp, limits| {
                sp.log_start_moved(log_start);
                sp.has_acquirable(readable, limits)
                    .then(|| sp.fetch_offset())
            },
        );
        let Some(Some(from)) = from else {
            out.insert((*topic_id, *index), pd);
            continue;
        };
        let read = match leader.read(from, bytes_left, isolation, true) {
            Ok(read) => read,
            Err(e) => {
                news = true;
                out.insert((*topic_id, *index), pd.with_error_code(e.code()));
                continue;
            }
        };
        let mut batches = log_batches(&read.records);
        if let Some(aborted) = &read.aborted_transactions {
            mark_aborted(&mut batches, aborted);
        }
        let readable = match isolation {
            IsolationLevel::ReadCommitted => read.last_stable_offset,
            IsolationLevel::ReadUncommitted => read.high_watermark,
        };
        let acquired = broker.groups.with_share_partition(
            group,
            *topic_id,
            *index,
            leader_epoch,
            now,
            |sp, limits| sp.acquire(member, &batches, readable, records_left, now, limits),
        );
        let Some(acquired) = acquired else {
            out.insert((*topic_id, *index), pd);
            continue;
        };
        let (Some(first), Some(last)) = (acquired.first(), acquired.last()) else {
            out.insert((*topic_id, *index), pd);
            continue;
        };
        // Only the batches holding acquired records go to the member.
        let kept: Vec<_> = batches
            .iter()
            .filter(|b| b.last >= first.first && b.base <= last.last)
            .collect();
        let records = match (kept.first(), kept.last()) {
            (Some(a), Some(b)) => read.records.slice(a.bytes.start..b.bytes.end),
            _ => Bytes::new(),
        };
        let count: i64 = acquired.iter().map(|a| a.last - a.first + 1).sum();
        records_left = records_left.saturating_sub(count as usize);
        bytes_left = bytes_left.saturating_sub(records.len());
        news = true;
        let acquired = acquired
            .iter()
            .map(|a| {
                AcquiredRecords::default()
                    .with_first_offset(a.first)
                    .with_last_offset(a.last)
                    .with_delivery_count(a.delivery_count)
            })
            .collect();
        out.insert(
            (*topic_id, *index),
            pd.with_records(Some(records))
                .with_acquired_records(acquired),
        );
    }
    Pass {
        partitions: out,
        news,
    }
}

fn refused(error: ResponseError, message: Option<&'static str>) -> ShareFetchResponse {
    ShareFetchResponse::default()
        .with_error_code(error.code())
        .with_error_message(message.map(StrBytes::from_static_str))
}

impl Handler for ShareFetch {
    type Request = ShareFetchRequest;
    /// The session and acknowledgements in request order (their epochs
    /// count on it), then the long poll while later requests go on.
    const CONCURRENCY: Concurrency = Concurrency::Pipelined;

    /// The records, sent from the buffers the segments were read into.
    fn shared_bytes(response: &ShareFetchResponse) -> Vec<Bytes> {
        response
            .responses
            .iter()
            .flat_map(|t| &t.partitions)
            .filter_map(|p| p.records.clone())
            .collect()
    }

    async fn handle(
        broker: Arc<BrokerContext>,
        ctx: RequestContext,
        request: ShareFetchRequest,
    ) -> ShareFetchResponse {
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
        let epoch = request.share_session_epoch;
        let has_acks = request
            .topics
            .iter()
            .flat_map(|t| &t.partitions)
            .any(|p| !p.acknowledgement_batches.is_empty());
        if epoch == INITIAL_EPOCH && has_acks {
            return refused(
                ResponseError::InvalidRequest,
                Some("Acknowledge data present in initial ShareFetch request."),
            );
        }
        let added: Vec<(Uuid, i32)> = request
            .topics
            .iter()
            .flat_map(|t| t.partitions.iter().map(|p| (t.topic_id, p.partition_index)))
            .collect();
        let forgotten: Vec<(Uuid, i32)> = request
            .forgotten_topics_data
            .iter()
            .flat_map(|t| t.partitions.iter().map(|p| (t.topic_id, *p)))
            .collect();
        let opened = match broker.groups.share_session_fetch(
            &group,
            &member,
            epoch,
            &added,
            &forgotten,
            ctx.connection_id,
        ) {
            Ok(opened) => opened,
            Err(e) => return refused(e, None),
        };
        let mut acked: BTreeMap<(Uuid, i32), i16> = BTreeMap::new();
        for t in &request.topics {
            for p in t.partitions.iter() {
                if p.acknowledgement_batches.is_empty() {
                    continue;
                }
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
                let code = acknowledge(
                    &broker,
                    &group,
                    &member,
                    t.topic_id,
                    p.partition_index,
                    acks,
                )
                .await
                .err()
                .map_or(0, |e| e.code());
                acked.insert((t.topic_id, p.partition_index), code);
            }
        }
        ctx.in_order.done();
        let (session, full) = match opened {
            Opened::Closed(_) => {
                broker.groups.release_share_member(&group, &member);
                (Vec::new(), false)
            }
            Opened::New(partitions) => (partitions, true),
            Opened::Continued(partitions) => (partitions, false),
        };
        let image = broker.image();
        let mut targets: Vec<(Uuid, i32, Result<String, ResponseError>)> = session
            .iter()
            .map(|&(topic_id, index)| {
                let name = image
                    .topic_by_id(topic_id)
                    .map(|t| t.name.clone())
                    .ok_or(ResponseError::UnknownTopicId)
                    .and_then(|name| {
                        if auth.allows(AclOperation::Read, ResourceType::Topic, &name) {
                            Ok(name)
                        } else {
                            Err(ResponseError::TopicAuthorizationFailed)
                        }
                    });
                (topic_id, index, name)
            })
            .collect();
        drop(image);
        let max_records = request.max_records.max(0) as usize;
        let max_bytes = (request.max_bytes.max(0) as usize).min(broker.config.fetch_max_bytes());
        let max_wait = Duration::from_millis(request.max_wait_ms.max(0) as u64).min(MAX_WAIT_CAP);
        let deadline = tokio::time::Instant::now() + max_wait;
        let mut partitions = BTreeMap::new();
        if max_records > 0 && !targets.is_empty() {
            load_all(&broker, &group, &mut targets).await;
            loop {
                let left = deadline.saturating_duration_since(tokio::time::Instant::now());
                // An acquisition lock running out makes records available
                // without an append: wake for the first one.
                let until_lock = broker
                    .groups
                    .next_share_lock_deadline(&group)
                    .map(|at| Duration::from_millis((at - now_ms()).max(1) as u64));
                let wait = until_lock.map_or(left, |d| d.min(left));
                let watched = || {
                    targets
                        .iter()
                        .filter_map(|(_, index, name)| {
                            let name = name.as_ref().ok()?;
                            broker.replicas.leader_partition(name, *index).ok()
                        })
                        .collect()
                };
                let pass = broker
                    .replicas
                    .wait_for_data(1, wait, watched, Awaited::HighWatermark, || {
                        let pass =
                            acquire_all(&broker, &group, &member, &targets, max_records, max_bytes);
                        let news = if pass.news { usize::MAX } else { 0 };
                        (pass, news)
                    })
                    .await;
                write_all(&broker, &group, &targets).await;
                let done = pass.news || tokio::time::Instant::now() >= deadline;
                partitions = pass.partitions;
                if done {
                    break;
                }
            }
        }
        if full {
            for &(topic_id, index) in &session {
                partitions
                    .entry((topic_id, index))
                    .or_insert_with(|| PartitionData::default().with_partition_index(index));
            }
        }
        for (key, code) in &acked {
            let pd = partitions
                .remove(key)
                .unwrap_or_else(|| PartitionData::default().with_partition_index(key.1));
            partitions.insert(*key, pd.with_acknowledge_error_code(*code));
        }
        // An incremental answer holds only partitions with news; a new
        // session's names every partition.
        let mut by_topic: BTreeMap<Uuid, Vec<PartitionData>> = BTreeMap::new();
        for ((topic_id, _), pd) in partitions {
            let news = full
                || pd.error_code != 0
                || !pd.acquired_records.is_empty()
                || acked.contains_key(&(topic_id, pd.partition_index));
            if news {
                by_topic.entry(topic_id).or_default().push(pd);
            }
        }
        let responses = by_topic
            .into_iter()
            .map(|(topic_id, partitions)| {
                ShareFetchableTopicResponse::default()
                    .with_topic_id(topic_id)
                    .with_partitions(partitions)
            })
            .collect();
        ShareFetchResponse::default()
            .with_acquisition_lock_timeout_ms(
                broker.groups.share_limits(&group).lock_duration_ms as i32,
            )
            .with_responses(responses)
    }
}
