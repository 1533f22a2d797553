//! Broker and topic configuration with Kafka's property names and defaults.

mod broker;
mod def;
mod log_config;
mod topic;

pub use broker::{
    broker_config_def, is_sensitive, BrokerConfig, Listener, LoadError, BROKER_CONFIGS,
};
pub use def::{ConfigDef, ConfigError, ConfigKind};
pub use log_config::{LogConfig, TimestampType};
pub use topic::{topic_config_def, ConfigSource, TopicConfig, TOPIC_CONFIGS};
