//! ApiVersions: the APIs and versions this broker serves, read from the
//! registry; on a CONTROLLER listener (KIP-919), the controller's only.

use std::sync::Arc;

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::api_versions_response::{
    ApiVersion, FinalizedFeatureKey, SupportedFeatureKey,
};
use kafka_protocol::messages::{ApiVersionsRequest, ApiVersionsResponse};
use kafka_protocol::protocol::StrBytes;

use super::{registry, BrokerContext, EndpointType, Handler, RequestContext};
use crate::cluster::features;

pub struct ApiVersions;

fn supported(endpoint_type: EndpointType) -> ApiVersionsResponse {
    let mut keys: Vec<ApiVersion> = registry::endpoints()
        .iter()
        .filter(|e| endpoint_type == EndpointType::Broker || registry::served_by_controllers(e.key))
        .map(|e| {
            ApiVersion::default()
                .with_api_key(e.key as i16)
                .with_min_version(e.versions.min)
                .with_max_version(e.versions.max)
        })
        .collect();
    keys.sort_by_key(|k| k.api_key);
    ApiVersionsResponse::default().with_api_keys(keys)
}

/// What a client that asked for an ApiVersions version we do not know gets:
/// UNSUPPORTED_VERSION with our ranges, to be encoded at v0 so any client can read it.
pub fn unsupported_version_response(endpoint_type: EndpointType) -> ApiVersionsResponse {
    supported(endpoint_type).with_error_code(ResponseError::UnsupportedVersion.code())
}

impl Handler for ApiVersions {
    type Request = ApiVersionsRequest;

    async fn handle(
        broker: Arc<BrokerContext>,
        ctx: RequestContext,
        request: ApiVersionsRequest,
    ) -> ApiVersionsResponse {
        // v3+ requests carry the client's software name and version, which
        // Kafka requires to be non-empty and made of [a-zA-Z0-9.-].
        let valid = |s: &str| {
            !s.is_empty()
                && s.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-')
        };
        if ctx.api_version >= 3
            && (!valid(&request.client_software_name) || !valid(&request.client_software_version))
        {
            return ApiVersionsResponse::default()
                .with_error_code(ResponseError::InvalidRequest.code());
        }
        if ctx.api_version >= 3 {
            ctx.client_software.set(
                &request.client_software_name,
                &request.client_software_version,
            );
        }
        // KIP-584's features, from v3: a feature Gregor does not have
        // (0..0) is left out, as Kafka leaves out one it does not know,
        // and so is a finalized level of 0.
        let image = broker.image();
        let supported_features = features::SUPPORTED
            .iter()
            .filter(|(_, _, max)| *max > 0)
            .map(|(name, min, max)| {
                SupportedFeatureKey::default()
                    .with_name(StrBytes::from_static_str(name))
                    .with_min_version(*min)
                    .with_max_version(*max)
            })
            .collect();
        let finalized_features = image
            .finalized_features()
            .into_iter()
            .map(|(name, level)| {
                FinalizedFeatureKey::default()
                    .with_name(StrBytes::from_string(name))
                    .with_min_version_level(level)
                    .with_max_version_level(level)
            })
            .collect();
        supported(ctx.endpoint_type)
            .with_supported_features(supported_features)
            .with_finalized_features(finalized_features)
            .with_finalized_features_epoch(image.epoch as i64)
    }
}
