//! Why the controller refuses a change, and why the metadata cannot load.

use kafka_protocol::error::ResponseError;

use crate::cluster::quorum::QuorumError;
use crate::config::{ConfigError, LoadError};

/// A refused metadata change: the Kafka error code and a message for the client.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code}: {message}")]
pub struct ControllerError {
    pub code: ResponseError,
    pub message: String,
}

impl ControllerError {
    pub fn new(code: ResponseError, message: impl Into<String>) -> Self {
        ControllerError {
            code,
            message: message.into(),
        }
    }
}

impl From<ConfigError> for ControllerError {
    fn from(e: ConfigError) -> Self {
        ControllerError::new(ResponseError::InvalidConfig, e.to_string())
    }
}

/// Why the metadata could not be loaded at start-up.
#[derive(Debug, thiserror::Error)]
pub enum MetadataLoadError {
    #[error(transparent)]
    Quorum(#[from] QuorumError),
    #[error(transparent)]
    Config(#[from] LoadError),
    #[error("cannot register with the metadata quorum: {0}")]
    Register(ControllerError),
}

pub fn unknown_topic(name: &str) -> ControllerError {
    ControllerError::new(
        ResponseError::UnknownTopicOrPartition,
        format!("This server does not host this topic-partition: {name}"),
    )
}
