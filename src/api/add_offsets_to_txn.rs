//! AddOffsetsToTxn: a producer's transaction will commit offsets for a
//! group, so the group's `__consumer_offsets` partition joins it and gets
//! the transaction's marker.

use std::sync::Arc;

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::{AddOffsetsToTxnRequest, AddOffsetsToTxnResponse};

use super::{BrokerContext, Handler, RequestContext};
use crate::group::{partition_for, OFFSETS_TOPIC};
use crate::security::acl::{AclOperation, ResourceType};
use crate::topic_partition::TopicPartition;

pub struct AddOffsetsToTxn;

impl Handler for AddOffsetsToTxn {
    type Request = AddOffsetsToTxnRequest;

    async fn handle(
        broker: Arc<BrokerContext>,
        ctx: RequestContext,
        request: AddOffsetsToTxnRequest,
    ) -> AddOffsetsToTxnResponse {
        // As Kafka: WRITE on the transactional id, READ on the group.
        let auth = broker.authorization(&ctx);
        let allowed = if !auth.allows(
            AclOperation::Write,
            ResourceType::TransactionalId,
            &request.transactional_id.0,
        ) {
            Err(ResponseError::TransactionalIdAuthorizationFailed)
        } else if !auth.allows(AclOperation::Read, ResourceType::Group, &request.group_id.0) {
            Err(ResponseError::GroupAuthorizationFailed)
        } else {
            Ok(())
        };
        let added = match allowed {
            Ok(()) => broker.ensure_offsets_topic().await.map_err(|e| {
                tracing::error!(error = %e, "cannot create the offsets topic");
                ResponseError::CoordinatorNotAvailable
            }),
            Err(e) => Err(e),
        }
        .and_then(|()| {
            let partition = partition_for(
                &request.group_id.0,
                broker.config.offsets_topic_num_partitions(),
            );
            broker.transactions.add_partitions(
                &request.transactional_id.0,
                request.producer_id.0,
                request.producer_epoch,
                &[TopicPartition::new(OFFSETS_TOPIC, partition)],
            )
        });
        AddOffsetsToTxnResponse::default().with_error_code(ctx.error_code(added.err()))
    }
}
