//! ListTransactions: the transactional ids this broker coordinates, by
//! state, producer id, how long their transaction has run (v1) and an id
//! pattern (v2).

use std::sync::Arc;

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::list_transactions_response::TransactionState;
use kafka_protocol::messages::{
    ListTransactionsRequest, ListTransactionsResponse, ProducerId, TransactionalId,
};
use kafka_protocol::protocol::StrBytes;

use super::{BrokerContext, Handler, RequestContext};
use crate::partition::now_ms;
use crate::security::acl::{AclOperation, ResourceType};
use crate::transaction::TxnState;

pub struct ListTransactions;

impl Handler for ListTransactions {
    type Request = ListTransactionsRequest;

    async fn handle(
        broker: Arc<BrokerContext>,
        ctx: RequestContext,
        request: ListTransactionsRequest,
    ) -> ListTransactionsResponse {
        // As Kafka: only the transactional ids the principal may DESCRIBE.
        let auth = broker.authorization(&ctx);
        let pattern = match request.transactional_id_pattern.as_deref() {
            Some(p) if !p.is_empty() => match regex::Regex::new(&format!("^(?:{p})$")) {
                Ok(re) => Some(re),
                Err(_) => {
                    return ListTransactionsResponse::default()
                        .with_error_code(ResponseError::InvalidRegularExpression.code())
                }
            },
            _ => None,
        };
        let mut states = Vec::new();
        let mut unknown = Vec::new();
        for name in &request.state_filters {
            match TxnState::ALL.iter().find(|s| s.name() == name.as_str()) {
                Some(s) => states.push(*s),
                None => unknown.push(name.clone()),
            }
        }
        let now = now_ms();
        let listed = broker.transactions.list(|id, m| {
            (request.state_filters.is_empty() || states.contains(&m.state))
                && (request.producer_id_filters.is_empty()
                    || request
                        .producer_id_filters
                        .contains(&ProducerId(m.producer_id)))
                && (request.duration_filter < 0
                    || (m.state == TxnState::Ongoing
                        && now.saturating_sub(m.start_ms) >= request.duration_filter))
                && pattern.as_ref().is_none_or(|re| re.is_match(id))
                && auth.allows(AclOperation::Describe, ResourceType::TransactionalId, id)
        });
        ListTransactionsResponse::default()
            .with_unknown_state_filters(unknown)
            .with_transaction_states(
                listed
                    .into_iter()
                    .map(|(id, producer_id, state)| {
                        TransactionState::default()
                            .with_transactional_id(TransactionalId(StrBytes::from_string(id)))
                            .with_producer_id(ProducerId(producer_id))
                            .with_transaction_state(StrBytes::from_static_str(state.name()))
                    })
                    .collect(),
            )
    }
}
