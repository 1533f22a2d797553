//! The record batch (magic 2) header, read and patched in place: batches are
//! stored exactly as the producer sent them, so the broker never re-encodes
//! records on the hot path.
//!
//! Layout (big endian): baseOffset i64 @0, batchLength i32 @8 (bytes after
//! this field), partitionLeaderEpoch i32 @12, magic i8 @16, crc u32 @17
//! (CRC32C of everything from @21 on), attributes i16 @21, lastOffsetDelta
//! i32 @23, baseTimestamp i64 @27, maxTimestamp i64 @35, producerId i64 @43,
//! producerEpoch i16 @51, baseSequence i32 @53, recordCount i32 @57.

use super::LogError;

pub const HEADER_LEN: usize = 61;
const LENGTH_FIELD_END: usize = 12;
const MAGIC_AT: usize = 16;
pub const CRC_START: usize = 21;
const TIMESTAMP_TYPE_BIT: i16 = 0x08;

fn array_at<const N: usize>(b: &[u8], at: usize) -> Option<[u8; N]> {
    b.get(at..at.checked_add(N)?)?.try_into().ok()
}
fn i16_at(b: &[u8], at: usize) -> Option<i16> {
    array_at(b, at).map(i16::from_be_bytes)
}
fn i32_at(b: &[u8], at: usize) -> Option<i32> {
    array_at(b, at).map(i32::from_be_bytes)
}
fn u32_at(b: &[u8], at: usize) -> Option<u32> {
    array_at(b, at).map(u32::from_be_bytes)
}
fn i64_at(b: &[u8], at: usize) -> Option<i64> {
    array_at(b, at).map(i64::from_be_bytes)
}

/// Writes `value` at `at`, refusing (rather than panicking on) a short slice.
fn put(b: &mut [u8], at: usize, value: &[u8]) -> Result<(), LogError> {
    b.get_mut(at..at + value.len())
        .ok_or_else(|| LogError::CorruptMessage("batch shorter than its header".into()))?
        .copy_from_slice(value);
    Ok(())
}

/// Every field of a v2 batch header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatchHeader {
    pub base_offset: i64,
    pub batch_length: i32,
    pub partition_leader_epoch: i32,
    pub magic: i8,
    pub crc: u32,
    pub attributes: i16,
    pub last_offset_delta: i32,
    pub base_timestamp: i64,
    pub max_timestamp: i64,
    pub producer_id: i64,
    pub producer_epoch: i16,
    pub base_sequence: i32,
    pub record_count: i32,
}

impl BatchHeader {
    /// Parses the first `HEADER_LEN` bytes; `None` if there are fewer.
    pub fn parse(b: &[u8]) -> Option<BatchHeader> {
        Some(BatchHeader {
            base_offset: i64_at(b, 0)?,
            batch_length: i32_at(b, 8)?,
            partition_leader_epoch: i32_at(b, 12)?,
            magic: *b.get(MAGIC_AT)? as i8,
            crc: u32_at(b, 17)?,
            attributes: i16_at(b, 21)?,
            last_offset_delta: i32_at(b, 23)?,
            base_timestamp: i64_at(b, 27)?,
            max_timestamp: i64_at(b, 35)?,
            producer_id: i64_at(b, 43)?,
            producer_epoch: i16_at(b, 51)?,
            base_sequence: i32_at(b, 53)?,
            record_count: i32_at(b, 57)?,
        })
    }

    /// Whole size of the batch on disk, if the length field is sane.
    pub fn total_size(&self) -> Option<usize> {
        total_size(self.batch_length)
    }

    /// Saturates so that a corrupt base offset cannot overflow.
    pub fn last_offset(&self) -> i64 {
        self.base_offset
            .saturating_add(i64::from(self.last_offset_delta))
    }

    pub fn is_log_append_time(&self) -> bool {
        self.attributes & TIMESTAMP_TYPE_BIT != 0
    }
}

fn total_size(batch_length: i32) -> Option<usize> {
    let total = usize::try_from(batch_length)
        .ok()?
        .checked_add(LENGTH_FIELD_END)?;
    (total >= HEADER_LEN).then_some(total)
}

/// Checks one whole batch as it sits in `b` (exactly one batch long): magic
/// 2, length matching, CRC32C valid, at least one record, and as many
/// records as offsets.
pub fn check_batch(b: &[u8]) -> Result<BatchHeader, LogError> {
    let magic = b
        .get(MAGIC_AT)
        .ok_or_else(|| LogError::CorruptMessage("batch shorter than its header".into()))?;
    if *magic as i8 != 2 {
        return Err(LogError::UnsupportedMagic(*magic as i8));
    }
    let header = BatchHeader::parse(b)
        .ok_or_else(|| LogError::CorruptMessage("batch shorter than its header".into()))?;
    if header.total_size() != Some(b.len()) {
        return Err(LogError::CorruptMessage(
            "batch length does not match its data".into(),
        ));
    }
    let crc = crc32c::crc32c(b.get(CRC_START..).unwrap_or_default());
    if crc != header.crc {
        return Err(LogError::CorruptMessage(format!(
            "CRC mismatch: stored {:#010x}, computed {crc:#010x}",
            header.crc
        )));
    }
    // Kafka's LogValidator insists the offset range and the count agree:
    // offsets are assigned from the delta, so a mismatch would leave gaps.
    if header.last_offset_delta < 0
        || header.record_count <= 0
        || i64::from(header.last_offset_delta) + 1 != i64::from(header.record_count)
    {
        return Err(LogError::CorruptMessage(format!(
            "batch claims {} records with last offset delta {}",
            header.record_count, header.last_offset_delta
        )));
    }
    Ok(header)
}

/// Splits a Produce request's records into batches and checks each: whole,
/// magic 2, within `max_message_bytes`, CRC32C valid, not empty.
pub fn validate_produce_records(
    records: &[u8],
    max_message_bytes: i32,
) -> Result<Vec<BatchHeader>, LogError> {
    if records.is_empty() {
        return Err(LogError::InvalidRecord(
            "produce request carries no record batch".into(),
        ));
    }
    let mut batches = Vec::new();
    let mut rest = records;
    while !rest.is_empty() {
        // Magic sits at byte 16 in every message format, so an old-format
        // message is named as such even when it is shorter than a v2 header.
        let (Some(len), Some(magic)) = (i32_at(rest, 8), rest.get(MAGIC_AT)) else {
            return Err(LogError::CorruptMessage("truncated batch header".into()));
        };
        if *magic as i8 != 2 {
            return Err(LogError::UnsupportedMagic(*magic as i8));
        }
        let Some(total) = total_size(len) else {
            return Err(LogError::CorruptMessage(format!(
                "invalid batch length {len}"
            )));
        };
        if total > usize::try_from(max_message_bytes).unwrap_or(0) {
            return Err(LogError::MessageTooLarge {
                size: total,
                max: max_message_bytes,
            });
        }
        let Some(whole) = rest.get(..total) else {
            return Err(LogError::CorruptMessage("batch is truncated".into()));
        };
        batches.push(check_batch(whole)?);
        rest = &rest[total..];
    }
    Ok(batches)
}

/// Sets the base offset; it lies outside the CRC, so nothing else changes.
pub fn set_base_offset(b: &mut [u8], base_offset: i64) -> Result<(), LogError> {
    put(b, 0, &base_offset.to_be_bytes())
}

/// Sets the partition leader epoch; it lies outside the CRC too.
pub fn set_partition_leader_epoch(b: &mut [u8], epoch: i32) -> Result<(), LogError> {
    put(b, 12, &epoch.to_be_bytes())
}

/// Stamps maxTimestamp and the timestamp type as Kafka's setMaxTimestamp
/// does: a LogAppendTime batch gets the broker's time (clients then use it
/// for every record), a CreateTime one its records' largest timestamp,
/// whatever the producer put there. Both fields are covered by the CRC, so
/// it is recomputed over `header` (the batch's first `HEADER_LEN` bytes)
/// and `body` (the rest of it).
pub fn set_max_timestamp(
    header: &mut [u8],
    body: &[u8],
    max_timestamp: i64,
    log_append_time: bool,
) -> Result<(), LogError> {
    let attributes = i16_at(header, 21)
        .ok_or_else(|| LogError::CorruptMessage("batch shorter than its header".into()))?;
    let attributes = if log_append_time {
        attributes | TIMESTAMP_TYPE_BIT
    } else {
        attributes & !TIMESTAMP_TYPE_BIT
    };
    put(header, 21, &attributes.to_be_bytes())?;
    put(header, 35, &max_timestamp.to_be_bytes())?;
    let crc = crc32c::crc32c(header.get(CRC_START..HEADER_LEN).unwrap_or_default());
    let crc = crc32c::crc32c_append(crc, body);
    put(header, 17, &crc.to_be_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::log::tests::{batch, one};
    use kafka_protocol::records::Compression;

    #[test]
    fn parses_every_header_field() {
        let b = batch(&["a", "b", "c"], 100, Compression::None);
        let h = check_batch(&b).unwrap();
        assert_eq!(h.magic, 2);
        assert_eq!(h.record_count, 3);
        assert_eq!(h.last_offset_delta, 2);
        assert_eq!((h.base_timestamp, h.max_timestamp), (100, 102));
        assert_eq!(
            (h.producer_id, h.producer_epoch, h.base_sequence),
            (-1, -1, 0)
        );
        assert_eq!(h.total_size(), Some(b.len()));
        assert!(!h.is_log_append_time());
    }

    #[test]
    fn patches_keep_the_crc_valid() {
        let mut b = batch(&["a", "b"], 5, Compression::None);
        set_base_offset(&mut b, 42).unwrap();
        set_partition_leader_epoch(&mut b, 7).unwrap();
        let h = check_batch(&b).expect("offset and epoch are outside the CRC");
        assert_eq!(
            (h.base_offset, h.partition_leader_epoch, h.last_offset()),
            (42, 7, 43)
        );
        let (header, body) = b.split_at_mut(HEADER_LEN);
        set_max_timestamp(header, body, 9_999, true).unwrap();
        let h = check_batch(&b).expect("CRC recomputed after stamping");
        assert!(h.is_log_append_time());
        assert_eq!((h.base_timestamp, h.max_timestamp), (5, 9_999));
        let (header, body) = b.split_at_mut(HEADER_LEN);
        set_max_timestamp(header, body, 6, false).unwrap();
        let h = check_batch(&b).expect("CRC recomputed after restamping");
        assert!(!h.is_log_append_time());
        assert_eq!(h.max_timestamp, 6);
        assert!(set_max_timestamp(&mut [0u8; 30], &[], 1, true).is_err());
    }

    #[test]
    fn rejects_bad_input_without_panicking() {
        let good = one("x", 1);
        let mut two = good.clone();
        two.extend_from_slice(&good);
        assert_eq!(validate_produce_records(&two, 1 << 20).unwrap().len(), 2);

        assert!(matches!(
            validate_produce_records(&[], 1 << 20),
            Err(LogError::InvalidRecord(_))
        ));
        let mut bad_crc = good.clone();
        *bad_crc.last_mut().unwrap() ^= 1;
        assert!(matches!(
            validate_produce_records(&bad_crc, 1 << 20),
            Err(LogError::CorruptMessage(_))
        ));
        let mut magic1 = good.clone();
        magic1[16] = 1;
        assert!(matches!(
            validate_produce_records(&magic1[..30], 1 << 20),
            Err(LogError::UnsupportedMagic(1))
        ));
        assert!(matches!(
            validate_produce_records(&good, 10),
            Err(LogError::MessageTooLarge { .. })
        ));
        let mut no_records = good.clone();
        no_records[57..61].copy_from_slice(&0i32.to_be_bytes());
        let crc = crc32c::crc32c(&no_records[21..]);
        no_records[17..21].copy_from_slice(&crc.to_be_bytes());
        assert!(matches!(
            validate_produce_records(&no_records, 1 << 20),
            Err(LogError::CorruptMessage(_))
        ));
        let mut negative_len = good.clone();
        negative_len[8..12].copy_from_slice(&(-5i32).to_be_bytes());
        assert!(validate_produce_records(&negative_len, 1 << 20).is_err());
        let mut huge_len = good.clone();
        huge_len[8..12].copy_from_slice(&i32::MAX.to_be_bytes());
        assert!(validate_produce_records(&huge_len, i32::MAX).is_err());
        for cut in 0..good.len() {
            assert!(validate_produce_records(&good[..cut], 1 << 20).is_err());
        }
        let mut trailing = good.clone();
        trailing.extend_from_slice(&[0; 5]);
        assert!(validate_produce_records(&trailing, 1 << 20).is_err());
    }
}
