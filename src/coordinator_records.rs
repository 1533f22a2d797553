//! What the group and transaction coordinators share about their internal
//! topics (`__consumer_offsets`, `__transaction_state`): Kafka's mapping of
//! a key to a partition, its schema strings, one record batch per change,
//! replaying a partition, and what changed in which partitions they lead.

use std::collections::BTreeSet;

use crate::partition::Partition;
use bytes::{Buf, BufMut, Bytes, BytesMut};
use kafka_protocol::records::{
    Compression, Record, RecordBatchDecoder, RecordBatchEncoder, RecordEncodeOptions, TimestampType,
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

/// What changed in a coordinator's leadership of its internal partitions:
/// those it has come to lead (leaving out any whose load failed and that it
/// still leads, which wait for a new leadership) and those it lost. Loads
/// that failed for partitions no longer led are forgotten, so leading one
/// again loads it again. `None` when nothing changed.
pub fn leadership_change(
    led: &BTreeSet<i32>,
    failed: &mut BTreeSet<i32>,
    led_now: &BTreeSet<i32>,
) -> Option<(Vec<i32>, BTreeSet<i32>)> {
    failed.retain(|index| led_now.contains(index));
    let gained: Vec<i32> = led_now
        .iter()
        .filter(|index| !led.contains(index) && !failed.contains(index))
        .copied()
        .collect();
    let lost: BTreeSet<i32> = led.difference(led_now).copied().collect();
    (!gained.is_empty() || !lost.is_empty()).then_some((gained, lost))
}

/// Why a coordinator could not load one of its internal partitions: what
/// could not be read, and where.
#[derive(Debug, thiserror::Error)]
#[error("cannot load {topic}-{partition}: {what}")]
pub struct LoadError {
    pub topic: String,
    pub partition: i32,
    what: String,
}

impl LoadError {
    pub fn new(partition: &Partition, what: String) -> LoadError {
        LoadError {
            topic: partition.topic.clone(),
            partition: partition.index,
            what,
        }
    }

    /// `reason` about the record or batch at `offset`, found `skip` bytes
    /// into the read of `partition` that started at `read_from`.
    fn at(partition: &Partition, read_from: i64, skip: usize, offset: i64, reason: &str) -> Self {
        let place = match partition.locate(read_from) {
            Some((file, Some(position))) => {
                format!("byte {} of {}", position + skip as u64, file.display())
            }
            Some((file, None)) => format!("in {}", file.display()),
            None => "past the last segment".to_string(),
        };
        LoadError::new(partition, format!("{reason} at offset {offset} ({place})"))
    }
}

/// Bytes from the start of a batch to its CRC, and its last offset delta.
const BATCH_HEADER: usize = 61;
const LAST_OFFSET_DELTA: usize = 23;

/// A whole batch at the start of `bytes`: (base offset, last offset, size).
fn batch_frame(bytes: &[u8]) -> Option<(i64, i64, usize)> {
    let header = bytes.get(..BATCH_HEADER)?;
    let base = i64::from_be_bytes(header[..8].try_into().ok()?);
    let length = usize::try_from(i32::from_be_bytes(header[8..12].try_into().ok()?)).ok()?;
    let delta = i32::from_be_bytes(
        header[LAST_OFFSET_DELTA..LAST_OFFSET_DELTA + 4]
            .try_into()
            .ok()?,
    );
    let size = 12 + length;
    (size >= BATCH_HEADER && size <= bytes.len()).then_some((base, base + i64::from(delta), size))
}

/// Reads `partition` from its log start to its log end, handing every
/// record to `apply` in log order (a coordinator loading its state when it
/// comes to lead the partition), and answers how many there were. A batch
/// that does not read or decode, or a record `apply` refuses, fails the
/// load: what follows it may change or delete what came before, so the
/// state read up to there is not the partition's.
pub fn replay_partition(
    partition: &Partition,
    mut apply: impl FnMut(Record) -> Result<(), String>,
) -> Result<usize, LoadError> {
    let mut offset = partition.log_start_offset();
    let end = partition.log_end_offset();
    let mut records = 0;
    while offset < end {
        let read = partition.read_to_log_end(offset, 1 << 20).map_err(|e| {
            let reason = format!("the log cannot be read ({e})");
            LoadError::at(partition, offset, 0, offset, &reason)
        })?;
        let mut next = offset;
        let mut skip = 0;
        while skip < read.len() {
            let Some((base, last, size)) = batch_frame(&read[skip..]) else {
                return Err(LoadError::at(
                    partition,
                    offset,
                    skip,
                    next,
                    "a batch is cut short",
                ));
            };
            let mut batch = read.slice(skip..skip + size);
            let decoded = RecordBatchDecoder::decode(&mut batch).map_err(|e| {
                let reason = format!("the batch does not decode ({e})");
                LoadError::at(partition, offset, skip, base, &reason)
            })?;
            for record in decoded.records {
                let at = record.offset;
                apply(record)
                    .map_err(|reason| LoadError::at(partition, offset, skip, at, &reason))?;
                records += 1;
            }
            next = next.max(last + 1);
            skip += size;
        }
        // Reads hold whole batches from the one holding `offset`, so only
        // a batch header that does not read leaves the log end unreached.
        if next <= offset {
            let reason = format!("no readable batch before the log end offset {end}");
            return Err(LoadError::at(partition, offset, 0, offset, &reason));
        }
        offset = next;
    }
    Ok(records)
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
