//! DescribeAcls: the ACLs a filter matches, grouped by resource pattern.
//! Needs DESCRIBE on the cluster.

use std::collections::BTreeMap;
use std::sync::Arc;

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::describe_acls_response::{AclDescription, DescribeAclsResource};
use kafka_protocol::messages::{DescribeAclsRequest, DescribeAclsResponse};
use kafka_protocol::protocol::StrBytes;

use super::{BrokerContext, Handler, RequestContext};
use crate::security::acl::{
    AclBindingFilter, AclOperation, AclPermissionType, PatternType, ResourcePattern, ResourceType,
};

pub struct DescribeAcls;

fn refused(ctx: &RequestContext, code: ResponseError, message: String) -> DescribeAclsResponse {
    DescribeAclsResponse::default()
        .with_error_code(ctx.error_code(Some(code)))
        .with_error_message(Some(StrBytes::from_string(message)))
}

impl Handler for DescribeAcls {
    type Request = DescribeAclsRequest;

    async fn handle(
        broker: Arc<BrokerContext>,
        ctx: RequestContext,
        r: DescribeAclsRequest,
    ) -> DescribeAclsResponse {
        if let Some((code, message)) =
            broker.acl_api_refusal(&ctx, AclOperation::Describe, "describe ACLs")
        {
            return refused(&ctx, code, message);
        }
        let filter = AclBindingFilter {
            resource_type: ResourceType::from_code(r.resource_type_filter),
            name: r.resource_name_filter.map(|s| s.to_string()),
            pattern_type: PatternType::from_code(r.pattern_type_filter),
            principal: r.principal_filter.map(|s| s.to_string()),
            host: r.host_filter.map(|s| s.to_string()),
            operation: AclOperation::from_code(r.operation),
            permission: AclPermissionType::from_code(r.permission_type),
        };
        if let Err(message) = filter.validate() {
            return refused(&ctx, ResponseError::InvalidRequest, message);
        }
        let image = broker.image();
        let mut resources: BTreeMap<&ResourcePattern, Vec<AclDescription>> = BTreeMap::new();
        for acl in image.acls.values().filter(|a| filter.matches(a)) {
            let e = &acl.entry;
            resources.entry(&acl.pattern).or_default().push(
                AclDescription::default()
                    .with_principal(StrBytes::from_string(e.principal.clone()))
                    .with_host(StrBytes::from_string(e.host.clone()))
                    .with_operation(e.operation.code())
                    .with_permission_type(e.permission.code()),
            );
        }
        let resources = resources
            .into_iter()
            .map(|(pattern, acls)| {
                DescribeAclsResource::default()
                    .with_resource_type(pattern.resource_type.code())
                    .with_resource_name(StrBytes::from_string(pattern.name.clone()))
                    .with_pattern_type(pattern.pattern_type.code())
                    .with_acls(acls)
            })
            .collect();
        DescribeAclsResponse::default().with_resources(resources)
    }
}
