//! Kafka's `partition.metadata` (its `PartitionMetadataFile`): the id of
//! the topic a partition directory belongs to, written when the replica is
//! created. Directories are named by topic name, and a topic deleted and
//! re-created under the same name while a broker was down would otherwise
//! leave that broker serving the old topic's records as the new one's.
//!
//! The format is Kafka's version 0: two lines, `version: 0` and
//! `topic_id: <id>`, the id in Kafka's text for a Uuid (URL-safe base64
//! without padding). The file is replaced whole (temporary file, rename),
//! so a crash of the process leaves no half-written id. In a log without
//! records it is written without an fsync, as Kafka's UnifiedLog records it
//! and flushes it later: the log makes it durable before its first records
//! (`Log::write_topic_id`), so what a power loss can leave of it (no file,
//! or an empty one) is only ever found beside no records, and the metadata
//! image, durable in the controller's log before the partition existed,
//! names the id again.

use std::path::{Path, PathBuf};

use base64::Engine;
use uuid::Uuid;

use super::epoch::{write_atomically, write_unsynced as write_unsynced_file};
use super::LogError;

pub const PARTITION_METADATA_FILE: &str = "partition.metadata";

const VERSION: i32 = 0;

#[derive(Debug, thiserror::Error)]
pub enum PartitionMetadataError {
    #[error("cannot read {}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("malformed partition metadata file {}: {reason}", path.display())]
    Malformed { path: PathBuf, reason: String },
}

/// The topic id recorded in partition directory `dir`; None when the file
/// is missing (a new directory, or one an older Gregor wrote) or empty (a
/// power loss before a new log's unsynced file reached the disk).
pub fn read(dir: &Path) -> Result<Option<Uuid>, PartitionMetadataError> {
    let path = dir.join(PARTITION_METADATA_FILE);
    let text = match std::fs::read_to_string(&path) {
        Ok(text) if text.is_empty() => return Ok(None),
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => return Err(PartitionMetadataError::Io { path, source }),
    };
    parse(&text)
        .map(Some)
        .map_err(|reason| PartitionMetadataError::Malformed { path, reason })
}

/// Records `topic_id` in partition directory `dir`, durably.
pub fn write(dir: &Path, topic_id: Uuid) -> Result<(), LogError> {
    write_atomically(
        &dir.join(PARTITION_METADATA_FILE),
        encode(topic_id).as_bytes(),
    )
}

/// Records `topic_id` in partition directory `dir` without an fsync of
/// the file or the directory; the file's path, for the caller to sync.
pub(super) fn write_unsynced(dir: &Path, topic_id: Uuid) -> Result<PathBuf, LogError> {
    let path = dir.join(PARTITION_METADATA_FILE);
    write_unsynced_file(&path, encode(topic_id).as_bytes())?;
    Ok(path)
}

fn encode(topic_id: Uuid) -> String {
    format!(
        "version: {VERSION}\ntopic_id: {}\n",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(topic_id.as_bytes())
    )
}

fn parse(text: &str) -> Result<Uuid, String> {
    let mut lines = text.lines();
    let mut field = |name: &str| -> Result<&str, String> {
        let line = lines.next().ok_or_else(|| format!("no `{name}` line"))?;
        let (key, value) = line
            .split_once(": ")
            .ok_or_else(|| format!("line `{line}` is not `{name}: <value>`"))?;
        if key != name {
            return Err(format!("expected `{name}`, found `{key}`"));
        }
        Ok(value.trim())
    };
    let version = field("version")?;
    if version.parse::<i32>() != Ok(VERSION) {
        return Err(format!("unsupported version {version}"));
    }
    let id = field("topic_id")?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(id)
        .map_err(|e| format!("topic id `{id}` is not base64: {e}"))?;
    let topic_id =
        Uuid::from_slice(&bytes).map_err(|_| format!("topic id `{id}` is not 16 bytes"))?;
    if lines.any(|l| !l.trim().is_empty()) {
        return Err("text after the topic id".into());
    }
    Ok(topic_id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn written_ids_read_back_in_kafkas_format() {
        let dir = tempfile::tempdir().unwrap();
        assert!(read(dir.path()).unwrap().is_none(), "no file yet");
        std::fs::write(dir.path().join(PARTITION_METADATA_FILE), "").unwrap();
        assert!(
            read(dir.path()).unwrap().is_none(),
            "an empty file, as a power loss leaves an unsynced one, is no id"
        );
        let id = Uuid::from_u128(0x0123_4567_89ab_cdef_0123_4567_89ab_cdef);
        write(dir.path(), id).unwrap();
        let text = std::fs::read_to_string(dir.path().join(PARTITION_METADATA_FILE)).unwrap();
        // Kafka's Uuid text for these bytes.
        assert_eq!(text, "version: 0\ntopic_id: ASNFZ4mrze8BI0VniavN7w\n");
        assert_eq!(read(dir.path()).unwrap(), Some(id));
    }

    #[test]
    fn a_bad_file_is_a_clear_error() {
        for (text, reason) in [
            (
                "version: 1\ntopic_id: ASNFZ4mrze8BI0VniavN7w\n",
                "unsupported version 1",
            ),
            ("version: 0\n", "no `topic_id` line"),
            (
                "version: 0\nid: ASNFZ4mrze8BI0VniavN7w\n",
                "expected `topic_id`",
            ),
            ("version: 0\ntopic_id: not*base64\n", "is not base64"),
            ("version: 0\ntopic_id: AAAA\n", "is not 16 bytes"),
            (
                "version: 0\ntopic_id: ASNFZ4mrze8BI0VniavN7w\nmore\n",
                "text after",
            ),
        ] {
            let dir = tempfile::tempdir().unwrap();
            std::fs::write(dir.path().join(PARTITION_METADATA_FILE), text).unwrap();
            let e = read(dir.path()).unwrap_err().to_string();
            assert!(e.contains(reason), "{text:?}: {e}");
            assert!(e.contains(PARTITION_METADATA_FILE), "{e} names the file");
        }
    }
}
