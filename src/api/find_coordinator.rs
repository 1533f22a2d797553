//! FindCoordinator: which broker coordinates a group (key type 0) or a
//! transactional id (key type 1). On one node it is this broker; with
//! replication it becomes the leader of the key's `__consumer_offsets` or
//! `__transaction_state` partition.

use std::sync::Arc;

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::find_coordinator_response::Coordinator;
use kafka_protocol::messages::{BrokerId, FindCoordinatorRequest, FindCoordinatorResponse};
use kafka_protocol::protocol::StrBytes;

use super::{BrokerContext, Handler, RequestContext};

pub struct FindCoordinator;

const GROUP_KEY: i8 = 0;
const TRANSACTION_KEY: i8 = 1;

type Failure = (ResponseError, Option<&'static str>);

/// The coordinator's (node id, host, port) for one key.
fn locate(broker: &BrokerContext, key: &str, key_type: i8) -> Result<(i32, String, i32), Failure> {
    let ensured = match key_type {
        GROUP_KEY if key.is_empty() => return Err((ResponseError::InvalidGroupId, None)),
        GROUP_KEY => broker.ensure_offsets_topic(),
        TRANSACTION_KEY if key.is_empty() => {
            return Err((
                ResponseError::InvalidRequest,
                Some("The transactional id is empty."),
            ))
        }
        TRANSACTION_KEY => broker.ensure_transaction_topic(),
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
    let image = broker.image();
    let me = image
        .brokers
        .get(&broker.node_id)
        .ok_or((ResponseError::CoordinatorNotAvailable, None))?;
    Ok((me.node_id, me.host.clone(), i32::from(me.port)))
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
        // v4+ batches keys; earlier versions ask for one.
        if ctx.api_version >= 4 {
            let coordinators = request
                .coordinator_keys
                .iter()
                .map(|key| {
                    let (code, message, node, host, port) =
                        fields(locate(&broker, key, request.key_type));
                    Coordinator::default()
                        .with_key(key.clone())
                        .with_error_code(code)
                        .with_error_message(message)
                        .with_node_id(node)
                        .with_host(host)
                        .with_port(port)
                })
                .collect();
            return FindCoordinatorResponse::default().with_coordinators(coordinators);
        }
        let (code, message, node, host, port) =
            fields(locate(&broker, &request.key, request.key_type));
        FindCoordinatorResponse::default()
            .with_error_code(code)
            .with_error_message(message)
            .with_node_id(node)
            .with_host(host)
            .with_port(port)
    }
}
