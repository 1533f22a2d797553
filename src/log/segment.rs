//! One segment: `<20-digit base offset>.log` plus its offset and time indexes.
//!
//! Opening trusts the index files only after a clean shutdown, and then only
//! if they agree with the log's tail; otherwise the segment's batch headers
//! are scanned and the indexes rebuilt, so a lost or corrupt index costs time,
//! never data.

use std::fs::{File, OpenOptions};
use std::io::IoSlice;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use bytes::{Bytes, BytesMut};

use super::batch::{self, BatchHeader, HEADER_LEN};
use super::index::{OffsetIndex, TimeIndex};
use super::txn_index::{AbortedTxn, TransactionIndex};
use super::LogError;

pub fn file_name(base_offset: i64, ext: &str) -> String {
    format!("{base_offset:020}.{ext}")
}

/// Offsets and positions are stored as u32 relative to the segment, as in Kafka.
fn relative(base_offset: i64, offset: i64) -> Option<u32> {
    u32::try_from(offset.checked_sub(base_offset)?).ok()
}

fn millis(t: std::io::Result<SystemTime>) -> Option<i64> {
    let d = t.ok()?.duration_since(SystemTime::UNIX_EPOCH).ok()?;
    i64::try_from(d.as_millis()).ok()
}

/// A batch found by scanning: where it starts and what its header says.
#[derive(Debug, Clone, Copy)]
pub struct BatchPosition {
    pub position: u64,
    pub header: BatchHeader,
    pub size: u64,
}

/// What opening learns about a segment's contents.
struct State {
    size: u64,
    next_offset: i64,
    max_timestamp: i64,
    max_timestamp_batch: i64,
    bytes_since_index_entry: u64,
    first_batch_timestamp: Option<i64>,
}

/// A full scan: the state plus the index entries it implies.
struct Scan {
    state: State,
    offsets: Vec<(u32, u32)>,
    times: Vec<(i64, u32)>,
}

pub struct Segment {
    pub base_offset: i64,
    log_path: PathBuf,
    index_path: PathBuf,
    time_index_path: PathBuf,
    file: File,
    size: u64,
    /// One past the last offset stored here.
    pub next_offset: i64,
    offset_index: OffsetIndex,
    time_index: TimeIndex,
    txn_index: TransactionIndex,
    bytes_since_index_entry: u64,
    /// Largest record timestamp (-1 if none), and the base offset of the
    /// batch holding it.
    pub max_timestamp: i64,
    pub max_timestamp_batch: i64,
    /// maxTimestamp of the first batch: Kafka measures segment.ms from it.
    first_batch_timestamp: Option<i64>,
    /// When the first batch was written (or the file's creation time after a
    /// restart): the segment.ms fallback for batches without timestamps.
    pub created_ms: i64,
    /// Retention's fallback for segments without timestamps.
    last_modified_ms: i64,
    index_interval_bytes: u64,
}

impl Segment {
    pub fn create(
        dir: &Path,
        base_offset: i64,
        index_interval_bytes: u32,
        now_ms: i64,
    ) -> Result<Segment, LogError> {
        let log_path = dir.join(file_name(base_offset, "log"));
        let file = OpenOptions::new()
            .create(true)
            .read(true)
            .write(true)
            .truncate(true)
            .open(&log_path)
            .map_err(LogError::io("create segment", &log_path))?;
        let index_path = dir.join(file_name(base_offset, "index"));
        let time_index_path = dir.join(file_name(base_offset, "timeindex"));
        Ok(Segment {
            base_offset,
            file,
            size: 0,
            next_offset: base_offset,
            offset_index: OffsetIndex::create(&index_path, Vec::new())?,
            time_index: TimeIndex::create(&time_index_path, Vec::new())?,
            txn_index: TransactionIndex::create(&dir.join(file_name(base_offset, "txnindex")))?,
            bytes_since_index_entry: 0,
            max_timestamp: -1,
            max_timestamp_batch: -1,
            first_batch_timestamp: None,
            created_ms: now_ms,
            last_modified_ms: now_ms,
            index_interval_bytes: u64::from(index_interval_bytes),
            log_path,
            index_path,
            time_index_path,
        })
    }

    /// Opens an existing segment. With `recover` every batch is CRC-checked;
    /// either way the file is cut at the first torn or implausible batch.
    /// Returns the segment and how many bytes were cut.
    pub fn open(
        dir: &Path,
        base_offset: i64,
        index_interval_bytes: u32,
        recover: bool,
    ) -> Result<(Segment, u64), LogError> {
        let log_path = dir.join(file_name(base_offset, "log"));
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .open(&log_path)
            .map_err(LogError::io("open segment", &log_path))?;
        let meta = file
            .metadata()
            .map_err(LogError::io("stat segment", &log_path))?;
        let file_size = meta.len();
        let last_modified_ms = millis(meta.modified()).unwrap_or(0);
        let created_ms = millis(meta.created()).unwrap_or(last_modified_ms);
        let index_path = dir.join(file_name(base_offset, "index"));
        let time_index_path = dir.join(file_name(base_offset, "timeindex"));
        let interval = u64::from(index_interval_bytes);

        let trusted = if recover {
            None
        } else {
            from_indexes(&file, file_size, base_offset, &index_path, &time_index_path)
        };
        let (offset_index, time_index, state, truncated) = match trusted {
            Some((offset_index, time_index, state)) => (offset_index, time_index, state, 0),
            None => {
                let scan = scan(&file, file_size, base_offset, interval, recover);
                let truncated = file_size - scan.state.size;
                if truncated > 0 {
                    tracing::warn!(segment = %log_path.display(), valid_bytes = scan.state.size, truncated, "cutting invalid or torn tail");
                    file.set_len(scan.state.size)
                        .map_err(LogError::io("truncate segment", &log_path))?;
                    file.sync_all()
                        .map_err(LogError::io("sync segment", &log_path))?;
                }
                (
                    OffsetIndex::create(&index_path, scan.offsets)?,
                    TimeIndex::create(&time_index_path, scan.times)?,
                    scan.state,
                    truncated,
                )
            }
        };
        let txn_index = TransactionIndex::open(&dir.join(file_name(base_offset, "txnindex")))?;
        let mut segment = Segment {
            base_offset,
            log_path,
            index_path,
            time_index_path,
            file,
            size: 0,
            next_offset: base_offset,
            offset_index,
            time_index,
            txn_index,
            bytes_since_index_entry: 0,
            max_timestamp: -1,
            max_timestamp_batch: -1,
            first_batch_timestamp: None,
            created_ms,
            last_modified_ms,
            index_interval_bytes: interval,
        };
        segment.set_state(state);
        // Aborts whose markers a recovery cut off are no longer in the log.
        segment.txn_index.truncate_to(segment.next_offset)?;
        Ok((segment, truncated))
    }

    fn set_state(&mut self, s: State) {
        self.size = s.size;
        self.next_offset = s.next_offset;
        self.max_timestamp = s.max_timestamp;
        self.max_timestamp_batch = s.max_timestamp_batch;
        self.bytes_since_index_entry = s.bytes_since_index_entry;
        self.first_batch_timestamp = s.first_batch_timestamp;
    }

    pub fn size(&self) -> u64 {
        self.size
    }

    /// The `.log` file, for messages about its contents.
    pub fn log_path(&self) -> &Path {
        &self.log_path
    }

    pub fn is_empty(&self) -> bool {
        self.size == 0
    }

    /// Whether an index has reached `segment.index.bytes`, which rolls the segment.
    pub fn index_full(&self, max_index_bytes: u32) -> bool {
        let max = max_index_bytes as usize;
        self.offset_index.len_bytes() + 8 > max || self.time_index.len_bytes() + 12 > max
    }

    /// Whether offsets up to `last_offset` and `incoming` more bytes still fit
    /// the 32-bit relative offsets and positions of this segment.
    pub fn can_hold(&self, last_offset: i64, incoming: u64) -> bool {
        relative(self.base_offset, last_offset).is_some()
            && self.size.saturating_add(incoming) <= u64::from(u32::MAX)
    }

    /// Kafka's `timeWaitedForRoll`: measured in record time from the first
    /// batch when both have timestamps, else in wall time since creation.
    pub fn time_waited_for_roll(&self, now_ms: i64, incoming_max_timestamp: Option<i64>) -> i64 {
        match (self.first_batch_timestamp, incoming_max_timestamp) {
            (Some(first), Some(incoming)) if first >= 0 && incoming >= 0 => {
                incoming.saturating_sub(first)
            }
            _ => now_ms.saturating_sub(self.created_ms),
        }
    }

    /// The newest record time, for retention.ms (Kafka's `largestTimestamp`).
    pub fn largest_timestamp(&self) -> i64 {
        if self.max_timestamp >= 0 {
            self.max_timestamp
        } else {
            self.last_modified_ms
        }
    }

    /// Appends already patched batches (`headers` describes each, in order).
    /// The caller has checked `can_hold`.
    pub fn append(
        &mut self,
        parts: &mut [IoSlice<'_>],
        headers: &[BatchHeader],
        now_ms: i64,
    ) -> Result<(), LogError> {
        let out_of_range = || LogError::InvalidRecord("batch does not fit this segment".into());
        let mut entries = Vec::with_capacity(headers.len());
        let mut position = self.size;
        for h in headers {
            let rel = relative(self.base_offset, h.base_offset).ok_or_else(out_of_range)?;
            relative(self.base_offset, h.last_offset()).ok_or_else(out_of_range)?;
            entries.push((rel, u32::try_from(position).map_err(|_| out_of_range())?));
            position += h.total_size().ok_or_else(out_of_range)? as u64;
        }
        let length: usize = parts.iter().map(|p| p.len()).sum();
        if position - self.size != length as u64 {
            return Err(LogError::InvalidRecord(
                "batch headers do not describe the data".into(),
            ));
        }
        write_all_vectored_at(&self.file, parts, self.size)
            .map_err(LogError::io("append to", &self.log_path))?;
        if self.size == 0 {
            self.created_ms = now_ms;
        }
        self.last_modified_ms = now_ms;
        for (h, (rel, position)) in headers.iter().zip(entries) {
            if position == 0 || self.bytes_since_index_entry >= self.index_interval_bytes {
                self.offset_index.append(rel, position);
                self.bytes_since_index_entry = 0;
            }
            self.bytes_since_index_entry += h.total_size().unwrap_or(0) as u64;
            self.first_batch_timestamp.get_or_insert(h.max_timestamp);
            if h.max_timestamp > self.max_timestamp {
                self.max_timestamp = h.max_timestamp;
                self.max_timestamp_batch = h.base_offset;
                self.time_index.maybe_append(h.max_timestamp, rel);
            }
            self.next_offset = h.last_offset() + 1;
        }
        self.size = position;
        Ok(())
    }

    /// Iterates batch positions from the indexed position at or before `offset`.
    pub fn batches_from(&self, offset: i64) -> impl Iterator<Item = BatchPosition> + '_ {
        let rel = offset
            .saturating_sub(self.base_offset)
            .clamp(0, i64::from(u32::MAX)) as u32;
        self.batches_at(u64::from(self.offset_index.lookup(rel)))
    }

    /// Iterates batch positions from the one whose timestamps may reach `timestamp`.
    pub fn batches_from_time(&self, timestamp: i64) -> impl Iterator<Item = BatchPosition> + '_ {
        let rel = self.time_index.lookup(timestamp);
        self.batches_from(self.base_offset + i64::from(rel))
    }

    fn batches_at(&self, mut position: u64) -> impl Iterator<Item = BatchPosition> + '_ {
        std::iter::from_fn(move || {
            let found = batch_at(&self.file, self.size, position)?;
            position += found.size;
            Some(found)
        })
    }

    /// Reads bytes `[from, to)` of the segment file.
    pub fn read_range(&self, from: u64, to: u64) -> Result<Bytes, LogError> {
        let len = to
            .checked_sub(from)
            .filter(|_| to <= self.size)
            .and_then(|len| usize::try_from(len).ok())
            .ok_or_else(|| {
                LogError::CorruptMessage(format!(
                    "read of [{from}, {to}) outside segment {} of {} bytes",
                    self.log_path.display(),
                    self.size
                ))
            })?;
        let mut buf = BytesMut::zeroed(len);
        self.file
            .read_exact_at(&mut buf, from)
            .map_err(LogError::io("read", &self.log_path))?;
        Ok(buf.freeze())
    }

    /// Removes every batch holding offsets at or after `offset`; a batch that
    /// straddles `offset` goes whole, since batches are never split. Returns
    /// the bytes removed.
    pub fn truncate_to(&mut self, offset: i64) -> Result<u64, LogError> {
        let Some(cut) = self
            .batches_from(offset)
            .find(|b| b.header.last_offset() >= offset)
            .map(|b| b.position)
        else {
            return Ok(0);
        };
        let removed = self.size - cut;
        self.file
            .set_len(cut)
            .map_err(LogError::io("truncate segment", &self.log_path))?;
        let scan = scan(
            &self.file,
            cut,
            self.base_offset,
            self.index_interval_bytes,
            false,
        );
        self.offset_index = OffsetIndex::create(&self.index_path, scan.offsets)?;
        self.time_index = TimeIndex::create(&self.time_index_path, scan.times)?;
        self.txn_index.truncate_to(offset)?;
        self.set_state(scan.state);
        Ok(removed)
    }

    pub fn flush(&mut self) -> Result<(), LogError> {
        self.offset_index.flush(true)?;
        self.time_index.flush(true)?;
        self.txn_index.flush()?;
        self.file
            .sync_data()
            .map_err(LogError::io("sync", &self.log_path))
    }

    /// Writes buffered index entries without syncing, so that they reach the
    /// files soon even when nothing forces an fsync.
    pub fn flush_indexes(&mut self) -> Result<(), LogError> {
        self.offset_index.flush(false)?;
        self.time_index.flush(false)
    }

    /// The transactions aborted by markers in this segment.
    pub fn aborted_transactions(&self) -> &[AbortedTxn] {
        self.txn_index.entries()
    }

    pub fn add_aborted_transaction(&mut self, txn: AbortedTxn) -> Result<(), LogError> {
        self.txn_index.append(txn)
    }

    pub fn delete(self) -> Result<(), LogError> {
        self.txn_index.delete()?;
        for path in [&self.log_path, &self.index_path, &self.time_index_path] {
            match std::fs::remove_file(path) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                    return Err(LogError::io("delete", path)(e))
                }
                _ => {}
            }
        }
        Ok(())
    }
}

/// The header of the batch at `position`; `None` at the end of the data
/// (`size`) or where the header or extent is not plausible.
fn batch_at(file: &File, size: u64, position: u64) -> Option<BatchPosition> {
    if position.checked_add(HEADER_LEN as u64)? > size {
        return None;
    }
    let mut buf = [0u8; HEADER_LEN];
    file.read_exact_at(&mut buf, position).ok()?;
    let header = BatchHeader::parse(&buf)?;
    let batch_size = header.total_size()? as u64;
    if header.magic != 2 || position + batch_size > size {
        return None;
    }
    Some(BatchPosition {
        position,
        header,
        size: batch_size,
    })
}

/// Walks batch headers from the start up to the first implausible one (or,
/// with `verify`, the first whose CRC fails), rebuilding the index entries.
fn scan(file: &File, size: u64, base_offset: i64, index_interval_bytes: u64, verify: bool) -> Scan {
    let mut s = State {
        size: 0,
        next_offset: base_offset,
        max_timestamp: -1,
        max_timestamp_batch: -1,
        bytes_since_index_entry: 0,
        first_batch_timestamp: None,
    };
    let mut offsets = Vec::new();
    let mut times = Vec::new();
    while let Some(b) = batch_at(file, size, s.size) {
        let header = b.header;
        let (Some(rel), Some(_), Ok(position)) = (
            relative(base_offset, header.base_offset),
            relative(base_offset, header.last_offset()),
            u32::try_from(b.position),
        ) else {
            break;
        };
        if header.base_offset < s.next_offset || header.last_offset() < header.base_offset {
            break;
        }
        if verify {
            let valid = usize::try_from(b.size).ok().is_some_and(|len| {
                let mut whole = vec![0u8; len];
                file.read_exact_at(&mut whole, b.position).is_ok()
                    && batch::check_batch(&whole).is_ok()
            });
            if !valid {
                break;
            }
        }
        if offsets.is_empty() || s.bytes_since_index_entry >= index_interval_bytes {
            offsets.push((rel, position));
            s.bytes_since_index_entry = 0;
        }
        s.bytes_since_index_entry += b.size;
        s.first_batch_timestamp.get_or_insert(header.max_timestamp);
        if header.max_timestamp > s.max_timestamp {
            s.max_timestamp = header.max_timestamp;
            s.max_timestamp_batch = header.base_offset;
            times.push((header.max_timestamp, rel));
        }
        s.next_offset = header.last_offset() + 1;
        s.size += b.size;
    }
    Scan {
        state: s,
        offsets,
        times,
    }
}

/// Takes the on-disk indexes as they are after a clean shutdown, checking
/// them against the log's tail: the last offset-index entry must point at a
/// batch with that offset, the batches after it must end exactly at the end
/// of the file, and none may carry a timestamp newer than the time index
/// knows. `None` means: scan and rebuild instead.
fn from_indexes(
    file: &File,
    size: u64,
    base_offset: i64,
    index_path: &Path,
    time_index_path: &Path,
) -> Option<(OffsetIndex, TimeIndex, State)> {
    let offset_index = OffsetIndex::load(index_path, size)?;
    let time_index = TimeIndex::load(time_index_path)?;
    let (last_rel, last_position) = match offset_index.last() {
        Some(last) => last,
        None if size == 0 && time_index.last().is_none() => (0, 0),
        None => return None,
    };
    let mut next_offset = base_offset + i64::from(last_rel);
    let mut tail_max = -1;
    let mut at = u64::from(last_position);
    while let Some(b) = batch_at(file, size, at) {
        let first = at == u64::from(last_position);
        if (first && b.header.base_offset != next_offset)
            || b.header.base_offset < next_offset
            || relative(base_offset, b.header.last_offset()).is_none()
        {
            return None;
        }
        next_offset = b.header.last_offset() + 1;
        tail_max = tail_max.max(b.header.max_timestamp);
        at += b.size;
    }
    let (max_timestamp, max_timestamp_batch) = match time_index.last() {
        Some((ts, rel)) => (ts, base_offset + i64::from(rel)),
        None => (-1, -1),
    };
    if at != size || tail_max > max_timestamp || max_timestamp_batch >= next_offset {
        return None;
    }
    let state = State {
        size,
        next_offset,
        max_timestamp,
        max_timestamp_batch,
        bytes_since_index_entry: size - u64::from(last_position),
        first_batch_timestamp: batch_at(file, size, 0).map(|b| b.header.max_timestamp),
    };
    Some((offset_index, time_index, state))
}

/// pwritev until every part is written, in groups the kernel accepts.
fn write_all_vectored_at(
    file: &File,
    mut parts: &mut [IoSlice<'_>],
    mut offset: u64,
) -> std::io::Result<()> {
    // Linux's IOV_MAX.
    const MAX_PARTS: usize = 1024;
    while !parts.is_empty() {
        let group = parts.len().min(MAX_PARTS);
        let written = rustix::io::pwritev(file, &parts[..group], offset)?;
        if written == 0 {
            return Err(std::io::ErrorKind::WriteZero.into());
        }
        offset += written as u64;
        IoSlice::advance_slices(&mut parts, written);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::log::tests::one;

    fn append(segment: &mut Segment, offset: i64, value: &str, ts: i64) {
        let mut b = one(value, ts);
        batch::set_base_offset(&mut b, offset).unwrap();
        let h = batch::check_batch(&b).unwrap();
        segment.append(&mut [IoSlice::new(&b)], &[h], 0).unwrap();
    }

    fn filled(dir: &Path, n: i64) -> Segment {
        let mut s = Segment::create(dir, 100, 150, 0).unwrap();
        for i in 0..n {
            append(&mut s, 100 + i, &format!("v{i}"), 1000 + i);
        }
        s.flush().unwrap();
        s
    }

    fn bases(s: &Segment, from: i64) -> Vec<i64> {
        s.batches_from(from).map(|b| b.header.base_offset).collect()
    }

    #[test]
    fn appends_index_sparsely_and_reads_from_any_offset() {
        let dir = tempfile::tempdir().unwrap();
        let s = filled(dir.path(), 20);
        assert_eq!(s.next_offset, 120);
        assert!(s.offset_index.len_bytes() > 8 && s.offset_index.len_bytes() < 20 * 8);
        assert_eq!((s.max_timestamp, s.max_timestamp_batch), (1019, 119));
        for target in 100..120 {
            let first = s
                .batches_from(target)
                .find(|b| b.header.last_offset() >= target);
            assert_eq!(first.map(|b| b.header.base_offset), Some(target));
            assert!(bases(&s, target)[0] <= target, "the index never overshoots");
        }
        assert_eq!(s.time_waited_for_roll(0, Some(5000)), 4000);
        assert_eq!(s.largest_timestamp(), 1019);
    }

    #[test]
    fn clean_open_trusts_indexes_that_match_the_log() {
        let dir = tempfile::tempdir().unwrap();
        let before = filled(dir.path(), 20);
        let entries = before.offset_index.len_bytes();
        drop(before);
        let (s, cut) = Segment::open(dir.path(), 100, 150, false).unwrap();
        assert_eq!((cut, s.next_offset, s.size() > 0), (0, 120, true));
        assert_eq!(s.offset_index.len_bytes(), entries);
        assert_eq!((s.max_timestamp, s.max_timestamp_batch), (1019, 119));
        assert_eq!(s.first_batch_timestamp, Some(1000));
    }

    #[test]
    fn missing_short_or_stale_indexes_are_rebuilt() {
        let dir = tempfile::tempdir().unwrap();
        let index = dir.path().join(file_name(100, "index"));
        let time_index = dir.path().join(file_name(100, "timeindex"));
        drop(filled(dir.path(), 20));
        let full = std::fs::read(&index).unwrap();
        let full_time = std::fs::read(&time_index).unwrap();
        type Damage = fn(&Path, &[u8]);
        let damage: [(&str, Damage); 4] = [
            ("missing", |p, _| std::fs::remove_file(p).unwrap()),
            ("short", |p, b| {
                std::fs::write(p, &b[..b.len() - 3]).unwrap()
            }),
            ("stale", |p, b| {
                std::fs::write(p, &b[..b.len() - 8]).unwrap()
            }),
            ("garbage", |p, _| std::fs::write(p, [0xff; 16]).unwrap()),
        ];
        for (what, damage) in damage {
            damage(&index, &full);
            damage(&time_index, &full_time);
            let (s, cut) = Segment::open(dir.path(), 100, 150, false).unwrap();
            assert_eq!((cut, s.next_offset), (0, 120), "{what}");
            assert_eq!(std::fs::read(&index).unwrap(), full, "{what}");
            assert_eq!(s.max_timestamp, 1019, "{what}");
            assert!((112..=117).contains(&bases(&s, 117)[0]), "{what}");
        }
    }

    #[test]
    fn recovery_cuts_at_the_first_bad_batch() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(file_name(100, "log"));
        let good = filled(dir.path(), 5).size();
        let one_batch = good / 5;
        let mut bytes = std::fs::read(&path).unwrap();
        bytes[(3 * one_batch - 1) as usize] ^= 1; // inside the third batch's records
        std::fs::write(&path, &bytes).unwrap();

        let (s, cut) = Segment::open(dir.path(), 100, 150, false).unwrap();
        assert_eq!((cut, s.next_offset), (0, 105), "headers alone look fine");
        drop(s);
        let (s, cut) = Segment::open(dir.path(), 100, 150, true).unwrap();
        assert_eq!(
            (cut, s.next_offset, s.size()),
            (3 * one_batch, 102, 2 * one_batch)
        );
        assert_eq!(std::fs::metadata(&path).unwrap().len(), 2 * one_batch);
    }

    #[test]
    fn truncate_removes_whole_batches_and_reindexes() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = filled(dir.path(), 20);
        let removed = s.truncate_to(110).unwrap();
        assert!(removed > 0);
        assert_eq!(
            (s.next_offset, s.max_timestamp, s.max_timestamp_batch),
            (110, 1009, 109)
        );
        assert_eq!(s.truncate_to(500).unwrap(), 0);
        append(&mut s, 110, "again", 2000);
        assert_eq!(bases(&s, 110).last(), Some(&110));
        s.flush().unwrap();
        drop(s);
        let (s, _) = Segment::open(dir.path(), 100, 150, false).unwrap();
        assert_eq!((s.next_offset, s.max_timestamp), (111, 2000));
        assert!(s.read_range(0, s.size() + 1).is_err());
        assert!(s.read_range(10, 5).is_err());
    }
}
