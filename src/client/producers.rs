//! The producers a partition keeps state for, as kafka-transactions.sh
//! describe-producers shows them, asked of the partition's leader with
//! DescribeProducers (KIP-664) over this library's own Kafka-protocol
//! connection, since librdkafka does not send it.

use kafka_protocol::messages::describe_producers_request::TopicRequest;
use kafka_protocol::messages::{DescribeProducersRequest, TopicName};
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
