//! InitProducerId: an id and epoch for an idempotent producer. Every call
//! gets a fresh id, as Kafka gives producers without a transactional id,
//! including one asking to bump the epoch of an id it holds (KIP-360).

use std::sync::Arc;

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::{InitProducerIdRequest, InitProducerIdResponse, ProducerId};

use super::{BrokerContext, Handler, RequestContext};

pub struct InitProducerId;

impl Handler for InitProducerId {
    type Request = InitProducerIdRequest;

    async fn handle(
        broker: Arc<BrokerContext>,
        ctx: RequestContext,
        request: InitProducerIdRequest,
    ) -> InitProducerIdResponse {
        let response = InitProducerIdResponse::default()
            .with_producer_id(ProducerId(-1))
            .with_producer_epoch(-1);
        match request.transactional_id.as_deref().map(|t| t.is_empty()) {
            // Kafka refuses an empty transactional id outright.
            Some(true) => return response.with_error_code(ResponseError::InvalidRequest.code()),
            // A transactional id needs a transaction coordinator, which this
            // broker does not run yet; FindCoordinator names none either.
            Some(false) => {
                return response.with_error_code(ResponseError::CoordinatorNotAvailable.code())
            }
            None => {}
        }
        match broker.producer_ids.generate(&broker.controller) {
            Ok(id) => {
                tracing::debug!(
                    producer_id = id,
                    client = ctx.client_id(),
                    "new idempotent producer"
                );
                response
                    .with_producer_id(ProducerId(id))
                    .with_producer_epoch(0)
            }
            Err(e) => {
                tracing::error!(error = %e.message, "cannot allocate producer ids");
                response.with_error_code(e.code.code())
            }
        }
    }
}
