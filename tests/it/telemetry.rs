//! Client telemetry (KIP-714): a client metrics subscription set with
//! config-admin makes a librdkafka producer push its metrics, which show
//! on the metrics endpoint under its client id; and the wire-level
//! refusals of GetTelemetrySubscriptions and PushTelemetry carry Kafka's
//! codes.

use crate::harness;

use std::io::Write;
use std::time::Duration;

use harness::scrape::scrape;
use harness::{free_port, producer, run_tool, wait_until, BrokerProcess, RawClient};
use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::{
    GetTelemetrySubscriptionsRequest, GetTelemetrySubscriptionsResponse, PushTelemetryRequest,
};
use opentelemetry_proto::tonic::metrics::v1::{
    metric, number_data_point, Gauge, Metric, MetricsData, NumberDataPoint, ResourceMetrics,
    ScopeMetrics,
};
use prost::Message;
use rdkafka::producer::FutureRecord;
use uuid::Uuid;

const CONFIG_ADMIN: &str = env!("CARGO_BIN_EXE_config-admin");

fn has_label(labels: &[(String, String)], key: &str, value: &str) -> bool {
    labels.iter().any(|(k, v)| k == key && v == value)
}

#[tokio::test(flavor = "multi_thread")]
async fn librdkafka_pushes_subscribed_metrics_to_the_endpoint() {
    let metrics_port = free_port();
    let listener = format!("metrics.listener=http://127.0.0.1:{metrics_port}");
    let broker = BrokerProcess::start(&[&listener]);
    let bootstrap = broker.bootstrap();
    let subscription = [
        "--entity-type",
        "client-metrics",
        "--entity-name",
        "producers",
    ];
    let alter = [
        &subscription[..],
        &[
            "--alter",
            "--add-config",
            "metrics=org.apache.kafka.producer.,interval.ms=1000,match=[client_id=telemetry-.*,client_software_name=librdkafka]",
        ],
    ]
    .concat();
    let out = run_tool(CONFIG_ADMIN, &bootstrap, &alter, b"");
    assert!(
        out.ok()
            .contains("Completed updating config for client-metrics producers"),
        "{}",
        out.stdout
    );
    let describe = [&subscription[..], &["--describe"]].concat();
    let described = run_tool(CONFIG_ADMIN, &bootstrap, &describe, b"");
    let text = described.ok();
    assert!(
        text.contains("Dynamic configs for client-metric producers are:"),
        "{text}"
    );
    assert!(text.contains("interval.ms=1000 "), "{text}");
    assert!(
        text.contains("metrics=org.apache.kafka.producer. "),
        "{text}"
    );
    assert!(
        text.contains("match=client_id=telemetry-.*,client_software_name=librdkafka "),
        "{text}"
    );

    // Out of range: Kafka's INVALID_CONFIG, and nothing changes.
    let bad = [
        &subscription[..],
        &["--alter", "--add-config", "interval.ms=50"],
    ]
    .concat();
    let refused = run_tool(CONFIG_ADMIN, &bootstrap, &bad, b"");
    assert_ne!(refused.code, Some(0));
    assert!(
        refused.stderr.contains("interval must be between"),
        "{}",
        refused.stderr
    );

    let producer = producer(&bootstrap, &[("client.id", "telemetry-producer")]);
    let found = wait_until(Duration::from_secs(60), || {
        futures::executor::block_on(producer.send(
            FutureRecord::to("pushed").key("k").payload("v"),
            Duration::from_secs(5),
        ))
        .expect("produce");
        scrape(metrics_port).iter().any(|(name, labels, _)| {
            name == "org_apache_kafka_producer_record_queue_time_avg"
                && has_label(labels, "client_id", "telemetry-producer")
                && labels
                    .iter()
                    .any(|(k, v)| k == "client_instance_id" && !v.is_empty())
        })
    });
    assert!(
        found,
        "no pushed producer metric: {:?}",
        scrape(metrics_port)
            .iter()
            .filter(|(n, _, _)| n.starts_with("org_apache"))
            .collect::<Vec<_>>()
    );
}

fn subscriptions(client: &mut RawClient, id: Uuid) -> GetTelemetrySubscriptionsResponse {
    client
        .call(
            &GetTelemetrySubscriptionsRequest::default().with_client_instance_id(id),
            0,
        )
        .expect("GetTelemetrySubscriptions answered")
}

fn push(client: &mut RawClient, id: Uuid, subscription: i32, metrics: Vec<u8>) -> i16 {
    push_with(client, id, subscription, false, 0, metrics)
}

fn push_with(
    client: &mut RawClient,
    id: Uuid,
    subscription: i32,
    terminating: bool,
    compression: i8,
    metrics: Vec<u8>,
) -> i16 {
    client
        .call(
            &PushTelemetryRequest::default()
                .with_client_instance_id(id)
                .with_subscription_id(subscription)
                .with_terminating(terminating)
                .with_compression_type(compression)
                .with_metrics(metrics.into()),
            0,
        )
        .expect("PushTelemetry answered")
        .error_code
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    encoder.write_all(bytes).unwrap();
    encoder.finish().unwrap()
}

fn one_gauge(name: &str, value: f64) -> Vec<u8> {
    MetricsData {
        resource_metrics: vec![ResourceMetrics {
            scope_metrics: vec![ScopeMetrics {
                metrics: vec![Metric {
                    name: name.to_string(),
                    data: Some(metric::Data::Gauge(Gauge {
                        data_points: vec![NumberDataPoint {
                            value: Some(number_data_point::Value::AsDouble(value)),
                            ..Default::default()
                        }],
                    })),
                    ..Default::default()
                }],
                ..Default::default()
            }],
            ..Default::default()
        }],
    }
    .encode_to_vec()
}

#[test]
fn pushes_are_refused_with_kafkas_codes() {
    let metrics_port = free_port();
    let listener = format!("metrics.listener=http://127.0.0.1:{metrics_port}");
    let broker = BrokerProcess::start(&[&listener, "telemetry.max.bytes=1024"]);
    let alter = [
        "--alter",
        "--entity-type",
        "client-metrics",
        "--entity-name",
        "all",
        "--add-config",
        "metrics=*,interval.ms=60000",
    ];
    run_tool(CONFIG_ADMIN, &broker.bootstrap(), &alter, b"").ok();
    let mut client = RawClient::connect(broker.port);

    let got = subscriptions(&mut client, Uuid::nil());
    assert_eq!(got.error_code, 0);
    let id = got.client_instance_id;
    assert!(!id.is_nil(), "the broker gives a client instance id");
    assert_eq!(got.push_interval_ms, 60000);
    assert_eq!(got.telemetry_max_bytes, 1024);
    assert_eq!(got.requested_metrics.len(), 1);
    assert_eq!(got.requested_metrics[0].as_str(), "", "all metrics");
    assert!(got.accepted_compression_types.contains(&1));
    let sub = got.subscription_id;

    // Asking again within the interval is too early.
    assert_eq!(
        subscriptions(&mut client, id).error_code,
        ResponseError::ThrottlingQuotaExceeded.code()
    );
    assert_eq!(
        push(&mut client, Uuid::nil(), sub, vec![]),
        ResponseError::InvalidRequest.code()
    );
    assert_eq!(
        push(&mut client, id, sub.wrapping_add(1), vec![]),
        ResponseError::UnknownSubscriptionId.code()
    );
    // The first push after asking is taken (gzip-compressed OTLP).
    let payload = gzip(&one_gauge("org.apache.kafka.test.gauge", 7.5));
    assert_eq!(push_with(&mut client, id, sub, false, 1, payload), 0);
    let shown = scrape(metrics_port)
        .into_iter()
        .any(|(name, labels, value)| {
            name == "org_apache_kafka_test_gauge"
                && has_label(&labels, "client_id", "gregor-raw-test")
                && value == 7.5
        });
    assert!(shown, "the pushed gauge is on the endpoint");
    // The next one before the interval is too early; terminating is not.
    assert_eq!(
        push(&mut client, id, sub, vec![]),
        ResponseError::ThrottlingQuotaExceeded.code()
    );
    assert_eq!(push_with(&mut client, id, sub, true, 0, vec![]), 0);
    assert_eq!(
        push_with(&mut client, id, sub, true, 0, vec![]),
        ResponseError::InvalidRequest.code(),
        "nothing after a terminating push"
    );

    // A new instance: too large a payload, then one that is not OTLP.
    let other = subscriptions(&mut client, Uuid::nil());
    assert_eq!(
        push(
            &mut client,
            other.client_instance_id,
            other.subscription_id,
            vec![0; 1025]
        ),
        ResponseError::TelemetryTooLarge.code()
    );
    let third = subscriptions(&mut client, Uuid::nil());
    assert_eq!(
        push(
            &mut client,
            third.client_instance_id,
            third.subscription_id,
            vec![0xff; 16]
        ),
        ResponseError::InvalidRequest.code()
    );

    // Changing the subscription makes the old id unknown.
    let fourth = subscriptions(&mut client, Uuid::nil());
    let changed = [
        "--alter",
        "--entity-type",
        "client-metrics",
        "--entity-name",
        "all",
        "--add-config",
        "interval.ms=30000",
    ];
    run_tool(CONFIG_ADMIN, &broker.bootstrap(), &changed, b"").ok();
    assert_eq!(
        push(
            &mut client,
            fourth.client_instance_id,
            fourth.subscription_id,
            vec![]
        ),
        ResponseError::UnknownSubscriptionId.code()
    );
    let again = subscriptions(&mut client, fourth.client_instance_id);
    assert_eq!(
        again.error_code, 0,
        "asking again after UNKNOWN_SUBSCRIPTION_ID"
    );
    assert_eq!(again.push_interval_ms, 30000);
}

#[test]
fn every_broker_serves_a_subscription_set_on_one() {
    let cluster = harness::start_cluster(2, &[]);
    let alter = [
        "--alter",
        "--entity-type",
        "client-metrics",
        "--entity-name",
        "everywhere",
        "--add-config",
        "metrics=org.apache.kafka.,interval.ms=4321",
    ];
    run_tool(CONFIG_ADMIN, &cluster[0].bootstrap(), &alter, b"").ok();
    let mut other = RawClient::connect(cluster[1].port);
    let served = wait_until(Duration::from_secs(20), || {
        let got = subscriptions(&mut other, Uuid::nil());
        got.error_code == 0 && got.push_interval_ms == 4321
    });
    assert!(served, "the second broker offers the subscription");
}
