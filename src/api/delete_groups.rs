//! DeleteGroups: remove empty groups and their committed offsets.

use std::sync::Arc;

use kafka_protocol::messages::delete_groups_response::DeletableGroupResult;
use kafka_protocol::messages::{DeleteGroupsRequest, DeleteGroupsResponse};

use super::{BrokerContext, Handler, RequestContext};
use crate::security::acl::AclOperation;

pub struct DeleteGroups;

impl Handler for DeleteGroups {
    type Request = DeleteGroupsRequest;

    async fn handle(
        broker: Arc<BrokerContext>,
        ctx: RequestContext,
        request: DeleteGroupsRequest,
    ) -> DeleteGroupsResponse {
        let results = request
            .groups_names
            .iter()
            .map(|g| {
                let code = broker
                    .check_group(&ctx, AclOperation::Delete, &g.0)
                    .and_then(|()| broker.groups.delete_group(&g.0))
                    .err()
                    .map_or(0, |e| e.code());
                DeletableGroupResult::default()
                    .with_group_id(g.clone())
                    .with_error_code(code)
            })
            .collect();
        DeleteGroupsResponse::default().with_results(results)
    }
}
