//! ListPartitionReassignments: the partitions whose replicas are moving,
//! from the metadata image.

use std::sync::Arc;

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::list_partition_reassignments_response::{
    OngoingPartitionReassignment, OngoingTopicReassignment,
};
use kafka_protocol::messages::{
    BrokerId, ListPartitionReassignmentsRequest, ListPartitionReassignmentsResponse,
};

use super::{BrokerContext, Handler, RequestContext};
use crate::cluster::TopicImage;
use crate::security::acl::AclOperation;

pub struct ListPartitionReassignments;

fn ongoing(topic: &TopicImage, only: Option<&[i32]>) -> Option<OngoingTopicReassignment> {
    let brokers = |ids: &[i32]| ids.iter().copied().map(BrokerId).collect::<Vec<_>>();
    let partitions: Vec<OngoingPartitionReassignment> = topic
        .partitions
        .iter()
        .zip(0i32..)
        .filter(|(p, index)| p.reassigning() && only.is_none_or(|o| o.contains(index)))
        .map(|(p, index)| {
            OngoingPartitionReassignment::default()
                .with_partition_index(index)
                .with_replicas(brokers(&p.replicas))
                .with_adding_replicas(brokers(&p.adding_replicas))
                .with_removing_replicas(brokers(&p.removing_replicas))
        })
        .collect();
    (!partitions.is_empty()).then(|| {
        OngoingTopicReassignment::default()
            .with_name(kafka_protocol::messages::TopicName(
                topic.name.clone().into(),
            ))
            .with_partitions(partitions)
    })
}

impl Handler for ListPartitionReassignments {
    type Request = ListPartitionReassignmentsRequest;

    async fn handle(
        broker: Arc<BrokerContext>,
        ctx: RequestContext,
        request: ListPartitionReassignmentsRequest,
    ) -> ListPartitionReassignmentsResponse {
        if !broker.allows_cluster(&ctx, AclOperation::Describe) {
            return ListPartitionReassignmentsResponse::default()
                .with_error_code(ResponseError::ClusterAuthorizationFailed.code());
        }
        let image = broker.controller.image();
        // Kafka skips named partitions that do not exist or are not moving.
        let topics = match &request.topics {
            None => image
                .topics
                .values()
                .filter_map(|t| ongoing(t, None))
                .collect(),
            Some(wanted) => wanted
                .iter()
                .filter_map(|w| ongoing(image.topic(&w.name)?, Some(&w.partition_indexes)))
                .collect(),
        };
        ListPartitionReassignmentsResponse::default().with_topics(topics)
    }
}
