//! Log compaction for `cleanup.policy=compact`, as Kafka's LogCleaner keeps
//! a compacted log: of the records with the same key, only the one with the
//! highest offset stays; tombstones (null values) stay for
//! `delete.retention.ms` so that readers see the deletion, then go too.
//! Offsets never change: a cleaned segment keeps its base offset and each
//! record its offset, leaving gaps where records were dropped.
//!
//! The active segment is never rewritten, but its keys count: a record in an
//! older segment superseded by one in the active segment is dropped. A
//! segment is rewritten in a side directory and moved into place file by
//! file; a crash in between leaves either segment whole (a stale index is
//! rebuilt at open).
//!
//! Segments from the first one holding a record younger than
//! `min.compaction.lag.ms` on are left alone, as Kafka leaves them.
//!
//! Design differs from Kafka: there is no cleaner checkpoint or dirty ratio
//! (`min.cleanable.dirty.ratio` is accepted and not applied). A pass runs
//! when a segment has been rolled since the last one (and once after
//! start-up), and rewrites only the segments that lose records. Records of
//! transactions and their markers are kept and never shadow other records
//! (Kafka drops aborted ones and, later, the markers).

use std::collections::HashMap;
use std::io::IoSlice;

use bytes::{Bytes, BytesMut};
use kafka_protocol::records::{
    Compression, Record, RecordBatchDecoder, RecordBatchEncoder, RecordEncodeOptions,
};

use super::batch::{BatchHeader, HEADER_LEN};
use super::segment::{self, OpenAs, Segment};
use super::{Log, LogError};

const CLEANING_DIR: &str = ".cleaning";
const COMPRESSION_MASK: i16 = 0x07;

fn compression(attributes: i16) -> Compression {
    match attributes & COMPRESSION_MASK {
        1 => Compression::Gzip,
        2 => Compression::Snappy,
        3 => Compression::Lz4,
        4 => Compression::Zstd,
        _ => Compression::None,
    }
}

/// Every record of one segment's batches, with its batch's compression.
fn records_of(segment: &Segment) -> Result<Vec<(Compression, Vec<Record>)>, LogError> {
    let mut out = Vec::new();
    let mut batches = segment.batches_from(segment.base_offset);
    while let Some(b) = batches.next() {
        let b = b?;
        let mut bytes = batches.read(&b)?;
        let set = RecordBatchDecoder::decode(&mut bytes).map_err(|e| {
            LogError::CorruptMessage(format!(
                "cannot decode the batch at offset {} for compaction: {e}",
                b.header.base_offset
            ))
        })?;
        out.push((compression(b.header.attributes), set.records));
    }
    Ok(out)
}

/// Re-encodes kept records batch by batch, as few batches as their
/// producers allow. Records from a producer without sequence numbers get
/// ones that keep them in one batch (the encoder splits where offset minus
/// sequence changes) while the batch's base sequence stays -1.
fn encode(batches: Vec<(Compression, Vec<Record>)>) -> Result<BytesMut, LogError> {
    let mut out = BytesMut::new();
    for (compression, mut records) in batches {
        if records.is_empty() {
            continue;
        }
        let first = records[0].offset;
        for r in records.iter_mut().filter(|r| r.producer_id < 0) {
            r.sequence = (r.offset - first) as i32 - 1;
        }
        RecordBatchEncoder::encode(
            &mut out,
            &records,
            &RecordEncodeOptions {
                version: 2,
                compression,
            },
        )
        .map_err(|e| LogError::InvalidRecord(format!("cannot re-encode a compacted batch: {e}")))?;
    }
    Ok(out)
}

fn headers_of(mut bytes: &[u8]) -> Result<Vec<BatchHeader>, LogError> {
    let mut out = Vec::new();
    while !bytes.is_empty() {
        let h = BatchHeader::parse(bytes)
            .filter(|h| {
                h.total_size()
                    .is_some_and(|s| s <= bytes.len() && s >= HEADER_LEN)
            })
            .ok_or_else(|| LogError::CorruptMessage("re-encoded batch is malformed".into()))?;
        bytes = &bytes[h.total_size().unwrap_or(bytes.len())..];
        out.push(h);
    }
    Ok(out)
}

/// Kafka refuses records without a key on compacted topics: the cleaner
/// could never tell which of them to keep.
pub(super) fn check_keys(records: &[u8]) -> Result<(), LogError> {
    let mut bytes = Bytes::copy_from_slice(records);
    while !bytes.is_empty() {
        let set = RecordBatchDecoder::decode(&mut bytes)
            .map_err(|e| LogError::CorruptMessage(format!("cannot decode batch: {e}")))?;
        if set.records.iter().any(|r| r.key.is_none()) {
            return Err(LogError::InvalidRecord(
                "compacted topic cannot accept message without key".into(),
            ));
        }
    }
    Ok(())
}

impl Log {
    /// One compaction pass, when the policy asks for it and a segment has
    /// rolled since the last pass. Returns how many records were dropped.
    pub fn clean(&mut self, now_ms: i64) -> Result<usize, LogError> {
        if !self.config.cleanup_compact
            || self.segments.is_empty()
            || self.active.base_offset <= self.cleaned_through
        {
            return Ok(0);
        }
        // The latest offset of every key, the active segment included.
        // Transactional records and markers are kept whole and do not
        // shadow older records: whether they count is only known from the
        // marker, which may not be written yet.
        let mut latest: HashMap<Bytes, i64> = HashMap::new();
        for segment in self.segments.values().chain(std::iter::once(&self.active)) {
            for (_, records) in records_of(segment)? {
                for r in records.into_iter().filter(|r| !r.transactional) {
                    if let Some(key) = r.key {
                        latest.insert(key, r.offset);
                    }
                }
            }
        }
        let horizon = now_ms.saturating_sub(self.config.delete_retention_ms);
        // As Kafka: cleaning stops at the first segment holding a record
        // younger than min.compaction.lag.ms.
        let lag_horizon = now_ms.saturating_sub(self.config.min_compaction_lag_ms);
        let bases: Vec<i64> = self
            .segments
            .values()
            .take_while(|s| s.is_empty() || s.largest_timestamp() <= lag_horizon)
            .map(|s| s.base_offset)
            .collect();
        // Segments held back by the lag are looked at again next pass.
        let whole = bases.len() == self.segments.len();
        let mut dropped = 0;
        for base in bases {
            let batches = records_of(&self.segments[&base])?;
            let before: usize = batches.iter().map(|(_, r)| r.len()).sum();
            let kept: Vec<(Compression, Vec<Record>)> = batches
                .into_iter()
                .map(|(c, records)| {
                    let records = records
                        .into_iter()
                        .filter(|r| match &r.key {
                            _ if r.transactional => true,
                            // Written before the topic was compacted.
                            None => true,
                            Some(key) => {
                                latest.get(key) == Some(&r.offset)
                                    && (r.value.is_some() || r.timestamp >= horizon)
                            }
                        })
                        .collect();
                    (c, records)
                })
                .collect();
            let after: usize = kept.iter().map(|(_, r)| r.len()).sum();
            if after == before {
                continue;
            }
            self.replace_segment(base, encode(kept)?, now_ms)?;
            dropped += before - after;
        }
        if whole {
            self.cleaned_through = self.active.base_offset;
        }
        if dropped > 0 {
            tracing::info!(dir = %self.dir.display(), dropped, "compacted log");
        }
        Ok(dropped)
    }

    /// Writes `data` as segment `base` beside the log, then moves it over
    /// the old one.
    fn replace_segment(&mut self, base: i64, data: BytesMut, now_ms: i64) -> Result<(), LogError> {
        let side = self.dir.join(CLEANING_DIR);
        std::fs::create_dir_all(&side).map_err(LogError::io("create", &side))?;
        let headers = headers_of(&data)?;
        let mut cleaned = Segment::create(&side, base, self.config.index_interval_bytes, now_ms)?;
        if !headers.is_empty() {
            cleaned.append(&mut [IoSlice::new(&data)], &headers, now_ms)?;
        }
        cleaned.flush()?;
        drop(cleaned);
        for ext in ["log", "index", "timeindex"] {
            let name = segment::file_name(base, ext);
            let (from, to) = (side.join(&name), self.dir.join(&name));
            std::fs::rename(&from, &to).map_err(LogError::io("move cleaned segment to", &to))?;
        }
        std::fs::File::open(&self.dir)
            .and_then(|d| d.sync_all())
            .map_err(LogError::io("sync", &self.dir))?;
        // Empty now; what a failed removal leaves is removed at the next open.
        let _ = std::fs::remove_dir(&side);
        let next_base = self
            .segments
            .range(base + 1..)
            .next()
            .map_or(self.active.base_offset, |(next, _)| *next);
        let (segment, _) = Segment::open(
            &self.dir,
            base,
            self.config.index_interval_bytes,
            OpenAs::Rolled { next_base },
        )?;
        self.segments.insert(base, segment);
        Ok(())
    }
}

/// Removes what an interrupted pass left beside the log.
pub fn remove_leftovers(dir: &std::path::Path) -> Result<(), LogError> {
    let side = dir.join(CLEANING_DIR);
    match std::fs::remove_dir_all(&side) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(LogError::io("remove", &side)(e)),
        _ => Ok(()),
    }
}
