//! GROUP config resources (KIP-848 group configs, ConfigResource type 32)
//! for DescribeConfigs and IncrementalAlterConfigs: a group's overrides live
//! in the metadata image, whether or not the group exists (Kafka describes
//! and alters the configs of a group before it has members).

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::incremental_alter_configs_request::AlterableConfig;

use super::BrokerContext;
use crate::cluster::ControllerError;
use crate::config::{
    resolve_group_config, validate_group_overrides, ConfigSource, GroupConfigDef, GroupOverrides,
    GROUP_CONFIGS,
};

const SET: i8 = 0;
const DELETE: i8 = 1;
const APPEND: i8 = 2;
const SUBTRACT: i8 = 3;

fn check_group_name(name: &str) -> Result<(), ControllerError> {
    if name.is_empty() {
        return Err(ControllerError::new(
            ResponseError::InvalidRequest,
            "Group name must not be empty.",
        ));
    }
    Ok(())
}

/// One described group config: its definition, the value the group runs
/// with and its source, and (most specific first) every level that has a
/// value: the group's override, the broker's setting, the default.
pub struct Described {
    pub config: &'static GroupConfigDef,
    pub value: Option<String>,
    pub source: ConfigSource,
    pub synonyms: Vec<(&'static str, String, ConfigSource)>,
}

/// Every group config of group `name` (Kafka's createGroupConfigEntry).
pub fn describe(broker: &BrokerContext, name: &str) -> Result<Vec<Described>, ControllerError> {
    check_group_name(name)?;
    let image = broker.image();
    let overrides = image.group_configs.get(name);
    Ok(GROUP_CONFIGS
        .iter()
        .map(|g| {
            let (value, source) = resolve_group_config(g, overrides, &broker.config);
            let mut synonyms = Vec::new();
            if let Some(v) = overrides.and_then(|o| o.get(g.def.name)) {
                synonyms.push((g.def.name, v.clone(), ConfigSource::DynamicGroup));
            }
            if !g.broker_name.is_empty() {
                if let Some(v) = broker.config.explicit(g.broker_name) {
                    synonyms.push((g.broker_name, v.to_string(), ConfigSource::StaticBroker));
                }
            }
            let default_name = if g.broker_name.is_empty() {
                g.def.name
            } else {
                g.broker_name
            };
            if let Some(d) = g.def.default {
                synonyms.push((default_name, d.to_string(), ConfigSource::Default));
            }
            Described {
                config: g,
                value,
                source,
                synonyms,
            }
        })
        .collect())
}

fn invalid(message: String) -> ControllerError {
    ControllerError::new(ResponseError::InvalidConfig, message)
}

/// Replaces group `name`'s overrides with `configs` (legacy AlterConfigs),
/// validated and committed as [`alter_incrementally`] does.
pub async fn replace<'a>(
    broker: &BrokerContext,
    name: &str,
    configs: impl Iterator<Item = (&'a str, &'a str)>,
    validate_only: bool,
) -> Result<(), ControllerError> {
    check_group_name(name)?;
    let overrides = configs
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    commit(broker, name, overrides, validate_only).await
}

/// Applies IncrementalAlterConfigs operations to group `name`'s overrides,
/// validates the result as Kafka's GroupConfig.validate does
/// (INVALID_CONFIG) and commits it to the metadata quorum unless
/// `validate_only`.
pub async fn alter_incrementally(
    broker: &BrokerContext,
    name: &str,
    ops: &[AlterableConfig],
    validate_only: bool,
) -> Result<(), ControllerError> {
    check_group_name(name)?;
    let mut overrides: GroupOverrides = broker
        .image()
        .group_configs
        .get(name)
        .cloned()
        .unwrap_or_default();
    for op in ops {
        let key = op.name.to_string();
        match op.config_operation {
            // Null values for anything but DELETE were refused before.
            SET => {
                overrides.insert(key, op.value.as_deref().unwrap_or_default().to_string());
            }
            DELETE => {
                overrides.remove(&key);
            }
            // No group config is a list (Kafka checks the type before the name).
            APPEND | SUBTRACT => {
                let verb = if op.config_operation == APPEND {
                    "APPEND"
                } else {
                    "SUBTRACT"
                };
                return Err(invalid(format!(
                    "Can't {verb} to key {key} because its type is not LIST."
                )));
            }
            other => {
                return Err(ControllerError::new(
                    ResponseError::InvalidRequest,
                    format!("Unknown config operation {other} for '{key}'."),
                ))
            }
        }
    }
    commit(broker, name, overrides, validate_only).await
}

/// Validates a group's new set of overrides and commits it unless
/// `validate_only`. Kafka validates the whole new set, so a DELETE of an
/// unknown name passes (it leaves nothing behind).
async fn commit(
    broker: &BrokerContext,
    name: &str,
    overrides: GroupOverrides,
    validate_only: bool,
) -> Result<(), ControllerError> {
    validate_group_overrides(&overrides, &broker.config).map_err(invalid)?;
    if validate_only {
        return Ok(());
    }
    broker.controller.set_group_config(name, overrides).await?;
    broker.apply_metadata();
    Ok(())
}
