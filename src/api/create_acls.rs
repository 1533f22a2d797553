//! CreateAcls: ACLs go to the metadata quorum through the controller, as
//! Kafka's controller keeps them. Needs ALTER on the cluster.

use std::sync::Arc;

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::create_acls_request::AclCreation;
use kafka_protocol::messages::create_acls_response::AclCreationResult;
use kafka_protocol::messages::{CreateAclsRequest, CreateAclsResponse};
use kafka_protocol::protocol::StrBytes;

use super::{BrokerContext, Handler, RequestContext};
use crate::security::acl::{
    AccessControlEntry, AclBinding, AclOperation, AclPermissionType, PatternType, ResourcePattern,
    ResourceType,
};

pub struct CreateAcls;

fn binding(c: &AclCreation) -> AclBinding {
    AclBinding {
        pattern: ResourcePattern {
            resource_type: ResourceType::from_code(c.resource_type),
            name: c.resource_name.to_string(),
            pattern_type: PatternType::from_code(c.resource_pattern_type),
        },
        entry: AccessControlEntry {
            principal: c.principal.to_string(),
            host: c.host.to_string(),
            operation: AclOperation::from_code(c.operation),
            permission: AclPermissionType::from_code(c.permission_type),
        },
    }
}

fn every(
    count: usize,
    ctx: &RequestContext,
    code: ResponseError,
    message: &str,
) -> CreateAclsResponse {
    let result = AclCreationResult::default()
        .with_error_code(ctx.error_code(Some(code)))
        .with_error_message(Some(StrBytes::from_string(message.to_string())));
    CreateAclsResponse::default().with_results(vec![result; count])
}

impl Handler for CreateAcls {
    type Request = CreateAclsRequest;

    async fn handle(
        broker: Arc<BrokerContext>,
        ctx: RequestContext,
        request: CreateAclsRequest,
    ) -> CreateAclsResponse {
        let count = request.creations.len();
        if let Some((code, message)) =
            broker.acl_api_refusal(&ctx, AclOperation::Alter, "create ACLs")
        {
            return every(count, &ctx, code, &message);
        }
        let bindings: Vec<AclBinding> = request.creations.iter().map(binding).collect();
        let results = match broker.controller.create_acls(bindings.clone()).await {
            Ok(results) => results,
            Err(e) => return every(count, &ctx, e.code, &e.message),
        };
        let results = results
            .into_iter()
            .zip(&bindings)
            .map(|(refusal, acl)| match refusal {
                None => {
                    tracing::info!(%acl, principal = %ctx.principal, client = ctx.client_id(), "created ACL");
                    AclCreationResult::default()
                }
                Some((code, message)) => AclCreationResult::default()
                    .with_error_code(code)
                    .with_error_message(Some(StrBytes::from_string(message))),
            })
            .collect();
        CreateAclsResponse::default().with_results(results)
    }
}
