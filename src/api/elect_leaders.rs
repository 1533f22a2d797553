//! ElectLeaders: preferred or unclean leader elections, run by the active
//! controller.

use std::collections::BTreeMap;
use std::sync::Arc;

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::elect_leaders_response::{PartitionResult, ReplicaElectionResult};
use kafka_protocol::messages::{ElectLeadersRequest, ElectLeadersResponse, TopicName};
use kafka_protocol::protocol::StrBytes;

use super::{BrokerContext, Handler, RequestContext};
use crate::cluster::leader_election::ElectionType;
use crate::cluster::ControllerError;
use crate::security::acl::AclOperation;
use crate::topic_partition::TopicPartition;

pub struct ElectLeaders;

impl Handler for ElectLeaders {
    type Request = ElectLeadersRequest;

    async fn handle(
        broker: Arc<BrokerContext>,
        ctx: RequestContext,
        request: ElectLeadersRequest,
    ) -> ElectLeadersResponse {
        // Version 0 has no election type: it asks for preferred leaders.
        let Some(election) = ElectionType::from_wire(request.election_type) else {
            return ElectLeadersResponse::default()
                .with_error_code(ResponseError::InvalidRequest.code());
        };
        let partitions = request.topic_partitions.as_ref().map(|topics| {
            topics
                .iter()
                .flat_map(|t| {
                    t.partitions
                        .iter()
                        .map(|p| TopicPartition::new(t.topic.0.to_string(), *p))
                })
                .collect::<Vec<_>>()
        });
        let mut refused = None;
        let results = if !broker.allows_cluster(&ctx, AclOperation::Alter) {
            Err(ControllerError::new(
                ResponseError::ClusterAuthorizationFailed,
                "ALTER on the cluster is needed to elect leaders.",
            ))
        } else {
            broker
                .controller
                .elect_leaders(election, partitions.clone())
                .await
        };
        let results = match results {
            Ok(results) => {
                broker.apply_metadata();
                results
            }
            // Version 0 has no top-level error: each partition carries it.
            Err(e) if ctx.api_version == 0 => partitions
                .unwrap_or_default()
                .into_iter()
                .map(|tp| {
                    (
                        tp.topic,
                        tp.partition,
                        Some((e.code.code(), e.message.clone())),
                    )
                })
                .collect(),
            // As Kafka, a refused principal gets the refusal in each
            // partition it named as well as for the whole request.
            Err(e) if e.code == ResponseError::ClusterAuthorizationFailed => {
                refused = Some(e.code.code());
                partitions
                    .unwrap_or_default()
                    .into_iter()
                    .map(|tp| {
                        (
                            tp.topic,
                            tp.partition,
                            Some((e.code.code(), e.message.clone())),
                        )
                    })
                    .collect()
            }
            Err(e) => {
                return ElectLeadersResponse::default().with_error_code(e.code.code());
            }
        };
        let mut by_topic: BTreeMap<String, Vec<PartitionResult>> = BTreeMap::new();
        for (topic, partition, refusal) in results {
            if refusal.is_none() {
                tracing::info!(%topic, partition, ?election, client = ctx.client_id(), "leader elected");
            }
            let (code, message) = refusal.unzip();
            by_topic.entry(topic).or_default().push(
                PartitionResult::default()
                    .with_partition_id(partition)
                    .with_error_code(code.unwrap_or(0))
                    .with_error_message(message.map(StrBytes::from_string)),
            );
        }
        ElectLeadersResponse::default()
            .with_error_code(refused.unwrap_or(0))
            .with_replica_election_results(
                by_topic
                    .into_iter()
                    .map(|(topic, partitions)| {
                        ReplicaElectionResult::default()
                            .with_topic(TopicName(StrBytes::from_string(topic)))
                            .with_partition_result(partitions)
                    })
                    .collect(),
            )
    }
}
