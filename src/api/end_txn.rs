//! EndTxn: commits or aborts a producer's transaction; the coordinator
//! writes the markers before answering.

use std::sync::Arc;

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::{EndTxnRequest, EndTxnResponse, ProducerId};
use kafka_protocol::protocol::VersionRange;

use super::{BrokerContext, Handler, RequestContext};
use crate::security::acl::{AclOperation, ResourceType};

pub struct EndTxn;

impl Handler for EndTxn {
    type Request = EndTxnRequest;

    /// Version 5 (KIP-890 part 2) bumps the epoch at every end, which the
    /// coordinator does not do: clients keep to version 4 and below.
    const VERSIONS: VersionRange = VersionRange { min: 0, max: 4 };

    async fn handle(
        broker: Arc<BrokerContext>,
        ctx: RequestContext,
        request: EndTxnRequest,
    ) -> EndTxnResponse {
        if !broker.allows(
            &ctx,
            AclOperation::Write,
            ResourceType::TransactionalId,
            &request.transactional_id.0,
        ) {
            return EndTxnResponse::default()
                .with_error_code(ResponseError::TransactionalIdAuthorizationFailed.code())
                .with_producer_id(ProducerId(-1))
                .with_producer_epoch(-1);
        }
        let transactional_id = request.transactional_id.0.to_string();
        let (producer_id, epoch) = (request.producer_id.0, request.producer_epoch);
        let coordinator = broker.transactions.clone();
        let id = transactional_id.clone();
        let ended = tokio::task::spawn_blocking(move || {
            coordinator.end_txn(&id, producer_id, epoch, request.committed)
        })
        .await
        .unwrap_or(Err(ResponseError::UnknownServerError));
        // Answered once the markers other leaders write have landed too, so
        // that a read_committed consumer sees a committed transaction's
        // records as soon as its producer has been told.
        if ended.is_ok() {
            if let Some(mut landed) = broker.transactions.completion(&transactional_id) {
                let _ = landed.changed().await;
            }
        }
        EndTxnResponse::default()
            .with_error_code(ctx.error_code(ended.err()))
            .with_producer_id(ProducerId(-1))
            .with_producer_epoch(-1)
    }
}
