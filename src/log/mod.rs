//! Storage: one partition's log, as Kafka's `UnifiedLog` keeps it.
//!
//! On disk, a partition directory `<topic>-<partition>` holds segments
//! `<20-digit base offset>.log` with their sparse `.index` (relative offset
//! -> file position) and `.timeindex` (timestamp -> relative offset), the
//! `leader-epoch-checkpoint`, and `log-start-offset` once records were
//! deleted. Batches are stored exactly as producers sent them (magic 2),
//! with base offset and partition leader epoch patched in.
//!
//! Segments before the active one were fsynced when they were rolled, so
//! recovery after an unclean stop checks only the active segment, cutting
//! it at the first torn or CRC-invalid batch.

mod batch;
mod epoch;
mod error;
mod index;
mod segment;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use bytes::{Bytes, BytesMut};

pub use error::LogError;

use crate::config::{LogConfig, TimestampType};
use epoch::{write_atomically, LeaderEpochCache};
use segment::Segment;

const LOG_START_FILE: &str = "log-start-offset";

/// What an append did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppendInfo {
    pub base_offset: i64,
    pub last_offset: i64,
    /// The broker's timestamp for LogAppendTime topics, else -1.
    pub log_append_time: i64,
    pub record_count: i64,
}

pub struct Log {
    dir: PathBuf,
    config: LogConfig,
    segments: BTreeMap<i64, Segment>,
    log_start_offset: i64,
    epochs: LeaderEpochCache,
    unflushed_messages: i64,
    last_flush_ms: i64,
}

impl Log {
    /// Opens the log in `dir`, creating it if needed. `recover` after an
    /// unclean shutdown checks every batch of the active segment.
    pub fn open(
        dir: &Path,
        config: LogConfig,
        recover: bool,
        now_ms: i64,
    ) -> Result<Log, LogError> {
        std::fs::create_dir_all(dir).map_err(LogError::io("create log directory", dir))?;
        let mut bases: Vec<i64> = std::fs::read_dir(dir)
            .map_err(LogError::io("list", dir))?
            .filter_map(|e| {
                let name = e.ok()?.file_name().to_string_lossy().to_string();
                name.strip_suffix(".log")?.parse().ok()
            })
            .collect();
        bases.sort_unstable();
        let mut segments = BTreeMap::new();
        let last = bases.last().copied();
        for base in bases {
            let is_active = Some(base) == last;
            let (segment, truncated) =
                Segment::open(dir, base, config.index_interval_bytes, recover && is_active)?;
            if truncated > 0 {
                tracing::warn!(dir = %dir.display(), segment = base, truncated, "recovered log tail");
            }
            segments.insert(base, segment);
        }
        let log_start_offset = std::fs::read_to_string(dir.join(LOG_START_FILE))
            .ok()
            .and_then(|s| s.trim().parse::<i64>().ok())
            .unwrap_or(0)
            .max(segments.keys().next().copied().unwrap_or(0));
        if segments.is_empty() {
            segments.insert(
                log_start_offset,
                Segment::create(dir, log_start_offset, config.index_interval_bytes, now_ms)?,
            );
        }
        let mut log = Log {
            dir: dir.to_path_buf(),
            config,
            segments,
            log_start_offset,
            epochs: LeaderEpochCache::load(dir),
            unflushed_messages: 0,
            last_flush_ms: now_ms,
        };
        let end = log.log_end_offset();
        log.epochs.truncate_from_end(end)?;
        Ok(log)
    }

    pub fn config(&self) -> &LogConfig {
        &self.config
    }

    pub fn set_config(&mut self, config: LogConfig) {
        self.config = config;
    }

    pub fn log_start_offset(&self) -> i64 {
        self.log_start_offset
    }

    /// The offset the next record will get.
    pub fn log_end_offset(&self) -> i64 {
        self.active().next_offset
    }

    pub fn size_bytes(&self) -> u64 {
        self.segments.values().map(Segment::size).sum()
    }

    fn active(&self) -> &Segment {
        self.segments
            .values()
            .next_back()
            .expect("a log always has an active segment")
    }

    fn active_mut(&mut self) -> &mut Segment {
        self.segments
            .values_mut()
            .next_back()
            .expect("a log always has an active segment")
    }

    /// Validates a Produce request's batches, assigns them the next offsets,
    /// patches in offsets and `leader_epoch`, and appends them.
    pub fn append_as_leader(
        &mut self,
        records: &[u8],
        leader_epoch: i32,
        now_ms: i64,
    ) -> Result<AppendInfo, LogError> {
        let headers = batch::validate_produce_records(records, self.config.max_message_bytes)?;
        if let Some(size) = headers
            .iter()
            .filter_map(|h| h.total_size())
            .find(|s| *s as u64 > self.config.segment_bytes)
        {
            return Err(LogError::RecordListTooLarge {
                size,
                max: self.config.segment_bytes,
            });
        }
        self.maybe_roll(records.len() as u64, now_ms)?;
        let log_append_time =
            (self.config.message_timestamp_type == TimestampType::LogAppendTime).then_some(now_ms);
        let mut data = BytesMut::from(records);
        let base_offset = self.log_end_offset();
        let mut next = base_offset;
        let mut position = 0usize;
        let mut patched = Vec::with_capacity(headers.len());
        for h in &headers {
            let size = h.total_size().unwrap_or(0);
            batch::patch(
                &mut data[position..position + size],
                next,
                leader_epoch,
                log_append_time,
            );
            let mut h = *h;
            h.base_offset = next;
            if let Some(t) = log_append_time {
                h.max_timestamp = t;
            }
            patched.push(h);
            next = h.last_offset() + 1;
            position += size;
        }
        self.epochs.assign(leader_epoch, base_offset)?;
        self.active_mut().append(&data, &patched, now_ms)?;
        let record_count = next - base_offset;
        self.unflushed_messages += record_count;
        if self.unflushed_messages >= self.config.flush_messages {
            self.flush_at(now_ms)?;
        }
        Ok(AppendInfo {
            base_offset,
            last_offset: next - 1,
            log_append_time: log_append_time.unwrap_or(-1),
            record_count,
        })
    }

    /// Starts a new segment when the active one is full (segment.bytes or its
    /// index), old (segment.ms), or would overflow 32-bit relative offsets.
    fn maybe_roll(&mut self, incoming: u64, now_ms: i64) -> Result<(), LogError> {
        let config = &self.config;
        let active = self.active();
        if active.is_empty() {
            return Ok(());
        }
        let full = active.size() + incoming > config.segment_bytes;
        let index_full = active.index_bytes() + 8 > config.segment_index_bytes as usize;
        let old = now_ms.saturating_sub(active.created_ms) >= config.segment_ms;
        let offsets_full = active.next_offset - active.base_offset >= i64::from(u32::MAX);
        if full || index_full || old || offsets_full {
            self.roll(now_ms)?;
        }
        Ok(())
    }

    fn roll(&mut self, now_ms: i64) -> Result<(), LogError> {
        // The old segment is never written again: syncing it now is what lets
        // recovery check only the active segment.
        self.flush_at(now_ms)?;
        let base = self.log_end_offset();
        let segment = Segment::create(&self.dir, base, self.config.index_interval_bytes, now_ms)?;
        self.segments.insert(base, segment);
        tracing::debug!(dir = %self.dir.display(), base, "rolled new segment");
        Ok(())
    }

    /// Whole batches from the one containing `offset`, stopping before
    /// `max_offset` (the high watermark) and at `max_bytes`, except that with
    /// `min_one` the first batch is returned even when larger (KIP-74).
    pub fn read(
        &self,
        offset: i64,
        max_bytes: usize,
        max_offset: i64,
        min_one: bool,
    ) -> Result<Bytes, LogError> {
        let end = self.log_end_offset();
        if offset < self.log_start_offset || offset > end {
            return Err(LogError::OffsetOutOfRange {
                offset,
                log_start_offset: self.log_start_offset,
                log_end_offset: end,
            });
        }
        if offset >= max_offset.min(end) {
            return Ok(Bytes::new());
        }
        for (_, segment) in self
            .segments
            .range(..=offset)
            .next_back()
            .into_iter()
            .chain(self.segments.range(offset + 1..))
        {
            let mut start = None;
            let mut stop = 0u64;
            for b in segment.batches_from(offset) {
                if b.header.last_offset() < offset {
                    continue;
                }
                if b.header.base_offset >= max_offset {
                    break;
                }
                let from = *start.get_or_insert(b.position);
                let fits = (b.position + b.size - from) as usize <= max_bytes;
                if !(fits || (min_one && stop == 0)) {
                    break;
                }
                stop = b.position + b.size;
            }
            match start {
                Some(from) if stop > from => return segment.read_range(from, stop),
                Some(_) => return Ok(Bytes::new()),
                None => continue,
            }
        }
        Ok(Bytes::new())
    }

    /// The first record with a timestamp at or after `timestamp`: (offset, its timestamp).
    pub fn offset_for_timestamp(&self, timestamp: i64) -> Option<(i64, i64)> {
        for segment in self.segments.values() {
            if segment.max_timestamp < timestamp {
                continue;
            }
            for b in segment.batches_from_time(timestamp) {
                if b.header.max_timestamp < timestamp
                    || b.header.last_offset() < self.log_start_offset
                {
                    continue;
                }
                let found = self
                    .batch_records(segment, &b)
                    .into_iter()
                    .find(|(offset, ts)| *ts >= timestamp && *offset >= self.log_start_offset);
                if found.is_some() {
                    return found;
                }
            }
        }
        None
    }

    /// The record with the largest timestamp (the first, if several): (offset, timestamp).
    pub fn max_timestamp_and_offset(&self) -> Option<(i64, i64)> {
        let segment = self
            .segments
            .values()
            .filter(|s| s.max_timestamp >= 0)
            .fold(None::<&Segment>, |best, s| match best {
                Some(b) if b.max_timestamp >= s.max_timestamp => Some(b),
                _ => Some(s),
            })?;
        let max = segment.max_timestamp;
        let b = segment
            .batches_from(segment.max_timestamp_batch)
            .find(|b| b.header.base_offset == segment.max_timestamp_batch)?;
        self.batch_records(segment, &b)
            .into_iter()
            .find(|(_, ts)| *ts == max)
            .or(Some((b.header.base_offset, max)))
    }

    /// (offset, timestamp) of each record in one batch, decoding (and
    /// decompressing) it; a batch that cannot be decoded yields its base
    /// offset and max timestamp, which is what a shallow index would give.
    fn batch_records(&self, segment: &Segment, b: &segment::BatchPosition) -> Vec<(i64, i64)> {
        let shallow = vec![(b.header.base_offset, b.header.max_timestamp)];
        let Ok(mut bytes) = segment.read_range(b.position, b.position + b.size) else {
            return shallow;
        };
        match kafka_protocol::records::RecordBatchDecoder::decode(&mut bytes) {
            Ok(set) if !set.records.is_empty() => set
                .records
                .iter()
                .map(|r| {
                    let ts = if b.header.attributes & 0x08 != 0 {
                        b.header.max_timestamp
                    } else {
                        r.timestamp
                    };
                    (r.offset, ts)
                })
                .collect(),
            _ => shallow,
        }
    }

    /// OffsetForLeaderEpoch for this log.
    pub fn end_offset_for_epoch(&self, epoch: i32) -> Option<(i32, i64)> {
        self.epochs.end_offset_for(epoch, self.log_end_offset())
    }

    /// DeleteRecords: moves the log start offset to `offset` and deletes the
    /// segments wholly below it. Returns the new log start offset.
    pub fn delete_records_before(&mut self, offset: i64, now_ms: i64) -> Result<i64, LogError> {
        let end = self.log_end_offset();
        if offset > end || offset < 0 {
            return Err(LogError::OffsetOutOfRange {
                offset,
                log_start_offset: self.log_start_offset,
                log_end_offset: end,
            });
        }
        if offset <= self.log_start_offset {
            return Ok(self.log_start_offset);
        }
        self.set_log_start_offset(offset)?;
        if offset == end && !self.active().is_empty() {
            self.roll(now_ms)?;
        }
        self.delete_segments_while(|s, _| s.next_offset <= offset)?;
        Ok(self.log_start_offset)
    }

    fn set_log_start_offset(&mut self, offset: i64) -> Result<(), LogError> {
        self.log_start_offset = offset;
        write_atomically(
            &self.dir.join(LOG_START_FILE),
            offset.to_string().as_bytes(),
        )?;
        self.epochs.truncate_from_start(offset)
    }

    /// Deletes leading segments, never the active one, while `condition`
    /// (segment, bytes the log would keep without it) holds.
    fn delete_segments_while(
        &mut self,
        mut condition: impl FnMut(&Segment, u64) -> bool,
    ) -> Result<usize, LogError> {
        let mut deleted = 0;
        let mut remaining = self.size_bytes();
        while self.segments.len() > 1 {
            let (&base, first) = self.segments.iter().next().expect("more than one segment");
            if !condition(first, remaining - first.size()) {
                break;
            }
            remaining -= first.size();
            let segment = self.segments.remove(&base).expect("segment just seen");
            segment.delete()?;
            deleted += 1;
        }
        let first_base = self.segments.keys().next().copied().unwrap_or(0);
        if first_base > self.log_start_offset {
            self.set_log_start_offset(first_base)?;
        }
        Ok(deleted)
    }

    /// Deletes whole segments past `retention.ms` (by their newest record) or
    /// beyond `retention.bytes`. An expired active segment is rolled first, so
    /// that it can go too, as Kafka does.
    pub fn apply_retention(&mut self, now_ms: i64) -> Result<usize, LogError> {
        let retention_ms = self.config.retention_ms;
        let retention_bytes = self.config.retention_bytes;
        // Kafka ages a segment by its newest record's timestamp, falling back to
        // the file's time for segments without timestamps.
        let newest = |s: &Segment| {
            if s.max_timestamp >= 0 {
                s.max_timestamp
            } else {
                s.created_ms
            }
        };
        let expired = |s: &Segment| {
            retention_ms >= 0 && !s.is_empty() && now_ms.saturating_sub(newest(s)) > retention_ms
        };
        if expired(self.active()) {
            self.roll(now_ms)?;
        }
        let mut deleted = self.delete_segments_while(|s, _| expired(s))?;
        if retention_bytes >= 0 {
            deleted += self.delete_segments_while(|_, kept| kept >= retention_bytes as u64)?;
        }
        Ok(deleted)
    }

    /// Periodic work: roll by segment.ms and flush by flush.ms.
    pub fn tick(&mut self, now_ms: i64) -> Result<(), LogError> {
        self.maybe_roll(0, now_ms)?;
        if self.unflushed_messages > 0
            && now_ms.saturating_sub(self.last_flush_ms) >= self.config.flush_ms
        {
            self.flush_at(now_ms)?;
        }
        self.active_mut().flush_indexes()
    }

    /// fsyncs the active segment and its indexes.
    pub fn flush(&mut self) -> Result<(), LogError> {
        let now = self.last_flush_ms;
        self.flush_at(now)
    }

    fn flush_at(&mut self, now_ms: i64) -> Result<(), LogError> {
        self.active_mut().flush()?;
        self.unflushed_messages = 0;
        self.last_flush_ms = now_ms;
        Ok(())
    }
}

#[cfg(test)]
mod tests;
