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
/// Enough of the header to know a batch's extent, offsets and timestamps.
pub const PREFIX_LEN: usize = 43;
const LENGTH_FIELD_END: usize = 12;
const CRC_START: usize = 21;
const TIMESTAMP_TYPE_BIT: i16 = 0x08;

fn i16_at(b: &[u8], at: usize) -> i16 {
    i16::from_be_bytes([b[at], b[at + 1]])
}
fn i32_at(b: &[u8], at: usize) -> i32 {
    i32::from_be_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}
fn i64_at(b: &[u8], at: usize) -> i64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(&b[at..at + 8]);
    i64::from_be_bytes(a)
}

/// The fields of a batch header the log needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatchHeader {
    pub base_offset: i64,
    pub batch_length: i32,
    pub magic: i8,
    pub attributes: i16,
    pub last_offset_delta: i32,
    pub max_timestamp: i64,
}

impl BatchHeader {
    /// Parses the first `PREFIX_LEN` bytes; `None` if there are fewer.
    pub fn parse(b: &[u8]) -> Option<BatchHeader> {
        if b.len() < PREFIX_LEN {
            return None;
        }
        Some(BatchHeader {
            base_offset: i64_at(b, 0),
            batch_length: i32_at(b, 8),
            magic: b[16] as i8,
            attributes: i16_at(b, 21),
            last_offset_delta: i32_at(b, 23),
            max_timestamp: i64_at(b, 35),
        })
    }

    /// Whole size of the batch on disk, if the length field is sane.
    pub fn total_size(&self) -> Option<usize> {
        let len = usize::try_from(self.batch_length).ok()?;
        (len + LENGTH_FIELD_END >= HEADER_LEN).then_some(len + LENGTH_FIELD_END)
    }

    pub fn last_offset(&self) -> i64 {
        self.base_offset + i64::from(self.last_offset_delta)
    }
}

fn stored_crc(b: &[u8]) -> u32 {
    u32::from_be_bytes([b[17], b[18], b[19], b[20]])
}

/// Checks one whole batch as it sits in `b` (exactly one batch long).
pub fn check_batch(b: &[u8]) -> Result<BatchHeader, LogError> {
    let header = BatchHeader::parse(b)
        .ok_or_else(|| LogError::CorruptMessage("batch shorter than its header".into()))?;
    if header.magic != 2 {
        return Err(LogError::UnsupportedMagic(header.magic));
    }
    if b.len() < HEADER_LEN || header.total_size() != Some(b.len()) {
        return Err(LogError::CorruptMessage(
            "batch length does not match its data".into(),
        ));
    }
    let crc = crc32c::crc32c(&b[CRC_START..]);
    if crc != stored_crc(b) {
        return Err(LogError::CorruptMessage(format!(
            "CRC mismatch: stored {:#010x}, computed {crc:#010x}",
            stored_crc(b)
        )));
    }
    if header.last_offset_delta < 0 || i32_at(b, 57) <= 0 {
        return Err(LogError::InvalidRecord("batch has no records".into()));
    }
    Ok(header)
}

/// Splits a Produce request's records into batches and checks each: whole,
/// magic 2, CRC32C valid, within `max_message_bytes`.
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
        if rest.len() < LENGTH_FIELD_END {
            return Err(LogError::CorruptMessage("truncated batch header".into()));
        }
        let len = i32_at(rest, 8);
        let total = usize::try_from(len)
            .ok()
            .map(|l| l + LENGTH_FIELD_END)
            .filter(|t| *t >= HEADER_LEN);
        let Some(total) = total else {
            return Err(LogError::CorruptMessage(format!(
                "invalid batch length {len}"
            )));
        };
        if total > rest.len() {
            return Err(LogError::CorruptMessage("batch is truncated".into()));
        }
        if rest.len() > 16 && rest[16] as i8 != 2 {
            return Err(LogError::UnsupportedMagic(rest[16] as i8));
        }
        if total > max_message_bytes.max(0) as usize {
            return Err(LogError::MessageTooLarge {
                size: total,
                max: max_message_bytes,
            });
        }
        batches.push(check_batch(&rest[..total])?);
        rest = &rest[total..];
    }
    Ok(batches)
}

/// Writes the broker-assigned fields into a batch. Base offset and leader
/// epoch sit outside the CRC; a LogAppendTime stamp changes attributes and
/// maxTimestamp, which the CRC covers, so the CRC is recomputed then.
pub fn patch(b: &mut [u8], base_offset: i64, leader_epoch: i32, log_append_time: Option<i64>) {
    b[0..8].copy_from_slice(&base_offset.to_be_bytes());
    b[12..16].copy_from_slice(&leader_epoch.to_be_bytes());
    if let Some(now) = log_append_time {
        let attributes = i16_at(b, 21) | TIMESTAMP_TYPE_BIT;
        b[21..23].copy_from_slice(&attributes.to_be_bytes());
        b[35..43].copy_from_slice(&now.to_be_bytes());
        let crc = crc32c::crc32c(&b[CRC_START..]);
        b[17..21].copy_from_slice(&crc.to_be_bytes());
    }
}
