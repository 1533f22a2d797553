//! Produce: append each partition's record batches as leader. The batches are
//! stored as the producer sent them; only base offset and leader epoch (and,
//! for LogAppendTime topics, the timestamp) are patched in the log layer.

use std::sync::Arc;
use std::time::Duration;

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::produce_response::{
    BatchIndexAndErrorMessage, PartitionProduceResponse, TopicProduceResponse,
};
use kafka_protocol::messages::{ProduceRequest, ProduceResponse, TopicName};
use kafka_protocol::protocol::StrBytes;

use super::{BrokerContext, Handler, RequestContext};
use crate::cluster::topic_name;
use crate::log::has_transactional_batch;
use crate::partition::AppendError;
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

impl Handler for Produce {
    type Request = ProduceRequest;

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
        let mut responses = Vec::with_capacity(request.topic_data.len());
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
            let mut partition_responses = Vec::with_capacity(topic.partition_data.len());
            for p in &topic.partition_data {
                let response = 'response: {
                    if txn_refused {
                        break 'response partition_error(
                            p.index,
                            ResponseError::TransactionalIdAuthorizationFailed,
                        );
                    }
                    if write_refused {
                        break 'response partition_error(
                            p.index,
                            ResponseError::TopicAuthorizationFailed,
                        );
                    }
                    if !acks_valid {
                        break 'response partition_error(
                            p.index,
                            ResponseError::InvalidRequiredAcks,
                        );
                    }
                    let Some(name) = name.as_deref() else {
                        break 'response partition_error(p.index, unknown);
                    };
                    let Some(records) = p.records.as_deref() else {
                        break 'response partition_error(p.index, ResponseError::InvalidRecord);
                    };
                    // Only the coordinators write their internal topics, as
                    // Kafka's ReplicaManager refuses a client's append to them.
                    if topic_name::is_internal(name) {
                        break 'response partition_error(
                            p.index,
                            ResponseError::InvalidTopicException,
                        );
                    }
                    // As Kafka: only once the partition is known to exist.
                    let exists = image.topic(name).is_some_and(|t| {
                        usize::try_from(p.index).is_ok_and(|i| i < t.partitions.len())
                    });
                    if exists {
                        if let Err(code) = check_records(ctx.api_version, records) {
                            break 'response partition_error(p.index, code);
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
                    // acks=all: answered once the whole ISR has the records;
                    // as in Kafka, an ISR that shrank below min.insync.replicas
                    // meanwhile makes that NOT_ENOUGH_REPLICAS_AFTER_APPEND
                    // (the records stay; fewer copies hold them than asked).
                    // A retried batch found in the log waits as well: its
                    // first copy may not be replicated yet.
                    let appended = match appended {
                        Ok((partition, info)) if all && info.last_offset >= 0 => {
                            let timeout = Duration::from_millis(request.timeout_ms.max(0) as u64);
                            let replicated = broker
                                .replicas
                                .wait_for_high_watermark(
                                    &partition,
                                    info.last_offset,
                                    info.leader_epoch,
                                    timeout,
                                )
                                .await;
                            match replicated {
                                Err(e) => Err(e.into()),
                                Ok(()) if partition.check_min_isr().is_err() => {
                                    Err(ResponseError::NotEnoughReplicasAfterAppend.into())
                                }
                                Ok(()) => Ok((partition, info)),
                            }
                        }
                        // acks=1: answered once the leader's log is durable,
                        // which under flush.messages waits for the group
                        // commit's fsync (at once otherwise).
                        Ok((partition, info)) if request.acks == 1 && info.last_offset >= 0 => {
                            let timeout = Duration::from_millis(request.timeout_ms.max(0) as u64);
                            broker
                                .replicas
                                .wait_for_durable(
                                    &partition,
                                    info.last_offset,
                                    info.leader_epoch,
                                    timeout,
                                )
                                .await
                                .map(|()| (partition, info))
                                .map_err(AppendError::from)
                        }
                        other => other,
                    };
                    match appended {
                        Ok((partition, info)) => PartitionProduceResponse::default()
                            .with_index(p.index)
                            .with_base_offset(info.base_offset)
                            .with_log_append_time_ms(info.log_append_time)
                            .with_log_start_offset(partition.log_start_offset()),
                        // Sent from v8 on; older versions leave them out.
                        Err(e) => partition_error(p.index, e.code)
                            .with_error_message(e.message.map(StrBytes::from_string))
                            .with_record_errors(
                                e.record_errors
                                    .into_iter()
                                    .map(|r| {
                                        BatchIndexAndErrorMessage::default()
                                            .with_batch_index(r.batch_index)
                                            .with_batch_index_error_message(Some(
                                                StrBytes::from_string(r.message),
                                            ))
                                    })
                                    .collect(),
                            ),
                    }
                };
                partition_responses.push(response);
            }
            responses.push(
                TopicProduceResponse::default()
                    .with_name(TopicName(topic.name.0.clone()))
                    .with_topic_id(topic.topic_id)
                    .with_partition_responses(partition_responses),
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
