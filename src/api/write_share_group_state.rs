//! WriteShareGroupState (KIP-932): a share-partition leader's changed
//! state batches and start offset, kept by the share coordinator in
//! `__share_group_state`. Sent by brokers (CLUSTER_ACTION).

use std::sync::Arc;

use kafka_protocol::messages::write_share_group_state_response::{
    PartitionResult, WriteStateResult,
};
use kafka_protocol::messages::{WriteShareGroupStateRequest, WriteShareGroupStateResponse};

use super::{BrokerContext, Handler, RequestContext};
use crate::security::acl::AclOperation;
use crate::share_coordinator::{StateBatch, StateKey};

pub struct WriteShareGroupState;

impl Handler for WriteShareGroupState {
    type Request = WriteShareGroupStateRequest;

    async fn handle(
        broker: Arc<BrokerContext>,
        ctx: RequestContext,
        request: WriteShareGroupStateRequest,
    ) -> WriteShareGroupStateResponse {
        let allowed = broker.allows_cluster(&ctx, AclOperation::ClusterAction);
        let group_id = request.group_id.to_string();
        let mut results: Vec<WriteStateResult> = request
            .topics
            .iter()
            .map(|t| {
                let partitions = t
                    .partitions
                    .iter()
                    .map(|p| {
                        let key = StateKey::new(&group_id, t.topic_id, p.partition);
                        let batches: Vec<StateBatch> = p
                            .state_batches
                            .iter()
                            .map(|b| StateBatch {
                                first_offset: b.first_offset,
                                last_offset: b.last_offset,
                                delivery_state: b.delivery_state,
                                delivery_count: b.delivery_count,
                            })
                            .collect();
                        let result = broker.share_state_call(allowed, &key, |c| {
                            c.write(
                                &key,
                                p.state_epoch,
                                p.leader_epoch,
                                p.start_offset,
                                &batches,
                            )
                        });
                        PartitionResult::default()
                            .with_partition(p.partition)
                            .with_error_code(result.err().map_or(0, |e| e.code()))
                    })
                    .collect();
                WriteStateResult::default()
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
        WriteShareGroupStateResponse::default().with_results(results)
    }
}
