//! Errors of the client library, each carrying what was being done.

use std::time::Duration;

use rdkafka::error::KafkaError;
use rdkafka::types::RDKafkaErrorCode;

use super::config::ClientSettings;

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
    /// A per-resource error the cluster answered with, under Kafka's name for
    /// its code, explained by the broker's message or else librdkafka's.
    #[error("{context}: {}", match message {
        Some(m) => format!("{code:?} ({m})"),
        None => code.to_string(),
    })]
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

    /// A cluster that did not answer a metadata request in time.
    pub fn unreachable(settings: &ClientSettings) -> impl FnOnce(KafkaError) -> ClientError {
        let (bootstrap, timeout) = (settings.bootstrap.clone(), settings.timeout);
        move |cause| ClientError::Unreachable {
            bootstrap,
            timeout,
            cause,
        }
    }
}

pub type Result<T, E = ClientError> = std::result::Result<T, E>;
