//! IncrementalAlterConfigs: SET, DELETE, APPEND and SUBTRACT on single configs.

use std::collections::HashSet;
use std::sync::Arc;

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::incremental_alter_configs_request::AlterableConfig;
use kafka_protocol::messages::incremental_alter_configs_response::AlterConfigsResourceResponse;
use kafka_protocol::messages::{IncrementalAlterConfigsRequest, IncrementalAlterConfigsResponse};
use kafka_protocol::protocol::StrBytes;

use super::config_resource::{self, BROKER, TOPIC};
use super::{BrokerContext, Handler, RequestContext};
use crate::cluster::ControllerError;
use crate::config::{topic_config_def, ConfigKind, TopicConfig};
use crate::security::acl::AclOperation;

pub struct IncrementalAlterConfigs;

const SET: i8 = 0;
const DELETE: i8 = 1;
const APPEND: i8 = 2;
const SUBTRACT: i8 = 3;

fn invalid(message: String) -> ControllerError {
    ControllerError::new(ResponseError::InvalidConfig, message)
}

/// Applies one operation to a topic's overrides.
fn apply_op(
    config: &mut TopicConfig,
    op: &AlterableConfig,
    current_of: impl Fn(&str) -> Option<String>,
) -> Result<(), ControllerError> {
    let name = op.name.to_string();
    let value = op.value.as_ref().map(|v| v.to_string());
    let def = topic_config_def(&name)
        .ok_or_else(|| invalid(format!("Unknown topic config name: {name}")))?;
    let needs_value = || {
        value
            .clone()
            .ok_or_else(|| invalid(format!("Null value not supported for '{name}'.")))
    };
    match op.config_operation {
        SET => Ok(config.set(name.clone(), needs_value()?)?),
        DELETE => Ok(config.remove(&name)?),
        APPEND | SUBTRACT => {
            if def.kind != ConfigKind::List {
                return Err(invalid(format!(
                    "Config '{name}' is not a list; APPEND and SUBTRACT need one."
                )));
            }
            let operand = needs_value()?;
            let operand: Vec<&str> = operand
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .collect();
            let current = current_of(&name).unwrap_or_default();
            let mut items: Vec<String> = current
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .collect();
            if op.config_operation == APPEND {
                for o in operand {
                    if !items.iter().any(|i| i == o) {
                        items.push(o.to_string());
                    }
                }
            } else {
                items.retain(|i| !operand.contains(&i.as_str()));
            }
            Ok(config.set(name.clone(), items.join(","))?)
        }
        other => Err(ControllerError::new(
            ResponseError::InvalidRequest,
            format!("Unknown config operation {other} for '{name}'."),
        )),
    }
}

impl Handler for IncrementalAlterConfigs {
    type Request = IncrementalAlterConfigsRequest;

    async fn handle(
        broker: Arc<BrokerContext>,
        ctx: RequestContext,
        request: IncrementalAlterConfigsRequest,
    ) -> IncrementalAlterConfigsResponse {
        let auth = broker.authorization(&ctx);
        let mut responses = Vec::with_capacity(request.resources.len());
        for r in &request.resources {
            let allowed = config_resource::authorize(
                &auth,
                r.resource_type,
                &r.resource_name,
                AclOperation::AlterConfigs,
            );
            let mut names = HashSet::new();
            let duplicate = r
                .configs
                .iter()
                .find(|c| !names.insert(c.name.as_str()))
                .map(|c| c.name.to_string());
            let outcome = match (duplicate, r.resource_type) {
                _ if allowed.is_err() => allowed,
                (Some(name), _) => Err(ControllerError::new(
                    ResponseError::InvalidRequest,
                    format!("Config '{name}' appears more than once."),
                )),
                (None, TOPIC) => {
                    config_resource::alter_topic(
                        &broker,
                        &r.resource_name,
                        request.validate_only,
                        |config| {
                            for op in &r.configs {
                                let snapshot = config.clone();
                                apply_op(config, op, |n| {
                                    snapshot.resolve(n, &broker.config).map(|(v, _)| v)
                                })?;
                            }
                            Ok(())
                        },
                    )
                    .await
                }
                (None, BROKER) => Err(config_resource::broker_not_alterable()),
                (None, other) => Err(config_resource::unsupported_resource(other)),
            };
            if outcome.is_ok() && !request.validate_only {
                tracing::info!(resource = %r.resource_name.as_str(), client = ctx.client_id(), "altered configs incrementally");
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
        IncrementalAlterConfigsResponse::default().with_responses(responses)
    }
}
