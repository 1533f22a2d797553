//! DescribeProducers (KIP-664): the producers each partition this broker
//! leads keeps state for, so an operator can find the one holding a
//! transaction open (kafka-transactions.sh describe-producers).

use std::sync::Arc;

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::describe_producers_response::{
    PartitionResponse, ProducerState, TopicResponse,
};
use kafka_protocol::messages::{DescribeProducersRequest, DescribeProducersResponse, ProducerId};
use kafka_protocol::protocol::StrBytes;

use super::{BrokerContext, Handler, RequestContext};
use crate::security::acl::{AclOperation, ResourceType};

pub struct DescribeProducers;

impl Handler for DescribeProducers {
    type Request = DescribeProducersRequest;

    async fn handle(
        broker: Arc<BrokerContext>,
        ctx: RequestContext,
        request: DescribeProducersRequest,
    ) -> DescribeProducersResponse {
        let auth = broker.authorization(&ctx);
        let image = broker.image();
        let topics = request
            .topics
            .into_iter()
            .map(|t| {
                let topic = t.name.0.as_str();
                // As Kafka: READ on the topic, checked before the topic's
                // existence is revealed.
                let readable = auth.allows(AclOperation::Read, ResourceType::Topic, topic);
                let partitions = t
                    .partition_indexes
                    .iter()
                    .map(|&index| {
                        let found = if !readable {
                            Err(ResponseError::TopicAuthorizationFailed)
                        } else if image.partition(topic, index).is_none() {
                            Err(ResponseError::UnknownTopicOrPartition)
                        } else {
                            broker.replicas.leader_partition(topic, index)
                        };
                        let response = PartitionResponse::default().with_partition_index(index);
                        match found {
                            Ok(p) => response.with_active_producers(
                                p.active_producers()
                                    .into_iter()
                                    .map(|a| {
                                        ProducerState::default()
                                            .with_producer_id(ProducerId(a.producer_id))
                                            .with_producer_epoch(i32::from(a.epoch))
                                            .with_last_sequence(a.last_sequence)
                                            .with_last_timestamp(a.last_timestamp)
                                            // Markers' coordinator epochs are not kept
                                            // in the producer state: -1 as Kafka
                                            // reports a producer without one.
                                            .with_coordinator_epoch(-1)
                                            .with_current_txn_start_offset(
                                                a.current_txn_start_offset.unwrap_or(-1),
                                            )
                                    })
                                    .collect(),
                            ),
                            Err(e) => response
                                .with_error_code(ctx.error_code(Some(e)))
                                .with_error_message(Some(StrBytes::from_string(format!(
                                    "{topic}-{index}: {e}"
                                )))),
                        }
                    })
                    .collect();
                TopicResponse::default()
                    .with_name(t.name)
                    .with_partitions(partitions)
            })
            .collect();
        DescribeProducersResponse::default().with_topics(topics)
    }
}
