//! Client quota metrics, as Kafka's quota managers tag them by user and
//! client-id (`kafka.server:type=Produce|Fetch|Request|ControllerMutation`),
//! read from the broker's quota sensors at scrape time: one series per
//! sensor a quota applies to, gone an hour after the client last sent.
//! The replication throttles' byte rates are here too (RequestMetrics'
//! per-API ThrottleTimeMs is with the other request phases).

use std::fmt;

use prometheus_client::encoding::DescriptorEncoder;
use prometheus_client::metrics::MetricType;

use crate::api::BrokerContext;
use crate::quota::{QuotaType, SensorSnapshot};

/// The JMX exporter's name for a quota type's metrics.
fn prefix(kind: QuotaType) -> &'static str {
    match kind {
        QuotaType::Produce => "kafka_server_produce",
        QuotaType::Fetch => "kafka_server_fetch",
        QuotaType::Request => "kafka_server_request",
        QuotaType::ControllerMutation => "kafka_server_controllermutation",
    }
}

/// Kafka's name and help for what a quota type's sensor measures.
fn measured(kind: QuotaType) -> (&'static str, &'static str) {
    match kind {
        QuotaType::Produce => ("byte_rate", "Bytes produced per second"),
        QuotaType::Fetch => ("byte_rate", "Bytes fetched per second"),
        QuotaType::Request => (
            "request_time",
            "Request handler time, as a percentage of one thread",
        ),
        QuotaType::ControllerMutation => {
            ("mutation_rate", "Partitions created or deleted per second")
        }
    }
}

/// Reads one figure of a sensor.
type Read = fn(&SensorSnapshot) -> f64;

pub(super) fn encode(enc: &mut DescriptorEncoder, ctx: &BrokerContext) -> fmt::Result {
    let sensors = ctx.quotas.snapshot();
    for kind in QuotaType::ALL {
        let rows: Vec<&SensorSnapshot> = sensors.iter().filter(|s| s.kind == kind).collect();
        if rows.is_empty() {
            continue;
        }
        let (name, help) = measured(kind);
        let mut gauges: Vec<(String, String, Read)> = vec![
            (
                format!("{}_{name}", prefix(kind)),
                format!("{help}, per user and client-id, over the quota window."),
                |s| s.rate,
            ),
            (
                format!("{}_throttle_time", prefix(kind)),
                "Mean throttle time given, in milliseconds, per user and client-id (throttle-time)."
                    .to_string(),
                |s| s.throttle_time_ms,
            ),
        ];
        if kind == QuotaType::ControllerMutation {
            gauges.push((
                format!("{}_tokens", prefix(kind)),
                "Credits left in the controller mutation token bucket, per user and client-id."
                    .to_string(),
                |s| s.tokens,
            ));
        }
        for (name, help, value) in gauges {
            let mut metric = enc.encode_descriptor(&name, &help, None, MetricType::Gauge)?;
            for s in &rows {
                let labels = [
                    ("user", s.key.user.as_str()),
                    ("client_id", s.key.client_id.as_str()),
                ];
                metric.encode_family(&labels)?.encode_gauge(&value(s))?;
            }
        }
    }
    Ok(())
}

/// The replication throttles' sensors (Kafka's
/// `kafka.server:type=LeaderReplication|FollowerReplication` `byte-rate`):
/// bytes per second of throttled partitions, leader and follower side.
pub(super) fn encode_replication(enc: &mut DescriptorEncoder, ctx: &BrokerContext) -> fmt::Result {
    for (name, help, quota) in [
        (
            "kafka_server_leaderreplication_byte_rate",
            "Bytes per second sent to followers of replicas throttled here as the leader, over the replication quota window.",
            &ctx.replication.leader,
        ),
        (
            "kafka_server_followerreplication_byte_rate",
            "Bytes per second fetched for replicas throttled here as a follower, over the replication quota window.",
            &ctx.replication.follower,
        ),
    ] {
        enc.encode_descriptor(name, help, None, MetricType::Gauge)?
            .encode_gauge(&quota.byte_rate())?;
    }
    Ok(())
}
