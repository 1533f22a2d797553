//! One segment: `<20-digit base offset>.log` plus its offset and time indexes.
//!
//! Opening trusts the index files only after a clean shutdown, and then only
//! if they agree with the log's tail; otherwise the segment's batch headers
//! are scanned and the indexes rebuilt, so a lost or corrupt index costs time,
//! never data.
//!
//! Only the active segment keeps its log file open, and only while the
//! process-wide [`FileCache`] has room for it: an idle partition's file is
//! closed (fsynced first if written to) and reopened when next used. A
//! rolled segment opens its file for each read and holds no descriptor, and
//! no segment holds its index files open (the entries live in memory), so
//! a partition costs at most one descriptor however many segments it has,
//! and the broker no more than the cache's budget however many partitions.
//!
//! A rolled segment is never cut: only the active one can end in a torn
//! write (a rolled one was whole when it rolled, and is fsynced soon
//! after), so a batch that does not parse in it is corruption. Opening
//! logs the damage; reads that reach it fail with CORRUPT_MESSAGE naming
//! the file and position, so consumers see an error rather than an empty
//! answer.

use std::fs::{File, OpenOptions};
use std::io::IoSlice;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};
use std::time::SystemTime;

use bytes::Bytes;

use super::batch::{self, BatchHeader, HEADER_LEN};
use super::file_cache::{CachedFile, FileCache};
use super::index::{OffsetIndex, TimeIndex};
use super::read_buf::ReadBuffers;
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

/// How a segment is opened.
#[derive(Debug, Clone, Copy)]
pub enum OpenAs {
    /// The segment appends go to. After an unclean shutdown `recover_from`
    /// is the log's recovery point (what an fsync had reached): every batch
    /// holding offsets at or after it is CRC-checked and the file cut at
    /// the first torn or invalid one, while the batches before it, on disk
    /// already, only have their headers read to rebuild the indexes (the
    /// index files themselves are not trusted: the group commit does not
    /// fsync them).
    Active { recover_from: Option<i64> },
    /// A segment rolled before the one based at `next_base`. After an
    /// unclean shutdown, `recover_from` (the recovery point, when the
    /// segment holds offsets after it: its fsync may not have run)
    /// CRC-checks its batches from there and cuts the file at the first
    /// torn or invalid one, as for the active segment: a power loss before
    /// the roll's fsync can leave it so, and nothing past the recovery
    /// point was promised durable. The log then drops the segments after
    /// it (Kafka's LogLoader does the same). Without `recover_from` it is
    /// never cut: damage there is logged and kept.
    Rolled {
        next_base: i64,
        recover_from: Option<i64>,
    },
}

/// What opening learns about a segment's contents.
struct State {
    size: u64,
    next_offset: i64,
    max_timestamp: i64,
    max_timestamp_batch: i64,
    bytes_since_index_entry: u64,
    /// See [`Segment::first_batch_timestamp`]: unset when not read yet.
    first_batch_timestamp: OnceLock<Option<i64>>,
}

/// A full scan: the state plus the index entries it implies, and where and
/// why it stopped short of the end, if it did.
struct Scan {
    state: State,
    offsets: Vec<(u32, u32)>,
    times: Vec<(i64, u32)>,
    stopped: Option<(u64, String)>,
}

/// Why no batch could be read at a position.
pub(super) enum Fault {
    Io(std::io::Error),
    Invalid(String),
}

/// Batches from a position to the end of the segment's data; a batch that
/// cannot be read ends the iteration with an error.
pub struct Batches<'a> {
    segment: &'a Segment,
    file: Option<Arc<File>>,
    position: u64,
    failed: bool,
    /// Bytes read ahead of the headers, starting at `window_at`: a read
    /// that knows how much it may answer takes the headers and the answer
    /// from one `pread` rather than one per batch and one more for the range.
    window: Bytes,
    window_at: u64,
    read_ahead: u64,
}

impl Batches<'_> {
    /// Bytes `[from, to)` of the segment, through the file this iteration
    /// opened (if it did).
    pub fn read_range(&self, from: u64, to: u64) -> Result<Bytes, LogError> {
        if let (Some(start), Some(end)) = (
            from.checked_sub(self.window_at),
            to.checked_sub(self.window_at),
        ) {
            if start <= end && end <= self.window.len() as u64 {
                return Ok(self.window.slice(start as usize..end as usize));
            }
        }
        match &self.file {
            Some(file) => self.segment.read_range_in(file, from, to),
            None => self.segment.read_range(from, to),
        }
    }

    /// The whole batch `b`.
    pub fn read(&self, b: &BatchPosition) -> Result<Bytes, LogError> {
        self.read_range(b.position, b.position + b.size)
    }

    /// The batch at `position`, its header taken from the window when it
    /// holds it, else (reading ahead) from a new window read there.
    fn header(&mut self, file: &File) -> Result<BatchPosition, Fault> {
        let (size, position) = (self.segment.size, self.position);
        let left = size.saturating_sub(position);
        if self.read_ahead == 0 || left < HEADER_LEN as u64 {
            return batch_at(file, size, position);
        }
        let held = position
            .checked_sub(self.window_at)
            .filter(|at| at + HEADER_LEN as u64 <= self.window.len() as u64);
        let at = match held {
            Some(at) => at as usize,
            None => {
                let len = left.min(self.read_ahead.max(HEADER_LEN as u64)) as usize;
                let Ok(window) = ReadBuffers::global().read_at(file, position, len) else {
                    // Header by header from here, as without reading
                    // ahead, so that the batches before a damaged or
                    // missing stretch of the file are still answered.
                    self.read_ahead = 0;
                    return batch_at(file, size, position);
                };
                self.window = window;
                self.window_at = position;
                0
            }
        };
        parse_batch(&self.window[at..at + HEADER_LEN], left, position)
    }
}

impl Iterator for Batches<'_> {
    type Item = Result<BatchPosition, LogError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed || self.position >= self.segment.size {
            return None;
        }
        if self.file.is_none() {
            match self.segment.handle() {
                Ok(f) => self.file = Some(f),
                Err(e) => {
                    self.failed = true;
                    return Some(Err(e));
                }
            }
        }
        let file = self.file.clone()?;
        match self.header(&file) {
            Ok(b) => {
                self.position += b.size;
                Some(Ok(b))
            }
            Err(fault) => {
                self.failed = true;
                Some(Err(self.segment.fault(self.position, fault)))
            }
        }
    }
}

pub struct Segment {
    pub base_offset: i64,
    log_path: PathBuf,
    index_path: PathBuf,
    time_index_path: PathBuf,
    /// The active segment's file, opened on demand through the cache;
    /// reads of a rolled one open the file for themselves. Shared so that a
    /// group commit can fsync it without the log's lock, even after a roll
    /// has dropped it here.
    file: Option<Arc<CachedFile>>,
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
    /// maxTimestamp of the first batch (`None` for an empty segment):
    /// Kafka measures segment.ms from it. Unset until first asked for when
    /// opened from trusted indexes, as Kafka's `loadFirstBatchTimestamp`:
    /// only the active segment's appends ask, so a clean start reads no
    /// segment's first page (with readahead, 16 KiB a partition).
    first_batch_timestamp: OnceLock<Option<i64>>,
    /// When the first batch was written (or the file's creation time after a
    /// restart): the segment.ms fallback for batches without timestamps.
    pub created_ms: i64,
    /// Retention's fallback for segments without timestamps.
    last_modified_ms: i64,
    index_interval_bytes: u64,
    /// How far (a page boundary) writeback of the active segment was
    /// started by [`Segment::start_writeback`].
    written_back: u64,
}

impl Segment {
    /// A new, empty active segment.
    pub fn create(
        dir: &Path,
        base_offset: i64,
        index_interval_bytes: u32,
        now_ms: i64,
    ) -> Result<Segment, LogError> {
        let log_path = dir.join(file_name(base_offset, "log"));
        let file = FileCache::global()
            .open(
                OpenOptions::new()
                    .create(true)
                    .read(true)
                    .write(true)
                    .truncate(true),
                &log_path,
            )
            .map_err(LogError::io("create segment", &log_path))?;
        let index_path = dir.join(file_name(base_offset, "index"));
        let time_index_path = dir.join(file_name(base_offset, "timeindex"));
        Ok(Segment {
            base_offset,
            file: Some(Arc::new(CachedFile::new(
                FileCache::global(),
                &log_path,
                file,
            ))),
            size: 0,
            next_offset: base_offset,
            offset_index: OffsetIndex::create(&index_path, Vec::new())?,
            time_index: TimeIndex::create(&time_index_path, Vec::new())?,
            txn_index: TransactionIndex::create(&dir.join(file_name(base_offset, "txnindex")))?,
            bytes_since_index_entry: 0,
            max_timestamp: -1,
            max_timestamp_batch: -1,
            first_batch_timestamp: OnceLock::from(None),
            created_ms: now_ms,
            last_modified_ms: now_ms,
            index_interval_bytes: u64::from(index_interval_bytes),
            written_back: 0,
            log_path,
            index_path,
            time_index_path,
        })
    }

    /// Opens an existing segment. An active one is cut at the first torn or
    /// implausible batch (with `recover`, at the first whose CRC fails
    /// too); a rolled one only when recovering (see [`OpenAs::Rolled`]),
    /// else it is kept whole. `has_txn_index` false says the directory
    /// holds no `.txnindex` for it (no abort ever landed in it), so none is
    /// looked for. Returns the segment and how many bytes were cut.
    pub fn open(
        dir: &Path,
        base_offset: i64,
        index_interval_bytes: u32,
        open_as: OpenAs,
        has_txn_index: bool,
    ) -> Result<(Segment, u64), LogError> {
        let log_path = dir.join(file_name(base_offset, "log"));
        let active = matches!(open_as, OpenAs::Active { .. });
        let (OpenAs::Active { recover_from } | OpenAs::Rolled { recover_from, .. }) = open_as;
        let recover = recover_from.is_some();
        let file = FileCache::global()
            .open(
                OpenOptions::new().read(true).write(active || recover),
                &log_path,
            )
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
                let mut scan = scan(&file, file_size, base_offset, interval, recover_from);
                let mut truncated = 0;
                match (open_as, &scan.stopped) {
                    // What a crash left in the page cache becomes durable
                    // here, so the recovery point can move to the log end.
                    (_, None) if recover => file
                        .sync_data()
                        .map_err(LogError::io("sync segment", &log_path))?,
                    (_, None) => {}
                    (OpenAs::Rolled { next_base, .. }, Some((position, why))) if !recover => {
                        tracing::error!(segment = %log_path.display(), position, reason = %why, "corrupt record batch in a rolled segment: kept as it is; reads from offset {} to {} will fail with CORRUPT_MESSAGE", scan.state.next_offset, next_base);
                        scan.state.size = file_size;
                        scan.state.next_offset = scan.state.next_offset.max(next_base);
                    }
                    (_, Some(_)) => {
                        truncated = file_size - scan.state.size;
                        tracing::warn!(segment = %log_path.display(), valid_bytes = scan.state.size, truncated, "cutting invalid or torn tail");
                        file.set_len(scan.state.size)
                            .map_err(LogError::io("truncate segment", &log_path))?;
                        file.sync_all()
                            .map_err(LogError::io("sync segment", &log_path))?;
                    }
                }
                (
                    OffsetIndex::create(&index_path, scan.offsets)?,
                    TimeIndex::create(&time_index_path, scan.times)?,
                    scan.state,
                    truncated,
                )
            }
        };
        let txn_index_path = dir.join(file_name(base_offset, "txnindex"));
        let txn_index = if has_txn_index {
            TransactionIndex::open(&txn_index_path)?
        } else {
            TransactionIndex::absent(&txn_index_path)
        };
        let path = log_path.clone();
        let mut segment = Segment {
            base_offset,
            log_path,
            index_path,
            time_index_path,
            file: active.then(|| Arc::new(CachedFile::new(FileCache::global(), &path, file))),
            size: 0,
            next_offset: base_offset,
            offset_index,
            time_index,
            txn_index,
            bytes_since_index_entry: 0,
            max_timestamp: -1,
            max_timestamp_batch: -1,
            first_batch_timestamp: OnceLock::new(),
            created_ms,
            last_modified_ms,
            index_interval_bytes: interval,
            written_back: 0,
        };
        segment.set_state(state);
        // Aborts whose markers a recovery cut off are no longer in the log.
        segment.txn_index.truncate_to(segment.next_offset)?;
        if !active {
            // A rolled segment is not flushed again: write a rebuilt index
            // now, or rebuild it at the next start if that fails.
            if let Err(e) = segment.flush_indexes() {
                tracing::warn!(segment = %segment.log_path.display(), error = %e, "cannot write rebuilt indexes; they are rebuilt at the next start");
            }
        }
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

    /// A rolled segment is never written again: its file leaves the cache.
    pub fn deactivate(&mut self) {
        self.file = None;
    }

    /// Makes a rolled segment the active one again (a truncation cut the
    /// segments after it).
    pub fn activate(&mut self) -> Result<(), LogError> {
        if self.file.is_none() {
            let cache = FileCache::global();
            let file = cache
                .open(OpenOptions::new().read(true).write(true), &self.log_path)
                .map_err(LogError::io("open segment", &self.log_path))?;
            self.file = Some(Arc::new(CachedFile::new(cache, &self.log_path, file)));
        }
        Ok(())
    }

    fn handle(&self) -> Result<Arc<File>, LogError> {
        match &self.file {
            Some(f) => f.get(),
            None => FileCache::global()
                .open(OpenOptions::new().read(true), &self.log_path)
                .map(Arc::new),
        }
        .map_err(LogError::io("open segment", &self.log_path))
    }

    /// The active segment's file, for writes: the cache's entry, to record
    /// them in, and the open file.
    fn writable(&self) -> Result<(&CachedFile, Arc<File>), LogError> {
        let cached = self.file.as_deref().ok_or_else(|| {
            LogError::io("write to", &self.log_path)(std::io::Error::other(
                "the segment has rolled and is read-only",
            ))
        })?;
        let file = cached
            .get()
            .map_err(LogError::io("open segment", &self.log_path))?;
        Ok((cached, file))
    }

    /// The error for a batch that cannot be read at `position`, logged
    /// with the file and position (a client only sees the code).
    fn fault(&self, position: u64, fault: Fault) -> LogError {
        match fault {
            Fault::Io(e) => LogError::io("read", &self.log_path)(e),
            Fault::Invalid(why) => {
                tracing::error!(segment = %self.log_path.display(), position, reason = %why, "corrupt record batch");
                LogError::CorruptMessage(format!(
                    "{} at position {position}: {why}",
                    self.log_path.display()
                ))
            }
        }
    }

    pub fn log_path(&self) -> &Path {
        &self.log_path
    }

    pub fn size(&self) -> u64 {
        self.size
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
        match (self.first_batch_timestamp(), incoming_max_timestamp) {
            (Some(first), Some(incoming)) if first >= 0 && incoming >= 0 => {
                incoming.saturating_sub(first)
            }
            _ => now_ms.saturating_sub(self.created_ms),
        }
    }

    /// The first batch's maxTimestamp, read from the file the first time
    /// it is asked for after a clean open. A batch that cannot be read
    /// there counts as none: segment.ms then runs from the file's creation.
    fn first_batch_timestamp(&self) -> Option<i64> {
        *self.first_batch_timestamp.get_or_init(|| {
            let file = self.handle().ok()?;
            batch_at(&file, self.size, 0)
                .ok()
                .map(|b| b.header.max_timestamp)
        })
    }

    /// From when `time_waited_for_roll(now, None)`, a roll without an
    /// incoming batch, exceeds `segment_ms`.
    pub fn roll_due_at(&self, segment_ms: i64) -> i64 {
        self.created_ms.saturating_add(segment_ms).saturating_add(1)
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
    /// The caller has checked `can_hold`. A failed write leaves the file as
    /// it was.
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
        let (cached, file) = self.writable()?;
        let written = write_all_vectored_at(&file, parts, self.size);
        cached.wrote();
        if let Err(e) = written {
            // What a short write (a full disk) left would otherwise sit past
            // the data, for recovery to take for batches never acknowledged.
            let _ = file.set_len(self.size);
            return Err(LogError::io("append to", &self.log_path)(e));
        }
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
            // Unset means the first batch is on disk already.
            if self.first_batch_timestamp.get() == Some(&None) {
                self.first_batch_timestamp = OnceLock::from(Some(h.max_timestamp));
            }
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

    /// Batches from the indexed position at or before `offset`.
    pub fn batches_from(&self, offset: i64) -> Batches<'_> {
        self.batches_reading_ahead(offset, 0)
    }

    /// [`Segment::batches_from`] for a read that will answer up to
    /// `read_ahead` bytes from there: reads that much of the file at once
    /// and walks the headers in memory, so a Fetch costs one `pread` per
    /// partition rather than one per batch plus one.
    pub fn batches_reading_ahead(&self, offset: i64, read_ahead: usize) -> Batches<'_> {
        let rel = offset
            .saturating_sub(self.base_offset)
            .clamp(0, i64::from(u32::MAX)) as u32;
        Batches {
            segment: self,
            file: None,
            position: u64::from(self.offset_index.lookup(rel)),
            failed: false,
            window: Bytes::new(),
            window_at: 0,
            read_ahead: read_ahead as u64,
        }
    }

    /// Batches from the one whose timestamps may reach `timestamp`.
    pub fn batches_from_time(&self, timestamp: i64) -> Batches<'_> {
        let rel = self.time_index.lookup(timestamp);
        self.batches_from(self.base_offset + i64::from(rel))
    }

    /// Reads bytes `[from, to)` of the segment file.
    pub fn read_range(&self, from: u64, to: u64) -> Result<Bytes, LogError> {
        self.read_range_in(&*self.handle()?, from, to)
    }

    fn read_range_in(&self, file: &File, from: u64, to: u64) -> Result<Bytes, LogError> {
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
        ReadBuffers::global()
            .read_at(file, from, len)
            .map_err(LogError::io("read", &self.log_path))
    }

    /// Removes every batch holding offsets at or after `offset`; a batch that
    /// straddles `offset` goes whole, since batches are never split. Returns
    /// the bytes removed.
    pub fn truncate_to(&mut self, offset: i64) -> Result<u64, LogError> {
        let mut cut = None;
        for b in self.batches_from(offset) {
            let b = b?;
            if b.header.last_offset() >= offset {
                cut = Some(b.position);
                break;
            }
        }
        let Some(cut) = cut else {
            return Ok(0);
        };
        let removed = self.size - cut;
        let (cached, file) = self.writable()?;
        cached.wrote();
        file.set_len(cut)
            .map_err(LogError::io("truncate segment", &self.log_path))?;
        let scan = scan(
            &file,
            cut,
            self.base_offset,
            self.index_interval_bytes,
            None,
        );
        self.offset_index = OffsetIndex::create(&self.index_path, scan.offsets)?;
        self.time_index = TimeIndex::create(&self.time_index_path, scan.times)?;
        self.txn_index.truncate_to(offset)?;
        self.set_state(scan.state);
        self.written_back = self.written_back.min(page_floor(self.size));
        Ok(removed)
    }

    /// Starts writeback of the whole pages appended since it last started,
    /// once they are `every` bytes or more (0: never), without waiting for
    /// it. Left to the kernel, dirty pages pile up until a threshold or an
    /// expiry and are then flushed in bursts that stall appends
    /// (balance_dirty_pages), and the fsync at a roll has the whole segment
    /// to write; started a little at a time they go out at the rate they
    /// come in. The page still being filled is left alone: rewriting a page
    /// under writeback can wait for it to finish. A failure is only logged:
    /// the data is appended either way, and the next fsync reports it.
    pub fn start_writeback(&mut self, every: u64) {
        let end = page_floor(self.size);
        if every == 0 || end < self.written_back.saturating_add(every) {
            return;
        }
        let Ok((_, file)) = self.writable() else {
            return;
        };
        if let Err(e) = write_back(&file, self.written_back, end - self.written_back) {
            tracing::warn!(file = %self.log_path.display(), error = %e,
                "cannot start writeback of appended data");
        }
        self.written_back = end;
    }

    pub fn flush(&mut self) -> Result<(), LogError> {
        self.offset_index.flush(true)?;
        self.time_index.flush(true)?;
        self.txn_index.flush()?;
        match &self.file {
            Some(file) => file.sync().map_err(LogError::io("sync", &self.log_path)),
            None => Ok(()),
        }
    }

    /// The active segment's log file, for an fsync outside the log's lock.
    pub fn shared_file(&self) -> Option<Arc<CachedFile>> {
        self.file.clone()
    }

    /// The index files, for an fsync outside the log's lock once the
    /// segment has rolled (see `Log::roll`); the transaction index has a
    /// file only if a transaction was aborted here.
    pub fn index_paths(&self) -> Vec<PathBuf> {
        vec![
            self.index_path.clone(),
            self.time_index_path.clone(),
            self.txn_index.path().to_path_buf(),
        ]
    }

    /// Whether index entries wait for [`Segment::flush_indexes`].
    pub fn indexes_pending(&self) -> bool {
        self.offset_index.has_pending() || self.time_index.has_pending()
    }

    /// Writes index entries not yet in their files, without syncing, so
    /// that they reach the files soon even when nothing forces an fsync.
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

    /// Deletes the segment in a way that costs its caller next to nothing:
    /// its files are renamed aside (`.deleted`) and their paths returned,
    /// for [`remove_deleted`] to remove outside the log's lock, since
    /// removing a full segment's file frees its blocks and page cache (tens
    /// of milliseconds, more on a busy disk). What a crash leaves renamed
    /// goes when the log is next opened.
    pub fn delete_later(self) -> Result<Vec<PathBuf>, LogError> {
        let mut renamed = Vec::new();
        let txn_path = self.txn_index.path().to_path_buf();
        for path in [
            &self.log_path,
            &self.index_path,
            &self.time_index_path,
            &txn_path,
        ] {
            let mut aside = path.clone().into_os_string();
            aside.push(DELETED_SUFFIX);
            let aside = PathBuf::from(aside);
            match std::fs::rename(path, &aside) {
                Ok(()) => renamed.push(aside),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(LogError::io("rename for deletion", path)(e)),
            }
        }
        Ok(renamed)
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

/// What [`Segment::delete_later`] appends to the names of the files it
/// renames aside.
pub const DELETED_SUFFIX: &str = ".deleted";

/// Removes files [`Segment::delete_later`] renamed aside.
pub fn remove_deleted(paths: &[PathBuf]) -> Result<(), LogError> {
    for path in paths {
        match std::fs::remove_file(path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                return Err(LogError::io("delete", path)(e))
            }
            _ => {}
        }
    }
    Ok(())
}

/// The header of the batch at `position` of data that ends at `size`, or
/// why there is no plausible batch there.
pub(super) fn batch_at(file: &File, size: u64, position: u64) -> Result<BatchPosition, Fault> {
    let left = size.saturating_sub(position);
    if left < HEADER_LEN as u64 {
        return Err(Fault::Invalid(format!(
            "{left} bytes left, fewer than a batch header"
        )));
    }
    let mut buf = [0u8; HEADER_LEN];
    file.read_exact_at(&mut buf, position).map_err(Fault::Io)?;
    parse_batch(&buf, left, position)
}

/// The batch whose header is `header`, read at `position` with `left`
/// bytes of data from there to the end of the segment.
fn parse_batch(header: &[u8], left: u64, position: u64) -> Result<BatchPosition, Fault> {
    let header = BatchHeader::parse(header)
        .ok_or_else(|| Fault::Invalid("unreadable batch header".into()))?;
    let batch_size = header.total_size().ok_or_else(|| {
        Fault::Invalid(format!(
            "batch length {} is impossible",
            header.batch_length
        ))
    })? as u64;
    if header.magic != 2 {
        return Err(Fault::Invalid(format!("magic {}", header.magic)));
    }
    if batch_size > left {
        return Err(Fault::Invalid(format!(
            "batch length {} runs past the end of the data ({left} bytes left)",
            header.batch_length
        )));
    }
    Ok(BatchPosition {
        position,
        header,
        size: batch_size,
    })
}

/// Walks batch headers from the start up to the first implausible one (or,
/// from the batch holding offset `verify_from` on, the first whose CRC
/// fails), rebuilding the index entries.
fn scan(
    file: &File,
    size: u64,
    base_offset: i64,
    index_interval_bytes: u64,
    verify_from: Option<i64>,
) -> Scan {
    let mut s = State {
        size: 0,
        next_offset: base_offset,
        max_timestamp: -1,
        max_timestamp_batch: -1,
        bytes_since_index_entry: 0,
        first_batch_timestamp: OnceLock::new(),
    };
    let mut offsets = Vec::new();
    let mut times = Vec::new();
    let mut stopped = None;
    while s.size < size {
        let b = match batch_at(file, size, s.size) {
            Ok(b) => b,
            Err(Fault::Io(e)) => {
                stopped = Some((s.size, format!("read failed: {e}")));
                break;
            }
            Err(Fault::Invalid(why)) => {
                stopped = Some((s.size, why));
                break;
            }
        };
        let header = b.header;
        let (Some(rel), Some(_), Ok(position)) = (
            relative(base_offset, header.base_offset),
            relative(base_offset, header.last_offset()),
            u32::try_from(b.position),
        ) else {
            stopped = Some((
                s.size,
                format!("offset {} outside the segment", header.base_offset),
            ));
            break;
        };
        if header.base_offset < s.next_offset || header.last_offset() < header.base_offset {
            stopped = Some((
                s.size,
                format!("offset {} out of order", header.base_offset),
            ));
            break;
        }
        if verify_from.is_some_and(|from| header.last_offset() >= from) {
            let valid = usize::try_from(b.size).ok().is_some_and(|len| {
                let mut whole = vec![0u8; len];
                file.read_exact_at(&mut whole, b.position).is_ok()
                    && batch::check_batch(&whole).is_ok()
            });
            if !valid {
                stopped = Some((s.size, "invalid batch".into()));
                break;
            }
        }
        if offsets.is_empty() || s.bytes_since_index_entry >= index_interval_bytes {
            offsets.push((rel, position));
            s.bytes_since_index_entry = 0;
        }
        s.bytes_since_index_entry += b.size;
        // Only the first set takes.
        let _ = s.first_batch_timestamp.set(Some(header.max_timestamp));
        if header.max_timestamp > s.max_timestamp {
            s.max_timestamp = header.max_timestamp;
            s.max_timestamp_batch = header.base_offset;
            times.push((header.max_timestamp, rel));
        }
        s.next_offset = header.last_offset() + 1;
        s.size += b.size;
    }
    // No batch: the segment is (now) empty.
    let _ = s.first_batch_timestamp.set(None);
    Scan {
        state: s,
        offsets,
        times,
        stopped,
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
    while at < size {
        let b = batch_at(file, size, at).ok()?;
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
        first_batch_timestamp: if size == 0 {
            OnceLock::from(None)
        } else {
            OnceLock::new()
        },
    };
    Some((offset_index, time_index, state))
}

/// `offset` rounded down to a page boundary.
fn page_floor(offset: u64) -> u64 {
    let page = rustix::param::page_size() as u64;
    offset / page * page
}

/// sync_file_range(SYNC_FILE_RANGE_WRITE): queues the range's dirty pages
/// for writeback and returns without waiting for them. Neither rustix nor
/// nix (up to 0.32) wraps it.
#[cfg(target_os = "linux")]
#[allow(unsafe_code)]
fn write_back(file: &File, from: u64, len: u64) -> std::io::Result<()> {
    use std::os::fd::AsRawFd;
    let offset = libc::off64_t::try_from(from).map_err(std::io::Error::other)?;
    let len = libc::off64_t::try_from(len).map_err(std::io::Error::other)?;
    // SAFETY: the descriptor is the open file `file` borrows, and the call
    // takes no pointers.
    let rc = unsafe {
        libc::sync_file_range(file.as_raw_fd(), offset, len, libc::SYNC_FILE_RANGE_WRITE)
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

/// Elsewhere the kernel's own writeback is all there is.
#[cfg(not(target_os = "linux"))]
fn write_back(_: &File, _: u64, _: u64) -> std::io::Result<()> {
    Ok(())
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

    const ACTIVE: OpenAs = OpenAs::Active { recover_from: None };
    const RECOVER: OpenAs = OpenAs::Active {
        recover_from: Some(0),
    };

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

    #[test]
    fn writeback_starts_at_whole_pages_once_enough_are_appended() {
        let dir = tempfile::tempdir().unwrap();
        let page = rustix::param::page_size() as u64;
        let mut s = Segment::create(dir.path(), 100, 150, 0).unwrap();
        let value = "y".repeat(1000);
        let mut next = 100;
        let mut fill_to = |s: &mut Segment, size: u64| {
            while s.size() < size {
                append(s, next, &value, 0);
                next += 1;
            }
        };
        fill_to(&mut s, page + page / 2);
        s.start_writeback(2 * page);
        assert_eq!(s.written_back, 0, "less than `every` in whole pages waits");
        fill_to(&mut s, 2 * page + page / 2);
        s.start_writeback(2 * page);
        assert_eq!(
            s.written_back,
            2 * page,
            "the page being filled is left out"
        );
        s.start_writeback(0);
        fill_to(&mut s, 5 * page);
        s.start_writeback(0);
        assert_eq!(s.written_back, 2 * page, "0 is off");
        s.truncate_to(101).unwrap();
        assert_eq!(s.written_back, 0, "a cut moves the mark back with the end");
    }

    fn bases(s: &Segment, from: i64) -> Vec<i64> {
        s.batches_from(from)
            .map(|b| b.unwrap().header.base_offset)
            .collect()
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
                .map(Result::unwrap)
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
        let (s, cut) = Segment::open(dir.path(), 100, 150, ACTIVE, true).unwrap();
        assert_eq!((cut, s.next_offset, s.size() > 0), (0, 120, true));
        assert_eq!(s.offset_index.len_bytes(), entries);
        assert_eq!((s.max_timestamp, s.max_timestamp_batch), (1019, 119));
        assert_eq!(
            s.first_batch_timestamp.get(),
            None,
            "read only when asked for"
        );
        assert_eq!(s.first_batch_timestamp(), Some(1000));
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
            let (mut s, cut) = Segment::open(dir.path(), 100, 150, ACTIVE, true).unwrap();
            assert_eq!((cut, s.next_offset), (0, 120), "{what}");
            s.flush_indexes().unwrap();
            assert_eq!(std::fs::read(&index).unwrap(), full, "{what}");
            // A rolled segment is not flushed again: it writes them at once.
            drop(s);
            damage(&index, &full);
            damage(&time_index, &full_time);
            let rolled = OpenAs::Rolled {
                next_base: 120,
                recover_from: None,
            };
            let (s, _) = Segment::open(dir.path(), 100, 150, rolled, true).unwrap();
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

        let (s, cut) = Segment::open(dir.path(), 100, 150, ACTIVE, true).unwrap();
        assert_eq!((cut, s.next_offset), (0, 105), "headers alone look fine");
        drop(s);
        let (s, cut) = Segment::open(dir.path(), 100, 150, RECOVER, true).unwrap();
        assert_eq!(
            (cut, s.next_offset, s.size()),
            (3 * one_batch, 102, 2 * one_batch)
        );
        assert_eq!(std::fs::metadata(&path).unwrap().len(), 2 * one_batch);
    }

    #[test]
    fn recovery_checks_only_from_the_recovery_point() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(file_name(100, "log"));
        let good = filled(dir.path(), 5).size();
        let one_batch = (good / 5) as usize;
        let mut bytes = std::fs::read(&path).unwrap();
        bytes[2 * one_batch - 1] ^= 1; // inside the batch at offset 101
        std::fs::write(&path, &bytes).unwrap();
        // Index files are never taken on trust when recovering.
        std::fs::write(dir.path().join(file_name(100, "index")), [0u8; 16]).unwrap();
        let from = |offset| OpenAs::Active {
            recover_from: Some(offset),
        };

        // Fsynced before the recovery point: left unchecked, and whole.
        let (s, cut) = Segment::open(dir.path(), 100, 150, from(103), true).unwrap();
        assert_eq!((cut, s.next_offset), (0, 105));
        assert_eq!(bases(&s, 100), vec![100, 101, 102, 103, 104]);
        let from_104 = bases(&s, 104);
        assert!(
            from_104[0] > 100 && from_104.last() == Some(&104),
            "indexes rebuilt: {from_104:?}"
        );
        drop(s);

        // Damage at or after it is cut, as a torn write.
        bytes[4 * one_batch - 1] ^= 1; // inside the batch at offset 103
        std::fs::write(&path, &bytes).unwrap();
        let (s, cut) = Segment::open(dir.path(), 100, 150, from(103), true).unwrap();
        assert_eq!((cut, s.next_offset), (2 * one_batch as u64, 103));
        drop(s);

        // From an older recovery point, the earlier damage is found too.
        let (s, cut) = Segment::open(dir.path(), 100, 150, from(101), true).unwrap();
        assert_eq!((cut, s.next_offset), (2 * one_batch as u64, 101));
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
        let (s, _) = Segment::open(dir.path(), 100, 150, ACTIVE, true).unwrap();
        assert_eq!((s.next_offset, s.max_timestamp), (111, 2000));
        assert!(s.read_range(0, s.size() + 1).is_err());
        assert!(s.read_range(10, 5).is_err());
    }
}
