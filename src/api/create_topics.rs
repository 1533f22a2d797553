//! CreateTopics, validate_only included.

use std::collections::HashMap;
use std::sync::Arc;

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::create_topics_request::{CreatableReplicaAssignment, CreatableTopic};
use kafka_protocol::messages::create_topics_response::{
    CreatableTopicConfigs, CreatableTopicResult,
};
use kafka_protocol::messages::{CreateTopicsRequest, CreateTopicsResponse};
use kafka_protocol::protocol::StrBytes;
use uuid::Uuid;

use super::{BrokerContext, Handler, RequestContext};
use crate::cluster::{ControllerError, NewTopic, TopicImage};
use crate::config::TOPIC_CONFIGS;
use crate::quota::MutationQuota;
use crate::security::acl::{AclOperation, ResourceType};

pub struct CreateTopics;

/// The first version the controller mutation quota refuses topics in
/// (KIP-599); older clients are let through and throttled.
const STRICT_SINCE: i16 = 6;

/// The resolved configs Kafka returns with a created topic (v5+).
fn described_configs(broker: &BrokerContext, topic: &TopicImage) -> Vec<CreatableTopicConfigs> {
    let broker_config = broker.effective_config();
    TOPIC_CONFIGS
        .iter()
        .filter_map(|(def, _)| {
            let (value, source) = topic.config.resolve(def.name, &broker_config)?;
            Some(
                CreatableTopicConfigs::default()
                    .with_name(StrBytes::from_static_str(def.name))
                    .with_value(Some(StrBytes::from_string(value)))
                    .with_config_source(source.wire_code()),
            )
        })
        .collect()
}

/// Explicit replica lists, which must name partitions 0..n exactly once each.
fn replica_assignments(
    given: &[CreatableReplicaAssignment],
) -> Result<Vec<Vec<i32>>, ControllerError> {
    let mut a: Vec<(i32, Vec<i32>)> = given
        .iter()
        .map(|a| {
            (
                a.partition_index,
                a.broker_ids.iter().map(|b| b.0).collect(),
            )
        })
        .collect();
    a.sort_by_key(|(p, _)| *p);
    if a.iter().enumerate().any(|(i, (p, _))| *p != i as i32) {
        return Err(ControllerError::new(
            ResponseError::InvalidReplicaAssignment,
            "Replica assignments must cover partitions 0..n, each once.",
        ));
    }
    Ok(a.into_iter().map(|(_, r)| r).collect())
}

async fn create_one(
    broker: &BrokerContext,
    t: &CreatableTopic,
    validate_only: bool,
    quota: &mut MutationQuota<'_>,
) -> Result<TopicImage, ControllerError> {
    let mut configs = Vec::with_capacity(t.configs.len());
    for c in &t.configs {
        match &c.value {
            Some(v) => configs.push((c.name.to_string(), v.to_string())),
            None => {
                return Err(ControllerError::new(
                    ResponseError::InvalidConfig,
                    format!(
                        "Null value not supported for topic config '{}'.",
                        c.name.as_str()
                    ),
                ))
            }
        }
    }
    let new = NewTopic {
        name: t.name.0.to_string(),
        num_partitions: t.num_partitions,
        replication_factor: t.replication_factor,
        assignments: replica_assignments(&t.assignments)?,
        configs,
    };
    if validate_only {
        return broker.controller.create_topic(&new, true).await;
    }
    if quota.is_bounded() {
        // The partitions count once the topic is known to be valid, as
        // Kafka's controller counts them, and its default partition
        // count is known.
        let planned = broker.controller.create_topic(&new, true).await?;
        BrokerContext::take_mutations(quota, planned.partitions.len())?;
    }
    broker.create_topic(&new).await
}

impl Handler for CreateTopics {
    type Request = CreateTopicsRequest;

    async fn handle(
        broker: Arc<BrokerContext>,
        ctx: RequestContext,
        request: CreateTopicsRequest,
    ) -> CreateTopicsResponse {
        let mut seen: HashMap<&str, usize> = HashMap::new();
        for t in &request.topics {
            *seen.entry(t.name.0.as_str()).or_default() += 1;
        }
        let auth = broker.authorization(&ctx);
        let create_any = auth.allows_cluster(AclOperation::Create);
        let mut quota = broker.mutation_quota(&ctx, STRICT_SINCE);
        let mut results = Vec::with_capacity(request.topics.len());
        for t in &request.topics {
            let name = t.name.0.as_str();
            let result = CreatableTopicResult::default()
                .with_name(t.name.clone())
                .with_num_partitions(-1)
                .with_replication_factor(-1);
            let outcome =
                if !create_any && !auth.allows(AclOperation::Create, ResourceType::Topic, name) {
                    Err(ControllerError::new(
                        ResponseError::TopicAuthorizationFailed,
                        format!("CREATE on topic '{name}' (or on the cluster) is not authorized."),
                    ))
                } else if seen.get(name).copied().unwrap_or(0) > 1 {
                    Err(ControllerError::new(
                        ResponseError::InvalidRequest,
                        format!("Create topics request for '{name}' appears more than once."),
                    ))
                } else {
                    create_one(&broker, t, request.validate_only, &mut quota).await
                };
            // Kafka returns a new topic's configs only to who may describe them.
            let configs_visible =
                auth.allows(AclOperation::DescribeConfigs, ResourceType::Topic, name);
            results.push(match outcome {
                Ok(topic) => {
                    if !request.validate_only {
                        tracing::info!(topic = %topic.name, partitions = topic.partitions.len(), client = ctx.client_id(), "created topic");
                    }
                    result
                        .with_topic_id(if request.validate_only { Uuid::nil() } else { topic.id })
                        .with_num_partitions(topic.partitions.len() as i32)
                        .with_replication_factor(topic.partitions.first().map_or(0, |p| p.replicas.len() as i16))
                        .with_configs(Some(if configs_visible {
                            described_configs(&broker, &topic)
                        } else {
                            Vec::new()
                        }))
                        .with_topic_config_error_code(if configs_visible {
                            0
                        } else {
                            ResponseError::TopicAuthorizationFailed.code()
                        })
                }
                Err(e) => result.with_error_code(e.code.code()).with_error_message(Some(StrBytes::from_string(e.message))),
            });
        }
        let throttle = broker.mutation_throttle(&ctx, &quota);
        CreateTopicsResponse::default()
            .with_throttle_time_ms(throttle)
            .with_topics(results)
    }
}
