//! One segment's aborted transactions, Kafka's `.txnindex`: an entry per
//! abort marker in the segment, naming the producer and the offsets its
//! transaction spanned in this partition, so that a read_committed Fetch can
//! tell clients which records to drop without decoding the log.
//!
//! On disk each entry is Kafka's 34 bytes: version (0), producer id, first
//! offset, last offset (the marker's) and the last stable offset after the
//! abort. The file is appended to without fsync and synced with its segment;
//! what a crash loses is re-added when the log's tail is replayed at open.
//! Aborts are rare: the file is opened for each write rather than held.

use std::fs::OpenOptions;
use std::io::Write;
use std::path::{Path, PathBuf};

use bytes::{Buf, BufMut};

use super::LogError;

const VERSION: i16 = 0;
const ENTRY_LEN: usize = 34;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AbortedTxn {
    pub producer_id: i64,
    pub first_offset: i64,
    pub last_offset: i64,
    pub last_stable_offset: i64,
}

impl AbortedTxn {
    fn encode(&self, out: &mut Vec<u8>) {
        out.put_i16(VERSION);
        out.put_i64(self.producer_id);
        out.put_i64(self.first_offset);
        out.put_i64(self.last_offset);
        out.put_i64(self.last_stable_offset);
    }

    fn decode(mut b: &[u8]) -> Option<AbortedTxn> {
        if b.len() < ENTRY_LEN || b.get_i16() != VERSION {
            return None;
        }
        Some(AbortedTxn {
            producer_id: b.get_i64(),
            first_offset: b.get_i64(),
            last_offset: b.get_i64(),
            last_stable_offset: b.get_i64(),
        })
    }
}

pub struct TransactionIndex {
    path: PathBuf,
    entries: Vec<AbortedTxn>,
    /// Appended to since the last fsync (segments without aborts have no file).
    unsynced: bool,
}

impl TransactionIndex {
    /// A new, empty index; a file left at `path` by an earlier segment goes.
    pub fn create(path: &Path) -> Result<TransactionIndex, LogError> {
        remove(path)?;
        Ok(TransactionIndex {
            path: path.to_path_buf(),
            entries: Vec::new(),
            unsynced: false,
        })
    }

    /// The index of a segment without an index file: a directory listing
    /// said there is none.
    pub fn absent(path: &Path) -> TransactionIndex {
        TransactionIndex {
            path: path.to_path_buf(),
            entries: Vec::new(),
            unsynced: false,
        }
    }

    /// Loads the index at `path` if there is one, ignoring a torn last entry.
    pub fn open(path: &Path) -> Result<TransactionIndex, LogError> {
        let bytes = match std::fs::read(path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
            Err(e) => return Err(LogError::io("read transaction index", path)(e)),
        };
        let entries = bytes
            .chunks_exact(ENTRY_LEN)
            .map_while(AbortedTxn::decode)
            .collect::<Vec<_>>();
        let mut index = TransactionIndex {
            path: path.to_path_buf(),
            entries,
            unsynced: false,
        };
        if index.entries.len() * ENTRY_LEN != bytes.len() {
            tracing::warn!(path = %path.display(), "cutting a torn transaction index");
            index.rewrite()?;
        }
        Ok(index)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn entries(&self) -> &[AbortedTxn] {
        &self.entries
    }

    pub fn append(&mut self, txn: AbortedTxn) -> Result<(), LogError> {
        let mut bytes = Vec::with_capacity(ENTRY_LEN);
        txn.encode(&mut bytes);
        OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.path)
            .and_then(|mut file| file.write_all(&bytes))
            .map_err(LogError::io("append to transaction index", &self.path))?;
        self.entries.push(txn);
        self.unsynced = true;
        Ok(())
    }

    /// Forgets the transactions whose abort marker is at or after `offset`.
    pub fn truncate_to(&mut self, offset: i64) -> Result<(), LogError> {
        let before = self.entries.len();
        self.entries.retain(|t| t.last_offset < offset);
        if self.entries.len() != before {
            self.rewrite()?;
        }
        Ok(())
    }

    fn rewrite(&mut self) -> Result<(), LogError> {
        if self.entries.is_empty() {
            remove(&self.path)?;
        } else {
            let mut bytes = Vec::with_capacity(self.entries.len() * ENTRY_LEN);
            for t in &self.entries {
                t.encode(&mut bytes);
            }
            super::epoch::write_atomically(&self.path, &bytes)?;
        }
        self.unsynced = false;
        Ok(())
    }

    pub fn flush(&mut self) -> Result<(), LogError> {
        if self.unsynced {
            OpenOptions::new()
                .append(true)
                .open(&self.path)
                .and_then(|file| file.sync_data())
                .map_err(LogError::io("sync", &self.path))?;
            self.unsynced = false;
        }
        Ok(())
    }

    pub fn delete(self) -> Result<(), LogError> {
        remove(&self.path)
    }
}

fn remove(path: &Path) -> Result<(), LogError> {
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            Err(LogError::io("remove transaction index", path)(e))
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn txn(producer_id: i64, first_offset: i64, last_offset: i64) -> AbortedTxn {
        AbortedTxn {
            producer_id,
            first_offset,
            last_offset,
            last_stable_offset: last_offset + 1,
        }
    }

    #[test]
    fn entries_survive_reopen_and_truncation_rewrites_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("00000000000000000000.txnindex");
        let mut index = TransactionIndex::create(&path).unwrap();
        assert!(!path.exists(), "no file until something is aborted");
        for (i, t) in [txn(7, 0, 4), txn(8, 2, 9), txn(7, 10, 12)]
            .into_iter()
            .enumerate()
        {
            index.append(t).unwrap();
            assert_eq!(index.entries().len(), i + 1);
        }
        index.flush().unwrap();
        assert_eq!(std::fs::metadata(&path).unwrap().len(), 3 * 34);
        let mut reopened = TransactionIndex::open(&path).unwrap();
        assert_eq!(reopened.entries(), index.entries());
        reopened.truncate_to(9).unwrap();
        assert_eq!(reopened.entries(), &[txn(7, 0, 4)]);
        assert_eq!(
            TransactionIndex::open(&path).unwrap().entries(),
            &[txn(7, 0, 4)]
        );
        reopened.truncate_to(0).unwrap();
        assert!(!path.exists());
    }

    #[test]
    fn a_torn_last_entry_is_cut() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("00000000000000000000.txnindex");
        let mut bytes = Vec::new();
        txn(1, 0, 3).encode(&mut bytes);
        txn(2, 4, 6).encode(&mut bytes);
        bytes.truncate(ENTRY_LEN + 10);
        std::fs::write(&path, &bytes).unwrap();
        let index = TransactionIndex::open(&path).unwrap();
        assert_eq!(index.entries(), &[txn(1, 0, 3)]);
        assert_eq!(std::fs::metadata(&path).unwrap().len(), ENTRY_LEN as u64);
    }
}
