//! The tools' group and offset work through librdkafka, where the tools'
//! own protocol client cannot honour the security settings: it speaks
//! PLAIN and SCRAM but not OAUTHBEARER (`client::wire::supports`), so on a
//! SASL_PLAINTEXT listener with OAUTHBEARER every call below takes the
//! librdkafka path, and would fail naming the mechanism if it did not.
//! group-inspect list, describe (lag, LAG-TIME, also past an aborted
//! transaction, members, state),
//! reset-offsets (refused, dry run, --execute), delete-offsets and delete,
//! topic-admin offsets and acl-admin --list, each checked for what it
//! shows or changes. Also TLS without ssl.ca.location, which the tools'
//! own client refuses: librdkafka then trusts the CA as OpenSSL finds it.

use crate::harness;

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use harness::pki::{pem_keystore, write, Ca};
use harness::{poll_until, run_tool, wait_until, BrokerProcess, ToolOutput};
use rcgen::DnType;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer};
use rdkafka::producer::{
    BaseRecord, DefaultProducerContext, FutureProducer, FutureRecord, Producer, ThreadedProducer,
};
use rdkafka::{ClientConfig, Offset, TopicPartitionList};
use serde_json::Value;

const INSPECT: &str = env!("CARGO_BIN_EXE_group-inspect");
const PRODUCER: &str = env!("CARGO_BIN_EXE_console-producer");
const CONSUMER: &str = env!("CARGO_BIN_EXE_console-consumer");
const TOPIC_ADMIN: &str = env!("CARGO_BIN_EXE_topic-admin");
const ACL_ADMIN: &str = env!("CARGO_BIN_EXE_acl-admin");
const HOUR_MS: i64 = 3_600_000;

/// A broker whose only listener is SASL_PLAINTEXT with OAUTHBEARER
/// (unsecured tokens, as Kafka's default validator takes them).
fn oauth_broker() -> BrokerProcess {
    BrokerProcess::start(&[
        "listeners=SASL_PLAINTEXT://127.0.0.1:0",
        "sasl.enabled.mechanisms=OAUTHBEARER",
        "group.initial.rebalance.delay.ms=0",
    ])
}

const CLIENT_PROPERTIES: &[(&str, &str)] = &[
    ("security.protocol", "SASL_PLAINTEXT"),
    ("sasl.mechanism", "OAUTHBEARER"),
    ("enable.sasl.oauthbearer.unsecure.jwt", "true"),
    ("sasl.oauthbearer.config", "principal=admin"),
];

fn client(bs: &str) -> ClientConfig {
    let mut config = harness::client_config(bs);
    for (k, v) in CLIENT_PROPERTIES {
        config.set(*k, *v);
    }
    config
}

/// The tools' side: a --command-config file of the same settings.
struct Tools {
    bs: String,
    properties: String,
    _dir: tempfile::TempDir,
}

impl Tools {
    fn new(bs: &str) -> Tools {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("client.properties");
        let text: String = CLIENT_PROPERTIES
            .iter()
            .map(|(k, v)| format!("{k}={v}\n"))
            .collect();
        std::fs::write(&path, text).unwrap();
        Tools {
            bs: bs.to_string(),
            properties: path.to_str().unwrap().to_string(),
            _dir: dir,
        }
    }

    fn run(&self, bin: &str, args: &[&str]) -> ToolOutput {
        let all = [&["--command-config", self.properties.as_str()][..], args].concat();
        run_tool(bin, &self.bs, &all, b"")
    }

    fn inspect(&self, args: &[&str]) -> ToolOutput {
        self.run(INSPECT, args)
    }

    fn described(&self, group: &str) -> Value {
        let out = self.inspect(&["describe", "-g", group, "--output", "json"]);
        let mut all: Vec<Value> = serde_json::from_str(out.ok()).expect("describe prints JSON");
        all.remove(0)
    }

    fn state(&self, group: &str) -> String {
        let out = self.inspect(&["describe", "-g", group, "--state", "--output", "json"]);
        let all: Vec<Value> = serde_json::from_str(out.ok()).expect("JSON");
        all[0]["state"].as_str().unwrap_or_default().to_string()
    }

    /// (partition, committed offset, lag) of each partition of a group.
    fn committed(&self, group: &str) -> Vec<(i64, Option<i64>, Option<i64>)> {
        self.described(group)["partitions"]
            .as_array()
            .expect("partitions")
            .iter()
            .map(|p| {
                (
                    p["partition"].as_i64().unwrap(),
                    p["current_offset"].as_i64(),
                    p["lag"].as_i64(),
                )
            })
            .collect()
    }
}

/// Five records in each of two partitions, stamped an hour ago.
async fn produce_hour_old(bs: &str, topic: &str) {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    let producer: FutureProducer = client(bs)
        .set("message.timeout.ms", "15000")
        .create()
        .expect("producer");
    for i in 0..10 {
        let value = i.to_string();
        let record = FutureRecord::<(), _>::to(topic)
            .partition(i % 2)
            .timestamp(now - HOUR_MS)
            .payload(&value);
        producer
            .send(record, Duration::from_secs(15))
            .await
            .expect("delivered");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn group_inspect_works_through_librdkafka_on_oauthbearer() {
    let broker = oauth_broker();
    let bs = broker.bootstrap();
    let tools = Tools::new(&bs);
    tools
        .run(
            TOPIC_ADMIN,
            &["create", "--topic", "fallback", "--partitions", "2"],
        )
        .ok();
    produce_hour_old(&bs, "fallback").await;

    let member = harness::Member::new(
        client(&bs)
            .set("group.id", "fb")
            .set("enable.auto.commit", "false")
            .set("auto.offset.reset", "earliest")
            .create()
            .expect("consumer"),
    );
    member.subscribe(&["fallback"]).expect("subscribe");
    let seen = poll_until(&[&member], Duration::from_secs(30), |s| s[0].len() == 10);
    assert_eq!(seen[0].len(), 10, "the member reads every record");
    let mut commit = TopicPartitionList::new();
    for p in 0..2 {
        commit
            .add_partition_offset("fallback", p, Offset::Offset(2))
            .unwrap();
    }
    member.commit(&commit, CommitMode::Sync).expect("commit");

    // describe's lag view: DescribeConsumerGroups, ListConsumerGroupOffsets
    // and ListOffsets through librdkafka's admin client, LAG-TIME through
    // a librdkafka consumer.
    let described = tools.described("fb");
    assert_eq!(described["state"], "Stable");
    let owner = described["members"][0]["member_id"].as_str().unwrap();
    for p in described["partitions"].as_array().unwrap() {
        assert_eq!(
            (&p["current_offset"], &p["log_end_offset"], &p["lag"]),
            (&Value::from(2), &Value::from(5), &Value::from(3)),
            "{p}"
        );
        assert_eq!(p["consumer_id"], owner);
        let age = p["lag_time_ms"].as_i64().expect("a lag time");
        assert!((HOUR_MS..HOUR_MS + 300_000).contains(&age), "{age}");
    }
    let members = tools.inspect(&["describe", "-g", "fb", "--members"]);
    let row = members
        .ok()
        .lines()
        .find(|l| l.starts_with("fb "))
        .unwrap_or_else(|| panic!("a member row in {}", members.stdout));
    assert!(row.ends_with("fallback(0,1)"), "{row}");
    let listed: Vec<Value> =
        serde_json::from_str(tools.inspect(&["list", "--output", "json"]).ok()).unwrap();
    assert!(
        listed
            .iter()
            .any(|g| g["group_id"] == "fb" && g["state"] == "Stable"),
        "{listed:?}"
    );

    let refused = tools.inspect(&[
        "reset-offsets",
        "-g",
        "fb",
        "--all-topics",
        "--to-earliest",
        "--execute",
    ]);
    assert_eq!(refused.code, Some(1));
    assert!(
        refused.stderr.contains("inactive") && refused.stderr.contains("Stable"),
        "{}",
        refused.stderr
    );

    drop(member);
    assert!(
        wait_until(Duration::from_secs(30), || tools.state("fb") == "Empty"),
        "the group empties when its member leaves"
    );

    // A dry run changes nothing; --execute commits (AlterConsumerGroupOffsets).
    let plan = tools.inspect(&[
        "reset-offsets",
        "-g",
        "fb",
        "--topic",
        "fallback",
        "--to-latest",
    ]);
    assert!(plan.stderr.contains("Dry run"), "{}", plan.stderr);
    assert_eq!(
        tools.committed("fb"),
        [(0, Some(2), Some(3)), (1, Some(2), Some(3))]
    );
    tools
        .inspect(&[
            "reset-offsets",
            "-g",
            "fb",
            "--topic",
            "fallback",
            "--to-latest",
            "--execute",
        ])
        .ok();
    assert_eq!(
        tools.committed("fb"),
        [(0, Some(5), Some(0)), (1, Some(5), Some(0))]
    );

    // delete-offsets (DeleteConsumerGroupOffsets), then delete (DeleteGroups).
    tools
        .inspect(&["delete-offsets", "-g", "fb", "-t", "fallback:0", "-y"])
        .ok();
    assert_eq!(tools.committed("fb"), [(1, Some(5), Some(0))]);
    tools.inspect(&["delete", "-g", "fb", "-y"]).ok();
    let gone = tools.inspect(&["describe", "-g", "fb"]);
    assert_eq!(gone.code, Some(1));
    assert!(gone.stderr.contains("does not exist"), "{}", gone.stderr);
}

/// LAG-TIME through the librdkafka consumer skips an aborted transaction
/// as the own client's read_committed Fetch does.
#[test]
fn lag_time_through_librdkafka_skips_aborted_transactions() {
    let broker = oauth_broker();
    let bs = broker.bootstrap();
    let tools = Tools::new(&bs);
    tools
        .run(
            TOPIC_ADMIN,
            &["create", "--topic", "txns", "--partitions", "1"],
        )
        .ok();
    let producer: ThreadedProducer<DefaultProducerContext> = client(&bs)
        .set("transactional.id", "lag-time")
        .set("message.timeout.ms", "15000")
        .create()
        .expect("transactional producer");
    let timeout = Duration::from_secs(15);
    producer.init_transactions(timeout).expect("init");
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    for (age, commit) in [(2 * HOUR_MS, false), (HOUR_MS, true)] {
        producer.begin_transaction().expect("begin");
        producer
            .send(
                BaseRecord::<(), _>::to("txns")
                    .partition(0)
                    .timestamp(now - age)
                    .payload("v"),
            )
            .map_err(|(e, _)| e)
            .expect("enqueue");
        producer.flush(timeout).expect("flush");
        if commit {
            producer.commit_transaction(timeout).expect("commit");
        } else {
            producer.abort_transaction(timeout).expect("abort");
        }
    }
    let committer: BaseConsumer = client(&bs)
        .set("group.id", "txn-readers")
        .create()
        .expect("consumer");
    let mut offsets = TopicPartitionList::new();
    offsets
        .add_partition_offset("txns", 0, Offset::Offset(0))
        .unwrap();
    committer
        .commit(&offsets, CommitMode::Sync)
        .expect("commit");
    let described = tools.described("txn-readers");
    let partition = &described["partitions"][0];
    assert_eq!(partition["lag"], 4, "{partition}");
    let age = partition["lag_time_ms"].as_i64().expect("a lag time");
    assert!(
        (HOUR_MS..HOUR_MS + 300_000).contains(&age),
        "the committed record's hour, not the aborted one's two: {age}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn topic_admin_offsets_work_through_librdkafka_on_oauthbearer() {
    let broker = oauth_broker();
    let bs = broker.bootstrap();
    let tools = Tools::new(&bs);
    tools
        .run(
            TOPIC_ADMIN,
            &["create", "--topic", "fallback", "--partitions", "2"],
        )
        .ok();
    produce_hour_old(&bs, "fallback").await;
    tools
        .run(
            TOPIC_ADMIN,
            &[
                "delete-records",
                "--topic",
                "fallback",
                "--partition",
                "1",
                "--offset",
                "3",
                "--yes",
            ],
        )
        .ok();

    let offsets = |args: &[&str]| {
        let all = [&["offsets", "fallback"][..], args].concat();
        tools.run(TOPIC_ADMIN, &all).ok().to_string()
    };
    assert_eq!(offsets(&[]), "fallback:0:5\nfallback:1:5\n");
    assert_eq!(
        offsets(&["--time", "earliest"]),
        "fallback:0:0\nfallback:1:3\n"
    );
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    let two_hours_ago = (now - 2 * HOUR_MS).to_string();
    assert_eq!(
        offsets(&["--partitions", "0", "--time", &two_hours_ago]),
        "fallback:0:0\n"
    );
    let later = (now + HOUR_MS).to_string();
    assert_eq!(
        offsets(&["--partitions", "0", "--time", &later]),
        "fallback:0:-1\n"
    );
}

/// acl-admin lists ACLs through librdkafka there (the own connection is
/// preferred, for DescribeAcls' error code, but cannot log in); USER
/// resources, which only the own connection can name, are refused with
/// the reason.
#[test]
fn acl_admin_lists_through_librdkafka_on_oauthbearer() {
    let broker = BrokerProcess::start(&[
        "listeners=SASL_PLAINTEXT://127.0.0.1:0",
        "sasl.enabled.mechanisms=OAUTHBEARER",
        "authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer",
        "super.users=User:admin",
    ]);
    let tools = Tools::new(&broker.bootstrap());
    let acl_admin = |args: &[&str]| tools.run(ACL_ADMIN, args);
    acl_admin(&[
        "--add",
        "--allow-principal",
        "User:app",
        "--operation",
        "Read",
        "--topic",
        "orders",
    ])
    .ok();
    let listed = acl_admin(&["--list", "--topic", "orders"]);
    let rows: Vec<Vec<&str>> = listed
        .ok()
        .lines()
        .skip(2)
        .map(|l| l.split_whitespace().collect())
        .collect();
    assert_eq!(
        rows,
        [["TOPIC", "orders", "LITERAL", "User:app", "*", "READ", "ALLOW"]]
    );
    let refused = acl_admin(&["--list", "--user-principal", "User:app"]);
    assert_eq!(refused.code, Some(1));
    assert!(
        refused
            .stderr
            .contains("which does not support these security settings"),
        "{}",
        refused.stderr
    );
}

/// Runs a tool over SSL with no ssl.ca.location, trusting what
/// `SSL_CERT_FILE` names (nothing of the caller's own OpenSSL settings).
fn over_tls(
    bin: &str,
    bs: &str,
    ca_file: Option<&std::path::Path>,
    args: &[&str],
    stdin: &[u8],
) -> ToolOutput {
    let mut command = Command::new(bin);
    command
        .args([
            "--bootstrap-server",
            bs,
            "-X",
            "security.protocol=ssl",
            "--timeout",
            "30000",
        ])
        .args(args)
        .env_remove("SSL_CERT_FILE")
        .env_remove("SSL_CERT_DIR")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if let Some(ca) = ca_file {
        command.env("SSL_CERT_FILE", ca);
    }
    let mut child = command
        .spawn()
        .unwrap_or_else(|e| panic!("spawn {bin}: {e}"));
    child.stdin.take().unwrap().write_all(stdin).unwrap();
    let out = child.wait_with_output().expect("wait for tool");
    ToolOutput {
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

#[test]
fn tls_trusts_the_ca_that_ssl_cert_file_names_and_says_why_not_without_it() {
    let tmp = tempfile::tempdir().unwrap();
    let ca = Ca::new("fallback test CA");
    let ca_file = write(tmp.path(), "ca.pem", ca.pem());
    let keystore = pem_keystore(tmp.path(), &ca.issue(&[(DnType::CommonName, "broker")], 1));
    let keystore = format!("ssl.keystore.location={}", keystore.display());
    let broker = BrokerProcess::start(&["listeners=SSL://127.0.0.1:0", &keystore]);
    let bs = format!("127.0.0.1:{}", broker.listener_port("SSL"));
    let trusted = Some(ca_file.as_path());

    over_tls(
        TOPIC_ADMIN,
        &bs,
        trusted,
        &["create", "--topic", "tls", "--partitions", "1"],
        b"",
    )
    .ok();
    let sent = over_tls(PRODUCER, &bs, trusted, &["--topic", "tls"], b"a\nb\nc\n");
    sent.ok();
    assert!(
        sent.stderr.starts_with("Sent 3 records (0 failed)"),
        "{}",
        sent.stderr
    );
    let read = over_tls(
        CONSUMER,
        &bs,
        trusted,
        &["--topic", "tls", "--from-beginning", "--max-messages", "3"],
        b"",
    );
    assert_eq!(read.ok(), "a\nb\nc\n");
    let offsets = over_tls(
        TOPIC_ADMIN,
        &bs,
        trusted,
        &["offsets", "--topic", "tls"],
        b"",
    );
    assert_eq!(offsets.ok(), "tls:0:3\n");

    // Without the CA the system's store is asked, which does not hold it:
    // one line naming the certificate, at once rather than after --timeout.
    for (bin, args, stdin) in [
        (PRODUCER, &["--topic", "tls"][..], &b"d\n"[..]),
        (TOPIC_ADMIN, &["offsets", "--topic", "tls"][..], &b""[..]),
    ] {
        let started = Instant::now();
        let refused = over_tls(bin, &bs, None, args, stdin);
        assert_eq!(refused.code, Some(1), "{bin}: {}", refused.stderr);
        assert_eq!(
            refused.stderr.lines().count(),
            1,
            "{bin}: {}",
            refused.stderr
        );
        assert!(
            refused.stderr.contains("cannot connect to the cluster at")
                && refused.stderr.contains("certificate verify failed"),
            "{bin}: {}",
            refused.stderr
        );
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "{bin} waited out --timeout: {:?}",
            started.elapsed()
        );
    }
    let end = over_tls(
        TOPIC_ADMIN,
        &bs,
        trusted,
        &["offsets", "--topic", "tls"],
        b"",
    );
    assert_eq!(end.ok(), "tls:0:3\n", "the refused producer sent nothing");
}
