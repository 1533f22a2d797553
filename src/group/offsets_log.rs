//! Committed offsets as records of the internal topic `__consumer_offsets`,
//! in Kafka's own layout (OffsetCommitKey v1, OffsetCommitValue v3), so the
//! log can be read by Kafka's tools and replayed at start-up.

use bytes::{Buf, BufMut, Bytes, BytesMut};
use kafka_protocol::records::{
    Compression, Record, RecordBatchDecoder, RecordBatchEncoder, RecordEncodeOptions, TimestampType,
};

use super::offsets::CommittedOffset;

pub const OFFSETS_TOPIC: &str = "__consumer_offsets";

const OFFSET_KEY_VERSION: i16 = 1;
const OFFSET_VALUE_VERSION: i16 = 3;

/// The `__consumer_offsets` partition that holds `group`: Kafka's
/// `abs(groupId.hashCode()) % partitions`, with Java's String.hashCode over
/// UTF-16 code units, so a group lands where Kafka would put it.
pub fn partition_for(group: &str, partitions: i32) -> i32 {
    let hash = group
        .encode_utf16()
        .fold(0i32, |h, c| h.wrapping_mul(31).wrapping_add(i32::from(c)));
    // Kafka's Utils.abs maps i32::MIN to 0 rather than overflowing.
    let positive = if hash == i32::MIN { 0 } else { hash.abs() };
    positive % partitions.max(1)
}

fn put_string(buf: &mut BytesMut, s: &str) {
    let bytes = s.as_bytes();
    buf.put_i16(bytes.len().min(i16::MAX as usize) as i16);
    buf.put_slice(&bytes[..bytes.len().min(i16::MAX as usize)]);
}

fn get_string(buf: &mut Bytes) -> Option<String> {
    if buf.remaining() < 2 {
        return None;
    }
    let len = buf.get_i16();
    if len < 0 {
        return Some(String::new());
    }
    let len = len as usize;
    if buf.remaining() < len {
        return None;
    }
    String::from_utf8(buf.split_to(len).to_vec()).ok()
}

pub fn encode_key(group: &str, topic: &str, partition: i32) -> Bytes {
    let mut buf = BytesMut::new();
    buf.put_i16(OFFSET_KEY_VERSION);
    put_string(&mut buf, group);
    put_string(&mut buf, topic);
    buf.put_i32(partition);
    buf.freeze()
}

pub fn encode_value(offset: &CommittedOffset) -> Bytes {
    let mut buf = BytesMut::new();
    buf.put_i16(OFFSET_VALUE_VERSION);
    buf.put_i64(offset.offset);
    buf.put_i32(offset.leader_epoch);
    put_string(&mut buf, offset.metadata.as_deref().unwrap_or(""));
    buf.put_i64(offset.commit_timestamp_ms);
    buf.freeze()
}

/// (group, topic, partition) of an offset commit key; `None` for other record kinds.
pub fn decode_key(mut key: Bytes) -> Option<(String, String, i32)> {
    if key.remaining() < 2 {
        return None;
    }
    match key.get_i16() {
        0 | 1 => {
            let group = get_string(&mut key)?;
            let topic = get_string(&mut key)?;
            (key.remaining() >= 4).then(|| (group, topic, key.get_i32()))
        }
        _ => None,
    }
}

/// Reads every OffsetCommitValue version Kafka has written (0 to 3).
pub fn decode_value(mut value: Bytes) -> Option<CommittedOffset> {
    if value.remaining() < 2 {
        return None;
    }
    let version = value.get_i16();
    if value.remaining() < 8 {
        return None;
    }
    let offset = value.get_i64();
    let leader_epoch = if version >= 3 && value.remaining() >= 4 {
        value.get_i32()
    } else {
        -1
    };
    let metadata = get_string(&mut value)?;
    let commit_timestamp_ms = if value.remaining() >= 8 {
        value.get_i64()
    } else {
        -1
    };
    Some(CommittedOffset {
        offset,
        leader_epoch,
        metadata: Some(metadata),
        commit_timestamp_ms,
    })
}

/// One record batch holding a commit of each given offset.
pub fn commit_batch(
    group: &str,
    offsets: &[(String, i32, CommittedOffset)],
    now_ms: i64,
) -> anyhow::Result<Bytes> {
    let entries: Vec<(&str, i32, Option<Bytes>)> = offsets
        .iter()
        .map(|(t, p, o)| (t.as_str(), *p, Some(encode_value(o))))
        .collect();
    batch(group, &entries, now_ms)
}

/// One record batch of tombstones, which delete the given commits when replayed (and when compacted).
pub fn tombstone_batch(
    group: &str,
    partitions: &[(String, i32)],
    now_ms: i64,
) -> anyhow::Result<Bytes> {
    let entries: Vec<(&str, i32, Option<Bytes>)> = partitions
        .iter()
        .map(|(t, p)| (t.as_str(), *p, None))
        .collect();
    batch(group, &entries, now_ms)
}

fn batch(
    group: &str,
    entries: &[(&str, i32, Option<Bytes>)],
    now_ms: i64,
) -> anyhow::Result<Bytes> {
    let records: Vec<Record> = entries
        .iter()
        .enumerate()
        .map(|(i, (topic, partition, value))| Record {
            transactional: false,
            control: false,
            delete_horizon: false,
            partition_leader_epoch: -1,
            producer_id: -1,
            producer_epoch: -1,
            timestamp_type: TimestampType::Creation,
            offset: i as i64,
            // The encoder keeps records in one batch only while offset - sequence is constant.
            sequence: i as i32,
            timestamp: now_ms,
            key: Some(encode_key(group, topic, *partition)),
            value: value.clone(),
            headers: Default::default(),
        })
        .collect();
    let mut buf = BytesMut::new();
    RecordBatchEncoder::encode(
        &mut buf,
        &records,
        &RecordEncodeOptions {
            version: 2,
            compression: Compression::None,
        },
    )?;
    Ok(buf.freeze())
}

/// One replayed record: (group, topic, partition, offset, or `None` for a tombstone).
pub type Replayed = (String, String, i32, Option<CommittedOffset>);

/// Every offset record in `batches`, in log order, and the offset after the last record read.
pub fn replay(mut batches: Bytes) -> (Vec<Replayed>, Option<i64>) {
    let mut out = Vec::new();
    let mut next = None;
    while batches.has_remaining() {
        let Ok(set) = RecordBatchDecoder::decode(&mut batches) else {
            tracing::warn!("undecodable batch in {OFFSETS_TOPIC}; skipping the rest of this read");
            break;
        };
        for r in set.records {
            next = Some(r.offset + 1);
            let Some((group, topic, partition)) = r.key.and_then(decode_key) else {
                continue;
            };
            out.push((group, topic, partition, r.value.and_then(decode_value)));
        }
    }
    (out, next)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_map_to_partitions_as_kafka_does() {
        // Java: Math.abs("my-group".hashCode()) % 50 == 12, "".hashCode() == 0.
        assert_eq!(partition_for("my-group", 50), 12);
        assert_eq!(partition_for("", 50), 0);
        assert!((0..50).contains(&partition_for("ÿ-ünïcode-group", 50)));
    }

    #[test]
    fn commits_round_trip_through_a_batch() {
        let offset = CommittedOffset {
            offset: 42,
            leader_epoch: 3,
            metadata: Some("meta".into()),
            commit_timestamp_ms: 1_700_000_000_000,
        };
        let batch = commit_batch(
            "g",
            &[
                ("t".into(), 1, offset.clone()),
                ("u".into(), 0, offset.clone()),
            ],
            5,
        )
        .unwrap();
        let (replayed, next) = replay(batch);
        assert_eq!(next, Some(2));
        assert_eq!(replayed.len(), 2);
        assert_eq!(
            replayed[0],
            ("g".into(), "t".into(), 1, Some(offset.clone()))
        );
        assert_eq!(replayed[1].1, "u");
        let (tombstones, _) = replay(tombstone_batch("g", &[("t".into(), 1)], 5).unwrap());
        assert_eq!(tombstones, vec![("g".into(), "t".into(), 1, None)]);
    }
}
