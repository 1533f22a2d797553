//! DescribeClientQuotas (KIP-546): the quotas of every entity a filter
//! matches, read from this broker's metadata image. Each filter component
//! names an entity type and matches an exact name, the default, or any
//! name; a strict filter also wants the entity to have no other parts.

use std::sync::Arc;

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::describe_client_quotas_request::ComponentData;
use kafka_protocol::messages::describe_client_quotas_response::{EntityData, EntryData, ValueData};
use kafka_protocol::messages::{DescribeClientQuotasRequest, DescribeClientQuotasResponse};
use kafka_protocol::protocol::StrBytes;

use super::{BrokerContext, Handler, RequestContext};
use crate::quota::{self, EntityName, QuotaEntity};
use crate::security::acl::AclOperation;

pub struct DescribeClientQuotas;

/// How a component matches an entity's name (Kafka's match types).
enum Match {
    Exact(String),
    Default,
    Any,
}

/// The filter's components by entity type, checked as Kafka's
/// ClientQuotasImage.describe checks them.
fn components(request: &[ComponentData]) -> Result<Vec<(&'static str, Match)>, String> {
    let mut out: Vec<(&'static str, Match)> = Vec::new();
    for c in request {
        let kind = match c.entity_type.as_str() {
            quota::USER => quota::USER,
            quota::CLIENT_ID => quota::CLIENT_ID,
            quota::IP => quota::IP,
            other => return Err(format!("Unhandled client quota entity type: {other}")),
        };
        if out.iter().any(|(k, _)| *k == kind) {
            return Err(format!(
                "Entity type {kind} cannot appear more than once in the filter."
            ));
        }
        let matching = match (c.match_type, c._match.as_deref()) {
            (0, Some(name)) => Match::Exact(name.to_string()),
            (0, None) => return Err(format!("Exact match of {kind} needs a name.")),
            (1, None) => Match::Default,
            (1, Some(_)) => return Err(format!("Default match of {kind} takes no name.")),
            (2, None) => Match::Any,
            (2, Some(_)) => return Err(format!("Specified match of {kind} takes no name.")),
            (other, _) => return Err(format!("Unknown match type {other}")),
        };
        out.push((kind, matching));
    }
    Ok(out)
}

fn matches(entity: &QuotaEntity, components: &[(&str, Match)], strict: bool) -> bool {
    let part = |kind: &str| match kind {
        quota::USER => entity.user.as_ref(),
        quota::IP => entity.ip.as_ref(),
        _ => entity.client_id.as_ref(),
    };
    let all = components.iter().all(|(kind, m)| match (part(kind), m) {
        (None, _) => false,
        (Some(EntityName::Named(n)), Match::Exact(want)) => n == want,
        (Some(EntityName::Default), Match::Default) => true,
        (Some(EntityName::Named(_)), Match::Any) => true,
        _ => false,
    });
    let parts = [&entity.user, &entity.client_id, &entity.ip]
        .iter()
        .filter(|p| p.is_some())
        .count();
    all && (!strict || parts == components.len())
}

fn entity_data(entity: &QuotaEntity) -> Vec<EntityData> {
    let part = |kind: &'static str, name: &EntityName| {
        EntityData::default()
            .with_entity_type(StrBytes::from_static_str(kind))
            .with_entity_name(name.to_wire().map(|n| StrBytes::from_string(n.to_string())))
    };
    entity
        .user
        .iter()
        .map(|u| part(quota::USER, u))
        .chain(entity.client_id.iter().map(|c| part(quota::CLIENT_ID, c)))
        .chain(entity.ip.iter().map(|a| part(quota::IP, a)))
        .collect()
}

impl Handler for DescribeClientQuotas {
    type Request = DescribeClientQuotasRequest;

    async fn handle(
        broker: Arc<BrokerContext>,
        ctx: RequestContext,
        request: DescribeClientQuotasRequest,
    ) -> DescribeClientQuotasResponse {
        let refuse = |code: ResponseError, message: String| {
            DescribeClientQuotasResponse::default()
                .with_error_code(code.code())
                .with_error_message(Some(StrBytes::from_string(message)))
        };
        if !broker.allows_cluster(&ctx, AclOperation::DescribeConfigs) {
            return refuse(
                ResponseError::ClusterAuthorizationFailed,
                "Cluster authorization failed".into(),
            );
        }
        let components = match components(&request.components) {
            Ok(c) => c,
            Err(message) => return refuse(ResponseError::InvalidRequest, message),
        };
        let image = broker.image();
        let entries = image
            .client_quotas
            .iter()
            .filter(|(entity, _)| matches(entity, &components, request.strict))
            .map(|(entity, values)| {
                EntryData::default()
                    .with_entity(entity_data(entity))
                    .with_values(
                        values
                            .iter()
                            .map(|(key, value)| {
                                ValueData::default()
                                    .with_key(StrBytes::from_string(key.clone()))
                                    .with_value(*value)
                            })
                            .collect(),
                    )
            })
            .collect();
        DescribeClientQuotasResponse::default().with_entries(Some(entries))
    }
}
