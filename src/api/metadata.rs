//! Metadata: brokers, controller and topic layouts from the metadata image,
//! creating topics on first mention when `auto.create.topics.enable` is set.

use std::collections::BTreeMap;
use std::sync::Arc;

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::metadata_response::{
    MetadataResponseBroker, MetadataResponsePartition, MetadataResponseTopic,
};
use kafka_protocol::messages::{BrokerId, MetadataRequest, MetadataResponse, TopicName};
use kafka_protocol::protocol::StrBytes;
use uuid::Uuid;

use super::{BrokerContext, Handler, RequestContext};
use crate::cluster::{topic_name, MetadataImage, NewTopic, TopicImage};
use crate::security::acl::{AclOperation, ResourceType, CLUSTER_NAME};

pub struct Metadata;

/// Each partition's error and leader as Kafka's KRaftMetadataCache answers
/// them on the request's listener, worked out once per broker rather than
/// once per partition: a leader that is not registered (or none) is
/// LEADER_NOT_AVAILABLE; one registered without an endpoint on this
/// listener cannot be reached by the client, and is LISTENER_NOT_FOUND from
/// v6 (LEADER_NOT_AVAILABLE before), with no leader named.
struct Leaders(BTreeMap<i32, (i16, i32)>);

impl Leaders {
    fn new(image: &MetadataImage, ctx: &RequestContext) -> Leaders {
        let unreachable = if ctx.api_version >= 6 {
            ResponseError::ListenerNotFound
        } else {
            ResponseError::LeaderNotAvailable
        };
        Leaders(
            image
                .brokers
                .values()
                .map(|b| {
                    let answer = if b.endpoint(&ctx.listener_name).is_some() {
                        (0, b.node_id)
                    } else {
                        tracing::debug!(broker = b.node_id, listener = %ctx.listener_name, "a broker has no endpoint on this listener");
                        (unreachable.code(), -1)
                    };
                    (b.node_id, answer)
                })
                .collect(),
        )
    }

    fn get(&self, leader: i32) -> (i16, i32) {
        self.0
            .get(&leader)
            .copied()
            .unwrap_or((ResponseError::LeaderNotAvailable.code(), -1))
    }
}

fn topic_response(topic: &TopicImage, leaders: &Leaders) -> MetadataResponseTopic {
    let partitions = topic
        .partitions
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let (error, leader) = leaders.get(p.leader);
            // Fields set in place: a chain of `with_` moves the whole
            // partition once per field, at every partition of the cluster.
            let mut out = MetadataResponsePartition::default();
            out.error_code = error;
            out.partition_index = i as i32;
            out.leader_id = BrokerId(leader);
            out.leader_epoch = p.leader_epoch;
            out.replica_nodes = p.replicas.iter().copied().map(BrokerId).collect();
            out.isr_nodes = p.isr.iter().copied().map(BrokerId).collect();
            out
        })
        .collect();
    MetadataResponseTopic::default()
        .with_name(Some(TopicName(StrBytes::from_string(topic.name.clone()))))
        .with_topic_id(topic.id)
        .with_is_internal(topic.internal)
        .with_partitions(partitions)
}

fn error_topic(name: Option<String>, id: Uuid, code: ResponseError) -> MetadataResponseTopic {
    MetadataResponseTopic::default()
        .with_name(name.map(|n| TopicName(StrBytes::from_string(n))))
        .with_topic_id(id)
        .with_error_code(code.code())
}

impl Handler for Metadata {
    type Request = MetadataRequest;

    async fn handle(
        broker: Arc<BrokerContext>,
        ctx: RequestContext,
        request: MetadataRequest,
    ) -> MetadataResponse {
        // v0 has no null list: an empty one asks for every topic.
        let wanted = match request.topics {
            Some(t) if t.is_empty() && ctx.api_version == 0 => None,
            other => other,
        };
        // Before v4 clients cannot opt out of auto-creation.
        let allow_create = (ctx.api_version < 4 || request.allow_auto_topic_creation)
            && broker.config.auto_create_topics_enable();
        // As Kafka: listing every topic leaves out those the principal may
        // not DESCRIBE; a topic it names answers TOPIC_AUTHORIZATION_FAILED,
        // whether it exists or not, and auto-creation needs CREATE on the
        // cluster or the topic.
        let auth = broker.authorization(&ctx);
        let describes = |name: &str| auth.allows(AclOperation::Describe, ResourceType::Topic, name);
        let refused = |name: Option<String>, id: Uuid| {
            error_topic(name, id, ResponseError::TopicAuthorizationFailed)
        };
        let mut topics = Vec::new();
        match wanted {
            None => {
                let image = broker.image();
                let leaders = Leaders::new(&image, &ctx);
                topics.extend(
                    image
                        .topics
                        .values()
                        // Leaving out what may not be seen is no denial to audit.
                        .filter(|t| {
                            auth.filters(AclOperation::Describe, ResourceType::Topic, &t.name)
                        })
                        .map(|t| topic_response(t, &leaders)),
                );
            }
            Some(requested) => {
                for t in requested {
                    let image = broker.image();
                    let leaders = Leaders::new(&image, &ctx);
                    match t.name.map(|n| n.0.to_string()) {
                        Some(name) => {
                            if !describes(&name) {
                                topics.push(refused(Some(name), Uuid::nil()));
                                continue;
                            }
                            if let Some(topic) = image.topic(&name) {
                                topics.push(topic_response(topic, &leaders));
                                continue;
                            }
                            if let Err(reason) = topic_name::validate(&name) {
                                tracing::debug!(%name, %reason, "metadata for an invalid topic name");
                                topics.push(error_topic(
                                    Some(name),
                                    Uuid::nil(),
                                    ResponseError::InvalidTopicException,
                                ));
                                continue;
                            }
                            if !allow_create || topic_name::is_internal(&name) {
                                topics.push(error_topic(
                                    Some(name),
                                    Uuid::nil(),
                                    ResponseError::UnknownTopicOrPartition,
                                ));
                                continue;
                            }
                            if !auth.allows_cluster(AclOperation::Create)
                                && !auth.allows(AclOperation::Create, ResourceType::Topic, &name)
                            {
                                topics.push(refused(Some(name), Uuid::nil()));
                                continue;
                            }
                            let new = NewTopic {
                                name: name.clone(),
                                num_partitions: -1,
                                replication_factor: -1,
                                assignments: Vec::new(),
                                configs: Vec::new(),
                            };
                            match broker.create_topic(&new).await {
                                Ok(topic) => {
                                    tracing::info!(topic = %name, partitions = topic.partitions.len(), "auto-created topic");
                                    let leaders = Leaders::new(&broker.image(), &ctx);
                                    topics.push(topic_response(&topic, &leaders));
                                }
                                // A concurrent request created it first.
                                Err(e) if e.code == ResponseError::TopicAlreadyExists => {
                                    let image = broker.image();
                                    match image.topic(&name) {
                                        Some(topic) => topics.push(topic_response(
                                            topic,
                                            &Leaders::new(&image, &ctx),
                                        )),
                                        None => topics.push(error_topic(
                                            Some(name),
                                            Uuid::nil(),
                                            ResponseError::LeaderNotAvailable,
                                        )),
                                    }
                                }
                                Err(e) => {
                                    tracing::warn!(topic = %name, error = %e, "auto-creation failed");
                                    topics.push(error_topic(Some(name), Uuid::nil(), e.code));
                                }
                            }
                        }
                        // A topic named by id keeps its name from who may not describe it.
                        None => match image.topic_by_id(t.topic_id) {
                            Some(topic) if !describes(&topic.name) => {
                                topics.push(refused(None, t.topic_id))
                            }
                            Some(topic) => {
                                topics.push(topic_response(topic, &Leaders::new(&image, &ctx)))
                            }
                            None => topics.push(error_topic(
                                None,
                                t.topic_id,
                                ResponseError::UnknownTopicId,
                            )),
                        },
                    }
                }
            }
        }
        if request.include_topic_authorized_operations {
            for t in topics.iter_mut().filter(|t| t.error_code == 0) {
                if let Some(name) = &t.name {
                    t.topic_authorized_operations =
                        auth.authorized_operations(ResourceType::Topic, name.0.as_str());
                }
            }
        }
        let cluster_operations = if request.include_cluster_authorized_operations {
            auth.authorized_operations(ResourceType::Cluster, CLUSTER_NAME)
        } else {
            i32::MIN
        };
        let image = broker.image();
        MetadataResponse::default()
            .with_cluster_authorized_operations(cluster_operations)
            .with_brokers(
                // As KRaft's metadata cache: only brokers that may lead.
                image
                    .brokers
                    .values()
                    .filter(|b| !b.fenced)
                    // Each broker as reached on the listener this request
                    // came in on; one without that listener is left out.
                    .filter_map(|b| Some((b, b.endpoint(&ctx.listener_name)?)))
                    .map(|(b, (host, port))| {
                        MetadataResponseBroker::default()
                            .with_node_id(BrokerId(b.node_id))
                            .with_host(StrBytes::from_string(host.to_string()))
                            .with_port(i32::from(port))
                            .with_rack(b.rack.clone().map(StrBytes::from_string))
                    })
                    .collect(),
            )
            .with_cluster_id(Some(StrBytes::from_string(image.cluster_id.clone())))
            .with_controller_id(BrokerId(image.controller_id))
            .with_topics(topics)
    }
}
