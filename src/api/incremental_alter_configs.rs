//! IncrementalAlterConfigs: SET, DELETE, APPEND and SUBTRACT on single configs.

use std::collections::BTreeMap;
use std::sync::Arc;

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::incremental_alter_configs_request::AlterableConfig;
use kafka_protocol::messages::incremental_alter_configs_response::AlterConfigsResourceResponse;
use kafka_protocol::messages::{IncrementalAlterConfigsRequest, IncrementalAlterConfigsResponse};
use kafka_protocol::protocol::StrBytes;

use super::client_metrics_config::{self, CLIENT_METRICS};
use super::config_resource::{self, BROKER, GROUP, TOPIC};
use super::group_config;
use super::{BrokerContext, Handler, RequestContext};
use crate::cluster::ControllerError;
use crate::config::{base_config_def, topic_config_def, ConfigDef, ConfigKind, TopicConfig};
use crate::security::acl::AclOperation;

pub struct IncrementalAlterConfigs;

const SET: i8 = 0;
const DELETE: i8 = 1;
const APPEND: i8 = 2;
const SUBTRACT: i8 = 3;

fn invalid(message: String) -> ControllerError {
    ControllerError::new(ResponseError::InvalidConfig, message)
}

/// The list `base` with APPEND's or SUBTRACT's `operand` applied.
fn list_op(
    op: i8,
    name: &str,
    def: &ConfigDef,
    base: &str,
    operand: &str,
) -> Result<String, ControllerError> {
    let verb = if op == APPEND { "APPEND" } else { "SUBTRACT" };
    if def.kind != ConfigKind::List {
        return Err(invalid(format!(
            "Can't {verb} to key {name} because its type is not LIST."
        )));
    }
    let operand: Vec<&str> = operand
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect();
    let mut items: Vec<String> = base
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect();
    if op == APPEND {
        for o in operand {
            if !items.iter().any(|i| i == o) {
                items.push(o.to_string());
            }
        }
    } else {
        items.retain(|i| !operand.contains(&i.as_str()));
    }
    Ok(items.join(","))
}

fn unknown_op(op: &AlterableConfig) -> ControllerError {
    ControllerError::new(
        ResponseError::InvalidRequest,
        format!(
            "Unknown config operation {} for '{}'.",
            op.config_operation,
            op.name.as_str()
        ),
    )
}

/// Applies one operation to a topic's overrides. APPEND and SUBTRACT start
/// from the topic's override, else from the config's own default (as
/// Kafka's controller does: not from a broker-wide setting).
fn apply_op(config: &mut TopicConfig, op: &AlterableConfig) -> Result<(), ControllerError> {
    let name = op.name.to_string();
    // Null values for anything but DELETE were refused before.
    let value = op.value.as_deref().unwrap_or_default();
    let def = topic_config_def(&name)
        .ok_or_else(|| invalid(format!("Unknown topic config name: {name}")))?;
    match op.config_operation {
        SET => Ok(config.set(name, value.to_string())?),
        DELETE => Ok(config.remove(&name)?),
        APPEND | SUBTRACT => {
            let base = config
                .overrides
                .get(&name)
                .map(String::as_str)
                .or(def.default)
                .unwrap_or_default();
            let list = list_op(op.config_operation, &name, def, base, value)?;
            Ok(config.set(name, list)?)
        }
        _ => Err(unknown_op(op)),
    }
}

/// Applies one operation to a broker resource's dynamic configs (checked
/// as a whole afterwards). APPEND and SUBTRACT start from the resource's
/// value, else the property's default.
fn apply_broker_op(
    configs: &mut BTreeMap<String, String>,
    op: &AlterableConfig,
) -> Result<(), ControllerError> {
    let name = op.name.to_string();
    let value = op.value.as_deref().unwrap_or_default().trim().to_string();
    match op.config_operation {
        SET => {
            configs.insert(name, value);
        }
        DELETE => {
            configs.remove(&name);
        }
        APPEND | SUBTRACT => {
            let def = base_config_def(&name)
                .ok_or_else(|| invalid(format!("Unknown broker config name: {name}")))?;
            let base = configs
                .get(&name)
                .map(String::as_str)
                .or(def.default)
                .unwrap_or_default();
            let list = list_op(op.config_operation, &name, def, base, &value)?;
            configs.insert(name, list);
        }
        _ => return Err(unknown_op(op)),
    }
    Ok(())
}

impl Handler for IncrementalAlterConfigs {
    type Request = IncrementalAlterConfigsRequest;

    async fn handle(
        broker: Arc<BrokerContext>,
        ctx: RequestContext,
        request: IncrementalAlterConfigsRequest,
    ) -> IncrementalAlterConfigsResponse {
        let auth = broker.authorization(&ctx);
        let refusals = config_resource::preprocess(request.resources.iter().map(|r| {
            let configs = r
                .configs
                .iter()
                .map(|c| {
                    let missing = c.value.is_none() && c.config_operation != DELETE;
                    (c.name.as_str(), missing)
                })
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
                            for op in &r.configs {
                                apply_op(config, op)?;
                            }
                            Ok(())
                        },
                    )
                    .await
                }
                BROKER => {
                    config_resource::alter_broker(
                        &broker,
                        &r.resource_name,
                        request.validate_only,
                        |configs| {
                            for op in &r.configs {
                                apply_broker_op(configs, op)?;
                            }
                            Ok(())
                        },
                    )
                    .await
                }
                GROUP => {
                    group_config::alter_incrementally(
                        &broker,
                        &r.resource_name,
                        &r.configs,
                        request.validate_only,
                    )
                    .await
                }
                CLIENT_METRICS => {
                    client_metrics_config::alter_incremental(
                        &broker,
                        &r.resource_name,
                        &r.configs,
                        request.validate_only,
                    )
                    .await
                }
                other => Err(config_resource::unsupported_resource(other)),
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
