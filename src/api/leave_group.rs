//! LeaveGroup: one member (v0-2) or a batch of members (v3+) leave.

use std::sync::Arc;

use kafka_protocol::messages::leave_group_response::MemberResponse;
use kafka_protocol::messages::{LeaveGroupRequest, LeaveGroupResponse};
use kafka_protocol::protocol::StrBytes;

use super::{BrokerContext, Handler, RequestContext};
use crate::security::acl::AclOperation;

pub struct LeaveGroup;

impl Handler for LeaveGroup {
    type Request = LeaveGroupRequest;

    async fn handle(
        broker: Arc<BrokerContext>,
        ctx: RequestContext,
        request: LeaveGroupRequest,
    ) -> LeaveGroupResponse {
        let leaving: Vec<(String, Option<String>)> = if ctx.api_version >= 3 {
            request
                .members
                .iter()
                .map(|m| {
                    (
                        m.member_id.to_string(),
                        m.group_instance_id.as_ref().map(|s| s.to_string()),
                    )
                })
                .collect()
        } else {
            vec![(request.member_id.to_string(), None)]
        };
        let left = broker
            .check_group(&ctx, AclOperation::Read, &request.group_id.0)
            .and_then(|()| broker.groups.leave_group(&request.group_id.0, &leaving));
        match left {
            Err(e) => LeaveGroupResponse::default().with_error_code(e.code()),
            Ok(outcomes) if ctx.api_version < 3 => LeaveGroupResponse::default()
                .with_error_code(outcomes.first().copied().flatten().map_or(0, |e| e.code())),
            Ok(outcomes) => LeaveGroupResponse::default().with_members(
                leaving
                    .into_iter()
                    .zip(outcomes)
                    .map(|((member_id, instance), outcome)| {
                        MemberResponse::default()
                            .with_member_id(StrBytes::from_string(member_id))
                            .with_group_instance_id(instance.map(StrBytes::from_string))
                            .with_error_code(outcome.map_or(0, |e| e.code()))
                    })
                    .collect(),
            ),
        }
    }
}
