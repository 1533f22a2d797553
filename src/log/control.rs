//! Transaction markers: the control batches that end a producer's
//! transaction in a partition. Each holds one control record whose key is
//! Kafka's ControlRecordType (version 0, type 0 abort or 1 commit) and whose
//! value is an EndTxnMarker naming the coordinator's epoch.

use std::ops::ControlFlow;

use bytes::{Buf, BufMut, BytesMut};
use kafka_protocol::messages::EndTxnMarker;
use kafka_protocol::protocol::Encodable;
use kafka_protocol::records::{
    Compression, Record, RecordBatchEncoder, RecordEncodeOptions, TimestampType,
};

use super::batch::BatchHeader;
use super::records;
use super::LogError;

const CONTROL_KEY_VERSION: i16 = 0;
const ABORT: i16 = 0;
const COMMIT: i16 = 1;
const MARKER_VALUE_VERSION: i16 = 0;

/// Batch attribute bits.
pub const TRANSACTIONAL_BIT: i16 = 0x10;
pub const CONTROL_BIT: i16 = 0x20;

/// Whether any batch in `records` (as a producer sent them) is
/// transactional; a short or corrupt tail ends the scan, the append then
/// refuses it.
pub fn has_transactional_batch(mut records: &[u8]) -> bool {
    while let Some(header) = BatchHeader::parse(records) {
        if header.attributes & TRANSACTIONAL_BIT != 0 {
            return true;
        }
        let Some(rest) = header.total_size().and_then(|size| records.get(size..)) else {
            return false;
        };
        records = rest;
    }
    false
}

/// A marker batch at offset 0, to be placed by the log like any other.
pub fn marker_batch(
    producer_id: i64,
    producer_epoch: i16,
    commit: bool,
    coordinator_epoch: i32,
    now_ms: i64,
) -> Result<BytesMut, LogError> {
    let mut key = BytesMut::with_capacity(4);
    key.put_i16(CONTROL_KEY_VERSION);
    key.put_i16(if commit { COMMIT } else { ABORT });
    let marker = EndTxnMarker::default().with_coordinator_epoch(coordinator_epoch);
    let mut value = BytesMut::new();
    value.put_i16(MARKER_VALUE_VERSION);
    marker
        .encode(&mut value, MARKER_VALUE_VERSION)
        .map_err(|e| LogError::InvalidRecord(format!("cannot encode a transaction marker: {e}")))?;
    let record = Record {
        transactional: true,
        control: true,
        delete_horizon: false,
        partition_leader_epoch: -1,
        producer_id,
        producer_epoch,
        timestamp_type: TimestampType::Creation,
        offset: 0,
        sequence: -1,
        timestamp: now_ms,
        key: Some(key.freeze()),
        value: Some(value.freeze()),
        headers: Default::default(),
    };
    let mut out = BytesMut::new();
    RecordBatchEncoder::encode(
        &mut out,
        std::slice::from_ref(&record),
        &RecordEncodeOptions {
            version: 2,
            compression: Compression::None,
        },
    )
    .map_err(|e| LogError::InvalidRecord(format!("cannot encode a transaction marker: {e}")))?;
    Ok(out)
}

/// A marker is one record of a few bytes: more than this is not one.
const MARKER_CAP: u64 = 1 << 20;

/// Whether the control batch `b` (whose header is `h`) commits
/// (`Some(true)`) or aborts a transaction; `None` for any other control
/// record, or one that cannot be read. Only the first record's key is read.
pub fn marker_kind(b: &[u8], h: &BatchHeader) -> Option<bool> {
    if h.attributes & CONTROL_BIT == 0 {
        return None;
    }
    records::walk(b, h, MARKER_CAP, true, |r| {
        ControlFlow::Break(r.key.and_then(control_record_kind))
    })
    .ok()
    .flatten()
    .flatten()
}

/// Whether a control record's key says commit (`Some(true)`) or abort.
pub fn control_record_kind(mut key: &[u8]) -> Option<bool> {
    if key.remaining() < 4 || key.get_i16() != CONTROL_KEY_VERSION {
        return None;
    }
    match key.get_i16() {
        COMMIT => Some(true),
        ABORT => Some(false),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::log::batch;

    #[test]
    fn markers_are_control_batches_that_say_what_they_end() {
        for commit in [true, false] {
            let bytes = marker_batch(42, 3, commit, 7, 1_000).unwrap();
            let h = batch::check_batch(&bytes).unwrap();
            assert_eq!(h.producer_id, 42);
            assert_eq!(h.producer_epoch, 3);
            assert_eq!(h.record_count, 1);
            assert_ne!(h.attributes & CONTROL_BIT, 0);
            assert_ne!(h.attributes & TRANSACTIONAL_BIT, 0);
            assert_eq!(marker_kind(&bytes, &h), Some(commit));
        }
    }
}
