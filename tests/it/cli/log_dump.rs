//! `log-dump` on the files of a broker the test ran and stopped: records,
//! indexes, the leader-epoch checkpoint, producer snapshots and the
//! internal topics decoded; damage in a copy reported with its byte;
//! `topic-admin describe --log-dirs` against a live broker.

use crate::harness;

use std::path::{Path, PathBuf};
use std::time::Duration;

use harness::{run_tool, BrokerProcess, ToolOutput};
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer};
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::{FutureProducer, FutureRecord, Producer};
use rdkafka::{Offset, TopicPartitionList};

const LOG_DUMP: &str = env!("CARGO_BIN_EXE_log-dump");
const TOPIC_ADMIN: &str = env!("CARGO_BIN_EXE_topic-admin");
const TIMEOUT: Duration = Duration::from_secs(15);

fn dump(args: &[&str]) -> ToolOutput {
    run_tool(LOG_DUMP, "127.0.0.1:1", args, b"")
}

fn segment(dir: &Path, partition_dir: &str) -> PathBuf {
    dir.join(partition_dir).join("00000000000000000000.log")
}

async fn send(
    p: &FutureProducer,
    topic: &str,
    key: &str,
    value: &str,
    headers: Option<OwnedHeaders>,
) {
    let mut record = FutureRecord::to(topic).key(key).payload(value);
    if let Some(h) = headers {
        record = record.headers(h);
    }
    p.send(record, TIMEOUT).await.expect("delivered");
}

/// Three records with keys, one with a header, each in its own batch; a
/// compacted topic; a committed group; a committed transaction.
async fn fill(bs: &str) {
    harness::create_topic(bs, "dumped", 1, &[]).await;
    harness::create_topic(bs, "compacted", 1, &[("cleanup.policy", "compact")]).await;
    let p = harness::producer(bs, &[("linger.ms", "0"), ("enable.idempotence", "true")]);
    for i in 0..3 {
        let headers = (i == 1).then(|| {
            OwnedHeaders::new().insert(Header {
                key: "trace",
                value: Some("t1"),
            })
        });
        send(&p, "dumped", &format!("k{i}"), &format!("v{i}"), headers).await;
    }
    // Tiny segments roll at every batch, and a roll snapshots the producers.
    harness::create_topic(bs, "rolled", 1, &[("segment.bytes", "100")]).await;
    for i in 0..3 {
        send(&p, "rolled", "r", &format!("r{i}"), None).await;
    }
    send(&p, "compacted", "user-1", "alice", None).await;
    send(&p, "compacted", "user-1", "alicia", None).await;

    let consumer: BaseConsumer = harness::client_config(bs)
        .set("group.id", "dump-group")
        .set("enable.auto.commit", "false")
        .create()
        .expect("consumer");
    let mut tpl = TopicPartitionList::new();
    tpl.add_partition_offset("dumped", 0, Offset::Offset(3))
        .expect("tpl");
    consumer.commit(&tpl, CommitMode::Sync).expect("commit");

    let txn: FutureProducer = harness::client_config(bs)
        .set("transactional.id", "dump-txn")
        .create()
        .expect("transactional producer");
    txn.init_transactions(TIMEOUT).expect("init_transactions");
    txn.begin_transaction().expect("begin");
    send(&txn, "dumped", "t", "in-txn", None).await;
    txn.commit_transaction(TIMEOUT).expect("commit");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_stopped_brokers_files_are_dumped_and_damage_is_found() {
    let mut broker = BrokerProcess::start(&[
        "offsets.topic.num.partitions=1",
        "transaction.state.log.num.partitions=1",
    ]);
    fill(&broker.bootstrap()).await;
    broker.stop();
    let dir = broker.dir.clone();
    let log = segment(&dir, "dumped-0");
    let log_arg = log.to_str().unwrap();

    // Batch headers only, in Kafka's words.
    let headers = dump(&["--files", log_arg]);
    let text = headers.ok();
    assert!(
        text.starts_with(&format!("Dumping {log_arg}\nLog starting offset: 0\n")),
        "{text}"
    );
    assert!(
        text.contains("baseOffset: 0 lastOffset: 0 count: 1 "),
        "{text}"
    );
    assert!(text.contains("compresscodec: none"), "{text}");
    assert!(text.contains("isvalid: true"), "{text}");
    assert!(
        !text.contains("| offset:"),
        "records only with --deep-iteration: {text}"
    );
    assert!(
        text.contains("isTransactional: true isControl: false"),
        "{text}"
    );
    assert!(
        text.contains("isTransactional: true isControl: true"),
        "{text}"
    );

    // Every record, keys and values.
    let deep = dump(&["--files", log_arg, "--print-data-log"]);
    let text = deep.ok();
    for i in 0..3 {
        assert!(
            text.contains(&format!("| offset: {i} CreateTime: ")),
            "{text}"
        );
        assert!(text.contains(&format!("key: k{i} payload: v{i}")), "{text}");
    }
    assert!(
        text.contains("keySize: 2 valueSize: 2 sequence: 1 headerKeys: [trace]"),
        "{text}"
    );
    assert!(text.contains("key: t payload: in-txn"), "{text}");
    assert!(
        text.contains("endTxnMarker: COMMIT coordinatorEpoch: "),
        "{text}"
    );

    // JSON names the same batches and records.
    let json: serde_json::Value =
        serde_json::from_str(dump(&["--files", log_arg, "--deep-iteration", "--json"]).ok())
            .expect("json");
    let file = &json["files"][0];
    assert_eq!(file["kind"], "segment");
    assert_eq!(file["damage"], serde_json::json!([]));
    let batches = file["batches"].as_array().expect("batches");
    assert_eq!(
        batches.len(),
        5,
        "three records, the transaction's record and its marker"
    );
    assert_eq!(batches[2]["base_offset"], 2);
    assert_eq!(batches[2]["records"][0]["value_size"], 2);
    assert_eq!(batches[2]["is_valid"], true);
    assert!(
        batches[2]["records"][0].get("key").is_none(),
        "keys only with --print-data-log"
    );

    // The indexes check out against the segment.
    let index = dir.join("dumped-0/00000000000000000000.index");
    let time_index = dir.join("dumped-0/00000000000000000000.timeindex");
    let files = format!("{},{}", index.display(), time_index.display());
    let text = dump(&["--files", &files]).ok().to_string();
    assert!(text.contains("offset: 0 position: 0"), "{text}");
    assert!(text.contains("timestamp: "), "{text}");
    let sane = dump(&["--files", &files, "--index-sanity-check"]);
    assert!(sane
        .ok()
        .contains(&format!("{} passed sanity check.", index.display())));

    // The leader epoch checkpoint and the producers' snapshot.
    let epochs = dir.join("dumped-0/leader-epoch-checkpoint");
    let text = dump(&["--files", epochs.to_str().unwrap()])
        .ok()
        .to_string();
    assert!(text.contains("startOffset: 0"), "{text}");
    // The broker's clean stop snapshotted the log end (offset 3), and the
    // two newest snapshots are kept: the roll-time one at 1 is gone.
    let snapshot = dir.join("rolled-0/00000000000000000003.snapshot");
    let text = dump(&["--files", snapshot.to_str().unwrap()])
        .ok()
        .to_string();
    assert!(text.contains("producerId: "), "{text}");
    assert!(
        text.contains("| firstSequence: 2 lastSequence: 2 firstOffset: 2 lastOffset: 2"),
        "{text}"
    );
    assert!(!dir.join("rolled-0/00000000000000000001.snapshot").exists());

    // The compacted topic's records as they were written.
    let compacted = segment(&dir, "compacted-0");
    let text = dump(&["--files", compacted.to_str().unwrap(), "--print-data-log"])
        .ok()
        .to_string();
    assert!(text.contains("key: user-1 payload: alice"), "{text}");
    assert!(text.contains("key: user-1 payload: alicia"), "{text}");

    // The internal topics decoded as Kafka's decoders print them.
    let offsets = segment(&dir, "__consumer_offsets-0");
    let text = dump(&["--files", offsets.to_str().unwrap(), "--offsets-decoder"])
        .ok()
        .to_string();
    assert!(
        text.contains(
            r#"key: {"data":{"group":"dump-group","partition":0,"topic":"dumped"},"type":"1"}"#
        ),
        "{text}"
    );
    assert!(text.contains(r#""offset":3"#), "{text}");
    let txns = segment(&dir, "__transaction_state-0");
    let text = dump(&[
        "--files",
        txns.to_str().unwrap(),
        "--transaction-log-decoder",
    ])
    .ok()
    .to_string();
    assert!(text.contains(r#""transactionalId":"dump-txn""#), "{text}");
    assert!(
        text.contains(r#""transactionStatus":"CompleteCommit""#),
        "{text}"
    );

    // Damage in copies: a flipped byte in the second batch, garbage after
    // the last, an index entry pointing into the middle of a batch.
    let copies = tempfile::tempdir().unwrap();
    let batches_at: Vec<u64> = batches
        .iter()
        .map(|b| b["position"].as_u64().unwrap())
        .collect();
    let mut bytes = std::fs::read(&log).unwrap();
    let end = bytes.len();
    bytes[batches_at[1] as usize + 70] ^= 0xff;
    bytes.extend_from_slice(b"garbage!!");
    let broken = copies.path().join("00000000000000000000.log");
    std::fs::write(&broken, &bytes).unwrap();
    let out = dump(&["--files", broken.to_str().unwrap(), "--deep-iteration"]);
    assert_eq!(out.code, Some(1), "{} {}", out.stdout, out.stderr);
    let broken_name = broken.display().to_string();
    assert!(
        out.stdout.contains(&format!(
            "DAMAGE in {broken_name} at byte {}: batch at offset 1: ",
            batches_at[1]
        )),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains("CRC mismatch"), "{}", out.stdout);
    assert!(out.stdout.contains("isvalid: false"), "{}", out.stdout);
    assert!(
        out.stdout.contains(&format!(
            "DAMAGE in {broken_name} at byte {end}: found 9 invalid bytes"
        )),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("key: k2") || out.stdout.contains("| offset: 2 "),
        "what follows is still dumped: {}",
        out.stdout
    );
    assert!(
        out.stderr.contains("damage found in 1 file(s)"),
        "{}",
        out.stderr
    );

    std::fs::write(&broken, std::fs::read(&log).unwrap()).unwrap();
    let mut entry = Vec::new();
    entry.extend_from_slice(&0u32.to_be_bytes());
    entry.extend_from_slice(&5u32.to_be_bytes());
    let bad_index = copies.path().join("00000000000000000000.index");
    std::fs::write(&bad_index, &entry).unwrap();
    let out = dump(&[
        "--files",
        bad_index.to_str().unwrap(),
        "--verify-index-only",
    ]);
    assert_eq!(out.code, Some(1), "{} {}", out.stdout, out.stderr);
    assert!(
        out.stdout.contains(&format!(
            "DAMAGE in {} at byte 0: Index offset: 0 points to position 5, where no batch of",
            bad_index.display()
        )),
        "{}",
        out.stdout
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn describe_log_dirs_shows_each_replicas_size_on_disk() {
    let broker = BrokerProcess::start(&[]);
    let bs = broker.bootstrap();
    harness::create_topic(&bs, "sized", 2, &[]).await;
    let p = harness::producer(&bs, &[]);
    for i in 0..10 {
        p.send(
            FutureRecord::to("sized")
                .partition(0)
                .key("k")
                .payload(&format!("value-{i}")),
            TIMEOUT,
        )
        .await
        .expect("delivered");
    }
    let on_disk = |partition: &str| -> u64 {
        std::fs::read_dir(broker.dir.join(partition))
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "log"))
            .map(|p| std::fs::metadata(p).unwrap().len())
            .sum()
    };
    let tool = |args: &[&str]| run_tool(TOPIC_ADMIN, &bs, args, b"");
    let out = tool(&[
        "describe",
        "--log-dirs",
        "--topic",
        "sized",
        "--output",
        "json",
    ]);
    let json: serde_json::Value = serde_json::from_str(out.ok()).expect("json");
    assert_eq!(json["version"], 1);
    let broker_dirs = &json["brokers"][0];
    assert_eq!(broker_dirs["broker"], 1);
    let dir = &broker_dirs["logDirs"][0];
    let expected_dir = std::fs::canonicalize(&broker.dir).unwrap();
    assert_eq!(dir["logDir"], expected_dir.display().to_string());
    assert_eq!(dir["error"], serde_json::Value::Null);
    let partitions = dir["partitions"].as_array().expect("partitions");
    assert_eq!(partitions.len(), 2, "{partitions:?}");
    assert_eq!(partitions[0]["partition"], "sized-0");
    assert!(on_disk("sized-0") > 0);
    assert_eq!(partitions[0]["size"], on_disk("sized-0"));
    assert_eq!(partitions[1]["partition"], "sized-1");
    assert_eq!(partitions[1]["size"], 0);
    assert_eq!(partitions[0]["offsetLag"], 0);
    assert_eq!(partitions[0]["isFuture"], false);

    let table = tool(&["describe", "--log-dirs", "--topic", "sized"]);
    let text = table.ok();
    assert!(text.starts_with("BROKER"), "{text}");
    let row = text
        .lines()
        .find(|l| l.contains("sized-0"))
        .unwrap_or_else(|| panic!("{text}"));
    let columns: Vec<&str> = row.split_whitespace().collect();
    assert_eq!(
        columns,
        [
            "1",
            expected_dir.to_str().unwrap(),
            "sized-0",
            &on_disk("sized-0").to_string(),
            "0",
            "false"
        ]
    );
}
