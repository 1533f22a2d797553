//! OffsetDelete: forget a group's committed offsets for topics it no longer consumes.

use std::sync::Arc;

use kafka_protocol::messages::offset_delete_response::{
    OffsetDeleteResponsePartition, OffsetDeleteResponseTopic,
};
use kafka_protocol::messages::{OffsetDeleteRequest, OffsetDeleteResponse};

use super::{BrokerContext, Handler, RequestContext};

pub struct OffsetDelete;

impl Handler for OffsetDelete {
    type Request = OffsetDeleteRequest;

    async fn handle(
        broker: Arc<BrokerContext>,
        _ctx: RequestContext,
        request: OffsetDeleteRequest,
    ) -> OffsetDeleteResponse {
        let partitions: Vec<(String, i32)> = request
            .topics
            .iter()
            .flat_map(|t| {
                t.partitions
                    .iter()
                    .map(|p| (t.name.0.to_string(), p.partition_index))
            })
            .collect();
        let outcomes = match broker
            .check_group_coordinator(&request.group_id.0)
            .and_then(|()| {
                broker
                    .groups
                    .delete_offsets(&request.group_id.0, &partitions)
            }) {
            Ok(o) => o,
            Err(e) => return OffsetDeleteResponse::default().with_error_code(e.code()),
        };
        let mut outcomes = outcomes.into_iter();
        let topics = request
            .topics
            .iter()
            .map(|t| {
                let partitions = t
                    .partitions
                    .iter()
                    .map(|p| {
                        let code = outcomes.next().flatten().map_or(0, |e| e.code());
                        OffsetDeleteResponsePartition::default()
                            .with_partition_index(p.partition_index)
                            .with_error_code(code)
                    })
                    .collect();
                OffsetDeleteResponseTopic::default()
                    .with_name(t.name.clone())
                    .with_partitions(partitions)
            })
            .collect();
        OffsetDeleteResponse::default().with_topics(topics)
    }
}
