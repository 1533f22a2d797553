//! The metrics endpoint (`metrics.listener`): counters scraped around
//! produce, fetch and a group's commits move by exactly what the test
//! sent, read with a Prometheus text parser; consumer lag matches what
//! the group has not consumed; /health answers 503 with the reason until
//! the broker serves, then 200. The request phases (RequestMetrics'
//! queue, local, remote, send times) and per-API error counts move with
//! acks=all produce, a long-poll fetch and a refused CreateTopics on a
//! three-broker cluster.

use crate::harness;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use bytes::Bytes;
use harness::scrape::{scrape, series, Sample};
use harness::{
    admin, create_topic, encode_batch, free_port, produce_raw, producer, start_cluster_per_node,
    wait_until, BrokerProcess, RawClient,
};
use kafka_protocol::messages::fetch_request::{FetchPartition, FetchTopic};
use kafka_protocol::messages::{FetchRequest, TopicName};
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::records::{Compression, Record, TimestampType};
use rdkafka::admin::{AdminOptions, NewTopic, TopicReplication};
use rdkafka::consumer::{CommitMode, Consumer};
use rdkafka::producer::{FutureRecord, Producer};
use rdkafka::{Offset, TopicPartitionList};

/// An HTTP GET: the status code and the body.
fn get(port: u16, path: &str) -> (u16, String) {
    let mut stream =
        TcpStream::connect(("127.0.0.1", port)).expect("connect to the metrics endpoint");
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut response = String::new();
    stream
        .read_to_string(&mut response)
        .expect("read the HTTP response");
    let status = response
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status line in {response:?}"));
    let body = response
        .split_once("\r\n\r\n")
        .map_or("", |(_, b)| b)
        .to_string();
    (status, body)
}

/// One scrape, read by exact labels; a series absent from it reads as 0.
struct Scrape(Vec<Sample>);

impl Scrape {
    fn take(port: u16) -> Scrape {
        Scrape(scrape(port))
    }

    fn get(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
        series(&self.0, name, labels).unwrap_or(0.0)
    }

    fn has(&self, name: &str, labels: &[(&str, &str)]) -> bool {
        series(&self.0, name, labels).is_some()
    }
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

/// `count` records stamped now, as one batch.
fn batch(first: usize, count: usize) -> Bytes {
    let now = now_ms();
    let records: Vec<Record> = (first..first + count)
        .map(|i| Record {
            transactional: false,
            control: false,
            delete_horizon: false,
            partition_leader_epoch: -1,
            producer_id: -1,
            producer_epoch: -1,
            timestamp_type: TimestampType::Creation,
            offset: (i - first) as i64,
            // The encoder starts a new batch wherever offset minus sequence
            // changes; this keeps one batch whose base sequence is -1.
            sequence: (i - first) as i32 - 1,
            timestamp: now,
            key: None,
            value: Some(Bytes::from(format!("value-{i}"))),
            headers: Default::default(),
        })
        .collect();
    encode_batch(&records, Compression::None)
}

fn fetch(client: &mut RawClient, topic: &str) -> u64 {
    fetch_from(client, topic, 0, 0)
}

/// A consumer's fetch of partition 0 from `offset`, waiting up to
/// `max_wait_ms` for a byte: the bytes of records it got.
fn fetch_from(client: &mut RawClient, topic: &str, offset: i64, max_wait_ms: i32) -> u64 {
    let request = FetchRequest::default()
        .with_replica_id(kafka_protocol::messages::BrokerId(-1))
        .with_max_wait_ms(max_wait_ms)
        .with_min_bytes(1)
        .with_max_bytes(10 << 20)
        .with_session_epoch(-1)
        .with_topics(vec![FetchTopic::default()
            .with_topic(TopicName(StrBytes::from_string(topic.to_string())))
            .with_partitions(vec![FetchPartition::default()
                .with_partition(0)
                .with_fetch_offset(offset)
                .with_current_leader_epoch(-1)
                .with_partition_max_bytes(10 << 20)])]);
    let response = client.call(&request, 12).expect("fetch answered");
    let p = &response.responses[0].partitions[0];
    assert_eq!(p.error_code, 0);
    p.records.as_ref().map_or(0, |r| r.len() as u64)
}

const TOPIC: &str = "metered";

#[tokio::test(flavor = "multi_thread")]
async fn counters_and_lag_move_by_what_was_sent() {
    let metrics_port = free_port();
    let listener = format!("metrics.listener=http://127.0.0.1:{metrics_port}");
    let broker = BrokerProcess::start(&[&listener, "group.initial.rebalance.delay.ms=0"]);
    assert_eq!(get(metrics_port, "/health"), (200, "ok\n".to_string()));
    create_topic(&broker.bootstrap(), TOPIC, 1, &[]).await;
    let topic = [("topic", TOPIC)];
    let before = Scrape::take(metrics_port);

    // 100 records in 5 batches, over the raw wire so their bytes are known.
    let mut client = RawClient::connect(broker.port);
    let started = Instant::now();
    let mut produced_bytes = 0;
    for i in 0..5 {
        let records = batch(i * 20, 20);
        produced_bytes += records.len() as u64;
        let answer = produce_raw(&mut client, TOPIC, 0, -1, records);
        assert_eq!(answer.error_code, 0, "{:?}", answer.error_message);
    }
    // A partition that does not exist: a failed produce for the topic.
    let refused = produce_raw(&mut client, TOPIC, 7, -1, batch(0, 1));
    assert_ne!(refused.error_code, 0);
    let fetched_bytes = fetch(&mut client, TOPIC);
    assert!(
        fetched_bytes >= produced_bytes,
        "the fetch read the whole log"
    );

    let after = Scrape::take(metrics_port);
    let delta =
        |name: &str, labels: &[(&str, &str)]| after.get(name, labels) - before.get(name, labels);
    assert_eq!(
        delta("kafka_server_brokertopicmetrics_messagesin_total", &topic),
        100.0
    );
    assert_eq!(
        delta("kafka_server_brokertopicmetrics_messagesin_total", &[]),
        100.0
    );
    assert_eq!(
        delta("kafka_server_brokertopicmetrics_bytesin_total", &topic),
        produced_bytes as f64
    );
    assert_eq!(
        delta("kafka_server_brokertopicmetrics_bytesout_total", &topic),
        fetched_bytes as f64
    );
    assert_eq!(
        delta(
            "kafka_server_brokertopicmetrics_totalproducerequests_total",
            &topic
        ),
        6.0
    );
    assert_eq!(
        delta(
            "kafka_server_brokertopicmetrics_failedproducerequests_total",
            &topic
        ),
        1.0
    );
    assert_eq!(
        delta(
            "kafka_server_brokertopicmetrics_totalfetchrequests_total",
            &topic
        ),
        1.0
    );
    assert_eq!(
        delta(
            "kafka_server_brokertopicmetrics_failedfetchrequests_total",
            &topic
        ),
        0.0
    );
    let produce = [("request", "Produce")];
    assert_eq!(
        delta("kafka_network_requestmetrics_requests_total", &produce),
        6.0
    );
    assert_eq!(
        delta(
            "kafka_network_requestmetrics_errors_total",
            &[("request", "Produce"), ("error", "NONE")]
        ),
        5.0
    );
    assert_eq!(
        delta(
            "kafka_network_requestmetrics_errors_total",
            &[
                ("request", "Produce"),
                ("error", "UNKNOWN_TOPIC_OR_PARTITION")
            ]
        ),
        1.0
    );
    // The times are recorded once the response is written, which may be
    // just after the client has read it.
    assert!(
        wait_until(Duration::from_secs(10), || {
            let now = Scrape::take(metrics_port);
            now.get("kafka_network_requestmetrics_totaltimems_count", &produce)
                - before.get("kafka_network_requestmetrics_totaltimems_count", &produce)
                == 6.0
        }),
        "six Produce requests timed"
    );
    assert_eq!(
        delta(
            "kafka_network_requestmetrics_requests_total",
            &[("request", "FetchConsumer")]
        ),
        1.0
    );
    let partition = [("topic", TOPIC), ("partition", "0")];
    assert_eq!(after.get("kafka_log_log_logendoffset", &partition), 100.0);
    assert_eq!(after.get("kafka_log_log_logstartoffset", &partition), 0.0);
    assert_eq!(after.get("kafka_log_log_numlogsegments", &partition), 1.0);
    assert!(after.get("kafka_log_log_size", &partition) >= produced_bytes as f64);
    assert_eq!(
        after.get(
            "kafka_controller_kafkacontroller_activecontrollercount",
            &[]
        ),
        1.0
    );
    assert_eq!(
        after.get("kafka_server_replicamanager_leadercount", &[]),
        after.get("kafka_server_replicamanager_partitioncount", &[])
    );
    assert_eq!(
        after.get("kafka_server_replicamanager_underreplicatedpartitions", &[]),
        0.0
    );
    assert!(
        after.get(
            "kafka_server_socket_server_metrics_connection_count",
            &[("listener", "PLAINTEXT")]
        ) >= 1.0
    );
    assert!(after.get("process_cpu_seconds_total", &[]) > 0.0);
    assert!(after.get("process_resident_memory_bytes", &[]) > 0.0);

    // A subscribed group that has consumed 30 of the 100 records.
    let consumer = harness::Member::new(
        harness::client_config(&broker.bootstrap())
            .set("group.id", "lagging")
            .set("enable.auto.commit", "false")
            .set("auto.offset.reset", "earliest")
            .create()
            .expect("consumer"),
    );
    consumer.subscribe(&[TOPIC]).expect("subscribe");
    assert!(
        wait_until(Duration::from_secs(20), || {
            consumer.poll(Duration::from_millis(100));
            !consumer.assignment().unwrap().elements().is_empty()
        }),
        "the consumer was assigned the partition"
    );
    let commit = |offset: i64| {
        let mut tpl = TopicPartitionList::new();
        tpl.add_partition_offset(TOPIC, 0, Offset::Offset(offset))
            .unwrap();
        consumer.commit(&tpl, CommitMode::Sync).expect("commit");
    };
    commit(30);
    // Long enough that a lag in seconds shows.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let lagging = Scrape::take(metrics_port);
    let group = [("group", "lagging"), ("topic", TOPIC), ("partition", "0")];
    assert_eq!(
        lagging.get("kafka_consumergroup_committed_offset", &group),
        30.0
    );
    assert_eq!(
        lagging.get("kafka_consumergroup_log_end_offset", &group),
        100.0
    );
    assert_eq!(lagging.get("kafka_consumergroup_lag", &group), 70.0);
    let seconds = lagging.get("kafka_consumergroup_lag_seconds", &group);
    let bound = started.elapsed().as_secs_f64() + 1.0;
    assert!(
        (1.4..=bound).contains(&seconds),
        "lag of {seconds}s: the record at offset 30 was appended between 1.5s and {bound}s ago"
    );
    assert_eq!(
        lagging.get(
            "kafka_server_group_coordinator_metrics_classic_group_count",
            &[("state", "stable")]
        ),
        1.0
    );
    assert!(
        lagging.get(
            "kafka_server_group_coordinator_metrics_group_completed_rebalance_count_total",
            &[]
        ) >= 1.0
    );

    commit(100);
    let caught_up = Scrape::take(metrics_port);
    assert_eq!(caught_up.get("kafka_consumergroup_lag", &group), 0.0);
    assert!(caught_up.has("kafka_consumergroup_lag_seconds", &group));
    assert_eq!(
        caught_up.get("kafka_consumergroup_lag_seconds", &group),
        0.0
    );
}

/// A broker process killed when the test ends.
struct Node(Child);

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn launch(dir: &std::path::Path, overrides: &[String]) -> Node {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_broker-start"));
    cmd.arg("--override")
        .arg(format!("log.dirs={}", dir.display()));
    for o in overrides {
        cmd.arg("--override").arg(o);
    }
    Node(
        cmd.env("RUST_LOG", "warn,openraft=off")
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn broker-start"),
    )
}

#[test]
fn health_is_503_with_the_reason_until_the_broker_serves() {
    // Two voters: the first alone has no quorum, so it cannot serve.
    let controller_ports = [free_port(), free_port()];
    let metrics_ports = [free_port(), free_port()];
    let voters = format!(
        "1@127.0.0.1:{},2@127.0.0.1:{}",
        controller_ports[0], controller_ports[1]
    );
    let dirs = [tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap()];
    let overrides = |i: usize| {
        vec![
            format!("node.id={}", i + 1),
            format!("controller.quorum.voters={voters}"),
            "controller.listener.names=CONTROLLER".to_string(),
            format!(
                "listeners=PLAINTEXT://127.0.0.1:0,CONTROLLER://127.0.0.1:{}",
                controller_ports[i]
            ),
            format!("metrics.listener=http://127.0.0.1:{}", metrics_ports[i]),
        ]
    };
    let _first = launch(dirs[0].path(), &overrides(0));
    let mut health = (0, String::new());
    assert!(
        wait_until(Duration::from_secs(20), || {
            health = TcpStream::connect(("127.0.0.1", metrics_ports[0]))
                .map(|_| get(metrics_ports[0], "/health"))
                .unwrap_or_default();
            health.1.contains("no quorum")
        }),
        "a lone voter says it has no quorum; got {health:?}"
    );
    assert_eq!(health.0, 503);

    let _second = launch(dirs[1].path(), &overrides(1));
    assert!(
        wait_until(Duration::from_secs(30), || {
            health = get(metrics_ports[0], "/health");
            health.0 == 200
        }),
        "the broker is healthy once the quorum formed and it serves; got {health:?}"
    );
    assert_eq!(health.1, "ok\n");
    assert_eq!(get(metrics_ports[0], "/nothing").0, 404);
}

/// The sum of `name{labels}` over several brokers' scrapes.
fn summed(ports: &[u16], name: &str, labels: &[(&str, &str)]) -> f64 {
    ports
        .iter()
        .map(|p| Scrape::take(*p).get(name, labels))
        .sum()
}

#[tokio::test(flavor = "multi_thread")]
async fn request_phases_and_errors_per_api() {
    let ports = [free_port(), free_port(), free_port()];
    let listeners: Vec<String> = ports
        .iter()
        .map(|p| format!("metrics.listener=http://127.0.0.1:{p}"))
        .collect();
    let per_node: Vec<[&str; 1]> = listeners.iter().map(|l| [l.as_str()]).collect();
    let per_node: Vec<&[&str]> = per_node.iter().map(|l| &l[..]).collect();
    let cluster = start_cluster_per_node(3, &[], &per_node);
    let bootstrap = cluster[0].bootstrap();
    let admin = admin(&bootstrap);
    let topic = NewTopic::new("replicated", 1, TopicReplication::Fixed(3));
    for r in admin
        .create_topics([&topic], &AdminOptions::new())
        .await
        .expect("create_topics request")
    {
        r.expect("the topic is created");
    }

    // A CreateTopics of a topic that exists is answered with
    // TOPIC_ALREADY_EXISTS, counted by whichever broker took it.
    let already = [
        ("request", "CreateTopics"),
        ("error", "TOPIC_ALREADY_EXISTS"),
    ];
    let errors = "kafka_network_requestmetrics_errors_total";
    let before = summed(&ports, errors, &already);
    let again = admin
        .create_topics([&topic], &AdminOptions::new())
        .await
        .expect("create_topics request");
    assert!(matches!(
        &again[0],
        Err((_, rdkafka::types::RDKafkaErrorCode::TopicAlreadyExists))
    ));
    assert!(
        wait_until(Duration::from_secs(10), || summed(&ports, errors, &already)
            == before + 1.0),
        "one TOPIC_ALREADY_EXISTS counted for CreateTopics"
    );

    let producer = producer(&bootstrap, &[("acks", "all")]);
    let mut leader_id: i32 = -1;
    assert!(
        wait_until(Duration::from_secs(20), || {
            let Ok(metadata) = producer
                .client()
                .fetch_metadata(Some("replicated"), Duration::from_secs(5))
            else {
                return false;
            };
            let partition = &metadata.topics()[0].partitions()[0];
            leader_id = partition.leader();
            partition.isr().len() == 3 && leader_id > 0
        }),
        "all three replicas in sync"
    );
    let leader = ports[leader_id as usize - 1];
    let leader_port = cluster[leader_id as usize - 1].port;
    let before = Scrape::take(leader);

    // acks=all: answered once the followers have fetched the records, a
    // wait on others (RemoteTimeMs), not the leader's own work.
    const RECORDS: i64 = 5;
    for i in 0..RECORDS {
        producer
            .send(
                FutureRecord::<(), _>::to("replicated").payload(&format!("v{i}")),
                Duration::from_secs(10),
            )
            .await
            .expect("acks=all produce");
    }
    let produce = [("request", "Produce")];
    let phase = |s: &Scrape, name: &str| {
        let count = s.get(
            &format!("kafka_network_requestmetrics_{name}_count"),
            &produce,
        );
        let sum = s.get(
            &format!("kafka_network_requestmetrics_{name}_sum"),
            &produce,
        );
        (count, sum)
    };
    let mut after = Scrape::take(leader);
    assert!(
        wait_until(Duration::from_secs(10), || {
            after = Scrape::take(leader);
            phase(&after, "totaltimems").0 - phase(&before, "totaltimems").0 >= RECORDS as f64
        }),
        "every Produce request timed"
    );
    let requests = phase(&after, "totaltimems").0 - phase(&before, "totaltimems").0;
    for name in [
        "requestqueuetimems",
        "localtimems",
        "remotetimems",
        "throttletimems",
        "responsequeuetimems",
        "responsesendtimems",
    ] {
        assert_eq!(
            phase(&after, name).0 - phase(&before, name).0,
            requests,
            "{name} counts every Produce request"
        );
    }
    let remote_ms = phase(&after, "remotetimems").1 - phase(&before, "remotetimems").1;
    assert!(remote_ms > 0.0, "acks=all waited on the followers");
    let total_ms = phase(&after, "totaltimems").1 - phase(&before, "totaltimems").1;
    assert!(
        remote_ms <= total_ms,
        "{remote_ms} ms remote of {total_ms} ms"
    );
    let bytes = after.get("kafka_network_requestmetrics_requestbytes_sum", &produce)
        - before.get("kafka_network_requestmetrics_requestbytes_sum", &produce);
    assert!(bytes > 0.0, "request sizes recorded");

    // A consumer's long poll with nothing to read waits its max.wait in
    // the fetch purgatory: the FetchConsumer remote time is that wait.
    let consumer = [("request", "FetchConsumer")];
    let fetch_phase = |s: &Scrape, name: &str| {
        (
            s.get(
                &format!("kafka_network_requestmetrics_{name}_count"),
                &consumer,
            ),
            s.get(
                &format!("kafka_network_requestmetrics_{name}_sum"),
                &consumer,
            ),
        )
    };
    let before = Scrape::take(leader);
    let mut client = RawClient::connect(leader_port);
    let waited = Instant::now();
    assert_eq!(fetch_from(&mut client, "replicated", RECORDS, 500), 0);
    let waited = waited.elapsed();
    assert!(
        wait_until(Duration::from_secs(10), || {
            after = Scrape::take(leader);
            fetch_phase(&after, "totaltimems").0 - fetch_phase(&before, "totaltimems").0 == 1.0
        }),
        "the long poll timed"
    );
    let (count, sum) = fetch_phase(&after, "remotetimems");
    let (count_before, sum_before) = fetch_phase(&before, "remotetimems");
    assert_eq!(count - count_before, 1.0);
    let remote_ms = sum - sum_before;
    assert!(
        (450.0..=waited.as_secs_f64() * 1000.0).contains(&remote_ms),
        "remote {remote_ms} ms of a 500 ms long poll answered in {waited:?}"
    );
    let local_ms = fetch_phase(&after, "localtimems").1 - fetch_phase(&before, "localtimems").1;
    assert!(local_ms < 450.0, "the wait is not local: {local_ms} ms");
    // Followers' fetches are counted apart.
    assert!(
        after.get(
            "kafka_network_requestmetrics_totaltimems_count",
            &[("request", "FetchFollower")]
        ) > 0.0
    );
}

/// A Produce with acks=0 gets no response, yet its request is timed as
/// Kafka times it: done once handled, with no send.
#[tokio::test(flavor = "multi_thread")]
async fn an_acks_0_produce_is_timed_without_a_response() {
    let metrics_port = free_port();
    let listener = format!("metrics.listener=http://127.0.0.1:{metrics_port}");
    let broker = BrokerProcess::start(&[&listener]);
    create_topic(&broker.bootstrap(), TOPIC, 1, &[]).await;
    let produce = [("request", "Produce")];
    let before = Scrape::take(metrics_port);

    let p = producer(&broker.bootstrap(), &[("acks", "0")]);
    p.send(
        FutureRecord::<(), _>::to(TOPIC)
            .partition(0)
            .payload("unanswered"),
        Duration::from_secs(10),
    )
    .await
    .expect("enqueued");
    let read = harness::consume(&broker.bootstrap(), TOPIC, 0, 0, 1, Duration::from_secs(30));
    assert_eq!(read.len(), 1, "the acks=0 record was written");

    let moved = |s: &Scrape, name: &str| s.get(name, &produce) - before.get(name, &produce);
    assert!(
        wait_until(Duration::from_secs(10), || {
            let now = Scrape::take(metrics_port);
            let requests = moved(&now, "kafka_network_requestmetrics_requests_total");
            requests >= 1.0
                && moved(&now, "kafka_network_requestmetrics_totaltimems_count") == requests
        }),
        "every acks=0 Produce request timed: {:?}",
        Scrape::take(metrics_port)
            .0
            .iter()
            .filter(
                |(name, labels, _)| name.starts_with("kafka_network_requestmetrics_")
                    && labels.iter().any(|(_, v)| v == "Produce")
            )
            .collect::<Vec<_>>()
    );
}
