//! Errors of the client library, each carrying what was being done.

use std::time::Duration;

use kafka_protocol::error::ResponseError;
use rdkafka::error::KafkaError;
use rdkafka::types::RDKafkaErrorCode;

use super::config::ClientSettings;

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    // The causes below are part of the message, not `source()`, so that a
    // chain printed with `{:#}` does not repeat them.
    #[error("cannot reach the cluster at {bootstrap} within {} ms: {cause}", .timeout.as_millis())]
    Unreachable {
        bootstrap: String,
        timeout: Duration,
        cause: KafkaError,
    },
    /// A connection librdkafka opened and could not use, in its words: an
    /// untrusted certificate, failed authentication.
    #[error("cannot connect to the cluster at {bootstrap}: {reason}")]
    Refused { bootstrap: String, reason: String },
    /// No bootstrap server took a TCP connection: the reason for each.
    #[error("cannot reach the cluster at {bootstrap}: {reasons}")]
    NoBroker { bootstrap: String, reasons: String },
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
    /// A Kafka error code from a request this library encoded itself (see
    /// `wire`), under Kafka's name for it.
    #[error("{context}: {}", protocol_error(*.code, .message.as_deref()))]
    Protocol {
        context: String,
        code: i16,
        message: Option<String>,
    },
    /// A connection of this library's own that could not be opened, broke
    /// or went unanswered: the broker is down, restarting or unreachable.
    #[error("{context}: {cause}")]
    Disconnected { context: String, cause: String },
    /// An answer over a connection of this library's own that it could not
    /// decode, or a request it could not encode.
    #[error("{context}: {cause}")]
    Wire { context: String, cause: String },
    #[error("{0}")]
    Invalid(String),
    #[error("cannot read {path}: {cause}")]
    Io { path: String, cause: std::io::Error },
    /// Standard input, or the file read in its place, failed mid-read.
    #[error("cannot read input: {0}")]
    Input(std::io::Error),
    /// Standard output failed for a reason other than a closed pipe.
    #[error("cannot write to standard output: {0}")]
    Output(std::io::Error),
}

impl ClientError {
    pub fn kafka(context: impl Into<String>) -> impl FnOnce(KafkaError) -> ClientError {
        let context = context.into();
        move |cause| ClientError::Kafka { context, cause }
    }

    /// Whether the error passes once the cluster is back: every broker
    /// down or restarting, a leader or coordinator moving. A tool that
    /// tails a topic keeps going through these (a rolling restart); any
    /// other error ends it.
    pub fn is_transient(&self) -> bool {
        use RDKafkaErrorCode::*;
        let code = match self {
            ClientError::Unreachable { .. }
            | ClientError::NoBroker { .. }
            | ClientError::Disconnected { .. } => return true,
            ClientError::Protocol { code, .. } => {
                return ResponseError::try_from_code(*code).is_some_and(|e| e.is_retriable())
            }
            ClientError::Kafka { cause, .. } => match cause.rdkafka_error_code() {
                Some(code) => code,
                None => return false,
            },
            ClientError::Broker { code, .. } => *code,
            _ => return false,
        };
        matches!(
            code,
            AllBrokersDown
                | BrokerTransportFailure
                | OperationTimedOut
                | RequestTimedOut
                | NetworkException
                | BrokerNotAvailable
                | LeaderNotAvailable
                | NotLeaderForPartition
                | NotCoordinator
                | CoordinatorNotAvailable
                | CoordinatorLoadInProgress
                | UnknownTopicOrPartition
        )
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

/// Kafka's name for an error code, with the broker's explanation when it
/// gave one; the same shape as librdkafka's errors in `Broker`.
fn protocol_error(code: i16, message: Option<&str>) -> String {
    let name = match ResponseError::try_from_code(code) {
        Some(ResponseError::Unknown(_)) | None => format!("error code {code}"),
        Some(known) => format!("{known:?}"),
    };
    match message {
        Some(m) if !m.is_empty() => format!("{name} ({m})"),
        _ => name,
    }
}

pub type Result<T, E = ClientError> = std::result::Result<T, E>;
