//! Kafka's offset checkpoint files, one of each per log directory:
//! `replication-offset-checkpoint` (every partition's high watermark) and
//! `recovery-point-offset-checkpoint` (how far each log was fsynced, so
//! recovery after a crash checks only what follows).
//!
//! The format is Kafka's (its `CheckpointFile` at version 0): a line with
//! the version, a line with the entry count, then one `topic partition
//! offset` line per entry. A file is replaced whole (temporary file, fsync,
//! rename, fsync of the directory), so a crash leaves the old or the new
//! one. A file that cannot be read or parsed is treated as empty, with a
//! warning: the broker starts, with high watermarks at log start offsets
//! and a full recovery of the active segments, rather than refusing to.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::path::{Path, PathBuf};

use parking_lot::Mutex;

use super::epoch::write_atomically;
use super::LogError;
use crate::topic_partition::TopicPartition;

pub const REPLICATION_OFFSET_CHECKPOINT: &str = "replication-offset-checkpoint";
pub const RECOVERY_POINT_OFFSET_CHECKPOINT: &str = "recovery-point-offset-checkpoint";

const VERSION: i32 = 0;

/// Offsets by topic, then partition: a topic's entries are found by its
/// name as a `&str`, so a pass over every partition allocates no key.
pub type Offsets = BTreeMap<String, BTreeMap<i32, i64>>;

/// The partition a checkpoint entry is for: a [`TopicPartition`], or its
/// topic by `&str` with its index, so that a pass over every open partition
/// copies only the topics new to the file.
pub trait EntryKey {
    fn topic(&self) -> &str;
    fn partition(&self) -> i32;
    fn into_topic(self) -> String;
}

impl EntryKey for TopicPartition {
    fn topic(&self) -> &str {
        &self.topic
    }

    fn partition(&self) -> i32 {
        self.partition
    }

    fn into_topic(self) -> String {
        self.topic
    }
}

impl EntryKey for (&str, i32) {
    fn topic(&self) -> &str {
        self.0
    }

    fn partition(&self) -> i32 {
        self.1
    }

    fn into_topic(self) -> String {
        self.0.to_string()
    }
}

/// One checkpoint file and what it holds. Every change rewrites the file
/// whole, under the lock, so two writers never interleave and a later
/// write never carries an older view of an entry another writer changed.
pub struct OffsetCheckpoint {
    path: PathBuf,
    state: Mutex<State>,
}

struct State {
    entries: Offsets,
    /// A write failed: the file lags the entries until one succeeds.
    unwritten: bool,
}

impl State {
    fn write(&mut self, path: &Path) -> Result<(), LogError> {
        let written = write_atomically(path, encode(&self.entries).as_bytes());
        self.unwritten = written.is_err();
        written
    }
}

impl OffsetCheckpoint {
    /// The checkpoint `name` in `dir`, with the entries the file holds (none
    /// when it is missing, unreadable or corrupt).
    pub fn load(dir: &Path, name: &str) -> OffsetCheckpoint {
        let path = dir.join(name);
        let entries = match std::fs::read_to_string(&path) {
            Ok(text) => parse(&text).unwrap_or_else(|why| {
                tracing::warn!(path = %path.display(), reason = %why, "corrupt offset checkpoint file: ignored, as if empty");
                Offsets::new()
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Offsets::new(),
            Err(e) => {
                tracing::warn!(path = %path.display(), error = %e, "cannot read offset checkpoint file: ignored, as if empty");
                Offsets::new()
            }
        };
        OffsetCheckpoint {
            path,
            state: Mutex::new(State {
                entries,
                unwritten: false,
            }),
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn get(&self, topic: &str, partition: i32) -> Option<i64> {
        self.state
            .lock()
            .entries
            .get(topic)
            .and_then(|t| t.get(&partition))
            .copied()
    }

    /// Sets the entries `current` gives (the others, of partitions not open
    /// now, are kept) and writes the file when anything changed. `current`
    /// runs under the file's lock: an offset read before another writer
    /// lowered it (a truncation) can never be written after it. Topics may
    /// be named by `&str`: only a topic new to the file is copied.
    pub fn update<K, I>(&self, current: impl FnOnce() -> I) -> Result<(), LogError>
    where
        K: EntryKey,
        I: IntoIterator<Item = (K, i64)>,
    {
        let mut state = self.state.lock();
        let mut changed = state.unwritten;
        for (key, offset) in current() {
            let partition = key.partition();
            if let Some(held) = state.entries.get_mut(key.topic()) {
                changed |= held.insert(partition, offset) != Some(offset);
            } else {
                let held = BTreeMap::from([(partition, offset)]);
                state.entries.insert(key.into_topic(), held);
                changed = true;
            }
        }
        if changed {
            state.write(&self.path)?;
        }
        Ok(())
    }

    /// Drops a deleted partition's entry, so that a partition created
    /// later under the same name does not inherit it.
    pub fn remove(&self, topic: &str, partition: i32) -> Result<(), LogError> {
        let mut state = self.state.lock();
        let removed = match state.entries.get_mut(topic) {
            Some(held) => {
                let removed = held.remove(&partition).is_some();
                if held.is_empty() {
                    state.entries.remove(topic);
                }
                removed
            }
            None => false,
        };
        if removed || state.unwritten {
            state.write(&self.path)?;
        }
        Ok(())
    }

    /// Keeps only the entries of partitions `hosted` names, as Kafka
    /// writes each checkpoint from the logs it holds: an entry of a
    /// partition deleted while the broker was down would otherwise stay
    /// forever and be inherited by a later topic of that name.
    pub fn retain(&self, hosted: impl Fn(&str, i32) -> bool) -> Result<(), LogError> {
        let mut state = self.state.lock();
        let mut dropped = false;
        state.entries.retain(|topic, held| {
            let before = held.len();
            held.retain(|index, _| hosted(topic, *index));
            dropped |= held.len() < before;
            !held.is_empty()
        });
        if dropped || state.unwritten {
            state.write(&self.path)?;
        }
        Ok(())
    }
}

/// The file's text for `entries`, written straight into one string: a
/// line formatted on its own cost an allocation per partition.
pub fn encode(entries: &Offsets) -> String {
    let count: usize = entries.values().map(BTreeMap::len).sum();
    let mut text = String::with_capacity(16 + count * 32);
    // Writing to a String cannot fail.
    let _ = writeln!(text, "{VERSION}\n{count}");
    for (topic, held) in entries {
        for (partition, offset) in held {
            let _ = writeln!(text, "{topic} {partition} {offset}");
        }
    }
    text
}

/// Parses a checkpoint file as Kafka's reader does: version 0, then as
/// many entries as the count says, no fewer and no more.
pub fn parse(text: &str) -> Result<Offsets, String> {
    let mut lines = text.lines();
    let version = lines.next().ok_or("empty file")?.trim();
    if version.parse::<i32>() != Ok(VERSION) {
        return Err(format!("unrecognised version {version:?}"));
    }
    let count = lines.next().ok_or("no entry count")?.trim();
    let count: usize = count
        .parse()
        .map_err(|_| format!("entry count {count:?} is not a number"))?;
    let mut entries = Offsets::new();
    let mut found = 0usize;
    for line in lines.filter(|l| !l.trim().is_empty()) {
        found += 1;
        let fields: Vec<&str> = line.split_whitespace().collect();
        let [topic, partition, offset] = fields[..] else {
            return Err(format!("malformed entry {line:?}"));
        };
        let (Ok(partition), Ok(offset)) = (partition.parse::<i32>(), offset.parse::<i64>()) else {
            return Err(format!("malformed entry {line:?}"));
        };
        entries
            .entry(topic.to_string())
            .or_default()
            .insert(partition, offset);
    }
    if found != count {
        return Err(format!("expected {count} entries but found {found}"));
    }
    Ok(entries)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn offsets(entries: &[(&str, i32, i64)]) -> Offsets {
        let mut out = Offsets::new();
        for &(t, p, o) in entries {
            out.entry(t.to_string()).or_default().insert(p, o);
        }
        out
    }

    #[test]
    fn kafka_format_roundtrips() {
        let entries = offsets(&[
            ("orders", 0, 42),
            ("orders", 1, 7),
            ("__consumer_offsets", 3, 0),
        ]);
        let text = encode(&entries);
        assert_eq!(
            text,
            "0\n3\n__consumer_offsets 3 0\norders 0 42\norders 1 7\n"
        );
        assert_eq!(parse(&text).unwrap(), entries);
        assert_eq!(encode(&Offsets::new()), "0\n0\n");
        assert_eq!(parse("0\n0\n").unwrap(), Offsets::new());
    }

    #[test]
    fn corrupt_text_is_refused() {
        for bad in [
            "",
            "1\n0\n",
            "zero\n0\n",
            "0\n",
            "0\nmany\n",
            "0\n2\norders 0 1\n",
            "0\n1\norders 0 1\norders 1 2\n",
            "0\n1\norders 0\n",
            "0\n1\norders zero 1\n",
            "0\n1\norders 0 1 extra\n",
            "0\n1\norders 0 \u{0}\n",
        ] {
            assert!(parse(bad).is_err(), "{bad:?} must not parse");
        }
    }

    #[test]
    fn file_is_written_whole_and_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let c = OffsetCheckpoint::load(dir.path(), REPLICATION_OFFSET_CHECKPOINT);
        assert_eq!(c.get("t", 0), None, "a missing file is empty");
        c.update(|| {
            [
                (TopicPartition::new("t", 0), 10),
                (TopicPartition::new("t", 1), 20),
            ]
        })
        .unwrap();
        // A partition not open now keeps its entry; topics may be named
        // by reference, and the file lists them in order.
        c.update(|| [(("t", 0), 11), (("a", 2), 1)]).unwrap();
        let path = dir.path().join(REPLICATION_OFFSET_CHECKPOINT);
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            "0\n3\na 2 1\nt 0 11\nt 1 20\n"
        );
        c.remove("a", 2).unwrap();
        assert!(!path.with_extension("tmp").exists());
        let reloaded = OffsetCheckpoint::load(dir.path(), REPLICATION_OFFSET_CHECKPOINT);
        assert_eq!(
            (reloaded.get("t", 0), reloaded.get("t", 1)),
            (Some(11), Some(20))
        );
        reloaded.remove("t", 1).unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "0\n1\nt 0 11\n");
    }

    #[test]
    fn corrupt_or_unreadable_file_loads_empty() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(RECOVERY_POINT_OFFSET_CHECKPOINT);
        std::fs::write(&path, "0\n5\nt 0 1\n").unwrap();
        let c = OffsetCheckpoint::load(dir.path(), RECOVERY_POINT_OFFSET_CHECKPOINT);
        assert_eq!(c.get("t", 0), None);
        std::fs::write(&path, [0xff, 0xfe, 0x00]).unwrap();
        let c = OffsetCheckpoint::load(dir.path(), RECOVERY_POINT_OFFSET_CHECKPOINT);
        assert_eq!(c.get("t", 0), None);
        // Writing replaces the damaged file.
        c.update(|| [(TopicPartition::new("t", 0), 3)]).unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "0\n1\nt 0 3\n");
        // A directory where the file should be cannot be read.
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join(REPLICATION_OFFSET_CHECKPOINT)).unwrap();
        let c = OffsetCheckpoint::load(dir.path(), REPLICATION_OFFSET_CHECKPOINT);
        assert_eq!(c.get("t", 0), None);
        assert!(c.update(|| [(TopicPartition::new("t", 0), 1)]).is_err());
        // The failed write is retried even though the entries are the same.
        std::fs::remove_dir(dir.path().join(REPLICATION_OFFSET_CHECKPOINT)).unwrap();
        c.update(|| [(TopicPartition::new("t", 0), 1)]).unwrap();
        let path = dir.path().join(REPLICATION_OFFSET_CHECKPOINT);
        assert_eq!(std::fs::read_to_string(path).unwrap(), "0\n1\nt 0 1\n");
    }
}
