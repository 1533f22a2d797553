//! Group configs (Kafka's `GroupConfig`, KIP-848): per-group overrides of
//! the group coordinator's broker-wide settings, altered with
//! IncrementalAlterConfigs on a GROUP resource and kept in the metadata
//! quorum. A group without an override runs with the broker's setting of
//! the same name under `group.`.

use std::collections::BTreeMap;

use super::def::{ConfigDef, ConfigKind};
use super::{BrokerConfig, ConfigSource};

/// One group config: its definition (Kafka's name, type, default and
/// lower bound), the broker property it overrides, and the broker
/// properties that bound it (Kafka's GroupConfig.validateValues).
pub struct GroupConfigDef {
    pub def: ConfigDef,
    pub broker_name: &'static str,
    pub bounds: Option<(&'static str, &'static str)>,
}

const fn int(
    name: &'static str,
    default: &'static str,
    min: i64,
    broker_name: &'static str,
    bounds: (&'static str, &'static str),
    doc: &'static str,
) -> GroupConfigDef {
    GroupConfigDef {
        def: ConfigDef {
            name,
            kind: ConfigKind::Int,
            default: Some(default),
            min: Some(min),
            one_of: &[],
            doc,
        },
        broker_name,
        bounds: Some(bounds),
    }
}

/// Kafka 4.1's group configs: the consumer.* ones for KIP-848 groups, the
/// share.* ones for share groups (KIP-932).
pub static GROUP_CONFIGS: &[GroupConfigDef] = &[
    int(
        "consumer.session.timeout.ms",
        "45000",
        1,
        "group.consumer.session.timeout.ms",
        (
            "group.consumer.min.session.timeout.ms",
            "group.consumer.max.session.timeout.ms",
        ),
        "Session timeout of this consumer group's (KIP-848) members.",
    ),
    int(
        "consumer.heartbeat.interval.ms",
        "5000",
        1,
        "group.consumer.heartbeat.interval.ms",
        (
            "group.consumer.min.heartbeat.interval.ms",
            "group.consumer.max.heartbeat.interval.ms",
        ),
        "Heartbeat interval of this consumer group's (KIP-848) members.",
    ),
    int(
        "share.session.timeout.ms",
        "45000",
        1,
        "group.share.session.timeout.ms",
        (
            "group.share.min.session.timeout.ms",
            "group.share.max.session.timeout.ms",
        ),
        "Session timeout of this share group's members.",
    ),
    int(
        "share.heartbeat.interval.ms",
        "5000",
        1,
        "group.share.heartbeat.interval.ms",
        (
            "group.share.min.heartbeat.interval.ms",
            "group.share.max.heartbeat.interval.ms",
        ),
        "Heartbeat interval of this share group's members.",
    ),
    int(
        "share.record.lock.duration.ms",
        "30000",
        1000,
        "group.share.record.lock.duration.ms",
        (
            "group.share.min.record.lock.duration.ms",
            "group.share.max.record.lock.duration.ms",
        ),
        "How long a share group's member holds the records it acquired.",
    ),
    GroupConfigDef {
        def: ConfigDef {
            name: "share.auto.offset.reset",
            kind: ConfigKind::String,
            default: Some("latest"),
            min: None,
            one_of: &["latest", "earliest"],
            doc: "The strategy to initialize the share-partition start offset.",
        },
        // Kafka has no broker-wide setting for it.
        broker_name: "",
        bounds: None,
    },
    GroupConfigDef {
        def: ConfigDef {
            name: "share.isolation.level",
            kind: ConfigKind::String,
            default: Some("read_uncommitted"),
            min: None,
            one_of: &["read_committed", "read_uncommitted"],
            doc: "How a share group reads transactional records: read_committed acquires only committed ones, up to the last stable offset.",
        },
        // Kafka has no broker-wide setting for it.
        broker_name: "",
        bounds: None,
    },
];

pub fn group_config_def(name: &str) -> Option<&'static GroupConfigDef> {
    GROUP_CONFIGS.iter().find(|g| g.def.name == name)
}

/// A group's overrides, by config name.
pub type GroupOverrides = BTreeMap<String, String>;

/// Kafka's GroupConfig.validate of a group's whole set of overrides (the
/// error is INVALID_CONFIG's message): known names, values of the right
/// type, each within the broker's bounds (configs not overridden count at
/// Kafka's default), and each session timeout above its heartbeat interval.
pub fn validate_group_overrides(
    overrides: &GroupOverrides,
    broker: &BrokerConfig,
) -> Result<(), String> {
    for (name, value) in overrides {
        let g =
            group_config_def(name).ok_or_else(|| format!("Unknown group config name: {name}"))?;
        g.def.validate(value).map_err(|e| e.to_string())?;
    }
    let value = |name: &str| -> i64 {
        let g = group_config_def(name).expect("names below come from GROUP_CONFIGS");
        overrides
            .get(name)
            .map(String::as_str)
            .or(g.def.default)
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or_default()
    };
    for g in GROUP_CONFIGS {
        let Some((min_name, max_name)) = g.bounds else {
            continue;
        };
        let v = value(g.def.name);
        let bound = |n: &str| -> i64 {
            broker
                .get(n)
                .and_then(|b| b.trim().parse().ok())
                .unwrap_or_default()
        };
        if v < bound(min_name) {
            return Err(format!(
                "{} must be greater than or equal to {min_name}",
                g.def.name
            ));
        }
        if v > bound(max_name) {
            return Err(format!(
                "{} must be less than or equal to {max_name}",
                g.def.name
            ));
        }
    }
    for (session, heartbeat) in [
        (
            "consumer.session.timeout.ms",
            "consumer.heartbeat.interval.ms",
        ),
        ("share.session.timeout.ms", "share.heartbeat.interval.ms"),
    ] {
        if value(session) <= value(heartbeat) {
            return Err(format!("{session} must be greater than {heartbeat}"));
        }
    }
    Ok(())
}

/// The value a group runs `g` with and where it comes from: the group's
/// override, else the broker's setting (Kafka's createGroupConfigEntry:
/// STATIC_BROKER_CONFIG when set in the broker's properties, else
/// DEFAULT_CONFIG).
pub fn resolve_group_config(
    g: &GroupConfigDef,
    overrides: Option<&GroupOverrides>,
    broker: &BrokerConfig,
) -> (Option<String>, ConfigSource) {
    if let Some(v) = overrides.and_then(|o| o.get(g.def.name)) {
        return (Some(v.clone()), ConfigSource::DynamicGroup);
    }
    match broker.explicit(g.broker_name) {
        Some(v) if !g.broker_name.is_empty() => (Some(v.to_string()), ConfigSource::StaticBroker),
        _ => {
            let value = broker
                .get(g.broker_name)
                .or_else(|| g.def.default.map(str::to_string));
            (value, ConfigSource::Default)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn overrides(pairs: &[(&str, &str)]) -> GroupOverrides {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn group_configs_are_validated_as_kafka_validates_them() {
        let broker = BrokerConfig::default();
        let ok = |p: &[(&str, &str)]| validate_group_overrides(&overrides(p), &broker);
        assert_eq!(ok(&[("consumer.session.timeout.ms", "50000")]), Ok(()));
        assert_eq!(
            ok(&[("consumer.session.timeout.ms", "1000")]),
            Err("consumer.session.timeout.ms must be greater than or equal to group.consumer.min.session.timeout.ms".into())
        );
        assert_eq!(
            ok(&[("consumer.heartbeat.interval.ms", "20000")]),
            Err("consumer.heartbeat.interval.ms must be less than or equal to group.consumer.max.heartbeat.interval.ms".into())
        );
        assert_eq!(
            ok(&[("session.timeout.ms", "50000")]),
            Err("Unknown group config name: session.timeout.ms".into())
        );
        assert!(ok(&[("share.auto.offset.reset", "none")]).is_err());
        assert_eq!(ok(&[("share.isolation.level", "read_committed")]), Ok(()));
        assert!(ok(&[("share.isolation.level", "committed")]).is_err());
        assert!(ok(&[("consumer.session.timeout.ms", "x")]).is_err());
        let wide = BrokerConfig::load(
            None,
            &[
                (
                    "group.consumer.min.session.timeout.ms".into(),
                    "1000".into(),
                ),
                (
                    "group.consumer.min.heartbeat.interval.ms".into(),
                    "100".into(),
                ),
            ],
        )
        .unwrap();
        assert_eq!(
            validate_group_overrides(
                &overrides(&[
                    ("consumer.session.timeout.ms", "2000"),
                    ("consumer.heartbeat.interval.ms", "2000")
                ]),
                &wide
            ),
            Err(
                "consumer.session.timeout.ms must be greater than consumer.heartbeat.interval.ms"
                    .into()
            )
        );
    }
}
