//! Storage faults end to end: a corrupt batch in a rolled segment, an open
//! file limit lower than the partitions asked for, and a full disk.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use bytes::Bytes;
use common::{
    admin, create_topic, record_batch, wait_until, BrokerProcess, RawClient, NO_PRODUCER,
};
use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::fetch_request::{FetchPartition, FetchTopic};
use kafka_protocol::messages::fetch_response::PartitionData;
use kafka_protocol::messages::produce_request::{PartitionProduceData, TopicProduceData};
use kafka_protocol::messages::{
    BrokerId, FetchRequest, FindCoordinatorRequest, ProduceRequest, TopicName,
};
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::records::RecordBatchDecoder;
use rdkafka::admin::{AdminOptions, NewTopic, TopicReplication};
use rdkafka::types::RDKafkaErrorCode;

fn topic_name(topic: &str) -> TopicName {
    TopicName(StrBytes::from_string(topic.to_string()))
}

/// Error code of one acks=1 produce of `records` to `topic`-`partition`.
fn produce(client: &mut RawClient, topic: &str, partition: i32, records: Bytes) -> i16 {
    let request = ProduceRequest::default()
        .with_acks(1)
        .with_timeout_ms(5000)
        .with_topic_data(vec![TopicProduceData::default()
            .with_name(topic_name(topic))
            .with_partition_data(vec![PartitionProduceData::default()
                .with_index(partition)
                .with_records(Some(records))])]);
    let response = client.call(&request, 9).expect("produce answered");
    response.responses[0].partition_responses[0].error_code
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

/// Offsets of the records in a fetched partition's batches.
fn offsets(p: &PartitionData) -> Vec<i64> {
    let mut bytes = p.records.clone().unwrap_or_default();
    let mut out = Vec::new();
    while !bytes.is_empty() {
        let set = RecordBatchDecoder::decode(&mut bytes).expect("whole batches");
        out.extend(set.records.iter().map(|r| r.offset));
    }
    out
}

/// Every record offset of `topic`-`partition` from 0 up to its high
/// watermark, failing on any error code.
fn read_all(client: &mut RawClient, topic: &str, partition: i32) -> Vec<i64> {
    let mut out = Vec::new();
    loop {
        let next = out.last().map_or(0, |o| o + 1);
        let p = fetch(client, topic, partition, next);
        assert_eq!(p.error_code, 0, "fetch {topic}-{partition} at {next}");
        let got: Vec<i64> = offsets(&p).into_iter().filter(|o| *o >= next).collect();
        if got.is_empty() {
            assert_eq!(
                next, p.high_watermark,
                "read stalled below the high watermark"
            );
            return out;
        }
        out.extend(got);
    }
}

/// Segment files of a partition directory, by base offset.
fn segment_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("partition directory")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "log"))
        .collect();
    files.sort();
    files
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

    let segments = segment_files(&broker.dir.join("corrupt-0"));
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
    assert_eq!(offsets(&fetch(&mut client, "corrupt", 0, 0))[0], 0);
    let after = fetch(&mut client, "corrupt", 0, next_segment_base);
    assert_eq!(after.error_code, 0);
    assert_eq!(offsets(&after)[0], next_segment_base);
    assert_eq!(
        std::fs::metadata(path).unwrap().len(),
        bytes.len() as u64,
        "a rolled segment is never cut at open"
    );
}

/// Open file descriptors of a process.
fn open_fds(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .map(|d| d.count())
        .unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn partitions_beyond_three_fds_each_fit_a_low_open_file_limit() {
    const LIMIT: u64 = 256;
    const PARTITIONS: i32 = 120;
    let tmp = tempfile::tempdir().unwrap();
    let mut broker = BrokerProcess::start_with(tmp.path(), Some(LIMIT), &[]);
    let pid = broker.pid().unwrap();
    let before = open_fds(pid);
    // Small segments, so that every partition rolls a few.
    create_topic(
        &broker.bootstrap(),
        "crowd",
        PARTITIONS,
        &[("segment.bytes", "1024")],
    )
    .await;
    let mut client = RawClient::connect(broker.port);
    let value = "x".repeat(400);
    for partition in 0..PARTITIONS {
        for _ in 0..5 {
            let code = produce(
                &mut client,
                "crowd",
                partition,
                record_batch(&[&value], NO_PRODUCER),
            );
            assert_eq!(code, 0, "produce to crowd-{partition}");
        }
    }
    let rolled = segment_files(&tmp.path().join("crowd-0")).len();
    assert!(rolled >= 3, "{rolled} segments");
    let held = open_fds(pid).saturating_sub(before);
    assert!(
        held <= PARTITIONS as usize + 8,
        "{held} fds for {PARTITIONS} partitions: rolled segments and indexes hold none"
    );
    for partition in 0..PARTITIONS {
        assert_eq!(
            read_all(&mut client, "crowd", partition),
            (0..5).collect::<Vec<_>>()
        );
    }

    // More partitions than the limit leaves room for: refused, and the
    // broker keeps serving what it has.
    let admin = admin(&broker.bootstrap());
    let results = admin
        .create_topics(
            [&NewTopic::new(
                "overflow",
                2 * LIMIT as i32,
                TopicReplication::Fixed(1),
            )],
            &AdminOptions::new(),
        )
        .await
        .expect("create topics answered");
    assert_eq!(
        results[0].as_ref().err().map(|(_, code)| *code),
        Some(RDKafkaErrorCode::KafkaStorageError),
        "{results:?}"
    );
    assert_eq!(
        produce(
            &mut client,
            "overflow",
            0,
            record_batch(&["lost"], NO_PRODUCER)
        ),
        ResponseError::UnknownTopicOrPartition.code(),
        "a topic that could not be opened is not left behind"
    );
    assert_eq!(
        produce(
            &mut client,
            "crowd",
            0,
            record_batch(&["more"], NO_PRODUCER)
        ),
        0
    );

    broker.kill9();
    broker.restart();
    let mut client = RawClient::connect(broker.port);
    for partition in [0, PARTITIONS / 2, PARTITIONS - 1] {
        assert_eq!(
            read_all(&mut client, "crowd", partition).len(),
            5 + usize::from(partition == 0)
        );
    }
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

    let full = disk.available();
    delete_topic(&broker.bootstrap(), "filler").await;
    assert!(
        wait_until(Duration::from_secs(10), || disk.available()
            > full + (16 << 20)),
        "deleting the topic frees its space"
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
