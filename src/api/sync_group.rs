//! SyncGroup: the leader hands in the assignment; every member gets its part.

use std::sync::Arc;

use kafka_protocol::messages::{SyncGroupRequest, SyncGroupResponse};

use super::{BrokerContext, Concurrency, Handler, RequestContext};
use crate::security::acl::AclOperation;

pub struct SyncGroup;

impl Handler for SyncGroup {
    type Request = SyncGroupRequest;
    // Followers wait for the leader's assignment.
    const CONCURRENCY: Concurrency = Concurrency::Concurrent;

    async fn handle(
        broker: Arc<BrokerContext>,
        ctx: RequestContext,
        request: SyncGroupRequest,
    ) -> SyncGroupResponse {
        let assignments = request
            .assignments
            .iter()
            .map(|a| (a.member_id.to_string(), a.assignment.clone()))
            .collect();
        let result = match broker.check_group(&ctx, AclOperation::Read, &request.group_id.0) {
            Ok(()) => {
                broker
                    .groups
                    .sync_group(
                        &request.group_id.0,
                        request.generation_id,
                        &request.member_id,
                        request.group_instance_id.as_deref(),
                        assignments,
                    )
                    .await
            }
            Err(e) => Err(e),
        };
        let response = SyncGroupResponse::default()
            .with_protocol_type(request.protocol_type)
            .with_protocol_name(request.protocol_name);
        match result {
            Ok(assignment) => response.with_assignment(assignment),
            Err(e) => response.with_error_code(e.code()),
        }
    }
}
