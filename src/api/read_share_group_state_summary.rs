//! ReadShareGroupStateSummary (KIP-932): a share-partition's start offset
//! and epochs without its state batches, for DescribeShareGroupOffsets.
//! Sent by brokers (CLUSTER_ACTION).

use std::sync::Arc;

use kafka_protocol::messages::read_share_group_state_summary_response::{
    PartitionResult, ReadStateSummaryResult,
};
use kafka_protocol::messages::{
    ReadShareGroupStateSummaryRequest, ReadShareGroupStateSummaryResponse,
};

use super::{BrokerContext, Handler, RequestContext};
use crate::security::acl::AclOperation;
use crate::share_coordinator::StateKey;

pub struct ReadShareGroupStateSummary;

impl Handler for ReadShareGroupStateSummary {
    type Request = ReadShareGroupStateSummaryRequest;

    async fn handle(
        broker: Arc<BrokerContext>,
        ctx: RequestContext,
        request: ReadShareGroupStateSummaryRequest,
    ) -> ReadShareGroupStateSummaryResponse {
        let allowed = broker.allows_cluster(&ctx, AclOperation::ClusterAction);
        let group_id = request.group_id.to_string();
        let results = request
            .topics
            .iter()
            .map(|t| {
                let partitions = t
                    .partitions
                    .iter()
                    .map(|p| {
                        let key = StateKey::new(&group_id, t.topic_id, p.partition);
                        let result = broker
                            .share_state_call(allowed, &key, |c| c.summary(&key, p.leader_epoch));
                        let answer = PartitionResult::default().with_partition(p.partition);
                        match result {
                            Ok(state) => answer
                                .with_state_epoch(state.state_epoch)
                                .with_leader_epoch(state.leader_epoch)
                                .with_start_offset(state.start_offset),
                            Err(e) => answer
                                .with_error_code(e.code())
                                .with_leader_epoch(-1)
                                .with_start_offset(-1),
                        }
                    })
                    .collect();
                ReadStateSummaryResult::default()
                    .with_topic_id(t.topic_id)
                    .with_partitions(partitions)
            })
            .collect();
        ReadShareGroupStateSummaryResponse::default().with_results(results)
    }
}
