//! DeleteTopics, by name (v0-5) or by name or id (v6+).

use std::sync::Arc;

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::delete_topics_response::DeletableTopicResult;
use kafka_protocol::messages::{DeleteTopicsRequest, DeleteTopicsResponse, TopicName};
use kafka_protocol::protocol::StrBytes;
use uuid::Uuid;

use super::{BrokerContext, Handler, RequestContext};
use crate::cluster::{topic_name, ControllerError};
use crate::quota::MutationQuota;
use crate::security::acl::{AclOperation, ResourceType};

pub struct DeleteTopics;

/// The first version the controller mutation quota refuses topics in
/// (KIP-599); older clients are let through and throttled.
const STRICT_SINCE: i16 = 5;

impl Handler for DeleteTopics {
    type Request = DeleteTopicsRequest;

    async fn handle(
        broker: Arc<BrokerContext>,
        ctx: RequestContext,
        request: DeleteTopicsRequest,
    ) -> DeleteTopicsResponse {
        let targets: Vec<(Option<String>, Uuid)> = if ctx.api_version >= 6 {
            request
                .topics
                .iter()
                .map(|t| (t.name.as_ref().map(|n| n.0.to_string()), t.topic_id))
                .collect()
        } else {
            request
                .topic_names
                .iter()
                .map(|n| (Some(n.0.to_string()), Uuid::nil()))
                .collect()
        };
        let auth = broker.authorization(&ctx);
        let may = |name: &str| {
            auth.allows(AclOperation::Describe, ResourceType::Topic, name)
                && auth.allows(AclOperation::Delete, ResourceType::Topic, name)
        };
        let mut responses = Vec::with_capacity(targets.len());
        let mut changed = false;
        let mut quota = broker.mutation_quota(&ctx, STRICT_SINCE);
        for (name, id) in targets {
            let image = broker.image();
            // Authorised before existence, so that a principal without
            // DESCRIBE cannot learn which topics exist; a topic named by id
            // keeps its name to itself.
            let resolved = match &name {
                Some(n) if !may(n) => Err(ResponseError::TopicAuthorizationFailed),
                Some(n) => image
                    .topic(n)
                    .map(|t| t.name.clone())
                    .ok_or(ResponseError::UnknownTopicOrPartition),
                None => match image.topic_by_id(id) {
                    Some(t) if !may(&t.name) => Err(ResponseError::TopicAuthorizationFailed),
                    Some(t) => Ok(t.name.clone()),
                    None => Err(ResponseError::UnknownTopicId),
                },
            };
            let mut result = DeletableTopicResult::default()
                .with_name(name.clone().map(|n| TopicName(StrBytes::from_string(n))))
                .with_topic_id(id);
            match resolved {
                Ok(n) if topic_name::is_internal(&n) => {
                    result = result
                        .with_error_code(ResponseError::InvalidRequest.code())
                        .with_error_message(Some(StrBytes::from_string(format!(
                            "Internal topic '{n}' cannot be deleted."
                        ))));
                }
                Ok(n) => match take_and_delete(&broker, &mut quota, &n).await {
                    Ok(deleted_id) => {
                        changed = true;
                        tracing::info!(topic = %n, client = ctx.client_id(), "deleted topic");
                        result = result
                            .with_name(Some(TopicName(StrBytes::from_string(n))))
                            .with_topic_id(deleted_id);
                    }
                    Err(e) => {
                        result = result
                            .with_error_code(e.code.code())
                            .with_error_message(Some(StrBytes::from_string(e.message)));
                    }
                },
                Err(code) => result = result.with_error_code(code.code()),
            }
            responses.push(result);
        }
        if changed {
            broker.apply_metadata();
        }
        let throttle = broker.mutation_throttle(&ctx, &quota);
        DeleteTopicsResponse::default()
            .with_throttle_time_ms(throttle)
            .with_responses(responses)
    }
}

/// Deletes `name` once its partitions are taken from the client's
/// controller mutation quota.
async fn take_and_delete(
    broker: &BrokerContext,
    quota: &mut MutationQuota<'_>,
    name: &str,
) -> Result<Uuid, ControllerError> {
    let partitions = broker.image().topic(name).map_or(0, |t| t.partitions.len());
    BrokerContext::take_mutations(quota, partitions)?;
    broker.controller.delete_topic(name).await
}
