//! ListGroups, with Kafka's state (v4+) and type (v5+) filters; classic and
//! consumer (KIP-848) groups side by side.

use std::sync::Arc;

use kafka_protocol::messages::list_groups_response::ListedGroup;
use kafka_protocol::messages::{GroupId, ListGroupsRequest, ListGroupsResponse};
use kafka_protocol::protocol::StrBytes;

use super::{BrokerContext, Handler, RequestContext};
use crate::security::acl::{AclOperation, ResourceType};

pub struct ListGroups;

impl Handler for ListGroups {
    type Request = ListGroupsRequest;

    async fn handle(
        broker: Arc<BrokerContext>,
        ctx: RequestContext,
        request: ListGroupsRequest,
    ) -> ListGroupsResponse {
        // As Kafka: DESCRIBE on the cluster lists every group, else only
        // the groups the principal may DESCRIBE.
        let auth = broker.authorization(&ctx);
        let every_group = auth.allows_cluster(AclOperation::Describe);
        let matches = |filter: &[StrBytes], value: &str| {
            filter.is_empty() || filter.iter().any(|f| f.eq_ignore_ascii_case(value))
        };
        let groups = broker
            .groups
            .list_groups()
            .into_iter()
            .filter(|(id, _, state, group_type)| {
                matches(&request.states_filter, state)
                    && matches(&request.types_filter, group_type)
                    && (every_group || auth.allows(AclOperation::Describe, ResourceType::Group, id))
            })
            .map(|(id, protocol_type, state, group_type)| {
                ListedGroup::default()
                    .with_group_id(GroupId(StrBytes::from_string(id)))
                    .with_protocol_type(StrBytes::from_string(protocol_type))
                    .with_group_state(StrBytes::from_static_str(state))
                    .with_group_type(StrBytes::from_static_str(group_type))
            })
            .collect();
        ListGroupsResponse::default().with_groups(groups)
    }
}
