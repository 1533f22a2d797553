//! DescribeCluster: cluster id, controller and brokers from the metadata
//! image; on a CONTROLLER listener (KIP-919), the quorum's voters and its
//! leader, which is where an admin client there sends its requests.

use std::sync::Arc;

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::describe_cluster_response::DescribeClusterBroker;
use kafka_protocol::messages::{BrokerId, DescribeClusterRequest, DescribeClusterResponse};
use kafka_protocol::protocol::StrBytes;

use super::{BrokerContext, EndpointType, Handler, RequestContext};
use crate::security::acl::{AclOperation, ResourceType, CLUSTER_NAME};

pub struct DescribeCluster;

/// KIP-919's endpoint types: brokers describe brokers, controllers describe controllers.
const BROKER_ENDPOINTS: i8 = 1;
const CONTROLLER_ENDPOINTS: i8 = 2;

impl Handler for DescribeCluster {
    type Request = DescribeClusterRequest;

    async fn handle(
        broker: Arc<BrokerContext>,
        ctx: RequestContext,
        request: DescribeClusterRequest,
    ) -> DescribeClusterResponse {
        let serving = match ctx.endpoint_type {
            EndpointType::Broker => BROKER_ENDPOINTS,
            EndpointType::Controller => CONTROLLER_ENDPOINTS,
        };
        let response = DescribeClusterResponse::default().with_endpoint_type(serving);
        // Kafka: asking a broker for controllers, or a controller for
        // brokers, is the wrong endpoint; any other type is one it does
        // not know.
        if request.endpoint_type != serving {
            let name = |t| {
                if t == BROKER_ENDPOINTS {
                    "BROKER"
                } else {
                    "CONTROLLER"
                }
            };
            let (code, message) = if [BROKER_ENDPOINTS, CONTROLLER_ENDPOINTS]
                .contains(&request.endpoint_type)
            {
                (
                    ResponseError::MismatchedEndpointType,
                    format!(
                        "The request was sent to an endpoint of type {}, but we wanted an endpoint of type {}",
                        name(serving),
                        name(request.endpoint_type)
                    ),
                )
            } else {
                (
                    ResponseError::UnsupportedEndpointType,
                    "Unsupported endpoint type.".to_string(),
                )
            };
            return response
                .with_error_code(code.code())
                .with_error_message(Some(StrBytes::from_string(message)));
        }
        // As Kafka: anyone may describe the cluster; its authorized
        // operations, when asked for, are 0 without DESCRIBE on it.
        let operations = if request.include_cluster_authorized_operations {
            let auth = broker.authorization(&ctx);
            if auth.allows_cluster(AclOperation::Describe) {
                auth.authorized_operations(ResourceType::Cluster, CLUSTER_NAME)
            } else {
                0
            }
        } else {
            i32::MIN
        };
        let image = broker.image();
        if ctx.endpoint_type == EndpointType::Controller {
            let (leader, voters) = broker.controller.controllers();
            return response
                .with_cluster_authorized_operations(operations)
                .with_cluster_id(StrBytes::from_string(image.cluster_id.clone()))
                .with_controller_id(BrokerId(leader.map_or(-1, |l| l as i32)))
                .with_brokers(
                    voters
                        .iter()
                        .filter_map(|(id, addr)| {
                            let (host, port) = addr.rsplit_once(':')?;
                            Some(
                                DescribeClusterBroker::default()
                                    .with_broker_id(BrokerId(*id as i32))
                                    .with_host(StrBytes::from_string(
                                        host.trim_matches(['[', ']']).to_string(),
                                    ))
                                    .with_port(port.parse().ok()?),
                            )
                        })
                        .collect(),
                );
        }
        response
            .with_cluster_authorized_operations(operations)
            .with_cluster_id(StrBytes::from_string(image.cluster_id.clone()))
            .with_controller_id(BrokerId(image.controller_id))
            .with_brokers(
                // KIP-1073: fenced brokers only when asked for, marked so.
                image
                    .brokers
                    .values()
                    .filter(|b| request.include_fenced_brokers || !b.fenced)
                    // Each broker as reached on the listener this request
                    // came in on; one without that listener is left out.
                    .filter_map(|b| Some((b, b.endpoint(&ctx.listener_name)?)))
                    .map(|(b, (host, port))| {
                        DescribeClusterBroker::default()
                            .with_broker_id(BrokerId(b.node_id))
                            .with_host(StrBytes::from_string(host.to_string()))
                            .with_port(i32::from(port))
                            .with_rack(b.rack.clone().map(StrBytes::from_string))
                            .with_is_fenced(b.fenced)
                    })
                    .collect(),
            )
    }
}
