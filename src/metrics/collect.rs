//! What a scrape reads: the hot-path counters kept in this module, and
//! gauges computed from the broker's own state at scrape time (partitions,
//! the metadata image and quorum, the group coordinator, /proc), so the
//! request paths keep nothing for them.

use std::collections::{BTreeMap, HashSet};
use std::fmt;
use std::sync::atomic::Ordering;

use prometheus_client::encoding::{DescriptorEncoder, MetricEncoder, NoLabelSet};
use prometheus_client::metrics::MetricType;

use super::{
    log_flush, network, requests, topics, Exporter, CLASSIC_REBALANCES, CONSUMER_REBALANCES,
};
use crate::api::BrokerContext;
use crate::partition::now_ms;

type Labels<'a> = Vec<(&'static str, &'a str)>;

/// One series' value.
#[derive(Clone, Copy)]
enum Value {
    Counter(u64),
    Seconds(f64),
    Gauge(i64),
    Float(f64),
}

/// Writes one family: its descriptor, then one sample per row.
fn family<'a>(
    enc: &mut DescriptorEncoder,
    name: &str,
    help: &str,
    rows: impl IntoIterator<Item = (Labels<'a>, Value)>,
) -> fmt::Result {
    let mut rows = rows.into_iter().peekable();
    let Some((_, first)) = rows.peek() else {
        return Ok(());
    };
    let kind = match first {
        Value::Counter(_) | Value::Seconds(_) => MetricType::Counter,
        Value::Gauge(_) | Value::Float(_) => MetricType::Gauge,
    };
    let mut metric = enc.encode_descriptor(name, help, None, kind)?;
    for (labels, value) in rows {
        if labels.is_empty() {
            sample(&mut metric, value)?;
        } else {
            sample(&mut metric.encode_family(&labels)?, value)?;
        }
    }
    Ok(())
}

fn sample(metric: &mut MetricEncoder, value: Value) -> fmt::Result {
    match value {
        Value::Counter(v) => metric.encode_counter::<NoLabelSet, _, u64>(&v, None),
        Value::Seconds(v) => metric.encode_counter::<NoLabelSet, _, f64>(&v, None),
        Value::Gauge(v) => metric.encode_gauge(&v),
        Value::Float(v) => metric.encode_gauge(&v),
    }
}

fn gauge(enc: &mut DescriptorEncoder, name: &str, help: &str, v: i64) -> fmt::Result {
    family(enc, name, help, [(Labels::new(), Value::Gauge(v))])
}

impl prometheus_client::collector::Collector for Exporter {
    fn encode(&self, mut enc: DescriptorEncoder) -> fmt::Result {
        process(&mut enc)?;
        requests_and_network(&mut enc)?;
        super::isr::encode(&mut enc)?;
        let Some(ctx) = self.context() else {
            return Ok(());
        };
        broker_topics(&mut enc, &ctx)?;
        replicas_and_logs(&mut enc, &ctx)?;
        fetch_sessions(&mut enc, &ctx)?;
        controller(&mut enc, &ctx)?;
        groups(&mut enc, &ctx)?;
        super::quotas::encode(&mut enc, &ctx)?;
        super::quotas::encode_replication(&mut enc, &ctx)?;
        super::clients::encode(&mut enc, &ctx)
    }
}

impl fmt::Debug for Exporter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Exporter")
    }
}

fn broker_topics(enc: &mut DescriptorEncoder, ctx: &BrokerContext) -> fmt::Result {
    // Counters of deleted topics are kept (a topic created again counts
    // on) but not shown.
    let image = ctx.image();
    let (per_topic, total) = topics::snapshot();
    let per_topic: Vec<_> = per_topic
        .into_iter()
        .filter(|(name, _)| image.topics.contains_key(name))
        .collect();
    for (i, (name, help)) in topics::FIELDS.iter().enumerate() {
        let rows = std::iter::once((Labels::new(), Value::Counter(total[i]))).chain(
            per_topic
                .iter()
                .map(|(topic, v)| (vec![("topic", topic.as_str())], Value::Counter(v[i]))),
        );
        family(enc, name, help, rows)?;
    }
    Ok(())
}

/// One histogram per API, APIs never requested left out.
fn encode_per_api(
    enc: &mut DescriptorEncoder,
    name: &str,
    help: &str,
    apis: &[(String, &'static requests::ApiStats)],
    histogram: impl Fn(&requests::ApiStats) -> (f64, u64, Vec<(f64, u64)>),
) -> fmt::Result {
    let mut metric = enc.encode_descriptor(name, help, None, MetricType::Histogram)?;
    for (api, stats) in apis {
        let (sum, count, buckets) = histogram(stats);
        if count == 0 {
            continue;
        }
        metric
            .encode_family(&[("request", api.as_str())])?
            .encode_histogram::<NoLabelSet>(sum, count, &buckets, None)?;
    }
    Ok(())
}

fn requests_and_network(enc: &mut DescriptorEncoder) -> fmt::Result {
    let apis = requests::all();
    family(
        enc,
        "kafka_network_requestmetrics_requests",
        "Requests handled, per API (RequestsPerSec).",
        apis.iter().map(|(name, s)| {
            (
                vec![("request", name.as_str())],
                Value::Counter(s.requests.load(Ordering::Relaxed)),
            )
        }),
    )?;
    let errors: Vec<(String, String, u64)> = apis
        .iter()
        .flat_map(|(name, s)| {
            s.errors()
                .map(move |(code, n)| (name.clone(), error_name(code), n))
        })
        .collect();
    family(
        enc,
        "kafka_network_requestmetrics_errors",
        "Error codes in responses, per API and error, NONE included (ErrorsPerSec).",
        errors.iter().map(|(api, error, n)| {
            (
                vec![("request", api.as_str()), ("error", error.as_str())],
                Value::Counter(*n),
            )
        }),
    )?;
    for phase in requests::Phase::ALL {
        let kafka = phase.kafka_name();
        encode_per_api(
            enc,
            &format!(
                "kafka_network_requestmetrics_{}",
                kafka.to_ascii_lowercase()
            ),
            &format!("{} ({kafka}).", phase.help()),
            &apis,
            |s| s.histogram(phase),
        )?;
    }
    encode_per_api(
        enc,
        "kafka_network_requestmetrics_requestbytes",
        "Size of each request in bytes, header included, per API (RequestBytes).",
        &apis,
        |s| s.request_bytes(),
    )?;
    let (sum, count, buckets) = log_flush::snapshot();
    enc.encode_descriptor(
        "kafka_log_logflushstats_logflushrateandtimems",
        "Milliseconds each fsync of a partition's log took; the count is the fsyncs (LogFlushRateAndTimeMs).",
        None,
        MetricType::Histogram,
    )?
    .encode_histogram::<NoLabelSet>(sum, count, &buckets, None)?;
    let listeners = network::snapshot();
    let rows = |f: fn(&network::ListenerSnapshot) -> Value| {
        listeners
            .iter()
            .map(move |l| (vec![("listener", l.listener.as_str())], f(l)))
            .collect::<Vec<_>>()
    };
    family(
        enc,
        "kafka_server_socket_server_metrics_connection_count",
        "Open client connections, per listener.",
        rows(|l| Value::Gauge(l.created.saturating_sub(l.closed) as i64)),
    )?;
    family(
        enc,
        "kafka_server_socket_server_metrics_connection_creation",
        "Client connections accepted, per listener.",
        rows(|l| Value::Counter(l.created)),
    )?;
    family(
        enc,
        "kafka_server_socket_server_metrics_connection_close",
        "Client connections closed, per listener.",
        rows(|l| Value::Counter(l.closed)),
    )?;
    family(
        enc,
        "kafka_server_socket_server_metrics_connection_accept_throttled",
        "Connections the listener waited to serve for max.connection.creation.rate, per listener.",
        rows(|l| Value::Counter(l.accept_throttled)),
    )?;
    family(
        enc,
        "kafka_server_socket_server_metrics_ip_connection_accept_throttled",
        "Connections closed unread for their address's connection_creation_rate quota, per listener.",
        rows(|l| Value::Counter(l.ip_throttled)),
    )
}

/// Kafka's name for an error code (`NOT_LEADER_OR_FOLLOWER`).
fn error_name(code: i16) -> String {
    if code == 0 {
        return "NONE".to_string();
    }
    let Some(error) = kafka_protocol::error::ResponseError::try_from_code(code) else {
        return format!("UNKNOWN_CODE_{code}");
    };
    let camel = format!("{error:?}");
    let mut out = String::with_capacity(camel.len() + 8);
    for (i, c) in camel.chars().enumerate() {
        if c.is_ascii_uppercase() && i > 0 {
            out.push('_');
        }
        out.push(c.to_ascii_uppercase());
    }
    out
}

fn fetch_sessions(enc: &mut DescriptorEncoder, ctx: &BrokerContext) -> fmt::Result {
    let (sessions, partitions) = ctx.fetch_sessions.sizes();
    gauge(
        enc,
        "kafka_server_fetchsessioncache_numincrementalfetchsessions",
        "Fetch sessions kept (NumIncrementalFetchSessions).",
        sessions as i64,
    )?;
    gauge(
        enc,
        "kafka_server_fetchsessioncache_numincrementalfetchpartitionscached",
        "Partitions the fetch sessions hold (NumIncrementalFetchPartitionsCached).",
        partitions as i64,
    )
}

fn replicas_and_logs(enc: &mut DescriptorEncoder, ctx: &BrokerContext) -> fmt::Result {
    let partitions = ctx.replicas.all_partitions();
    let (mut leaders, mut under_replicated, mut under_min_isr) = (0, 0, 0);
    for p in partitions.iter().filter(|p| p.is_leader()) {
        leaders += 1;
        if p.isr().len() < p.replicas().len() {
            under_replicated += 1;
        }
        if p.check_min_isr().is_err() {
            under_min_isr += 1;
        }
    }
    gauge(
        enc,
        "kafka_server_replicamanager_partitioncount",
        "Partitions hosted here (PartitionCount).",
        partitions.len() as i64,
    )?;
    gauge(
        enc,
        "kafka_server_replicamanager_leadercount",
        "Partitions led here (LeaderCount).",
        leaders,
    )?;
    gauge(
        enc,
        "kafka_server_replicamanager_underreplicatedpartitions",
        "Partitions led here whose ISR is smaller than their replicas (UnderReplicatedPartitions).",
        under_replicated,
    )?;
    gauge(
        enc,
        "kafka_server_replicamanager_underminisrpartitioncount",
        "Partitions led here whose ISR is below min.insync.replicas (UnderMinIsrPartitionCount).",
        under_min_isr,
    )?;
    gauge(
        enc,
        "kafka_server_replicamanager_offlinereplicacount",
        "Replicas hosted here whose logs could not be opened (OfflineReplicaCount).",
        ctx.replicas.offline_count() as i64,
    )?;
    gauge(
        enc,
        "kafka_log_logmanager_offlinelogdirectorycount",
        "Log directories taken offline by an I/O error (OfflineLogDirectoryCount).",
        ctx.replicas.offline_log_dir_count() as i64,
    )?;

    Ok(())
}

/// The per-partition log gauges (Kafka's kafka.log:type=Log), four series
/// a partition: at ten thousand partitions nearly all of a scrape. They are
/// written as OpenMetrics text straight into `out` (which
/// `prometheus_client`'s per-series label encoding made several times
/// dearer), each partition's labels formatted once for the four families.
/// Topic names hold only [a-zA-Z0-9._-], so no label needs escaping.
/// A log's size, segments, start and end offsets (`Partition::log_stats`).
type LogStats = (u64, usize, i64, i64);

/// A per-partition family: its name, help and value of a log's stats.
type LogFamily = (&'static str, &'static str, fn(&LogStats) -> i64);

pub(super) fn partition_logs(out: &mut String, ctx: &BrokerContext) -> fmt::Result {
    use std::fmt::Write as _;
    let mut partitions = ctx.replicas.all_partitions();
    // Each topic's partitions come in index order: a stable sort by topic
    // keeps it, over runs it finds already in place.
    partitions.sort_by(|a, b| a.topic.cmp(&b.topic));
    let mut labels = String::with_capacity(partitions.len() * 32);
    let mut rows = Vec::with_capacity(partitions.len());
    for p in &partitions {
        let from = labels.len();
        write!(
            labels,
            "{{topic=\"{}\",partition=\"{}\"}} ",
            p.topic, p.index
        )?;
        rows.push((from..labels.len(), p.log_stats()));
    }
    let families: [LogFamily; 4] = [
        (
            "kafka_log_log_size",
            "Bytes of the partition's log on disk (Size).",
            |s| s.0 as i64,
        ),
        (
            "kafka_log_log_numlogsegments",
            "Segments of the partition's log (NumLogSegments).",
            |s| s.1 as i64,
        ),
        (
            "kafka_log_log_logstartoffset",
            "The partition's log start offset (LogStartOffset).",
            |s| s.2,
        ),
        (
            "kafka_log_log_logendoffset",
            "The partition's log end offset (LogEndOffset).",
            |s| s.3,
        ),
    ];
    if rows.is_empty() {
        return Ok(());
    }
    out.reserve(rows.len() * 4 * 64);
    for (name, help, value) in families {
        writeln!(out, "# HELP {name} {help}\n# TYPE {name} gauge")?;
        for (range, stats) in &rows {
            out.push_str(name);
            out.push_str(&labels[range.clone()]);
            writeln!(out, "{}", value(stats))?;
        }
    }
    Ok(())
}

fn controller(enc: &mut DescriptorEncoder, ctx: &BrokerContext) -> fmt::Result {
    let image = ctx.image();
    let raft = ctx.controller.raft();
    let (leader, applied, last_log) = {
        let m = raft.metrics();
        let m = m.borrow();
        (
            m.current_leader,
            m.last_applied.map_or(-1, |l| l.index as i64),
            m.last_log_index.map_or(-1, |i| i as i64),
        )
    };
    let active = leader == Some(ctx.node_id as u64);
    // As Kafka's KafkaController gauges: only the active controller
    // reports the cluster's figures, so they add up across brokers.
    let cluster = |v: usize| if active { v as i64 } else { 0 };
    let offline = image
        .topics
        .values()
        .flat_map(|t| &t.partitions)
        .filter(|p| p.leader < 0)
        .count();
    let fenced = image.brokers.values().filter(|b| b.fenced).count();
    gauge(
        enc,
        "kafka_controller_kafkacontroller_activecontrollercount",
        "1 on the node leading the metadata quorum (ActiveControllerCount).",
        i64::from(active),
    )?;
    gauge(
        enc,
        "kafka_controller_kafkacontroller_offlinepartitionscount",
        "Partitions without a leader, on the active controller (OfflinePartitionsCount).",
        cluster(offline),
    )?;
    gauge(
        enc,
        "kafka_controller_kafkacontroller_fencedbrokercount",
        "Fenced brokers, on the active controller (FencedBrokerCount).",
        cluster(fenced),
    )?;
    gauge(
        enc,
        "kafka_controller_kafkacontroller_activebrokercount",
        "Unfenced brokers, on the active controller (ActiveBrokerCount).",
        cluster(image.brokers.len() - fenced),
    )?;
    gauge(
        enc,
        "kafka_server_broker_metadata_metrics_last_applied_record_offset",
        "Offset of the last metadata record applied here (last-applied-record-offset).",
        applied,
    )?;
    gauge(
        enc,
        "kafka_server_broker_metadata_metrics_last_log_offset",
        "Offset of the last record in this node's copy of the metadata log.",
        last_log,
    )?;
    gauge(
        enc,
        "kafka_server_broker_metadata_metrics_image_epoch",
        "Epoch of the metadata image this broker serves.",
        image.epoch as i64,
    )
}

fn groups(enc: &mut DescriptorEncoder, ctx: &BrokerContext) -> fmt::Result {
    let overview = ctx.groups.overview();
    let mut by_protocol: BTreeMap<&str, i64> = BTreeMap::from([("classic", 0), ("consumer", 0)]);
    for ((kind, _), n) in &overview.counts {
        *by_protocol.entry(kind).or_default() += *n as i64;
    }
    family(
        enc,
        "kafka_server_group_coordinator_metrics_group_count",
        "Groups coordinated here, per protocol (group-count).",
        by_protocol
            .iter()
            .map(|(p, n)| (vec![("protocol", *p)], Value::Gauge(*n))),
    )?;
    for (kind, name, help) in [
        (
            "classic",
            "kafka_server_group_coordinator_metrics_classic_group_count",
            "Classic groups coordinated here, per state (classic-group-count).",
        ),
        (
            "consumer",
            "kafka_server_group_coordinator_metrics_consumer_group_count",
            "Consumer (KIP-848) groups coordinated here, per state (consumer-group-count).",
        ),
    ] {
        let states: Vec<(String, i64)> = overview
            .counts
            .iter()
            .filter(|((k, _), _)| *k == kind)
            .map(|((_, s), n)| (s.to_ascii_lowercase(), *n as i64))
            .collect();
        family(
            enc,
            name,
            help,
            states
                .iter()
                .map(|(s, n)| (vec![("state", s.as_str())], Value::Gauge(*n))),
        )?;
    }
    family(
        enc,
        "kafka_server_group_coordinator_metrics_group_completed_rebalance_count",
        "Completed rebalances of classic groups (group-completed-rebalance-count).",
        [(
            Labels::new(),
            Value::Counter(CLASSIC_REBALANCES.load(Ordering::Relaxed)),
        )],
    )?;
    family(
        enc,
        "kafka_server_group_coordinator_metrics_consumer_group_rebalance_count",
        "Group epoch bumps of consumer groups (consumer-group-rebalance-count).",
        [(
            Labels::new(),
            Value::Counter(CONSUMER_REBALANCES.load(Ordering::Relaxed)),
        )],
    )?;
    lag(enc, ctx, &overview.committed)
}

/// Consumer lag per group and partition, for partitions with a replica
/// here (the coordinator reads the high watermark and the timestamps from
/// its own copy of the log).
fn lag(
    enc: &mut DescriptorEncoder,
    ctx: &BrokerContext,
    committed: &[(String, String, i32, i64)],
) -> fmt::Result {
    let now = now_ms();
    let internal: HashSet<&str> = [
        crate::group::OFFSETS_TOPIC,
        crate::transaction::TRANSACTION_STATE_TOPIC,
    ]
    .into();
    struct Row<'a> {
        labels: Labels<'a>,
        committed: i64,
        end: i64,
        lag: i64,
        seconds: f64,
    }
    let indices: Vec<String> = committed.iter().map(|c| c.2.to_string()).collect();
    let mut rows = Vec::new();
    for ((group, topic, index, offset), partition_label) in committed.iter().zip(&indices) {
        if internal.contains(topic.as_str()) {
            continue;
        }
        let Some(partition) = ctx.replicas.partition(topic, *index) else {
            continue;
        };
        let end = partition.high_watermark();
        let lag = (end - offset).max(0);
        let seconds = if lag == 0 {
            0.0
        } else {
            partition
                .batch_timestamp(*offset)
                .map_or(0.0, |ts| (now - ts).max(0) as f64 / 1000.0)
        };
        rows.push(Row {
            labels: vec![
                ("group", group.as_str()),
                ("topic", topic.as_str()),
                ("partition", partition_label.as_str()),
            ],
            committed: *offset,
            end,
            lag,
            seconds,
        });
    }
    family(
        enc,
        "kafka_consumergroup_committed_offset",
        "The group's committed offset for the partition.",
        rows.iter()
            .map(|r| (r.labels.clone(), Value::Gauge(r.committed))),
    )?;
    family(
        enc,
        "kafka_consumergroup_log_end_offset",
        "The partition's high watermark: the end of what the group can consume.",
        rows.iter().map(|r| (r.labels.clone(), Value::Gauge(r.end))),
    )?;
    family(
        enc,
        "kafka_consumergroup_lag",
        "Records the group has not consumed: log end offset minus committed offset.",
        rows.iter().map(|r| (r.labels.clone(), Value::Gauge(r.lag))),
    )?;
    family(
        enc,
        "kafka_consumergroup_lag_seconds",
        "Seconds since the first record the group has not consumed was appended; 0 without lag.",
        rows.iter()
            .map(|r| (r.labels.clone(), Value::Float(r.seconds))),
    )
}

/// The process figures Prometheus client libraries export under these
/// names, read from /proc.
fn process(enc: &mut DescriptorEncoder) -> fmt::Result {
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else {
        return Ok(());
    };
    // The command name may hold spaces and parentheses: fields count from the last ')'.
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map_or(Vec::new(), |(_, rest)| rest.split_whitespace().collect());
    let field = |n: usize| fields.get(n - 3).and_then(|f| f.parse::<u64>().ok());
    let ticks = rustix::param::clock_ticks_per_second() as f64;
    if let (Some(utime), Some(stime)) = (field(14), field(15)) {
        family(
            enc,
            "process_cpu_seconds",
            "User and system CPU time of the broker process, in seconds.",
            [(
                Labels::new(),
                Value::Seconds((utime + stime) as f64 / ticks),
            )],
        )?;
    }
    if let Some(rss) = field(24) {
        let bytes = rss * rustix::param::page_size() as u64;
        gauge(
            enc,
            "process_resident_memory_bytes",
            "Resident memory of the broker process.",
            bytes as i64,
        )?;
    }
    if let Ok(fds) = std::fs::read_dir("/proc/self/fd") {
        gauge(
            enc,
            "process_open_fds",
            "Open file descriptors of the broker process.",
            fds.count() as i64,
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn errors_are_named_as_kafka_names_them() {
        assert_eq!(super::error_name(0), "NONE");
        assert_eq!(super::error_name(6), "NOT_LEADER_OR_FOLLOWER");
        assert_eq!(super::error_name(-1), "UNKNOWN_SERVER_ERROR");
        assert_eq!(super::error_name(3), "UNKNOWN_TOPIC_OR_PARTITION");
    }
}
