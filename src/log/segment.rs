//! One segment: `<base offset>.log` plus its offset and time indexes.

use std::fs::{File, OpenOptions};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use bytes::{Bytes, BytesMut};

use super::batch::{self, BatchHeader, PREFIX_LEN};
use super::index::{OffsetIndex, TimeIndex};
use super::LogError;

pub fn file_name(base_offset: i64, ext: &str) -> String {
    format!("{base_offset:020}.{ext}")
}

/// A batch found by scanning: where it starts and what its header says.
#[derive(Debug, Clone, Copy)]
pub struct BatchPosition {
    pub position: u64,
    pub header: BatchHeader,
    pub size: u64,
}

pub struct Segment {
    pub base_offset: i64,
    log_path: PathBuf,
    file: File,
    size: u64,
    /// One past the last offset stored here.
    pub next_offset: i64,
    offset_index: OffsetIndex,
    time_index: TimeIndex,
    bytes_since_index_entry: u64,
    /// Largest record timestamp, and the base offset of the batch holding it.
    pub max_timestamp: i64,
    pub max_timestamp_batch: i64,
    /// When the segment was created or first written, for segment.ms.
    pub created_ms: i64,
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
        Ok(Segment {
            base_offset,
            file,
            size: 0,
            next_offset: base_offset,
            offset_index: OffsetIndex::create(
                &dir.join(file_name(base_offset, "index")),
                Vec::new(),
            )?,
            time_index: TimeIndex::create(
                &dir.join(file_name(base_offset, "timeindex")),
                Vec::new(),
            )?,
            bytes_since_index_entry: 0,
            max_timestamp: -1,
            max_timestamp_batch: -1,
            created_ms: now_ms,
            index_interval_bytes: u64::from(index_interval_bytes),
            log_path,
        })
    }

    /// Opens an existing segment by scanning its batches. With `recover`, every
    /// batch is CRC-checked and the file is cut at the first torn or invalid
    /// one; the indexes are rebuilt unless they can be trusted as they are.
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
        let file_size = file
            .metadata()
            .map_err(LogError::io("stat segment", &log_path))?
            .len();
        let created_ms = file
            .metadata()
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
            .map_or(0, |d| d.as_millis() as i64);

        let mut offsets = Vec::new();
        let mut times: Vec<(i64, u32)> = Vec::new();
        let mut position = 0u64;
        let mut next_offset = base_offset;
        let mut max_timestamp = -1;
        let mut max_timestamp_batch = -1;
        let mut since_entry = 0u64;
        let interval = u64::from(index_interval_bytes);
        let mut prefix = [0u8; PREFIX_LEN];
        while position < file_size {
            let Some(found) = read_batch_at(&file, position, file_size, &mut prefix) else {
                break;
            };
            let header = found.header;
            if header.base_offset < next_offset || header.last_offset() < header.base_offset {
                break;
            }
            if recover {
                let mut whole = vec![0u8; found.size as usize];
                if file.read_exact_at(&mut whole, position).is_err()
                    || batch::check_batch(&whole).is_err()
                {
                    break;
                }
            }
            let relative = (header.base_offset - base_offset) as u32;
            if offsets.is_empty() || since_entry >= interval {
                offsets.push((relative, position as u32));
                since_entry = 0;
            }
            since_entry += found.size;
            if header.max_timestamp > max_timestamp {
                max_timestamp = header.max_timestamp;
                max_timestamp_batch = header.base_offset;
                times.push((header.max_timestamp, relative));
            }
            next_offset = header.last_offset() + 1;
            position += found.size;
        }
        let truncated = file_size - position;
        if truncated > 0 {
            tracing::warn!(segment = %log_path.display(), valid_bytes = position, truncated, "cutting invalid or torn tail");
            file.set_len(position)
                .map_err(LogError::io("truncate segment", &log_path))?;
            file.sync_all()
                .map_err(LogError::io("sync segment", &log_path))?;
        }
        let index_path = dir.join(file_name(base_offset, "index"));
        let time_path = dir.join(file_name(base_offset, "timeindex"));
        let trusted = |len: usize| !recover && truncated == 0 && len == offsets.len() * 8;
        let offset_index = match OffsetIndex::load(&index_path, position) {
            Some(i) if trusted(i.len_bytes()) => i,
            _ => OffsetIndex::create(&index_path, offsets)?,
        };
        let time_index = match TimeIndex::load(&time_path) {
            Some(t) if !recover && truncated == 0 && t.last() == times.last().copied() => t,
            _ => TimeIndex::create(&time_path, times)?,
        };
        Ok((
            Segment {
                base_offset,
                log_path,
                file,
                size: position,
                next_offset,
                offset_index,
                time_index,
                bytes_since_index_entry: since_entry,
                max_timestamp,
                max_timestamp_batch,
                created_ms,
                index_interval_bytes: interval,
            },
            truncated,
        ))
    }

    pub fn size(&self) -> u64 {
        self.size
    }

    pub fn is_empty(&self) -> bool {
        self.size == 0
    }

    pub fn index_bytes(&self) -> usize {
        self.offset_index.len_bytes()
    }

    /// Appends already patched batches (`headers` describes each, in order).
    pub fn append(
        &mut self,
        data: &[u8],
        headers: &[BatchHeader],
        now_ms: i64,
    ) -> Result<(), LogError> {
        if self.size == 0 {
            self.created_ms = now_ms;
        }
        self.file
            .write_all_at(data, self.size)
            .map_err(LogError::io("append to", &self.log_path))?;
        let mut position = self.size;
        for h in headers {
            let relative = (h.base_offset - self.base_offset) as u32;
            let size = h.total_size().unwrap_or(0) as u64;
            if position == 0 || self.bytes_since_index_entry >= self.index_interval_bytes {
                self.offset_index.append(relative, position as u32);
                self.bytes_since_index_entry = 0;
            }
            self.bytes_since_index_entry += size;
            if h.max_timestamp > self.max_timestamp {
                self.max_timestamp = h.max_timestamp;
                self.max_timestamp_batch = h.base_offset;
                self.time_index.maybe_append(h.max_timestamp, relative);
            }
            self.next_offset = h.last_offset() + 1;
            position += size;
        }
        self.size = position;
        Ok(())
    }

    /// Iterates batch positions from the indexed position at or before `offset`.
    pub fn batches_from(&self, offset: i64) -> impl Iterator<Item = BatchPosition> + '_ {
        let relative = (offset - self.base_offset).clamp(0, u32::MAX as i64) as u32;
        self.batches_at(u64::from(self.offset_index.lookup(relative)))
    }

    /// Iterates batch positions from the one whose timestamps may reach `timestamp`.
    pub fn batches_from_time(&self, timestamp: i64) -> impl Iterator<Item = BatchPosition> + '_ {
        let relative = self.time_index.lookup(timestamp);
        self.batches_from(self.base_offset + i64::from(relative))
    }

    fn batches_at(&self, mut position: u64) -> impl Iterator<Item = BatchPosition> + '_ {
        let mut prefix = [0u8; PREFIX_LEN];
        std::iter::from_fn(move || {
            let found = read_batch_at(&self.file, position, self.size, &mut prefix)?;
            position += found.size;
            Some(found)
        })
    }

    /// Reads bytes `[from, to)` of the segment file.
    pub fn read_range(&self, from: u64, to: u64) -> Result<Bytes, LogError> {
        let mut buf = BytesMut::zeroed((to - from) as usize);
        self.file
            .read_exact_at(&mut buf, from)
            .map_err(LogError::io("read", &self.log_path))?;
        Ok(buf.freeze())
    }

    pub fn flush(&mut self) -> Result<(), LogError> {
        self.offset_index.flush(true)?;
        self.time_index.flush(true)?;
        self.file
            .sync_data()
            .map_err(LogError::io("sync", &self.log_path))
    }

    /// Writes buffered index entries without syncing, so a reader of the
    /// files (or a crash) sees them soon.
    pub fn flush_indexes(&mut self) -> Result<(), LogError> {
        self.offset_index.flush(false)?;
        self.time_index.flush(false)
    }

    pub fn delete(self) -> Result<(), LogError> {
        let dir = self
            .log_path
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_default();
        for ext in ["log", "index", "timeindex"] {
            let path = dir.join(file_name(self.base_offset, ext));
            match std::fs::remove_file(&path) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                    return Err(LogError::io("delete", path)(e))
                }
                _ => {}
            }
        }
        Ok(())
    }
}

/// Reads the header of the batch at `position`; `None` at the end of the
/// valid data or where the header or extent is not plausible.
fn read_batch_at(
    file: &File,
    position: u64,
    end: u64,
    prefix: &mut [u8; PREFIX_LEN],
) -> Option<BatchPosition> {
    if position + PREFIX_LEN as u64 > end {
        return None;
    }
    file.read_exact_at(prefix, position).ok()?;
    let header = BatchHeader::parse(prefix)?;
    let size = header.total_size()? as u64;
    if header.magic != 2 || position + size > end {
        return None;
    }
    Some(BatchPosition {
        position,
        header,
        size,
    })
}
