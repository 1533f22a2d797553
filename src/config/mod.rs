//! Broker and topic configuration with Kafka's property names and defaults.

mod broker;
mod def;
pub mod dynamic;
mod group;
mod log_config;
mod topic;

pub use broker::{
    base_config_def, broker_config_def, is_secret, is_sensitive, BrokerConfig, Listener, LoadError,
    BROKER_CONFIGS,
};
pub use def::{ConfigDef, ConfigError, ConfigKind};
pub use group::{
    group_config_def, resolve_group_config, validate_group_overrides, GroupConfigDef,
    GroupOverrides, GROUP_CONFIGS,
};
pub use log_config::{LogConfig, TimestampType};
pub use topic::{topic_config_def, ConfigSource, TopicConfig, TOPIC_CONFIGS};
