//! Produce: append each partition's record batches as leader. The batches are
//! stored as the producer sent them; only base offset and leader epoch (and,
//! for LogAppendTime topics, the timestamp) are patched in the log layer.

use std::sync::Arc;
use std::time::Duration;

use futures::future::join_all;
use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::produce_response::{
    BatchIndexAndErrorMessage, PartitionProduceResponse, TopicProduceResponse,
};
use kafka_protocol::messages::{ProduceRequest, ProduceResponse, TopicName};
use kafka_protocol::protocol::StrBytes;

use super::{BrokerContext, Concurrency, Handler, RequestContext};
use crate::cluster::topic_name;
use crate::log::{has_transactional_batch, AppendInfo};
use crate::partition::{AppendError, Partition};
use crate::quota::QuotaType;
use crate::security::acl::{AclOperation, ResourceType};

pub struct Produce;

fn partition_error(index: i32, code: ResponseError) -> PartitionProduceResponse {
    PartitionProduceResponse::default()
        .with_index(index)
        .with_error_code(code.code())
        .with_base_offset(-1)
        .with_log_append_time_ms(-1)
        .with_log_start_offset(-1)
}

/// Kafka's checks of one partition's records before anything else looks at
/// them (ProduceRequest.validateRecords): one batch, of magic 2 (Kafka 4
/// stores no older format), and zstd only from v7 on. Kafka answers these
/// with the code alone.
fn check_records(version: i16, records: &[u8]) -> Result<(), ResponseError> {
    // Magic sits at byte 16 in every message format.
    match records.get(16) {
        Some(&magic) if magic as i8 != 2 => return Err(ResponseError::InvalidRecord),
        _ => {}
    }
    let attributes = records
        .get(21..23)
        .map(|a| i16::from_be_bytes([a[0], a[1]]));
    if version < 7 && attributes.is_some_and(|a| a & 0x7 == 4) {
        return Err(ResponseError::UnsupportedCompressionType);
    }
    let first_batch_size = records
        .get(8..12)
        .map(|l| i32::from_be_bytes([l[0], l[1], l[2], l[3]]))
        .and_then(|l| usize::try_from(l).ok())
        .and_then(|l| l.checked_add(12));
    if first_batch_size.is_some_and(|size| records.len() > size) {
        return Err(ResponseError::InvalidRecord);
    }
    Ok(())
}

/// One partition's part of a request once its records are appended:
/// answered, or waiting to be durable enough for its acks.
enum Appended {
    Answered(PartitionProduceResponse),
    Waiting {
        index: i32,
        partition: Arc<Partition>,
        info: AppendInfo,
        /// acks=all rather than acks=1.
        all: bool,
    },
}

impl Appended {
    /// Waits as the acks ask. acks=all: until the whole ISR has the
    /// records; as in Kafka, an ISR that shrank below min.insync.replicas
    /// meanwhile makes that NOT_ENOUGH_REPLICAS_AFTER_APPEND (the records
    /// stay; fewer copies hold them than asked). acks=1: until the
    /// leader's log is durable, which under flush.messages waits for the
    /// group commit's fsync (at once otherwise). acks=0: not at all.
    async fn settle(
        self,
        broker: &BrokerContext,
        acks: i16,
        timeout: Duration,
    ) -> PartitionProduceResponse {
        let (index, partition, info, all) = match self {
            Appended::Answered(response) => return response,
            Appended::Waiting {
                index,
                partition,
                info,
                all,
            } => (index, partition, info, all),
        };
        let waited = if all {
            match broker
                .replicas
                .wait_for_high_watermark(&partition, info.last_offset, info.leader_epoch, timeout)
                .await
            {
                Err(e) => Err(e.into()),
                Ok(()) if partition.check_min_isr().is_err() => {
                    Err(ResponseError::NotEnoughReplicasAfterAppend.into())
                }
                Ok(()) => Ok(()),
            }
        } else if acks == 1 {
            broker
                .replicas
                .wait_for_durable(&partition, info.last_offset, info.leader_epoch, timeout)
                .await
                .map_err(AppendError::from)
        } else {
            Ok(())
        };
        answer(index, waited.map(|()| (partition, info)))
    }
}

/// A partition's response: where its records went, or why not.
fn answer(
    index: i32,
    appended: Result<(Arc<Partition>, AppendInfo), AppendError>,
) -> PartitionProduceResponse {
    match appended {
        Ok((partition, info)) => PartitionProduceResponse::default()
            .with_index(index)
            .with_base_offset(info.base_offset)
            .with_log_append_time_ms(info.log_append_time)
            .with_log_start_offset(partition.log_start_offset()),
        // Sent from v8 on; older versions leave them out.
        Err(e) => partition_error(index, e.code)
            .with_error_message(e.message.map(StrBytes::from_string))
            .with_record_errors(
                e.record_errors
                    .into_iter()
                    .map(|r| {
                        BatchIndexAndErrorMessage::default()
                            .with_batch_index(r.batch_index)
                            .with_batch_index_error_message(Some(StrBytes::from_string(r.message)))
                    })
                    .collect(),
            ),
    }
}

impl Handler for Produce {
    type Request = ProduceRequest;

    const CONCURRENCY: Concurrency = Concurrency::Pipelined;

    fn expects_response(request: &ProduceRequest) -> bool {
        request.acks != 0
    }

    async fn handle(
        broker: Arc<BrokerContext>,
        ctx: RequestContext,
        request: ProduceRequest,
    ) -> ProduceResponse {
        let acks_valid = matches!(request.acks, -1..=1);
        let image = broker.image();
        let auth = broker.authorization(&ctx);
        // As Kafka: transactional records need WRITE on their transactional
        // id, or the whole request is refused.
        let transactional = request.topic_data.iter().any(|t| {
            t.partition_data
                .iter()
                .any(|p| p.records.as_deref().is_some_and(has_transactional_batch))
        });
        let txn_refused = transactional
            && !request.transactional_id.as_ref().is_some_and(|id| {
                auth.allows(AclOperation::Write, ResourceType::TransactionalId, id)
            });
        let mut topics = Vec::with_capacity(request.topic_data.len());
        for topic in request.topic_data {
            // v13 names topics by id only.
            let name = if ctx.api_version >= 13 {
                image.topic_by_id(topic.topic_id).map(|t| t.name.clone())
            } else {
                Some(topic.name.0.to_string())
            };
            let unknown = if ctx.api_version >= 13 {
                ResponseError::UnknownTopicId
            } else {
                ResponseError::UnknownTopicOrPartition
            };
            let write_refused = name
                .as_deref()
                .is_some_and(|n| !auth.allows(AclOperation::Write, ResourceType::Topic, n));
            let mut partitions = Vec::with_capacity(topic.partition_data.len());
            for p in &topic.partition_data {
                let appended = 'appended: {
                    let refuse = |code| Appended::Answered(partition_error(p.index, code));
                    if txn_refused {
                        break 'appended refuse(ResponseError::TransactionalIdAuthorizationFailed);
                    }
                    if write_refused {
                        break 'appended refuse(ResponseError::TopicAuthorizationFailed);
                    }
                    if !acks_valid {
                        break 'appended refuse(ResponseError::InvalidRequiredAcks);
                    }
                    let Some(name) = name.as_deref() else {
                        break 'appended refuse(unknown);
                    };
                    let Some(records) = p.records.as_deref() else {
                        break 'appended refuse(ResponseError::InvalidRecord);
                    };
                    // Only the coordinators write their internal topics, as
                    // Kafka's ReplicaManager refuses a client's append to them.
                    if topic_name::is_internal(name) {
                        break 'appended refuse(ResponseError::InvalidTopicException);
                    }
                    // As Kafka: only once the partition is known to exist.
                    let exists = image.topic(name).is_some_and(|t| {
                        usize::try_from(p.index).is_ok_and(|i| i < t.partitions.len())
                    });
                    if exists {
                        if let Err(code) = check_records(ctx.api_version, records) {
                            break 'appended refuse(code);
                        }
                    }
                    let all = request.acks == -1;
                    let appended = match broker.replicas.leader_partition(name, p.index) {
                        Ok(partition) if all => partition.check_min_isr().map(|()| partition),
                        other => other,
                    }
                    .map_err(AppendError::from)
                    .and_then(|partition| {
                        let info = broker.replicas.append_to(&partition, records)?;
                        Ok((partition, info))
                    });
                    match appended {
                        // A retried batch found in the log waits as well:
                        // its first copy may not be replicated yet.
                        Ok((partition, info)) if info.last_offset >= 0 => Appended::Waiting {
                            index: p.index,
                            partition,
                            info,
                            all,
                        },
                        other => Appended::Answered(answer(p.index, other)),
                    }
                };
                partitions.push(appended);
            }
            topics.push((TopicName(topic.name.0.clone()), topic.topic_id, partitions));
        }
        // Every append is made: the connection's next request may append
        // while these wait, all at once (as Kafka's DelayedProduce waits on
        // every partition together), for replication or the fsync.
        ctx.in_order.done();
        let timeout = Duration::from_millis(request.timeout_ms.max(0) as u64);
        let mut responses = Vec::with_capacity(topics.len());
        for (name, topic_id, partitions) in topics {
            let settled = join_all(
                partitions
                    .into_iter()
                    .map(|a| a.settle(&broker, request.acks, timeout)),
            )
            .await;
            responses.push(
                TopicProduceResponse::default()
                    .with_name(name)
                    .with_topic_id(topic_id)
                    .with_partition_responses(settled),
            );
        }
        // Kafka's produce quota counts the whole request; with acks=0 the
        // connection is muted all the same.
        let throttle = broker.throttle(&ctx, QuotaType::Produce, ctx.request_size as f64);
        ProduceResponse::default()
            .with_responses(responses)
            .with_throttle_time_ms(throttle)
    }
}
