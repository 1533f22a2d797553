//! DescribeCluster: cluster id, controller and brokers from the metadata image.

use std::sync::Arc;

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::describe_cluster_response::DescribeClusterBroker;
use kafka_protocol::messages::{BrokerId, DescribeClusterRequest, DescribeClusterResponse};
use kafka_protocol::protocol::StrBytes;

use super::{BrokerContext, Handler, RequestContext};

pub struct DescribeCluster;

/// KIP-919's endpoint type for controllers, which brokers do not answer.
const CONTROLLER_ENDPOINTS: i8 = 2;

impl Handler for DescribeCluster {
    type Request = DescribeClusterRequest;

    async fn handle(
        broker: Arc<BrokerContext>,
        _ctx: RequestContext,
        request: DescribeClusterRequest,
    ) -> DescribeClusterResponse {
        let response = DescribeClusterResponse::default().with_endpoint_type(request.endpoint_type);
        if request.endpoint_type == CONTROLLER_ENDPOINTS {
            return response
                .with_error_code(ResponseError::UnsupportedEndpointType.code())
                .with_error_message(Some(StrBytes::from_static_str(
                    "Brokers do not describe controller endpoints.",
                )));
        }
        let image = broker.image();
        response
            .with_cluster_id(StrBytes::from_string(image.cluster_id.clone()))
            .with_controller_id(BrokerId(image.controller_id))
            .with_brokers(
                image
                    .brokers
                    .values()
                    .map(|b| {
                        DescribeClusterBroker::default()
                            .with_broker_id(BrokerId(b.node_id))
                            .with_host(StrBytes::from_string(b.host.clone()))
                            .with_port(i32::from(b.port))
                            .with_rack(b.rack.clone().map(StrBytes::from_string))
                    })
                    .collect(),
            )
    }
}
