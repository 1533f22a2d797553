//! ListGroups, with Kafka's state (v4+) and type (v5+) filters.

use std::sync::Arc;

use kafka_protocol::messages::list_groups_response::ListedGroup;
use kafka_protocol::messages::{GroupId, ListGroupsRequest, ListGroupsResponse};
use kafka_protocol::protocol::StrBytes;

use super::{BrokerContext, Handler, RequestContext};

pub struct ListGroups;

/// Every group here speaks the classic protocol until KIP-848 groups land.
const GROUP_TYPE: &str = "classic";

impl Handler for ListGroups {
    type Request = ListGroupsRequest;

    async fn handle(
        broker: Arc<BrokerContext>,
        _ctx: RequestContext,
        request: ListGroupsRequest,
    ) -> ListGroupsResponse {
        let state_ok = |s: &str| {
            request.states_filter.is_empty()
                || request
                    .states_filter
                    .iter()
                    .any(|f| f.eq_ignore_ascii_case(s))
        };
        let type_ok = request.types_filter.is_empty()
            || request
                .types_filter
                .iter()
                .any(|f| f.eq_ignore_ascii_case(GROUP_TYPE));
        let groups = broker
            .groups
            .list_groups()
            .into_iter()
            .filter(|(_, _, state)| type_ok && state_ok(state.name()))
            .map(|(id, protocol_type, state)| {
                ListedGroup::default()
                    .with_group_id(GroupId(StrBytes::from_string(id)))
                    .with_protocol_type(StrBytes::from_string(protocol_type))
                    .with_group_state(StrBytes::from_static_str(state.name()))
                    .with_group_type(StrBytes::from_static_str(GROUP_TYPE))
            })
            .collect();
        ListGroupsResponse::default().with_groups(groups)
    }
}
