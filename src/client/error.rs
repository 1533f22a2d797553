//! Errors of the client library, each carrying what was being done.

use std::time::Duration;

use rdkafka::error::KafkaError;
use rdkafka::types::RDKafkaErrorCode;

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    // The causes below are part of the message, not `source()`, so that a
    // chain printed with `{:#}` does not repeat them.
    #[error("cannot reach the cluster at {bootstrap} within {}s: {cause}", .timeout.as_secs())]
    Unreachable {
        bootstrap: String,
        timeout: Duration,
        cause: KafkaError,
    },
    #[error("{context}: {cause}")]
    Kafka { context: String, cause: KafkaError },
    /// A per-resource error the cluster answered with, under Kafka's name for its code.
    #[error("{context}: {code:?}{}", message.as_deref().map(|m| format!(" ({m})")).unwrap_or_default())]
    Broker {
        context: String,
        code: RDKafkaErrorCode,
        message: Option<String>,
    },
    #[error("{0}")]
    Invalid(String),
    #[error("cannot read {path}: {cause}")]
    Io { path: String, cause: std::io::Error },
}

impl ClientError {
    pub fn kafka(context: impl Into<String>) -> impl FnOnce(KafkaError) -> ClientError {
        let context = context.into();
        move |cause| ClientError::Kafka { context, cause }
    }

    /// The broker's error code, when the cluster answered with one.
    pub fn code(&self) -> Option<RDKafkaErrorCode> {
        match self {
            ClientError::Broker { code, .. } => Some(*code),
            ClientError::Kafka { cause, .. } => cause.rdkafka_error_code(),
            _ => None,
        }
    }
}

pub type Result<T, E = ClientError> = std::result::Result<T, E>;
