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
//!
//! Keys are gathered by walking records without their values; a segment
//! being rewritten is decoded one batch at a time, each inflated no further
//! than the topic's cap. A batch that does not walk (stored before records
//! were validated) is logged: its keys shadow nothing and its segment is
//! left as it is.

use std::collections::HashMap;
use std::io::IoSlice;
use std::ops::ControlFlow;

use bytes::{Bytes, BytesMut};
use kafka_protocol::records::{
    Compression, Record, RecordBatchDecoder, RecordBatchEncoder, RecordEncodeOptions,
};

use super::batch::{BatchHeader, HEADER_LEN};
use super::control::TRANSACTIONAL_BIT;
use super::records::{self, Codec};
use super::segment::{self, BatchPosition, OpenAs, Segment};
use super::{Log, LogError};

pub(super) const CLEANING_DIR: &str = ".cleaning";

fn compression(codec: Codec) -> Compression {
    match codec {
        Codec::None => Compression::None,
        Codec::Gzip => Compression::Gzip,
        Codec::Snappy => Compression::Snappy,
        Codec::Lz4 => Compression::Lz4,
        Codec::Zstd => Compression::Zstd,
    }
}

/// The keys of a non-transactional batch's records with their offsets,
/// walked without keeping values. A batch whose records cannot be read
/// gives none: records nobody can read must not shadow older ones.
fn keys_of(
    batches: &segment::Batches<'_>,
    b: &BatchPosition,
    cap: u64,
    latest: &mut HashMap<Bytes, i64>,
) -> Result<(), LogError> {
    if b.header.attributes & TRANSACTIONAL_BIT != 0 {
        return Ok(());
    }
    let bytes = batches.read(b)?;
    let mut keys = Vec::new();
    let mut order = records::StoredOrder::new(&b.header);
    let misplaced = records::walk(&bytes, &b.header, cap, true, |r| {
        if !order.admits(r.offset_delta) {
            return ControlFlow::Break(r.index);
        }
        if let Some(key) = r.key {
            let offset = b.header.base_offset + i64::from(r.offset_delta);
            keys.push((Bytes::copy_from_slice(key), offset));
        }
        ControlFlow::Continue(())
    })?;
    if let Some(index) = misplaced {
        return Err(records::StoredOrder::error(index));
    }
    latest.extend(keys);
    Ok(())
}

/// The records of one stored batch, checked whole first and inflated no
/// further than `cap`.
pub(super) fn decode(bytes: Bytes, h: &BatchHeader, cap: u64) -> Result<Vec<Record>, LogError> {
    records::check_stored(&bytes, h, cap)?;
    let codec = Codec::of(h.attributes)?;
    let inflate = |payload: &mut Bytes, _: Compression| -> anyhow::Result<Bytes> {
        match codec {
            Codec::None => Ok(std::mem::take(payload)),
            codec => Ok(records::inflate(codec, payload, cap)?.into()),
        }
    };
    let set = RecordBatchDecoder::decode_with_custom_compression(&mut bytes.clone(), Some(inflate))
        .map_err(|e| LogError::CorruptMessage(format!("cannot decode: {e}")))?;
    Ok(set.records)
}

/// Appends `records` re-encoded as few batches as their producers allow.
/// Records from a producer without sequence numbers get ones that keep
/// them in one batch (the encoder splits where offset minus sequence
/// changes) while the batch's base sequence stays -1.
fn encode(
    out: &mut BytesMut,
    compression: Compression,
    mut records: Vec<Record>,
) -> Result<(), LogError> {
    let Some(first) = records.first().map(|r| r.offset) else {
        return Ok(());
    };
    for r in records.iter_mut().filter(|r| r.producer_id < 0) {
        r.sequence = (r.offset - first) as i32 - 1;
    }
    RecordBatchEncoder::encode(
        out,
        &records,
        &RecordEncodeOptions {
            version: 2,
            compression,
        },
    )
    .map_err(|e| LogError::InvalidRecord(format!("cannot re-encode a compacted batch: {e}")))
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

/// What cleaning keeps of a segment's records.
struct Keep<'a> {
    latest: &'a HashMap<Bytes, i64>,
    /// Tombstones older than this go.
    horizon: i64,
}

impl Keep<'_> {
    fn keeps(&self, r: &Record) -> bool {
        match &r.key {
            _ if r.transactional => true,
            // Written before the topic was compacted.
            None => true,
            Some(key) => {
                self.latest.get(key) == Some(&r.offset)
                    && (r.value.is_some() || r.timestamp >= self.horizon)
            }
        }
    }

    /// The segment's batches re-encoded with only the records kept, and how
    /// many were dropped; `None` when nothing would be. One batch at a time
    /// is decoded, so memory holds one batch's records, not the segment's.
    fn rewrite(&self, segment: &Segment, cap: u64) -> Result<Option<(BytesMut, usize)>, LogError> {
        let mut out = BytesMut::new();
        let mut dropped = 0;
        let mut batches = segment.batches_from(segment.base_offset);
        while let Some(b) = batches.next() {
            let b = b?;
            let records = decode(batches.read(&b)?, &b.header, cap).map_err(|e| {
                LogError::CorruptMessage(format!(
                    "batch at position {} (offset {}) of {}: {e}",
                    b.position,
                    b.header.base_offset,
                    segment.log_path().display()
                ))
            })?;
            let before = records.len();
            let kept: Vec<Record> = records.into_iter().filter(|r| self.keeps(r)).collect();
            dropped += before - kept.len();
            encode(&mut out, compression(Codec::of(b.header.attributes)?), kept)?;
        }
        Ok((dropped > 0).then_some((out, dropped)))
    }
}

impl Log {
    /// Whether [`Log::clean`] has a pass to make: the policy compacts and a
    /// segment has rolled since the last pass.
    pub fn clean_due(&self) -> bool {
        self.config.cleanup_compact
            && !self.segments.is_empty()
            && self.active.base_offset > self.cleaned_through
    }

    /// One compaction pass, when the policy asks for it and a segment has
    /// rolled since the last pass. Returns how many records were dropped.
    /// Batches that cannot be read (stored before records were validated)
    /// are logged; their keys shadow nothing and their segment is left as
    /// it is.
    pub fn clean(&mut self, now_ms: i64) -> Result<usize, LogError> {
        if !self.clean_due() {
            return Ok(0);
        }
        let cap = records::inflation_cap(self.config.max_message_bytes);
        // The latest offset of every key, the active segment included.
        // Transactional records and markers are kept whole and do not
        // shadow older records: whether they count is only known from the
        // marker, which may not be written yet.
        let mut latest: HashMap<Bytes, i64> = HashMap::new();
        for segment in self.segments.values().chain(std::iter::once(&self.active)) {
            let mut batches = segment.batches_from(segment.base_offset);
            while let Some(b) = batches.next() {
                // A damaged rolled segment ends its walk here (the read
                // path reports it); what it holds after that shadows nothing.
                let Ok(b) = b else { break };
                if let Err(e) = keys_of(&batches, &b, cap, &mut latest) {
                    tracing::warn!(segment = %segment.log_path().display(), position = b.position, base_offset = b.header.base_offset, error = %e, "unreadable batch: its keys shadow nothing");
                }
            }
        }
        let keep = Keep {
            latest: &latest,
            horizon: now_ms.saturating_sub(self.config.delete_retention_ms),
        };
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
            match keep.rewrite(&self.segments[&base], cap) {
                Ok(Some((data, n))) => {
                    self.replace_segment(base, data, now_ms)?;
                    dropped += n;
                }
                Ok(None) => {}
                Err(e) => {
                    tracing::warn!(dir = %self.dir.display(), segment = base, error = %e, "segment left uncompacted");
                }
            }
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
        // The cleaned copy is fsynced, its name too.
        self.forget_unsynced_roll(base);
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
            OpenAs::Rolled {
                next_base,
                recover_from: None,
            },
            true,
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
