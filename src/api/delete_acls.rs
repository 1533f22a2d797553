//! DeleteAcls: every ACL each filter matches leaves the metadata quorum.
//! Needs ALTER on the cluster.

use std::sync::Arc;

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::delete_acls_request::DeleteAclsFilter;
use kafka_protocol::messages::delete_acls_response::{
    DeleteAclsFilterResult, DeleteAclsMatchingAcl,
};
use kafka_protocol::messages::{DeleteAclsRequest, DeleteAclsResponse};
use kafka_protocol::protocol::StrBytes;

use super::{BrokerContext, Handler, RequestContext};
use crate::security::acl::{
    AclBinding, AclBindingFilter, AclOperation, AclPermissionType, PatternType, ResourceType,
};

pub struct DeleteAcls;

fn filter(f: &DeleteAclsFilter) -> AclBindingFilter {
    AclBindingFilter {
        resource_type: ResourceType::from_code(f.resource_type_filter),
        name: f.resource_name_filter.as_ref().map(|s| s.to_string()),
        pattern_type: PatternType::from_code(f.pattern_type_filter),
        principal: f.principal_filter.as_ref().map(|s| s.to_string()),
        host: f.host_filter.as_ref().map(|s| s.to_string()),
        operation: AclOperation::from_code(f.operation),
        permission: AclPermissionType::from_code(f.permission_type),
    }
}

fn matching(acl: &AclBinding) -> DeleteAclsMatchingAcl {
    DeleteAclsMatchingAcl::default()
        .with_resource_type(acl.pattern.resource_type.code())
        .with_resource_name(StrBytes::from_string(acl.pattern.name.clone()))
        .with_pattern_type(acl.pattern.pattern_type.code())
        .with_principal(StrBytes::from_string(acl.entry.principal.clone()))
        .with_host(StrBytes::from_string(acl.entry.host.clone()))
        .with_operation(acl.entry.operation.code())
        .with_permission_type(acl.entry.permission.code())
}

fn every(
    count: usize,
    ctx: &RequestContext,
    code: ResponseError,
    message: &str,
) -> DeleteAclsResponse {
    let result = DeleteAclsFilterResult::default()
        .with_error_code(ctx.error_code(Some(code)))
        .with_error_message(Some(StrBytes::from_string(message.to_string())));
    DeleteAclsResponse::default().with_filter_results(vec![result; count])
}

impl Handler for DeleteAcls {
    type Request = DeleteAclsRequest;

    async fn handle(
        broker: Arc<BrokerContext>,
        ctx: RequestContext,
        request: DeleteAclsRequest,
    ) -> DeleteAclsResponse {
        let count = request.filters.len();
        if let Some((code, message)) =
            broker.acl_api_refusal(&ctx, AclOperation::Alter, "delete ACLs")
        {
            return every(count, &ctx, code, &message);
        }
        let filters: Vec<AclBindingFilter> = request.filters.iter().map(filter).collect();
        let results = match broker.controller.delete_acls(filters).await {
            Ok(results) => results,
            Err(e) => return every(count, &ctx, e.code, &e.message),
        };
        let results = results
            .into_iter()
            .map(|result| match result {
                Ok(deleted) => {
                    for acl in &deleted {
                        tracing::info!(%acl, principal = %ctx.principal, client = ctx.client_id(), "deleted ACL");
                    }
                    DeleteAclsFilterResult::default()
                        .with_matching_acls(deleted.iter().map(matching).collect())
                }
                Err((code, message)) => DeleteAclsFilterResult::default()
                    .with_error_code(code)
                    .with_error_message(Some(StrBytes::from_string(message))),
            })
            .collect();
        DeleteAclsResponse::default().with_filter_results(results)
    }
}
