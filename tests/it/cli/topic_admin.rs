//! `topic-admin` against a broker the test starts: create, list, describe,
//! alter and delete, and one clear line for every mistake.

use crate::harness;

use harness::{run_tool, BrokerProcess};

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
        shrink.stderr.contains("InvalidPartitions")
            && shrink.stderr.contains("currently has 5 partitions"),
        "the broker's message is shown: {}",
        shrink.stderr
    );
    let misconfigured = tool(&[
        "create",
        "--topic",
        "misconfigured",
        "--config",
        "cleanup.policy=bogus",
    ]);
    assert_eq!(misconfigured.code, Some(1));
    assert!(
        misconfigured.stderr.contains("InvalidConfig")
            && misconfigured.stderr.contains("cleanup.policy")
            && misconfigured.stderr.lines().count() == 1,
        "one line naming the key: {}",
        misconfigured.stderr
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
    // A port nobody listens on: one line with the reason, at once rather
    // than after the timeout.
    let asked = std::time::Instant::now();
    let unreachable = run_tool(BIN, "127.0.0.1:1", &["list", "--timeout", "30000"], b"");
    assert_eq!(unreachable.code, Some(1));
    assert_eq!(
        unreachable.stderr,
        "topic-admin: cannot reach the cluster at 127.0.0.1:1: connection refused (is a broker listening there?)\n"
    );
    assert!(
        asked.elapsed() < std::time::Duration::from_secs(10),
        "a refused connection is not waited on: {:?}",
        asked.elapsed()
    );
    let bad_timeout = run_tool(BIN, "127.0.0.1:1", &["list", "--timeout", "0"], b"");
    assert_eq!(bad_timeout.code, Some(2), "{}", bad_timeout.stderr);
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
    let idempotent = harness::producer(&bs, &[("enable.idempotence", "true")]);
    for value in ["a", "b"] {
        idempotent
            .send(record(value), Duration::from_secs(15))
            .await
            .expect("idempotent send");
    }
    let transactional = harness::producer(&bs, &[("transactional.id", "described")]);
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
    // The topic as rpk takes it, first.
    let table = tool(&["describe-producers", "txns", "--partition", "0"]);
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
    let response = harness::RawClient::connect(port)
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
    use rdkafka::consumer::Consumer;
    use rdkafka::producer::{FutureRecord, Producer};
    use rdkafka::Message;
    use std::time::Duration;

    let broker = BrokerProcess::start(&["group.initial.rebalance.delay.ms=0"]);
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
    let hanging = harness::producer(
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
    harness::producer(&bs, &[])
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

    let consumer = harness::Member::new(
        harness::client_config(&bs)
            .set("group.id", "after-abort")
            .set("isolation.level", "read_committed")
            .set("auto.offset.reset", "earliest")
            .create()
            .expect("consumer"),
    );
    consumer.subscribe(&["hung"]).expect("subscribe");
    let mut read = Vec::new();
    harness::wait_until(Duration::from_secs(30), || {
        if let Some(Ok(m)) = consumer.poll(Duration::from_millis(200)) {
            read.push(String::from_utf8_lossy(m.payload().unwrap_or_default()).to_string());
        }
        !read.is_empty()
    });
    assert_eq!(read, ["after it"]);
    drop(hanging);
}

#[test]
fn topics_are_named_positionally_as_rpk_does() {
    let broker = BrokerProcess::start(&["log.retention.ms=7200000"]);
    let bs = broker.bootstrap();
    let tool = |args: &[&str]| run_tool(BIN, &bs, args, b"");

    assert_eq!(
        tool(&["create", "orders", "--partitions", "2"]).ok(),
        "Created topic orders.\n"
    );
    tool(&["create", "payments"]).ok();
    assert_eq!(
        tool(&["alter", "orders", "--partitions", "3"]).ok(),
        "Topic orders now has 3 partitions.\n"
    );
    let described = tool(&["describe", "orders"]);
    assert!(
        described.ok().contains("Topic: orders\tPartitionCount: 3"),
        "{}",
        described.stdout
    );
    tool(&["alter", "orders", "--config", "cleanup.policy=compact"]).ok();
    let all = tool(&["describe", "orders", "--all-configs"]);
    let lines: Vec<&str> = all.ok().lines().collect();
    for expected in [
        "\tcleanup.policy=compact (DYNAMIC_TOPIC_CONFIG)",
        "\tretention.ms=7200000 (STATIC_BROKER_CONFIG)",
        "\tmax.message.bytes=1048588 (DEFAULT_CONFIG)",
    ] {
        assert!(lines.contains(&expected), "{expected} in {}", all.stdout);
    }
    let json: serde_json::Value = serde_json::from_str(
        tool(&["describe", "orders", "--all-configs", "--output", "json"]).ok(),
    )
    .expect("json");
    assert!(json[0]["all_configs"]
        .as_array()
        .expect("all_configs")
        .contains(&serde_json::json!({"name": "retention.ms", "value": "7200000", "source": "STATIC_BROKER_CONFIG"})));

    // Both ways at once is a mistake, not a guess.
    for both in [
        &["create", "refunds", "--topic", "refunds"][..],
        &[
            "describe-producers",
            "orders",
            "--topic",
            "orders",
            "--partition",
            "0",
        ],
        &[
            "abort-transaction",
            "orders",
            "-t",
            "orders",
            "--partition",
            "0",
            "--start-offset",
            "0",
        ],
    ] {
        let both = tool(both);
        assert_eq!(both.code, Some(2), "{}", both.stderr);
        assert_eq!(both.stderr.lines().count(), 1, "{}", both.stderr);
        assert!(
            both.stderr.contains("cannot be used with"),
            "{}",
            both.stderr
        );
    }
    for neither in [
        &["create"][..],
        &["describe-producers", "--partition", "0"],
        &[
            "abort-transaction",
            "--partition",
            "0",
            "--start-offset",
            "0",
        ],
    ] {
        let neither = tool(neither);
        assert_eq!(neither.code, Some(2), "{}", neither.stderr);
    }

    // A regular expression deletes what it matches, after a prompt naming them.
    tool(&["create", "orders-eu"]).ok();
    let unconfirmed = tool(&["delete", "orders.*"]);
    assert_eq!(unconfirmed.code, Some(1), "{}", unconfirmed.stderr);
    assert!(
        unconfirmed.stderr.contains("orders, orders-eu"),
        "{}",
        unconfirmed.stderr
    );
    assert_eq!(
        tool(&["delete", "orders.*", "--yes"]).ok(),
        "Deleted topic orders.\nDeleted topic orders-eu.\n"
    );
    let nothing = tool(&["delete", "--topic", "nothing.*", "--yes"]);
    assert_eq!(nothing.code, Some(1));
    assert!(
        nothing.stderr.contains("no such topic: nothing.*"),
        "{}",
        nothing.stderr
    );
    tool(&["delete", "payments", "--yes"]).ok();
    assert_eq!(tool(&["list", "--exclude-internal"]).ok(), "");
}

#[tokio::test(flavor = "multi_thread")]
async fn offsets_are_listed_as_kafka_get_offsets_does() {
    use rdkafka::producer::FutureRecord;
    let broker = BrokerProcess::start(&[]);
    let bs = broker.bootstrap();
    let tool = |args: &[&str]| run_tool(BIN, &bs, args, b"");
    tool(&["create", "orders", "--partitions", "2"]).ok();
    let producer = harness::producer(&bs, &[]);
    // Record timestamps 1000, 3000, 2000 in partition 0; partition 1 empty.
    for (i, ts) in [1000, 3000, 2000].into_iter().enumerate() {
        producer
            .send(
                FutureRecord::to("orders")
                    .partition(0)
                    .payload(&format!("v{i}"))
                    .key("k")
                    .timestamp(ts),
                std::time::Duration::from_secs(10),
            )
            .await
            .expect("delivered");
    }
    assert_eq!(
        tool(&["offsets", "orders"]).ok(),
        "orders:0:3\norders:1:0\n"
    );
    assert_eq!(
        tool(&["offsets", "--topic", "orders", "--time", "earliest"]).ok(),
        "orders:0:0\norders:1:0\n"
    );
    assert_eq!(
        tool(&["offsets", "orders", "--partitions", "0", "--time", "1500"]).ok(),
        "orders:0:1\n"
    );
    assert_eq!(
        tool(&["offsets", "orders", "--partitions", "0", "--time", "9999"]).ok(),
        "orders:0:-1\n",
        "no record that late"
    );
    assert_eq!(
        tool(&[
            "offsets",
            "orders",
            "--partitions",
            "0",
            "--time",
            "max-timestamp"
        ])
        .ok(),
        "orders:0:1\n"
    );
    let json: serde_json::Value =
        serde_json::from_str(tool(&["offsets", "ord.*", "--time", "-1", "--output", "json"]).ok())
            .expect("json");
    assert_eq!(
        json[0],
        serde_json::json!({"topic": "orders", "partition": 0, "offset": 3})
    );
    let missing = tool(&["offsets", "orders", "--partitions", "0,7"]);
    assert_eq!(missing.code, Some(1));
    assert_eq!(missing.stderr, "topic-admin: no such partition: 7\n");
    let wrong = tool(&["offsets", "orders", "--time", "yesterday"]);
    assert_eq!(wrong.code, Some(2));
    assert!(
        wrong
            .stderr
            .contains("expected earliest, latest, max-timestamp"),
        "{}",
        wrong.stderr
    );

    // kafka-delete-records.sh: the log start moves up, and offsets shows it.
    let unconfirmed = tool(&[
        "delete-records",
        "-t",
        "orders",
        "--partition",
        "0",
        "--offset",
        "2",
    ]);
    assert_eq!(
        unconfirmed.code,
        Some(1),
        "stdin is no terminal: {}",
        unconfirmed.stderr
    );
    assert!(
        unconfirmed.stderr.contains("orders-0 (before offset 2)"),
        "{}",
        unconfirmed.stderr
    );
    assert_eq!(
        tool(&[
            "delete-records",
            "-t",
            "orders",
            "--partition",
            "0",
            "--offset",
            "2",
            "--yes"
        ])
        .ok(),
        "Records delete operation completed:\npartition: orders-0\tlow_watermark: 2\n"
    );
    assert_eq!(
        tool(&["offsets", "orders", "--time", "earliest"]).ok(),
        "orders:0:2\norders:1:0\n"
    );
    let plan = tempfile::NamedTempFile::new().expect("temp file");
    std::fs::write(
        plan.path(),
        r#"{"partitions":[{"topic":"orders","partition":0,"offset":-1}],"version":1}"#,
    )
    .expect("write plan");
    let path = plan.path().to_str().expect("utf-8 path");
    assert_eq!(
        tool(&["delete-records", "--offset-json-file", path, "-y"]).ok(),
        "Records delete operation completed:\npartition: orders-0\tlow_watermark: 3\n"
    );
    let beyond = tool(&[
        "delete-records",
        "-t",
        "orders",
        "--partition",
        "1",
        "--offset",
        "5",
        "-y",
    ]);
    assert_eq!(beyond.code, Some(1), "{}", beyond.stderr);
    assert!(
        beyond
            .stdout
            .contains("partition: orders-1\terror: OffsetOutOfRange"),
        "{}",
        beyond.stdout
    );
}

#[test]
fn the_cluster_lists_its_brokers_and_their_configs() {
    let broker = BrokerProcess::start(&["broker.rack=r1"]);
    let bs = broker.bootstrap();
    let tool = |args: &[&str]| run_tool(BIN, &bs, args, b"");

    let listed = tool(&["cluster"]);
    let rows: Vec<Vec<&str>> = listed
        .ok()
        .lines()
        .map(|l| l.split_whitespace().collect())
        .collect();
    assert!(
        rows[0][0] == "Cluster:" && rows[0][2] == "Controller:" && rows[0][3] == "1",
        "{rows:?}"
    );
    assert_eq!(rows[2], ["ID", "HOST:PORT", "RACK", "CONTROLLER"]);
    assert_eq!(rows[3], ["1", bs.as_str(), "r1", "yes"]);

    let json: serde_json::Value =
        serde_json::from_str(tool(&["cluster", "--output", "json"]).ok()).expect("json");
    assert_eq!(json["controller_id"], 1);
    assert_eq!(
        json["brokers"],
        serde_json::json!([{"id": 1, "host": "127.0.0.1", "port": broker.port, "rack": "r1"}])
    );

    let configs = tool(&["cluster", "--configs"]);
    let text = configs.ok();
    assert!(text.contains("\nAll configs for broker 1 are:\n"), "{text}");
    assert!(
        text.contains(
            "  broker.rack=r1 sensitive=false synonyms={STATIC_BROKER_CONFIG:broker.rack=r1}\n"
        ),
        "{text}"
    );
    assert!(
        text.contains(
            "  num.partitions=1 sensitive=false synonyms={DEFAULT_CONFIG:num.partitions=1}\n"
        ),
        "{text}"
    );
}

/// Flags typed from Kafka's scripts get the Gregor way in one line, and
/// clap's did-you-mean tip is kept; both exit 2 before any connection.
#[test]
fn kafka_habits_and_typos_get_a_pointer() {
    let habit = run_tool(BIN, "127.0.0.1:1", &["--create", "--topic", "t"], b"");
    assert_eq!(habit.code, Some(2));
    assert_eq!(
        habit.stderr,
        "topic-admin: Kafka's --create is a subcommand here: topic-admin create ... (see --help)\n"
    );
    let producer = run_tool(
        env!("CARGO_BIN_EXE_console-producer"),
        "127.0.0.1:1",
        &["-t", "t", "--producer-property", "acks=all"],
        b"",
    );
    assert_eq!(producer.code, Some(2));
    assert!(
        producer.stderr.contains("-X KEY=VALUE") && producer.stderr.lines().count() == 1,
        "{}",
        producer.stderr
    );
    let typo = run_tool(BIN, "127.0.0.1:1", &["create", "--topik", "t"], b"");
    assert_eq!(typo.code, Some(2));
    assert!(
        typo.stderr
            .contains("tip: a similar argument exists: '--topic'")
            && typo.stderr.lines().count() == 1,
        "{}",
        typo.stderr
    );
}

/// At a terminal, delete asks and acts only once Enter is hit: a typed
/// "y" alone deletes nothing, and "es" plus Enter after it confirm,
/// leaving nothing of the answer to the shell.
#[test]
fn delete_at_a_terminal_waits_for_enter() {
    use std::process::{Command, Stdio};

    let broker = BrokerProcess::start(&[]);
    let bs = broker.bootstrap();
    let tool = |args: &[&str]| run_tool(BIN, &bs, args, b"");
    tool(&["create", "--topic", "asked"]).ok();
    // The tool runs on a pseudo-terminal that Python's pty module opens;
    // the script sends "y", waits, then "es" and Enter, and reports.
    let script = r#"
import os, pty, select, sys, time
pid, fd = pty.fork()
if pid == 0:
    os.execv(sys.argv[1], sys.argv[1:])
seen = b""
def read_for(seconds):
    global seen
    end = time.time() + seconds
    while time.time() < end:
        ready, _, _ = select.select([fd], [], [], 0.1)
        if ready:
            try:
                chunk = os.read(fd, 4096)
            except OSError:
                return False
            if not chunk:
                return False
            seen += chunk
    return True
while b"?" not in seen and read_for(0.2):
    pass
os.write(fd, b"y")
alive = read_for(2.0)
sys.stdout.write("after-y:" + ("waiting" if alive and os.waitpid(pid, os.WNOHANG) == (0, 0) else "ended") + "\n")
sys.stdout.flush()
os.write(fd, b"es\r")
read_for(10.0)
_, status = os.waitpid(pid, 0)
sys.stdout.write("exit:%d\n" % os.waitstatus_to_exitcode(status))
"#;
    let python = Command::new("python3")
        .args([
            "-c",
            script,
            BIN,
            "delete",
            "--topic",
            "asked",
            "--bootstrap-server",
            &bs,
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python3 runs the pty");
    let out = python.wait_with_output().expect("python3 exits");
    let report = String::from_utf8_lossy(&out.stdout);
    assert!(
        report.contains("after-y:waiting"),
        "a 'y' without Enter must not act: {report} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(report.contains("exit:0"), "{report}");
    assert!(
        !tool(&["list"]).ok().lines().any(|l| l == "asked"),
        "deleted once Enter was hit"
    );
}
