//! DeleteRecords: move each partition's log start offset forward.

use std::sync::Arc;

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::delete_records_response::{
    DeleteRecordsPartitionResult, DeleteRecordsTopicResult,
};
use kafka_protocol::messages::{DeleteRecordsRequest, DeleteRecordsResponse};

use super::{BrokerContext, Handler, RequestContext};
use crate::security::acl::{AclOperation, ResourceType};

pub struct DeleteRecords;

impl Handler for DeleteRecords {
    type Request = DeleteRecordsRequest;

    async fn handle(
        broker: Arc<BrokerContext>,
        ctx: RequestContext,
        request: DeleteRecordsRequest,
    ) -> DeleteRecordsResponse {
        let auth = broker.authorization(&ctx);
        let topics = request
            .topics
            .into_iter()
            .map(|t| {
                let name = t.name.0.to_string();
                let allowed = auth.allows(AclOperation::Delete, ResourceType::Topic, &name);
                let partitions = t
                    .partitions
                    .iter()
                    .map(|p| {
                        let result = DeleteRecordsPartitionResult::default().with_partition_index(p.partition_index);
                        if !allowed {
                            return result
                                .with_low_watermark(-1)
                                .with_error_code(ResponseError::TopicAuthorizationFailed.code());
                        }
                        match broker
                            .replicas
                            .leader_partition(&name, p.partition_index)
                            .and_then(|partition| partition.delete_records_before(p.offset))
                        {
                            Ok(low_watermark) => {
                                tracing::info!(topic = %name, partition = p.partition_index, low_watermark, client = ctx.client_id(), "deleted records");
                                result.with_low_watermark(low_watermark)
                            }
                            Err(code) => result.with_low_watermark(-1).with_error_code(code.code()),
                        }
                    })
                    .collect();
                DeleteRecordsTopicResult::default().with_name(t.name).with_partitions(partitions)
            })
            .collect();
        DeleteRecordsResponse::default().with_topics(topics)
    }
}
