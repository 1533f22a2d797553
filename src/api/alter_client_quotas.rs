//! AlterClientQuotas (KIP-546): sets and removes quotas of users, client
//! ids, client addresses (KIP-612) and their defaults through the metadata
//! quorum, so that every broker applies them. Each entry's entity and
//! values are checked as Kafka's controller checks them (INVALID_REQUEST
//! with its message); the valid entries are written together.

use std::sync::Arc;

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::alter_client_quotas_request::EntryData as RequestEntry;
use kafka_protocol::messages::alter_client_quotas_response::{EntityData, EntryData};
use kafka_protocol::messages::{AlterClientQuotasRequest, AlterClientQuotasResponse};
use kafka_protocol::protocol::StrBytes;

use super::{BrokerContext, Handler, RequestContext};
use crate::quota::{self, QuotaEntity};
use crate::security::acl::AclOperation;

pub struct AlterClientQuotas;

type Ops = Vec<(String, Option<f64>)>;

/// One entry's entity and operations, or why it is refused.
fn check(entry: &RequestEntry) -> Result<(QuotaEntity, Ops), (ResponseError, String)> {
    let invalid = |m: String| (ResponseError::InvalidRequest, m);
    let entity = quota::entity(
        entry
            .entity
            .iter()
            .map(|e| (e.entity_type.as_str(), e.entity_name.as_deref())),
    )
    .map_err(invalid)?;
    let mut ops: Ops = Vec::new();
    for op in &entry.ops {
        if ops.iter().any(|(k, _)| k == op.key.as_str()) {
            return Err(invalid(format!(
                "Duplicate quota key {} not updating quota for entity",
                op.key.as_str()
            )));
        }
        if op.remove {
            // Removing a key that is not a quota key is refused too.
            quota::check_value(&entity, &op.key, 1.0).map_err(invalid)?;
            ops.push((op.key.to_string(), None));
        } else {
            quota::check_value(&entity, &op.key, op.value).map_err(invalid)?;
            ops.push((op.key.to_string(), Some(op.value)));
        }
    }
    Ok((entity, ops))
}

impl Handler for AlterClientQuotas {
    type Request = AlterClientQuotasRequest;

    async fn handle(
        broker: Arc<BrokerContext>,
        ctx: RequestContext,
        request: AlterClientQuotasRequest,
    ) -> AlterClientQuotasResponse {
        let allowed = broker.allows_cluster(&ctx, AclOperation::AlterConfigs);
        let mut results: Vec<Option<(ResponseError, String)>> = Vec::new();
        let mut valid = Vec::new();
        for entry in &request.entries {
            let checked = if allowed {
                check(entry)
            } else {
                Err((
                    ResponseError::ClusterAuthorizationFailed,
                    "Cluster authorization failed".into(),
                ))
            };
            match checked {
                Ok(change) => {
                    valid.push(change);
                    results.push(None);
                }
                Err(e) => results.push(Some(e)),
            }
        }
        if !valid.is_empty() && !request.validate_only {
            if let Err(e) = broker.controller.alter_client_quotas(valid).await {
                for r in results.iter_mut().filter(|r| r.is_none()) {
                    *r = Some((e.code, e.message.clone()));
                }
            }
        }
        let entries = request
            .entries
            .iter()
            .zip(results)
            .map(|(entry, result)| {
                let entity = entry
                    .entity
                    .iter()
                    .map(|e| {
                        EntityData::default()
                            .with_entity_type(e.entity_type.clone())
                            .with_entity_name(e.entity_name.clone())
                    })
                    .collect();
                let (code, message) = match result {
                    None => (0, None),
                    Some((code, message)) => (code.code(), Some(StrBytes::from_string(message))),
                };
                EntryData::default()
                    .with_entity(entity)
                    .with_error_code(code)
                    .with_error_message(message)
            })
            .collect();
        AlterClientQuotasResponse::default().with_entries(entries)
    }
}
