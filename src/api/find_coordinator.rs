//! FindCoordinator: which broker coordinates a group (key type 0), a
//! transactional id (key type 1) or a share-partition's state (key type 2,
//! "group:topicId:partition"): the leader of the key's
//! `__consumer_offsets`, `__transaction_state` or `__share_group_state`
//! partition.

use std::sync::Arc;

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::find_coordinator_response::Coordinator;
use kafka_protocol::messages::{BrokerId, FindCoordinatorRequest, FindCoordinatorResponse};
use kafka_protocol::protocol::StrBytes;

use super::{BrokerContext, Handler, RequestContext};
use crate::coordinator_records::partition_for;
use crate::group::OFFSETS_TOPIC;
use crate::security::acl::{AclOperation, ResourceType};
use crate::security::authorizer::Authorization;
use crate::share_coordinator::SHARE_STATE_TOPIC;
use crate::transaction::TRANSACTION_STATE_TOPIC;

pub struct FindCoordinator;

const GROUP_KEY: i8 = 0;
const TRANSACTION_KEY: i8 = 1;
const SHARE_KEY: i8 = 2;

type Failure = (ResponseError, Option<&'static str>);

/// The coordinator's (node id, host, port) for one key.
async fn locate(
    broker: &BrokerContext,
    auth: &Authorization,
    listener: &str,
    key: &str,
    key_type: i8,
) -> Result<(i32, String, i32), Failure> {
    // As Kafka: DESCRIBE on the group or transactional id, before anything
    // about the key is looked at.
    match key_type {
        GROUP_KEY if !auth.allows(AclOperation::Describe, ResourceType::Group, key) => {
            return Err((ResponseError::GroupAuthorizationFailed, None))
        }
        TRANSACTION_KEY
            if !auth.allows(AclOperation::Describe, ResourceType::TransactionalId, key) =>
        {
            return Err((ResponseError::TransactionalIdAuthorizationFailed, None))
        }
        // As Kafka: a share coordinator's key is asked for by brokers,
        // with CLUSTER_ACTION.
        SHARE_KEY if !auth.allows_cluster(AclOperation::ClusterAction) => {
            return Err((ResponseError::ClusterAuthorizationFailed, None))
        }
        _ => {}
    }
    let (ensured, topic, partitions) = match key_type {
        GROUP_KEY if key.is_empty() => return Err((ResponseError::InvalidGroupId, None)),
        GROUP_KEY => (
            broker.ensure_offsets_topic().await,
            OFFSETS_TOPIC,
            broker.config.offsets_topic_num_partitions(),
        ),
        TRANSACTION_KEY if key.is_empty() => {
            return Err((
                ResponseError::InvalidRequest,
                Some("The transactional id is empty."),
            ))
        }
        TRANSACTION_KEY => (
            broker.ensure_transaction_topic().await,
            TRANSACTION_STATE_TOPIC,
            broker.config.transaction_state_log_num_partitions(),
        ),
        SHARE_KEY if !valid_share_key(key) => {
            return Err((
                ResponseError::InvalidRequest,
                Some("A share coordinator key is group:topicId:partition."),
            ))
        }
        SHARE_KEY => (
            broker.ensure_share_state_topic().await,
            SHARE_STATE_TOPIC,
            broker.config.share_coordinator_state_topic_num_partitions(),
        ),
        _ => {
            return Err((
                ResponseError::InvalidRequest,
                Some("Unknown coordinator key type."),
            ))
        }
    };
    ensured.map_err(|e| {
        tracing::error!(error = %e, "cannot create an internal topic");
        (ResponseError::CoordinatorNotAvailable, None)
    })?;
    // The coordinator is the leader of the key's internal partition.
    let image = broker.image();
    let leader = image
        .partition(topic, partition_for(key, partitions))
        .map(|p| p.leader)
        .and_then(|id| image.brokers.get(&id))
        .ok_or((ResponseError::CoordinatorNotAvailable, None))?;
    // Reached on the listener the client asked on, as Kafka answers; a
    // coordinator without that listener is not available to this client.
    let (host, port) = leader
        .endpoint(listener)
        .ok_or((ResponseError::CoordinatorNotAvailable, None))?;
    Ok((leader.node_id, host.to_string(), i32::from(port)))
}

/// Whether `key` reads as Kafka's SharePartitionKey: a group id, a topic
/// id and a partition index, split at the last two colons.
fn valid_share_key(key: &str) -> bool {
    let mut parts = key.rsplitn(3, ':');
    let (Some(partition), Some(topic_id), Some(group)) = (parts.next(), parts.next(), parts.next())
    else {
        return false;
    };
    !group.is_empty() && !topic_id.is_empty() && partition.parse::<u32>().is_ok()
}

/// (error code, message, node id, host, port) as the response carries them.
fn fields(
    found: Result<(i32, String, i32), Failure>,
) -> (i16, Option<StrBytes>, BrokerId, StrBytes, i32) {
    match found {
        Ok((node, host, port)) => (0, None, BrokerId(node), StrBytes::from_string(host), port),
        Err((e, message)) => (
            e.code(),
            message.map(StrBytes::from_static_str),
            BrokerId(-1),
            StrBytes::default(),
            -1,
        ),
    }
}

impl Handler for FindCoordinator {
    type Request = FindCoordinatorRequest;

    async fn handle(
        broker: Arc<BrokerContext>,
        ctx: RequestContext,
        request: FindCoordinatorRequest,
    ) -> FindCoordinatorResponse {
        let auth = broker.authorization(&ctx);
        // v4+ batches keys; earlier versions ask for one.
        if ctx.api_version >= 4 {
            let mut coordinators = Vec::with_capacity(request.coordinator_keys.len());
            for key in &request.coordinator_keys {
                let (code, message, node, host, port) =
                    fields(locate(&broker, &auth, &ctx.listener_name, key, request.key_type).await);
                coordinators.push(
                    Coordinator::default()
                        .with_key(key.clone())
                        .with_error_code(code)
                        .with_error_message(message)
                        .with_node_id(node)
                        .with_host(host)
                        .with_port(port),
                );
            }
            return FindCoordinatorResponse::default().with_coordinators(coordinators);
        }
        let (code, message, node, host, port) = fields(
            locate(
                &broker,
                &auth,
                &ctx.listener_name,
                &request.key,
                request.key_type,
            )
            .await,
        );
        FindCoordinatorResponse::default()
            .with_error_code(code)
            .with_error_message(message)
            .with_node_id(node)
            .with_host(host)
            .with_port(port)
    }
}
