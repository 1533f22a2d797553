//! CLIENT_METRICS config resources (KIP-714): client metrics
//! subscriptions, described and altered through DescribeConfigs,
//! AlterConfigs and IncrementalAlterConfigs as Kafka does, and kept in
//! the metadata image so every broker serves the same subscriptions.

use std::collections::BTreeMap;

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::describe_configs_response::{
    DescribeConfigsResourceResult, DescribeConfigsSynonym,
};
use kafka_protocol::messages::incremental_alter_configs_request::AlterableConfig;
use kafka_protocol::protocol::StrBytes;

use super::BrokerContext;
use crate::cluster::ControllerError;
use crate::telemetry::subscription::{self, Subscription, CONFIGS};

/// Kafka's ConfigResource.Type.CLIENT_METRICS.
pub const CLIENT_METRICS: i8 = 16;

/// Kafka's ConfigSource codes for a subscription's own value and a default.
const CLIENT_METRICS_CONFIG: i8 = 7;
const DEFAULT_CONFIG: i8 = 5;
const INT: i8 = 3;
const LIST: i8 = 7;

fn empty_name() -> ControllerError {
    ControllerError::new(
        ResponseError::InvalidRequest,
        "Client metrics subscription name must not be empty",
    )
}

/// Subscription `name`'s configs (`keys` of them, or all), each set one
/// with source CLIENT_METRICS_CONFIG and the rest at their defaults.
pub fn describe(
    broker: &BrokerContext,
    name: &str,
    keys: Option<&[StrBytes]>,
    synonyms: bool,
    documentation: bool,
) -> Result<Vec<DescribeConfigsResourceResult>, ControllerError> {
    if name.is_empty() {
        return Err(empty_name());
    }
    let image = broker.image();
    let set = image.client_metrics.get(name);
    Ok(CONFIGS
        .iter()
        .filter(|c| keys.is_none_or(|keys| keys.iter().any(|k| k.as_str() == c.name)))
        .map(|c| {
            let (value, source) = match set.and_then(|s| s.get(c.name)) {
                Some(v) => (v.clone(), CLIENT_METRICS_CONFIG),
                None => (c.default.to_string(), DEFAULT_CONFIG),
            };
            let synonym = DescribeConfigsSynonym::default()
                .with_name(StrBytes::from_static_str(c.name))
                .with_value(Some(StrBytes::from_string(value.clone())))
                .with_source(source);
            DescribeConfigsResourceResult::default()
                .with_name(StrBytes::from_static_str(c.name))
                .with_value(Some(StrBytes::from_string(value)))
                .with_config_source(source)
                .with_config_type(if c.list { LIST } else { INT })
                .with_synonyms(if synonyms { vec![synonym] } else { vec![] })
                .with_documentation(documentation.then(|| StrBytes::from_static_str(c.doc)))
        })
        .collect())
}

/// Applies IncrementalAlterConfigs' operations (SET, DELETE, APPEND,
/// SUBTRACT) to subscription `name`; a subscription left with no configs
/// is removed.
pub async fn alter_incremental(
    broker: &BrokerContext,
    name: &str,
    ops: &[AlterableConfig],
    validate_only: bool,
) -> Result<(), ControllerError> {
    if name.is_empty() {
        return Err(empty_name());
    }
    let mut configs = broker
        .image()
        .client_metrics
        .get(name)
        .cloned()
        .unwrap_or_default();
    for op in ops {
        let key = op.name.to_string();
        let def = subscription::config(&key).ok_or_else(|| {
            ControllerError::new(
                ResponseError::InvalidRequest,
                format!("Unknown client metrics configuration: {key}"),
            )
        })?;
        // Null values for anything but DELETE were refused before.
        let value = op.value.as_deref().unwrap_or_default();
        match op.config_operation {
            0 => {
                configs.insert(key, value.to_string());
            }
            1 => {
                configs.remove(&key);
            }
            2 | 3 if !def.list => {
                return Err(ControllerError::new(
                    ResponseError::InvalidConfig,
                    format!("Can't APPEND or SUBTRACT to key {key} because its type is not LIST."),
                ))
            }
            2 | 3 => {
                let operand: Vec<&str> = subscription::list_items(value).collect();
                let mut items: Vec<String> =
                    subscription::list_items(configs.get(&key).map(String::as_str).unwrap_or(""))
                        .map(str::to_string)
                        .collect();
                if op.config_operation == 2 {
                    for o in operand {
                        if !items.iter().any(|i| i == o) {
                            items.push(o.to_string());
                        }
                    }
                } else {
                    items.retain(|i| !operand.contains(&i.as_str()));
                }
                configs.insert(key, items.join(","));
            }
            other => {
                return Err(ControllerError::new(
                    ResponseError::InvalidRequest,
                    format!("Unknown config operation {other} for '{key}'."),
                ))
            }
        }
    }
    commit(broker, name, configs, validate_only).await
}

/// AlterConfigs: subscription `name` gets exactly `configs`.
pub async fn replace(
    broker: &BrokerContext,
    name: &str,
    configs: BTreeMap<String, String>,
    validate_only: bool,
) -> Result<(), ControllerError> {
    if name.is_empty() {
        return Err(empty_name());
    }
    commit(broker, name, configs, validate_only).await
}

async fn commit(
    broker: &BrokerContext,
    name: &str,
    configs: BTreeMap<String, String>,
    validate_only: bool,
) -> Result<(), ControllerError> {
    Subscription::parse(name, &configs)?;
    if validate_only {
        return Ok(());
    }
    broker.controller.set_client_metrics(name, configs).await
}
