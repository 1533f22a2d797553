//! Heartbeat: keep a member's session alive and tell it when to rejoin.

use std::sync::Arc;

use kafka_protocol::messages::{HeartbeatRequest, HeartbeatResponse};

use super::{BrokerContext, Handler, RequestContext};
use crate::security::acl::AclOperation;

pub struct Heartbeat;

impl Handler for Heartbeat {
    type Request = HeartbeatRequest;

    async fn handle(
        broker: Arc<BrokerContext>,
        ctx: RequestContext,
        request: HeartbeatRequest,
    ) -> HeartbeatResponse {
        let result = broker
            .check_group(&ctx, AclOperation::Read, &request.group_id.0)
            .and_then(|()| {
                broker.groups.heartbeat(
                    &request.group_id.0,
                    request.generation_id,
                    &request.member_id,
                    request.group_instance_id.as_deref(),
                )
            });
        HeartbeatResponse::default().with_error_code(result.err().map_or(0, |e| e.code()))
    }
}
