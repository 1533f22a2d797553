//! DeleteShareGroupState (KIP-932): a share-partition's state goes, as its
//! share group's offsets are deleted. Sent by brokers to the share
//! coordinator (CLUSTER_ACTION).

use std::sync::Arc;

use kafka_protocol::messages::delete_share_group_state_response::{
    DeleteStateResult, PartitionResult,
};
use kafka_protocol::messages::{DeleteShareGroupStateRequest, DeleteShareGroupStateResponse};

use super::{BrokerContext, Handler, RequestContext};
use crate::security::acl::AclOperation;
use crate::share_coordinator::StateKey;

pub struct DeleteShareGroupState;

impl Handler for DeleteShareGroupState {
    type Request = DeleteShareGroupStateRequest;

    async fn handle(
        broker: Arc<BrokerContext>,
        ctx: RequestContext,
        request: DeleteShareGroupStateRequest,
    ) -> DeleteShareGroupStateResponse {
        let allowed = broker.allows_cluster(&ctx, AclOperation::ClusterAction);
        let group_id = request.group_id.to_string();
        let mut results: Vec<DeleteStateResult> = request
            .topics
            .iter()
            .map(|t| {
                let partitions = t
                    .partitions
                    .iter()
                    .map(|p| {
                        let key = StateKey::new(&group_id, t.topic_id, p.partition);
                        let result = broker.share_state_call(allowed, &key, |c| c.delete(&key));
                        PartitionResult::default()
                            .with_partition(p.partition)
                            .with_error_code(result.err().map_or(0, |e| e.code()))
                    })
                    .collect();
                DeleteStateResult::default()
                    .with_topic_id(t.topic_id)
                    .with_partitions(partitions)
            })
            .collect();
        // Answered once on the whole ISR, as offset commits are: a state
        // acknowledged survives the share coordinator's failover.
        for t in &mut results {
            for p in t.partitions.iter_mut().filter(|p| p.error_code == 0) {
                let key = StateKey::new(&group_id, t.topic_id, p.partition);
                if let Err(e) = broker.share_coordinator.replicated(&key).await {
                    p.error_code = e.code();
                }
            }
        }
        DeleteShareGroupStateResponse::default().with_results(results)
    }
}
