//! JoinGroup: enter the group and wait for the join phase to complete.

use std::sync::Arc;

use kafka_protocol::messages::join_group_response::JoinGroupResponseMember;
use kafka_protocol::messages::{JoinGroupRequest, JoinGroupResponse};
use kafka_protocol::protocol::StrBytes;

use super::{BrokerContext, Concurrency, Handler, RequestContext};
use crate::group::JoinRequest;
use crate::security::acl::AclOperation;

pub struct JoinGroup;

impl Handler for JoinGroup {
    type Request = JoinGroupRequest;
    // Waiting for the other members must not hold up this client's other requests.
    const CONCURRENCY: Concurrency = Concurrency::Concurrent;

    async fn handle(
        broker: Arc<BrokerContext>,
        ctx: RequestContext,
        request: JoinGroupRequest,
    ) -> JoinGroupResponse {
        if let Err(e) = broker.check_group(&ctx, AclOperation::Read, &request.group_id.0) {
            return JoinGroupResponse::default()
                .with_error_code(e.code())
                .with_generation_id(-1)
                .with_member_id(request.member_id);
        }
        let join = JoinRequest {
            group_id: request.group_id.0.to_string(),
            member_id: request.member_id.to_string(),
            group_instance_id: request.group_instance_id.as_ref().map(|s| s.to_string()),
            client_id: ctx.client_id().to_string(),
            client_host: format!("/{}", ctx.peer.ip()),
            session_timeout_ms: request.session_timeout_ms,
            // v0 has no rebalance timeout; Kafka uses the session timeout.
            rebalance_timeout_ms: if ctx.api_version >= 1 {
                request.rebalance_timeout_ms
            } else {
                request.session_timeout_ms
            },
            protocol_type: request.protocol_type.to_string(),
            protocols: request
                .protocols
                .iter()
                .map(|p| (p.name.to_string(), p.metadata.clone()))
                .collect(),
            require_known_member_id: ctx.api_version >= 4,
        };
        let result = broker.groups.join_group(join).await;
        JoinGroupResponse::default()
            .with_error_code(result.error.map_or(0, |e| e.code()))
            .with_generation_id(result.generation_id)
            .with_protocol_type(result.protocol_type.map(StrBytes::from_string))
            .with_protocol_name(result.protocol_name.map(StrBytes::from_string))
            .with_leader(StrBytes::from_string(result.leader_id))
            .with_member_id(StrBytes::from_string(result.member_id))
            .with_members(
                result
                    .members
                    .into_iter()
                    .map(|(id, instance, metadata)| {
                        JoinGroupResponseMember::default()
                            .with_member_id(StrBytes::from_string(id))
                            .with_group_instance_id(instance.map(StrBytes::from_string))
                            .with_metadata(metadata)
                    })
                    .collect(),
            )
    }
}
