//! The producers a partition keeps state for, as kafka-transactions.sh
//! describe-producers shows them, asked of the partition's leader with
//! DescribeProducers (KIP-664), and the abort of a hanging transaction
//! (kafka-transactions.sh abort, KIP-664) with WriteTxnMarkers, over this
//! library's own Kafka-protocol connection, since librdkafka sends neither.

use kafka_protocol::messages::describe_producers_request::TopicRequest;
use kafka_protocol::messages::write_txn_markers_request::{
    WritableTxnMarker, WritableTxnMarkerTopic,
};
use kafka_protocol::messages::{
    DescribeProducersRequest, ProducerId, TopicName, WriteTxnMarkersRequest,
};
use kafka_protocol::protocol::StrBytes;
use serde::Serialize;

use super::error::{ClientError, Result};
use super::wire::Connection;
use super::ClientSettings;

/// One producer's state in the partition.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ActiveProducer {
    pub producer_id: i64,
    pub producer_epoch: i32,
    /// -1 when the broker does not know it.
    pub latest_coordinator_epoch: i32,
    pub last_sequence: i32,
    pub last_timestamp: i64,
    /// The first offset of its open transaction here, -1 for none.
    pub current_transaction_start_offset: i64,
}

pub async fn describe(
    settings: &ClientSettings,
    topic: &str,
    partition: i32,
) -> Result<Vec<ActiveProducer>> {
    let mut connection = Connection::to_leader(settings, topic, partition).await?;
    let request = DescribeProducersRequest::default().with_topics(vec![TopicRequest::default()
        .with_name(TopicName(StrBytes::from_string(topic.to_string())))
        .with_partition_indexes(vec![partition])]);
    let response = connection.call(&request, 0).await?;
    let answer = response
        .topics
        .into_iter()
        .flat_map(|t| t.partitions)
        .find(|p| p.partition_index == partition)
        .ok_or_else(|| ClientError::Invalid("DescribeProducers answered no partition".into()))?;
    if answer.error_code != 0 {
        return Err(ClientError::Protocol {
            context: format!("DescribeProducers for {topic}-{partition}"),
            code: answer.error_code,
            message: answer.error_message.map(|m| m.to_string()),
        });
    }
    Ok(answer
        .active_producers
        .into_iter()
        .map(|p| ActiveProducer {
            producer_id: p.producer_id.0,
            producer_epoch: p.producer_epoch,
            latest_coordinator_epoch: p.coordinator_epoch,
            last_sequence: p.last_sequence,
            last_timestamp: p.last_timestamp,
            current_transaction_start_offset: p.current_txn_start_offset,
        })
        .collect())
}

/// The producer whose transaction in `topic`-`partition` is open and
/// started at `start_offset` (kafka-transactions.sh abort --start-offset).
pub async fn open_transaction_at(
    settings: &ClientSettings,
    topic: &str,
    partition: i32,
    start_offset: i64,
) -> Result<ActiveProducer> {
    let mut found: Vec<ActiveProducer> = describe(settings, topic, partition)
        .await?
        .into_iter()
        .filter(|p| p.current_transaction_start_offset == start_offset)
        .collect();
    match found.len() {
        1 => Ok(found.remove(0)),
        0 => Err(ClientError::Invalid(format!(
            "no open transaction starts at offset {start_offset} of {topic}-{partition}"
        ))),
        n => Err(ClientError::Invalid(format!(
            "{n} open transactions start at offset {start_offset} of {topic}-{partition}"
        ))),
    }
}

/// Aborts a hanging transaction in one partition as Kafka's
/// Admin.abortTransaction does: the partition's leader is asked with
/// WriteTxnMarkers to write an abort marker for the producer, which ends
/// the transaction there and lets the last stable offset move on. The
/// coordinator epoch must be at least the one the partition last saw from
/// the producer's coordinator, or the leader refuses the marker
/// (TRANSACTION_COORDINATOR_FENCED); the broker needs the caller to have
/// CLUSTER_ACTION on the cluster.
pub async fn abort_transaction(
    settings: &ClientSettings,
    topic: &str,
    partition: i32,
    producer_id: i64,
    producer_epoch: i16,
    coordinator_epoch: i32,
) -> Result<()> {
    let mut connection = Connection::to_leader(settings, topic, partition).await?;
    let marker = WritableTxnMarker::default()
        .with_producer_id(ProducerId(producer_id))
        .with_producer_epoch(producer_epoch)
        .with_transaction_result(false)
        .with_coordinator_epoch(coordinator_epoch)
        .with_topics(vec![WritableTxnMarkerTopic::default()
            .with_name(TopicName(StrBytes::from_string(topic.to_string())))
            .with_partition_indexes(vec![partition])]);
    let request = WriteTxnMarkersRequest::default().with_markers(vec![marker]);
    let response = connection.call(&request, 0).await?;
    let code = response
        .markers
        .iter()
        .flat_map(|m| &m.topics)
        .flat_map(|t| &t.partitions)
        .find(|p| p.partition_index == partition)
        .map(|p| p.error_code)
        .ok_or_else(|| ClientError::Invalid("WriteTxnMarkers answered no partition".into()))?;
    if code != 0 {
        return Err(ClientError::Protocol {
            context: format!("WriteTxnMarkers (abort) for {topic}-{partition}"),
            code,
            message: None,
        });
    }
    Ok(())
}
