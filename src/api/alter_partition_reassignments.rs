//! AlterPartitionReassignments: move partitions onto new replicas, or
//! cancel a move in progress; run by the active controller.

use std::sync::Arc;

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::alter_partition_reassignments_response::{
    ReassignablePartitionResponse, ReassignableTopicResponse,
};
use kafka_protocol::messages::{
    AlterPartitionReassignmentsRequest, AlterPartitionReassignmentsResponse,
};
use kafka_protocol::protocol::StrBytes;

use super::{BrokerContext, Handler, RequestContext};
use crate::cluster::controller::Reassignment;
use crate::security::acl::AclOperation;

pub struct AlterPartitionReassignments;

impl Handler for AlterPartitionReassignments {
    type Request = AlterPartitionReassignmentsRequest;

    async fn handle(
        broker: Arc<BrokerContext>,
        ctx: RequestContext,
        request: AlterPartitionReassignmentsRequest,
    ) -> AlterPartitionReassignmentsResponse {
        if !broker.allows_cluster(&ctx, AclOperation::Alter) {
            return AlterPartitionReassignmentsResponse::default()
                .with_allow_replication_factor_change(request.allow_replication_factor_change)
                .with_error_code(ResponseError::ClusterAuthorizationFailed.code())
                .with_error_message(Some(StrBytes::from_static_str(
                    "ALTER on the cluster is needed to reassign partitions.",
                )));
        }
        let keep_replication_factor = !request.allow_replication_factor_change;
        let moves: Vec<Reassignment> = request
            .topics
            .iter()
            .flat_map(|t| {
                t.partitions.iter().map(move |p| Reassignment {
                    topic: t.name.0.to_string(),
                    partition: p.partition_index,
                    target: p.replicas.as_ref().map(|r| r.iter().map(|b| b.0).collect()),
                    keep_replication_factor,
                })
            })
            .collect();
        let response = AlterPartitionReassignmentsResponse::default()
            .with_allow_replication_factor_change(request.allow_replication_factor_change);
        let results = match broker
            .controller
            .alter_partition_reassignments(moves.clone())
            .await
        {
            Ok(results) => results,
            Err(e) => {
                return response
                    .with_error_code(e.code.code())
                    .with_error_message(Some(StrBytes::from_string(e.message)))
            }
        };
        broker.apply_metadata();
        for (m, result) in moves.iter().zip(&results) {
            match result {
                None => tracing::info!(
                    topic = %m.topic,
                    partition = m.partition,
                    target = ?m.target,
                    client = ctx.client_id(),
                    "partition reassignment started or cancelled"
                ),
                Some((_, message)) => tracing::debug!(
                    topic = %m.topic,
                    partition = m.partition,
                    message,
                    "partition reassignment refused"
                ),
            }
        }
        let mut results = results.into_iter();
        let responses = request
            .topics
            .iter()
            .map(|t| {
                ReassignableTopicResponse::default()
                    .with_name(t.name.clone())
                    .with_partitions(
                        t.partitions
                            .iter()
                            .map(|p| {
                                let (code, message) = results.next().flatten().unzip();
                                ReassignablePartitionResponse::default()
                                    .with_partition_index(p.partition_index)
                                    .with_error_code(code.unwrap_or(0))
                                    .with_error_message(message.map(StrBytes::from_string))
                            })
                            .collect(),
                    )
            })
            .collect();
        response.with_responses(responses)
    }
}
