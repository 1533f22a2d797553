//! ReadShareGroupState (KIP-932): a share-partition's state as its leader
//! reads it on first use: start offset, state epoch, state batches (start
//! offset -1 while it has none). Sent by brokers (CLUSTER_ACTION).

use std::sync::Arc;

use kafka_protocol::messages::read_share_group_state_response::{
    PartitionResult, ReadStateResult, StateBatch,
};
use kafka_protocol::messages::{ReadShareGroupStateRequest, ReadShareGroupStateResponse};

use super::{BrokerContext, Handler, RequestContext};
use crate::security::acl::AclOperation;
use crate::share_coordinator::StateKey;

pub struct ReadShareGroupState;

impl Handler for ReadShareGroupState {
    type Request = ReadShareGroupStateRequest;

    async fn handle(
        broker: Arc<BrokerContext>,
        ctx: RequestContext,
        request: ReadShareGroupStateRequest,
    ) -> ReadShareGroupStateResponse {
        let allowed = broker.allows_cluster(&ctx, AclOperation::ClusterAction);
        let group_id = request.group_id.to_string();
        let mut results: Vec<ReadStateResult> = request
            .topics
            .iter()
            .map(|t| {
                let partitions = t
                    .partitions
                    .iter()
                    .map(|p| {
                        let key = StateKey::new(&group_id, t.topic_id, p.partition);
                        let result = broker
                            .share_state_call(allowed, &key, |c| c.read(&key, p.leader_epoch));
                        let answer = PartitionResult::default().with_partition(p.partition);
                        match result {
                            Ok(state) => answer
                                .with_state_epoch(state.state_epoch)
                                .with_start_offset(state.start_offset)
                                .with_state_batches(
                                    state
                                        .batches
                                        .iter()
                                        .map(|b| {
                                            StateBatch::default()
                                                .with_first_offset(b.first_offset)
                                                .with_last_offset(b.last_offset)
                                                .with_delivery_state(b.delivery_state)
                                                .with_delivery_count(b.delivery_count)
                                        })
                                        .collect(),
                                ),
                            Err(e) => answer.with_error_code(e.code()).with_start_offset(-1),
                        }
                    })
                    .collect();
                ReadStateResult::default()
                    .with_topic_id(t.topic_id)
                    .with_partitions(partitions)
            })
            .collect();
        // The leader epoch a read records fences older leaders only once
        // it is on the whole ISR.
        for t in &mut results {
            for p in t.partitions.iter_mut().filter(|p| p.error_code == 0) {
                let key = StateKey::new(&group_id, t.topic_id, p.partition);
                if let Err(e) = broker.share_coordinator.replicated(&key).await {
                    p.error_code = e.code();
                }
            }
        }
        ReadShareGroupStateResponse::default().with_results(results)
    }
}
