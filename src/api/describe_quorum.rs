//! DescribeQuorum (KIP-595; v2 per KIP-853): the metadata quorum's leader,
//! epoch, high watermark, and how far each voter and observer has the
//! metadata log. Only the quorum's leader knows the others' progress, so
//! any broker asks it through the controller forwarding path, as Kafka's
//! brokers forward DescribeQuorum to the active controller.

use std::sync::Arc;

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::describe_quorum_response::{
    Listener, Node, PartitionData, ReplicaState, TopicData,
};
use kafka_protocol::messages::{
    BrokerId, DescribeQuorumRequest, DescribeQuorumResponse, TopicName,
};
use kafka_protocol::protocol::StrBytes;
use uuid::Uuid;

use super::{BrokerContext, Handler, RequestContext};
use crate::cluster::quorum::{ReplicaDescription, METADATA_TOPIC};
use crate::security::acl::AclOperation;

pub struct DescribeQuorum;

fn refused(ctx: &RequestContext, error: ResponseError, message: String) -> DescribeQuorumResponse {
    DescribeQuorumResponse::default()
        .with_error_code(ctx.error_code(Some(error)))
        .with_error_message(Some(StrBytes::from_string(message)))
}

fn replica(r: &ReplicaDescription) -> ReplicaState {
    ReplicaState::default()
        .with_replica_id(BrokerId(r.node_id as i32))
        // Gregor's log directories have no KIP-858 directory ids.
        .with_replica_directory_id(Uuid::nil())
        .with_log_end_offset(r.log_end_offset)
        .with_last_fetch_timestamp(r.last_fetch_ms)
        .with_last_caught_up_timestamp(r.last_caught_up_ms)
}

impl Handler for DescribeQuorum {
    type Request = DescribeQuorumRequest;

    async fn handle(
        broker: Arc<BrokerContext>,
        ctx: RequestContext,
        request: DescribeQuorumRequest,
    ) -> DescribeQuorumResponse {
        if !broker.allows_cluster(&ctx, AclOperation::Describe) {
            return refused(
                &ctx,
                ResponseError::ClusterAuthorizationFailed,
                "DESCRIBE on the cluster is needed to describe the metadata quorum.".into(),
            );
        }
        // As Kafka: the request must name the metadata log's one partition.
        let names_metadata_log = matches!(request.topics.as_slice(), [t]
            if t.topic_name.0.as_str() == METADATA_TOPIC
                && t.partitions.len() == 1
                && t.partitions[0].partition_index == 0);
        if !names_metadata_log {
            return refused(
                &ctx,
                ResponseError::UnknownTopicOrPartition,
                format!("DescribeQuorum describes only {METADATA_TOPIC}-0."),
            );
        }
        let quorum = match broker.controller.describe_quorum().await {
            Ok(q) => q,
            Err(e) => {
                let partition = PartitionData::default()
                    .with_error_code(ctx.error_code(Some(e.code)))
                    .with_error_message(Some(StrBytes::from_string(e.message)))
                    .with_leader_id(BrokerId(-1))
                    .with_leader_epoch(-1)
                    .with_high_watermark(-1);
                return DescribeQuorumResponse::default().with_topics(vec![TopicData::default()
                    .with_topic_name(TopicName(StrBytes::from_static_str(METADATA_TOPIC)))
                    .with_partitions(vec![partition])]);
            }
        };
        let partition = PartitionData::default()
            .with_partition_index(0)
            .with_leader_id(BrokerId(quorum.leader_id as i32))
            .with_leader_epoch(i32::try_from(quorum.leader_epoch).unwrap_or(i32::MAX))
            .with_high_watermark(quorum.high_watermark)
            .with_current_voters(quorum.voters.iter().map(replica).collect())
            .with_observers(quorum.observers.iter().map(replica).collect());
        let listener = broker
            .config
            .controller_listener()
            .ok()
            .flatten()
            .map_or_else(|| "CONTROLLER".to_string(), |l| l.name);
        // A lone broker has no CONTROLLER listener: its node has no endpoint.
        let endpoint = |addr: &str| {
            let (host, port) = addr.rsplit_once(':')?;
            Some(
                Listener::default()
                    .with_name(StrBytes::from_string(listener.clone()))
                    .with_host(StrBytes::from_string(
                        host.trim_matches(['[', ']']).to_string(),
                    ))
                    .with_port(port.parse().ok()?),
            )
        };
        // Nodes are a v2 field (KIP-853).
        let nodes = quorum
            .voter_addresses
            .iter()
            .filter(|_| ctx.api_version >= 2)
            .map(|(id, addr)| {
                Node::default()
                    .with_node_id(BrokerId(*id as i32))
                    .with_listeners(endpoint(addr).into_iter().collect())
            })
            .collect();
        DescribeQuorumResponse::default()
            .with_topics(vec![TopicData::default()
                .with_topic_name(TopicName(StrBytes::from_static_str(METADATA_TOPIC)))
                .with_partitions(vec![partition])])
            .with_nodes(nodes)
    }
}
