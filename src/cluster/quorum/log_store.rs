//! The metadata log on disk, under `<data dir>/__cluster_metadata-0/` as in
//! KRaft: the Raft entries in one append-only file of frames (length,
//! CRC32C, JSON entry), fsynced before an append is reported done; the vote
//! and the committed log id in small files replaced atomically. Opening
//! reads the frames up to the first torn or corrupt one and cuts the file
//! there only when that is a torn tail: nothing valid follows it and it
//! held nothing committed (an append a crash interrupted was never
//! acknowledged). Anything else is damage, and opening refuses, naming the
//! file and byte, without touching it. Truncation and purging (after a
//! snapshot) rewrite the file.

use std::collections::BTreeMap;
use std::fmt::Debug;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::ops::RangeBounds;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use openraft::storage::{LogFlushed, LogState, RaftLogStorage};
use openraft::{LogId, RaftLogReader, StorageError, StorageIOError, Vote};
use parking_lot::Mutex;
use serde::de::DeserializeOwned;
use serde::Serialize;

use super::{Entry, NodeId, TypeConfig};

const LOG_FILE: &str = "log";
const VOTE_FILE: &str = "vote.json";
const COMMITTED_FILE: &str = "committed.json";
const PURGED_FILE: &str = "purged.json";
const FRAME_HEADER: usize = 8;

struct Inner {
    dir: PathBuf,
    file: File,
    entries: BTreeMap<u64, Entry>,
    last_purged: Option<LogId<NodeId>>,
}

/// Cheap to clone: the log reader openraft asks for shares the same log.
#[derive(Clone)]
pub struct LogStore {
    inner: Arc<Mutex<Inner>>,
}

fn io_error(e: impl std::fmt::Display) -> std::io::Error {
    std::io::Error::other(e.to_string())
}

fn frame(entry: &Entry) -> std::io::Result<Vec<u8>> {
    let body = serde_json::to_vec(entry).map_err(io_error)?;
    let mut out = Vec::with_capacity(FRAME_HEADER + body.len());
    out.extend_from_slice(&(body.len() as u32).to_be_bytes());
    out.extend_from_slice(&crc32c::crc32c(&body).to_be_bytes());
    out.extend_from_slice(&body);
    Ok(out)
}

/// The entry framed at byte `at` of `bytes` and where the next frame
/// starts; `Err` says why no whole, valid frame starts there.
fn frame_at(bytes: &[u8], at: usize) -> Result<(Entry, usize), &'static str> {
    let header = bytes
        .get(at..at + FRAME_HEADER)
        .ok_or("a frame header cut short")?;
    let len = u32::from_be_bytes([header[0], header[1], header[2], header[3]]) as usize;
    let crc = u32::from_be_bytes([header[4], header[5], header[6], header[7]]);
    let end = at + FRAME_HEADER + len;
    let body = bytes
        .get(at + FRAME_HEADER..end)
        .ok_or("a frame cut short")?;
    if crc32c::crc32c(body) != crc {
        return Err("a frame whose CRC32C does not match");
    }
    let entry = serde_json::from_slice(body).map_err(|_| "a frame that is not an entry")?;
    Ok((entry, end))
}

/// The entries in `bytes` up to the first frame that is not whole and
/// valid, and where that frame starts and what is wrong with it.
fn read_frames(bytes: &[u8]) -> (Vec<Entry>, Option<(usize, &'static str)>) {
    let mut entries = Vec::new();
    let mut at = 0;
    while at < bytes.len() {
        match frame_at(bytes, at) {
            Ok((entry, next)) => {
                entries.push(entry);
                at = next;
            }
            Err(reason) => return (entries, Some((at, reason))),
        }
    }
    (entries, None)
}

/// Whether what follows the invalid frame at `at` may be cut: a torn tail
/// has no valid frame after it, and held no entry the log had committed
/// (those were fsynced before they counted). `durable` is the last index
/// read whole (or purged). Otherwise, why not.
fn check_torn_tail(
    path: &Path,
    bytes: &[u8],
    at: usize,
    reason: &str,
    durable: Option<u64>,
    committed: Option<u64>,
) -> std::io::Result<()> {
    let damaged = |why: String| {
        std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!(
                "{} is damaged at byte {at} ({reason}), and {why}: only a torn tail may be \
                 cut, so the file is left as it is",
                path.display()
            ),
        )
    };
    if let Some(next) = (at + 1..bytes.len()).find(|&q| frame_at(bytes, q).is_ok()) {
        return Err(damaged(format!("a valid entry follows at byte {next}")));
    }
    match committed {
        Some(c) if durable.is_none_or(|d| c > d) => Err(damaged(format!(
            "entries up to index {c} were committed but only {} are whole",
            durable.map_or("none".to_string(), |d| format!("those up to {d}"))
        ))),
        _ => Ok(()),
    }
}
fn read_json<T: DeserializeOwned>(path: &Path) -> std::io::Result<Option<T>> {
    match std::fs::read(path) {
        Ok(bytes) => serde_json::from_slice(&bytes).map(Some).map_err(io_error),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

/// Replaces `path` with `bytes` so that a crash leaves the old or the new file whole.
fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let tmp = path.with_extension("tmp");
    {
        let mut f = File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
    }
    std::fs::rename(&tmp, path)?;
    if let Some(dir) = path.parent() {
        File::open(dir)?.sync_all()?;
    }
    Ok(())
}

fn write_json<T: Serialize>(path: &Path, value: &T) -> std::io::Result<()> {
    write_atomically(path, &serde_json::to_vec(value).map_err(io_error)?)
}

impl Inner {
    /// Rewrites the log file from the entries kept in memory.
    fn rewrite(&mut self) -> std::io::Result<()> {
        let mut bytes = Vec::new();
        for entry in self.entries.values() {
            bytes.extend_from_slice(&frame(entry)?);
        }
        let path = self.dir.join(LOG_FILE);
        write_atomically(&path, &bytes)?;
        self.file = OpenOptions::new().append(true).open(&path)?;
        Ok(())
    }
}

impl LogStore {
    pub fn open(dir: &Path) -> std::io::Result<LogStore> {
        std::fs::create_dir_all(dir)?;
        let path = dir.join(LOG_FILE);
        let bytes = match std::fs::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
            Err(e) => return Err(e),
        };
        let (entries, invalid) = read_frames(&bytes);
        let last_purged: Option<LogId<NodeId>> = read_json(&dir.join(PURGED_FILE))?;
        if let Some((at, reason)) = invalid {
            let durable = entries
                .last()
                .map(|e| e.log_id.index)
                .or(last_purged.map(|p| p.index));
            let committed = read_json::<Option<LogId<NodeId>>>(&dir.join(COMMITTED_FILE))?
                .flatten()
                .map(|c| c.index);
            check_torn_tail(&path, &bytes, at, reason, durable, committed)?;
        }
        let file = OpenOptions::new().create(true).append(true).open(&path)?;
        if let Some((at, _)) = invalid {
            tracing::warn!(path = %path.display(), valid = at, cut = bytes.len() - at, "cutting a torn metadata log tail");
            file.set_len(at as u64)?;
            file.sync_all()?;
        }
        Ok(LogStore {
            inner: Arc::new(Mutex::new(Inner {
                dir: dir.to_path_buf(),
                file,
                entries: entries.into_iter().map(|e| (e.log_id.index, e)).collect(),
                last_purged,
            })),
        })
    }
}

impl RaftLogReader<TypeConfig> for LogStore {
    async fn try_get_log_entries<RB: RangeBounds<u64> + Clone + Debug + Send>(
        &mut self,
        range: RB,
    ) -> Result<Vec<Entry>, StorageError<NodeId>> {
        Ok(self
            .inner
            .lock()
            .entries
            .range(range)
            .map(|(_, e)| e.clone())
            .collect())
    }
}

impl RaftLogStorage<TypeConfig> for LogStore {
    type LogReader = LogStore;

    async fn get_log_state(&mut self) -> Result<LogState<TypeConfig>, StorageError<NodeId>> {
        let inner = self.inner.lock();
        let last = inner.entries.values().next_back().map(|e| e.log_id);
        Ok(LogState {
            last_purged_log_id: inner.last_purged,
            last_log_id: last.or(inner.last_purged),
        })
    }

    async fn get_log_reader(&mut self) -> Self::LogReader {
        self.clone()
    }

    async fn save_vote(&mut self, vote: &Vote<NodeId>) -> Result<(), StorageError<NodeId>> {
        let dir = self.inner.lock().dir.clone();
        write_json(&dir.join(VOTE_FILE), vote).map_err(|e| StorageIOError::write_vote(&e).into())
    }

    async fn read_vote(&mut self) -> Result<Option<Vote<NodeId>>, StorageError<NodeId>> {
        let dir = self.inner.lock().dir.clone();
        read_json(&dir.join(VOTE_FILE)).map_err(|e| StorageIOError::read_vote(&e).into())
    }

    /// Not synced: it only lets a restart apply committed entries before
    /// hearing from a leader, and a stale one costs nothing but that.
    async fn save_committed(
        &mut self,
        committed: Option<LogId<NodeId>>,
    ) -> Result<(), StorageError<NodeId>> {
        let dir = self.inner.lock().dir.clone();
        let path = dir.join(COMMITTED_FILE);
        let tmp = path.with_extension("tmp");
        serde_json::to_vec(&committed)
            .map_err(io_error)
            .and_then(|bytes| std::fs::write(&tmp, bytes))
            .and_then(|()| std::fs::rename(&tmp, &path))
            .map_err(|e| StorageIOError::write(&e).into())
    }

    async fn read_committed(&mut self) -> Result<Option<LogId<NodeId>>, StorageError<NodeId>> {
        let dir = self.inner.lock().dir.clone();
        read_json::<Option<LogId<NodeId>>>(&dir.join(COMMITTED_FILE))
            .map(Option::flatten)
            .map_err(|e| StorageIOError::read(&e).into())
    }

    async fn append<I>(
        &mut self,
        entries: I,
        callback: LogFlushed<TypeConfig>,
    ) -> Result<(), StorageError<NodeId>>
    where
        I: IntoIterator<Item = Entry> + Send,
        I::IntoIter: Send,
    {
        let written = (|| -> std::io::Result<()> {
            let mut inner = self.inner.lock();
            let mut bytes = Vec::new();
            let mut appended = Vec::new();
            for entry in entries {
                bytes.extend_from_slice(&frame(&entry)?);
                appended.push(entry);
            }
            inner.file.write_all(&bytes)?;
            inner.file.sync_data()?;
            for entry in appended {
                inner.entries.insert(entry.log_id.index, entry);
            }
            Ok(())
        })();
        let result = written
            .as_ref()
            .map(|_| ())
            .map_err(|e| std::io::Error::new(e.kind(), e.to_string()));
        callback.log_io_completed(result);
        written.map_err(|e| StorageIOError::write_logs(&e).into())
    }

    async fn truncate(&mut self, log_id: LogId<NodeId>) -> Result<(), StorageError<NodeId>> {
        let mut inner = self.inner.lock();
        inner.entries.retain(|index, _| *index < log_id.index);
        inner
            .rewrite()
            .map_err(|e| StorageIOError::write_logs(&e).into())
    }

    async fn purge(&mut self, log_id: LogId<NodeId>) -> Result<(), StorageError<NodeId>> {
        let mut inner = self.inner.lock();
        let dir = inner.dir.clone();
        write_json(&dir.join(PURGED_FILE), &log_id).map_err(|e| StorageIOError::write_logs(&e))?;
        inner.last_purged = Some(log_id);
        inner.entries.retain(|index, _| *index > log_id.index);
        inner
            .rewrite()
            .map_err(|e| StorageIOError::write_logs(&e).into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use openraft::{CommittedLeaderId, EntryPayload};

    fn entry(index: u64) -> Entry {
        Entry {
            log_id: LogId::new(CommittedLeaderId::new(1, 1), index),
            payload: EntryPayload::Blank,
        }
    }

    #[test]
    fn frames_survive_reopen_and_a_torn_tail_is_cut() {
        let dir = tempfile::tempdir().unwrap();
        let mut bytes = Vec::new();
        for i in 1..=3 {
            bytes.extend_from_slice(&frame(&entry(i)).unwrap());
        }
        let whole = bytes.len();
        bytes.extend_from_slice(&frame(&entry(4)).unwrap()[..10]);
        std::fs::write(dir.path().join(LOG_FILE), &bytes).unwrap();
        let store = LogStore::open(dir.path()).unwrap();
        let indexes: Vec<u64> = store.inner.lock().entries.keys().copied().collect();
        assert_eq!(indexes, [1, 2, 3]);
        assert_eq!(
            std::fs::metadata(dir.path().join(LOG_FILE)).unwrap().len(),
            whole as u64
        );
    }

    fn three_entries() -> Vec<u8> {
        (1..=3).flat_map(|i| frame(&entry(i)).unwrap()).collect()
    }

    #[test]
    fn damage_followed_by_valid_frames_is_refused_and_left_alone() {
        let dir = tempfile::tempdir().unwrap();
        let mut bytes = three_entries();
        let second = frame(&entry(1)).unwrap().len();
        bytes[second + FRAME_HEADER + 3] ^= 0x55;
        std::fs::write(dir.path().join(LOG_FILE), &bytes).unwrap();
        let refused = LogStore::open(dir.path()).err().expect("damage refused");
        let message = refused.to_string();
        assert!(
            message.contains(&format!("damaged at byte {second}")),
            "{message}"
        );
        assert_eq!(std::fs::read(dir.path().join(LOG_FILE)).unwrap(), bytes);
    }

    #[test]
    fn a_cut_short_committed_entry_is_refused_and_left_alone() {
        let dir = tempfile::tempdir().unwrap();
        let bytes = three_entries();
        let torn = &bytes[..bytes.len() - 3];
        std::fs::write(dir.path().join(LOG_FILE), torn).unwrap();
        let committed = Some(LogId::new(CommittedLeaderId::new(1, 1), 3));
        write_json(&dir.path().join(COMMITTED_FILE), &committed).unwrap();
        let refused = LogStore::open(dir.path())
            .err()
            .expect("committed entry not cut");
        assert!(
            refused.to_string().contains("index 3 were committed"),
            "{refused}"
        );
        assert_eq!(std::fs::read(dir.path().join(LOG_FILE)).unwrap(), torn);
    }
}
