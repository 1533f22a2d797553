//! DescribeCluster: cluster id, controller and brokers from the metadata image.

use std::sync::Arc;

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::describe_cluster_response::DescribeClusterBroker;
use kafka_protocol::messages::{BrokerId, DescribeClusterRequest, DescribeClusterResponse};
use kafka_protocol::protocol::StrBytes;

use super::{BrokerContext, Handler, RequestContext};
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
        let response = DescribeClusterResponse::default().with_endpoint_type(BROKER_ENDPOINTS);
        // Kafka: asking a broker for controllers is the wrong endpoint; any
        // other type is one it does not know.
        if request.endpoint_type != BROKER_ENDPOINTS {
            let (code, message) = if request.endpoint_type == CONTROLLER_ENDPOINTS {
                (ResponseError::MismatchedEndpointType, "The request was sent to an endpoint of type BROKER, but we wanted an endpoint of type CONTROLLER")
            } else {
                (
                    ResponseError::UnsupportedEndpointType,
                    "Unsupported endpoint type.",
                )
            };
            return response
                .with_error_code(code.code())
                .with_error_message(Some(StrBytes::from_static_str(message)));
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
