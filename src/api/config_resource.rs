//! What DescribeConfigs, AlterConfigs and IncrementalAlterConfigs share:
//! resource types and the checks on which resource a request names.

use std::collections::{BTreeMap, HashMap, HashSet};

use kafka_protocol::error::ResponseError;

use super::client_metrics_config::CLIENT_METRICS;
use super::BrokerContext;
use crate::cluster::controller::unknown_topic;
use crate::cluster::{topic_name, ControllerError};
use crate::config::{dynamic, TopicConfig};
use crate::security::acl::{AclOperation, ResourceType};
use crate::security::authorizer::Authorization;
use crate::security::tls::ServerTls;

pub const TOPIC: i8 = 2;
pub const BROKER: i8 = 4;
pub const BROKER_LOGGER: i8 = 8;
/// KIP-848 group configs.
pub const GROUP: i8 = 32;

/// Kafka's check before a config resource is described (`op`
/// DESCRIBE_CONFIGS) or altered (ALTER_CONFIGS): on the topic for a topic,
/// on the group for a group, on the cluster for a broker or a client
/// metrics subscription.
pub fn authorize(
    auth: &Authorization,
    resource_type: i8,
    name: &str,
    op: AclOperation,
) -> Result<(), ControllerError> {
    match resource_type {
        TOPIC if !auth.allows(op, ResourceType::Topic, name) => Err(ControllerError::new(
            ResponseError::TopicAuthorizationFailed,
            format!("{op} on topic '{name}' is not authorized."),
        )),
        GROUP if !auth.allows(op, ResourceType::Group, name) => Err(ControllerError::new(
            ResponseError::GroupAuthorizationFailed,
            format!("{op} on group '{name}' is not authorized."),
        )),
        BROKER | BROKER_LOGGER | CLIENT_METRICS if !auth.allows_cluster(op) => {
            Err(ControllerError::new(
                ResponseError::ClusterAuthorizationFailed,
                format!("{op} on the cluster is not authorized."),
            ))
        }
        _ => Ok(()),
    }
}

/// Kafka's checks of an AlterConfigs or IncrementalAlterConfigs request as
/// a whole, before any resource is authorized or looked at
/// (ConfigAdminManager.preprocess): a resource named twice is refused at
/// each place, then each resource's config names must be distinct and its
/// values present. `resources` gives each resource's type and name, and
/// for each of its configs the name and whether it lacks a value it needs.
/// Returns each resource's refusal, in order.
pub fn preprocess<'a>(
    resources: impl Iterator<Item = (i8, &'a str, Vec<(&'a str, bool)>)>,
) -> Vec<Option<ControllerError>> {
    let resources: Vec<_> = resources.collect();
    let mut seen: HashMap<(i8, &str), usize> = HashMap::new();
    for (kind, name, _) in &resources {
        *seen.entry((*kind, *name)).or_default() += 1;
    }
    let invalid = |m: String| Some(ControllerError::new(ResponseError::InvalidRequest, m));
    resources
        .iter()
        .map(|(kind, name, configs)| {
            if seen[&(*kind, *name)] > 1 {
                return invalid("Each resource must appear at most once.".into());
            }
            let mut names = HashSet::new();
            if configs.iter().any(|(n, _)| !names.insert(*n)) {
                return invalid("Error due to duplicate config keys".into());
            }
            let nulls: Vec<&str> = configs
                .iter()
                .filter(|(_, missing)| *missing)
                .map(|(n, _)| *n)
                .collect();
            if !nulls.is_empty() {
                return invalid(format!(
                    "Null value not supported for : {}",
                    nulls.join(", ")
                ));
            }
            None
        })
        .collect()
}

/// A topic name a config request may name: Kafka refuses an invalid one
/// with INVALID_TOPIC_EXCEPTION, and the empty name (a default topic
/// resource, which Kafka does not have) when altering with INVALID_REQUEST.
fn check_topic_name(name: &str, altering: bool) -> Result<(), ControllerError> {
    if name.is_empty() && altering {
        return Err(ControllerError::new(
            ResponseError::InvalidRequest,
            "Default topic resources are not allowed.",
        ));
    }
    topic_name::validate(name).map_err(|reason| {
        ControllerError::new(
            ResponseError::InvalidTopicException,
            format!("Topic name is invalid: {reason}"),
        )
    })
}

/// The current overrides of topic `name`, or why it cannot be described.
pub fn topic_config(broker: &BrokerContext, name: &str) -> Result<TopicConfig, ControllerError> {
    check_topic_name(name, false)?;
    current_topic_config(broker, name)
}

fn current_topic_config(
    broker: &BrokerContext,
    name: &str,
) -> Result<TopicConfig, ControllerError> {
    broker
        .image()
        .topic(name)
        .map(|t| t.config.clone())
        .ok_or_else(|| unknown_topic(name))
}

/// A broker resource a request may name on this broker: its own id, or
/// the empty name of the cluster default (Kafka's ConfigAdminManager).
pub fn check_broker_name(broker: &BrokerContext, name: &str) -> Result<(), ControllerError> {
    if name.is_empty() || name == broker.node_id.to_string() {
        return Ok(());
    }
    Err(ControllerError::new(
        ResponseError::InvalidRequest,
        format!(
            "Unexpected broker id, expected {} or empty string, but received {name}",
            broker.node_id
        ),
    ))
}

/// Edits the dynamic configs of broker resource `name` (this broker's
/// id, or "" for the cluster default) with `edit`, checks what changed
/// as Kafka does (DynamicBrokerConfig.validateConfigs, and for this
/// broker that its TLS listeners still load), then commits the result
/// to the metadata quorum (or only validates it).
pub async fn alter_broker(
    broker: &BrokerContext,
    name: &str,
    validate_only: bool,
    edit: impl FnOnce(&mut BTreeMap<String, String>) -> Result<(), ControllerError>,
) -> Result<(), ControllerError> {
    check_broker_name(broker, name)?;
    let image = broker.image();
    let before = image.broker_configs.get(name).cloned().unwrap_or_default();
    let mut configs = before.clone();
    edit(&mut configs)?;
    let refuse = |message: String| {
        ControllerError::new(
            ResponseError::InvalidRequest,
            format!("Invalid config value for resource ConfigResource(type=BROKER, name='{name}'): {message}"),
        )
    };
    let set: BTreeMap<String, String> = configs
        .iter()
        .filter(|(k, v)| before.get(*k) != Some(*v))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let per_broker = !name.is_empty();
    dynamic::validate(&set, per_broker).map_err(refuse)?;
    let touches_tls = set
        .keys()
        .chain(before.keys().filter(|k| !configs.contains_key(*k)))
        .any(|k| k.starts_with("listener.name.") || k.starts_with("ssl."));
    if per_broker && touches_tls {
        let config = broker
            .config
            .with_dynamic(image.broker_configs.get(""), Some(&configs));
        for (_, tls) in &broker.listener_tls {
            let (listener, protocol) = tls.listener();
            ServerTls::check(&config, listener, protocol).map_err(|e| refuse(e.to_string()))?;
        }
    }
    if validate_only {
        return Ok(());
    }
    broker.controller.set_broker_configs(name, configs).await?;
    broker.apply_metadata();
    Ok(())
}

pub fn unsupported_resource(resource_type: i8) -> ControllerError {
    ControllerError::new(
        ResponseError::InvalidRequest,
        format!("Unsupported resource type {resource_type}."),
    )
}

/// Edits topic `name`'s overrides with `edit` and commits the result (or only
/// validates it).
pub async fn alter_topic(
    broker: &BrokerContext,
    name: &str,
    validate_only: bool,
    edit: impl FnOnce(&mut TopicConfig) -> Result<(), ControllerError>,
) -> Result<(), ControllerError> {
    check_topic_name(name, true)?;
    let mut config = current_topic_config(broker, name)?;
    edit(&mut config)?;
    broker
        .controller
        .set_topic_config(name, config, validate_only)
        .await?;
    if !validate_only {
        broker.apply_metadata();
    }
    Ok(())
}
