//! CreatePartitions: grow topics, validate_only too.

use std::collections::HashMap;
use std::sync::Arc;

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::create_partitions_response::CreatePartitionsTopicResult;
use kafka_protocol::messages::{CreatePartitionsRequest, CreatePartitionsResponse};
use kafka_protocol::protocol::StrBytes;

use super::{BrokerContext, Handler, RequestContext};
use crate::security::acl::{AclOperation, ResourceType};

pub struct CreatePartitions;

impl Handler for CreatePartitions {
    type Request = CreatePartitionsRequest;

    async fn handle(
        broker: Arc<BrokerContext>,
        ctx: RequestContext,
        request: CreatePartitionsRequest,
    ) -> CreatePartitionsResponse {
        let mut seen: HashMap<&str, usize> = HashMap::new();
        for t in &request.topics {
            *seen.entry(t.name.0.as_str()).or_default() += 1;
        }
        let auth = broker.authorization(&ctx);
        let mut changed = false;
        let mut results = Vec::with_capacity(request.topics.len());
        for t in &request.topics {
            let name = t.name.0.as_str();
            let result = CreatePartitionsTopicResult::default().with_name(t.name.clone());
            if seen.get(name).copied().unwrap_or(0) > 1 {
                results.push(
                    result
                        .with_error_code(ResponseError::InvalidRequest.code())
                        .with_error_message(Some(StrBytes::from_string(format!(
                            "Duplicate topic in request: {name}"
                        )))),
                );
                continue;
            }
            if !auth.allows(AclOperation::Alter, ResourceType::Topic, name) {
                results.push(
                    result
                        .with_error_code(ResponseError::TopicAuthorizationFailed.code())
                        .with_error_message(Some(StrBytes::from_string(format!(
                            "ALTER on topic '{name}' is not authorized."
                        )))),
                );
                continue;
            }
            let assignments = t.assignments.as_ref().map(|a| {
                a.iter()
                    .map(|p| p.broker_ids.iter().map(|b| b.0).collect())
                    .collect()
            });
            results.push(
                match broker
                    .controller
                    .create_partitions(name, t.count, assignments, request.validate_only)
                    .await
                {
                    Ok(()) => {
                        if !request.validate_only {
                            changed = true;
                            tracing::info!(
                                topic = name,
                                count = t.count,
                                client = ctx.client_id(),
                                "created partitions"
                            );
                        }
                        result
                    }
                    Err(e) => result
                        .with_error_code(e.code.code())
                        .with_error_message(Some(StrBytes::from_string(e.message))),
                },
            );
        }
        if changed {
            broker.apply_metadata();
        }
        CreatePartitionsResponse::default().with_results(results)
    }
}
