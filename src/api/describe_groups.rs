//! DescribeGroups: state, protocol and members of each group.

use std::sync::Arc;

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::describe_groups_response::{DescribedGroup, DescribedGroupMember};
use kafka_protocol::messages::{DescribeGroupsRequest, DescribeGroupsResponse};
use kafka_protocol::protocol::StrBytes;

use super::{BrokerContext, Handler, RequestContext};
use crate::group::GroupState;
use crate::security::acl::{AclOperation, ResourceType};

pub struct DescribeGroups;

impl Handler for DescribeGroups {
    type Request = DescribeGroupsRequest;

    async fn handle(
        broker: Arc<BrokerContext>,
        ctx: RequestContext,
        request: DescribeGroupsRequest,
    ) -> DescribeGroupsResponse {
        let auth = broker.authorization(&ctx);
        let groups = request
            .groups
            .iter()
            .map(|id| {
                if let Err(e) = broker.check_group(&ctx, AclOperation::Describe, id) {
                    return DescribedGroup::default()
                        .with_group_id(id.clone())
                        .with_error_code(e.code());
                }
                let d = broker.groups.describe_group(id);
                let operations = if request.include_authorized_operations {
                    auth.authorized_operations(ResourceType::Group, id)
                } else {
                    i32::MIN
                };
                let described = DescribedGroup::default()
                    .with_authorized_operations(operations)
                    .with_group_id(id.clone())
                    .with_group_state(StrBytes::from_static_str(d.state.name()))
                    .with_protocol_type(StrBytes::from_string(d.protocol_type))
                    .with_protocol_data(StrBytes::from_string(d.protocol_name))
                    .with_members(
                        d.members
                            .into_iter()
                            .map(
                                |(member_id, instance, client_id, host, metadata, assignment)| {
                                    DescribedGroupMember::default()
                                        .with_member_id(StrBytes::from_string(member_id))
                                        .with_group_instance_id(instance.map(StrBytes::from_string))
                                        .with_client_id(StrBytes::from_string(client_id))
                                        .with_client_host(StrBytes::from_string(host))
                                        .with_member_metadata(metadata)
                                        .with_member_assignment(assignment)
                                },
                            )
                            .collect(),
                    );
                // From v6 a group that does not exist, or is not a classic
                // group (a consumer or share group), is an error rather
                // than a Dead group.
                if d.state == GroupState::Dead && ctx.api_version >= 6 {
                    let message = if d.consumer_protocol || broker.groups.is_share_group(id) {
                        format!("Group {} is not a classic group.", id.0.as_str())
                    } else {
                        format!("Group {} not found.", id.0.as_str())
                    };
                    described
                        .with_error_code(ResponseError::GroupIdNotFound.code())
                        .with_error_message(Some(StrBytes::from_string(message)))
                } else {
                    described
                }
            })
            .collect();
        DescribeGroupsResponse::default().with_groups(groups)
    }
}
