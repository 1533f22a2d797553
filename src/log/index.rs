//! Sparse indexes of one segment, kept in memory and mirrored to files:
//! the offset index maps relative offsets to file positions (8-byte entries),
//! the time index maps timestamps to relative offsets (12-byte entries).
//! A missing or inconsistent file is never trusted: the segment rebuilds it.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use super::LogError;

/// Entries appended since the last sync, written in one call.
struct IndexFile {
    path: PathBuf,
    file: File,
    pending: Vec<u8>,
}

impl IndexFile {
    fn create(path: &Path, contents: &[u8]) -> Result<IndexFile, LogError> {
        let mut file = OpenOptions::new()
            .create(true)
            .write(true)
            .truncate(true)
            .open(path)
            .map_err(LogError::io("create index", path))?;
        file.write_all(contents)
            .map_err(LogError::io("write index", path))?;
        Ok(IndexFile {
            path: path.to_path_buf(),
            file,
            pending: Vec::new(),
        })
    }

    fn open_append(path: &Path) -> Result<IndexFile, LogError> {
        let file = OpenOptions::new()
            .append(true)
            .open(path)
            .map_err(LogError::io("open index", path))?;
        Ok(IndexFile {
            path: path.to_path_buf(),
            file,
            pending: Vec::new(),
        })
    }

    fn flush(&mut self, sync: bool) -> Result<(), LogError> {
        if !self.pending.is_empty() {
            self.file
                .write_all(&self.pending)
                .map_err(LogError::io("write index", &self.path))?;
            self.pending.clear();
        }
        if sync {
            self.file
                .sync_data()
                .map_err(LogError::io("sync index", &self.path))?;
        }
        Ok(())
    }
}

pub struct OffsetIndex {
    entries: Vec<(u32, u32)>,
    file: IndexFile,
}

impl OffsetIndex {
    /// Loads `path` if its entries are consistent with a segment of `log_size`
    /// bytes; `None` means it must be rebuilt.
    pub fn load(path: &Path, log_size: u64) -> Option<OffsetIndex> {
        let bytes = std::fs::read(path).ok()?;
        if bytes.len() % 8 != 0 {
            return None;
        }
        let entries: Vec<(u32, u32)> = bytes
            .chunks_exact(8)
            .map(|c| {
                (
                    u32::from_be_bytes([c[0], c[1], c[2], c[3]]),
                    u32::from_be_bytes([c[4], c[5], c[6], c[7]]),
                )
            })
            .collect();
        let sane = entries
            .windows(2)
            .all(|w| w[0].0 < w[1].0 && w[0].1 < w[1].1)
            && entries.iter().all(|e| u64::from(e.1) < log_size.max(1));
        if !sane {
            return None;
        }
        let file = IndexFile::open_append(path).ok()?;
        Some(OffsetIndex { entries, file })
    }

    pub fn create(path: &Path, entries: Vec<(u32, u32)>) -> Result<OffsetIndex, LogError> {
        let bytes: Vec<u8> = entries
            .iter()
            .flat_map(|(o, p)| o.to_be_bytes().into_iter().chain(p.to_be_bytes()))
            .collect();
        Ok(OffsetIndex {
            file: IndexFile::create(path, &bytes)?,
            entries,
        })
    }

    pub fn append(&mut self, relative_offset: u32, position: u32) {
        if self
            .entries
            .last()
            .is_some_and(|(o, _)| *o >= relative_offset)
        {
            return;
        }
        self.entries.push((relative_offset, position));
        self.file
            .pending
            .extend_from_slice(&relative_offset.to_be_bytes());
        self.file.pending.extend_from_slice(&position.to_be_bytes());
    }

    /// Position of the last indexed batch starting at or before `relative_offset`.
    pub fn lookup(&self, relative_offset: u32) -> u32 {
        match self.entries.partition_point(|(o, _)| *o <= relative_offset) {
            0 => 0,
            i => self.entries[i - 1].1,
        }
    }

    pub fn len_bytes(&self) -> usize {
        self.entries.len() * 8
    }

    pub fn flush(&mut self, sync: bool) -> Result<(), LogError> {
        self.file.flush(sync)
    }
}

pub struct TimeIndex {
    entries: Vec<(i64, u32)>,
    file: IndexFile,
}

impl TimeIndex {
    pub fn load(path: &Path) -> Option<TimeIndex> {
        let bytes = std::fs::read(path).ok()?;
        if bytes.len() % 12 != 0 {
            return None;
        }
        let entries: Vec<(i64, u32)> = bytes
            .chunks_exact(12)
            .map(|c| {
                let mut ts = [0u8; 8];
                ts.copy_from_slice(&c[..8]);
                (
                    i64::from_be_bytes(ts),
                    u32::from_be_bytes([c[8], c[9], c[10], c[11]]),
                )
            })
            .collect();
        if !entries
            .windows(2)
            .all(|w| w[0].0 < w[1].0 && w[0].1 <= w[1].1)
        {
            return None;
        }
        let file = IndexFile::open_append(path).ok()?;
        Some(TimeIndex { entries, file })
    }

    pub fn create(path: &Path, entries: Vec<(i64, u32)>) -> Result<TimeIndex, LogError> {
        let bytes: Vec<u8> = entries
            .iter()
            .flat_map(|(t, o)| t.to_be_bytes().into_iter().chain(o.to_be_bytes()))
            .collect();
        Ok(TimeIndex {
            file: IndexFile::create(path, &bytes)?,
            entries,
        })
    }

    /// Records that timestamps up to `timestamp` are found from `relative_offset` on;
    /// only a new maximum is indexed, as in Kafka.
    pub fn maybe_append(&mut self, timestamp: i64, relative_offset: u32) {
        if self.entries.last().is_some_and(|(t, _)| *t >= timestamp) {
            return;
        }
        self.entries.push((timestamp, relative_offset));
        self.file
            .pending
            .extend_from_slice(&timestamp.to_be_bytes());
        self.file
            .pending
            .extend_from_slice(&relative_offset.to_be_bytes());
    }

    /// The relative offset from which a search for `timestamp` can start:
    /// the last entry whose timestamp is below it.
    pub fn lookup(&self, timestamp: i64) -> u32 {
        match self.entries.partition_point(|(t, _)| *t < timestamp) {
            0 => 0,
            i => self.entries[i - 1].1,
        }
    }

    pub fn last(&self) -> Option<(i64, u32)> {
        self.entries.last().copied()
    }

    pub fn flush(&mut self, sync: bool) -> Result<(), LogError> {
        self.file.flush(sync)
    }
}
