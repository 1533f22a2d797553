//! InitProducerId: an id and epoch for an idempotent or transactional
//! producer. Without a transactional id every call gets a fresh id, as Kafka
//! gives idempotent producers, including one asking to bump the epoch of an
//! id it holds (KIP-360). With one, the transaction coordinator bumps the
//! id's epoch, fencing earlier producers of the same id.

use std::sync::Arc;

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::{InitProducerIdRequest, InitProducerIdResponse, ProducerId};

use super::{BrokerContext, Handler, RequestContext};
use crate::security::acl::{AclOperation, ResourceType};
use crate::transaction::InitProducerIdOutcome;

pub struct InitProducerId;

/// A new producer id from the controller's blocks.
async fn allocate(broker: &BrokerContext) -> Result<i64, ResponseError> {
    broker
        .producer_ids
        .generate(&broker.controller)
        .await
        .map_err(|e| {
            tracing::error!(error = %e.message, "cannot allocate producer ids");
            e.code
        })
}

/// InitProducerId for a transactional id. The coordinator runs on a
/// blocking thread; a producer id it needs is allocated here, between its
/// calls, since that waits on the controller.
async fn init_transactional(
    broker: &Arc<BrokerContext>,
    transactional_id: String,
    timeout_ms: i32,
    expected: Option<(i64, i16)>,
) -> Result<(i64, i16), ResponseError> {
    let mut fresh_producer_id = None;
    // A second call has the producer id the first asked for; a third is
    // only needed if the id changed hands between them.
    for _ in 0..3 {
        let coordinator = broker.transactions.clone();
        let id = transactional_id.clone();
        let outcome = tokio::task::spawn_blocking(move || {
            coordinator.init_producer_id(&id, timeout_ms, expected, fresh_producer_id)
        })
        .await
        .unwrap_or(Err(ResponseError::UnknownServerError))?;
        match outcome {
            InitProducerIdOutcome::Initialised(id, epoch) => return Ok((id, epoch)),
            InitProducerIdOutcome::NeedsProducerId => {
                fresh_producer_id = Some(allocate(broker).await?);
            }
        }
    }
    Err(ResponseError::ConcurrentTransactions)
}

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
        // Two-phase commit (KIP-939) needs a coordinator that keeps prepared
        // transactions across producers; this one does not.
        if request.enable_2_pc || request.keep_prepared_txn {
            return response.with_error_code(ResponseError::UnsupportedVersion.code());
        }
        let transactional_id = request.transactional_id.as_ref().map(|t| t.to_string());
        // As Kafka 3+: a transactional producer needs WRITE on its id; an
        // idempotent one IDEMPOTENT_WRITE on the cluster or WRITE on some topic.
        let auth = broker.authorization(&ctx);
        let refused = match transactional_id.as_deref() {
            Some(t) if !auth.allows(AclOperation::Write, ResourceType::TransactionalId, t) => {
                Some(ResponseError::TransactionalIdAuthorizationFailed)
            }
            None if !auth.allows_cluster(AclOperation::IdempotentWrite)
                && !auth.allows_any(AclOperation::Write, ResourceType::Topic) =>
            {
                Some(ResponseError::ClusterAuthorizationFailed)
            }
            _ => None,
        };
        if let Some(e) = refused {
            return response.with_error_code(ctx.error_code(Some(e)));
        }
        let answer = match transactional_id.clone() {
            // Kafka refuses an empty transactional id outright.
            Some(t) if t.is_empty() => Err(ResponseError::InvalidRequest),
            Some(transactional_id) => {
                let expected = (request.producer_id.0 >= 0)
                    .then_some((request.producer_id.0, request.producer_epoch));
                init_transactional(
                    &broker,
                    transactional_id,
                    request.transaction_timeout_ms,
                    expected,
                )
                .await
            }
            None => allocate(&broker).await.map(|id| (id, 0)),
        };
        match answer {
            Ok((id, epoch)) => {
                tracing::debug!(
                    producer_id = id,
                    producer_epoch = epoch,
                    transactional_id = transactional_id.as_deref(),
                    client = ctx.client_id(),
                    "producer initialised"
                );
                response
                    .with_producer_id(ProducerId(id))
                    .with_producer_epoch(epoch)
            }
            Err(e) => response.with_error_code(ctx.error_code(Some(e))),
        }
    }
}
