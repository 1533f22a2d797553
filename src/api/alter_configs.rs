//! AlterConfigs (the legacy form): replaces a topic's whole set of
//! overrides, or a broker's dynamic configs.

use std::sync::Arc;

use kafka_protocol::messages::alter_configs_response::AlterConfigsResourceResponse;
use kafka_protocol::messages::{AlterConfigsRequest, AlterConfigsResponse};
use kafka_protocol::protocol::StrBytes;

use super::client_metrics_config::{self, CLIENT_METRICS};
use super::config_resource::{self, BROKER, GROUP, TOPIC};
use super::group_config;
use super::{BrokerContext, Handler, RequestContext};
use crate::config::TopicConfig;
use crate::security::acl::AclOperation;

pub struct AlterConfigs;

impl Handler for AlterConfigs {
    type Request = AlterConfigsRequest;

    async fn handle(
        broker: Arc<BrokerContext>,
        ctx: RequestContext,
        request: AlterConfigsRequest,
    ) -> AlterConfigsResponse {
        let auth = broker.authorization(&ctx);
        let refusals = config_resource::preprocess(request.resources.iter().map(|r| {
            let configs = r
                .configs
                .iter()
                .map(|c| (c.name.as_str(), c.value.is_none()))
                .collect();
            (r.resource_type, r.resource_name.as_str(), configs)
        }));
        let mut responses = Vec::with_capacity(request.resources.len());
        for (r, refused) in request.resources.iter().zip(refusals) {
            let allowed = match refused {
                Some(e) => Err(e),
                None => config_resource::authorize(
                    &auth,
                    r.resource_type,
                    &r.resource_name,
                    AclOperation::AlterConfigs,
                ),
            };
            let outcome = match r.resource_type {
                _ if allowed.is_err() => allowed,
                TOPIC => {
                    config_resource::alter_topic(
                        &broker,
                        &r.resource_name,
                        request.validate_only,
                        |config| {
                            let mut replacement = TopicConfig::default();
                            for c in &r.configs {
                                // Null values were refused above.
                                let value = c.value.as_deref().unwrap_or_default();
                                replacement.set(c.name.to_string(), value.to_string())?;
                            }
                            *config = replacement;
                            Ok(())
                        },
                    )
                    .await
                }
                BROKER => {
                    // As Kafka: the request's configs replace the
                    // resource's whole set of dynamic configs.
                    config_resource::alter_broker(
                        &broker,
                        &r.resource_name,
                        request.validate_only,
                        |configs| {
                            *configs = r
                                .configs
                                .iter()
                                .map(|c| {
                                    let value = c.value.as_deref().unwrap_or_default();
                                    (c.name.to_string(), value.trim().to_string())
                                })
                                .collect();
                            Ok(())
                        },
                    )
                    .await
                }
                GROUP => {
                    // Null values were refused above.
                    let configs = r
                        .configs
                        .iter()
                        .map(|c| (c.name.as_str(), c.value.as_deref().unwrap_or_default()));
                    group_config::replace(&broker, &r.resource_name, configs, request.validate_only)
                        .await
                }
                CLIENT_METRICS => {
                    // Null values were refused above.
                    let configs = r
                        .configs
                        .iter()
                        .map(|c| {
                            (
                                c.name.to_string(),
                                c.value.as_deref().unwrap_or_default().to_string(),
                            )
                        })
                        .collect();
                    client_metrics_config::replace(
                        &broker,
                        &r.resource_name,
                        configs,
                        request.validate_only,
                    )
                    .await
                }
                other => Err(config_resource::unsupported_resource(other)),
            };
            if outcome.is_ok() && !request.validate_only {
                tracing::info!(resource = %r.resource_name.as_str(), client = ctx.client_id(), "altered configs");
            }
            let response = AlterConfigsResourceResponse::default()
                .with_resource_type(r.resource_type)
                .with_resource_name(r.resource_name.clone());
            responses.push(match outcome {
                Ok(()) => response,
                Err(e) => response
                    .with_error_code(e.code.code())
                    .with_error_message(Some(StrBytes::from_string(e.message))),
            });
        }
        AlterConfigsResponse::default().with_responses(responses)
    }
}
