//! `topic-admin` against a broker the test starts: create, list, describe,
//! alter and delete, and one clear line for every mistake.

mod common;

use common::{run_tool, BrokerProcess};

const BIN: &str = env!("CARGO_BIN_EXE_topic-admin");

#[test]
fn topics_are_created_described_altered_and_deleted() {
    let broker = BrokerProcess::start(&[]);
    let bs = broker.bootstrap();
    let tool = |args: &[&str]| run_tool(BIN, &bs, args, b"");

    let created = tool(&[
        "create",
        "--topic",
        "orders",
        "--partitions",
        "3",
        "--config",
        "retention.ms=3600000",
    ]);
    assert_eq!(created.ok(), "Created topic orders.\n");
    let again = tool(&["create", "--topic", "orders"]);
    assert_eq!(again.code, Some(1));
    assert!(
        again.stderr.contains("TopicAlreadyExists"),
        "{}",
        again.stderr
    );
    assert_eq!(again.stderr.lines().count(), 1);
    tool(&["create", "--topic", "orders", "--if-not-exists"]).ok();
    tool(&["create", "--topic", "payments"]).ok();

    assert_eq!(tool(&["list"]).ok(), "orders\npayments\n");

    let described: serde_json::Value =
        serde_json::from_str(tool(&["describe", "--topic", "ord.*", "--output", "json"]).ok())
            .expect("json");
    let topics = described.as_array().expect("array");
    assert_eq!(topics.len(), 1, "the regex matches whole names only");
    assert_eq!(topics[0]["topic"], "orders");
    assert_eq!(topics[0]["partitions"].as_array().unwrap().len(), 3);
    assert_eq!(topics[0]["partitions"][2]["leader"], 1);
    assert_eq!(topics[0]["partitions"][2]["isr"], serde_json::json!([1]));
    assert_eq!(
        topics[0]["configs"],
        serde_json::json!({"retention.ms": "3600000"}),
        "only configs that differ from the defaults"
    );
    let table = tool(&["describe", "--topic", "orders"]);
    let text = table.ok();
    assert!(
        text.contains(
            "Topic: orders\tPartitionCount: 3\tReplicationFactor: 1\tConfigs: retention.ms=3600000"
        ),
        "{text}"
    );
    assert!(
        text.lines()
            .any(|l| l.split_whitespace().collect::<Vec<_>>() == ["orders", "2", "1", "1", "1"]),
        "{text}"
    );
    assert_eq!(
        tool(&["describe", "--under-replicated-partitions"])
            .ok()
            .trim(),
        "",
        "a single broker has no under-replicated partitions"
    );

    tool(&[
        "alter",
        "--topic",
        "orders",
        "--partitions",
        "5",
        "--config",
        "cleanup.policy=compact",
        "--delete-config",
        "retention.ms",
    ])
    .ok();
    let described: serde_json::Value =
        serde_json::from_str(tool(&["describe", "-t", "orders", "--output", "json"]).ok()).unwrap();
    assert_eq!(described[0]["partitions"].as_array().unwrap().len(), 5);
    assert_eq!(
        described[0]["configs"],
        serde_json::json!({"cleanup.policy": "compact"}),
        "set one override, removed another"
    );
    let shrink = tool(&["alter", "--topic", "orders", "--partitions", "2"]);
    assert_eq!(shrink.code, Some(1));
    assert!(
        shrink.stderr.contains("InvalidPartitions"),
        "{}",
        shrink.stderr
    );
    let bad = tool(&[
        "alter",
        "--topic",
        "orders",
        "--config",
        "retention.ms=soon",
    ]);
    assert_eq!(bad.code, Some(1));
    assert!(bad.stderr.contains("InvalidConfig"), "{}", bad.stderr);

    let refused = tool(&["delete", "--topic", "orders"]);
    assert_eq!(refused.code, Some(1), "no --yes and no terminal: refuse");
    assert!(refused.stderr.contains("--yes"), "{}", refused.stderr);
    assert_eq!(tool(&["list"]).ok(), "orders\npayments\n");
    assert_eq!(
        tool(&["delete", "--topic", "orders", "--yes"]).ok(),
        "Deleted topic orders.\n"
    );
    let json: serde_json::Value =
        serde_json::from_str(tool(&["list", "--output", "json"]).ok()).unwrap();
    assert_eq!(json, serde_json::json!(["payments"]));
    let missing = tool(&["delete", "--topic", "orders", "--yes"]);
    assert_eq!(missing.code, Some(1));
    tool(&["delete", "--topic", "orders", "--yes", "--if-exists"]).ok();
}

#[test]
fn mistakes_are_one_line_and_a_non_zero_exit() {
    let broker = BrokerProcess::start(&[]);
    let bs = broker.bootstrap();
    for (args, expected) in [
        (&["create"][..], "--topic"),
        (
            &["create", "--topic", "t", "--partitions", "0"],
            "--partitions",
        ),
        (
            &["create", "--topic", "t", "--config", "novalue"],
            "KEY=VALUE",
        ),
        (&["frobnicate"], "frobnicate"),
        (&["describe", "--topic", "("], "regular expression"),
        (
            &["describe", "--topic", "nothing-like-this"],
            "no topic matches",
        ),
        (&["create", "--topic", "bad name!"], "InvalidTopic"),
    ] {
        let out = run_tool(BIN, &bs, args, b"");
        assert_ne!(out.code, Some(0), "{args:?} should fail");
        assert_eq!(out.stderr.lines().count(), 1, "{args:?}: {:?}", out.stderr);
        assert!(out.stderr.contains(expected), "{args:?}: {:?}", out.stderr);
    }
    // A broker nobody listens on: a bounded wait and one line, not a hang.
    let unreachable = run_tool(
        BIN,
        "127.0.0.1:1",
        &["list", "-X", "socket.connection.setup.timeout.ms=1000"],
        b"",
    );
    assert_eq!(unreachable.code, Some(1));
    assert!(unreachable
        .stderr
        .starts_with("topic-admin: cannot reach the cluster at 127.0.0.1:1"));
}

/// kafka-transactions.sh describe-producers: an idempotent producer and
/// one whose transaction is open, read from the partition's leader.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn describe_producers_shows_each_producers_state() {
    use rdkafka::producer::{FutureRecord, Producer};
    use std::time::Duration;

    let broker = BrokerProcess::start(&[]);
    let bs = broker.bootstrap();
    let tool = |args: &[&str]| run_tool(BIN, &bs, args, b"");
    tool(&["create", "--topic", "txns", "--partitions", "1"]).ok();
    let record = |value: &'static str| {
        FutureRecord::<(), _>::to("txns")
            .partition(0)
            .payload(value)
    };
    let idempotent = common::producer(&bs, &[("enable.idempotence", "true")]);
    for value in ["a", "b"] {
        idempotent
            .send(record(value), Duration::from_secs(15))
            .await
            .expect("idempotent send");
    }
    let transactional = common::producer(&bs, &[("transactional.id", "described")]);
    transactional
        .init_transactions(Duration::from_secs(15))
        .expect("init_transactions");
    transactional.begin_transaction().expect("begin");
    transactional
        .send(record("c"), Duration::from_secs(15))
        .await
        .expect("transactional send");

    let args = ["describe-producers", "--topic", "txns", "--partition", "0"];
    let json: serde_json::Value =
        serde_json::from_str(tool(&[&args[..], &["--output", "json"]].concat()).ok()).unwrap();
    let mut found: Vec<(i64, i64, i64)> = json
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            assert!(p["last_timestamp"].as_i64() > Some(0));
            (
                p["producer_epoch"].as_i64().unwrap(),
                p["last_sequence"].as_i64().unwrap(),
                p["current_transaction_start_offset"].as_i64().unwrap(),
            )
        })
        .collect();
    found.sort_unstable();
    assert_eq!(found, [(0, 0, 2), (0, 1, -1)]);
    let table = tool(&args);
    let lines: Vec<&str> = table.ok().lines().collect();
    assert_eq!(
        lines[0].split_whitespace().collect::<Vec<_>>(),
        [
            "ProducerId",
            "ProducerEpoch",
            "LatestCoordinatorEpoch",
            "LastSequence",
            "LastTimestamp",
            "CurrentTransactionStartOffset"
        ]
    );
    assert_eq!(lines.len(), 3);
    assert!(lines.iter().any(|l| l.ends_with("None")), "{lines:?}");

    for (topic, partition, error) in [
        ("missing", "0", "UnknownTopicOrPartition"),
        ("txns", "5", "no partition 5"),
    ] {
        let refused = tool(&[
            "describe-producers",
            "--topic",
            topic,
            "--partition",
            partition,
        ]);
        assert_eq!(refused.code, Some(1), "{}", refused.stdout);
        assert_eq!(refused.stderr.lines().count(), 1, "{}", refused.stderr);
        assert!(refused.stderr.contains(error), "{}", refused.stderr);
    }
    transactional
        .abort_transaction(Duration::from_secs(15))
        .expect("abort");
}

/// The last stable offset of `topic`-0 (ListOffsets latest, read_committed).
fn last_stable_offset(port: u16, topic: &str) -> i64 {
    use kafka_protocol::messages::list_offsets_request::{ListOffsetsPartition, ListOffsetsTopic};
    use kafka_protocol::messages::{BrokerId, ListOffsetsRequest, TopicName};
    let request = ListOffsetsRequest::default()
        .with_replica_id(BrokerId(-1))
        .with_isolation_level(1)
        .with_topics(vec![ListOffsetsTopic::default()
            .with_name(TopicName(topic.to_string().into()))
            .with_partitions(vec![ListOffsetsPartition::default()
                .with_partition_index(0)
                .with_timestamp(-1)
                .with_current_leader_epoch(-1)])]);
    let response = common::RawClient::connect(port)
        .call(&request, 7)
        .expect("list offsets");
    let p = &response.topics[0].partitions[0];
    assert_eq!(p.error_code, 0);
    p.offset
}

/// kafka-transactions.sh abort: a transaction left open holds back the last
/// stable offset until the tool has the leader write its abort marker;
/// then a read_committed consumer reads past it, without its record.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn abort_transaction_ends_a_hanging_transaction() {
    use rdkafka::consumer::{BaseConsumer, Consumer};
    use rdkafka::producer::{FutureRecord, Producer};
    use rdkafka::Message;
    use std::time::Duration;

    let broker = BrokerProcess::start(&[]);
    let bs = broker.bootstrap();
    let tool = |args: &[&str]| run_tool(BIN, &bs, args, b"");
    tool(&["create", "--topic", "hung", "--partitions", "1"]).ok();
    let record = |value: &'static str| {
        FutureRecord::<(), _>::to("hung")
            .partition(0)
            .payload(value)
    };
    // The transaction stays open (the coordinator would abort it only
    // after this timeout): its producer is never told to end it.
    let hanging = common::producer(
        &bs,
        &[
            ("transactional.id", "hanging"),
            ("transaction.timeout.ms", "900000"),
        ],
    );
    hanging
        .init_transactions(Duration::from_secs(15))
        .expect("init_transactions");
    hanging.begin_transaction().expect("begin");
    hanging
        .send(
            record("in the hanging transaction"),
            Duration::from_secs(15),
        )
        .await
        .expect("transactional send");
    common::producer(&bs, &[])
        .send(record("after it"), Duration::from_secs(15))
        .await
        .expect("plain send");
    assert_eq!(last_stable_offset(broker.port, "hung"), 0);

    // Named by where it started, as describe-producers shows it.
    let missing = tool(&[
        "abort-transaction",
        "--topic",
        "hung",
        "--partition",
        "0",
        "--start-offset",
        "1",
    ]);
    assert_eq!(missing.code, Some(1));
    assert!(
        missing
            .stderr
            .contains("no open transaction starts at offset 1"),
        "{}",
        missing.stderr
    );
    let aborted = tool(&[
        "abort-transaction",
        "--topic",
        "hung",
        "--partition",
        "0",
        "--start-offset",
        "0",
    ]);
    assert!(aborted
        .ok()
        .starts_with("Aborted the transaction of producer "));
    // Records 0 and 1, then the abort marker.
    assert_eq!(last_stable_offset(broker.port, "hung"), 3);

    let consumer: BaseConsumer = common::client_config(&bs)
        .set("group.id", "after-abort")
        .set("isolation.level", "read_committed")
        .set("auto.offset.reset", "earliest")
        .create()
        .expect("consumer");
    consumer.subscribe(&["hung"]).expect("subscribe");
    let mut read = Vec::new();
    common::wait_until(Duration::from_secs(30), || {
        if let Some(Ok(m)) = consumer.poll(Duration::from_millis(200)) {
            read.push(String::from_utf8_lossy(m.payload().unwrap_or_default()).to_string());
        }
        !read.is_empty()
    });
    assert_eq!(read, ["after it"]);
    drop(hanging);
}
