//! Idempotent producers' state in one partition, as Kafka's
//! `ProducerStateManager` keeps it: per producer id, the epoch and the
//! sequence numbers and offsets of its last five batches. A retried batch is
//! recognised and answered with its original offsets instead of being
//! written twice; a gap in the sequence is OUT_OF_ORDER_SEQUENCE_NUMBER and
//! an older epoch INVALID_PRODUCER_EPOCH.
//!
//! The state is rebuilt from batch headers, which carry producer id, epoch
//! and sequence. So that start-up does not rescan the whole log, a snapshot
//! (`<20-digit offset>.snapshot`, the state as of that offset) is written
//! when a segment is rolled and at a clean shutdown; opening loads the
//! newest snapshot at or below the log end and replays the batches after it.

use std::collections::{HashMap, VecDeque};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::batch::BatchHeader;
use super::control::{CONTROL_BIT, TRANSACTIONAL_BIT};
use super::epoch::{write_atomically, write_unsynced};
use super::LogError;

/// How many batches per producer a retry is matched against: the most a
/// producer may have in flight (max.in.flight.requests.per.connection).
const BATCHES_RETAINED: usize = 5;
const SNAPSHOT_SUFFIX: &str = ".snapshot";
/// Snapshots kept besides the newest, so that a truncation below it still
/// finds one to start from.
const SNAPSHOTS_KEPT: usize = 2;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct BatchMetadata {
    pub first_seq: i32,
    pub last_seq: i32,
    pub first_offset: i64,
    pub last_offset: i64,
    pub max_timestamp: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct ProducerEntry {
    epoch: i16,
    batches: VecDeque<BatchMetadata>,
    /// Broker time of the last write, for producer.id.expiration.ms.
    last_write_ms: i64,
}

impl ProducerEntry {
    fn last_seq(&self) -> Option<i32> {
        self.batches.back().map(|b| b.last_seq)
    }

    fn push(&mut self, batch: BatchMetadata) {
        if self.batches.len() == BATCHES_RETAINED {
            self.batches.pop_front();
        }
        self.batches.push_back(batch);
    }
}

/// One producer as DescribeProducers shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ActiveProducer {
    pub producer_id: i64,
    pub epoch: i16,
    /// -1 when none of its batches is retained (only markers written).
    pub last_sequence: i32,
    pub last_timestamp: i64,
    /// The first offset of its open transaction here, if one is open.
    pub current_txn_start_offset: Option<i64>,
}

/// One producer of a state snapshot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SnapshotProducer {
    pub producer_id: i64,
    pub producer_epoch: i16,
    pub last_write_ms: i64,
    /// The first offset of its open transaction, if one was open.
    pub current_txn_first_offset: Option<i64>,
    /// Its last retained batches, oldest first.
    pub batches: Vec<BatchMetadata>,
}

/// What to do with an incoming batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admission {
    /// Not from an idempotent producer, or next in its sequence.
    Append,
    /// Already written: answer with where it went.
    Duplicate(BatchMetadata),
}

/// The last sequence number of a batch, wrapping as Kafka's do.
fn last_seq_of(h: &BatchHeader) -> i32 {
    let last = i64::from(h.base_sequence) + i64::from(h.last_offset_delta);
    if last > i64::from(i32::MAX) {
        (last - i64::from(i32::MAX) - 1) as i32
    } else {
        last as i32
    }
}

fn in_sequence(last_seq: i32, next_seq: i32) -> bool {
    i64::from(next_seq) == i64::from(last_seq) + 1 || (next_seq == 0 && last_seq == i32::MAX)
}

fn is_idempotent(h: &BatchHeader) -> bool {
    h.producer_id >= 0 && h.base_sequence >= 0
}

fn is_transactional(h: &BatchHeader) -> bool {
    h.producer_id >= 0 && h.attributes & TRANSACTIONAL_BIT != 0
}

#[derive(Debug, Default, Serialize, Deserialize)]
pub struct ProducerStateManager {
    producers: HashMap<i64, ProducerEntry>,
    /// Open transactions in this partition: producer id to the offset of
    /// its transaction's first batch. The smallest is the first unstable
    /// offset, which bounds the last stable offset.
    #[serde(default)]
    transactions: HashMap<i64, i64>,
}

/// Changes staged for one append, applied only once the append succeeded.
#[derive(Default)]
pub struct StagedProducers {
    entries: HashMap<i64, ProducerEntry>,
    transactions: HashMap<i64, i64>,
}

impl ProducerStateManager {
    fn entry(&self, staged: &StagedProducers, producer_id: i64) -> Option<ProducerEntry> {
        staged
            .entries
            .get(&producer_id)
            .or_else(|| self.producers.get(&producer_id))
            .cloned()
    }

    /// Checks one batch of an append (with the offsets it would get) against
    /// the state plus what earlier batches of the same append staged.
    pub fn admit(
        &self,
        staged: &mut StagedProducers,
        h: &BatchHeader,
        now_ms: i64,
    ) -> Result<Admission, LogError> {
        if is_transactional(h)
            && !self.transactions.contains_key(&h.producer_id)
            && !staged.transactions.contains_key(&h.producer_id)
        {
            staged.transactions.insert(h.producer_id, h.base_offset);
        }
        if !is_idempotent(h) {
            // A coordinator's transactional write (offsets a transaction
            // commits) has no sequence, but a fenced epoch still may not write.
            if is_transactional(h) {
                self.check_marker(h.producer_id, h.producer_epoch)?;
            }
            return Ok(Admission::Append);
        }
        let current = self.entry(staged, h.producer_id);
        if let Some(entry) = &current {
            if h.producer_epoch == entry.epoch {
                let last_seq = last_seq_of(h);
                if let Some(original) = entry
                    .batches
                    .iter()
                    .find(|b| b.first_seq == h.base_sequence && b.last_seq == last_seq)
                {
                    return Ok(Admission::Duplicate(*original));
                }
            }
            if h.producer_epoch < entry.epoch {
                return Err(LogError::InvalidProducerEpoch {
                    producer_id: h.producer_id,
                    epoch: h.producer_epoch,
                    current: entry.epoch,
                });
            }
            let expected = if h.producer_epoch > entry.epoch {
                // A new epoch starts its sequence again at 0.
                (h.base_sequence != 0).then_some(0)
            } else {
                entry
                    .last_seq()
                    .filter(|last| !in_sequence(*last, h.base_sequence))
                    .map(|last| last.wrapping_add(1))
            };
            if let Some(expected) = expected {
                return Err(LogError::OutOfOrderSequence {
                    producer_id: h.producer_id,
                    sequence: h.base_sequence,
                    expected,
                });
            }
        }
        // A producer this partition does not know (new, expired, or whose
        // records were all deleted) may start at any sequence, as in Kafka.
        let mut entry = current
            .filter(|e| e.epoch == h.producer_epoch)
            .unwrap_or(ProducerEntry {
                epoch: h.producer_epoch,
                batches: VecDeque::new(),
                last_write_ms: now_ms,
            });
        entry.push(metadata(h));
        entry.last_write_ms = now_ms;
        staged.entries.insert(h.producer_id, entry);
        Ok(Admission::Append)
    }

    /// Makes what an append staged part of the state.
    pub fn commit(&mut self, staged: StagedProducers) {
        self.producers.extend(staged.entries);
        self.transactions.extend(staged.transactions);
    }

    /// Refuses a transaction marker from an epoch older than the producer's.
    pub fn check_marker(&self, producer_id: i64, producer_epoch: i16) -> Result<(), LogError> {
        match self.producers.get(&producer_id) {
            Some(entry) if producer_epoch < entry.epoch => Err(LogError::InvalidProducerEpoch {
                producer_id,
                epoch: producer_epoch,
                current: entry.epoch,
            }),
            _ => Ok(()),
        }
    }

    /// Ends the producer's transaction at a marker written with
    /// `producer_epoch` and returns the offset its transaction started at
    /// in this partition, if it wrote here. A marker from a bumped epoch
    /// fences the older one: its batches are refused from now on.
    pub fn complete_transaction(
        &mut self,
        producer_id: i64,
        producer_epoch: i16,
        now_ms: i64,
    ) -> Option<i64> {
        let entry = self
            .producers
            .entry(producer_id)
            .or_insert_with(|| ProducerEntry {
                epoch: producer_epoch,
                batches: VecDeque::new(),
                last_write_ms: now_ms,
            });
        if producer_epoch > entry.epoch {
            entry.epoch = producer_epoch;
            entry.batches.clear();
        }
        entry.last_write_ms = now_ms;
        self.transactions.remove(&producer_id)
    }

    /// The offset of the oldest open transaction's first batch.
    pub fn first_unstable_offset(&self) -> Option<i64> {
        self.transactions.values().min().copied()
    }

    /// Takes a batch already in the log into the state (rebuilding it).
    pub fn replay(&mut self, h: &BatchHeader, now_ms: i64) {
        if is_transactional(h) && h.attributes & CONTROL_BIT == 0 {
            self.transactions
                .entry(h.producer_id)
                .or_insert(h.base_offset);
        }
        if !is_idempotent(h) {
            return;
        }
        let entry = self
            .producers
            .entry(h.producer_id)
            .or_insert_with(|| ProducerEntry {
                epoch: h.producer_epoch,
                batches: VecDeque::new(),
                last_write_ms: now_ms,
            });
        if h.producer_epoch != entry.epoch {
            entry.epoch = h.producer_epoch;
            entry.batches.clear();
        }
        entry.push(metadata(h));
        entry.last_write_ms = now_ms;
    }

    /// Forgets producers silent for longer than `expiration_ms`.
    pub fn expire(&mut self, now_ms: i64, expiration_ms: i64) -> usize {
        let before = self.producers.len();
        let open = &self.transactions;
        self.producers
            .retain(|id, e| !Self::expired(open, *id, e, now_ms, expiration_ms));
        before - self.producers.len()
    }

    /// From when [`ProducerStateManager::expire`] forgets a producer, if
    /// nothing is written meanwhile.
    pub fn expiry_due_at(&self, expiration_ms: i64) -> i64 {
        self.producers
            .iter()
            .filter(|(id, _)| !self.transactions.contains_key(id))
            .map(|(_, e)| e.last_write_ms.saturating_add(expiration_ms))
            .min()
            .unwrap_or(i64::MAX)
    }

    fn expired(
        open: &HashMap<i64, i64>,
        id: i64,
        entry: &ProducerEntry,
        now_ms: i64,
        expiration_ms: i64,
    ) -> bool {
        !open.contains_key(&id) && now_ms.saturating_sub(entry.last_write_ms) >= expiration_ms
    }

    pub fn len(&self) -> usize {
        self.producers.len()
    }

    /// Every producer this partition keeps state for, by producer id.
    pub fn active(&self) -> Vec<ActiveProducer> {
        let mut active: Vec<ActiveProducer> = self
            .producers
            .iter()
            .map(|(id, e)| ActiveProducer {
                producer_id: *id,
                epoch: e.epoch,
                last_sequence: e.last_seq().unwrap_or(-1),
                last_timestamp: e.batches.back().map_or(-1, |b| b.max_timestamp),
                current_txn_start_offset: self.transactions.get(id).copied(),
            })
            .collect();
        active.sort_unstable_by_key(|p| p.producer_id);
        active
    }

    /// The producers a snapshot file's bytes hold, by producer id, as the
    /// dump tool shows them; `Err` for a file that does not parse (which
    /// opening the log would discard).
    pub fn snapshot_producers(bytes: &[u8]) -> serde_json::Result<Vec<SnapshotProducer>> {
        let state: ProducerStateManager = serde_json::from_slice(bytes)?;
        let mut producers: Vec<SnapshotProducer> = state
            .producers
            .iter()
            .map(|(id, e)| SnapshotProducer {
                producer_id: *id,
                producer_epoch: e.epoch,
                last_write_ms: e.last_write_ms,
                current_txn_first_offset: state.transactions.get(id).copied(),
                batches: e.batches.iter().copied().collect(),
            })
            .collect();
        producers.sort_unstable_by_key(|p| p.producer_id);
        Ok(producers)
    }

    /// Writes the state as of `offset` (the log end it reflects) and
    /// returns the file's path. Without `sync` the file and its directory
    /// entry are left for the caller to fsync: an unreadable snapshot is
    /// skipped at load, so one a power loss tore costs a longer replay.
    pub fn write_snapshot(&self, dir: &Path, offset: i64, sync: bool) -> Result<PathBuf, LogError> {
        let path = snapshot_path(dir, offset);
        let bytes = serde_json::to_vec(self)
            .map_err(|e| LogError::io("encode producer state", &path)(std::io::Error::other(e)))?;
        if sync {
            write_atomically(&path, &bytes)?;
        } else {
            write_unsynced(&path, &bytes)?;
        }
        let mut offsets = snapshot_offsets(dir)?;
        offsets.sort_unstable();
        let stale = offsets.len().saturating_sub(SNAPSHOTS_KEPT);
        for old in &offsets[..stale] {
            remove_snapshot(dir, *old)?;
        }
        Ok(path)
    }

    /// The newest snapshot at or below `end` and the offset it reflects;
    /// newer ones (left by a log that was cut back) and unreadable ones are
    /// removed. Without one, an empty state as of offset `from`.
    pub fn load(
        dir: &Path,
        mut offsets: Vec<i64>,
        end: i64,
        from: i64,
    ) -> Result<(ProducerStateManager, i64), LogError> {
        offsets.sort_unstable();
        while let Some(offset) = offsets.pop() {
            if offset > end {
                remove_snapshot(dir, offset)?;
                continue;
            }
            let path = snapshot_path(dir, offset);
            let loaded = std::fs::read(&path)
                .ok()
                .and_then(|b| serde_json::from_slice::<ProducerStateManager>(&b).ok());
            match loaded {
                // Batches between an old snapshot and the log start are gone.
                Some(state) => return Ok((state, offset.max(from))),
                None => {
                    tracing::warn!(path = %path.display(), "ignoring unreadable producer state snapshot");
                    remove_snapshot(dir, offset)?;
                }
            }
        }
        Ok((ProducerStateManager::default(), from))
    }
}

fn metadata(h: &BatchHeader) -> BatchMetadata {
    BatchMetadata {
        first_seq: h.base_sequence,
        last_seq: last_seq_of(h),
        first_offset: h.base_offset,
        last_offset: h.last_offset(),
        max_timestamp: h.max_timestamp,
    }
}

fn snapshot_path(dir: &Path, offset: i64) -> PathBuf {
    dir.join(format!("{offset:020}{SNAPSHOT_SUFFIX}"))
}

pub(super) fn snapshot_offsets(dir: &Path) -> Result<Vec<i64>, LogError> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(LogError::io("list", dir))? {
        let Ok(entry) = entry else { continue };
        out.extend(snapshot_offset(&entry.file_name().to_string_lossy()));
    }
    Ok(out)
}

/// The offset of the snapshot file named `name`, if it is one.
pub(super) fn snapshot_offset(name: &str) -> Option<i64> {
    name.strip_suffix(SNAPSHOT_SUFFIX)
        .and_then(|stem| stem.parse::<i64>().ok())
}

fn remove_snapshot(dir: &Path, offset: i64) -> Result<(), LogError> {
    let path = snapshot_path(dir, offset);
    match std::fs::remove_file(&path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            Err(LogError::io("remove producer state snapshot", &path)(e))
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn batch(
        producer_id: i64,
        epoch: i16,
        seq: i32,
        records: i32,
        base_offset: i64,
    ) -> BatchHeader {
        BatchHeader {
            base_offset,
            batch_length: 0,
            partition_leader_epoch: 0,
            magic: 2,
            crc: 0,
            attributes: 0,
            last_offset_delta: records - 1,
            base_timestamp: 0,
            max_timestamp: 7,
            producer_id,
            producer_epoch: epoch,
            base_sequence: seq,
            record_count: records,
        }
    }

    fn append(state: &mut ProducerStateManager, h: &BatchHeader) -> Result<Admission, LogError> {
        let mut staged = StagedProducers::default();
        let admission = state.admit(&mut staged, h, 0)?;
        state.commit(staged);
        Ok(admission)
    }

    #[test]
    fn retries_are_recognised_and_gaps_refused() {
        let mut state = ProducerStateManager::default();
        assert_eq!(
            append(&mut state, &batch(1, 0, 0, 3, 0)).unwrap(),
            Admission::Append
        );
        assert_eq!(
            append(&mut state, &batch(1, 0, 3, 2, 3)).unwrap(),
            Admission::Append
        );
        match append(&mut state, &batch(1, 0, 0, 3, 99)).unwrap() {
            Admission::Duplicate(b) => assert_eq!((b.first_offset, b.last_offset), (0, 2)),
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            append(&mut state, &batch(1, 0, 9, 1, 5)),
            Err(LogError::OutOfOrderSequence { expected: 5, .. })
        ));
        assert!(matches!(
            append(&mut state, &batch(1, -1, 5, 1, 5)),
            Err(LogError::InvalidProducerEpoch { .. })
        ));
        // A new epoch restarts at 0 and forgets the old batches.
        assert!(append(&mut state, &batch(1, 1, 4, 1, 5)).is_err());
        assert_eq!(
            append(&mut state, &batch(1, 1, 0, 1, 5)).unwrap(),
            Admission::Append
        );
        assert_eq!(
            append(&mut state, &batch(1, 1, 0, 1, 6)).unwrap(),
            Admission::Duplicate(BatchMetadata {
                first_seq: 0,
                last_seq: 0,
                first_offset: 5,
                last_offset: 5,
                max_timestamp: 7,
            })
        );
        // Only the last five batches are remembered.
        for i in 1..=5 {
            append(&mut state, &batch(1, 1, i, 1, 5 + i as i64)).unwrap();
        }
        assert!(append(&mut state, &batch(1, 1, 0, 1, 20)).is_err());
    }

    #[test]
    fn sequences_wrap_and_unknown_producers_start_anywhere() {
        let mut state = ProducerStateManager::default();
        append(&mut state, &batch(2, 0, i32::MAX - 1, 2, 0)).unwrap();
        assert_eq!(
            append(&mut state, &batch(2, 0, 0, 1, 2)).unwrap(),
            Admission::Append
        );
        assert_eq!(
            append(&mut state, &batch(3, 0, 42, 1, 3)).unwrap(),
            Admission::Append
        );
        assert_eq!(
            append(&mut state, &batch(-1, -1, -1, 1, 4)).unwrap(),
            Admission::Append
        );
        assert_eq!(state.len(), 2);
    }

    #[test]
    fn snapshots_round_trip_and_newer_ones_are_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let mut state = ProducerStateManager::default();
        append(&mut state, &batch(1, 0, 0, 2, 0)).unwrap();
        state.write_snapshot(dir.path(), 2, true).unwrap();
        append(&mut state, &batch(1, 0, 2, 2, 2)).unwrap();
        state.write_snapshot(dir.path(), 4, false).unwrap();
        state.write_snapshot(dir.path(), 5, true).unwrap();
        assert_eq!(snapshot_offsets(dir.path()).unwrap().len(), SNAPSHOTS_KEPT);

        let (loaded, at) =
            ProducerStateManager::load(dir.path(), snapshot_offsets(dir.path()).unwrap(), 4, 0)
                .unwrap();
        assert_eq!(at, 4);
        assert_eq!(loaded.producers, state.producers);
        assert_eq!(snapshot_offsets(dir.path()).unwrap(), vec![4]);
        let (empty, at) =
            ProducerStateManager::load(dir.path(), snapshot_offsets(dir.path()).unwrap(), 3, 0)
                .unwrap();
        assert_eq!((empty.len(), at), (0, 0));
    }
}
