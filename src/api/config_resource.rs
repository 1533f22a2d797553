//! What DescribeConfigs, AlterConfigs and IncrementalAlterConfigs share:
//! resource types and the checks on which resource a request names.

use std::collections::{HashMap, HashSet};

use kafka_protocol::error::ResponseError;

use super::client_metrics_config::CLIENT_METRICS;
use super::BrokerContext;
use crate::cluster::controller::unknown_topic;
use crate::cluster::{topic_name, ControllerError};
use crate::config::TopicConfig;
use crate::security::acl::{AclOperation, ResourceType};
use crate::security::authorizer::Authorization;

pub const TOPIC: i8 = 2;
pub const BROKER: i8 = 4;
pub const BROKER_LOGGER: i8 = 8;

/// Kafka's check before a config resource is described (`op`
/// DESCRIBE_CONFIGS) or altered (ALTER_CONFIGS): on the topic for a topic,
/// on the cluster for a broker or a client metrics subscription.
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

/// Gregor has no dynamic broker configs yet: its properties come from the
/// file and command line only.
pub fn broker_not_alterable() -> ControllerError {
    ControllerError::new(
        ResponseError::InvalidRequest,
        "Broker configs cannot be altered at run time; set them in server.properties or with --override.",
    )
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
