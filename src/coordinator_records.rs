//! What the group and transaction coordinators share about their internal
//! topics (`__consumer_offsets`, `__transaction_state`): Kafka's mapping of
//! a key to a partition, its schema strings, and one record batch per
//! change.

use crate::partition::Partition;
use bytes::{Buf, BufMut, Bytes, BytesMut};
use kafka_protocol::records::{
    Compression, Record, RecordBatchEncoder, RecordEncodeOptions, TimestampType,
};

/// The internal-topic partition that holds `key` (a group or transactional
/// id): Kafka's `abs(key.hashCode()) % partitions`, with Java's
/// String.hashCode over UTF-16 code units, so a key lands where Kafka would
/// put it.
pub fn partition_for(key: &str, partitions: i32) -> i32 {
    let hash = key
        .encode_utf16()
        .fold(0i32, |h, c| h.wrapping_mul(31).wrapping_add(i32::from(c)));
    // Kafka's Utils.abs maps i32::MIN to 0 rather than overflowing.
    let positive = if hash == i32::MIN { 0 } else { hash.abs() };
    positive % partitions.max(1)
}

pub fn put_string(buf: &mut BytesMut, s: &str) {
    let bytes = s.as_bytes();
    buf.put_i16(bytes.len().min(i16::MAX as usize) as i16);
    buf.put_slice(&bytes[..bytes.len().min(i16::MAX as usize)]);
}

pub fn get_string(buf: &mut Bytes) -> Option<String> {
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

/// Reads `partition` from its log start to its log end, handing each read
/// to `replay`, which answers the offset after the last record it took (a
/// coordinator loading its state when it comes to lead the partition).
pub fn replay_partition(partition: &Partition, mut replay: impl FnMut(Bytes) -> Option<i64>) {
    let mut offset = partition.log_start_offset();
    let end = partition.log_end_offset();
    while offset < end {
        let read = match partition.read_to_log_end(offset, 1 << 20) {
            Ok(r) => r,
            Err(e) => {
                tracing::error!(topic = %partition.topic, partition = partition.index, offset, error = %e, "cannot read an internal topic");
                break;
            }
        };
        match replay(read) {
            Some(next) if next > offset => offset = next,
            _ => break,
        }
    }
}

/// Encodes (key, value-or-tombstone) pairs as one record batch; with a
/// producer, as a transactional batch of that producer's (the offsets a
/// transaction commits), which only its transaction's marker makes count.
pub fn encode_records(
    entries: Vec<(Bytes, Option<Bytes>)>,
    producer: Option<(i64, i16)>,
    now_ms: i64,
) -> anyhow::Result<Bytes> {
    let (producer_id, producer_epoch) = producer.unwrap_or((-1, -1));
    let records: Vec<Record> = entries
        .into_iter()
        .enumerate()
        .map(|(i, (key, value))| Record {
            transactional: producer.is_some(),
            control: false,
            delete_horizon: false,
            partition_leader_epoch: -1,
            producer_id,
            producer_epoch,
            timestamp_type: TimestampType::Creation,
            offset: i as i64,
            // The encoder keeps records in one batch only while offset -
            // sequence is constant; the batch's base sequence stays -1 (no
            // sequence), as Kafka's coordinators write it.
            sequence: i as i32 - 1,
            timestamp: now_ms,
            key: Some(key),
            value,
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_map_to_partitions_as_kafka_does() {
        // Java: Math.abs("my-group".hashCode()) % 50 == 12, "".hashCode() == 0.
        assert_eq!(partition_for("my-group", 50), 12);
        assert_eq!(partition_for("", 50), 0);
        assert!((0..50).contains(&partition_for("ÿ-ünïcode-group", 50)));
    }
}
