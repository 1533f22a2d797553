//! The leader epoch cache: the first offset written in each leader epoch,
//! checkpointed to `leader-epoch-checkpoint` in Kafka's text format. It
//! answers OffsetForLeaderEpoch, which lets consumers and followers find
//! where their copy of the log diverged.

use std::io::Write;
use std::path::{Path, PathBuf};

use super::LogError;

const FILE: &str = "leader-epoch-checkpoint";

/// The `(epoch, start offset)` entries of a checkpoint in Kafka's text
/// format (version line `0`, entry count, one `epoch offset` per line), or
/// the 1-based line that does not read.
pub fn parse_checkpoint(text: &str) -> Result<Vec<(i32, i64)>, usize> {
    let mut lines = text.lines();
    if lines.next() != Some("0") {
        return Err(1);
    }
    let count: usize = lines
        .next()
        .and_then(|l| l.trim().parse().ok())
        .ok_or(2_usize)?;
    let mut entries = Vec::with_capacity(count.min(1024));
    for i in 0..count {
        let line = i + 3;
        let mut parts = lines.next().ok_or(line)?.split_whitespace();
        let epoch = parts.next().and_then(|p| p.parse().ok()).ok_or(line)?;
        let offset = parts.next().and_then(|p| p.parse().ok()).ok_or(line)?;
        entries.push((epoch, offset));
    }
    Ok(entries)
}

pub struct LeaderEpochCache {
    path: PathBuf,
    /// (epoch, start offset), both increasing.
    entries: Vec<(i32, i64)>,
}

impl LeaderEpochCache {
    /// Loads the checkpoint; an unreadable one starts empty (it is rebuilt as
    /// batches arrive, and epochs only matter once replicas diverge).
    pub fn load(dir: &Path) -> LeaderEpochCache {
        let path = dir.join(FILE);
        let entries = std::fs::read_to_string(&path)
            .ok()
            .and_then(|text| parse_checkpoint(&text).ok())
            .unwrap_or_default();
        LeaderEpochCache { path, entries }
    }

    pub fn latest_epoch(&self) -> Option<i32> {
        self.entries.last().map(|(e, _)| *e)
    }

    /// Records that `epoch` starts at `start_offset`, if it is a new epoch.
    pub fn assign(&mut self, epoch: i32, start_offset: i64) -> Result<(), LogError> {
        if epoch < 0 || self.latest_epoch().is_some_and(|latest| latest >= epoch) {
            return Ok(());
        }
        self.entries.push((epoch, start_offset));
        self.persist()
    }

    /// Kafka's end offset for `requested`: the largest known epoch at or below
    /// it, and the start offset of the next epoch (or the log end offset).
    /// `None` stands for Kafka's (UNDEFINED_EPOCH, UNDEFINED_EPOCH_OFFSET):
    /// an undefined (negative) or unknown newer epoch, or an empty cache. An
    /// epoch older than every entry gets (itself, the first start offset).
    pub fn end_offset_for(&self, requested: i32, log_end_offset: i64) -> Option<(i32, i64)> {
        if requested < 0 {
            return None;
        }
        let latest = self.latest_epoch()?;
        if requested == latest {
            return Some((latest, log_end_offset));
        }
        let higher = self.entries.partition_point(|(e, _)| *e <= requested);
        let (_, next_start) = self.entries.get(higher)?;
        let floor = higher
            .checked_sub(1)
            .and_then(|i| self.entries.get(i))
            .map_or(requested, |(e, _)| *e);
        Some((floor, *next_start))
    }

    /// Drops epochs that start at or after `end_offset` (the log was cut there).
    pub fn truncate_from_end(&mut self, end_offset: i64) -> Result<(), LogError> {
        let before = self.entries.len();
        self.entries.retain(|(_, start)| *start < end_offset);
        if self.entries.len() != before {
            self.persist()?;
        }
        Ok(())
    }

    /// The log now starts at `start_offset`: epochs wholly before it go, and
    /// the one containing it starts there.
    pub fn truncate_from_start(&mut self, start_offset: i64) -> Result<(), LogError> {
        let keep_from = self
            .entries
            .partition_point(|(_, start)| *start <= start_offset)
            .saturating_sub(1);
        if keep_from == 0 && self.entries.first().is_none_or(|(_, s)| *s >= start_offset) {
            return Ok(());
        }
        self.entries.drain(..keep_from);
        if let Some(first) = self.entries.first_mut() {
            first.1 = first.1.max(start_offset);
        }
        self.persist()
    }

    fn persist(&self) -> Result<(), LogError> {
        let mut text = format!("0\n{}\n", self.entries.len());
        for (epoch, start) in &self.entries {
            text.push_str(&format!("{epoch} {start}\n"));
        }
        write_atomically(&self.path, text.as_bytes())
    }
}

/// Write to a temporary file, fsync, rename over the target: a crash leaves
/// either the old or the new contents, never a mix.
pub fn write_atomically(path: &Path, contents: &[u8]) -> Result<(), LogError> {
    write_renaming(path, contents, true)?;
    // The rename itself is durable only once the directory is synced.
    if let Some(dir) = path.parent() {
        std::fs::File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(LogError::io("sync directory", dir))?;
    }
    Ok(())
}

/// [`write_atomically`] without its fsyncs, for a file whose fsync (and
/// its directory's) is left to a later flush: a crash of the process
/// still leaves the old or the new contents, a power loss before that
/// flush may leave neither.
pub fn write_unsynced(path: &Path, contents: &[u8]) -> Result<(), LogError> {
    write_renaming(path, contents, false)
}

fn write_renaming(path: &Path, contents: &[u8], sync: bool) -> Result<(), LogError> {
    let tmp = path.with_extension("tmp");
    let mut f = std::fs::File::create(&tmp).map_err(LogError::io("create", &tmp))?;
    f.write_all(contents).map_err(LogError::io("write", &tmp))?;
    if sync {
        f.sync_all().map_err(LogError::io("sync", &tmp))?;
    }
    std::fs::rename(&tmp, path).map_err(LogError::io("rename to", path))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn end_offsets_follow_kafka() {
        let dir = tempfile::tempdir().unwrap();
        let mut c = LeaderEpochCache::load(dir.path());
        assert_eq!(c.end_offset_for(0, 10), None);
        c.assign(1, 0).unwrap();
        c.assign(3, 10).unwrap();
        c.assign(2, 5).unwrap(); // not newer than 3: ignored
        assert_eq!(c.end_offset_for(3, 20), Some((3, 20)));
        assert_eq!(c.end_offset_for(2, 20), Some((1, 10)));
        assert_eq!(c.end_offset_for(1, 20), Some((1, 10)));
        assert_eq!(c.end_offset_for(0, 20), Some((0, 0)));
        assert_eq!(c.end_offset_for(4, 20), None);
        assert_eq!(c.end_offset_for(-1, 20), None, "UNDEFINED_EPOCH");
        let reloaded = LeaderEpochCache::load(dir.path());
        assert_eq!(reloaded.entries, vec![(1, 0), (3, 10)]);
        c.truncate_from_start(12).unwrap();
        assert_eq!(c.entries, vec![(3, 12)]);
        c.truncate_from_end(12).unwrap();
        assert!(c.entries.is_empty());
    }

    #[test]
    fn checkpoint_is_kafkas_text_format_and_bad_files_start_empty() {
        let dir = tempfile::tempdir().unwrap();
        let mut c = LeaderEpochCache::load(dir.path());
        c.assign(0, 0).unwrap();
        c.assign(5, 42).unwrap();
        let path = dir.path().join(FILE);
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "0\n2\n0 0\n5 42\n");
        assert!(!path.with_extension("tmp").exists());
        for bad in ["", "1\n1\n0 0\n", "0\n3\n0 0\n", "0\nx\n", "0\n1\n0\n"] {
            std::fs::write(&path, bad).unwrap();
            assert!(
                LeaderEpochCache::load(dir.path()).entries.is_empty(),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn truncation_from_the_start_moves_the_epoch_holding_the_new_start() {
        let dir = tempfile::tempdir().unwrap();
        let mut c = LeaderEpochCache::load(dir.path());
        c.assign(1, 0).unwrap();
        c.assign(2, 10).unwrap();
        c.assign(4, 20).unwrap();
        c.truncate_from_start(5).unwrap();
        assert_eq!(c.entries, vec![(1, 5), (2, 10), (4, 20)]);
        c.truncate_from_start(20).unwrap();
        assert_eq!(c.entries, vec![(4, 20)]);
        c.truncate_from_end(25).unwrap();
        assert_eq!(c.entries, vec![(4, 20)]);
        assert_eq!(LeaderEpochCache::load(dir.path()).entries, vec![(4, 20)]);
    }
}
