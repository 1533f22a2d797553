//! Unit tests of the record walk and Produce validation, on batches built
//! by hand so that every field can lie.

use std::io::Write;
use std::ops::ControlFlow;

use kafka_protocol::records::Compression;

use super::*;
use crate::log::batch::check_batch;
use crate::log::tests::batch as encoded;

const T0: i64 = 1_700_000_000_000;

fn varint(out: &mut Vec<u8>, v: i64) {
    let mut z = ((v << 1) ^ (v >> 63)) as u64;
    while z >= 0x80 {
        out.push((z as u8) | 0x80);
        z >>= 7;
    }
    out.push(z as u8);
}

/// One record: (timestamp delta, offset delta, key length, key, value).
fn record(ts_delta: i64, offset_delta: i64, key: Option<&[u8]>, value: &[u8]) -> Vec<u8> {
    let mut body = vec![0u8];
    varint(&mut body, ts_delta);
    varint(&mut body, offset_delta);
    match key {
        None => varint(&mut body, -1),
        Some(k) => {
            varint(&mut body, k.len() as i64);
            body.extend_from_slice(k);
        }
    }
    varint(&mut body, value.len() as i64);
    body.extend_from_slice(value);
    varint(&mut body, 0);
    let mut out = Vec::new();
    varint(&mut out, body.len() as i64);
    out.extend_from_slice(&body);
    out
}

/// `n` records at deltas 0.. with one-byte values.
fn records(n: i64, keyed: bool) -> Vec<u8> {
    (0..n)
        .flat_map(|i| record(i, i, keyed.then_some(&b"k"[..]), b"v"))
        .collect()
}

/// A batch around `payload` with a valid CRC and the header as given.
fn raw_batch(attributes: i16, payload: &[u8], count: i32, max_ts: i64) -> Vec<u8> {
    let mut b = Vec::new();
    b.extend_from_slice(&0i64.to_be_bytes());
    b.extend_from_slice(&((49 + payload.len()) as i32).to_be_bytes());
    b.extend_from_slice(&(-1i32).to_be_bytes());
    b.push(2);
    b.extend_from_slice(&0u32.to_be_bytes());
    b.extend_from_slice(&attributes.to_be_bytes());
    b.extend_from_slice(&(count.max(1) - 1).to_be_bytes());
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

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

fn rules() -> Rules {
    Rules {
        cap: 1 << 20,
        require_keys: false,
        timestamps: None,
    }
}

fn check(b: &[u8], rules: &Rules) -> Result<i64, LogError> {
    let h = check_batch(b).expect("a valid header");
    validate(b, &h, rules)
}

#[test]
fn honest_batches_of_every_codec_pass_with_their_largest_timestamp() {
    for codec in [
        Compression::None,
        Compression::Gzip,
        Compression::Snappy,
        Compression::Lz4,
        Compression::Zstd,
    ] {
        let b = encoded(&["a", "bb", "ccc"], 100, codec);
        assert_eq!(check(&b, &rules()).unwrap(), 102, "{codec:?}");
    }
}

#[test]
fn a_count_that_does_not_match_the_records_is_invalid() {
    let too_many = raw_batch(0, &records(3, false), i32::MAX, T0);
    assert!(matches!(
        check(&too_many, &rules()),
        Err(LogError::InvalidRecord(m)) if m.contains("record 3")
    ));
    let too_few = raw_batch(0, &records(3, false), 2, T0);
    assert!(matches!(
        check(&too_few, &rules()),
        Err(LogError::InvalidRecord(m)) if m.contains("bytes follow")
    ));
    let compressed = raw_batch(1, &gzip(&records(3, false)), 1000, T0);
    assert!(matches!(
        check(&compressed, &rules()),
        Err(LogError::InvalidRecord(_))
    ));
}

#[test]
fn offset_deltas_out_of_order_name_each_record() {
    let payload = [
        record(0, 0, None, b"a"),
        record(1, 2, None, b"b"),
        record(2, 1, None, b"c"),
    ]
    .concat();
    let e = check(&raw_batch(0, &payload, 3, T0 + 2), &rules()).unwrap_err();
    assert!(matches!(
        e,
        LogError::InvalidRecords {
            timestamp: false,
            ..
        }
    ));
    let indexes: Vec<i32> = e.record_errors().iter().map(|r| r.batch_index).collect();
    assert_eq!(indexes, [1, 2]);
    assert_eq!(
        e.kafka_error_code(),
        kafka_protocol::error::ResponseError::InvalidRecord.code()
    );
}

#[test]
fn record_lengths_must_hold_their_fields_exactly() {
    let mut long = record(0, 0, None, b"abc");
    long[0] += 4; // two more bytes than the fields take
    long.extend_from_slice(&[0, 0]);
    assert!(matches!(
        check(&raw_batch(0, &long, 1, T0), &rules()),
        Err(LogError::InvalidRecord(m)) if m.contains("follow the fields")
    ));
    let mut short = record(0, 0, None, b"abc");
    short[0] -= 4;
    assert!(matches!(
        check(&raw_batch(0, &short, 1, T0), &rules()),
        Err(LogError::InvalidRecord(m)) if m.contains("run past")
    ));
    // A value claiming more than the record holds.
    let mut value = record(0, 0, None, b"abc");
    value[5] = 100;
    assert!(check(&raw_batch(0, &value, 1, T0), &rules()).is_err());
    // A key length under -1.
    let mut key = record(0, 0, None, b"abc");
    key[4] = 3;
    assert!(matches!(
        check(&raw_batch(0, &key, 1, T0), &rules()),
        Err(LogError::InvalidRecord(m)) if m.contains("key length -2")
    ));
    // A varint that never ends.
    let endless = [vec![20u8], vec![0xff; 20]].concat();
    assert!(check(&raw_batch(0, &endless, 1, T0), &rules()).is_err());
}

#[test]
fn compacted_topics_need_a_key_on_every_record() {
    let rules = Rules {
        require_keys: true,
        ..rules()
    };
    assert!(check(&raw_batch(0, &records(2, true), 2, T0 + 1), &rules).is_ok());
    let payload = [record(0, 0, Some(b"k"), b"a"), record(1, 1, None, b"b")].concat();
    let e = check(&raw_batch(0, &payload, 2, T0 + 1), &rules).unwrap_err();
    assert_eq!(e.record_errors()[0].batch_index, 1);
}

#[test]
fn create_time_timestamps_must_be_within_the_topic_bounds() {
    let now = T0 + 10_000;
    let rules = Rules {
        timestamps: Some((now, 5_000, 1_000)),
        ..rules()
    };
    let within = [record(5_000, 0, None, b"a"), record(11_000, 1, None, b"b")].concat();
    assert_eq!(
        check(&raw_batch(0, &within, 2, T0), &rules).unwrap(),
        T0 + 11_000
    );
    let late = [record(0, 0, None, b"a"), record(10_000, 1, None, b"b")].concat();
    let e = check(&raw_batch(0, &late, 2, T0), &rules).unwrap_err();
    assert!(matches!(
        e,
        LogError::InvalidRecords {
            timestamp: true,
            ..
        }
    ));
    assert_eq!(e.record_errors()[0].batch_index, 0);
    assert_eq!(
        e.kafka_error_code(),
        kafka_protocol::error::ResponseError::InvalidTimestamp.code()
    );
    let early = record(11_001, 0, None, b"a");
    assert!(check(&raw_batch(0, &early, 1, T0), &rules).is_err());
    // NO_TIMESTAMP is never out of bounds.
    let mut none = raw_batch(0, &record(0, 0, None, b"a"), 1, -1);
    none[27..35].copy_from_slice(&(-1i64).to_be_bytes());
    let crc = crc32c::crc32c(&none[21..]);
    none[17..21].copy_from_slice(&crc.to_be_bytes());
    assert_eq!(check(&none, &rules).unwrap(), -1);
}

#[test]
fn a_batch_inflating_past_the_cap_is_too_large() {
    let big = record(0, 0, None, &vec![0u8; 4 << 20]);
    let cap = big.len() as u64;
    let at_cap = Rules { cap, ..rules() };
    let b = raw_batch(1, &gzip(&big), 1, T0);
    assert!(b.len() < 64 << 10);
    assert!(check(&b, &at_cap).is_ok(), "exactly the cap is allowed");
    let under = Rules {
        cap: cap - 1,
        ..rules()
    };
    assert!(matches!(
        check(&b, &under),
        Err(LogError::InflatesTooFar { cap: c }) if c == cap - 1
    ));
    assert_eq!(
        LogError::InflatesTooFar { cap }.kafka_error_code(),
        kafka_protocol::error::ResponseError::MessageTooLarge.code()
    );
    // inflate() holds to the same cap.
    assert!(inflate(Codec::Gzip, &gzip(&big), cap).is_ok());
    assert!(matches!(
        inflate(Codec::Gzip, &gzip(&big), cap - 1),
        Err(LogError::InflatesTooFar { .. })
    ));
}

#[test]
fn a_snappy_block_claiming_more_than_the_cap_is_refused_before_it_is_decoded() {
    let mut payload = b"\x82SNAPPY\x00\x00\x00\x00\x01\x00\x00\x00\x01".to_vec();
    // A raw snappy block starts with its decompressed length as a varint:
    // this one claims 1 GiB and holds nothing.
    let block = [0x80, 0x80, 0x80, 0x80, 0x04];
    payload.extend_from_slice(&(block.len() as u32).to_be_bytes());
    payload.extend_from_slice(&block);
    let b = raw_batch(2, &payload, 1, T0);
    assert!(matches!(
        check(&b, &rules()),
        Err(LogError::InflatesTooFar { .. })
    ));
}

#[test]
fn undecodable_payloads_and_unknown_codecs_are_corrupt() {
    let garbage = raw_batch(1, b"not gzip at all", 1, T0);
    assert!(matches!(
        check(&garbage, &rules()),
        Err(LogError::CorruptMessage(_))
    ));
    let codec_5 = raw_batch(5, &records(1, false), 1, T0);
    assert!(matches!(
        check(&codec_5, &rules()),
        Err(LogError::CorruptMessage(m)) if m.contains("compression type id 5")
    ));
}

#[test]
fn a_walk_inflates_no_further_than_the_record_it_stops_at() {
    // A small record ahead of 8 MiB the cap does not allow: stopping at the
    // first record never meets the rest.
    let payload = [
        record(0, 0, Some(b"first"), b"x"),
        record(1, 1, None, &vec![0u8; 8 << 20]),
    ]
    .concat();
    let b = raw_batch(1, &gzip(&payload), 2, T0 + 1);
    let h = check_batch(&b).unwrap();
    let found = walk(&b, &h, 1 << 20, true, |r| {
        ControlFlow::Break((r.index, r.timestamp, r.key.map(<[u8]>::to_vec)))
    });
    assert_eq!(found.unwrap(), Some((0, T0, Some(b"first".to_vec()))));
    let whole = walk(&b, &h, 1 << 20, false, |_| ControlFlow::<()>::Continue(()));
    assert!(matches!(whole, Err(LogError::InflatesTooFar { .. })));
}
