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

/// The first version the controller mutation quota refuses topics in
/// (KIP-599); older clients are let through and throttled.
const STRICT_SINCE: i16 = 3;

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
        let mut quota = broker.mutation_quota(&ctx, STRICT_SINCE);
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
            let outcome = if quota.is_bounded() && !request.validate_only {
                // The new partitions count once the change is known valid.
                let existing = broker.image().topic(name).map_or(0, |t| t.partitions.len());
                match broker
                    .controller
                    .create_partitions(name, t.count, assignments.clone(), true)
                    .await
                {
                    Ok(()) => BrokerContext::take_mutations(
                        &mut quota,
                        usize::try_from(t.count)
                            .unwrap_or(0)
                            .saturating_sub(existing),
                    ),
                    Err(e) => Err(e),
                }
            } else {
                Ok(())
            };
            let outcome = match outcome {
                Ok(()) => {
                    broker
                        .controller
                        .create_partitions(name, t.count, assignments, request.validate_only)
                        .await
                }
                Err(e) => Err(e),
            };
            results.push(match outcome {
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
            });
        }
        if changed {
            broker.apply_metadata();
        }
        let throttle = broker.mutation_throttle(&ctx, &quota);
        CreatePartitionsResponse::default()
            .with_throttle_time_ms(throttle)
            .with_results(results)
    }
}
