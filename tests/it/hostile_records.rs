//! Hostile records inside valid batches: a CRC only proves that the bytes
//! arrived as sent, not that the records in them match the batch header.
//! Batches whose header lies about their records, whose records lie about
//! their offsets or lengths, or whose compressed payload inflates far past
//! what the topic accepts are refused with Kafka's error codes; nothing of
//! them is written, and the broker's memory stays bounded meanwhile.

use crate::harness;

use std::io::Write;
use std::time::Duration;

use bytes::Bytes;
use harness::{record_batch, wait_until, BrokerProcess, RawClient, NO_PRODUCER};
use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::create_topics_request::{CreatableTopic, CreatableTopicConfig};
use kafka_protocol::messages::list_offsets_request::{ListOffsetsPartition, ListOffsetsTopic};
use kafka_protocol::messages::produce_response::PartitionProduceResponse;
use kafka_protocol::messages::{BrokerId, CreateTopicsRequest, ListOffsetsRequest, TopicName};
use kafka_protocol::protocol::StrBytes;

const T0: i64 = 1_700_000_000_000;
const GZIP: i16 = 1;

fn create_topic(client: &mut RawClient, name: &str, configs: &[(&str, &str)]) {
    let request = CreateTopicsRequest::default()
        .with_timeout_ms(10_000)
        .with_topics(vec![CreatableTopic::default()
            .with_name(TopicName(StrBytes::from_string(name.to_string())))
            .with_num_partitions(1)
            .with_replication_factor(1)
            .with_configs(
                configs
                    .iter()
                    .map(|(k, v)| {
                        CreatableTopicConfig::default()
                            .with_name(StrBytes::from_string(k.to_string()))
                            .with_value(Some(StrBytes::from_string(v.to_string())))
                    })
                    .collect(),
            )]);
    let response = client.call(&request, 5).expect("CreateTopics answered");
    assert_eq!(response.topics[0].error_code, 0, "creating {name}");
}

fn produce(client: &mut RawClient, topic: &str, records: Vec<u8>) -> PartitionProduceResponse {
    harness::produce_raw(client, topic, 0, -1, Bytes::from(records))
}

/// ListOffsets for `timestamp` (-1 = latest): (error code, offset, timestamp).
fn list_offset(client: &mut RawClient, topic: &str, timestamp: i64) -> (i16, i64, i64) {
    let request = ListOffsetsRequest::default()
        .with_replica_id(BrokerId(-1))
        .with_topics(vec![ListOffsetsTopic::default()
            .with_name(TopicName(StrBytes::from_string(topic.to_string())))
            .with_partitions(vec![ListOffsetsPartition::default()
                .with_partition_index(0)
                .with_timestamp(timestamp)
                .with_current_leader_epoch(-1)])]);
    let response = client.call(&request, 7).expect("ListOffsets answered");
    let p = &response.topics[0].partitions[0];
    (p.error_code, p.offset, p.timestamp)
}

fn log_end(client: &mut RawClient, topic: &str) -> i64 {
    let (error, offset, _) = list_offset(client, topic, -1);
    assert_eq!(error, 0);
    offset
}

/// One record as it is laid out inside a batch, fields as given (so that
/// they can lie).
struct Rec {
    timestamp_delta: i64,
    offset_delta: i64,
    key: Option<Vec<u8>>,
    value: Option<Vec<u8>>,
}

impl Rec {
    fn new(offset_delta: i64, key: Option<&str>, value: &[u8]) -> Rec {
        Rec {
            timestamp_delta: offset_delta,
            offset_delta,
            key: key.map(|k| k.as_bytes().to_vec()),
            value: Some(value.to_vec()),
        }
    }
}

fn varint(out: &mut Vec<u8>, v: i64) {
    let mut z = ((v << 1) ^ (v >> 63)) as u64;
    while z >= 0x80 {
        out.push((z as u8) | 0x80);
        z >>= 7;
    }
    out.push(z as u8);
}

fn bytes_field(out: &mut Vec<u8>, b: &Option<Vec<u8>>) {
    match b {
        None => varint(out, -1),
        Some(b) => {
            varint(out, b.len() as i64);
            out.extend_from_slice(b);
        }
    }
}

fn record_body(r: &Rec) -> Vec<u8> {
    let mut body = vec![0u8];
    varint(&mut body, r.timestamp_delta);
    varint(&mut body, r.offset_delta);
    bytes_field(&mut body, &r.key);
    bytes_field(&mut body, &r.value);
    varint(&mut body, 0);
    body
}

fn encode_records(records: &[Rec]) -> Vec<u8> {
    let mut out = Vec::new();
    for r in records {
        let body = record_body(r);
        varint(&mut out, body.len() as i64);
        out.extend_from_slice(&body);
    }
    out
}

/// A magic-2 batch around `payload` (the records, compressed or not), the
/// header fields as given, and a valid CRC32C.
fn batch(
    attributes: i16,
    payload: &[u8],
    count: i32,
    last_offset_delta: i32,
    max_ts: i64,
) -> Vec<u8> {
    let mut b = Vec::new();
    b.extend_from_slice(&0i64.to_be_bytes());
    b.extend_from_slice(&((49 + payload.len()) as i32).to_be_bytes());
    b.extend_from_slice(&(-1i32).to_be_bytes());
    b.push(2);
    b.extend_from_slice(&0u32.to_be_bytes());
    b.extend_from_slice(&attributes.to_be_bytes());
    b.extend_from_slice(&last_offset_delta.to_be_bytes());
    b.extend_from_slice(&T0.to_be_bytes());
    b.extend_from_slice(&max_ts.to_be_bytes());
    b.extend_from_slice(&(-1i64).to_be_bytes());
    b.extend_from_slice(&(-1i16).to_be_bytes());
    b.extend_from_slice(&(-1i32).to_be_bytes());
    b.extend_from_slice(&count.to_be_bytes());
    b.extend_from_slice(payload);
    let crc = crc32c::crc32c(&b[21..]);
    b[17..21].copy_from_slice(&crc.to_be_bytes());
    b
}

/// A batch of `records` whose header tells the truth.
fn honest(records: &[Rec]) -> Vec<u8> {
    let n = records.len() as i32;
    let max_ts = T0 + records.iter().map(|r| r.timestamp_delta).max().unwrap_or(0);
    batch(0, &encode_records(records), n, n - 1, max_ts)
}

/// Three records in a batch whose header claims 2^31 - 1.
fn count_lie(keyed: bool) -> Vec<u8> {
    let key = |k| keyed.then_some(k);
    let records = [
        Rec::new(0, key("a"), b"a"),
        Rec::new(1, key("b"), b"b"),
        Rec::new(2, key("c"), b"c"),
    ];
    batch(0, &encode_records(&records), i32::MAX, i32::MAX - 1, T0 + 2)
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    encoder.write_all(data).unwrap();
    encoder.finish().unwrap()
}

fn refused(r: &PartitionProduceResponse) -> bool {
    r.error_code == ResponseError::CorruptMessage.code()
        || r.error_code == ResponseError::InvalidRecord.code()
}

/// Resident memory of the broker, in KiB: (now, peak since the last reset).
fn rss_kib(pid: u32) -> (u64, u64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("read status");
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap_or_else(|| panic!("{name} in /proc/{pid}/status"))
    };
    (field("VmRSS:"), field("VmHWM:"))
}

/// Sets the peak resident size back to the current one.
fn reset_peak(pid: u32) {
    std::fs::write(format!("/proc/{pid}/clear_refs"), "5").expect("reset VmHWM");
}

fn assert_serving(broker: &mut BrokerProcess, client: &mut RawClient, topic: &str) {
    assert!(broker.is_running(), "the broker died");
    assert_eq!(
        list_offset(client, topic, T0).0,
        0,
        "ListOffsets by time answers"
    );
}

#[test]
fn a_batch_claiming_more_records_than_it_holds_is_refused() {
    let mut broker = BrokerProcess::start(&[]);
    let mut client = RawClient::connect(broker.port);
    create_topic(&mut client, "lie", &[]);
    assert_eq!(
        produce(&mut client, "lie", honest(&[Rec::new(0, None, b"x")])).error_code,
        0
    );

    let r = produce(&mut client, "lie", count_lie(false));
    assert!(refused(&r), "a count lie is refused, got {r:?}");
    assert!(r.error_message.is_some(), "the refusal says why");
    assert_eq!(log_end(&mut client, "lie"), 1, "nothing of it was written");
    assert_serving(&mut broker, &mut client, "lie");
    assert_eq!(list_offset(&mut client, "lie", T0), (0, 0, T0));

    // Fewer records claimed than present: bytes left over after the count.
    let records = [Rec::new(0, None, b"a"), Rec::new(1, None, b"b")];
    let r = produce(
        &mut client,
        "lie",
        batch(0, &encode_records(&records), 1, 0, T0),
    );
    assert!(refused(&r), "records past the count are refused, got {r:?}");
    assert_eq!(log_end(&mut client, "lie"), 1);

    let r = produce(
        &mut client,
        "lie",
        record_batch(&["after"], NO_PRODUCER).to_vec(),
    );
    assert_eq!((r.error_code, r.base_offset), (0, 1));
}

#[test]
fn records_that_lie_about_offsets_or_lengths_are_invalid() {
    let mut broker = BrokerProcess::start(&[]);
    let mut client = RawClient::connect(broker.port);
    create_topic(&mut client, "deltas", &[]);

    let skipping = [
        Rec::new(0, None, b"a"),
        Rec::new(2, None, b"b"),
        Rec::new(1, None, b"c"),
    ];
    let r = produce(&mut client, "deltas", honest(&skipping));
    assert_eq!(r.error_code, ResponseError::InvalidRecord.code(), "{r:?}");
    assert_eq!(
        r.record_errors.first().map(|e| e.batch_index),
        Some(1),
        "the first record out of place is named"
    );

    let repeated = [Rec::new(0, None, b"a"), Rec::new(0, None, b"b")];
    let r = produce(&mut client, "deltas", honest(&repeated));
    assert_eq!(r.error_code, ResponseError::InvalidRecord.code(), "{r:?}");

    // A record whose value claims more bytes than the record holds.
    let mut payload = encode_records(&[Rec::new(0, None, b"abc")]);
    let value_len = payload.len() - 5;
    payload[value_len] = 2 * 50;
    let r = produce(&mut client, "deltas", batch(0, &payload, 1, 0, T0));
    assert!(
        refused(&r),
        "a value longer than its record is refused, got {r:?}"
    );

    assert_eq!(log_end(&mut client, "deltas"), 0);
    assert_serving(&mut broker, &mut client, "deltas");
}

#[test]
fn a_compacted_topic_refuses_poison_batches_too() {
    let mut broker = BrokerProcess::start(&[]);
    let mut client = RawClient::connect(broker.port);
    create_topic(&mut client, "keys", &[("cleanup.policy", "compact")]);
    let r = produce(&mut client, "keys", honest(&[Rec::new(0, Some("k"), b"v")]));
    assert_eq!(r.error_code, 0);

    let r = produce(&mut client, "keys", count_lie(true));
    assert!(refused(&r), "a count lie is refused, got {r:?}");
    assert!(broker.is_running(), "the broker survived the count lie");

    let skipping = [Rec::new(0, Some("a"), b"a"), Rec::new(5, Some("b"), b"b")];
    let r = produce(&mut client, "keys", honest(&skipping));
    assert_eq!(r.error_code, ResponseError::InvalidRecord.code(), "{r:?}");

    let keyless = [Rec::new(0, Some("a"), b"a"), Rec::new(1, None, b"b")];
    let r = produce(&mut client, "keys", honest(&keyless));
    assert_eq!(r.error_code, ResponseError::InvalidRecord.code(), "{r:?}");
    assert_eq!(r.record_errors.first().map(|e| e.batch_index), Some(1));

    assert_eq!(log_end(&mut client, "keys"), 1);
    assert_serving(&mut broker, &mut client, "keys");
}

#[test]
fn a_compression_bomb_is_refused_without_being_inflated() {
    let mut broker = BrokerProcess::start(&[]);
    let pid = broker.pid().expect("running");
    let mut client = RawClient::connect(broker.port);
    // With 64 KiB batches a batch may inflate to 4 MiB (64 times); 16 MiB
    // of zeros, about 16 KiB of gzip, is well over that.
    create_topic(&mut client, "bomb", &[("max.message.bytes", "65536")]);
    let zeros = vec![0u8; 16 << 20];
    let payload = gzip(&encode_records(&[Rec::new(0, None, &zeros)]));
    drop(zeros);
    assert!(payload.len() < 65_000, "the bomb fits max.message.bytes");
    let bomb = batch(GZIP, &payload, 1, 0, T0);

    let (rss_before, _) = rss_kib(pid);
    reset_peak(pid);
    let r = produce(&mut client, "bomb", bomb);
    assert_eq!(r.error_code, ResponseError::MessageTooLarge.code(), "{r:?}");
    let (_, peak) = rss_kib(pid);
    assert!(
        peak.saturating_sub(rss_before) < 8 << 10,
        "refusing the bomb took {} KiB",
        peak - rss_before
    );
    assert_eq!(log_end(&mut client, "bomb"), 0);
    assert!(broker.is_running());

    // A compressed batch within the bound is taken.
    let payload = gzip(&encode_records(&[Rec::new(0, None, &[0u8; 100_000])]));
    let r = produce(&mut client, "bomb", batch(GZIP, &payload, 1, 0, T0));
    assert_eq!((r.error_code, r.base_offset), (0, 0));
}

#[test]
fn list_offsets_by_time_streams_through_a_large_compressed_batch() {
    let mut broker = BrokerProcess::start(&[]);
    let pid = broker.pid().expect("running");
    let mut client = RawClient::connect(broker.port);
    create_topic(&mut client, "large", &[]);
    // 32 MiB in eight records between two small ones, within the bound for
    // the default max.message.bytes; the last record is the one asked for.
    let big = vec![0u8; 4 << 20];
    let mut records = vec![Rec::new(0, None, b"first")];
    records.extend((1..=8).map(|i| Rec::new(i, None, &big)));
    records.push(Rec::new(9, None, b"last"));
    drop(big);
    let payload = gzip(&encode_records(&records));
    drop(records);
    let r = produce(&mut client, "large", batch(GZIP, &payload, 10, 9, T0 + 9));
    assert_eq!(r.error_code, 0, "{r:?}");

    let (rss_before, _) = rss_kib(pid);
    reset_peak(pid);
    let port = broker.port;
    let askers: Vec<_> = (0..4)
        .map(|_| {
            std::thread::spawn(move || {
                let mut client = RawClient::connect(port);
                list_offset(&mut client, "large", T0 + 9)
            })
        })
        .collect();
    for asker in askers {
        assert_eq!(asker.join().unwrap(), (0, 9, T0 + 9));
    }
    let (_, peak) = rss_kib(pid);
    assert!(
        peak.saturating_sub(rss_before) < 16 << 10,
        "four ListOffsets over a 32 MiB batch took {} KiB",
        peak - rss_before
    );
    assert_eq!(list_offset(&mut client, "large", T0 + 1), (0, 1, T0 + 1));
    assert!(broker.is_running());
}

/// The first segment file of `topic`-0 under the broker's data dir.
fn segment_file(broker: &BrokerProcess, topic: &str) -> std::path::PathBuf {
    broker
        .dir
        .join(format!("{topic}-0"))
        .join(format!("{:020}.log", 0))
}

#[test]
fn poison_batches_written_before_validation_do_not_stop_the_broker() {
    // The cleaner looks for work every log.cleaner.backoff.ms (15 s by default).
    let mut broker = BrokerProcess::start(&[
        "log.retention.check.interval.ms=200",
        "log.cleaner.backoff.ms=300",
    ]);
    let mut client = RawClient::connect(broker.port);
    create_topic(&mut client, "old", &[]);
    create_topic(
        &mut client,
        "old-compact",
        &[("cleanup.policy", "compact"), ("segment.bytes", "200")],
    );
    for topic in ["old", "old-compact"] {
        let r = produce(&mut client, topic, honest(&[Rec::new(0, Some("k"), b"v")]));
        assert_eq!(r.error_code, 0);
    }
    broker.stop();
    // What an older broker took: the count lie at offset 1, then a batch
    // inflating to 16 MiB.
    let after_bomb = 2 + i64::from(i32::MAX);
    for topic in ["old", "old-compact"] {
        let mut poison = count_lie(true);
        poison[..8].copy_from_slice(&1i64.to_be_bytes());
        let zeros = vec![0u8; 16 << 20];
        let payload = gzip(&encode_records(&[Rec::new(0, Some("z"), &zeros)]));
        let mut bomb = batch(GZIP, &payload, 1, 0, T0 + 5);
        bomb[..8].copy_from_slice(&(after_bomb - 1).to_be_bytes());
        let mut file = std::fs::OpenOptions::new()
            .append(true)
            .open(segment_file(&broker, topic))
            .unwrap();
        file.write_all(&poison).unwrap();
        file.write_all(&bomb).unwrap();
    }
    broker.restart();
    let pid = broker.pid().expect("running");
    let mut client = RawClient::connect(broker.port);
    let (rss_before, _) = rss_kib(pid);
    reset_peak(pid);
    for topic in ["old", "old-compact"] {
        assert_eq!(log_end(&mut client, topic), after_bomb, "{topic}");
        assert_eq!(list_offset(&mut client, topic, T0), (0, 0, T0), "{topic}");
        for timestamp in [T0 + 1, T0 + 5, -3] {
            let (error, _, _) = list_offset(&mut client, topic, timestamp);
            assert_eq!(error, 0, "{topic} at {timestamp}");
        }
    }
    // Three more values of the key in segments after the poisoned one: the
    // first rolls it, the third rolls the next, which the cleaner then
    // empties while it passes the poisoned segment by.
    for value in ["w", "x", "y"] {
        let r = produce(
            &mut client,
            "old-compact",
            honest(&[Rec::new(0, Some("k"), value.as_bytes())]),
        );
        assert_eq!(r.error_code, 0, "{r:?}");
    }
    let bootstrap = broker.bootstrap();
    let read = || {
        harness::consume(
            &bootstrap,
            "old-compact",
            0,
            after_bomb,
            3,
            Duration::from_secs(1),
        )
    };
    assert!(
        wait_until(Duration::from_secs(30), || read().len() == 1),
        "the segment after the poisoned one is compacted"
    );
    let (_, peak) = rss_kib(pid);
    assert!(
        peak.saturating_sub(rss_before) < 16 << 10,
        "reading and cleaning the poisoned logs took {} KiB",
        peak - rss_before
    );
    assert_serving(&mut broker, &mut client, "old");
}
