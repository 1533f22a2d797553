//! Storage faults end to end. At start-up: a data directory another broker
//! holds, a damaged metadata log, a damaged `__consumer_offsets` segment.
//! While serving: a corrupt batch in a rolled segment, more partitions
//! than the open file limit has descriptors, a full disk, and one full log dir
//! of two, whose followers alone stop fetching. The broker refuses
//! what it cannot serve correctly and says where, rather than cut committed
//! data or serve what preceded the damage as all there is.

use crate::harness;

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::Duration;

use bytes::Bytes;
use harness::{
    admin, client_config, consume, create_topic, produce_values, record_batch, record_offsets,
    wait_until, BrokerProcess, RawClient, NO_PRODUCER,
};
use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::fetch_request::{FetchPartition, FetchTopic};
use kafka_protocol::messages::fetch_response::PartitionData;
use kafka_protocol::messages::offset_fetch_request::{
    OffsetFetchRequestGroup, OffsetFetchRequestTopics,
};
use kafka_protocol::messages::{
    BrokerId, FetchRequest, FindCoordinatorRequest, GroupId, InitProducerIdRequest,
    OffsetFetchRequest, ProducerId, TopicName, TransactionalId,
};
use kafka_protocol::protocol::StrBytes;
use rdkafka::admin::{AdminOptions, NewTopic, TopicReplication};
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer};
use rdkafka::{Offset, TopicPartitionList};

fn broker_start(dir: &Path, overrides: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_broker-start"));
    cmd.arg("--override")
        .arg("listeners=PLAINTEXT://127.0.0.1:0")
        .arg("--override")
        .arg(format!("log.dirs={}", dir.display()));
    for o in overrides {
        cmd.arg("--override").arg(o);
    }
    cmd.env("RUST_LOG", "warn,openraft=off");
    cmd
}

/// Runs a broker-start on `dir` that must refuse to start: its exit status
/// and what it wrote on stderr.
fn refused_start(dir: &Path, overrides: &[&str]) -> (ExitStatus, String) {
    let mut child = broker_start(dir, overrides)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn broker-start");
    let exited = wait_until(Duration::from_secs(20), || {
        child.try_wait().map_or(true, |s| s.is_some())
    });
    if !exited {
        let _ = child.kill();
        let _ = child.wait();
        panic!(
            "broker-start on {} started instead of refusing",
            dir.display()
        );
    }
    let status = child.wait().expect("wait broker-start");
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .expect("stderr piped")
        .read_to_string(&mut stderr)
        .expect("read stderr");
    (status, stderr)
}

/// A broker whose log goes to a file the test reads.
struct LoggedBroker {
    child: Child,
    port: u16,
    log: PathBuf,
}

impl LoggedBroker {
    fn start(dir: &Path, overrides: &[&str], log: PathBuf) -> LoggedBroker {
        let file = std::fs::File::create(&log).expect("create log file");
        let mut child = broker_start(dir, overrides)
            .stdout(Stdio::piped())
            .stderr(file)
            .spawn()
            .expect("spawn broker-start");
        let mut banner = String::new();
        BufReader::new(child.stdout.take().expect("stdout piped"))
            .read_line(&mut banner)
            .expect("read banner");
        let port = banner
            .trim()
            .rsplit(':')
            .next()
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| panic!("no listening banner: {banner:?}"));
        LoggedBroker { child, port, log }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).expect("read broker log")
    }
}

impl Drop for LoggedBroker {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_broker_on_a_data_dir_in_use_exits_and_the_first_keeps_its_records() {
    let mut broker = BrokerProcess::start(&[]);
    let bs = broker.bootstrap();
    create_topic(&bs, "locked", 1, &[]).await;
    produce_values(&bs, "locked", 0..100, 1).await;

    let (status, stderr) = refused_start(&broker.dir, &[]);
    assert!(!status.success(), "exited with {status}");
    assert_eq!(
        stderr.trim().lines().collect::<Vec<_>>(),
        vec![format!(
            "broker-start: Failed to acquire lock on file .lock in {}. A Gregor instance in \
             another process or thread is using this directory.",
            broker.dir.display()
        )],
    );
    assert!(
        !broker.dir.join(".kafka_cleanshutdown").exists(),
        "only the broker holding the directory marks it clean"
    );

    produce_values(&bs, "locked", 100..200, 1).await;
    broker.stop();
    broker.restart();
    let values: Vec<String> = consume(
        &broker.bootstrap(),
        "locked",
        0,
        0,
        200,
        Duration::from_secs(30),
    )
    .iter()
    .map(|r| String::from_utf8(r.value.clone().expect("a value")).expect("utf-8"))
    .collect();
    assert_eq!(
        values,
        (0..200).map(|i| i.to_string()).collect::<Vec<_>>(),
        "every acknowledged record, once, at its offset"
    );
}

/// The frames of the metadata log as (start, length): each a 4-byte
/// length, a 4-byte CRC32C and that many bytes of entry (see
/// src/cluster/quorum/log_store.rs).
fn metadata_frames(log: &[u8]) -> Vec<(usize, usize)> {
    let mut frames = Vec::new();
    let mut at = 0;
    while at + 8 <= log.len() {
        let len = u32::from_be_bytes(log[at..at + 4].try_into().unwrap()) as usize;
        frames.push((at, 8 + len));
        at += 8 + len;
    }
    assert_eq!(at, log.len(), "the metadata log ends with a whole frame");
    frames
}

/// A stopped broker's metadata log, written by creating a few topics.
async fn stopped_broker_with_metadata() -> (BrokerProcess, PathBuf) {
    let mut broker = BrokerProcess::start(&[]);
    for topic in ["meta-a", "meta-b", "meta-c", "meta-d"] {
        create_topic(&broker.bootstrap(), topic, 1, &[]).await;
    }
    broker.stop();
    let path = broker.dir.join("__cluster_metadata-0").join("log");
    (broker, path)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn damage_inside_the_metadata_log_refuses_to_start_and_leaves_the_file_alone() {
    let (broker, path) = stopped_broker_with_metadata().await;
    let mut bytes = std::fs::read(&path).expect("read metadata log");
    let frames = metadata_frames(&bytes);
    assert!(frames.len() >= 5, "several entries, got {}", frames.len());
    let (start, len) = frames[frames.len() / 2];
    bytes[start + 8 + (len - 8) / 2] ^= 0x55;
    std::fs::write(&path, &bytes).expect("damage the metadata log");

    let (status, stderr) = refused_start(&broker.dir, &[]);
    assert!(!status.success(), "exited with {status}");
    assert!(
        stderr.contains(&path.display().to_string()) && stderr.contains(&format!("byte {start}")),
        "the refusal names the file and where the damage is: {stderr}"
    );
    assert!(
        std::fs::read(&path).expect("read metadata log") == bytes,
        "the damaged log is left byte for byte as it was"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_torn_metadata_log_tail_is_cut_and_the_broker_starts() {
    let (mut broker, path) = stopped_broker_with_metadata().await;
    let whole = std::fs::read(&path).expect("read metadata log");
    let frames = metadata_frames(&whole);
    let (last, len) = frames[frames.len() - 1];
    // An append a crash interrupted: part of a frame after the whole ones.
    let mut torn = whole.clone();
    torn.extend_from_slice(&whole[last..last + len - 3]);
    std::fs::write(&path, &torn).expect("tear the tail");

    broker.restart();
    let metadata = client_config(&broker.bootstrap())
        .create::<BaseConsumer>()
        .expect("client")
        .fetch_metadata(None, Duration::from_secs(10))
        .expect("metadata");
    let topics: Vec<&str> = metadata.topics().iter().map(|t| t.name()).collect();
    for topic in ["meta-a", "meta-b", "meta-c", "meta-d"] {
        assert!(topics.contains(&topic), "{topic} is kept: {topics:?}");
    }
    let after = std::fs::read(&path).expect("read metadata log");
    assert!(
        after.starts_with(&whole) && metadata_frames(&after).len() > frames.len(),
        "the whole entries are kept and the log goes on after them"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cut_short_committed_metadata_entry_refuses_to_start_and_leaves_the_file_alone() {
    let (broker, path) = stopped_broker_with_metadata().await;
    let whole = std::fs::read(&path).expect("read metadata log");
    let frames = metadata_frames(&whole);
    let (last, _) = frames[frames.len() - 1];
    // Entries count as committed only once fsynced: a crash cannot tear
    // this one, so losing its end is damage, and cutting it would lose it.
    let cut_short = &whole[..whole.len() - 3];
    std::fs::write(&path, cut_short).expect("cut the last entry short");

    let (status, stderr) = refused_start(&broker.dir, &[]);
    assert!(!status.success(), "exited with {status}");
    assert!(
        stderr.contains(&path.display().to_string()) && stderr.contains(&format!("byte {last}")),
        "the refusal names the file and where the damage is: {stderr}"
    );
    assert!(
        std::fs::read(&path).expect("read metadata log") == cut_short,
        "the committed entries are not cut"
    );
}

/// OffsetCommitKey v1 as Kafka lays it out: version, group, topic, partition.
fn offset_commit_key(group: &str, topic: &str, partition: i32) -> Vec<u8> {
    let mut key = 1i16.to_be_bytes().to_vec();
    for s in [group, topic] {
        key.extend_from_slice(&(s.len() as i16).to_be_bytes());
        key.extend_from_slice(s.as_bytes());
    }
    key.extend_from_slice(&partition.to_be_bytes());
    key
}

/// (error code, committed offset) OffsetFetch answers for `group` on
/// partition 0 of `topic`.
fn fetch_committed(port: u16, group: &str, topic: &str) -> (i16, i64) {
    let request =
        OffsetFetchRequest::default().with_groups(vec![OffsetFetchRequestGroup::default()
            .with_group_id(GroupId(StrBytes::from_string(group.to_string())))
            .with_topics(Some(vec![OffsetFetchRequestTopics::default()
                .with_name(TopicName(StrBytes::from_string(topic.to_string())))
                .with_partition_indexes(vec![0])]))]);
    let response = RawClient::connect(port)
        .call(&request, 8)
        .expect("OffsetFetch answered");
    let group = &response.groups[0];
    let offset = group
        .topics
        .first()
        .and_then(|t| t.partitions.first())
        .map_or(-1, |p| p.committed_offset);
    (group.error_code, offset)
}

/// The start of the batch holding byte `at` of a segment: batches follow
/// each other, each 12 bytes of base offset and length plus that length.
fn batch_holding(segment: &[u8], at: usize) -> usize {
    let mut batch = 0;
    loop {
        let length = i32::from_be_bytes(segment[batch + 8..batch + 12].try_into().unwrap());
        let next = batch + 12 + length as usize;
        if next > at {
            return batch;
        }
        batch = next;
    }
}

/// Flips a byte of the first record in the segment file at `path` whose
/// key starts with `key`; answers where the batch holding it starts.
fn damage_record(path: &Path, key: &[u8]) -> usize {
    let mut bytes = std::fs::read(path).expect("read segment");
    let at = bytes
        .windows(key.len())
        .position(|w| w == key)
        .expect("the record's key is in the segment");
    bytes[at + key.len() - 1] ^= 0x55;
    std::fs::write(path, &bytes).expect("damage the segment");
    batch_holding(&bytes, at)
}

/// Whether the broker's log has an ERROR naming byte `position` of `file`.
fn logged_error_at(log: &str, file: &Path, position: usize) -> bool {
    let place = format!("byte {position} of {}", file.display());
    log.lines()
        .any(|l| l.contains("ERROR") && l.contains(&place))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_damaged_offsets_segment_is_not_served_as_no_offsets() {
    let overrides = ["offsets.topic.num.partitions=1"];
    let mut broker = BrokerProcess::start(&overrides);
    let bs = broker.bootstrap();
    create_topic(&bs, "tracked", 1, &[]).await;
    // Two groups' commits, in two batches; the second one is damaged.
    for (group, offset) in [("intact-group", 7), ("damaged-group", 42)] {
        let consumer: BaseConsumer = client_config(&bs)
            .set("group.id", group)
            .set("enable.auto.commit", "false")
            .create()
            .expect("consumer");
        let mut offsets = TopicPartitionList::new();
        offsets
            .add_partition_offset("tracked", 0, Offset::Offset(offset))
            .expect("offset");
        consumer.commit(&offsets, CommitMode::Sync).expect("commit");
        assert_eq!(fetch_committed(broker.port, group, "tracked"), (0, offset));
    }
    broker.stop();

    let segment = broker
        .dir
        .join("__consumer_offsets-0")
        .join("00000000000000000000.log");
    let damaged = damage_record(&segment, &offset_commit_key("damaged-group", "tracked", 0));
    assert!(damaged > 0, "the damaged batch is not the first");

    let logs = tempfile::tempdir().expect("tempdir");
    let restarted = LoggedBroker::start(&broker.dir, &overrides, logs.path().join("broker.log"));
    for group in ["damaged-group", "intact-group"] {
        assert_eq!(
            fetch_committed(restarted.port, group, "tracked"),
            (ResponseError::NotCoordinator.code(), -1),
            "{group}: the groups of a partition whose records could not all be read are not \
             served (Kafka's failed coordinator load)"
        );
    }
    let log = restarted.log();
    assert!(
        logged_error_at(&log, &segment, damaged),
        "an ERROR names the segment and the damaged batch's position: {log}"
    );
}

/// (error code, producer id) InitProducerId answers for `id`.
fn init_producer_id(port: u16, id: &str) -> (i16, i64) {
    let response = RawClient::connect(port)
        .call(
            &InitProducerIdRequest::default()
                .with_transactional_id(Some(TransactionalId(StrBytes::from_string(id.to_string()))))
                .with_transaction_timeout_ms(60_000)
                .with_producer_id(ProducerId(-1))
                .with_producer_epoch(-1),
            4,
        )
        .expect("InitProducerId answered");
    (response.error_code, response.producer_id.0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_damaged_transaction_state_segment_is_not_served_as_unknown_ids() {
    let overrides = ["transaction.state.log.num.partitions=1"];
    let mut broker = BrokerProcess::start(&overrides);
    let found = RawClient::connect(broker.port)
        .call(
            &FindCoordinatorRequest::default()
                .with_key_type(1)
                .with_coordinator_keys(vec![StrBytes::from_static_str("damaged-txn")]),
            4,
        )
        .expect("FindCoordinator answered");
    assert_eq!(found.coordinators[0].error_code, 0);
    let mut first = (-1, -1);
    assert!(
        wait_until(Duration::from_secs(10), || {
            first = init_producer_id(broker.port, "damaged-txn");
            first.0 == 0
        }),
        "InitProducerId answered {first:?}"
    );
    broker.stop();

    let segment = broker
        .dir
        .join("__transaction_state-0")
        .join("00000000000000000000.log");
    let mut key = 0i16.to_be_bytes().to_vec();
    key.extend_from_slice(&(b"damaged-txn".len() as i16).to_be_bytes());
    key.extend_from_slice(b"damaged-txn");
    let damaged = damage_record(&segment, &key);

    let logs = tempfile::tempdir().expect("tempdir");
    let restarted = LoggedBroker::start(&broker.dir, &overrides, logs.path().join("broker.log"));
    assert_eq!(
        init_producer_id(restarted.port, "damaged-txn").0,
        ResponseError::NotCoordinator.code(),
        "an id whose state could not be read is not given a new producer id unfenced"
    );
    let log = restarted.log();
    assert!(
        logged_error_at(&log, &segment, damaged),
        "an ERROR names the segment and the damaged batch's position: {log}"
    );
}

/// A log directory listed twice would be locked twice by one broker, as
/// Kafka refuses it: one line, nothing created.
#[test]
fn a_log_dir_listed_twice_is_refused_with_one_line() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
    let dirs = format!("log.dirs={},{},{}", a.display(), b.display(), a.display());
    let (status, stderr) = refused_start(&a, &[&dirs]);
    assert!(!status.success(), "broker-start exited with {status}");
    assert_eq!(stderr.trim().lines().count(), 1, "one line: {stderr}");
    assert!(
        stderr.contains("log.dirs") && stderr.contains("duplicate log directory found"),
        "{stderr}"
    );
    assert!(!a.exists() && !b.exists(), "nothing is created");
}

fn topic_name(topic: &str) -> TopicName {
    TopicName(StrBytes::from_string(topic.to_string()))
}

/// Error code of one acks=1 produce of `records` to `topic`-`partition`.
fn produce(client: &mut RawClient, topic: &str, partition: i32, records: Bytes) -> i16 {
    harness::produce_raw(client, topic, partition, 1, records).error_code
}

fn fetch(client: &mut RawClient, topic: &str, partition: i32, offset: i64) -> PartitionData {
    let request = FetchRequest::default()
        .with_replica_id(BrokerId(-1))
        .with_max_wait_ms(0)
        .with_min_bytes(1)
        .with_max_bytes(1 << 20)
        .with_session_epoch(-1)
        .with_topics(vec![FetchTopic::default()
            .with_topic(topic_name(topic))
            .with_partitions(vec![FetchPartition::default()
                .with_partition(partition)
                .with_fetch_offset(offset)
                .with_current_leader_epoch(-1)
                .with_partition_max_bytes(1 << 20)])]);
    let response = client.call(&request, 12).expect("fetch answered");
    response.responses[0].partitions[0].clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_corrupt_batch_in_a_rolled_segment_is_reported_not_skipped() {
    let mut broker = BrokerProcess::start(&[]);
    create_topic(
        &broker.bootstrap(),
        "corrupt",
        1,
        &[("segment.bytes", "1024")],
    )
    .await;
    let mut client = RawClient::connect(broker.port);
    let value = "v".repeat(100);
    for _ in 0..40 {
        let code = produce(
            &mut client,
            "corrupt",
            0,
            record_batch(&[&value], NO_PRODUCER),
        );
        assert_eq!(code, 0);
    }
    broker.stop();

    let segments = harness::segment_files(&broker.dir.join("corrupt-0"));
    assert!(segments.len() >= 5, "segments: {segments:?}");
    // The second batch of a segment in the middle gets a length that runs
    // far past the segment's end.
    let path = &segments[2];
    let mut bytes = std::fs::read(path).unwrap();
    let first_len = 12 + i32::from_be_bytes(bytes[8..12].try_into().unwrap()) as usize;
    let corrupt_offset = i64::from_be_bytes(bytes[first_len..first_len + 8].try_into().unwrap());
    bytes[first_len + 8..first_len + 12].copy_from_slice(&0x7fff_0000i32.to_be_bytes());
    std::fs::write(path, &bytes).unwrap();
    let next_segment_base: i64 = segments[3]
        .file_stem()
        .and_then(|s| s.to_str())
        .and_then(|s| s.parse().ok())
        .unwrap();

    broker.restart();
    let mut client = RawClient::connect(broker.port);
    let p = fetch(&mut client, "corrupt", 0, corrupt_offset);
    assert_eq!(
        (p.error_code, p.high_watermark),
        (ResponseError::CorruptMessage.code(), 40),
        "a fetch inside the corrupt batch is an error, never an empty answer"
    );
    // Everything around the corruption stays readable where it was.
    assert_eq!(record_offsets(&fetch(&mut client, "corrupt", 0, 0))[0], 0);
    let after = fetch(&mut client, "corrupt", 0, next_segment_base);
    assert_eq!(after.error_code, 0);
    assert_eq!(record_offsets(&after)[0], next_segment_base);
    assert_eq!(
        std::fs::metadata(path).unwrap().len(),
        bytes.len() as u64,
        "a rolled segment is never cut at open"
    );
}

/// `(offset, value)` of every record of `topic`-0 up to its high
/// watermark, failing on any error code.
fn read_values(client: &mut RawClient, topic: &str) -> Vec<(i64, String)> {
    let mut out: Vec<(i64, String)> = Vec::new();
    loop {
        let next = out.last().map_or(0, |(o, _)| o + 1);
        let p = fetch(client, topic, 0, next);
        assert_eq!(p.error_code, 0, "fetch {topic}-0 at {next}");
        let mut bytes = p.records.clone().unwrap_or_default();
        let before = out.len();
        while !bytes.is_empty() {
            let set = kafka_protocol::records::RecordBatchDecoder::decode(&mut bytes)
                .expect("whole batches");
            out.extend(
                set.records
                    .into_iter()
                    .filter(|r| r.offset >= next)
                    .map(|r| {
                        let value = r.value.unwrap_or_default();
                        (r.offset, String::from_utf8_lossy(&value).into_owned())
                    }),
            );
        }
        if out.len() == before {
            assert_eq!(
                next, p.high_watermark,
                "read stalled below the high watermark"
            );
            return out;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn more_partitions_than_open_files_are_served_and_survive_a_kill() {
    const LIMIT: u64 = 256;
    // More than the limit, and more than the segment files the broker keeps
    // open under it: written in turn, each finds its file closed.
    const TOPICS: usize = 320;
    const ROUNDS: usize = 3;
    let tmp = tempfile::tempdir().unwrap();
    // The limit is the broker's hard limit too: were a descriptor kept per
    // partition, opening the 257th would fail.
    let mut broker = BrokerProcess::start_with(tmp.path(), Some(LIMIT), &[]);
    let names: Vec<String> = (0..TOPICS).map(|i| format!("many-{i:03}")).collect();
    let admin = admin(&broker.bootstrap());
    for chunk in names.chunks(100) {
        // Small segments, so that every partition rolls; flush.messages=1,
        // so that an acks=all answer means fsynced, whether the file was
        // closed since or not.
        let topics: Vec<NewTopic> = chunk
            .iter()
            .map(|name| {
                NewTopic::new(name, 1, TopicReplication::Fixed(1))
                    .set("segment.bytes", "1024")
                    .set("flush.messages", "1")
            })
            .collect();
        let results = admin
            .create_topics(&topics, &AdminOptions::new())
            .await
            .expect("create topics answered");
        assert!(results.iter().all(Result::is_ok), "{results:?}");
    }

    let value = |topic: &str, round: usize| format!("{topic}/{round}/{}", "x".repeat(600));
    let mut client = RawClient::connect(broker.port);
    // Round after round over every partition: each write finds its file
    // closed by the writes to the hundreds of partitions since.
    for round in 0..ROUNDS {
        for name in &names {
            let mut code = -1;
            let accepted = wait_until(Duration::from_secs(10), || {
                let records = record_batch(&[&value(name, round)], NO_PRODUCER);
                code = harness::produce_raw(&mut client, name, 0, -1, records).error_code;
                code == 0
            });
            assert!(accepted, "produce to {name}-0 in round {round}: {code}");
        }
    }
    let segments = harness::segment_files(&tmp.path().join("many-000-0")).len();
    assert_eq!(segments, ROUNDS, "one batch per segment");

    let expected = |name: &str| -> Vec<(i64, String)> {
        (0..ROUNDS)
            .map(|round| (round as i64, value(name, round)))
            .collect()
    };
    for name in &names {
        assert_eq!(read_values(&mut client, name), expected(name), "{name}");
    }

    broker.kill9();
    broker.restart();
    let mut client = RawClient::connect(broker.port);
    for name in &names {
        assert_eq!(read_values(&mut client, name), expected(name), "{name}");
    }
    // The restarted broker opened every log, and writes to them all again.
    for name in &names {
        let records = record_batch(&["after the restart"], NO_PRODUCER);
        let code = harness::produce_raw(&mut client, name, 0, -1, records).error_code;
        assert_eq!(code, 0, "produce to {name}-0 after the restart");
    }
    let last = names.last().unwrap();
    let read = consume(
        &broker.bootstrap(),
        last,
        0,
        0,
        ROUNDS + 1,
        Duration::from_secs(20),
    );
    let values: Vec<String> = read
        .iter()
        .map(|r| String::from_utf8_lossy(r.value.as_deref().unwrap_or_default()).into_owned())
        .collect();
    let mut want: Vec<String> = expected(last).into_iter().map(|(_, v)| v).collect();
    want.push("after the restart".into());
    assert_eq!(values, want);
}

/// A tmpfs mounted for the test's lifetime; unmounted on drop.
struct SmallDisk {
    path: PathBuf,
    _dir: tempfile::TempDir,
}

impl SmallDisk {
    /// `None` (with the reason printed) where the test cannot mount one.
    fn mount(size_mib: u64) -> Option<SmallDisk> {
        if !rustix::process::geteuid().is_root() {
            println!("skipped: mounting a tmpfs needs root");
            return None;
        }
        let dir = tempfile::tempdir().unwrap();
        let status = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size_mib}m"), "tmpfs"])
            .arg(dir.path())
            .status();
        match status {
            Ok(s) if s.success() => Some(SmallDisk {
                path: dir.path().to_path_buf(),
                _dir: dir,
            }),
            other => {
                println!("skipped: cannot mount a tmpfs: {other:?}");
                None
            }
        }
    }

    fn available(&self) -> u64 {
        let s = rustix::fs::statvfs(&self.path).expect("statvfs");
        s.f_bavail * s.f_frsize
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.path).status();
    }
}

/// Produces 256 KiB batches to `topic` until one is refused; returns its code.
fn fill(client: &mut RawClient, topic: &str) -> i16 {
    let value = "f".repeat(256 * 1024);
    for _ in 0..1000 {
        let code = produce(client, topic, 0, record_batch(&[&value], NO_PRODUCER));
        if code != 0 {
            return code;
        }
    }
    panic!("a 32 MiB disk took 250 MiB");
}

fn find_coordinator(port: u16, group: &str) -> i16 {
    let found = RawClient::connect(port)
        .call(
            &FindCoordinatorRequest::default()
                .with_key_type(0)
                .with_key(StrBytes::from_string(group.to_string())),
            3,
        )
        .expect("FindCoordinator answered");
    found.error_code
}

async fn delete_topic(bootstrap: &str, topic: &str) {
    let results = admin(bootstrap)
        .delete_topics(&[topic], &AdminOptions::new())
        .await
        .expect("delete topics answered");
    assert!(results[0].is_ok(), "deleting {topic}: {results:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_is_a_storage_error_and_deletes_free_it() {
    let Some(disk) = SmallDisk::mount(32) else {
        return;
    };
    let data = disk.path.join("data");
    let mut broker = BrokerProcess::start_with(&data, None, &[]);
    create_topic(
        &broker.bootstrap(),
        "filler",
        1,
        &[("segment.bytes", "4194304")],
    )
    .await;
    let mut client = RawClient::connect(broker.port);
    assert_eq!(
        fill(&mut client, "filler"),
        ResponseError::KafkaStorageError.code()
    );
    assert_eq!(
        produce(
            &mut client,
            "filler",
            0,
            record_batch(&["again"], NO_PRODUCER)
        ),
        ResponseError::KafkaStorageError.code()
    );
    assert_eq!(find_coordinator(broker.port, "while-full"), 0);

    // Full, the broker has released its 8 MiB reserve into the log; once
    // the topic is gone it takes the reserve back, so what is free then is
    // the disk less the reserve, not the free space when full plus the log.
    let full = disk.available();
    assert!(full < 12 << 20, "the disk is full: {full} bytes free");
    delete_topic(&broker.bootstrap(), "filler").await;
    assert!(
        wait_until(Duration::from_secs(10), || !data.join("filler-0").exists()
            && disk.available() > 20 << 20),
        "deleting the topic frees its space: {} bytes free",
        disk.available()
    );
    create_topic(&broker.bootstrap(), "after", 1, &[]).await;
    assert!(
        wait_until(Duration::from_secs(10), || {
            produce(
                &mut client,
                "after",
                0,
                record_batch(&["room"], NO_PRODUCER),
            ) == 0
        }),
        "produce resumes once space is free"
    );

    // Full again, then a crash: the broker must come back and let the
    // space be freed.
    assert_eq!(
        fill(&mut client, "after"),
        ResponseError::KafkaStorageError.code()
    );
    broker.kill9();
    broker.restart();
    assert_eq!(find_coordinator(broker.port, "after-crash"), 0);
    let mut client = RawClient::connect(broker.port);
    assert_eq!(
        produce(
            &mut client,
            "after",
            0,
            record_batch(&["full"], NO_PRODUCER)
        ),
        ResponseError::KafkaStorageError.code()
    );
    delete_topic(&broker.bootstrap(), "after").await;
    create_topic(&broker.bootstrap(), "resumed", 1, &[]).await;
    assert!(
        wait_until(Duration::from_secs(10), || {
            produce(
                &mut client,
                "resumed",
                0,
                record_batch(&["room"], NO_PRODUCER),
            ) == 0
        }),
        "produce resumes after the restart once space is free"
    );
    drop(broker);
}

/// Bytes of `partition` (`topic-N`) in the broker's log dirs, as
/// DescribeLogDirs reports them; `None` while the broker hosts none.
fn described_size(port: u16, partition: &str) -> Option<i64> {
    let response = RawClient::connect(port)
        .call(
            &kafka_protocol::messages::DescribeLogDirsRequest::default().with_topics(None),
            4,
        )
        .expect("DescribeLogDirs answered");
    response
        .results
        .iter()
        .flat_map(|dir| &dir.topics)
        .flat_map(|t| t.partitions.iter().map(move |p| (t, p)))
        .find(|(t, p)| format!("{}-{}", t.name.0, p.partition_index) == partition)
        .map(|(_, p)| p.partition_size)
}

/// Writes a file into `dir` until the disk refuses more.
fn fill_by_hand(dir: &Path) -> PathBuf {
    use std::io::Write;
    let path = dir.join("ballast");
    let mut file = std::fs::File::create(&path).unwrap();
    let chunk = vec![0u8; 1 << 20];
    loop {
        if let Err(e) = file.write_all(&chunk).and_then(|()| file.sync_all()) {
            assert_eq!(e.kind(), std::io::ErrorKind::StorageFull, "{e}");
            return path;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_log_dir_stops_only_its_own_followers_and_the_other_dir_keeps_replicating() {
    let (Some(disk_a), Some(disk_b)) = (SmallDisk::mount(40), SmallDisk::mount(40)) else {
        return;
    };
    let meta = tempfile::tempdir().unwrap();
    let dirs = [disk_a.path.join("data"), disk_b.path.join("data")];
    let follower = [
        format!("log.dirs={},{}", dirs[0].display(), dirs[1].display()),
        format!("metadata.log.dir={}", meta.path().display()),
    ];
    let follower: Vec<&str> = follower.iter().map(String::as_str).collect();
    let brokers =
        harness::start_cluster_per_node(2, &["replica.lag.time.max.ms=3000"], &[&[], &follower]);
    let bs = format!("{},{}", brokers[0].bootstrap(), brokers[1].bootstrap());
    let leader_1: &[&[i32]] = &[&[1, 2]];
    for name in ["one", "two"] {
        admin(&bs)
            .create_topics(
                [&NewTopic::new(
                    name,
                    1,
                    TopicReplication::Variable(leader_1),
                )],
                &AdminOptions::new(),
            )
            .await
            .unwrap()[0]
            .as_ref()
            .expect("created");
        // One at a time: the follower places each in its emptier dir.
        assert!(wait_until(Duration::from_secs(20), || {
            described_size(brokers[1].port, &format!("{name}-0")).is_some()
        }));
    }
    let placed = |name: &str| {
        dirs.iter()
            .position(|d| d.join(format!("{name}-0")).exists())
            .expect("placed in a dir")
    };
    assert_ne!(placed("one"), placed("two"), "one partition per dir");
    let (stalled, healthy) = ("one", "two");
    let full_dir = &dirs[placed(stalled)];
    for name in [stalled, healthy] {
        assert!(wait_until(Duration::from_secs(20), || {
            harness::leadership(brokers[0].port, name) == (1, vec![1, 2])
        }));
    }

    // The follower's dir of `stalled` fills up; its next check turns it
    // full and gives the reserve back.
    let ballast = fill_by_hand(full_dir);
    assert!(
        wait_until(Duration::from_secs(20), || !full_dir
            .join(".reserved_space")
            .exists()),
        "the follower turns the dir full"
    );

    let leader_size = |name: &str| described_size(brokers[0].port, &format!("{name}-0"));
    let follower_size = |name: &str| described_size(brokers[1].port, &format!("{name}-0"));
    produce_values(&brokers[0].bootstrap(), stalled, 0..20, 1).await;
    produce_values(&brokers[0].bootstrap(), healthy, 0..20, 1).await;
    assert!(
        wait_until(Duration::from_secs(30), || {
            harness::leadership(brokers[0].port, stalled) == (1, vec![1])
        }),
        "the follower in the full dir falls out of the ISR: {:?}",
        harness::leadership(brokers[0].port, stalled)
    );
    assert_eq!(follower_size(stalled), Some(0), "nothing appended there");
    // Longer than replica.lag.time.max.ms has passed with the other dir's
    // follower fetching all along: it kept up and stayed in the ISR.
    assert!(
        wait_until(Duration::from_secs(10), || {
            follower_size(healthy) == leader_size(healthy)
        }),
        "the healthy dir's follower keeps up: {:?} of {:?} bytes",
        follower_size(healthy),
        leader_size(healthy)
    );
    assert_eq!(
        harness::leadership(brokers[0].port, healthy),
        (1, vec![1, 2])
    );
    produce_values(&brokers[0].bootstrap(), healthy, 20..30, 1).await;
    assert!(
        wait_until(Duration::from_secs(10), || {
            follower_size(healthy) == leader_size(healthy)
        }),
        "and goes on replicating"
    );

    // Space freed by hand: the dir takes its reserve back and the stalled
    // follower catches up and rejoins.
    std::fs::remove_file(ballast).unwrap();
    assert!(
        wait_until(Duration::from_secs(30), || {
            harness::leadership(brokers[0].port, stalled) == (1, vec![1, 2])
        }),
        "the follower catches up once space is free: {:?}",
        harness::leadership(brokers[0].port, stalled)
    );
    assert_eq!(follower_size(stalled), leader_size(stalled));
}
