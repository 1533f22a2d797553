//! DescribeTransactions: each transactional id's producer, state, timeout
//! and the partitions its open transaction has written to.

use std::sync::Arc;

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::describe_transactions_response::{TopicData, TransactionState};
use kafka_protocol::messages::{
    DescribeTransactionsRequest, DescribeTransactionsResponse, ProducerId, TopicName,
    TransactionalId,
};
use kafka_protocol::protocol::StrBytes;

use super::{BrokerContext, Handler, RequestContext};
use crate::security::acl::{AclOperation, ResourceType};

pub struct DescribeTransactions;

impl Handler for DescribeTransactions {
    type Request = DescribeTransactionsRequest;

    async fn handle(
        broker: Arc<BrokerContext>,
        ctx: RequestContext,
        request: DescribeTransactionsRequest,
    ) -> DescribeTransactionsResponse {
        // As Kafka: DESCRIBE on each transactional id; of its partitions,
        // only those of topics the principal may DESCRIBE are shown.
        let auth = broker.authorization(&ctx);
        let describes =
            |id: &str| auth.allows(AclOperation::Describe, ResourceType::TransactionalId, id);
        let ids: Vec<String> = request
            .transactional_ids
            .iter()
            .map(|t| t.0.to_string())
            .collect();
        let states = broker
            .transactions
            .describe(&ids)
            .into_iter()
            .map(|(id, found)| match found {
                _ if !describes(&id) => {
                    (id, Err(ResponseError::TransactionalIdAuthorizationFailed))
                }
                found => (id, found),
            })
            .map(|(id, found)| {
                let state = TransactionState::default()
                    .with_transactional_id(TransactionalId(StrBytes::from_string(id)));
                match found {
                    Ok(m) => {
                        let mut topics: Vec<TopicData> = Vec::new();
                        let visible = m.partitions.iter().filter(|tp| {
                            auth.allows(AclOperation::Describe, ResourceType::Topic, &tp.topic)
                        });
                        for tp in visible {
                            match topics.last_mut() {
                                Some(t) if t.topic.0.as_str() == tp.topic => {
                                    t.partitions.push(tp.partition)
                                }
                                _ => topics.push(
                                    TopicData::default()
                                        .with_topic(TopicName(StrBytes::from_string(
                                            tp.topic.clone(),
                                        )))
                                        .with_partitions(vec![tp.partition]),
                                ),
                            }
                        }
                        state
                            .with_transaction_state(StrBytes::from_static_str(m.state.name()))
                            .with_transaction_timeout_ms(m.timeout_ms)
                            .with_transaction_start_time_ms(m.start_ms)
                            .with_producer_id(ProducerId(m.producer_id))
                            .with_producer_epoch(m.producer_epoch)
                            .with_topics(topics)
                    }
                    Err(e) => state
                        .with_error_code(e.code())
                        .with_transaction_state(StrBytes::default())
                        .with_producer_id(ProducerId(-1))
                        .with_producer_epoch(-1)
                        .with_transaction_start_time_ms(-1),
                }
            })
            .collect();
        DescribeTransactionsResponse::default().with_transaction_states(states)
    }
}
