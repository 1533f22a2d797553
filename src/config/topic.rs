//! Topic-level configs (`retention.ms`, `segment.bytes`, ...) with Kafka's
//! names, defaults and broker-level synonyms (`log.retention.ms`, ...).

use std::collections::BTreeMap;

use super::broker::BrokerConfig;
use super::def::{parse_i64, ConfigDef, ConfigError, ConfigKind};
use super::{LogConfig, TimestampType};
use crate::quota::replication::{ThrottledReplicas, FOLLOWER_REPLICAS, LEADER_REPLICAS};

const fn def(
    name: &'static str,
    kind: ConfigKind,
    default: Option<&'static str>,
    min: Option<i64>,
    one_of: &'static [&'static str],
    doc: &'static str,
) -> ConfigDef {
    ConfigDef {
        name,
        kind,
        default,
        min,
        one_of,
        doc,
    }
}

use ConfigKind::{Boolean, Double, Int, List, Long};

const COMPRESSION_TYPES: &[&str] = &["uncompressed", "zstd", "lz4", "snappy", "gzip", "producer"];

/// Every topic config Gregor accepts, with the broker property that supplies
/// its default when the topic does not override it.
pub static TOPIC_CONFIGS: &[(ConfigDef, Option<&str>)] = &[
    (
        def(
            "cleanup.policy",
            List,
            Some("delete"),
            None,
            &["delete", "compact"],
            "Retention policy for old log segments.",
        ),
        Some("log.cleanup.policy"),
    ),
    (
        def(
            "compression.type",
            ConfigKind::String,
            Some("producer"),
            None,
            COMPRESSION_TYPES,
            "Final compression type; 'producer' keeps what the producer sent.",
        ),
        Some("compression.type"),
    ),
    (
        def(
            "delete.retention.ms",
            Long,
            Some("86400000"),
            Some(0),
            &[],
            "How long delete tombstones are kept in compacted topics.",
        ),
        Some("log.cleaner.delete.retention.ms"),
    ),
    (
        def(
            "file.delete.delay.ms",
            Long,
            Some("60000"),
            Some(0),
            &[],
            "Time to wait before deleting a file from the filesystem.",
        ),
        Some("log.segment.delete.delay.ms"),
    ),
    (
        def(
            "flush.messages",
            Long,
            Some("9223372036854775807"),
            Some(1),
            &[],
            "Force an fsync after this many messages (1 = before every acknowledgement).",
        ),
        Some("log.flush.interval.messages"),
    ),
    (
        def(
            "flush.ms",
            Long,
            Some("9223372036854775807"),
            Some(0),
            &[],
            "Force an fsync when data has been unflushed this long.",
        ),
        Some("log.flush.interval.ms"),
    ),
    (
        def(
            "follower.replication.throttled.replicas",
            List,
            Some(""),
            None,
            &[],
            "Replicas throttled as followers (follower.replication.throttled.rate): partitionId:brokerId pairs, or * for all.",
        ),
        None,
    ),
    (
        def(
            "index.interval.bytes",
            Int,
            Some("4096"),
            Some(0),
            &[],
            "Bytes of log between offset index entries.",
        ),
        Some("log.index.interval.bytes"),
    ),
    (
        def(
            "leader.replication.throttled.replicas",
            List,
            Some(""),
            None,
            &[],
            "Replicas throttled as leaders (leader.replication.throttled.rate): partitionId:brokerId pairs, or * for all.",
        ),
        None,
    ),
    (
        def(
            "max.compaction.lag.ms",
            Long,
            Some("9223372036854775807"),
            Some(1),
            &[],
            "Maximum time a message stays ineligible for compaction.",
        ),
        Some("log.cleaner.max.compaction.lag.ms"),
    ),
    (
        def(
            "max.message.bytes",
            Int,
            Some("1048588"),
            Some(0),
            &[],
            "Largest record batch size allowed.",
        ),
        Some("message.max.bytes"),
    ),
    (
        def(
            "message.timestamp.after.max.ms",
            Long,
            Some("3600000"),
            Some(0),
            &[],
            "Allowed time a CreateTime timestamp may be ahead of the broker's clock.",
        ),
        Some("log.message.timestamp.after.max.ms"),
    ),
    (
        def(
            "message.timestamp.before.max.ms",
            Long,
            Some("9223372036854775807"),
            Some(0),
            &[],
            "Allowed time a CreateTime timestamp may lag the broker's clock.",
        ),
        Some("log.message.timestamp.before.max.ms"),
    ),
    (
        def(
            "message.timestamp.type",
            ConfigKind::String,
            Some("CreateTime"),
            None,
            &["CreateTime", "LogAppendTime"],
            "Whether the record timestamp is the producer's or the broker's append time.",
        ),
        Some("log.message.timestamp.type"),
    ),
    (
        def(
            "min.cleanable.dirty.ratio",
            Double,
            Some("0.5"),
            None,
            &[],
            "Dirty ratio that makes a compacted log eligible for cleaning.",
        ),
        Some("log.cleaner.min.cleanable.ratio"),
    ),
    (
        def(
            "min.compaction.lag.ms",
            Long,
            Some("0"),
            Some(0),
            &[],
            "Minimum time a message stays uncompacted.",
        ),
        Some("log.cleaner.min.compaction.lag.ms"),
    ),
    (
        def(
            "min.insync.replicas",
            Int,
            Some("1"),
            Some(1),
            &[],
            "Minimum in-sync replicas for an acks=all write to succeed.",
        ),
        Some("min.insync.replicas"),
    ),
    (
        def(
            "preallocate",
            Boolean,
            Some("false"),
            None,
            &[],
            "Preallocate segment files.",
        ),
        Some("log.preallocate"),
    ),
    (
        def(
            "retention.bytes",
            Long,
            Some("-1"),
            Some(-1),
            &[],
            "Maximum partition size before old segments are deleted; -1 is unlimited.",
        ),
        Some("log.retention.bytes"),
    ),
    (
        def(
            "retention.ms",
            Long,
            Some("604800000"),
            Some(-1),
            &[],
            "Maximum age of a segment's newest record before it is deleted; -1 keeps forever.",
        ),
        Some("log.retention.ms"),
    ),
    (
        def(
            "segment.bytes",
            Int,
            Some("1073741824"),
            Some(14),
            &[],
            "Segment file size.",
        ),
        Some("log.segment.bytes"),
    ),
    (
        def(
            "segment.index.bytes",
            Int,
            Some("10485760"),
            Some(4),
            &[],
            "Maximum size of a segment's offset index.",
        ),
        Some("log.index.size.max.bytes"),
    ),
    (
        def(
            "segment.jitter.ms",
            Long,
            Some("0"),
            Some(0),
            &[],
            "Random jitter subtracted from segment.ms.",
        ),
        Some("log.roll.jitter.ms"),
    ),
    (
        def(
            "segment.ms",
            Long,
            Some("604800000"),
            Some(1),
            &[],
            "Roll a new segment after this long even if it is not full.",
        ),
        Some("log.roll.ms"),
    ),
    (
        def(
            "unclean.leader.election.enable",
            Boolean,
            Some("false"),
            None,
            &[],
            "Allow replicas outside the ISR to become leader.",
        ),
        Some("unclean.leader.election.enable"),
    ),
];

/// Looks a topic config up by its Kafka name.
pub fn topic_config_def(name: &str) -> Option<&'static ConfigDef> {
    TOPIC_CONFIGS
        .iter()
        .map(|(d, _)| d)
        .find(|d| d.name == name)
}

/// The broker property whose value is a topic config's default.
pub fn broker_synonym(name: &str) -> Option<&'static str> {
    TOPIC_CONFIGS
        .iter()
        .find(|(d, _)| d.name == name)
        .and_then(|(_, s)| *s)
}

/// A topic's explicit overrides; everything else comes from the broker.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct TopicConfig {
    pub overrides: BTreeMap<String, String>,
}

/// Where a resolved value came from, with DescribeConfigs' source codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConfigSource {
    DynamicTopic,
    /// Set in the metadata quorum for one broker.
    DynamicBroker,
    /// Set in the metadata quorum as the cluster's default.
    DynamicDefaultBroker,
    StaticBroker,
    Default,
    /// A group's own override (Kafka's GROUP_CONFIG).
    DynamicGroup,
}

impl ConfigSource {
    pub fn wire_code(self) -> i8 {
        match self {
            ConfigSource::DynamicTopic => 1,
            ConfigSource::DynamicBroker => 2,
            ConfigSource::DynamicDefaultBroker => 3,
            ConfigSource::StaticBroker => 4,
            ConfigSource::Default => 5,
            ConfigSource::DynamicGroup => 8,
        }
    }
}

impl TopicConfig {
    /// Validates each key and value; the first bad one is the error.
    pub fn from_overrides<I, K, V>(pairs: I) -> Result<TopicConfig, ConfigError>
    where
        I: IntoIterator<Item = (K, V)>,
        K: Into<String>,
        V: Into<String>,
    {
        let mut cfg = TopicConfig::default();
        for (k, v) in pairs {
            cfg.set(k.into(), v.into())?;
        }
        Ok(cfg)
    }

    pub fn set(&mut self, name: String, value: String) -> Result<(), ConfigError> {
        let def = topic_config_def(&name).ok_or_else(|| ConfigError::Unknown(name.clone()))?;
        def.validate(&value)?;
        if matches!(name.as_str(), LEADER_REPLICAS | FOLLOWER_REPLICAS) {
            ThrottledReplicas::parse(&name, &value).map_err(|reason| ConfigError::Invalid {
                name: name.clone(),
                value: value.clone(),
                reason,
            })?;
        }
        self.overrides.insert(name, value.trim().to_string());
        Ok(())
    }

    pub fn remove(&mut self, name: &str) -> Result<(), ConfigError> {
        topic_config_def(name).ok_or_else(|| ConfigError::Unknown(name.to_string()))?;
        self.overrides.remove(name);
        Ok(())
    }

    /// The effective value of `name` and where it came from.
    pub fn resolve(&self, name: &str, broker: &BrokerConfig) -> Option<(String, ConfigSource)> {
        let def = topic_config_def(name)?;
        if let Some(v) = self.overrides.get(name) {
            return Some((v.clone(), ConfigSource::DynamicTopic));
        }
        if let Some(found) = broker_synonym(name).and_then(|s| broker.topic_default_with_source(s))
        {
            return Some(found);
        }
        def.default.map(|d| (d.to_string(), ConfigSource::Default))
    }

    fn long(&self, name: &str, broker: &BrokerConfig) -> i64 {
        let def = topic_config_def(name).expect("names below come from TOPIC_CONFIGS");
        let value = self
            .resolve(name, broker)
            .map(|(v, _)| v)
            .unwrap_or_default();
        parse_i64(def, &value)
    }

    /// The typed settings the partition's log runs with.
    pub fn log_config(&self, broker: &BrokerConfig) -> LogConfig {
        let ts_type = match self.resolve("message.timestamp.type", broker) {
            Some((v, _)) if v == "LogAppendTime" => TimestampType::LogAppendTime,
            _ => TimestampType::CreateTime,
        };
        let policy = self
            .resolve("cleanup.policy", broker)
            .map(|(v, _)| v)
            .unwrap_or_default();
        let has = |p: &str| policy.split(',').any(|x| x.trim() == p);
        LogConfig {
            cleanup_delete: has("delete"),
            cleanup_compact: has("compact"),
            delete_retention_ms: self.long("delete.retention.ms", broker),
            min_compaction_lag_ms: self.long("min.compaction.lag.ms", broker),
            segment_bytes: self.long("segment.bytes", broker).max(14) as u64,
            segment_ms: self.long("segment.ms", broker),
            retention_ms: self.long("retention.ms", broker),
            retention_bytes: self.long("retention.bytes", broker),
            flush_messages: self.long("flush.messages", broker),
            flush_ms: self.long("flush.ms", broker),
            max_message_bytes: self
                .long("max.message.bytes", broker)
                .clamp(0, i32::MAX as i64) as i32,
            message_timestamp_type: ts_type,
            message_timestamp_before_max_ms: self.long("message.timestamp.before.max.ms", broker),
            message_timestamp_after_max_ms: self.long("message.timestamp.after.max.ms", broker),
            index_interval_bytes: self
                .long("index.interval.bytes", broker)
                .clamp(0, u32::MAX as i64) as u32,
            segment_index_bytes: self
                .long("segment.index.bytes", broker)
                .clamp(4, u32::MAX as i64) as u32,
            file_delete_delay_ms: self.long("file.delete.delay.ms", broker),
            producer_id_expiration_ms: broker.producer_id_expiration_ms(),
            writeback_bytes: broker.log_writeback_bytes(),
        }
    }

    pub fn min_insync_replicas(&self, broker: &BrokerConfig) -> i64 {
        self.long("min.insync.replicas", broker)
    }
}
