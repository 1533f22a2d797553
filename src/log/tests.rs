//! Unit tests of the log with real batches encoded by kafka-protocol.

use bytes::{Bytes, BytesMut};
use kafka_protocol::records::{
    Compression, Record, RecordBatchDecoder, RecordBatchEncoder, RecordEncodeOptions,
    TimestampType as WireTimestampType,
};

use super::{Log, LogError};
use crate::config::{LogConfig, TimestampType};

fn batch(values: &[&str], first_timestamp: i64, compression: Compression) -> Vec<u8> {
    let records: Vec<Record> = values
        .iter()
        .enumerate()
        .map(|(i, v)| Record {
            transactional: false,
            control: false,
            delete_horizon: false,
            partition_leader_epoch: -1,
            producer_id: -1,
            producer_epoch: -1,
            timestamp_type: WireTimestampType::Creation,
            offset: i as i64,
            // The encoder keeps records in one batch only while offset - sequence is constant.
            sequence: i as i32,
            timestamp: first_timestamp + i as i64,
            key: None,
            value: Some(Bytes::copy_from_slice(v.as_bytes())),
            headers: Default::default(),
        })
        .collect();
    let mut buf = BytesMut::new();
    RecordBatchEncoder::encode(
        &mut buf,
        &records,
        &RecordEncodeOptions {
            version: 2,
            compression,
        },
    )
    .unwrap();
    buf.to_vec()
}

fn one(v: &str, ts: i64) -> Vec<u8> {
    batch(&[v], ts, Compression::None)
}

/// (offset, value, timestamp) of every record in `bytes`.
fn decode(bytes: Bytes) -> Vec<(i64, String, i64)> {
    let mut bytes = bytes;
    let mut out = Vec::new();
    while !bytes.is_empty() {
        let set = RecordBatchDecoder::decode(&mut bytes).unwrap();
        for r in set.records {
            out.push((
                r.offset,
                String::from_utf8(r.value.unwrap().to_vec()).unwrap(),
                r.timestamp,
            ));
        }
    }
    out
}

fn config() -> LogConfig {
    LogConfig::default()
}

fn small_segments() -> LogConfig {
    LogConfig {
        segment_bytes: 300,
        index_interval_bytes: 100,
        ..LogConfig::default()
    }
}

fn fill(log: &mut Log, n: usize) {
    for i in 0..n {
        log.append_as_leader(&one(&format!("v{i}"), 1000 + i as i64), 0, 0)
            .unwrap();
    }
}

#[test]
fn offsets_are_dense_across_multi_record_batches() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = Log::open(dir.path(), config(), false, 0).unwrap();
    let a = log
        .append_as_leader(&batch(&["a", "b", "c"], 10, Compression::None), 0, 0)
        .unwrap();
    let b = log
        .append_as_leader(&batch(&["d", "e"], 20, Compression::Gzip), 0, 0)
        .unwrap();
    assert_eq!((a.base_offset, a.last_offset, a.record_count), (0, 2, 3));
    assert_eq!((b.base_offset, b.last_offset), (3, 4));
    assert_eq!(log.log_end_offset(), 5);
    let all = decode(log.read(0, 1 << 20, 5, true).unwrap());
    let values: Vec<_> = all.iter().map(|(o, v, _)| (*o, v.as_str())).collect();
    assert_eq!(
        values,
        vec![(0, "a"), (1, "b"), (2, "c"), (3, "d"), (4, "e")]
    );
    // A read from the middle of a batch starts at that whole batch.
    assert_eq!(decode(log.read(4, 1 << 20, 5, true).unwrap())[0].0, 3);
}

#[test]
fn reads_stop_at_the_high_watermark_and_max_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = Log::open(dir.path(), config(), false, 0).unwrap();
    fill(&mut log, 10);
    assert_eq!(decode(log.read(0, 1 << 20, 4, true).unwrap()).len(), 4);
    assert!(log.read(4, 1 << 20, 4, true).unwrap().is_empty());
    let one_batch = log.read(0, 1, 10, true).unwrap();
    assert_eq!(
        decode(one_batch).len(),
        1,
        "min_one returns one whole batch over max_bytes"
    );
    assert!(log.read(0, 1, 10, false).unwrap().is_empty());
    assert!(matches!(
        log.read(11, 100, 10, true),
        Err(LogError::OffsetOutOfRange { .. })
    ));
    assert!(
        log.read(10, 100, 10, true).unwrap().is_empty(),
        "reading at the end is empty, not an error"
    );
}

#[test]
fn segments_roll_and_reads_cross_them_and_survive_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = Log::open(dir.path(), small_segments(), false, 0).unwrap();
    fill(&mut log, 40);
    assert!(log.segments.len() > 3);
    let all: Vec<i64> = decode(log.read(0, 1 << 20, 40, true).unwrap())
        .iter()
        .map(|r| r.0)
        .collect();
    // A read returns data from one segment; keep reading from where it stopped.
    let mut offsets = all;
    while (offsets.len() as i64) < 40 {
        let next = *offsets.last().unwrap() + 1;
        offsets.extend(
            decode(log.read(next, 1 << 20, 40, true).unwrap())
                .iter()
                .map(|r| r.0),
        );
    }
    assert_eq!(offsets, (0..40).collect::<Vec<_>>());
    log.flush().unwrap();
    drop(log);
    let log = Log::open(dir.path(), small_segments(), false, 0).unwrap();
    assert_eq!(log.log_end_offset(), 40);
    assert_eq!(
        decode(log.read(37, 1 << 20, 40, true).unwrap())[0],
        (37, "v37".to_string(), 1037)
    );
}

#[test]
fn recovery_cuts_a_torn_tail_and_keeps_everything_before() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = Log::open(dir.path(), config(), false, 0).unwrap();
    fill(&mut log, 5);
    drop(log);
    let seg = dir.path().join(format!("{:020}.log", 0));
    let good = std::fs::metadata(&seg).unwrap().len();
    let mut bytes = std::fs::read(&seg).unwrap();
    bytes.extend_from_slice(&one("torn", 1)[..30]);
    std::fs::write(&seg, &bytes).unwrap();
    let mut log = Log::open(dir.path(), config(), true, 0).unwrap();
    assert_eq!(log.log_end_offset(), 5);
    assert_eq!(std::fs::metadata(&seg).unwrap().len(), good);
    assert_eq!(
        log.append_as_leader(&one("next", 1), 0, 0)
            .unwrap()
            .base_offset,
        5
    );
}

#[test]
fn recovery_drops_a_batch_with_a_bad_crc_and_rebuilds_lost_indexes() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = Log::open(dir.path(), config(), false, 0).unwrap();
    fill(&mut log, 5);
    drop(log);
    let seg = dir.path().join(format!("{:020}.log", 0));
    let mut bytes = std::fs::read(&seg).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 0x55;
    std::fs::write(&seg, &bytes).unwrap();
    std::fs::remove_file(dir.path().join(format!("{:020}.index", 0))).unwrap();
    std::fs::write(dir.path().join(format!("{:020}.timeindex", 0)), b"garbage").unwrap();
    let log = Log::open(dir.path(), config(), true, 0).unwrap();
    assert_eq!(log.log_end_offset(), 4);
    assert_eq!(decode(log.read(0, 1 << 20, 4, true).unwrap()).len(), 4);
    assert_eq!(log.offset_for_timestamp(1002), Some((2, 1002)));
}

#[test]
fn bad_batches_are_refused_with_kafka_errors() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = Log::open(
        dir.path(),
        LogConfig {
            max_message_bytes: 200,
            ..config()
        },
        false,
        0,
    )
    .unwrap();
    let mut bad_crc = one("x", 1);
    let n = bad_crc.len();
    bad_crc[n - 1] ^= 1;
    assert!(matches!(
        log.append_as_leader(&bad_crc, 0, 0),
        Err(LogError::CorruptMessage(_))
    ));
    let mut old_magic = one("x", 1);
    old_magic[16] = 1;
    assert!(matches!(
        log.append_as_leader(&old_magic, 0, 0),
        Err(LogError::UnsupportedMagic(1))
    ));
    let big = "y".repeat(500);
    assert!(matches!(
        log.append_as_leader(&one(&big, 1), 0, 0),
        Err(LogError::MessageTooLarge { .. })
    ));
    let whole = one("x", 1);
    assert!(matches!(
        log.append_as_leader(&whole[..whole.len() - 3], 0, 0),
        Err(LogError::CorruptMessage(_))
    ));
    assert!(log.append_as_leader(&[], 0, 0).is_err());
    assert_eq!(log.log_end_offset(), 0, "nothing was written");
}

#[test]
fn log_append_time_is_stamped_with_a_valid_crc() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = LogConfig {
        message_timestamp_type: TimestampType::LogAppendTime,
        ..config()
    };
    let mut log = Log::open(dir.path(), cfg.clone(), false, 0).unwrap();
    let info = log
        .append_as_leader(&batch(&["a", "b"], 5, Compression::None), 0, 777_000)
        .unwrap();
    assert_eq!(info.log_append_time, 777_000);
    let bytes = log.read(0, 1 << 20, 2, true).unwrap();
    let header = super::batch::check_batch(&bytes).expect("CRC still valid after patching");
    // Clients take every record's timestamp from maxTimestamp when the LogAppendTime bit is set.
    assert_eq!(header.max_timestamp, 777_000);
    assert_ne!(header.attributes & 0x08, 0);
}

#[test]
fn retention_by_bytes_and_time_deletes_whole_segments() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = Log::open(
        dir.path(),
        LogConfig {
            retention_bytes: 600,
            ..small_segments()
        },
        false,
        0,
    )
    .unwrap();
    fill(&mut log, 40);
    let before = log.segments.len();
    let deleted = log.apply_retention(2000).unwrap();
    assert!(deleted > 0 && log.segments.len() == before - deleted);
    assert!(log.size_bytes() <= 600 + 300);
    assert_eq!(log.log_start_offset(), *log.segments.keys().next().unwrap());
    assert!(matches!(
        log.read(0, 100, 40, true),
        Err(LogError::OffsetOutOfRange { .. })
    ));

    let dir = tempfile::tempdir().unwrap();
    let mut log = Log::open(
        dir.path(),
        LogConfig {
            retention_ms: 500,
            ..small_segments()
        },
        false,
        0,
    )
    .unwrap();
    fill(&mut log, 20); // timestamps 1000..1019
    assert_eq!(
        log.apply_retention(1400).unwrap(),
        0,
        "nothing older than retention.ms yet"
    );
    log.apply_retention(10_000).unwrap();
    assert_eq!(
        log.log_start_offset(),
        20,
        "every segment expired, the active one rolled and went too"
    );
    assert_eq!(
        log.append_as_leader(&one("after", 9_999), 0, 10_000)
            .unwrap()
            .base_offset,
        20
    );
}

#[test]
fn delete_records_moves_the_start_and_persists_it() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = Log::open(dir.path(), small_segments(), false, 0).unwrap();
    fill(&mut log, 30);
    let segments = log.segments.len();
    assert_eq!(log.delete_records_before(17, 0).unwrap(), 17);
    assert!(log.segments.len() < segments);
    assert_eq!(
        log.delete_records_before(5, 0).unwrap(),
        17,
        "never backwards"
    );
    assert!(log.delete_records_before(31, 0).is_err());
    assert_eq!(
        decode(log.read(17, 1 << 20, 30, true).unwrap())
            .first()
            .map(|r| r.0),
        Some(17)
    );
    drop(log);
    let log = Log::open(dir.path(), small_segments(), false, 0).unwrap();
    assert_eq!(log.log_start_offset(), 17);
    assert_eq!(
        log.offset_for_timestamp(0),
        Some((17, 1017)),
        "timestamp lookups skip deleted records"
    );
}

#[test]
fn timestamp_lookups_find_exact_records() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = Log::open(dir.path(), small_segments(), false, 0).unwrap();
    log.append_as_leader(&batch(&["a", "b", "c"], 100, Compression::Lz4), 0, 0)
        .unwrap(); // 100,101,102
    log.append_as_leader(&one("d", 50), 0, 0).unwrap();
    log.append_as_leader(&one("e", 500), 0, 0).unwrap();
    assert_eq!(log.offset_for_timestamp(101), Some((1, 101)));
    assert_eq!(log.offset_for_timestamp(103), Some((4, 500)));
    assert_eq!(log.offset_for_timestamp(501), None);
    assert_eq!(log.max_timestamp_and_offset(), Some((4, 500)));
}

#[test]
fn leader_epochs_answer_offset_for_leader_epoch() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = Log::open(dir.path(), config(), false, 0).unwrap();
    log.append_as_leader(&one("a", 1), 0, 0).unwrap();
    log.append_as_leader(&one("b", 2), 0, 0).unwrap();
    log.append_as_leader(&one("c", 3), 2, 0).unwrap();
    assert_eq!(log.end_offset_for_epoch(0), Some((0, 2)));
    assert_eq!(log.end_offset_for_epoch(1), Some((0, 2)));
    assert_eq!(log.end_offset_for_epoch(2), Some((2, 3)));
    assert_eq!(log.end_offset_for_epoch(3), None);
}
