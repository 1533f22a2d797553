//! Dynamic broker configs (KIP-226): which properties AlterConfigs may set
//! on a broker at run time, at which level, and Kafka's checks of a change
//! (DynamicBrokerConfig.validateConfigs). The values live in the metadata
//! quorum; `BrokerConfig::with_dynamic` lays them over the static ones.

use std::collections::BTreeMap;

use super::broker::{base_config_def, broker_config_def, listener_override, mechanism_override};

/// Kafka's `SslConfigs.RECONFIGURABLE_CONFIGS`: keystores and truststores,
/// which may be altered only per listener (`listener.name.<l>.<key>`).
const SECURITY: &[&str] = &[
    "ssl.keystore.type",
    "ssl.keystore.location",
    "ssl.keystore.password",
    "ssl.key.password",
    "ssl.truststore.type",
    "ssl.truststore.location",
    "ssl.truststore.password",
    "ssl.keystore.key",
    "ssl.keystore.certificate.chain",
    "ssl.truststore.certificates",
];

/// Kafka's `DynamicListenerConfig.ReconfigurableConfigs` (less the
/// keystores above).
const LISTENER: &[&str] = &[
    "listeners",
    "listener.security.protocol.map",
    "principal.builder.class",
    "ssl.protocol",
    "ssl.provider",
    "ssl.cipher.suites",
    "ssl.enabled.protocols",
    "ssl.keymanager.algorithm",
    "ssl.trustmanager.algorithm",
    "ssl.endpoint.identification.algorithm",
    "ssl.secure.random.implementation",
    "ssl.client.auth",
    "ssl.engine.factory.class",
    "sasl.mechanism.inter.broker.protocol",
    "sasl.jaas.config",
    "sasl.enabled.mechanisms",
    "sasl.kerberos.service.name",
    "sasl.kerberos.kinit.cmd",
    "sasl.kerberos.ticket.renew.window.factor",
    "sasl.kerberos.ticket.renew.jitter",
    "sasl.kerberos.min.time.before.relogin",
    "sasl.kerberos.principal.to.local.rules",
    "sasl.login.refresh.window.factor",
    "sasl.login.refresh.window.jitter",
    "sasl.login.refresh.min.period.seconds",
    "sasl.login.refresh.buffer.seconds",
    "max.connections",
    "max.connection.creation.rate",
    "num.network.threads",
];

/// Listener configs Kafka sets for the whole cluster, not per broker.
const CLUSTER_LEVEL_LISTENER: &[&str] = &[
    "max.connections",
    "max.connection.creation.rate",
    "num.network.threads",
];

/// Every other dynamic property, settable per broker or as the cluster
/// default: the log configs that are topic defaults
/// (DynamicLogConfig), the log cleaner's, the thread pools', the socket
/// server's, the producer state manager's, metric reporters and config
/// providers.
const CLUSTER_WIDE: &[&str] = &[
    // DynamicLogConfig: every broker synonym of a topic config.
    "log.cleanup.policy",
    "log.cleaner.delete.retention.ms",
    "log.cleaner.max.compaction.lag.ms",
    "log.cleaner.min.cleanable.ratio",
    "log.cleaner.min.compaction.lag.ms",
    "log.flush.interval.messages",
    "log.flush.interval.ms",
    "log.flush.scheduler.interval.ms",
    "log.index.interval.bytes",
    "log.index.size.max.bytes",
    "log.message.downconversion.enable",
    "log.message.timestamp.after.max.ms",
    "log.message.timestamp.before.max.ms",
    "log.message.timestamp.difference.max.ms",
    "log.message.timestamp.type",
    "log.preallocate",
    "log.retention.bytes",
    "log.retention.hours",
    "log.retention.minutes",
    "log.retention.ms",
    "log.roll.hours",
    "log.roll.jitter.hours",
    "log.roll.jitter.ms",
    "log.roll.ms",
    "log.segment.bytes",
    "log.segment.delete.delay.ms",
    "log.local.retention.bytes",
    "log.local.retention.ms",
    "compression.type",
    "compression.gzip.level",
    "compression.lz4.level",
    "compression.zstd.level",
    "min.insync.replicas",
    "unclean.leader.election.enable",
    "message.max.bytes",
    // LogCleaner.RECONFIGURABLE_CONFIGS.
    "log.cleaner.threads",
    "log.cleaner.dedupe.buffer.size",
    "log.cleaner.io.buffer.load.factor",
    "log.cleaner.io.buffer.size",
    "log.cleaner.io.max.bytes.per.second",
    "log.cleaner.backoff.ms",
    // DynamicThreadPool.
    "num.io.threads",
    "num.replica.fetchers",
    "num.recovery.threads.per.data.dir",
    "background.threads",
    // SocketServer.ReconfigurableConfigs.
    "max.connections.per.ip",
    "max.connections.per.ip.overrides",
    // DynamicProducerStateManagerConfig.
    "producer.id.expiration.ms",
    "transaction.partition.verification.enable",
    // DynamicReplicationConfig.
    "follower.fetch.last.tiered.offset.enable",
    // DynamicConfig.Broker: replication throttles (KIP-73).
    "leader.replication.throttled.rate",
    "follower.replication.throttled.rate",
    "metric.reporters",
    "config.providers",
];

/// Whether Kafka lets `name` (a plain key, not listener-prefixed) change
/// at run time.
fn is_dynamic_key(name: &str) -> bool {
    SECURITY.contains(&name) || LISTENER.contains(&name) || CLUSTER_WIDE.contains(&name)
}

/// Whether `name`, as an AlterConfigs request names it, is dynamic:
/// `listener.name.<l>.<key>` is, for any key Kafka reconfigures per
/// listener.
pub fn is_dynamic(name: &str) -> bool {
    match listener_override(name) {
        Some((_, key)) => {
            let key = mechanism_override(key).unwrap_or(key);
            SECURITY.contains(&key) || LISTENER.contains(&key)
        }
        None => is_dynamic_key(name),
    }
}

/// Whether `name` may be set only on one broker, not as the cluster default.
fn is_per_broker(name: &str) -> bool {
    let key = listener_override(name).map_or(name, |(_, key)| key);
    if listener_override(name).is_some() {
        return !CLUSTER_LEVEL_LISTENER.contains(&key);
    }
    (SECURITY.contains(&key) || LISTENER.contains(&key)) && !CLUSTER_LEVEL_LISTENER.contains(&key)
}

/// Kafka's DynamicBrokerConfig.validateConfigs of the configs a request
/// sets (`per_broker`: on one broker rather than the cluster default).
/// Keys Gregor's table has and Kafka does not reconfigure are refused;
/// unknown keys are kept, as Kafka keeps custom properties.
pub fn validate(configs: &BTreeMap<String, String>, per_broker: bool) -> Result<(), String> {
    let refuse = |names: Vec<&String>, message: &str| {
        if names.is_empty() {
            Ok(())
        } else {
            let names: Vec<&str> = names.iter().map(|n| n.as_str()).collect();
            Err(format!("{message}: Set({})", names.join(", ")))
        }
    };
    refuse(
        configs
            .keys()
            .filter(|k| broker_config_def(k).is_some() && !is_dynamic(k))
            .collect(),
        "Cannot update these configs dynamically",
    )?;
    refuse(
        configs
            .keys()
            .filter(|k| SECURITY.contains(&k.as_str()))
            .collect(),
        "These security configs can be dynamically updated only per-listener using the listener prefix",
    )?;
    for (name, value) in configs {
        if let Some(def) = base_config_def(name) {
            def.validate(value).map_err(|e| e.to_string())?;
        }
    }
    if !per_broker {
        refuse(
            configs.keys().filter(|k| is_per_broker(k)).collect(),
            "Cannot update these configs at default cluster level, broker id must be specified",
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(k: &str, v: &str) -> BTreeMap<String, String> {
        BTreeMap::from([(k.to_string(), v.to_string())])
    }

    #[test]
    fn kafka_checks() {
        assert!(validate(&one("log.retention.ms", "1000"), false).is_ok());
        assert!(validate(&one("sasl.kerberos.min.time.before.relogin", "58000"), true).is_ok());
        assert!(validate(&one("custom.thing", "x"), false).is_ok());
        assert!(validate(&one("log.dirs", "/x"), true)
            .unwrap_err()
            .starts_with("Cannot update these configs dynamically: Set(log.dirs)"));
        assert!(validate(&one("ssl.keystore.location", "/k"), true)
            .unwrap_err()
            .contains("only per-listener"));
        assert!(validate(&one("listener.name.ssl.ssl.keystore.location", "/k"), true).is_ok());
        assert!(
            validate(&one("listener.name.ssl.ssl.keystore.location", "/k"), false)
                .unwrap_err()
                .contains("broker id must be specified")
        );
        assert!(validate(&one("max.connections", "10"), false).is_ok());
        assert!(validate(&one("log.retention.ms", "soon"), false).is_err());
        // Replication throttles: per broker or the cluster default, bytes
        // per second from 0.
        assert!(validate(&one("leader.replication.throttled.rate", "1048576"), false).is_ok());
        assert!(validate(&one("follower.replication.throttled.rate", "0"), true).is_ok());
        assert!(validate(&one("leader.replication.throttled.rate", "-1"), true).is_err());
        assert!(validate(&one("replication.quota.window.num", "5"), true)
            .unwrap_err()
            .starts_with("Cannot update these configs dynamically"));
    }
}
