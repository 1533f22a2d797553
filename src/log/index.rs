//! Sparse indexes of one segment, kept in memory and mirrored to files:
//! the offset index maps relative offsets to file positions (8-byte entries),
//! the time index maps timestamps to relative offsets (12-byte entries).
//! A missing or inconsistent file is never trusted: the segment rebuilds it.
//!
//! The files are not held open: entries not yet written are kept and
//! written (opening the file for that) when the segment flushes them, so
//! an index costs no file descriptor, and rebuilding one needs no disk
//! space until it is written.

use std::fs::OpenOptions;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use super::LogError;

/// The file behind an index: how much of it holds entries, and the
/// entries still to be written after that.
struct IndexFile {
    path: PathBuf,
    written: u64,
    pending: Vec<u8>,
    /// Written since the last fsync.
    unsynced: bool,
}

impl IndexFile {
    /// Empties the file at `path`; `contents` are written at the next flush.
    fn create(path: &Path, contents: Vec<u8>) -> Result<IndexFile, LogError> {
        OpenOptions::new()
            .create(true)
            .write(true)
            .truncate(true)
            .open(path)
            .map_err(LogError::io("create index", path))?;
        Ok(IndexFile {
            path: path.to_path_buf(),
            written: 0,
            pending: contents,
            unsynced: false,
        })
    }

    /// The file at `path` as it is, `len` bytes long.
    fn existing(path: &Path, len: usize) -> IndexFile {
        IndexFile {
            path: path.to_path_buf(),
            written: len as u64,
            pending: Vec::new(),
            unsynced: false,
        }
    }

    fn has_pending(&self) -> bool {
        !self.pending.is_empty()
    }

    fn flush(&mut self, sync: bool) -> Result<(), LogError> {
        if self.pending.is_empty() && !(sync && self.unsynced) {
            return Ok(());
        }
        let file = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(false)
            .open(&self.path)
            .map_err(LogError::io("open index", &self.path))?;
        if !self.pending.is_empty() {
            file.write_all_at(&self.pending, self.written)
                .map_err(LogError::io("write index", &self.path))?;
            self.written += self.pending.len() as u64;
            self.pending.clear();
            self.unsynced = true;
        }
        if sync {
            file.sync_data()
                .map_err(LogError::io("sync index", &self.path))?;
            self.unsynced = false;
        }
        Ok(())
    }
}

pub const OFFSET_ENTRY_LEN: usize = 8;
pub const TIME_ENTRY_LEN: usize = 12;

/// The whole `(relative offset, position)` entries of an offset index file's
/// bytes; a partial entry at the end is left out.
pub fn offset_entries(bytes: &[u8]) -> Vec<(u32, u32)> {
    bytes
        .chunks_exact(OFFSET_ENTRY_LEN)
        .map(|c| {
            let (offset, position) = c.split_at(4);
            (
                u32::from_be_bytes(offset.try_into().unwrap_or_default()),
                u32::from_be_bytes(position.try_into().unwrap_or_default()),
            )
        })
        .collect()
}

/// The whole `(timestamp, relative offset)` entries of a time index file's
/// bytes; a partial entry at the end is left out.
pub fn time_entries(bytes: &[u8]) -> Vec<(i64, u32)> {
    bytes
        .chunks_exact(TIME_ENTRY_LEN)
        .map(|c| {
            let (timestamp, offset) = c.split_at(8);
            (
                i64::from_be_bytes(timestamp.try_into().unwrap_or_default()),
                u32::from_be_bytes(offset.try_into().unwrap_or_default()),
            )
        })
        .collect()
}

/// `(relative offset, file position)` per indexed batch, both increasing.
pub struct OffsetIndex {
    entries: Vec<(u32, u32)>,
    file: IndexFile,
}

impl OffsetIndex {
    /// Loads `path` if its entries are consistent with a segment of `log_size`
    /// bytes; `None` means it must be rebuilt.
    pub fn load(path: &Path, log_size: u64) -> Option<OffsetIndex> {
        let bytes = std::fs::read(path).ok()?;
        if bytes.len() % OFFSET_ENTRY_LEN != 0 {
            return None;
        }
        let entries = offset_entries(&bytes);
        let sane = entries
            .windows(2)
            .all(|w| w[0].0 < w[1].0 && w[0].1 < w[1].1)
            && entries.iter().all(|e| u64::from(e.1) < log_size.max(1));
        if !sane {
            return None;
        }
        let file = IndexFile::existing(path, bytes.len());
        Some(OffsetIndex { entries, file })
    }

    pub fn create(path: &Path, entries: Vec<(u32, u32)>) -> Result<OffsetIndex, LogError> {
        let bytes: Vec<u8> = entries
            .iter()
            .flat_map(|(o, p)| o.to_be_bytes().into_iter().chain(p.to_be_bytes()))
            .collect();
        Ok(OffsetIndex {
            file: IndexFile::create(path, bytes)?,
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
        let i = self.entries.partition_point(|(o, _)| *o <= relative_offset);
        i.checked_sub(1)
            .and_then(|i| self.entries.get(i))
            .map_or(0, |(_, position)| *position)
    }

    pub fn last(&self) -> Option<(u32, u32)> {
        self.entries.last().copied()
    }

    pub fn len_bytes(&self) -> usize {
        self.entries.len() * 8
    }

    /// Whether entries wait to be written to the file.
    pub fn has_pending(&self) -> bool {
        self.file.has_pending()
    }

    pub fn flush(&mut self, sync: bool) -> Result<(), LogError> {
        self.file.flush(sync)
    }
}

/// `(max timestamp so far, relative offset of the batch that raised it)`.
pub struct TimeIndex {
    entries: Vec<(i64, u32)>,
    file: IndexFile,
}

impl TimeIndex {
    pub fn load(path: &Path) -> Option<TimeIndex> {
        let bytes = std::fs::read(path).ok()?;
        if bytes.len() % TIME_ENTRY_LEN != 0 {
            return None;
        }
        let entries = time_entries(&bytes);
        if !entries
            .windows(2)
            .all(|w| w[0].0 < w[1].0 && w[0].1 <= w[1].1)
        {
            return None;
        }
        let file = IndexFile::existing(path, bytes.len());
        Some(TimeIndex { entries, file })
    }

    pub fn create(path: &Path, entries: Vec<(i64, u32)>) -> Result<TimeIndex, LogError> {
        let bytes: Vec<u8> = entries
            .iter()
            .flat_map(|(t, o)| t.to_be_bytes().into_iter().chain(o.to_be_bytes()))
            .collect();
        Ok(TimeIndex {
            file: IndexFile::create(path, bytes)?,
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
    /// the last entry whose timestamp is below it (every batch before that
    /// entry's batch has smaller timestamps still).
    pub fn lookup(&self, timestamp: i64) -> u32 {
        let i = self.entries.partition_point(|(t, _)| *t < timestamp);
        i.checked_sub(1)
            .and_then(|i| self.entries.get(i))
            .map_or(0, |(_, relative)| *relative)
    }

    pub fn last(&self) -> Option<(i64, u32)> {
        self.entries.last().copied()
    }

    pub fn len_bytes(&self) -> usize {
        self.entries.len() * 12
    }

    /// Whether entries wait to be written to the file.
    pub fn has_pending(&self) -> bool {
        self.file.has_pending()
    }

    pub fn flush(&mut self, sync: bool) -> Result<(), LogError> {
        self.file.flush(sync)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offset_index_finds_the_floor_entry_and_survives_reload() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("0.index");
        let mut index = OffsetIndex::create(&path, Vec::new()).unwrap();
        assert_eq!(index.lookup(5), 0);
        index.append(0, 0);
        index.append(10, 400);
        index.append(10, 999); // not increasing: ignored
        index.append(25, 900);
        assert_eq!(index.lookup(0), 0);
        assert_eq!(index.lookup(9), 0);
        assert_eq!(index.lookup(10), 400);
        assert_eq!(index.lookup(24), 400);
        assert_eq!(index.lookup(u32::MAX), 900);
        index.flush(true).unwrap();
        let reloaded = OffsetIndex::load(&path, 1000).unwrap();
        assert_eq!(reloaded.entries, vec![(0, 0), (10, 400), (25, 900)]);
        assert!(
            OffsetIndex::load(&path, 500).is_none(),
            "positions past the log's end are not trusted"
        );
    }

    #[test]
    fn corrupt_index_files_are_refused_not_trusted() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("0.index");
        assert!(OffsetIndex::load(&path, 100).is_none(), "missing");
        std::fs::write(&path, [1, 2, 3]).unwrap();
        assert!(OffsetIndex::load(&path, 100).is_none(), "short");
        let mut unordered = Vec::new();
        for (o, p) in [(5u32, 50u32), (2, 60)] {
            unordered.extend_from_slice(&o.to_be_bytes());
            unordered.extend_from_slice(&p.to_be_bytes());
        }
        std::fs::write(&path, &unordered).unwrap();
        assert!(OffsetIndex::load(&path, 100).is_none(), "unordered");

        let path = dir.path().join("0.timeindex");
        std::fs::write(&path, [0u8; 13]).unwrap();
        assert!(TimeIndex::load(&path).is_none(), "short");
        std::fs::write(&path, [0u8; 24]).unwrap();
        assert!(
            TimeIndex::load(&path).is_none(),
            "timestamps not increasing"
        );
    }

    #[test]
    fn time_index_keeps_only_new_maxima() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("0.timeindex");
        let mut index = TimeIndex::create(&path, Vec::new()).unwrap();
        index.maybe_append(100, 0);
        index.maybe_append(50, 3); // older timestamp: not indexed
        index.maybe_append(200, 5);
        assert_eq!(index.last(), Some((200, 5)));
        assert_eq!(index.lookup(100), 0);
        assert_eq!(index.lookup(150), 0);
        assert_eq!(index.lookup(201), 5);
        index.flush(true).unwrap();
        assert_eq!(
            TimeIndex::load(&path).unwrap().entries,
            vec![(100, 0), (200, 5)]
        );
    }
}
