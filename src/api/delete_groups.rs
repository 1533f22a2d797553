//! DeleteGroups: remove empty groups and their committed offsets; a share
//! group's state goes from its share coordinators before the answer.

use std::sync::Arc;

use kafka_protocol::messages::delete_groups_response::DeletableGroupResult;
use kafka_protocol::messages::{DeleteGroupsRequest, DeleteGroupsResponse};

use super::{BrokerContext, Handler, RequestContext};
use crate::partition::now_ms;
use crate::security::acl::AclOperation;

pub struct DeleteGroups;

impl Handler for DeleteGroups {
    type Request = DeleteGroupsRequest;

    async fn handle(
        broker: Arc<BrokerContext>,
        ctx: RequestContext,
        request: DeleteGroupsRequest,
    ) -> DeleteGroupsResponse {
        let topics = broker.image().assignable_topics(|_| true);
        let mut results = Vec::with_capacity(request.groups_names.len());
        for g in &request.groups_names {
            let deleted = match broker.check_group(&ctx, AclOperation::Delete, &g.0) {
                Err(e) => Err(e),
                Ok(()) => match broker
                    .groups
                    .delete_share_group(&g.0, &topics, now_ms())
                    .await
                {
                    Some(deleted) => deleted,
                    None => broker.groups.delete_group(&g.0),
                },
            };
            results.push(
                DeletableGroupResult::default()
                    .with_group_id(g.clone())
                    .with_error_code(deleted.err().map_or(0, |e| e.code())),
            );
        }
        DeleteGroupsResponse::default().with_results(results)
    }
}
