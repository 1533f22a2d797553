//! Broker configuration: `server.properties` plus `--override key=value`,
//! with Kafka's property names and defaults.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::def::{parse_i64, ConfigDef, ConfigError, ConfigKind};
use super::topic::ConfigSource;
use crate::security::SecurityProtocol;

use ConfigKind::{Boolean, Double, Int, List, Long};

const fn def(
    name: &'static str,
    kind: ConfigKind,
    default: Option<&'static str>,
    min: Option<i64>,
    doc: &'static str,
) -> ConfigDef {
    ConfigDef {
        name,
        kind,
        default,
        min,
        one_of: &[],
        doc,
    }
}

const fn one_of(
    name: &'static str,
    kind: ConfigKind,
    default: &'static str,
    one_of: &'static [&'static str],
    doc: &'static str,
) -> ConfigDef {
    ConfigDef {
        name,
        kind,
        default: Some(default),
        min: None,
        one_of,
        doc,
    }
}

/// Every broker property Gregor accepts. Some (thread counts, socket buffer
/// sizes) tune parts of the Java broker that Gregor does not have; they are
/// accepted so that an existing server.properties starts unchanged.
pub static BROKER_CONFIGS: &[ConfigDef] = &[
    def(
        "advertised.listeners",
        List,
        None,
        None,
        "Listeners published to clients, if different from listeners.",
    ),
    def(
        "allow.everyone.if.no.acl.found",
        Boolean,
        Some("false"),
        None,
        "With an authorizer, whether a resource no ACL names is open to everyone.",
    ),
    one_of(
        "authorizer.class.name",
        ConfigKind::String,
        "",
        &[
            "",
            crate::security::authorizer::STANDARD_AUTHORIZER,
            crate::security::authorizer::ACL_AUTHORIZER,
        ],
        "The authorizer that checks every request against the ACLs; empty: none, everything is allowed.",
    ),
    def(
        "auto.create.topics.enable",
        Boolean,
        Some("true"),
        None,
        "Create a topic on first Metadata request or produce to it.",
    ),
    def(
        "auto.leader.rebalance.enable",
        Boolean,
        Some("true"),
        None,
        "Move leadership back to preferred replicas when a broker leads too few of its own.",
    ),
    def(
        "broker.heartbeat.interval.ms",
        Int,
        Some("2000"),
        Some(1),
        "How often a broker tells the active controller it is alive.",
    ),
    def("broker.id", Int, None, Some(0), "Alias of node.id."),
    def(
        "broker.session.timeout.ms",
        Int,
        Some("9000"),
        Some(1),
        "A broker silent this long is fenced and its leaderships move.",
    ),
    def(
        "broker.rack",
        ConfigKind::String,
        None,
        None,
        "Rack of this broker, for rack-aware replica placement.",
    ),
    one_of(
        "compression.type",
        ConfigKind::String,
        "producer",
        &["uncompressed", "zstd", "lz4", "snappy", "gzip", "producer"],
        "Default final compression type for topics.",
    ),
    def(
        "connection.failed.authentication.delay.ms",
        Int,
        Some("100"),
        Some(0),
        "How long a failed SASL authentication's answer (and the close after it) is held back, slowing password guessing.",
    ),
    def(
        "connections.max.idle.ms",
        Long,
        Some("600000"),
        None,
        "A client connection that reads and writes nothing for this long, with no request in progress, is closed; a request whose bytes stop arriving counts as idle. Negative: never.",
    ),
    def(
        "connections.max.reauth.ms",
        Long,
        Some("0"),
        Some(0),
        "SASL session lifetime (KIP-368): a client must re-authenticate within it or its next request closes the connection; 0 never expires sessions.",
    ),
    def(
        "controller.listener.names",
        List,
        None,
        None,
        "Listeners used by the controller quorum.",
    ),
    def(
        "controller.quorum.voters",
        List,
        None,
        None,
        "Controller quorum voters as id@host:port.",
    ),
    def(
        "default.replication.factor",
        Int,
        Some("1"),
        Some(1),
        "Replication factor of auto-created topics and of CreateTopics with -1.",
    ),
    def(
        "delete.topic.enable",
        Boolean,
        Some("true"),
        None,
        "Whether DeleteTopics is allowed.",
    ),
    def(
        "fetch.max.bytes",
        Int,
        Some("57671680"),
        Some(1024),
        "Largest response a Fetch request may get, whatever the client asks.",
    ),
    def(
        "follower.replication.throttled.rate",
        Long,
        Some("9223372036854775807"),
        Some(0),
        "Bytes per second this broker fetches as a follower of the replicas follower.replication.throttled.replicas throttles, while they are outside the ISR.",
    ),
    def(
        "gregor.scram.bootstrap.credentials",
        ConfigKind::String,
        None,
        None,
        "SCRAM credentials created at start-up when the user has none yet, in kafka-storage format --add-scram syntax, separated by ';': SCRAM-SHA-256=[name=admin,password=admin-secret].",
    ),
    def(
        "group.consumer.heartbeat.interval.ms",
        Int,
        Some("5000"),
        Some(1),
        "Heartbeat interval of consumer-protocol (KIP-848) members.",
    ),
    def(
        "group.consumer.max.heartbeat.interval.ms",
        Int,
        Some("15000"),
        Some(1),
        "Largest heartbeat interval a consumer group's config may set.",
    ),
    def(
        "group.consumer.max.session.timeout.ms",
        Int,
        Some("60000"),
        Some(1),
        "Largest session timeout a consumer group's config may set.",
    ),
    def(
        "group.consumer.min.heartbeat.interval.ms",
        Int,
        Some("5000"),
        Some(1),
        "Smallest heartbeat interval a consumer group's config may set.",
    ),
    def(
        "group.consumer.min.session.timeout.ms",
        Int,
        Some("45000"),
        Some(1),
        "Smallest session timeout a consumer group's config may set.",
    ),
    def(
        "group.consumer.session.timeout.ms",
        Int,
        Some("45000"),
        Some(1),
        "Session timeout of consumer-protocol (KIP-848) members.",
    ),
    def(
        "group.initial.rebalance.delay.ms",
        Int,
        Some("3000"),
        Some(0),
        "Delay of the first rebalance of a new group.",
    ),
    def(
        "group.max.session.timeout.ms",
        Int,
        Some("1800000"),
        Some(1),
        "Longest session timeout a member may ask for.",
    ),
    def(
        "group.min.session.timeout.ms",
        Int,
        Some("6000"),
        Some(1),
        "Shortest session timeout a member may ask for.",
    ),
    def(
        "group.share.delivery.count.limit",
        Int,
        Some("5"),
        Some(2),
        "Deliveries of a share group's record after which one that comes back is archived rather than delivered again.",
    ),
    def(
        "group.share.enable",
        Boolean,
        Some("false"),
        None,
        "Serve share groups (KIP-932) whatever share.version is finalized at: Kafka 4.1's internal switch beside the feature.",
    ),
    def(
        "group.share.heartbeat.interval.ms",
        Int,
        Some("5000"),
        Some(1),
        "Heartbeat interval of share group members.",
    ),
    def(
        "group.share.max.heartbeat.interval.ms",
        Int,
        Some("15000"),
        Some(1),
        "Largest heartbeat interval a share group's config may set.",
    ),
    def(
        "group.share.max.record.lock.duration.ms",
        Int,
        Some("60000"),
        Some(1),
        "Largest record lock duration a share group's config may set.",
    ),
    def(
        "group.share.max.session.timeout.ms",
        Int,
        Some("60000"),
        Some(1),
        "Largest session timeout a share group's config may set.",
    ),
    def(
        "group.share.max.share.sessions",
        Int,
        Some("2000"),
        Some(1),
        "Share sessions (ShareFetch's) this broker keeps; one more is refused with SHARE_SESSION_LIMIT_REACHED.",
    ),
    def(
        "group.share.max.size",
        Int,
        Some("200"),
        Some(1),
        "Members one share group may have.",
    ),
    def(
        "group.share.min.heartbeat.interval.ms",
        Int,
        Some("5000"),
        Some(1),
        "Smallest heartbeat interval a share group's config may set.",
    ),
    def(
        "group.share.min.record.lock.duration.ms",
        Int,
        Some("15000"),
        Some(1),
        "Smallest record lock duration a share group's config may set.",
    ),
    def(
        "group.share.min.session.timeout.ms",
        Int,
        Some("45000"),
        Some(1),
        "Smallest session timeout a share group's config may set.",
    ),
    def(
        "group.share.partition.max.record.locks",
        Int,
        Some("2000"),
        Some(100),
        "Records of one share-partition in flight (acquired or waiting to be) at most.",
    ),
    def(
        "group.share.record.lock.duration.ms",
        Int,
        Some("30000"),
        Some(1),
        "How long a share group member holds the records it acquired before they are delivered again.",
    ),
    def(
        "group.share.session.timeout.ms",
        Int,
        Some("45000"),
        Some(1),
        "Session timeout of share group members.",
    ),
    def(
        "inter.broker.listener.name",
        ConfigKind::String,
        None,
        None,
        "Listener used between brokers.",
    ),
    def(
        "listener.security.protocol.map",
        List,
        Some("PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT"),
        None,
        "Security protocol of each listener name.",
    ),
    def(
        "leader.imbalance.check.interval.seconds",
        Long,
        Some("300"),
        Some(1),
        "How often the active controller checks for leadership imbalance.",
    ),
    def(
        "leader.imbalance.per.broker.percentage",
        Int,
        Some("10"),
        Some(0),
        "Share of a broker's preferred partitions led elsewhere before leadership is moved back.",
    ),
    def(
        "leader.replication.throttled.rate",
        Long,
        Some("9223372036854775807"),
        Some(0),
        "Bytes per second this broker sends as the leader of the replicas leader.replication.throttled.replicas throttles, to followers outside the ISR.",
    ),
    def(
        "listeners",
        List,
        Some("PLAINTEXT://127.0.0.1:9092"),
        None,
        "Addresses the broker listens on, as NAME://host:port.",
    ),
    one_of(
        "log.cleanup.policy",
        List,
        "delete",
        &["delete", "compact"],
        "Default cleanup.policy.",
    ),
    def(
        "log.cleaner.backoff.ms",
        Long,
        Some("15000"),
        Some(0),
        "How often compacted topics are cleaned.",
    ),
    def(
        "log.cleaner.delete.retention.ms",
        Long,
        Some("86400000"),
        Some(0),
        "Default delete.retention.ms.",
    ),
    def(
        "log.cleaner.max.compaction.lag.ms",
        Long,
        Some("9223372036854775807"),
        Some(1),
        "Default max.compaction.lag.ms.",
    ),
    def(
        "log.cleaner.min.cleanable.ratio",
        Double,
        Some("0.5"),
        None,
        "Default min.cleanable.dirty.ratio.",
    ),
    def(
        "log.cleaner.min.compaction.lag.ms",
        Long,
        Some("0"),
        Some(0),
        "Default min.compaction.lag.ms.",
    ),
    def(
        "log.dir",
        ConfigKind::String,
        Some("./gregor-data"),
        None,
        "Data directory, if log.dirs is not set.",
    ),
    def(
        "log.dirs",
        List,
        None,
        None,
        "The data directories, comma separated (Kafka's JBOD): each partition lives in one, the metadata log in the first unless metadata.log.dir is set.",
    ),
    def(
        "metadata.log.dir",
        ConfigKind::String,
        None,
        None,
        "The directory of the metadata quorum's log (__cluster_metadata-0); the first of log.dirs if not set.",
    ),
    def(
        "log.flush.interval.messages",
        Long,
        Some("9223372036854775807"),
        Some(1),
        "Default flush.messages.",
    ),
    def(
        "log.flush.interval.ms",
        Long,
        None,
        Some(0),
        "Default flush.ms.",
    ),
    def(
        "log.flush.offset.checkpoint.interval.ms",
        Int,
        Some("60000"),
        Some(0),
        "How often each log's recovery point is written to recovery-point-offset-checkpoint.",
    ),
    def(
        "log.flush.scheduler.interval.ms",
        Long,
        Some("9223372036854775807"),
        Some(0),
        "Default flush.ms when log.flush.interval.ms is not set.",
    ),
    def(
        "log.index.interval.bytes",
        Int,
        Some("4096"),
        Some(0),
        "Default index.interval.bytes.",
    ),
    def(
        "log.index.size.max.bytes",
        Int,
        Some("10485760"),
        Some(4),
        "Default segment.index.bytes.",
    ),
    def(
        "log.message.timestamp.after.max.ms",
        Long,
        Some("3600000"),
        Some(0),
        "Default message.timestamp.after.max.ms.",
    ),
    def(
        "log.message.timestamp.before.max.ms",
        Long,
        Some("9223372036854775807"),
        Some(0),
        "Default message.timestamp.before.max.ms.",
    ),
    one_of(
        "log.message.timestamp.type",
        ConfigKind::String,
        "CreateTime",
        &["CreateTime", "LogAppendTime"],
        "Default message.timestamp.type.",
    ),
    def(
        "log.preallocate",
        Boolean,
        Some("false"),
        None,
        "Default preallocate.",
    ),
    def(
        "log.retention.bytes",
        Long,
        Some("-1"),
        Some(-1),
        "Default retention.bytes.",
    ),
    def(
        "log.retention.check.interval.ms",
        Long,
        Some("300000"),
        Some(1),
        "How often retention is applied.",
    ),
    def(
        "log.retention.hours",
        Int,
        Some("168"),
        Some(-1),
        "Default retention, in hours (lowest precedence).",
    ),
    def(
        "log.retention.minutes",
        Int,
        None,
        Some(-1),
        "Default retention, in minutes.",
    ),
    def(
        "log.retention.ms",
        Long,
        None,
        Some(-1),
        "Default retention.ms (highest precedence).",
    ),
    def(
        "log.roll.hours",
        Int,
        Some("168"),
        Some(1),
        "Default segment.ms, in hours.",
    ),
    def(
        "log.roll.jitter.ms",
        Long,
        Some("0"),
        Some(0),
        "Default segment.jitter.ms.",
    ),
    def("log.roll.ms", Long, None, Some(1), "Default segment.ms."),
    def(
        "log.segment.bytes",
        Int,
        Some("1073741824"),
        Some(14),
        "Default segment.bytes.",
    ),
    def(
        "log.segment.delete.delay.ms",
        Long,
        Some("60000"),
        Some(0),
        "Default file.delete.delay.ms.",
    ),
    def(
        "gregor.log.writeback.bytes",
        Long,
        Some("1048576"),
        Some(0),
        "Gregor's own (Kafka has none): after every this many bytes appended to a partition's active segment, start writing them to disk without waiting (sync_file_range), so that dirty pages never pile up into the kernel's bursts of writeback nor the fsync at a segment roll; 0 leaves writeback to the kernel.",
    ),
    def(
        "max.connection.creation.rate",
        Int,
        Some("2147483647"),
        Some(0),
        "New connections per second the broker accepts; over it, the listener waits before serving the next one. Per listener with listener.name.<l>.max.connection.creation.rate; the inter-broker listener is held only to its own.",
    ),
    def(
        "max.connections",
        Int,
        Some("2147483647"),
        Some(0),
        "Maximum simultaneous client connections.",
    ),
    def(
        "max.connections.per.ip",
        Int,
        Some("2147483647"),
        Some(0),
        "Most simultaneous connections from one IP address; further ones are closed on accept. Zero only with max.connections.per.ip.overrides.",
    ),
    def(
        "max.connections.per.ip.overrides",
        ConfigKind::String,
        Some(""),
        None,
        "Per-IP or per-hostname limits over max.connections.per.ip, as host:count,host:count (e.g. hostName:100,127.0.0.1:200).",
    ),
    def(
        "max.incremental.fetch.session.cache.slots",
        Int,
        Some("1000"),
        Some(0),
        "Most fetch sessions (KIP-227) the broker keeps; a consumer that finds no room fetches every partition each time.",
    ),
    def(
        "max.request.partition.size.limit",
        Int,
        Some("2000"),
        Some(1),
        "The most partitions one DescribeTopicPartitions response carries; clients page through the rest with its cursor.",
    ),
    def(
        "message.max.bytes",
        Int,
        Some("1048588"),
        Some(0),
        "Default max.message.bytes.",
    ),
    def(
        "metrics.listener",
        ConfigKind::String,
        None,
        None,
        "Where the metrics endpoint listens, as http://host:port or https://host:port: OpenMetrics text on /metrics and readiness on /health. https takes the ssl.* settings of a listener named METRICS (listener.name.metrics.ssl.*, else ssl.*). Unset: no endpoint.",
    ),
    def(
        "min.insync.replicas",
        Int,
        Some("1"),
        Some(1),
        "Default min.insync.replicas.",
    ),
    def(
        "node.id",
        Int,
        Some("1"),
        Some(0),
        "This broker's id in the cluster.",
    ),
    def(
        "num.io.threads",
        Int,
        Some("8"),
        Some(1),
        "Accepted for compatibility; Gregor's runtime sizes itself.",
    ),
    def(
        "num.network.threads",
        Int,
        Some("3"),
        Some(1),
        "Accepted for compatibility; Gregor's runtime sizes itself.",
    ),
    def(
        "num.partitions",
        Int,
        Some("1"),
        Some(1),
        "Partition count of auto-created topics and of CreateTopics with -1.",
    ),
    def(
        "num.recovery.threads.per.data.dir",
        Int,
        Some("2"),
        Some(1),
        "Threads per log directory that open (and recover) the logs at start-up.",
    ),
    def(
        "offsets.retention.check.interval.ms",
        Long,
        Some("600000"),
        Some(1),
        "How often committed offsets are checked for expiry.",
    ),
    def(
        "offsets.retention.minutes",
        Int,
        Some("10080"),
        Some(1),
        "How long offsets of a group without members are kept after their last commit.",
    ),
    def(
        "offsets.topic.num.partitions",
        Int,
        Some("50"),
        Some(1),
        "Partitions of __consumer_offsets.",
    ),
    def(
        "offsets.topic.segment.bytes",
        Int,
        Some("104857600"),
        Some(1),
        "segment.bytes of __consumer_offsets.",
    ),
    def(
        "offsets.topic.replication.factor",
        Int,
        Some("3"),
        Some(1),
        "Replication factor of __consumer_offsets (capped at the live broker count).",
    ),
    def(
        "process.roles",
        List,
        Some("broker,controller"),
        None,
        "Roles of this process: broker,controller (a voter of the metadata quorum) or broker (follows the quorum as an observer).",
    ),
    def(
        "producer.id.expiration.ms",
        Int,
        Some("86400000"),
        Some(1),
        "How long a partition keeps an idempotent producer's state after its last write.",
    ),
    def(
        "queued.max.request.bytes",
        Long,
        Some("-1"),
        None,
        "Bytes of requests being read or handled, over all connections, before no more requests are read; -1 for no limit. At least socket.request.max.bytes when set.",
    ),
    def(
        "quota.window.num",
        Int,
        Some("11"),
        Some(1),
        "The number of samples client quotas are measured over.",
    ),
    def(
        "quota.window.size.seconds",
        Int,
        Some("1"),
        Some(1),
        "The time span of each sample client quotas are measured over.",
    ),
    def(
        "replica.fetch.max.bytes",
        Int,
        Some("1048576"),
        Some(0),
        "Bytes per partition a follower asks its leader for in one fetch.",
    ),
    def(
        "num.replica.fetchers",
        Int,
        Some("1"),
        Some(1),
        "Fetch sessions a follower keeps with each leader, partitions shared among them by a hash of topic and partition as in Kafka. Read at start-up: a dynamic update applies at the next start.",
    ),
    def(
        "replica.fetch.wait.max.ms",
        Int,
        Some("500"),
        Some(0),
        "Longest a follower's fetch waits at the leader for new data.",
    ),
    def(
        "replica.high.watermark.checkpoint.interval.ms",
        Long,
        Some("5000"),
        Some(1),
        "How often high watermarks are written to replication-offset-checkpoint.",
    ),
    def(
        "replica.lag.time.max.ms",
        Long,
        Some("30000"),
        Some(1),
        "A follower that has not caught up for this long leaves the ISR.",
    ),
    def(
        "replication.quota.window.num",
        Int,
        Some("11"),
        Some(1),
        "The number of samples replication throttles are measured over.",
    ),
    def(
        "replication.quota.window.size.seconds",
        Int,
        Some("1"),
        Some(1),
        "The time span of each sample replication throttles are measured over.",
    ),
    def(
        "sasl.enabled.mechanisms",
        List,
        Some("GSSAPI"),
        None,
        "SASL mechanisms enabled on SASL listeners: PLAIN, SCRAM-SHA-256, SCRAM-SHA-512, OAUTHBEARER (GSSAPI is not supported).",
    ),
    def(
        "sasl.jaas.config",
        ConfigKind::String,
        None,
        None,
        "JAAS login context for SASL listeners (per mechanism: listener.name.<listener>.<mechanism>.sasl.jaas.config); PlainLoginModule's user_<name> options are PLAIN's users.",
    ),
    def(
        "sasl.mechanism.controller.protocol",
        ConfigKind::String,
        Some("GSSAPI"),
        None,
        "SASL mechanism nodes log in to the metadata quorum's controllers with when the CONTROLLER listener is a SASL one (PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512 with bootstrap credentials, OAUTHBEARER).",
    ),
    def(
        "sasl.mechanism.inter.broker.protocol",
        ConfigKind::String,
        Some("GSSAPI"),
        None,
        "SASL mechanism brokers log in to each other with on a SASL listener (PLAIN, SCRAM-SHA-256, SCRAM-SHA-512 or OAUTHBEARER).",
    ),
    def(
        "sasl.oauthbearer.clock.skew.seconds",
        Int,
        Some("30"),
        Some(0),
        "Clock skew allowed between the broker and the issuer of OAUTHBEARER tokens.",
    ),
    def(
        "sasl.oauthbearer.expected.audience",
        List,
        None,
        None,
        "Audiences an OAUTHBEARER token's aud claim must name one of.",
    ),
    def(
        "sasl.oauthbearer.expected.issuer",
        ConfigKind::String,
        None,
        None,
        "The iss claim OAUTHBEARER tokens must carry.",
    ),
    def(
        "sasl.oauthbearer.jwks.endpoint.refresh.ms",
        Long,
        Some("3600000"),
        Some(1),
        "How often the http(s) JWKS is fetched again (and at once, at most once a minute per key id, when a token names a key id it lacks).",
    ),
    def(
        "sasl.oauthbearer.jwks.endpoint.retry.backoff.max.ms",
        Long,
        Some("10000"),
        Some(1),
        "Longest wait before fetching the http(s) JWKS again after failures.",
    ),
    def(
        "sasl.oauthbearer.jwks.endpoint.retry.backoff.ms",
        Long,
        Some("100"),
        Some(1),
        "First wait before fetching the http(s) JWKS again after a failure; doubled on each further failure.",
    ),
    def(
        "sasl.oauthbearer.jwks.endpoint.url",
        ConfigKind::String,
        None,
        None,
        "JWKS (https://, http:// or file:// URL) whose keys sign OAUTHBEARER tokens; unset, Kafka's unsecured JWS validator is used. An https endpoint is trusted by the listener's ssl.truststore.* if set, else by the Mozilla roots.",
    ),
    def(
        "sasl.oauthbearer.sub.claim.name",
        ConfigKind::String,
        Some("sub"),
        None,
        "The claim that names an OAUTHBEARER token's principal.",
    ),
    def(
        "sasl.server.max.receive.size",
        Int,
        Some("524288"),
        Some(1),
        "Largest request frame a SASL listener reads before the client has authenticated.",
    ),
    def(
        "share.coordinator.snapshot.update.records.per.snapshot",
        Int,
        Some("500"),
        Some(0),
        "ShareUpdate records written for one share-partition before a ShareSnapshot replaces them.",
    ),
    def(
        "share.coordinator.state.topic.num.partitions",
        Int,
        Some("50"),
        Some(1),
        "Partitions of __share_group_state.",
    ),
    def(
        "share.coordinator.state.topic.replication.factor",
        Int,
        Some("3"),
        Some(1),
        "Replication factor of __share_group_state (capped at the live broker count).",
    ),
    def(
        "share.coordinator.state.topic.segment.bytes",
        Int,
        Some("104857600"),
        Some(1),
        "segment.bytes of __share_group_state.",
    ),
    def(
        "socket.receive.buffer.bytes",
        Int,
        Some("102400"),
        Some(-1),
        "Accepted for compatibility.",
    ),
    def(
        "socket.request.max.bytes",
        Int,
        Some("104857600"),
        Some(1),
        "Largest request frame accepted.",
    ),
    def(
        "socket.send.buffer.bytes",
        Int,
        Some("102400"),
        Some(-1),
        "Accepted for compatibility.",
    ),
    def(
        "ssl.cipher.suites",
        List,
        Some(""),
        None,
        "TLS cipher suites a listener offers (IANA names, e.g. TLS_AES_128_GCM_SHA256); empty for rustls' safe defaults.",
    ),
    one_of(
        "ssl.client.auth",
        ConfigKind::String,
        "none",
        &["none", "requested", "required"],
        "Whether SSL listeners ask clients for a certificate (mTLS).",
    ),
    one_of(
        "ssl.enabled.protocols",
        List,
        "TLSv1.2,TLSv1.3",
        &["TLSv1.2", "TLSv1.3"],
        "TLS versions SSL listeners accept.",
    ),
    def(
        "ssl.endpoint.identification.algorithm",
        ConfigKind::String,
        Some("https"),
        None,
        "https: a broker connecting to another checks the host name in its certificate; empty: it does not.",
    ),
    def(
        "ssl.key.password",
        ConfigKind::Password,
        None,
        None,
        "Password of an encrypted private key (PEM keystores only; not supported: use an unencrypted PKCS#8 key or PKCS12).",
    ),
    def(
        "ssl.keystore.certificate.chain",
        ConfigKind::Password,
        None,
        None,
        "The listener's certificate chain as inline PEM (with ssl.keystore.type=PEM).",
    ),
    def(
        "ssl.keystore.key",
        ConfigKind::Password,
        None,
        None,
        "The listener's private key as inline PEM (with ssl.keystore.type=PEM).",
    ),
    def(
        "ssl.keystore.location",
        ConfigKind::String,
        None,
        None,
        "File with the listener's certificate chain and private key; reloaded when it changes.",
    ),
    def(
        "ssl.keystore.password",
        ConfigKind::Password,
        None,
        None,
        "Password of a PKCS12 keystore.",
    ),
    one_of(
        "ssl.keystore.type",
        ConfigKind::String,
        "JKS",
        &["JKS", "PKCS12", "PEM"],
        "Keystore format: PEM or PKCS12 (a JKS file is refused; the JKS default also reads a PKCS12 or PEM file, as Java does for PKCS12).",
    ),
    def(
        "ssl.principal.mapping.rules",
        ConfigKind::String,
        Some("DEFAULT"),
        None,
        "Rules mapping a client certificate's subject to a principal name (RULE:pattern/replacement/[LU], DEFAULT).",
    ),
    def(
        "ssl.protocol",
        ConfigKind::String,
        Some("TLSv1.3"),
        None,
        "Accepted for compatibility; ssl.enabled.protocols decides.",
    ),
    def(
        "ssl.truststore.certificates",
        ConfigKind::Password,
        None,
        None,
        "Trusted CA certificates as inline PEM (with ssl.truststore.type=PEM).",
    ),
    def(
        "ssl.truststore.location",
        ConfigKind::String,
        None,
        None,
        "File with the CA certificates client certificates are checked against; reloaded when it changes.",
    ),
    def(
        "ssl.truststore.password",
        ConfigKind::Password,
        None,
        None,
        "Password of a PKCS12 truststore.",
    ),
    one_of(
        "ssl.truststore.type",
        ConfigKind::String,
        "JKS",
        &["JKS", "PKCS12", "PEM"],
        "Truststore format: PEM or PKCS12 (as ssl.keystore.type).",
    ),
    def(
        "super.users",
        ConfigKind::String,
        None,
        None,
        "Principals that may do everything whatever the ACLs, separated by semicolons (User:admin;User:broker).",
    ),
    def(
        "telemetry.max.bytes",
        Int,
        Some("1048576"),
        Some(1),
        "Largest metrics payload a client may push (KIP-714); larger pushes are refused with TELEMETRY_TOO_LARGE.",
    ),
    def(
        "transaction.abort.timed.out.transaction.cleanup.interval.ms",
        Int,
        Some("10000"),
        Some(1),
        "How often open transactions are checked against their transaction.timeout.ms.",
    ),
    def(
        "transaction.max.timeout.ms",
        Int,
        Some("900000"),
        Some(1),
        "Largest transaction.timeout.ms a producer may ask for.",
    ),
    def(
        "transaction.state.log.min.isr",
        Int,
        Some("2"),
        Some(1),
        "min.insync.replicas of __transaction_state.",
    ),
    def(
        "transaction.state.log.replication.factor",
        Int,
        Some("3"),
        Some(1),
        "Replication factor of __transaction_state (capped at the live broker count).",
    ),
    def(
        "transaction.state.log.num.partitions",
        Int,
        Some("50"),
        Some(1),
        "Partitions of __transaction_state.",
    ),
    def(
        "transaction.state.log.segment.bytes",
        Int,
        Some("104857600"),
        Some(1),
        "segment.bytes of __transaction_state.",
    ),
    def(
        "transactional.id.expiration.ms",
        Int,
        Some("604800000"),
        Some(1),
        "How long a transactional id is kept after its last transaction ended.",
    ),
    def(
        "unclean.leader.election.enable",
        Boolean,
        Some("false"),
        None,
        "Default unclean.leader.election.enable.",
    ),
];

pub fn broker_config_def(name: &str) -> Option<&'static ConfigDef> {
    BROKER_CONFIGS.iter().find(|d| d.name == name)
}

/// `listener.name.<listener>.<key>` split into the listener and the key it
/// overrides for that listener alone.
pub(super) fn listener_override(name: &str) -> Option<(&str, &str)> {
    name.strip_prefix("listener.name.")?
        .split_once('.')
        .filter(|(listener, key)| !listener.is_empty() && !key.is_empty())
}

/// SASL keys Kafka scopes to one mechanism under a listener
/// (`listener.name.<l>.scram-sha-256.sasl.jaas.config`): the key itself.
pub(super) fn mechanism_override(key: &str) -> Option<&str> {
    let (mechanism, rest) = key.split_once('.')?;
    let known = [
        "plain",
        "scram-sha-256",
        "scram-sha-512",
        "oauthbearer",
        "gssapi",
    ];
    (known.contains(&mechanism) && rest == "sasl.jaas.config").then_some(rest)
}

/// Properties whose values are secrets: DescribeConfigs never shows them.
pub fn is_sensitive(name: &str) -> bool {
    name == "sasl.jaas.config" || name == "gregor.scram.bootstrap.credentials"
}

/// The table's definition of `name`, seen through a listener prefix
/// (`listener.name.<l>.<key>`, with its SASL mechanism).
pub fn base_config_def(name: &str) -> Option<&'static ConfigDef> {
    let base =
        listener_override(name).map_or(name, |(_, key)| mechanism_override(key).unwrap_or(key));
    broker_config_def(base)
}

/// Whether DescribeConfigs must hide the value of broker property
/// `name`: a password or secret; a dynamic key Kafka knows and Gregor's
/// table lacks by its name (Kafka's PASSWORD keys are passwords, JAAS
/// configs and inline private keys); any other key, being of unknown
/// type, as Kafka's maybeSensitive.
pub fn is_secret(name: &str) -> bool {
    match base_config_def(name) {
        Some(d) => d.kind == ConfigKind::Password || is_sensitive(d.name),
        None if super::dynamic::is_dynamic(name) => {
            name.ends_with(".password")
                || name.ends_with("sasl.jaas.config")
                || name.ends_with("ssl.keystore.key")
        }
        None => true,
    }
}

/// Settings of a ZooKeeper-mode broker, which KRaft (and Gregor) has no use
/// for: the ensemble's connection and its ACLs and TLS, and broker ids
/// generated in ZooKeeper.
fn is_zookeeper_only(name: &str) -> bool {
    name.starts_with("zookeeper.")
        || matches!(
            name,
            "broker.id.generation.enable"
                | "reserved.broker.max.id"
                | "controlled.shutdown.max.retries"
                | "controlled.shutdown.retry.backoff.ms"
        )
}

/// The known broker config `name` was most likely meant to be, if one is
/// close enough to be worth suggesting.
fn closest_config_name(name: &str) -> Option<&'static str> {
    BROKER_CONFIGS
        .iter()
        .map(|d| (strsim::jaro_winkler(name, d.name), d.name))
        .filter(|(score, _)| *score > 0.85)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, name)| name)
}

/// Why the broker's configuration could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("cannot read {path}: {source}")]
    Open {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot parse {path}: {source}")]
    Parse {
        path: PathBuf,
        source: java_properties::PropertiesError,
    },
    #[error("{0}")]
    Config(#[from] ConfigError),
    #[error("unknown config '{name}'{}", did_you_mean.map(|d| format!(" (did you mean '{d}'?)")).unwrap_or_default())]
    Unknown {
        name: String,
        did_you_mean: Option<&'static str>,
    },
    #[error(
        "invalid listener '{0}': expected NAME://host:port with a PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL security protocol, each name once"
    )]
    Listener(String),
    #[error("inter.broker.listener.name={0} names no listener in advertised.listeners")]
    InterBrokerListener(String),
    #[error("invalid controller.quorum.voters: {0}")]
    Voters(String),
    #[error("invalid process.roles: {0}")]
    Roles(String),
}

/// One endpoint from `listeners` / `advertised.listeners`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listener {
    pub name: String,
    pub host: String,
    pub port: u16,
    /// From `listener.security.protocol.map`; a name not in the map is
    /// its own protocol (`SSL://...`), as Kafka reads it.
    pub protocol: SecurityProtocol,
}

/// The broker's effective configuration: what was set, over Kafka's
/// defaults, under the dynamic configs of the metadata quorum (this
/// broker's over the cluster default's, KIP-226).
#[derive(Debug, Clone, Default)]
pub struct BrokerConfig {
    set: BTreeMap<String, String>,
    dynamic_default: BTreeMap<String, String>,
    dynamic_broker: BTreeMap<String, String>,
}

impl BrokerConfig {
    /// Reads `file` (Java properties format), then applies `overrides` in order.
    pub fn load(
        file: Option<&Path>,
        overrides: &[(String, String)],
    ) -> Result<BrokerConfig, LoadError> {
        let mut cfg = BrokerConfig::default();
        let mut pairs = Vec::new();
        if let Some(path) = file {
            let file = std::fs::File::open(path).map_err(|source| LoadError::Open {
                path: path.to_path_buf(),
                source,
            })?;
            let read = java_properties::read(std::io::BufReader::new(file)).map_err(|source| {
                LoadError::Parse {
                    path: path.to_path_buf(),
                    source,
                }
            })?;
            pairs.extend(read);
        }
        pairs.extend(overrides.iter().cloned());
        let mut zookeeper = Vec::new();
        for (k, v) in &pairs {
            if is_zookeeper_only(k) {
                if !zookeeper.contains(&k.as_str()) {
                    zookeeper.push(k.as_str());
                }
                continue;
            }
            cfg.set(k, v).map_err(|e| match e {
                ConfigError::Unknown(name) => LoadError::Unknown {
                    did_you_mean: closest_config_name(&name),
                    name,
                },
                other => other.into(),
            })?;
        }
        // A server.properties from a ZooKeeper-mode cluster still holds
        // these; they mean nothing here, and refusing them would only make
        // the operator delete lines first.
        if !zookeeper.is_empty() {
            tracing::warn!(
                "ignoring {}: ZooKeeper mode does not exist in Gregor (KRaft only)",
                zookeeper.join(", ")
            );
        }
        cfg.listeners()?;
        cfg.advertised_listeners()?;
        cfg.inter_broker_listener()?;
        cfg.controller_quorum_voters()?;
        cfg.check_connection_limits()?;
        cfg.check_share_group_limits()?;
        cfg.check_log_dirs()?;
        Ok(cfg)
    }

    /// A directory listed twice in `log.dirs` would be locked twice by
    /// one broker; Kafka refuses the list.
    fn check_log_dirs(&self) -> Result<(), ConfigError> {
        let dirs = self.log_dirs();
        for (i, dir) in dirs.iter().enumerate() {
            if dirs[..i].contains(dir) {
                return Err(ConfigError::Invalid {
                    name: "log.dirs".to_string(),
                    value: self.get("log.dirs").unwrap_or_default(),
                    reason: format!("duplicate log directory found: {}", dir.display()),
                });
            }
        }
        Ok(())
    }

    /// Kafka's ShareGroupConfig checks: each share group setting within the
    /// bounds the broker sets for its group configs, and Kafka's ranges of
    /// the delivery count limit (2-10) and record locks (100-10000).
    fn check_share_group_limits(&self) -> Result<(), ConfigError> {
        let invalid = |name: &str, reason: String| ConfigError::Invalid {
            name: name.to_string(),
            value: self.get(name).unwrap_or_default(),
            reason,
        };
        for (name, min, max) in [
            (
                "group.share.record.lock.duration.ms",
                "group.share.min.record.lock.duration.ms",
                "group.share.max.record.lock.duration.ms",
            ),
            (
                "group.share.session.timeout.ms",
                "group.share.min.session.timeout.ms",
                "group.share.max.session.timeout.ms",
            ),
            (
                "group.share.heartbeat.interval.ms",
                "group.share.min.heartbeat.interval.ms",
                "group.share.max.heartbeat.interval.ms",
            ),
        ] {
            if self.long(name) < self.long(min) {
                return Err(invalid(
                    name,
                    format!("must be greater than or equal to {min}"),
                ));
            }
            if self.long(name) > self.long(max) {
                return Err(invalid(
                    name,
                    format!("must be less than or equal to {max}"),
                ));
            }
        }
        for (name, max) in [
            ("group.share.delivery.count.limit", 10),
            ("group.share.partition.max.record.locks", 10_000),
        ] {
            if self.long(name) > max {
                return Err(invalid(name, format!("must be at most {max}")));
            }
        }
        Ok(())
    }

    /// Kafka's cross-property checks of the socket server's limits.
    fn check_connection_limits(&self) -> Result<(), ConfigError> {
        let invalid = |name: &str, reason: String| ConfigError::Invalid {
            name: name.to_string(),
            value: self.get(name).unwrap_or_default(),
            reason,
        };
        let overrides = self.max_connections_per_ip_overrides()?;
        if self.max_connections_per_ip() == 0 && overrides.is_empty() {
            return Err(invalid(
                "max.connections.per.ip",
                "can be zero only if max.connections.per.ip.overrides is set".into(),
            ));
        }
        if let Some(queued) = self.queued_max_request_bytes() {
            if queued < self.socket_request_max_bytes() {
                return Err(invalid(
                    "queued.max.request.bytes",
                    format!(
                        "must be -1 or at least socket.request.max.bytes ({}), or no request that size could ever be read",
                        self.socket_request_max_bytes()
                    ),
                ));
            }
        }
        Ok(())
    }

    pub fn set(&mut self, name: &str, value: &str) -> Result<(), ConfigError> {
        let def_name =
            listener_override(name).map_or(name, |(_, key)| mechanism_override(key).unwrap_or(key));
        let def =
            broker_config_def(def_name).ok_or_else(|| ConfigError::Unknown(name.to_string()))?;
        def.validate(value).map_err(|e| match e {
            ConfigError::Invalid { value, reason, .. } => ConfigError::Invalid {
                name: name.to_string(),
                value,
                reason,
            },
            other => other,
        })?;
        self.set.insert(name.to_string(), value.trim().to_string());
        Ok(())
    }

    /// The value of `name` for connections on `listener`: its
    /// `listener.name.<listener>.<name>` override (Kafka lower-cases the
    /// listener name there), else the broker-wide value or default.
    pub fn listener_value(&self, listener: &str, name: &str) -> Option<String> {
        let key = format!("listener.name.{}.{name}", listener.to_ascii_lowercase());
        self.explicit(&key)
            .map(str::to_string)
            .or_else(|| self.get(name))
    }

    /// The explicitly set value of `name`, if any: dynamic for this
    /// broker, else the dynamic cluster default, else static.
    pub fn explicit(&self, name: &str) -> Option<&str> {
        self.explicit_with_source(name).map(|(v, _)| v)
    }

    /// The explicitly set value of `name` and the level that set it.
    pub fn explicit_with_source(&self, name: &str) -> Option<(&str, ConfigSource)> {
        self.levels(name).into_iter().next()
    }

    /// This configuration under the dynamic configs `default` (the
    /// cluster's) and `broker` (this broker's). A value that does not
    /// validate is left out with a warning, as Kafka ignores it.
    pub fn with_dynamic(
        &self,
        default: Option<&BTreeMap<String, String>>,
        broker: Option<&BTreeMap<String, String>>,
    ) -> BrokerConfig {
        let valid = |layer: Option<&BTreeMap<String, String>>| {
            layer
                .into_iter()
                .flatten()
                .filter(
                    |(name, value)| match base_config_def(name).map(|d| d.validate(value)) {
                        Some(Err(e)) => {
                            tracing::warn!(error = %e, "ignoring an invalid dynamic broker config");
                            false
                        }
                        _ => true,
                    },
                )
                .map(|(k, v)| (k.clone(), v.trim().to_string()))
                .collect()
        };
        BrokerConfig {
            set: self.set.clone(),
            dynamic_default: valid(default),
            dynamic_broker: valid(broker),
        }
    }

    /// The dynamic configs laid over the static ones: the cluster
    /// default's and this broker's.
    pub fn dynamic_layers(&self) -> (&BTreeMap<String, String>, &BTreeMap<String, String>) {
        (&self.dynamic_default, &self.dynamic_broker)
    }

    /// DescribeConfigs' synonyms of broker property `name`, as Kafka lists
    /// them: level by level (this broker's dynamic, the dynamic default,
    /// static, Kafka's default), each level in the order of Kafka's
    /// brokerConfigSynonyms (`log.retention.ms`, `.minutes`, `.hours`; a
    /// listener override, then its base key).
    pub fn synonyms(&self, name: &str) -> Vec<(String, Option<String>, ConfigSource)> {
        let names: Vec<&str> = match name {
            "log.roll.ms" | "log.roll.hours" => vec!["log.roll.ms", "log.roll.hours"],
            "log.roll.jitter.ms" | "log.roll.jitter.hours" => {
                vec!["log.roll.jitter.ms", "log.roll.jitter.hours"]
            }
            "log.flush.interval.ms" => {
                vec!["log.flush.interval.ms", "log.flush.scheduler.interval.ms"]
            }
            "log.retention.ms" | "log.retention.minutes" | "log.retention.hours" => {
                vec![
                    "log.retention.ms",
                    "log.retention.minutes",
                    "log.retention.hours",
                ]
            }
            other => match listener_override(other) {
                Some((_, key)) => vec![other, mechanism_override(key).unwrap_or(key)],
                None => vec![other],
            },
        };
        let mut out = Vec::new();
        for (layer, source) in [
            (&self.dynamic_broker, ConfigSource::DynamicBroker),
            (&self.dynamic_default, ConfigSource::DynamicDefaultBroker),
            (&self.set, ConfigSource::StaticBroker),
        ] {
            for n in &names {
                if let Some(v) = layer.get(*n) {
                    out.push((n.to_string(), Some(v.clone()), source));
                }
            }
        }
        for n in &names {
            if let Some(d) = broker_config_def(n).and_then(|d| d.default) {
                out.push((n.to_string(), Some(d.to_string()), ConfigSource::Default));
            }
        }
        out
    }

    /// Each level that sets `name`, most specific first.
    fn levels(&self, name: &str) -> Vec<(&str, ConfigSource)> {
        [
            (&self.dynamic_broker, ConfigSource::DynamicBroker),
            (&self.dynamic_default, ConfigSource::DynamicDefaultBroker),
            (&self.set, ConfigSource::StaticBroker),
        ]
        .into_iter()
        .filter_map(|(layer, source)| layer.get(name).map(|v| (v.as_str(), source)))
        .collect()
    }

    /// The effective value: set, else Kafka's default.
    pub fn get(&self, name: &str) -> Option<String> {
        self.explicit(name)
            .map(str::to_string)
            .or_else(|| broker_config_def(name).and_then(|d| d.default.map(str::to_string)))
    }

    fn long(&self, name: &str) -> i64 {
        let def = broker_config_def(name).expect("names below come from BROKER_CONFIGS");
        parse_i64(def, &self.get(name).unwrap_or_default())
    }

    fn bool(&self, name: &str) -> bool {
        self.get(name)
            .is_some_and(|v| v.eq_ignore_ascii_case("true"))
    }

    /// The value a topic-level config inherits from the broker property
    /// `synonym`, when the operator set it (directly or through the
    /// hours/minutes forms Kafka also accepts).
    pub fn topic_default(&self, synonym: &str) -> Option<String> {
        self.topic_default_with_source(synonym).map(|(v, _)| v)
    }

    /// [`BrokerConfig::topic_default`] and the level that set it.
    pub fn topic_default_with_source(&self, synonym: &str) -> Option<(String, ConfigSource)> {
        const HOUR_MS: i64 = 60 * 60 * 1000;
        let plain = |name: &str| {
            self.explicit_with_source(name)
                .map(|(v, source)| (v.to_string(), source))
        };
        let scaled = |name: &str, factor: i64| {
            self.explicit_with_source(name).map(|(v, source)| {
                let n: i64 = v.parse().unwrap_or(-1);
                let value = if n < 0 {
                    "-1".to_string()
                } else {
                    (n.saturating_mul(factor)).to_string()
                };
                (value, source)
            })
        };
        match synonym {
            "log.retention.ms" => plain("log.retention.ms")
                .or_else(|| scaled("log.retention.minutes", 60_000))
                .or_else(|| scaled("log.retention.hours", HOUR_MS)),
            "log.roll.ms" => plain("log.roll.ms").or_else(|| scaled("log.roll.hours", HOUR_MS)),
            "log.flush.interval.ms" => {
                plain("log.flush.interval.ms").or_else(|| plain("log.flush.scheduler.interval.ms"))
            }
            other => plain(other),
        }
    }

    pub fn node_id(&self) -> i32 {
        let id = self
            .explicit("node.id")
            .or_else(|| self.explicit("broker.id"));
        id.and_then(|v| v.parse().ok()).unwrap_or(1)
    }

    /// The directory of the metadata quorum's log: `metadata.log.dir`, else
    /// the first log directory, as Kafka's.
    pub fn metadata_log_dir(&self) -> PathBuf {
        self.explicit("metadata.log.dir")
            .map(|d| PathBuf::from(d.trim()))
            .filter(|d| !d.as_os_str().is_empty())
            .unwrap_or_else(|| self.log_dirs().swap_remove(0))
    }

    /// `log.dirs` (Kafka's JBOD: each partition lives in one of them), or
    /// `log.dir` when it is not set.
    pub fn log_dirs(&self) -> Vec<PathBuf> {
        let dirs: Vec<PathBuf> = self
            .explicit("log.dirs")
            .map(|v| {
                v.split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(PathBuf::from)
                    .collect()
            })
            .unwrap_or_default();
        if dirs.is_empty() {
            vec![PathBuf::from(self.get("log.dir").unwrap_or_default())]
        } else {
            dirs
        }
    }

    /// The listeners clients connect to (controller listeners excluded).
    pub fn listeners(&self) -> Result<Vec<Listener>, LoadError> {
        self.parse_listeners(&self.get("listeners").unwrap_or_default())
    }

    /// What clients are told to connect to; defaults to `listeners`.
    pub fn advertised_listeners(&self) -> Result<Vec<Listener>, LoadError> {
        match self.explicit("advertised.listeners") {
            Some(v) => self.parse_listeners(v),
            None => self.listeners(),
        }
    }

    /// Every entry of a listener list, with whether it is a controller listener.
    fn parse_endpoints(&self, value: &str) -> Result<Vec<(Listener, bool)>, LoadError> {
        let protocol_map = self
            .get("listener.security.protocol.map")
            .unwrap_or_default();
        let controller_names = self.get("controller.listener.names").unwrap_or_default();
        let mut out = Vec::new();
        for item in value.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            let bad = || LoadError::Listener(item.to_string());
            let (name, rest) = item.split_once("://").ok_or_else(bad)?;
            let protocol: SecurityProtocol = protocol_map
                .split(',')
                .filter_map(|p| p.trim().split_once(':'))
                .find(|(n, _)| n.eq_ignore_ascii_case(name))
                .map(|(_, p)| p)
                .unwrap_or(name)
                .parse()
                .map_err(|_| bad())?;
            let controller = controller_names
                .split(',')
                .any(|c| c.trim().eq_ignore_ascii_case(name));
            let (host, port) = rest.rsplit_once(':').ok_or_else(bad)?;
            let host = host
                .trim_start_matches('[')
                .trim_end_matches(']')
                .to_string();
            let port: u16 = port.parse().map_err(|_| bad())?;
            if out
                .iter()
                .any(|(l, _): &(Listener, bool)| l.name.eq_ignore_ascii_case(name))
            {
                return Err(bad());
            }
            let listener = Listener {
                name: name.to_string(),
                host,
                port,
                protocol,
            };
            out.push((listener, controller));
        }
        Ok(out)
    }

    fn parse_listeners(&self, value: &str) -> Result<Vec<Listener>, LoadError> {
        let out: Vec<Listener> = self
            .parse_endpoints(value)?
            .into_iter()
            .filter(|(_, controller)| !controller)
            .map(|(l, _)| l)
            .collect();
        if out.is_empty() {
            return Err(LoadError::Listener(value.to_string()));
        }
        Ok(out)
    }

    /// The advertised listener other brokers connect to (replica fetchers,
    /// transaction markers): `inter.broker.listener.name`, else as Kafka
    /// the one named PLAINTEXT, else the first one.
    pub fn inter_broker_listener(&self) -> Result<Listener, LoadError> {
        let mut advertised = self.advertised_listeners()?;
        match self.explicit("inter.broker.listener.name") {
            Some(name) => advertised
                .into_iter()
                .find(|l| l.name.eq_ignore_ascii_case(name))
                .ok_or_else(|| LoadError::InterBrokerListener(name.to_string())),
            None => {
                let plaintext = advertised.iter().position(|l| l.name == "PLAINTEXT");
                Ok(advertised.swap_remove(plaintext.unwrap_or(0)))
            }
        }
    }

    /// The listener the metadata quorum's peers reach this node on (named
    /// in `controller.listener.names`), if there is one.
    pub fn controller_listener(&self) -> Result<Option<Listener>, LoadError> {
        Ok(self
            .parse_endpoints(&self.get("listeners").unwrap_or_default())?
            .into_iter()
            .find(|(_, controller)| *controller)
            .map(|(l, _)| l))
    }

    /// Whether this node votes in the metadata quorum
    /// (`process.roles=broker,controller`) or only follows it
    /// (`process.roles=broker`). Every node is a broker.
    pub fn is_controller(&self) -> Result<bool, LoadError> {
        let value = self.get("process.roles").unwrap_or_default();
        let mut roles: Vec<&str> = value
            .split(',')
            .map(str::trim)
            .filter(|r| !r.is_empty())
            .collect();
        roles.sort_unstable();
        roles.dedup();
        match roles.as_slice() {
            ["broker", "controller"] => Ok(true),
            ["broker"] => Ok(false),
            _ => Err(LoadError::Roles(format!(
                "'{value}' is not supported: use broker,controller or broker"
            ))),
        }
    }

    /// `controller.quorum.voters` as (node id, host:port); `None` when
    /// unset, which makes this node a quorum of one. A controller must be
    /// one of the voters and a broker-only node must not; with peers a node
    /// needs a controller listener (a broker-only node too: the quorum's
    /// leader sends it the metadata log there).
    pub fn controller_quorum_voters(&self) -> Result<Option<Vec<(i32, String)>>, LoadError> {
        let controller = self.is_controller()?;
        let Some(value) = self.explicit("controller.quorum.voters") else {
            if !controller {
                return Err(LoadError::Voters(
                    "process.roles=broker needs controller.quorum.voters to find the quorum".into(),
                ));
            }
            return Ok(None);
        };
        let mut voters = Vec::new();
        for item in value.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            let bad = || LoadError::Voters(format!("'{item}' is not id@host:port"));
            let (id, addr) = item.split_once('@').ok_or_else(bad)?;
            let id: i32 = id.parse().map_err(|_| bad())?;
            let (_, port) = addr.rsplit_once(':').ok_or_else(bad)?;
            port.parse::<u16>().map_err(|_| bad())?;
            voters.push((id, addr.to_string()));
        }
        let me = self.node_id();
        let voter = voters.iter().any(|(id, _)| *id == me);
        if controller && !voter {
            return Err(LoadError::Voters(format!(
                "node.id {me} runs a controller but is not in controller.quorum.voters"
            )));
        }
        if !controller && voter {
            return Err(LoadError::Voters(format!(
                "node.id {me} is a voter in controller.quorum.voters but process.roles=broker"
            )));
        }
        if (voters.len() > 1 || !controller) && self.controller_listener()?.is_none() {
            return Err(LoadError::Voters(
                "a quorum with peers needs a listener named in controller.listener.names".into(),
            ));
        }
        Ok(Some(voters))
    }

    pub fn num_recovery_threads_per_data_dir(&self) -> usize {
        self.long("num.recovery.threads.per.data.dir").clamp(1, 64) as usize
    }

    pub fn num_partitions(&self) -> i32 {
        self.long("num.partitions") as i32
    }

    pub fn default_replication_factor(&self) -> i16 {
        self.long("default.replication.factor")
            .clamp(1, i16::MAX as i64) as i16
    }

    pub fn auto_create_topics_enable(&self) -> bool {
        self.bool("auto.create.topics.enable")
    }

    /// The authorizer's settings: `authorizer.class.name` (validated to
    /// name Kafka's standard authorizer or nothing), `super.users`,
    /// `allow.everyone.if.no.acl.found`.
    pub fn authorizer_settings(&self) -> crate::security::authorizer::AuthorizerSettings {
        crate::security::authorizer::AuthorizerSettings {
            enabled: !self
                .get("authorizer.class.name")
                .unwrap_or_default()
                .is_empty(),
            super_users: crate::security::authorizer::AuthorizerSettings::parse_super_users(
                &self.get("super.users").unwrap_or_default(),
            ),
            allow_everyone_if_no_acl_found: self.bool("allow.everyone.if.no.acl.found"),
        }
    }

    pub fn delete_topic_enable(&self) -> bool {
        self.bool("delete.topic.enable")
    }

    pub fn socket_request_max_bytes(&self) -> usize {
        self.long("socket.request.max.bytes").max(1) as usize
    }

    pub fn telemetry_max_bytes(&self) -> usize {
        self.long("telemetry.max.bytes").max(1) as usize
    }

    /// `max.connection.creation.rate` for `listener` (its override, else
    /// the broker's), or the broker-wide value without one.
    pub fn max_connection_creation_rate(&self, listener: Option<&str>) -> i64 {
        let name = "max.connection.creation.rate";
        listener
            .and_then(|l| self.listener_value(l, name))
            .and_then(|v| v.trim().parse::<i64>().ok())
            .unwrap_or_else(|| self.long(name))
            .max(0)
    }

    pub fn max_connections(&self) -> usize {
        self.long("max.connections").max(0) as usize
    }

    pub fn max_connections_per_ip(&self) -> usize {
        self.long("max.connections.per.ip").max(0) as usize
    }

    /// `max.connections.per.ip.overrides` as (host or IP, limit), in the
    /// order given. Kafka splits each entry at its last colon, so IPv6
    /// addresses need no brackets.
    pub fn max_connections_per_ip_overrides(&self) -> Result<Vec<(String, usize)>, ConfigError> {
        let name = "max.connections.per.ip.overrides";
        let value = self.get(name).unwrap_or_default();
        let mut out = Vec::new();
        for item in value.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            let invalid = || ConfigError::Invalid {
                name: name.to_string(),
                value: value.clone(),
                reason: format!("'{item}' is not host:count with a count of zero or more"),
            };
            let (host, count) = item.rsplit_once(':').ok_or_else(invalid)?;
            let host = host.trim();
            let count: i32 = count.trim().parse().map_err(|_| invalid())?;
            if host.is_empty() || count < 0 {
                return Err(invalid());
            }
            out.push((host.to_string(), count as usize));
        }
        Ok(out)
    }

    /// `connections.max.idle.ms`; `None` (a negative value) keeps idle
    /// connections open.
    pub fn connections_max_idle(&self) -> Option<std::time::Duration> {
        u64::try_from(self.long("connections.max.idle.ms"))
            .ok()
            .map(std::time::Duration::from_millis)
    }

    /// `queued.max.request.bytes`; `None` (zero or negative) for no limit.
    pub fn queued_max_request_bytes(&self) -> Option<usize> {
        usize::try_from(self.long("queued.max.request.bytes"))
            .ok()
            .filter(|&n| n > 0)
    }

    pub fn log_cleaner_backoff_ms(&self) -> u64 {
        self.long("log.cleaner.backoff.ms").max(1) as u64
    }

    pub fn log_flush_offset_checkpoint_interval_ms(&self) -> u64 {
        self.long("log.flush.offset.checkpoint.interval.ms").max(1) as u64
    }

    pub fn replica_high_watermark_checkpoint_interval_ms(&self) -> u64 {
        self.long("replica.high.watermark.checkpoint.interval.ms")
            .max(1) as u64
    }

    pub fn log_retention_check_interval_ms(&self) -> u64 {
        self.long("log.retention.check.interval.ms").max(1) as u64
    }

    pub fn group_initial_rebalance_delay_ms(&self) -> u64 {
        self.long("group.initial.rebalance.delay.ms").max(0) as u64
    }

    pub fn max_incremental_fetch_session_cache_slots(&self) -> usize {
        self.long("max.incremental.fetch.session.cache.slots")
            .max(0) as usize
    }

    pub fn fetch_max_bytes(&self) -> usize {
        self.long("fetch.max.bytes").max(1024) as usize
    }

    pub fn group_consumer_heartbeat_interval_ms(&self) -> i32 {
        self.long("group.consumer.heartbeat.interval.ms") as i32
    }

    pub fn group_consumer_session_timeout_ms(&self) -> i32 {
        self.long("group.consumer.session.timeout.ms") as i32
    }

    pub fn group_share_enable(&self) -> bool {
        self.bool("group.share.enable")
    }

    pub fn group_share_heartbeat_interval_ms(&self) -> i32 {
        self.long("group.share.heartbeat.interval.ms") as i32
    }

    pub fn group_share_session_timeout_ms(&self) -> i32 {
        self.long("group.share.session.timeout.ms") as i32
    }

    pub fn group_share_record_lock_duration_ms(&self) -> i32 {
        self.long("group.share.record.lock.duration.ms") as i32
    }

    pub fn group_share_delivery_count_limit(&self) -> i16 {
        self.long("group.share.delivery.count.limit")
            .clamp(1, i64::from(i16::MAX)) as i16
    }

    pub fn group_share_partition_max_record_locks(&self) -> usize {
        self.long("group.share.partition.max.record.locks").max(1) as usize
    }

    pub fn group_share_max_share_sessions(&self) -> usize {
        self.long("group.share.max.share.sessions").max(0) as usize
    }

    pub fn group_share_max_size(&self) -> usize {
        self.long("group.share.max.size").max(1) as usize
    }

    pub fn group_min_session_timeout_ms(&self) -> i32 {
        self.long("group.min.session.timeout.ms") as i32
    }

    pub fn group_max_session_timeout_ms(&self) -> i32 {
        self.long("group.max.session.timeout.ms") as i32
    }

    /// `quota.window.num` samples of `quota.window.size.seconds` each.
    pub fn quota_window(&self) -> crate::quota::QuotaWindow {
        crate::quota::QuotaWindow {
            samples: self.long("quota.window.num").max(1) as usize,
            window_ms: self.long("quota.window.size.seconds").max(1) as u64 * 1000,
        }
    }

    /// `replication.quota.window.num` samples of
    /// `replication.quota.window.size.seconds` each.
    pub fn replication_quota_window(&self) -> crate::quota::QuotaWindow {
        crate::quota::QuotaWindow {
            samples: self.long("replication.quota.window.num").max(1) as usize,
            window_ms: self.long("replication.quota.window.size.seconds").max(1) as u64 * 1000,
        }
    }

    pub fn producer_id_expiration_ms(&self) -> i64 {
        self.long("producer.id.expiration.ms")
    }

    pub fn log_writeback_bytes(&self) -> u64 {
        self.long("gregor.log.writeback.bytes").max(0) as u64
    }

    pub fn offsets_retention_ms(&self) -> i64 {
        self.long("offsets.retention.minutes")
            .saturating_mul(60_000)
    }

    pub fn offsets_retention_check_interval_ms(&self) -> u64 {
        self.long("offsets.retention.check.interval.ms").max(1) as u64
    }

    pub fn max_request_partition_size_limit(&self) -> i32 {
        self.long("max.request.partition.size.limit") as i32
    }

    pub fn share_coordinator_snapshot_update_records_per_snapshot(&self) -> u32 {
        self.long("share.coordinator.snapshot.update.records.per.snapshot")
            .clamp(0, i64::from(u32::MAX)) as u32
    }

    pub fn share_coordinator_state_topic_num_partitions(&self) -> i32 {
        self.long("share.coordinator.state.topic.num.partitions") as i32
    }

    pub fn share_coordinator_state_topic_replication_factor(&self) -> i64 {
        self.long("share.coordinator.state.topic.replication.factor")
    }

    pub fn share_coordinator_state_topic_segment_bytes(&self) -> i64 {
        self.long("share.coordinator.state.topic.segment.bytes")
    }

    pub fn offsets_topic_num_partitions(&self) -> i32 {
        self.long("offsets.topic.num.partitions") as i32
    }

    pub fn offsets_topic_replication_factor(&self) -> i64 {
        self.long("offsets.topic.replication.factor")
    }

    pub fn offsets_topic_segment_bytes(&self) -> i64 {
        self.long("offsets.topic.segment.bytes")
    }

    pub fn transaction_abort_timed_out_transaction_cleanup_interval_ms(&self) -> u64 {
        self.long("transaction.abort.timed.out.transaction.cleanup.interval.ms")
            .max(1) as u64
    }

    pub fn transaction_max_timeout_ms(&self) -> i32 {
        self.long("transaction.max.timeout.ms") as i32
    }

    pub fn transaction_state_log_num_partitions(&self) -> i32 {
        self.long("transaction.state.log.num.partitions") as i32
    }

    pub fn transaction_state_log_replication_factor(&self) -> i64 {
        self.long("transaction.state.log.replication.factor")
    }

    pub fn transaction_state_log_segment_bytes(&self) -> i64 {
        self.long("transaction.state.log.segment.bytes")
    }

    pub fn transactional_id_expiration_ms(&self) -> i64 {
        self.long("transactional.id.expiration.ms")
    }

    pub fn unclean_leader_election_enable(&self) -> bool {
        self.bool("unclean.leader.election.enable")
    }

    pub fn broker_heartbeat_interval_ms(&self) -> u64 {
        self.long("broker.heartbeat.interval.ms").max(1) as u64
    }

    pub fn auto_leader_rebalance_enable(&self) -> bool {
        self.bool("auto.leader.rebalance.enable")
    }

    pub fn leader_imbalance_check_interval(&self) -> std::time::Duration {
        std::time::Duration::from_secs(
            self.long("leader.imbalance.check.interval.seconds").max(1) as u64
        )
    }

    pub fn leader_imbalance_per_broker_percentage(&self) -> i64 {
        self.long("leader.imbalance.per.broker.percentage")
    }

    pub fn broker_session_timeout_ms(&self) -> u64 {
        self.long("broker.session.timeout.ms").max(1) as u64
    }

    pub fn replica_fetch_max_bytes(&self) -> i32 {
        self.long("replica.fetch.max.bytes") as i32
    }

    pub fn num_replica_fetchers(&self) -> usize {
        self.long("num.replica.fetchers").clamp(1, 64) as usize
    }

    pub fn replica_fetch_wait_max_ms(&self) -> i32 {
        self.long("replica.fetch.wait.max.ms") as i32
    }

    pub fn replica_lag_time_max_ms(&self) -> i64 {
        self.long("replica.lag.time.max.ms")
    }

    pub fn rack(&self) -> Option<String> {
        self.explicit("broker.rack").map(str::to_string)
    }

    /// Every property with its effective value (none for a secret) and
    /// where it came from, for DescribeConfigs on the broker: the
    /// table's, then any other key set (listener overrides, dynamic keys
    /// Gregor does not use).
    pub fn describe(&self) -> impl Iterator<Item = (&str, Option<String>, ConfigSource)> + '_ {
        let table = BROKER_CONFIGS.iter().map(|d| {
            let (value, source) = match self.explicit_with_source(d.name) {
                Some((v, source)) => (Some(v.to_string()), source),
                None => (d.default.map(str::to_string), ConfigSource::Default),
            };
            (d.name, value, source)
        });
        let mut others: BTreeMap<&str, (&str, ConfigSource)> = BTreeMap::new();
        for (layer, source) in [
            (&self.set, ConfigSource::StaticBroker),
            (&self.dynamic_default, ConfigSource::DynamicDefaultBroker),
            (&self.dynamic_broker, ConfigSource::DynamicBroker),
        ] {
            for (k, v) in layer {
                if broker_config_def(k).is_none() {
                    others.insert(k, (v, source));
                }
            }
        }
        table
            .chain(
                others
                    .into_iter()
                    .map(|(k, (v, source))| (k, Some(v.to_string()), source)),
            )
            .map(|(k, v, source)| (k, v.filter(|_| !is_secret(k)), source))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::TopicConfig;

    fn kv(k: &str, v: &str) -> (String, String) {
        (k.to_string(), v.to_string())
    }

    #[test]
    fn defaults_match_kafka() {
        let b = BrokerConfig::load(None, &[]).unwrap();
        assert_eq!(b.node_id(), 1);
        assert_eq!(b.listeners().unwrap()[0].port, 9092);
        assert_eq!(b.socket_request_max_bytes(), 104_857_600);
        assert_eq!(
            b.connections_max_idle(),
            Some(std::time::Duration::from_secs(600))
        );
        assert_eq!(b.max_connections_per_ip(), i32::MAX as usize);
        assert_eq!(b.queued_max_request_bytes(), None);
        let log = TopicConfig::default().log_config(&b);
        assert_eq!(log.retention_ms, 168 * 3_600_000);
        assert_eq!(log.max_message_bytes, 1_048_588);
    }

    #[test]
    fn log_writeback_bytes_reaches_every_log_and_rejects_negatives() {
        let default = BrokerConfig::load(None, &[]).unwrap();
        assert_eq!(
            TopicConfig::default().log_config(&default).writeback_bytes,
            1024 * 1024
        );
        let off = BrokerConfig::load(None, &[kv("gregor.log.writeback.bytes", "0")]).unwrap();
        assert_eq!(TopicConfig::default().log_config(&off).writeback_bytes, 0);
        assert!(BrokerConfig::load(None, &[kv("gregor.log.writeback.bytes", "-1")]).is_err());
    }

    #[test]
    fn retention_precedence_ms_over_minutes_over_hours() {
        let b = BrokerConfig::load(
            None,
            &[
                kv("log.retention.hours", "1"),
                kv("log.retention.minutes", "2"),
            ],
        )
        .unwrap();
        assert_eq!(TopicConfig::default().log_config(&b).retention_ms, 120_000);
        let b = BrokerConfig::load(
            None,
            &[
                kv("log.retention.minutes", "2"),
                kv("log.retention.ms", "5"),
            ],
        )
        .unwrap();
        assert_eq!(TopicConfig::default().log_config(&b).retention_ms, 5);
        let t = TopicConfig::from_overrides([("retention.ms", "7")]).unwrap();
        assert_eq!(t.log_config(&b).retention_ms, 7);
    }

    #[test]
    fn every_typed_getter_reads_a_defined_property() {
        let b = BrokerConfig::default();
        b.num_partitions();
        b.default_replication_factor();
        b.socket_request_max_bytes();
        b.max_connections();
        b.max_connections_per_ip();
        b.max_connections_per_ip_overrides().unwrap();
        b.connections_max_idle();
        b.queued_max_request_bytes();
        b.log_retention_check_interval_ms();
        b.log_cleaner_backoff_ms();
        b.log_flush_offset_checkpoint_interval_ms();
        b.replica_high_watermark_checkpoint_interval_ms();
        b.group_initial_rebalance_delay_ms();
        b.group_min_session_timeout_ms();
        b.group_max_session_timeout_ms();
        b.group_consumer_heartbeat_interval_ms();
        b.fetch_max_bytes();
        b.group_consumer_session_timeout_ms();
        b.group_share_enable();
        b.group_share_heartbeat_interval_ms();
        b.group_share_session_timeout_ms();
        b.group_share_record_lock_duration_ms();
        b.group_share_delivery_count_limit();
        b.group_share_partition_max_record_locks();
        b.group_share_max_share_sessions();
        b.group_share_max_size();
        b.share_coordinator_snapshot_update_records_per_snapshot();
        b.share_coordinator_state_topic_num_partitions();
        b.share_coordinator_state_topic_replication_factor();
        b.share_coordinator_state_topic_segment_bytes();
        b.offsets_topic_num_partitions();
        b.offsets_retention_ms();
        b.offsets_retention_check_interval_ms();
        b.offsets_topic_replication_factor();
        b.offsets_topic_segment_bytes();
        b.transaction_abort_timed_out_transaction_cleanup_interval_ms();
        b.transaction_max_timeout_ms();
        b.transaction_state_log_num_partitions();
        b.transaction_state_log_replication_factor();
        b.transaction_state_log_segment_bytes();
        b.transactional_id_expiration_ms();
        b.replica_fetch_max_bytes();
        b.replica_fetch_wait_max_ms();
        b.replica_lag_time_max_ms();
        b.broker_heartbeat_interval_ms();
        b.broker_session_timeout_ms();
        b.leader_imbalance_check_interval();
        b.leader_imbalance_per_broker_percentage();
        assert!(b.auto_leader_rebalance_enable());
        assert!(!b.unclean_leader_election_enable());
        assert!(b.auto_create_topics_enable() && b.delete_topic_enable());
    }

    #[test]
    fn the_authorizer_is_off_by_default_and_only_kafkas_names_turn_it_on() {
        let off = BrokerConfig::default().authorizer_settings();
        assert!(!off.enabled && !off.allow_everyone_if_no_acl_found);
        assert!(off.super_users.is_empty());
        let on = BrokerConfig::load(
            None,
            &[
                kv(
                    "authorizer.class.name",
                    "org.apache.kafka.metadata.authorizer.StandardAuthorizer",
                ),
                kv("super.users", "User:admin;User:broker"),
                kv("allow.everyone.if.no.acl.found", "true"),
            ],
        )
        .unwrap()
        .authorizer_settings();
        assert!(on.enabled && on.allow_everyone_if_no_acl_found);
        assert!(on.super_users.contains("User:broker") && on.super_users.len() == 2);
        let mut b = BrokerConfig::default();
        assert!(b
            .set(
                "authorizer.class.name",
                "kafka.security.authorizer.AclAuthorizer"
            )
            .is_ok());
        assert!(b
            .set("authorizer.class.name", "com.acme.Authorizer")
            .is_err());
    }

    #[test]
    fn listener_overrides_apply_to_their_listener_only() {
        let b = BrokerConfig::load(
            None,
            &[
                kv("connections.max.idle.ms", "1000"),
                kv("listener.name.internal.connections.max.idle.ms", "2000"),
            ],
        )
        .unwrap();
        assert_eq!(
            b.listener_value("INTERNAL", "connections.max.idle.ms")
                .as_deref(),
            Some("2000")
        );
        assert_eq!(
            b.listener_value("EXTERNAL", "connections.max.idle.ms")
                .as_deref(),
            Some("1000")
        );
        for bad in [
            kv("listener.name.internal.no.such.key", "1"),
            kv("listener.name.internal.connections.max.idle.ms", "soon"),
            kv("listener.name..connections.max.idle.ms", "1"),
        ] {
            assert!(BrokerConfig::load(None, &[bad]).is_err());
        }
    }

    #[test]
    fn quorum_voters_and_the_controller_listener_are_read_as_kafka_writes_them() {
        let single = BrokerConfig::load(None, &[]).unwrap();
        assert_eq!(single.controller_quorum_voters().unwrap(), None);
        assert_eq!(single.controller_listener().unwrap(), None);
        let node = |id: &str, voters: &str| {
            BrokerConfig::load(
                None,
                &[
                    kv("node.id", id),
                    kv("controller.quorum.voters", voters),
                    kv("controller.listener.names", "CONTROLLER"),
                    kv(
                        "listeners",
                        "PLAINTEXT://127.0.0.1:9092,CONTROLLER://127.0.0.1:9093",
                    ),
                ],
            )
        };
        let b = node("2", "1@a:9093,2@b:9093,3@c:9093").unwrap();
        assert_eq!(
            b.controller_quorum_voters().unwrap().unwrap(),
            vec![
                (1, "a:9093".into()),
                (2, "b:9093".into()),
                (3, "c:9093".into())
            ]
        );
        assert_eq!(b.controller_listener().unwrap().unwrap().port, 9093);
        assert_eq!(
            b.listeners().unwrap().len(),
            1,
            "clients do not see CONTROLLER"
        );
        for (id, voters) in [("4", "1@a:9093,2@b:9093"), ("1", "1@a"), ("1", "x@a:1")] {
            assert!(
                matches!(node(id, voters), Err(LoadError::Voters(_))),
                "node {id} with voters {voters} is refused"
            );
        }
    }

    #[test]
    fn a_broker_only_node_follows_the_quorum_without_voting() {
        let node = |roles: &str, id: &str, voters: Option<&str>| {
            let mut overrides = vec![
                kv("process.roles", roles),
                kv("node.id", id),
                kv("controller.listener.names", "CONTROLLER"),
                kv(
                    "listeners",
                    "PLAINTEXT://127.0.0.1:9092,CONTROLLER://127.0.0.1:9093",
                ),
            ];
            if let Some(v) = voters {
                overrides.push(kv("controller.quorum.voters", v));
            }
            BrokerConfig::load(None, &overrides)
        };
        let observer = node("broker", "4", Some("1@a:9093,2@b:9093")).unwrap();
        assert!(!observer.is_controller().unwrap());
        assert!(node("controller,broker", "1", Some("1@a:9093"))
            .unwrap()
            .is_controller()
            .unwrap());
        for (roles, id, voters) in [
            ("broker", "1", Some("1@a:9093,2@b:9093")),
            ("broker", "4", None),
            ("controller", "1", Some("1@a:9093")),
            ("broker,bogus", "1", Some("1@a:9093")),
        ] {
            assert!(
                matches!(
                    node(roles, id, voters),
                    Err(LoadError::Voters(_) | LoadError::Roles(_))
                ),
                "process.roles={roles} node {id} with voters {voters:?} is refused"
            );
        }
    }

    #[test]
    fn zookeeper_keys_are_ignored_and_unknown_keys_get_a_suggestion() {
        let cfg = BrokerConfig::load(
            None,
            &[
                kv("zookeeper.connect", "zk:2181"),
                kv("broker.id.generation.enable", "true"),
            ],
        )
        .unwrap();
        assert_eq!(cfg.explicit("zookeeper.connect"), None);
        let err = BrokerConfig::load(None, &[kv("num.partiton", "3")]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "unknown config 'num.partiton' (did you mean 'num.partitions'?)"
        );
        let err = BrokerConfig::load(None, &[kv("frobnicate", "3")]).unwrap_err();
        assert_eq!(err.to_string(), "unknown config 'frobnicate'");
    }

    #[test]
    fn several_log_dirs_are_taken_in_order_and_a_duplicate_is_refused() {
        let one = BrokerConfig::load(None, &[kv("log.dirs", "/a, ,")]).unwrap();
        assert_eq!(one.log_dirs(), [PathBuf::from("/a")]);
        let two = BrokerConfig::load(None, &[kv("log.dirs", "/b, /a")]).unwrap();
        assert_eq!(two.log_dirs(), [PathBuf::from("/b"), PathBuf::from("/a")]);
        let err = BrokerConfig::load(None, &[kv("log.dirs", "/a,/b,/a")]).unwrap_err();
        assert!(
            err.to_string()
                .contains("duplicate log directory found: /a"),
            "{err}"
        );
    }

    #[test]
    fn share_group_settings_are_checked_against_their_bounds() {
        let b = BrokerConfig::load(
            None,
            &[
                kv("group.share.min.record.lock.duration.ms", "1000"),
                kv("group.share.record.lock.duration.ms", "2000"),
                kv("group.share.delivery.count.limit", "3"),
            ],
        )
        .unwrap();
        assert_eq!(b.group_share_record_lock_duration_ms(), 2000);
        assert_eq!(b.group_share_delivery_count_limit(), 3);
        for bad in [
            vec![kv("group.share.record.lock.duration.ms", "2000")],
            vec![kv("group.share.record.lock.duration.ms", "90000")],
            vec![kv("group.share.session.timeout.ms", "1000")],
            vec![kv("group.share.delivery.count.limit", "1")],
            vec![kv("group.share.delivery.count.limit", "11")],
            vec![kv("group.share.partition.max.record.locks", "10001")],
        ] {
            assert!(
                matches!(
                    BrokerConfig::load(None, &bad),
                    Err(LoadError::Config(ConfigError::Invalid { .. }))
                ),
                "{bad:?} is refused"
            );
        }
    }

    #[test]
    fn connection_limits_are_read_and_checked_as_kafka_does() {
        let b = BrokerConfig::load(
            None,
            &[
                kv("max.connections.per.ip", "0"),
                kv(
                    "max.connections.per.ip.overrides",
                    "hostName:100, 127.0.0.1:200,::1:3",
                ),
                kv("queued.max.request.bytes", "104857600"),
                kv("connections.max.idle.ms", "-1"),
            ],
        )
        .unwrap();
        assert_eq!(
            b.max_connections_per_ip_overrides().unwrap(),
            vec![
                ("hostName".to_string(), 100),
                ("127.0.0.1".to_string(), 200),
                ("::1".to_string(), 3)
            ]
        );
        assert_eq!(b.queued_max_request_bytes(), Some(104_857_600));
        assert_eq!(b.connections_max_idle(), None);
        for bad in [
            vec![kv("max.connections.per.ip", "0")],
            vec![kv("max.connections.per.ip.overrides", "127.0.0.1")],
            vec![kv("max.connections.per.ip.overrides", "127.0.0.1:many")],
            vec![kv("max.connections.per.ip.overrides", ":5")],
            vec![kv("queued.max.request.bytes", "1024")],
        ] {
            assert!(
                matches!(
                    BrokerConfig::load(None, &bad),
                    Err(LoadError::Config(ConfigError::Invalid { .. }))
                ),
                "{bad:?} is refused"
            );
        }
    }

    #[test]
    fn sasl_keys_are_scoped_as_kafka_scopes_them_and_secrets_are_not_described() {
        let jaas =
            "org.apache.kafka.common.security.plain.PlainLoginModule required user_a=\"s3cret\";";
        let cfg = BrokerConfig::load(
            None,
            &[
                kv("listener.name.sasl_plaintext.plain.sasl.jaas.config", jaas),
                kv(
                    "listener.name.sasl_plaintext.scram-sha-256.sasl.jaas.config",
                    jaas,
                ),
                kv("sasl.jaas.config", jaas),
                kv("listeners", "SASL_PLAINTEXT://:9092"),
            ],
        )
        .unwrap();
        assert_eq!(
            cfg.listeners().unwrap()[0].protocol,
            SecurityProtocol::SaslPlaintext
        );
        assert!(cfg
            .describe()
            .all(|(_, value, _)| !value.unwrap_or_default().contains("s3cret")));
        for bad in [
            "plain.sasl.jaas.config",
            "listener.name.x.md5.sasl.jaas.config",
            "listener.name.x.plain.sasl.enabled.mechanisms",
        ] {
            assert!(BrokerConfig::load(None, &[kv(bad, jaas)]).is_err(), "{bad}");
        }
    }

    #[test]
    fn bad_keys_and_values_are_refused() {
        assert!(matches!(
            BrokerConfig::load(None, &[kv("no.such.key", "1")]),
            Err(LoadError::Unknown { .. })
        ));
        assert!(BrokerConfig::load(None, &[kv("num.partitions", "zero")]).is_err());
        assert!(BrokerConfig::load(None, &[kv("num.partitions", "0")]).is_err());
        assert!(BrokerConfig::load(None, &[kv("listeners", "TLS://:9093")]).is_err());
        assert!(TopicConfig::from_overrides([("cleanup.policy", "shred")]).is_err());
        assert!(TopicConfig::from_overrides([("message.timestamp.type", "LogAppendTime")]).is_ok());
    }
}
