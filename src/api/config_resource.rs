//! What DescribeConfigs, AlterConfigs and IncrementalAlterConfigs share:
//! resource types and the checks on which resource a request names.

use kafka_protocol::error::ResponseError;

use super::BrokerContext;
use crate::cluster::controller::unknown_topic;
use crate::cluster::ControllerError;
use crate::config::TopicConfig;
use crate::security::acl::{AclOperation, ResourceType};
use crate::security::authorizer::Authorization;

pub const TOPIC: i8 = 2;
pub const BROKER: i8 = 4;
pub const BROKER_LOGGER: i8 = 8;

/// Kafka's check before a config resource is described (`op`
/// DESCRIBE_CONFIGS) or altered (ALTER_CONFIGS): on the topic for a topic,
/// on the cluster for a broker.
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
        BROKER | BROKER_LOGGER if !auth.allows_cluster(op) => Err(ControllerError::new(
            ResponseError::ClusterAuthorizationFailed,
            format!("{op} on the cluster is not authorized."),
        )),
        _ => Ok(()),
    }
}

/// The current overrides of topic `name`, or why it cannot be configured.
pub fn topic_config(broker: &BrokerContext, name: &str) -> Result<TopicConfig, ControllerError> {
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
    let mut config = topic_config(broker, name)?;
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
