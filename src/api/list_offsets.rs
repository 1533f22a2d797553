//! ListOffsets: earliest (-2), latest (-1), max timestamp (-3), or the first
//! offset at or after a timestamp.

use std::sync::Arc;

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::list_offsets_response::{
    ListOffsetsPartitionResponse, ListOffsetsTopicResponse,
};
use kafka_protocol::messages::{ListOffsetsRequest, ListOffsetsResponse};

use super::{BrokerContext, Handler, RequestContext};
use crate::partition::IsolationLevel;
use crate::security::acl::{AclOperation, ResourceType};

pub struct ListOffsets;

impl Handler for ListOffsets {
    type Request = ListOffsetsRequest;

    async fn handle(
        broker: Arc<BrokerContext>,
        ctx: RequestContext,
        request: ListOffsetsRequest,
    ) -> ListOffsetsResponse {
        let isolation = IsolationLevel::from_wire(request.isolation_level);
        let auth = broker.authorization(&ctx);
        let topics = request
            .topics
            .into_iter()
            .map(|t| {
                let name = t.name.0.to_string();
                let allowed = auth.allows(AclOperation::Describe, ResourceType::Topic, &name);
                let partitions = t
                    .partitions
                    .iter()
                    .map(|p| {
                        let base = ListOffsetsPartitionResponse::default()
                            .with_partition_index(p.partition_index)
                            .with_timestamp(-1)
                            .with_offset(-1)
                            .with_leader_epoch(-1);
                        if !allowed {
                            return base
                                .with_error_code(ResponseError::TopicAuthorizationFailed.code());
                        }
                        let found = broker
                            .replicas
                            .leader_partition(&name, p.partition_index)
                            .and_then(|partition| {
                                partition.check_leader_epoch(p.current_leader_epoch)?;
                                let (timestamp, offset) =
                                    partition.list_offset(p.timestamp, isolation)?;
                                Ok((timestamp, offset, partition.leader_epoch()))
                            });
                        match found {
                            Ok((timestamp, offset, epoch)) => base
                                .with_timestamp(timestamp)
                                .with_offset(offset)
                                // The epoch is in the response from v4 only;
                                // the codec refuses a value it cannot carry.
                                .with_leader_epoch(if offset >= 0 && ctx.api_version >= 4 {
                                    epoch
                                } else {
                                    -1
                                }),
                            Err(code) => base.with_error_code(code.code()),
                        }
                    })
                    .collect();
                ListOffsetsTopicResponse::default()
                    .with_name(t.name)
                    .with_partitions(partitions)
            })
            .collect();
        ListOffsetsResponse::default().with_topics(topics)
    }
}
