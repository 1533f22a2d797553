//! Fetch: reads up to the high watermark (the last stable offset under
//! read_committed, with the aborted transactions in the range read),
//! honouring max_bytes, partition_max_bytes and the long poll on
//! min_bytes / max_wait_ms, with or without a fetch session (KIP-227,
//! `fetch_session`).

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::fetch_response::{
    AbortedTransaction, FetchableTopicResponse, PartitionData,
};
use kafka_protocol::messages::{FetchRequest, FetchResponse, ProducerId};

use super::fetch_session::{FetchContext, PartitionRead, TopicKey, TopicRead};
use super::{BrokerContext, Concurrency, Handler, RequestContext};
use crate::cluster::alter_partition::{IsrChange, Proposal};
use crate::partition::{Awaited, IsolationLevel, IsrExpansion, Partition};
use crate::quota::QuotaType;
use crate::security::acl::{AclOperation, ResourceType};
use crate::topic_partition::TopicPartition;
use kafka_protocol::protocol::Encodable;

pub struct Fetch;

/// Longest long poll honoured, so a client asking for hours cannot pin a connection.
const MAX_WAIT_CAP: Duration = Duration::from_secs(60);

struct Wanted {
    /// The topic's name, or the error every partition of it gets.
    name: Result<String, ResponseError>,
    topic: TopicKey,
    partitions: Vec<super::fetch_session::Wanted>,
}

/// A follower's fetch that found it caught up outside the ISR: the ISR to
/// propose, at the (leader epoch, partition epoch) it was worked out at.
type Expansion = (TopicPartition, (i32, i32), IsrExpansion);

fn read_all(
    broker: &BrokerContext,
    wanted: &[Wanted],
    max_bytes: usize,
    isolation: IsolationLevel,
    replica: Option<(i32, i64)>,
    expansions: &mut Vec<Expansion>,
) -> (Vec<TopicRead>, usize) {
    let mut left = max_bytes;
    let mut total = 0usize;
    // Kafka's shouldLeaderThrottle: while this broker's leader throttle is
    // exceeded, a follower outside the ISR gets nothing of a throttled
    // partition; its fetch offset still counts, for the ISR.
    let leader_quota = &broker.replication.leader;
    let over_quota = replica.is_some() && leader_quota.is_quota_exceeded();
    let mut topics = Vec::with_capacity(wanted.len());
    for w in wanted {
        let mut partitions = Vec::with_capacity(w.partitions.len());
        let found = match &w.name {
            Ok(name) => broker
                .replicas
                .leader_partitions(name, w.partitions.iter().map(|p| p.0)),
            Err(code) => vec![Err(*code); w.partitions.len()],
        };
        for (&(index, offset, epoch, partition_max), found) in w.partitions.iter().zip(found) {
            let name = match &w.name {
                Ok(name) => name.as_str(),
                Err(code) => {
                    partitions.push(PartitionRead::failed(index, *code, None));
                    continue;
                }
            };
            // KIP-74: the first non-empty partition may exceed the limits by one
            // batch, so a batch larger than max_bytes cannot stall a consumer.
            let min_one = total == 0;
            let read = found.and_then(|p| {
                p.check_leader_epoch(epoch)?;
                let Some(replica) = replica else {
                    return p.read(offset, left.min(partition_max), isolation, min_one);
                };
                let held_back = over_quota
                    && leader_quota.is_throttled(name, index)
                    && !p.isr().contains(&replica.0);
                // Before the ISR the expansion is worked out from.
                let epochs = p.epochs();
                let (read, expand) = p.follower_fetch(
                    replica,
                    offset,
                    (!held_back).then_some(left.min(partition_max)),
                )?;
                if let Some(isr) = expand {
                    expansions.retain(|e| (e.0.topic.as_str(), e.0.partition) != (name, index));
                    expansions.push((TopicPartition::new(name, index), epochs, isr));
                }
                Ok(read)
            });
            partitions.push(match read {
                Ok(read) => {
                    let n = read.records.len();
                    total += n;
                    left = left.saturating_sub(n);
                    PartitionRead {
                        index,
                        error_code: 0,
                        high_watermark: read.high_watermark,
                        last_stable_offset: read.last_stable_offset,
                        log_start_offset: read.log_start_offset,
                        records: read.records,
                        aborted_transactions: read.aborted_transactions,
                    }
                }
                Err(code) => {
                    PartitionRead::failed(index, code, broker.replicas.partition(name, index))
                }
            });
        }
        topics.push(TopicRead {
            topic: w.topic.clone(),
            partitions,
        });
    }
    (topics, total)
}

impl PartitionRead {
    /// The answer of a partition that could not be read: its offsets as
    /// far as this broker holds it, -1 otherwise.
    fn failed(index: i32, code: ResponseError, held: Option<Arc<Partition>>) -> PartitionRead {
        let (high_watermark, last_stable_offset, log_start_offset) =
            held.map_or((-1, -1, -1), |p| {
                (
                    p.high_watermark(),
                    p.last_stable_offset(),
                    p.log_start_offset(),
                )
            });
        PartitionRead {
            index,
            error_code: code.code(),
            high_watermark,
            last_stable_offset,
            log_start_offset,
            records: Bytes::new(),
            aborted_transactions: Some(Vec::new()),
        }
    }

    fn into_response(self) -> PartitionData {
        let mut pd = PartitionData::default();
        pd.partition_index = self.index;
        pd.error_code = self.error_code;
        pd.high_watermark = self.high_watermark;
        pd.last_stable_offset = self.last_stable_offset;
        pd.log_start_offset = self.log_start_offset;
        pd.records = Some(self.records);
        pd.aborted_transactions = self.aborted_transactions.map(|txns| {
            txns.into_iter()
                .map(|(producer_id, first_offset)| {
                    AbortedTransaction::default()
                        .with_producer_id(ProducerId(producer_id))
                        .with_first_offset(first_offset)
                })
                .collect()
        });
        pd
    }
}

/// Counts what a follower's fetch returned of partitions throttled here
/// as a leader against the leader throttle (Kafka's
/// sizeOfThrottledPartitions), whether or not the follower is in the ISR.
fn record_throttled(broker: &BrokerContext, wanted: &[Wanted], topics: &[TopicRead]) {
    let quota = &broker.replication.leader;
    let bytes: usize = wanted
        .iter()
        .zip(topics)
        .filter_map(|(w, t)| Some((w.name.as_ref().ok()?, t)))
        .flat_map(|(name, t)| {
            t.partitions
                .iter()
                .filter(move |p| quota.is_throttled(name, p.index))
        })
        .map(|p| p.records.len())
        .sum();
    quota.record(bytes);
}

impl Handler for Fetch {
    type Request = FetchRequest;
    const CONCURRENCY: Concurrency = Concurrency::Concurrent;

    /// The records, which go from the buffers the segments were read into
    /// to the socket without a copy in between.
    fn shared_bytes(response: &FetchResponse) -> Vec<Bytes> {
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
        request: FetchRequest,
    ) -> FetchResponse {
        // Sessions came with v7; before it the fields are not on the wire.
        let (session, from_session) = if ctx.api_version >= 7 {
            match broker.fetch_sessions.open(
                request.session_id,
                request.session_epoch,
                &request.topics,
                &request.forgotten_topics_data,
            ) {
                Ok(opened) => opened,
                Err(code) => return FetchResponse::default().with_error_code(code.code()),
            }
        } else {
            (FetchContext::Sessionless, None)
        };
        let topic_id_mode = ctx.api_version >= 13;
        // A broker fetching as a follower names itself (v15+ in replica_state).
        // From v15 it also states its broker epoch (KIP-903).
        let (replica_id, broker_epoch) = if ctx.api_version >= 15 {
            let state = &request.replica_state;
            (state.replica_id.0, state.replica_epoch)
        } else {
            (request.replica_id.0, -1)
        };
        let replica = (replica_id >= 0).then_some((replica_id, broker_epoch));
        // As Kafka: a follower needs CLUSTER_ACTION on the cluster, a
        // consumer READ on each topic; either way a refused topic's
        // partitions answer TOPIC_AUTHORIZATION_FAILED and hold no records.
        let auth = broker.authorization(&ctx);
        let follower_allowed =
            replica.is_none() || auth.allows_cluster(AclOperation::ClusterAction);
        if !follower_allowed {
            tracing::info!(principal = %ctx.principal, peer = %ctx.peer, replica = replica_id, "follower fetch refused: the brokers' principal needs CLUSTER_ACTION on the cluster (or to be in super.users)");
        }
        let image = broker.image();
        let asked = from_session.unwrap_or_else(|| {
            request
                .topics
                .iter()
                .map(|t| {
                    let topic = TopicKey {
                        name: t.topic.clone(),
                        id: t.topic_id,
                    };
                    let partitions = t
                        .partitions
                        .iter()
                        .map(|p| {
                            (
                                p.partition,
                                p.fetch_offset,
                                p.current_leader_epoch,
                                p.partition_max_bytes.max(0) as usize,
                            )
                        })
                        .collect();
                    (topic, partitions)
                })
                .collect()
        });
        let wanted: Vec<Wanted> = asked
            .into_iter()
            .map(|(t, partitions)| {
                let name = if topic_id_mode {
                    image
                        .topic_by_id(t.id)
                        .map(|i| i.name.clone())
                        .ok_or(ResponseError::UnknownTopicId)
                } else {
                    Ok(t.name.0.to_string())
                };
                let name = name.and_then(|name| {
                    let allowed = match replica {
                        Some(_) => follower_allowed,
                        None => auth.allows(AclOperation::Read, ResourceType::Topic, &name),
                    };
                    if allowed {
                        Ok(name)
                    } else {
                        Err(ResponseError::TopicAuthorizationFailed)
                    }
                });
                Wanted {
                    name,
                    topic: t,
                    partitions,
                }
            })
            .collect();
        drop(image);
        let isolation = IsolationLevel::from_wire(request.isolation_level);
        let mut expansions = Vec::new();
        // The broker's fetch.max.bytes bounds what one response may hold, as in Kafka.
        let max_bytes = (request.max_bytes.max(0) as usize).min(broker.config.fetch_max_bytes());
        let min_bytes = request.min_bytes.max(0) as usize;
        let max_wait = Duration::from_millis(request.max_wait_ms.max(0) as u64).min(MAX_WAIT_CAP);
        // A follower waits for the log end to move, a consumer for what it
        // may read (the high watermark, or the last stable offset).
        let awaited = if replica.is_some() {
            Awaited::LogEnd
        } else {
            Awaited::HighWatermark
        };
        let watched = || {
            wanted
                .iter()
                .filter_map(|w| Some((w.name.as_ref().ok()?, w)))
                .flat_map(|(name, w)| {
                    broker
                        .replicas
                        .leader_partitions(name, w.partitions.iter().map(|p| p.0))
                })
                .flatten()
                .collect()
        };
        let mut topics = broker
            .replicas
            .wait_for_data(min_bytes, max_wait, watched, awaited, || {
                let (topics, bytes) = read_all(
                    &broker,
                    &wanted,
                    max_bytes,
                    isolation,
                    replica,
                    &mut expansions,
                );
                // An error is news the client should get at once, as Kafka answers it.
                let has_error = topics
                    .iter()
                    .flat_map(|t| &t.partitions)
                    .any(|p| p.error_code != 0);
                (topics, if has_error { usize::MAX } else { bytes })
            })
            .await;
        for (tp, (leader_epoch, partition_epoch), wider) in expansions {
            let change = IsrChange::Expand;
            let proposal = Proposal {
                leader_epoch,
                partition_epoch,
                isr: wider.isr,
                joining: vec![wider.joining],
                change,
            };
            broker.isr_changes.propose(tp, proposal);
        }
        if replica.is_some() {
            record_throttled(&broker, &wanted, &topics);
        }
        broker.fetch_sessions.answer(&session, &mut topics);
        let topics = topics
            .into_iter()
            .map(|t| {
                FetchableTopicResponse::default()
                    .with_topic(t.topic.name)
                    .with_topic_id(t.topic.id)
                    .with_partitions(
                        t.partitions
                            .into_iter()
                            .map(PartitionRead::into_response)
                            .collect(),
                    )
            })
            .collect();
        let response = FetchResponse::default()
            .with_session_id(session.session_id())
            .with_responses(topics);
        // A consumer's quota counts what it is sent; replication is not
        // subject to client quotas.
        if replica.is_some() || broker.image().client_quotas.is_empty() {
            return response;
        }
        let size = response.compute_size(ctx.api_version).unwrap_or(0);
        let throttle = broker.throttle(&ctx, QuotaType::Fetch, size as f64);
        response.with_throttle_time_ms(throttle)
    }
}
