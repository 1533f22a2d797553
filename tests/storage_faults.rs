//! Storage faults met at start-up: a data directory another broker holds,
//! a damaged metadata log, a damaged `__consumer_offsets` segment. The
//! broker refuses what it cannot serve correctly and says where, rather
//! than cut committed data or serve what preceded the damage as all there is.

mod common;

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::Duration;

use common::{
    client_config, consume, create_topic, produce_values, wait_until, BrokerProcess, RawClient,
};
use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::offset_fetch_request::{
    OffsetFetchRequestGroup, OffsetFetchRequestTopics,
};
use kafka_protocol::messages::{
    FindCoordinatorRequest, GroupId, InitProducerIdRequest, OffsetFetchRequest, ProducerId,
    TopicName, TransactionalId,
};
use kafka_protocol::protocol::StrBytes;
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
