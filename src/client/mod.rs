//! Gregor's client library: what the command-line tools are made of, usable
//! from Rust on its own. It talks to any Kafka-compatible cluster (Gregor,
//! Apache Kafka, Redpanda) through librdkafka, and adds what librdkafka
//! leaves to applications: serializers, the Java client's partitioner,
//! interceptors, offset specifications, record formatting, and partition
//! reassignment over a Kafka-protocol connection of its own.

pub mod acl;
pub mod admin;
pub mod bulk;
pub mod cluster;
pub mod config;
pub mod consumer;
pub mod election;
pub mod entity_config;
pub mod error;
pub mod format;
pub mod groups;
pub mod interceptor;
pub mod line_reader;
pub mod log_dirs;
// librdkafka's C API, for what the rdkafka crate does not wrap.
#[allow(unsafe_code)]
mod native;
pub mod offset_spec;
pub mod partitioner;
pub mod perf;
pub mod producer;
pub mod producers;
pub mod quorum;
pub mod quotas;
pub mod reach;
pub mod reassign;
mod retry;
mod sasl;
pub mod serializer;
pub mod share_consumer;
pub mod transform;
mod wire;

pub use config::{ClientSettings, DEFAULT_BOOTSTRAP};
pub use error::{ClientError, Result};
pub use native::{ConfigOp, OffsetQuery};

/// A pattern matching whole topic names, as Kafka's tools and the consumer's
/// pattern subscriptions read it; a bad one is described in a line, not
/// with regex's diagram.
pub fn whole_name_regex(pattern: &str) -> std::result::Result<regex::Regex, String> {
    regex::Regex::new(&format!("^(?:{pattern})$")).map_err(|e| {
        let reason = match &e {
            regex::Error::Syntax(s) => s
                .lines()
                .last()
                .unwrap_or_default()
                .trim_start_matches("error: ")
                .to_string(),
            other => other.to_string(),
        };
        format!("'{pattern}' is not a valid regular expression: {reason}")
    })
}
