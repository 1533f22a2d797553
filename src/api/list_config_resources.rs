//! ListConfigResources (KIP-1142; KIP-1000's ListClientMetricsResources
//! at v0): the names of the config resources of the requested types, as
//! Kafka's handleListConfigResources lists them. v0 knows only client
//! metrics subscriptions; v1 filters by type, an empty filter meaning
//! every supported type.

use std::collections::BTreeSet;
use std::sync::Arc;

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::list_config_resources_response::ConfigResource;
use kafka_protocol::messages::{ListConfigResourcesRequest, ListConfigResourcesResponse};
use kafka_protocol::protocol::StrBytes;

use super::client_metrics_config::CLIENT_METRICS;
use super::config_resource::{BROKER, BROKER_LOGGER, GROUP, TOPIC};
use super::{BrokerContext, Handler, RequestContext};
use crate::security::acl::AclOperation;

pub struct ListConfigResources;

/// The types v1 lists, in the order an empty filter lists them.
const SUPPORTED: [i8; 5] = [TOPIC, BROKER, BROKER_LOGGER, CLIENT_METRICS, GROUP];

/// The names of the resources of one type.
fn names(broker: &BrokerContext, resource_type: i8) -> Vec<String> {
    let image = broker.image();
    match resource_type {
        TOPIC => image.topics.keys().cloned().collect(),
        BROKER | BROKER_LOGGER => image.brokers.keys().map(|id| id.to_string()).collect(),
        CLIENT_METRICS => image.client_metrics.keys().cloned().collect(),
        // The groups the coordinator knows and those only configs name.
        GROUP => {
            let mut groups: BTreeSet<String> = broker
                .groups
                .list_groups()
                .into_iter()
                .map(|(id, ..)| id)
                .collect();
            groups.extend(image.group_configs.keys().cloned());
            groups.into_iter().collect()
        }
        _ => Vec::new(),
    }
}

impl Handler for ListConfigResources {
    type Request = ListConfigResourcesRequest;

    async fn handle(
        broker: Arc<BrokerContext>,
        ctx: RequestContext,
        request: ListConfigResourcesRequest,
    ) -> ListConfigResourcesResponse {
        if !broker.allows_cluster(&ctx, AclOperation::DescribeConfigs) {
            return ListConfigResourcesResponse::default()
                .with_error_code(ResponseError::ClusterAuthorizationFailed.code());
        }
        let types: Vec<i8> = if ctx.api_version == 0 {
            vec![CLIENT_METRICS]
        } else if request.resource_types.is_empty() {
            SUPPORTED.to_vec()
        } else if request.resource_types.iter().all(|t| SUPPORTED.contains(t)) {
            request.resource_types
        } else {
            return ListConfigResourcesResponse::default()
                .with_error_code(ResponseError::UnsupportedVersion.code());
        };
        let resources = types
            .into_iter()
            .flat_map(|t| {
                names(&broker, t).into_iter().map(move |name| {
                    ConfigResource::default()
                        .with_resource_name(StrBytes::from_string(name))
                        .with_resource_type(t)
                })
            })
            .collect();
        ListConfigResourcesResponse::default().with_config_resources(resources)
    }
}
