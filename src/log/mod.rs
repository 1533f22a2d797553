//! Storage: one partition's log, as Kafka's `UnifiedLog` keeps it.
//!
//! On disk, a partition directory `<topic>-<partition>` holds segments
//! `<20-digit base offset>.log` with their sparse `.index` (relative offset
//! -> file position) and `.timeindex` (timestamp -> relative offset), the
//! `leader-epoch-checkpoint`, `log-start-offset` once records were deleted,
//! and idempotent producers' state snapshots (`<offset>.snapshot`). Batches are stored exactly as producers sent them (magic 2),
//! with base offset and partition leader epoch patched in.
//!
//! Semantics the rest of the broker relies on:
//! - `append_as_leader` validates every batch (whole, magic 2, CRC32C,
//!   `max.message.bytes`, record count consistent with the offset delta)
//!   and every record in it (`records::validate`), assigns dense offsets
//!   from the log end offset, and either appends all batches of the
//!   request or none. A request larger than `segment.bytes`
//!   is refused as RECORD_LIST_TOO_LARGE, as Kafka does.
//! - `read` returns whole batches from one segment only; the caller reads
//!   again from where it stopped. The first batch may start before `offset`
//!   (clients skip the records they did not ask for). A batch that cannot be
//!   read where the offset should be is CORRUPT_MESSAGE (as Kafka's
//!   CorruptRecordException), never an empty answer below the log end.
//!   CRCs are not checked on reads, as Kafka's are not: followers check
//!   them as they append, consumers with check.crcs.
//! - Timestamp lookups answer with exact record offsets: the batch is found
//!   by its header, then its records are walked (inflated through a small
//!   buffer) up to the one found; a batch that does not walk answers with
//!   its base offset and max timestamp.
//! - `end_offset_for_epoch` follows Kafka's `LeaderEpochFileCache.endOffsetFor`
//!   to the letter, including `(requested, first start offset)` for an epoch
//!   older than every known one.
//! - `flush.messages` does not fsync inside a leader's append: the append
//!   records how far it wants the log fsynced, and the partition's group
//!   committer fsyncs outside the lock (`claim_flush`, `next_flush`,
//!   `finish_flush`), one fsync for every append made while the previous
//!   one ran. Until it lands, `durable_end` holds the high watermark back.
//! - Segments retention and DeleteRecords delete leave the log at once:
//!   `file.delete.delay.ms` only protects readers holding old file
//!   handles, and reads here happen under the caller's lock. Their files
//!   are renamed aside under the lock and removed outside it by the
//!   caller ([`Log::take_deleted_files`], [`remove_deleted`]): removing a
//!   full segment takes tens of milliseconds, which every produce and
//!   fetch of the partition would otherwise wait for.
//! - A roll does not fsync: the old segment's data and indexes, the
//!   producer snapshot taken at the roll and the new files' directory
//!   entries are fsynced by the partition's group committer, outside the
//!   lock (Kafka's "flush-log" task after `UnifiedLog.roll`), so an append
//!   never waits for a segment's worth of data to reach the disk. Until
//!   then the rolled segment is listed in `unsynced_rolls`, and:
//!   - the recovery point (`recovery_point`, kept in
//!     recovery-point-offset-checkpoint) never passes data not fsynced:
//!     only an fsync of everything before an offset moves it there;
//!   - recovery after an unclean stop CRC-checks every batch from the
//!     recovery point on, across as many segments as that spans, cuts the
//!     log at the first torn or invalid batch and drops the segments after
//!     it (a power loss can leave a rolled segment so before its fsync;
//!     Kafka's LogLoader does the same), and opens the segments wholly
//!     before the recovery point from their indexes when those agree with
//!     the log (damage there is logged and kept, see `segment`);
//!   - under `flush.messages` a wanted fsync covers the rolled segments
//!     first, so acks still wait for all they cover, and a failed fsync
//!     fails the records it covered (`flush_failed`), whichever segment;
//!   - retention, compaction and truncation drop what they delete from the
//!     list; an fsync already running on a deleted file finds it gone or
//!     unlinked, and counts it done.
//! - Only the active segment holds a
//!   file descriptor, and only while the process-wide `file_cache` has
//!   room for it: an idle one is closed, fsynced first (if written) by the
//!   cache's closer thread rather than under the evicting log's lock, and
//!   reopened on its next read or write.

mod batch;
mod checkpoint;
mod cleaner;
mod control;
pub mod dump;
mod epoch;
mod error;
mod file_cache;
mod index;
pub mod partition_metadata;
mod producer_state;
mod read_buf;
mod records;
mod segment;
mod txn_index;

use std::collections::BTreeMap;
use std::fs::File;
use std::io::IoSlice;
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;

pub use checkpoint::{
    OffsetCheckpoint, RECOVERY_POINT_OFFSET_CHECKPOINT, REPLICATION_OFFSET_CHECKPOINT,
};
pub use control::{control_record_kind, has_transactional_batch, marker_batch};
pub use error::{LogError, RecordError};
pub use producer_state::ActiveProducer;
pub use records::{inflate, Codec};
pub use txn_index::AbortedTxn;

use crate::config::{LogConfig, TimestampType};
use batch::BatchHeader;
pub use epoch::write_atomically;
use epoch::LeaderEpochCache;
use file_cache::CachedFile;
use producer_state::{Admission, BatchMetadata, ProducerStateManager, StagedProducers};
pub use segment::remove_deleted;
use segment::{OpenAs, Segment, DELETED_SUFFIX};

const LOG_START_FILE: &str = "log-start-offset";

/// What an append did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppendInfo {
    pub base_offset: i64,
    pub last_offset: i64,
    /// The broker's timestamp for LogAppendTime topics, else -1.
    pub log_append_time: i64,
    /// The largest timestamp appended (the append time for LogAppendTime).
    pub max_timestamp: i64,
    pub record_count: i64,
    /// The leader epoch the records were appended (or found, for a
    /// retried batch) under: acks=all is answered only while it lasts.
    pub leader_epoch: i32,
}

pub struct Log {
    dir: PathBuf,
    config: LogConfig,
    /// Every segment before the active one, by base offset.
    segments: BTreeMap<i64, Segment>,
    active: Segment,
    log_start_offset: i64,
    epochs: LeaderEpochCache,
    unflushed_messages: i64,
    /// When the oldest write not yet fsynced happened, for flush.ms.
    oldest_unflushed_ms: Option<i64>,
    producers: ProducerStateManager,
    /// The active segment's base at the last compaction pass: segments
    /// rolled since then have not been cleaned.
    cleaned_through: i64,
    /// A segment file (or the log's directory) was created since the
    /// directories were last synced: fsyncing the file alone does not make
    /// its name survive a power loss, so the next flush syncs them too.
    dir_entries_unsynced: bool,
    /// The log end the last fsync reached: what is before it survives a
    /// power loss.
    flushed_end: i64,
    /// The log end when `flush.messages` last asked for an fsync. Until an
    /// fsync reaches it, the records after `flushed_end` count as not yet
    /// written (see [`Log::durable_end`]).
    flush_wanted_end: i64,
    /// A group commit's fsync is running outside the lock.
    flush_in_flight: bool,
    /// Segments rolled and not yet fsynced, oldest first: the next
    /// [`FlushJob`] syncs them, and the recovery point stays before them
    /// until it has.
    unsynced_rolls: Vec<UnsyncedRoll>,
    /// Files of deleted segments, renamed aside, for the caller to remove
    /// outside the lock ([`Log::take_deleted_files`]).
    deleted_files: Vec<PathBuf>,
    /// Offset ranges `[from, to)` an fsync failed for: their records are
    /// never acknowledged, even once a later fsync succeeds, since a failed
    /// fsync may have dropped them from the page cache.
    flush_failed: Vec<(i64, i64)>,
    /// Bumped by every truncation, so that an fsync started before one
    /// does not vouch for offsets that now name other records.
    truncations: u64,
    /// Files written without an fsync while the log held no records (its
    /// `partition.metadata`), synced before the first records are written.
    unsynced_files: Option<Arc<UnsyncedFiles>>,
}

/// Files a log without records got without an fsync, and their
/// directory: as Kafka's UnifiedLog flushes `partition.metadata` from its
/// scheduler after creating a log and before its first append, they are
/// made durable by whichever comes first, a background sync or the log's
/// first write of records (or flush). Records never reach the disk
/// before them, so a power loss leaves them missing or empty only beside
/// no records.
pub struct UnsyncedFiles {
    dir: PathBuf,
    files: Vec<PathBuf>,
    synced: parking_lot::Mutex<bool>,
}

impl UnsyncedFiles {
    /// fsyncs the files, then their directory, once. A file or directory
    /// deleted since (its partition was) has nothing left to make durable.
    pub fn sync(&self) -> Result<(), LogError> {
        let mut synced = self.synced.lock();
        if *synced {
            return Ok(());
        }
        for path in self.files.iter().chain(std::iter::once(&self.dir)) {
            match File::open(path).and_then(|f| f.sync_all()) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                    return Err(LogError::io("sync", path)(e));
                }
                _ => {}
            }
        }
        *synced = true;
        Ok(())
    }
}

/// A rolled segment not yet fsynced, with what else its roll left to sync.
#[derive(Clone)]
struct UnsyncedRoll {
    base: i64,
    /// The rolled segment's end (the next one's base): its fsync makes
    /// everything before it durable.
    end: i64,
    file: Option<Arc<CachedFile>>,
    /// Its index files and the producer snapshot the roll wrote.
    others: Vec<PathBuf>,
}

impl UnsyncedRoll {
    /// Retention, compaction or a truncation may have deleted the segment
    /// or the snapshot since: what is gone need not survive a crash.
    fn sync(&self) -> Result<(), LogError> {
        if let Some(file) = &self.file {
            if let Err(e) = file.sync() {
                if e.kind() != std::io::ErrorKind::NotFound {
                    return Err(LogError::io("sync", file.path())(e));
                }
            }
        }
        for path in &self.others {
            match File::open(path).and_then(|f| f.sync_data()) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                    return Err(LogError::io("sync", path)(e));
                }
                _ => {}
            }
        }
        Ok(())
    }
}

/// A group commit's fsync, taken under the log's lock and run outside it:
/// the segments rolled and not yet synced, the active segment's file as it
/// was then when an fsync of it is wanted (kept open by the job even if
/// the segment rolls meanwhile) and, after a roll or for a new log, the
/// directories whose entries name their files.
pub struct FlushJob {
    end: i64,
    truncations: u64,
    rolled: Vec<UnsyncedRoll>,
    file: Option<Arc<CachedFile>>,
    dirs: Vec<PathBuf>,
}

impl FlushJob {
    /// The log end this fsync makes durable.
    pub fn end(&self) -> i64 {
        self.end
    }

    /// fsyncs the rolled segments (data, indexes, producer snapshot), then
    /// the active segment's data (its indexes are rebuilt by recovery; they
    /// are synced once it rolls) and the directories.
    pub fn sync(&self) -> Result<(), LogError> {
        let started = Instant::now();
        for roll in &self.rolled {
            roll.sync()?;
        }
        if let Some(file) = &self.file {
            file.sync().map_err(LogError::io("sync", file.path()))?;
        }
        sync_dirs(&self.dirs)?;
        crate::metrics::log_flush::observe(started.elapsed());
        Ok(())
    }
}

impl Log {
    /// Opens the log in `dir`, creating it if needed. `recover` after an
    /// unclean shutdown CRC-checks every batch of the active segment and cuts
    /// it at the first torn or invalid one; either way, a missing or
    /// inconsistent index is rebuilt.
    pub fn open(
        dir: &Path,
        config: LogConfig,
        recover: bool,
        now_ms: i64,
    ) -> Result<Log, LogError> {
        Log::open_with_recovery_point(dir, config, recover.then_some(0), now_ms)
    }

    /// [`Log::open`], where after an unclean shutdown `recovery_point` is
    /// how far the log was fsynced (recovery-point-offset-checkpoint; 0
    /// when unknown): only the batches from there on are CRC-checked, in
    /// whichever segments they are, so recovery time grows with the
    /// unflushed tail, not with the data. The log is cut at the first torn
    /// or invalid batch found, and the segments after it are dropped.
    pub fn open_with_recovery_point(
        dir: &Path,
        config: LogConfig,
        recovery_point: Option<i64>,
        now_ms: i64,
    ) -> Result<Log, LogError> {
        let listing = Listing::read(dir)?;
        if listing.cleaning {
            cleaner::remove_leftovers(dir)?;
        }
        let bases = &listing.bases;
        let mut segments = BTreeMap::new();
        for (i, &base) in bases.iter().enumerate() {
            let open_as = match bases.get(i + 1) {
                Some(&next_base) => OpenAs::Rolled {
                    next_base,
                    recover_from: recovery_point.filter(|&point| next_base > point),
                },
                None => OpenAs::Active {
                    recover_from: recovery_point,
                },
            };
            let has_txn_index = listing.txn_indexes.contains(&base);
            let (segment, truncated) = Segment::open(
                dir,
                base,
                config.index_interval_bytes,
                open_as,
                has_txn_index,
            )?;
            if truncated > 0 {
                tracing::warn!(dir = %dir.display(), segment = base, truncated, "recovered log tail");
            }
            if truncated > 0 && matches!(open_as, OpenAs::Rolled { .. }) {
                // A rolled segment cut by recovery ends the log: what came
                // after it was appended later and is past the recovery
                // point too, so it is dropped and this segment becomes the
                // active one again.
                let later = &bases[i + 1..];
                tracing::warn!(dir = %dir.display(), segment = base, dropped = later.len(), "dropping the segments after a recovered rolled segment");
                for &later_base in later {
                    for ext in ["log", "index", "timeindex", "txnindex"] {
                        let path = dir.join(segment::file_name(later_base, ext));
                        match std::fs::remove_file(&path) {
                            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                                return Err(LogError::io("remove segment file", &path)(e))
                            }
                            _ => {}
                        }
                    }
                }
                let (segment, _) = Segment::open(
                    dir,
                    base,
                    config.index_interval_bytes,
                    OpenAs::Active {
                        recover_from: recovery_point,
                    },
                    has_txn_index,
                )?;
                segments.insert(base, segment);
                break;
            }
            segments.insert(base, segment);
        }
        let stored_start = listing
            .log_start_file
            .then(|| std::fs::read_to_string(dir.join(LOG_START_FILE)).ok())
            .flatten()
            .and_then(|s| s.trim().parse::<i64>().ok())
            .unwrap_or(0);
        let created = segments.is_empty();
        let active = match segments.pop_last() {
            Some((_, segment)) => segment,
            None => Segment::create(
                dir,
                stored_start.max(0),
                config.index_interval_bytes,
                now_ms,
            )?,
        };
        let first_base = segments
            .values()
            .next()
            .map_or(active.base_offset, |s| s.base_offset);
        // A recovered tail may end before a start offset stored earlier.
        let log_start_offset = stored_start.max(first_base).min(active.next_offset);
        let mut log = Log {
            dir: dir.to_path_buf(),
            config,
            segments,
            active,
            log_start_offset,
            epochs: LeaderEpochCache::load(dir),
            unflushed_messages: 0,
            oldest_unflushed_ms: None,
            producers: ProducerStateManager::default(),
            cleaned_through: 0,
            dir_entries_unsynced: created,
            flushed_end: 0,
            flush_wanted_end: 0,
            flush_in_flight: false,
            unsynced_rolls: Vec::new(),
            deleted_files: Vec::new(),
            flush_failed: Vec::new(),
            truncations: 0,
            unsynced_files: None,
        };
        let end = log.log_end_offset();
        log.flushed_end = end;
        log.flush_wanted_end = end;
        log.epochs.truncate_from_end(end)?;
        log.epochs.truncate_from_start(log_start_offset)?;
        log.rebuild_producer_state(now_ms, Some(listing.snapshots))?;
        Ok(log)
    }

    /// Loads the newest producer state snapshot within the log and replays
    /// the batch headers after it. `snapshots` are the snapshots' offsets
    /// when the caller listed the directory already; `None` lists it.
    fn rebuild_producer_state(
        &mut self,
        now_ms: i64,
        snapshots: Option<Vec<i64>>,
    ) -> Result<(), LogError> {
        let end = self.log_end_offset();
        let snapshots = match snapshots {
            Some(offsets) => offsets,
            None => producer_state::snapshot_offsets(&self.dir)?,
        };
        let (mut producers, from) =
            ProducerStateManager::load(&self.dir, snapshots, end, self.log_start_offset)?;
        if from >= end {
            // A snapshot at the log end (every clean stop writes one):
            // no batch to replay, and none of the tail to read.
            self.producers = producers;
            return Ok(());
        }
        let floor = self
            .segments
            .range(..=from)
            .next_back()
            .map_or(i64::MIN, |(base, _)| *base);
        let segments = self
            .segments
            .range(floor..)
            .map(|(_, s)| s)
            .chain(std::iter::once(&self.active));
        let mut replayed = 0usize;
        let mut aborts = Vec::new();
        for segment in segments {
            let indexed = segment
                .aborted_transactions()
                .last()
                .map_or(-1, |t| t.last_offset);
            let mut batches = segment.batches_from(from);
            while let Some(b) = batches.next() {
                let b = match b {
                    Ok(b) => b,
                    // Logged where it was found; what follows in the
                    // segment cannot be replayed.
                    Err(LogError::CorruptMessage(_)) => break,
                    Err(e) => return Err(e),
                };
                if b.header.base_offset < from {
                    continue;
                }
                replayed += 1;
                if b.header.attributes & control::CONTROL_BIT == 0 {
                    producers.replay(&b.header, now_ms);
                    continue;
                }
                let kind = batches
                    .read(&b)
                    .ok()
                    .and_then(|bytes| control::marker_kind(&bytes, &b.header));
                // An abort the index lost in a crash goes back in.
                if let Some(txn) = end_transaction(&mut producers, &b.header, kind, now_ms) {
                    if txn.last_offset > indexed {
                        aborts.push((segment.base_offset, txn));
                    }
                }
            }
        }
        for (base, txn) in aborts {
            if base == self.active.base_offset {
                self.active.add_aborted_transaction(txn)?;
            } else if let Some(segment) = self.segments.get_mut(&base) {
                segment.add_aborted_transaction(txn)?;
            }
        }
        if producers.len() > 0 {
            tracing::debug!(dir = %self.dir.display(), from, replayed, producers = producers.len(), "rebuilt producer state");
        }
        self.producers = producers;
        Ok(())
    }

    pub fn config(&self) -> &LogConfig {
        &self.config
    }

    /// Takes effect from the next append, roll or retention pass.
    pub fn set_config(&mut self, config: LogConfig) {
        self.config = config;
    }

    pub fn log_start_offset(&self) -> i64 {
        self.log_start_offset
    }

    /// The offset the next record will get.
    pub fn log_end_offset(&self) -> i64 {
        self.active.next_offset
    }

    pub fn size_bytes(&self) -> u64 {
        self.all_segments().map(Segment::size).sum()
    }

    pub fn segment_count(&self) -> usize {
        self.segments.len() + 1
    }

    /// When the record at `offset` was appended, as its batch tells: the
    /// batch's append time on LogAppendTime topics, else its first
    /// record's timestamp (for an offset inside a batch, the earlier one).
    pub fn batch_timestamp(&self, offset: i64) -> Option<i64> {
        let segment = self.segments_from(offset).next()?;
        let batch = segment
            .batches_from(offset)
            .map_while(Result::ok)
            .find(|b| b.header.last_offset() >= offset)?;
        Some(if batch.header.is_log_append_time() {
            batch.header.max_timestamp
        } else {
            batch.header.base_timestamp
        })
    }

    fn all_segments(&self) -> impl DoubleEndedIterator<Item = &Segment> {
        self.segments.values().chain(std::iter::once(&self.active))
    }

    /// The segment holding `offset` (or the first after it, across a gap)
    /// and every later one.
    fn segments_from(&self, offset: i64) -> impl Iterator<Item = &Segment> {
        let floor = self
            .segments
            .range(..=offset)
            .next_back()
            .map_or(i64::MIN, |(base, _)| *base);
        self.segments
            .range(floor..)
            .map(|(_, s)| s)
            .chain(std::iter::once(&self.active))
            // Compaction can leave a segment with nothing in it, whose
            // next offset is then its base.
            .filter(move |s| !s.is_empty() && s.next_offset > offset)
    }

    /// Validates a Produce request's batches, assigns them the next offsets,
    /// patches in offsets and `leader_epoch` (and the time for LogAppendTime
    /// topics), and appends them.
    pub fn append_as_leader(
        &mut self,
        records: &[u8],
        leader_epoch: i32,
        now_ms: i64,
    ) -> Result<AppendInfo, LogError> {
        self.sync_unsynced_files()?;
        let mut headers = batch::validate_produce_records(records, self.config.max_message_bytes)?;
        if headers
            .iter()
            .any(|h| h.attributes & control::CONTROL_BIT != 0)
        {
            return Err(LogError::InvalidRecord(
                "clients cannot produce control records".into(),
            ));
        }
        let rules = records::Rules {
            cap: records::inflation_cap(self.config.max_message_bytes),
            require_keys: self.config.cleanup_compact,
            timestamps: (self.config.message_timestamp_type == TimestampType::CreateTime)
                .then_some((
                    now_ms,
                    self.config.message_timestamp_before_max_ms,
                    self.config.message_timestamp_after_max_ms,
                )),
        };
        // Which CreateTime batches must be restamped with their records'
        // largest timestamp: segments index and retain by the header's.
        let mut restamp = Vec::with_capacity(headers.len());
        let mut position = 0usize;
        for h in &mut headers {
            let b = batch_at(records, position, h)?;
            let max_timestamp = records::validate(b, h, &rules)?;
            restamp.push(h.max_timestamp != max_timestamp || h.is_log_append_time());
            h.max_timestamp = max_timestamp;
            position += b.len();
        }
        if records.len() as u64 > self.config.segment_bytes {
            return Err(LogError::RecordListTooLarge {
                size: records.len(),
                max: self.config.segment_bytes,
            });
        }
        let log_append_time =
            (self.config.message_timestamp_type == TimestampType::LogAppendTime).then_some(now_ms);
        let base_offset = self.log_end_offset();
        // Offsets first, so that idempotent producers' batches are checked
        // (and a retry recognised) before anything is written.
        let mut staged = StagedProducers::default();
        let mut next = base_offset;
        for h in &mut headers {
            h.base_offset = next;
            next = h.last_offset() + 1;
            if let Admission::Duplicate(original) = self.producers.admit(&mut staged, h, now_ms)? {
                return Ok(self.duplicate_info(original, leader_epoch));
            }
        }
        let record_count: i64 = headers
            .iter()
            .map(|h| i64::from(h.last_offset_delta) + 1)
            .sum();
        let max_timestamp = match log_append_time {
            Some(t) => t,
            None => headers.iter().map(|h| h.max_timestamp).max().unwrap_or(-1),
        };
        self.maybe_roll(
            records.len() as u64,
            base_offset + record_count - 1,
            Some(max_timestamp),
            now_ms,
        )?;

        // Each batch is written as its patched header followed by the rest of
        // it straight from the request: the records are never copied.
        let mut patched: Vec<[u8; batch::HEADER_LEN]> = Vec::with_capacity(headers.len());
        let mut position = 0usize;
        for (h, restamp) in headers.iter_mut().zip(restamp) {
            let b = batch_at(records, position, h)?;
            let mut header = [0u8; batch::HEADER_LEN];
            header.copy_from_slice(&b[..batch::HEADER_LEN]);
            batch::set_base_offset(&mut header, h.base_offset)?;
            batch::set_partition_leader_epoch(&mut header, leader_epoch)?;
            let body = &b[batch::HEADER_LEN..];
            if let Some(t) = log_append_time {
                batch::set_max_timestamp(&mut header, body, t, true)?;
                h.max_timestamp = t;
            } else if restamp {
                batch::set_max_timestamp(&mut header, body, h.max_timestamp, false)?;
            }
            h.partition_leader_epoch = leader_epoch;
            patched.push(header);
            position += b.len();
        }
        let mut parts = Vec::with_capacity(headers.len() * 2);
        let mut position = 0usize;
        for (h, header) in headers.iter().zip(&patched) {
            let b = batch_at(records, position, h)?;
            parts.push(IoSlice::new(header));
            parts.push(IoSlice::new(&b[batch::HEADER_LEN..]));
            position += b.len();
        }
        self.active.append(&mut parts, &headers, now_ms)?;
        self.active.start_writeback(self.config.writeback_bytes);
        self.producers.commit(staged);
        self.epochs.assign(leader_epoch, base_offset)?;
        self.unflushed_messages += record_count;
        self.oldest_unflushed_ms.get_or_insert(now_ms);
        // The fsync is the caller's to run (see `next_flush`), so that
        // appends arriving meanwhile share the next one.
        if self.unflushed_messages >= self.config.flush_messages {
            self.flush_wanted_end = self.log_end_offset();
        }
        Ok(AppendInfo {
            base_offset,
            last_offset: next - 1,
            log_append_time: log_append_time.unwrap_or(-1),
            max_timestamp,
            record_count,
            leader_epoch,
        })
    }

    /// Appends batches a follower fetched from its leader, exactly as the
    /// leader wrote them (offsets, leader epochs, markers). They must start
    /// at this log's end; producer state, transactions and leader epochs
    /// follow them as they do at the leader.
    pub fn append_as_follower(&mut self, records: &[u8], now_ms: i64) -> Result<(), LogError> {
        self.sync_unsynced_files()?;
        let mut headers = Vec::new();
        let mut rest = records;
        while !rest.is_empty() {
            let h = BatchHeader::parse(rest)
                .filter(|h| h.total_size().is_some_and(|s| s <= rest.len()))
                .ok_or_else(|| LogError::CorruptMessage("fetched batch is truncated".into()))?;
            let size = h.total_size().unwrap_or(rest.len());
            headers.push(batch::check_batch(&rest[..size])?);
            rest = &rest[size..];
        }
        let (Some(first), Some(last)) = (headers.first(), headers.last()) else {
            return Ok(());
        };
        if first.base_offset != self.log_end_offset() {
            return Err(LogError::OffsetOutOfRange {
                offset: first.base_offset,
                log_start_offset: self.log_start_offset,
                log_end_offset: self.log_end_offset(),
            });
        }
        let max_timestamp = headers.iter().map(|h| h.max_timestamp).max();
        self.maybe_roll(
            records.len() as u64,
            last.last_offset(),
            max_timestamp,
            now_ms,
        )?;
        let mut position = 0usize;
        for h in &headers {
            let b = batch_at(records, position, h)?;
            position += b.len();
            self.active
                .append(&mut [IoSlice::new(b)], std::slice::from_ref(h), now_ms)?;
            self.active.start_writeback(self.config.writeback_bytes);
            self.epochs
                .assign(h.partition_leader_epoch, h.base_offset)?;
            if h.attributes & control::CONTROL_BIT == 0 {
                self.producers.replay(h, now_ms);
                continue;
            }
            let kind = control::marker_kind(b, h);
            if let Some(txn) = end_transaction(&mut self.producers, h, kind, now_ms) {
                self.active.add_aborted_transaction(txn)?;
            }
        }
        let count: i64 = headers
            .iter()
            .map(|h| i64::from(h.last_offset_delta) + 1)
            .sum();
        self.unflushed_messages += count;
        self.oldest_unflushed_ms.get_or_insert(now_ms);
        if self.unflushed_messages >= self.config.flush_messages {
            self.flush()?;
        }
        Ok(())
    }

    /// Writes a transaction marker for `producer_id` (commit or abort) at
    /// the log end and returns its offset. An abort of a transaction that
    /// wrote here is added to the segment's aborted-transaction index.
    pub fn append_control_marker(
        &mut self,
        producer_id: i64,
        producer_epoch: i16,
        commit: bool,
        coordinator_epoch: i32,
        leader_epoch: i32,
        now_ms: i64,
    ) -> Result<i64, LogError> {
        self.sync_unsynced_files()?;
        self.producers.check_marker(producer_id, producer_epoch)?;
        let mut marker = control::marker_batch(
            producer_id,
            producer_epoch,
            commit,
            coordinator_epoch,
            now_ms,
        )?;
        let offset = self.log_end_offset();
        batch::set_base_offset(&mut marker, offset)?;
        batch::set_partition_leader_epoch(&mut marker, leader_epoch)?;
        let header = batch::check_batch(&marker)?;
        self.maybe_roll(marker.len() as u64, offset, Some(now_ms), now_ms)?;
        self.active
            .append(&mut [IoSlice::new(&marker)], &[header], now_ms)?;
        self.active.start_writeback(self.config.writeback_bytes);
        if let Some(txn) = end_transaction(&mut self.producers, &header, Some(commit), now_ms) {
            self.active.add_aborted_transaction(txn)?;
        }
        self.epochs.assign(leader_epoch, offset)?;
        self.unflushed_messages += 1;
        self.oldest_unflushed_ms.get_or_insert(now_ms);
        Ok(offset)
    }

    /// The producers whose state this log keeps (DescribeProducers).
    pub fn active_producers(&self) -> Vec<ActiveProducer> {
        self.producers.active()
    }

    /// The offset of the first batch of the oldest transaction still open
    /// here: read_committed consumers stop before it.
    pub fn first_unstable_offset(&self) -> Option<i64> {
        self.producers.first_unstable_offset()
    }

    /// The aborted transactions a read_committed read of `[from, upper)`
    /// must be told about: those with records in that range.
    pub fn aborted_transactions(&self, from: i64, upper: i64) -> Vec<AbortedTxn> {
        self.segments_from(from)
            .take_while(|s| s.base_offset < upper)
            .flat_map(|s| s.aborted_transactions())
            .filter(|t| t.last_offset >= from && t.first_offset < upper)
            .copied()
            .collect()
    }

    /// The answer to a batch an idempotent producer sent again: where it
    /// went the first time; nothing is written.
    fn duplicate_info(&self, original: BatchMetadata, leader_epoch: i32) -> AppendInfo {
        let log_append_time = self.config.message_timestamp_type == TimestampType::LogAppendTime;
        AppendInfo {
            base_offset: original.first_offset,
            last_offset: original.last_offset,
            log_append_time: if log_append_time {
                original.max_timestamp
            } else {
                -1
            },
            max_timestamp: original.max_timestamp,
            record_count: 0,
            leader_epoch,
        }
    }

    /// Starts a new segment when the active one is full (segment.bytes or an
    /// index at segment.index.bytes), old (segment.ms), or could not address
    /// the incoming batches with 32-bit relative offsets and positions.
    fn maybe_roll(
        &mut self,
        incoming_bytes: u64,
        incoming_last_offset: i64,
        incoming_max_timestamp: Option<i64>,
        now_ms: i64,
    ) -> Result<(), LogError> {
        if self.roll_wanted(
            incoming_bytes,
            incoming_last_offset,
            incoming_max_timestamp,
            now_ms,
        ) {
            self.roll(now_ms)?;
        }
        Ok(())
    }

    fn roll_wanted(
        &self,
        incoming_bytes: u64,
        incoming_last_offset: i64,
        incoming_max_timestamp: Option<i64>,
        now_ms: i64,
    ) -> bool {
        let config = &self.config;
        let active = &self.active;
        if active.is_empty() {
            return false;
        }
        let full = active.size().saturating_add(incoming_bytes) > config.segment_bytes;
        let old = active.time_waited_for_roll(now_ms, incoming_max_timestamp) > config.segment_ms;
        let index_full = active.index_full(config.segment_index_bytes);
        let no_room = !active.can_hold(incoming_last_offset, incoming_bytes);
        full || old || index_full || no_room
    }

    fn roll(&mut self, now_ms: i64) -> Result<(), LogError> {
        if self.active.is_empty() {
            return Ok(());
        }
        // Nothing here waits for the disk: the old segment, its indexes,
        // the snapshot and the new names are fsynced by the next FlushJob.
        let base = self.log_end_offset();
        self.active.flush_indexes()?;
        let snapshot = self.producers.write_snapshot(&self.dir, base, false)?;
        let segment = Segment::create(&self.dir, base, self.config.index_interval_bytes, now_ms)?;
        self.dir_entries_unsynced = true;
        let mut old = std::mem::replace(&mut self.active, segment);
        let mut others = old.index_paths();
        others.push(snapshot);
        self.unsynced_rolls.push(UnsyncedRoll {
            base: old.base_offset,
            end: base,
            file: old.shared_file(),
            others,
        });
        old.deactivate();
        self.segments.insert(old.base_offset, old);
        tracing::debug!(dir = %self.dir.display(), base, "rolled new segment");
        Ok(())
    }

    /// Whole batches from the one containing `offset`, stopping before any
    /// batch at or beyond `max_offset` (the high watermark; `i64::MAX` for a
    /// follower, which reads to the log end) and at `max_bytes`, except that
    /// with `min_one` the first batch is returned even when larger (KIP-74).
    /// Reads stay within one segment. Batches go out as stored, CRCs
    /// unchecked, as Kafka's LogSegment.read slices the file: whoever reads
    /// them checks (a follower's append, a consumer's check.crcs, a
    /// coordinator's decoder).
    pub fn read(
        &self,
        offset: i64,
        max_bytes: usize,
        max_offset: i64,
        min_one: bool,
    ) -> Result<Bytes, LogError> {
        let end = self.log_end_offset();
        if offset < self.log_start_offset || offset > end {
            return Err(LogError::OffsetOutOfRange {
                offset,
                log_start_offset: self.log_start_offset,
                log_end_offset: end,
            });
        }
        if offset >= max_offset.min(end) {
            return Ok(Bytes::new());
        }
        // The first segment with data at or after `offset` holds a batch
        // containing it (or the next batch, across a gap).
        let Some(segment) = self.segments_from(offset).next() else {
            return Ok(Bytes::new());
        };
        let mut range: Option<(u64, u64)> = None;
        let mut limited = false;
        let mut batches = segment.batches_reading_ahead(offset, max_bytes);
        for b in &mut batches {
            let b = match b {
                Ok(b) => b,
                // What comes before the damage is answered; a read from
                // the damaged batch gets the error.
                Err(_) if range.is_some() => break,
                Err(e) => return Err(e),
            };
            if b.header.last_offset() < offset {
                continue;
            }
            if b.header.base_offset >= max_offset {
                limited = true;
                break;
            }
            let stop = b.position + b.size;
            match range {
                None if b.size as usize <= max_bytes || min_one => {
                    range = Some((b.position, stop));
                }
                Some((from, _)) if (stop - from) as usize <= max_bytes => {
                    range = Some((from, stop));
                }
                _ => {
                    limited = true;
                    break;
                }
            }
        }
        match range {
            Some((from, to)) => batches.read_range(from, to),
            None if limited => Ok(Bytes::new()),
            // The segment's offsets reach past `offset`: some batch must
            // hold it or follow it.
            None => Err(LogError::CorruptMessage(format!(
                "{} ends before offset {offset}, though its offsets reach {}",
                segment.log_path().display(),
                segment.next_offset
            ))),
        }
    }

    /// Where `read(offset, ..)` starts on disk, for saying where a log
    /// could not be read: the segment file and the byte position of the
    /// batch holding `offset` (or the next one, across a gap). When no
    /// readable batch header reaches it, the position is where the first
    /// unreadable one starts, if any header before it reads.
    pub fn locate(&self, offset: i64) -> Option<(PathBuf, Option<u64>)> {
        let segment = self.segments_from(offset).next()?;
        let file = self
            .dir
            .join(segment::file_name(segment.base_offset, "log"));
        let mut after = None;
        for b in segment.batches_from(offset) {
            let Ok(b) = b else { break };
            if b.header.last_offset() >= offset {
                return Some((file, Some(b.position)));
            }
            after = Some(b.position + b.size);
        }
        Some((file, after))
    }

    /// ListOffsets by timestamp: the first record at or after the log start
    /// with a timestamp at or after `timestamp`, as (offset, its timestamp).
    pub fn offset_for_timestamp(&self, timestamp: i64) -> Result<Option<(i64, i64)>, LogError> {
        for segment in self.all_segments() {
            if segment.max_timestamp < timestamp || segment.next_offset <= self.log_start_offset {
                continue;
            }
            for b in segment.batches_from_time(timestamp) {
                let b = b?;
                if b.header.max_timestamp < timestamp
                    || b.header.last_offset() < self.log_start_offset
                {
                    continue;
                }
                let found = self.find_record(segment, &b, |offset, ts| {
                    ts >= timestamp && offset >= self.log_start_offset
                });
                if found.is_some() {
                    return Ok(found);
                }
            }
        }
        Ok(None)
    }

    /// ListOffsets MAX_TIMESTAMP: the record with the largest timestamp (the
    /// first, if several), as (offset, timestamp).
    pub fn max_timestamp_and_offset(&self) -> Result<Option<(i64, i64)>, LogError> {
        let Some(segment) = self.all_segments().filter(|s| s.max_timestamp >= 0).fold(
            None::<&Segment>,
            |best, s| match best {
                Some(b) if b.max_timestamp >= s.max_timestamp => Some(b),
                _ => Some(s),
            },
        ) else {
            return Ok(None);
        };
        let max = segment.max_timestamp;
        for b in segment.batches_from(segment.max_timestamp_batch) {
            let b = b?;
            if b.header.base_offset == segment.max_timestamp_batch {
                return Ok(self
                    .find_record(segment, &b, |_, ts| ts == max)
                    .or(Some((b.header.base_offset, max))));
            }
        }
        Ok(None)
    }

    /// The first record of batch `b` that `wanted` (offset, timestamp)
    /// accepts, as (offset, timestamp): the records are walked, inflated
    /// through a small buffer, no further than that one. A batch that
    /// cannot be walked (one stored before records were validated) is
    /// logged and answered for by its header, its base offset and max
    /// timestamp, as a batch-level index would.
    fn find_record(
        &self,
        segment: &Segment,
        b: &segment::BatchPosition,
        wanted: impl Fn(i64, i64) -> bool,
    ) -> Option<(i64, i64)> {
        let h = &b.header;
        let cap = records::inflation_cap(self.config.max_message_bytes);
        let walked = segment
            .read_range(b.position, b.position + b.size)
            .and_then(|bytes| {
                records::walk(&bytes, h, cap, false, |r| {
                    if !(0..=h.last_offset_delta).contains(&r.offset_delta) {
                        return ControlFlow::Break(Err(LogError::InvalidRecord(format!(
                            "record {} has offset delta {} outside its batch",
                            r.index, r.offset_delta
                        ))));
                    }
                    let offset = h.base_offset + i64::from(r.offset_delta);
                    // Clients take a LogAppendTime batch's records' time
                    // from maxTimestamp.
                    let ts = if h.is_log_append_time() {
                        h.max_timestamp
                    } else {
                        r.timestamp
                    };
                    if wanted(offset, ts) {
                        ControlFlow::Break(Ok((offset, ts)))
                    } else {
                        ControlFlow::Continue(())
                    }
                })
            })
            .and_then(Option::transpose);
        match walked {
            Ok(found) => found,
            Err(e) => {
                tracing::warn!(segment = %segment.log_path().display(), position = b.position, base_offset = h.base_offset, error = %e, "unreadable batch; answering from its header");
                let shallow = (h.base_offset, h.max_timestamp);
                wanted(shallow.0, shallow.1).then_some(shallow)
            }
        }
    }

    /// OffsetForLeaderEpoch: (largest epoch <= `epoch`, where it ends).
    /// `None` for an undefined epoch, one newer than every known one, or an
    /// empty cache; callers answer UNDEFINED_EPOCH / -1 then.
    pub fn end_offset_for_epoch(&self, epoch: i32) -> Option<(i32, i64)> {
        self.epochs.end_offset_for(epoch, self.log_end_offset())
    }

    pub fn latest_epoch(&self) -> Option<i32> {
        self.epochs.latest_epoch()
    }

    /// DeleteRecords: moves the log start offset to `offset` (never
    /// backwards) and deletes the segments wholly below it. Returns the new
    /// log start offset. Deleting up to the log end rolls the active segment
    /// so that its data can go too.
    pub fn delete_records_before(&mut self, offset: i64, now_ms: i64) -> Result<i64, LogError> {
        let end = self.log_end_offset();
        if offset > end || offset < 0 {
            return Err(LogError::OffsetOutOfRange {
                offset,
                log_start_offset: self.log_start_offset,
                log_end_offset: end,
            });
        }
        if offset <= self.log_start_offset {
            return Ok(self.log_start_offset);
        }
        self.set_log_start_offset(offset)?;
        if offset == end {
            self.roll(now_ms)?;
        }
        self.delete_segments_while(|s, _| s.next_offset <= offset)?;
        Ok(self.log_start_offset)
    }

    /// The files of the segments deleted since the last call, renamed
    /// aside: the caller removes them ([`remove_deleted`]) once it has let
    /// go of the log's lock.
    pub fn take_deleted_files(&mut self) -> Vec<PathBuf> {
        std::mem::take(&mut self.deleted_files)
    }

    /// A segment deleted or replaced needs no fsync of the old file.
    fn forget_unsynced_roll(&mut self, base: i64) {
        self.unsynced_rolls.retain(|r| r.base != base);
    }

    fn set_log_start_offset(&mut self, offset: i64) -> Result<(), LogError> {
        self.log_start_offset = offset;
        write_atomically(
            &self.dir.join(LOG_START_FILE),
            offset.to_string().as_bytes(),
        )?;
        self.epochs.truncate_from_start(offset)
    }

    /// Deletes leading segments, never the active one, while `condition`
    /// (segment, bytes the log would keep without it) holds, then moves the
    /// log start offset up to the first remaining segment.
    fn delete_segments_while(
        &mut self,
        mut condition: impl FnMut(&Segment, u64) -> bool,
    ) -> Result<usize, LogError> {
        let mut deleted = 0;
        let mut remaining = self.size_bytes();
        while let Some(first) = self.segments.first_entry() {
            let kept = remaining.saturating_sub(first.get().size());
            if !condition(first.get(), kept) {
                break;
            }
            remaining = kept;
            let segment = first.remove();
            self.forget_unsynced_roll(segment.base_offset);
            let renamed = segment.delete_later()?;
            self.deleted_files.extend(renamed);
            deleted += 1;
        }
        let first_base = self
            .segments
            .values()
            .next()
            .map_or(self.active.base_offset, |s| s.base_offset);
        if first_base > self.log_start_offset {
            self.set_log_start_offset(first_base)?;
        }
        if deleted > 0 {
            tracing::info!(dir = %self.dir.display(), deleted, log_start_offset = self.log_start_offset, "deleted old segments");
        }
        Ok(deleted)
    }

    /// Deletes whole segments past `retention.ms` (by their newest record) or
    /// beyond `retention.bytes`, oldest first. An expired active segment is
    /// rolled first so that it can go too, as Kafka does. Returns how many
    /// segments were deleted.
    pub fn apply_retention(&mut self, now_ms: i64) -> Result<usize, LogError> {
        // A compacted-only log keeps every key's latest record forever.
        if !self.config.cleanup_delete {
            return Ok(0);
        }
        let retention_ms = self.config.retention_ms;
        let retention_bytes = self.config.retention_bytes;
        let expired = |s: &Segment| Self::expired(retention_ms, s, now_ms);
        if expired(&self.active) {
            self.roll(now_ms)?;
        }
        let mut deleted = self.delete_segments_while(|s, _| expired(s))?;
        if let Ok(retention_bytes) = u64::try_from(retention_bytes) {
            deleted += self.delete_segments_while(|_, kept| kept >= retention_bytes)?;
        }
        Ok(deleted)
    }

    fn expired(retention_ms: i64, segment: &Segment, now_ms: i64) -> bool {
        retention_ms >= 0
            && !segment.is_empty()
            && now_ms.saturating_sub(segment.largest_timestamp()) > retention_ms
    }

    /// Whether [`Log::apply_retention`] would change anything at `now_ms`,
    /// so that a pass over idle logs needs no write lock.
    pub fn retention_due(&self, now_ms: i64) -> bool {
        if !self.config.cleanup_delete {
            return false;
        }
        let retention_ms = self.config.retention_ms;
        let over_bytes = |first: &Segment| {
            u64::try_from(self.config.retention_bytes)
                .is_ok_and(|limit| self.size_bytes().saturating_sub(first.size()) >= limit)
        };
        let first_base = self
            .segments
            .values()
            .next()
            .map_or(self.active.base_offset, |s| s.base_offset);
        Self::expired(retention_ms, &self.active, now_ms)
            || self.segments.values().next().is_some_and(|first| {
                Self::expired(retention_ms, first, now_ms) || over_bytes(first)
            })
            || first_base > self.log_start_offset
    }

    /// From when [`Log::tick`] has work if the log is not changed
    /// meanwhile (`i64::MIN` for now, `i64::MAX` for never): a producer to
    /// forget, a roll by segment.ms, an fsync by flush.ms or index entries
    /// to write, or a rolled segment no group commit has claimed to sync
    /// (the tick claims it). An idle log has none, and needs no write lock.
    pub fn tick_due_at(&self) -> i64 {
        // With no time passed, only what does not wait for the clock.
        let now = self.active.indexes_pending()
            || (!self.flush_in_flight && !self.unsynced_rolls.is_empty())
            || self.roll_wanted(0, self.log_end_offset() - 1, None, i64::MIN);
        if now {
            return i64::MIN;
        }
        let roll = if self.active.is_empty() {
            i64::MAX
        } else {
            self.active.roll_due_at(self.config.segment_ms)
        };
        let flush = self
            .oldest_unflushed_ms
            .map_or(i64::MAX, |t| t.saturating_add(self.config.flush_ms));
        self.producers
            .expiry_due_at(self.config.producer_id_expiration_ms)
            .min(roll)
            .min(flush)
    }

    /// Periodic work: roll by segment.ms without waiting for an append,
    /// fsync by flush.ms, and push buffered index entries to their files.
    pub fn tick(&mut self, now_ms: i64) -> Result<(), LogError> {
        self.producers
            .expire(now_ms, self.config.producer_id_expiration_ms);
        let last = self.log_end_offset() - 1;
        self.maybe_roll(0, last, None, now_ms)?;
        if self
            .oldest_unflushed_ms
            .is_some_and(|t| now_ms.saturating_sub(t) >= self.config.flush_ms)
        {
            self.flush()?;
        }
        self.active.flush_indexes()
    }

    /// fsyncs, in place, the segments rolled and not yet synced, the
    /// active segment and its indexes and, after a roll or a new log, the
    /// directory entries that name them.
    pub fn flush(&mut self) -> Result<(), LogError> {
        let started = Instant::now();
        self.sync_unsynced_files()?;
        for roll in &self.unsynced_rolls {
            roll.sync()?;
        }
        self.unsynced_rolls.clear();
        self.active.flush()?;
        if self.dir_entries_unsynced {
            sync_dirs(&self.dirs_to_sync())?;
            self.dir_entries_unsynced = false;
        }
        self.unflushed_messages = 0;
        self.oldest_unflushed_ms = None;
        self.flushed_end = self.log_end_offset();
        crate::metrics::log_flush::observe(started.elapsed());
        Ok(())
    }

    /// The log directory and its parent, which holds the log directory's
    /// own entry (new with a new partition).
    fn dirs_to_sync(&self) -> Vec<PathBuf> {
        std::iter::once(self.dir.clone())
            .chain(self.dir.parent().map(Path::to_path_buf))
            .collect()
    }

    /// Records the topic id in the log directory's `partition.metadata`.
    /// A log without records gets it without an fsync (Kafka's UnifiedLog
    /// records it and flushes it later), which spares a new partition two
    /// fsyncs on the way to the CreateTopics answer: see
    /// [`UnsyncedFiles`], which [`Log::unsynced_files`] hands out to sync
    /// sooner. A log with records (an older Gregor's, without the file)
    /// gets it durably at once.
    pub fn write_topic_id(&mut self, topic_id: uuid::Uuid) -> Result<(), LogError> {
        if self.size_bytes() > 0 {
            return partition_metadata::write(&self.dir, topic_id);
        }
        let path = partition_metadata::write_unsynced(&self.dir, topic_id)?;
        self.unsynced_files = Some(Arc::new(UnsyncedFiles {
            dir: self.dir.clone(),
            files: vec![path],
            synced: parking_lot::Mutex::new(false),
        }));
        Ok(())
    }

    /// The files this log wrote without an fsync, if any are still to sync.
    pub fn unsynced_files(&self) -> Option<Arc<UnsyncedFiles>> {
        self.unsynced_files.clone()
    }

    fn sync_unsynced_files(&mut self) -> Result<(), LogError> {
        if let Some(unsynced) = &self.unsynced_files {
            unsynced.sync()?;
            self.unsynced_files = None;
        }
        Ok(())
    }

    /// Kafka's recovery point: the log end the last fsync reached. After a
    /// crash, recovery need check only what follows it.
    pub fn recovery_point(&self) -> i64 {
        self.flushed_end
    }

    /// How far the log counts as written for the high watermark and acks:
    /// the log end, except while an fsync `flush.messages` asked for has not
    /// reached it, when it is the end the last fsync reached. Records are
    /// neither visible nor acknowledged before they are durable, as with
    /// an fsync inside every append.
    pub fn durable_end(&self) -> i64 {
        if self.flush_wanted_end > self.flushed_end {
            self.flushed_end
        } else {
            self.log_end_offset()
        }
    }

    /// Whether `flush.messages` asks for an fsync no fsync has reached yet.
    pub fn flush_wanted(&self) -> bool {
        self.flush_wanted_end > self.flushed_end
    }

    /// Whether the record at `offset` was written before an fsync failed,
    /// and was not durable then: it must never be acknowledged.
    pub fn flush_failed_for(&self, offset: i64) -> bool {
        self.flush_failed
            .iter()
            .any(|(from, to)| (*from..*to).contains(&offset))
    }

    /// Whether a group commit has work: an fsync `flush.messages` asks for,
    /// or a rolled segment to sync.
    fn flush_due(&self) -> bool {
        self.flush_wanted() || !self.unsynced_rolls.is_empty()
    }

    /// Makes the caller the log's group committer when an fsync is wanted
    /// or a rolled segment awaits one, and none is running: it then calls
    /// [`Log::next_flush`] until that answers `None`. Deciding under the
    /// log's lock is what keeps an append (or a roll) from being left
    /// without an fsync.
    pub fn claim_flush(&mut self) -> bool {
        if self.flush_in_flight || !self.flush_due() {
            return false;
        }
        self.flush_in_flight = true;
        true
    }

    /// The group committer's next fsync: the rolled segments not yet
    /// synced and, when `flush.messages` wants one, everything written so
    /// far; `None` (and the committer's turn ends) when nothing is due.
    pub fn next_flush(&mut self) -> Option<FlushJob> {
        if !self.flush_due() {
            self.flush_in_flight = false;
            return None;
        }
        self.flush_in_flight = true;
        let dirs = if std::mem::take(&mut self.dir_entries_unsynced) {
            self.dirs_to_sync()
        } else {
            Vec::new()
        };
        let rolled = self.unsynced_rolls.clone();
        let (end, file) = match rolled.last() {
            // As Kafka's flush after a roll: up to the new segment only.
            Some(last) if !self.flush_wanted() => (last.end, None),
            _ => {
                self.unflushed_messages = 0;
                self.oldest_unflushed_ms = None;
                (self.log_end_offset(), self.active.shared_file())
            }
        };
        Some(FlushJob {
            end,
            truncations: self.truncations,
            rolled,
            file,
            dirs,
        })
    }

    /// Records how `job` went. A failure ends the committer's turn, and
    /// every record written by then and not yet durable is marked failed
    /// (its produce fails with KAFKA_STORAGE_ERROR); the next append that
    /// wants an fsync tries again.
    pub fn finish_flush(
        &mut self,
        job: &FlushJob,
        synced: Result<(), LogError>,
    ) -> Result<(), LogError> {
        if let Err(e) = synced {
            self.flush_in_flight = false;
            if !job.dirs.is_empty() {
                self.dir_entries_unsynced = true;
            }
            let (from, to) = (self.flushed_end, self.log_end_offset());
            match self.flush_failed.last_mut() {
                Some(last) if last.1 >= from => last.1 = last.1.max(to),
                _ => self.flush_failed.push((from, to)),
            }
            return Err(e);
        }
        if job.truncations == self.truncations {
            self.flushed_end = self.flushed_end.max(job.end.min(self.log_end_offset()));
            if let Some(last) = job.rolled.last() {
                self.unsynced_rolls.retain(|r| r.end > last.end);
            }
        }
        Ok(())
    }

    /// After a truncation the records past the new end are gone: nothing
    /// there is wanted, flushed or failed.
    fn truncated(&mut self) {
        let end = self.log_end_offset();
        self.truncations += 1;
        self.unsynced_rolls.clear();
        self.flushed_end = end;
        self.flush_wanted_end = end;
        self.flush_failed.retain_mut(|(from, to)| {
            *to = (*to).min(end);
            from < to
        });
    }

    /// Flushes everything, for a clean shutdown, and snapshots the producer
    /// state so that the next start need not replay the active segment.
    pub fn close(mut self) -> Result<(), LogError> {
        self.checkpoint()
    }

    /// What [`Log::close`] does, on a log that stays open: the broker's
    /// partitions are shared, so its shutdown cannot take them.
    pub fn checkpoint(&mut self) -> Result<(), LogError> {
        remove_deleted(&self.take_deleted_files())?;
        self.flush()?;
        let end = self.log_end_offset();
        self.producers.write_snapshot(&self.dir, end, true)?;
        Ok(())
    }

    /// Removes the whole partition directory (topic deletion).
    pub fn delete(self) -> Result<(), LogError> {
        let dir = self.dir.clone();
        // Close every file before removing the directory under it.
        drop(self);
        std::fs::remove_dir_all(&dir).map_err(LogError::io("delete log directory", &dir))
    }

    /// Empties the log and restarts it at `offset`: a follower whose log
    /// ends before its leader's log start offset can never fetch the
    /// records in between (Kafka's truncateFullyAndStartAt).
    pub fn truncate_fully_and_start_at(&mut self, offset: i64) -> Result<(), LogError> {
        while let Some((_, segment)) = self.segments.pop_first() {
            segment.delete()?;
        }
        if self.active.base_offset == offset {
            self.active.truncate_to(offset)?;
        } else {
            let fresh = Segment::create(&self.dir, offset, self.config.index_interval_bytes, 0)?;
            std::mem::replace(&mut self.active, fresh).delete()?;
        }
        self.set_log_start_offset(offset)?;
        self.truncated();
        self.epochs.truncate_from_end(offset)?;
        self.rebuild_producer_state(wall_clock_ms(), None)?;
        tracing::info!(dir = %self.dir.display(), offset, "emptied the log to restart it at the leader's log start offset");
        Ok(())
    }

    /// Drops every record at or after `offset` (a follower cutting its log to
    /// the leader's). Batches are never split: one that straddles `offset`
    /// goes whole, leaving the log end at its base offset. Cutting below the
    /// first segment empties the log and restarts it at `offset`.
    pub fn truncate_to(&mut self, offset: i64) -> Result<(), LogError> {
        if offset < 0 {
            return Err(LogError::OffsetOutOfRange {
                offset,
                log_start_offset: self.log_start_offset,
                log_end_offset: self.log_end_offset(),
            });
        }
        if offset >= self.log_end_offset() {
            return Ok(());
        }
        self.flush()?;
        // Segments starting after `offset` go whole; one starting exactly at
        // it is emptied by the cut below, keeping its files.
        while self.active.base_offset > offset {
            let next_active = match self.segments.pop_last() {
                Some((_, mut segment)) => {
                    segment.activate()?;
                    segment
                }
                None => Segment::create(&self.dir, offset, self.config.index_interval_bytes, 0)?,
            };
            std::mem::replace(&mut self.active, next_active).delete()?;
        }
        let removed = self.active.truncate_to(offset)?;
        self.active.flush()?;
        self.truncated();
        if offset < self.log_start_offset {
            self.set_log_start_offset(offset)?;
        }
        let end = self.log_end_offset();
        self.epochs.truncate_from_end(end)?;
        self.rebuild_producer_state(wall_clock_ms(), None)?;
        tracing::info!(dir = %self.dir.display(), offset, removed, log_end_offset = end, "truncated log");
        Ok(())
    }
}

/// Ends the transaction a marker (`h`, committing or not as `kind` says)
/// closes; an abort of a transaction that wrote to this partition gives the
/// entry for the segment's aborted-transaction index.
fn end_transaction(
    producers: &mut ProducerStateManager,
    h: &BatchHeader,
    kind: Option<bool>,
    now_ms: i64,
) -> Option<AbortedTxn> {
    let first_offset = producers.complete_transaction(h.producer_id, h.producer_epoch, now_ms)?;
    (kind == Some(false)).then(|| AbortedTxn {
        producer_id: h.producer_id,
        first_offset,
        last_offset: h.base_offset,
        last_stable_offset: producers
            .first_unstable_offset()
            .unwrap_or(h.base_offset + 1),
    })
}

/// The batch `h` describes, starting at `position` of a request's records.
fn batch_at<'a>(records: &'a [u8], position: usize, h: &BatchHeader) -> Result<&'a [u8], LogError> {
    let size = h.total_size().unwrap_or(0);
    records
        .get(position..position + size)
        .filter(|b| b.len() >= batch::HEADER_LEN)
        .ok_or_else(|| LogError::CorruptMessage("batch is truncated".into()))
}

fn sync_dirs(dirs: &[PathBuf]) -> Result<(), LogError> {
    for dir in dirs {
        File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(LogError::io("sync", dir))?;
    }
    Ok(())
}

fn wall_clock_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// What the one listing of a partition directory that opening its log
/// makes finds, so that no file is opened or stat'ed only to learn that it
/// is not there. Index files left without their log (a crash while
/// deleting a segment) and segment files renamed aside by an interrupted
/// deletion are removed on the way.
struct Listing {
    /// Base offsets of the `.log` files, ascending.
    bases: Vec<i64>,
    /// Base offsets of the segments with a `.txnindex` file.
    txn_indexes: Vec<i64>,
    /// Offsets of the producer state snapshots.
    snapshots: Vec<i64>,
    log_start_file: bool,
    /// The compaction side directory a stop in mid-cleaning leaves.
    cleaning: bool,
}

impl Listing {
    /// Lists `dir`, creating it (empty) if it does not exist.
    fn read(dir: &Path) -> Result<Listing, LogError> {
        let mut listing = Listing {
            bases: Vec::new(),
            txn_indexes: Vec::new(),
            snapshots: Vec::new(),
            log_start_file: false,
            cleaning: false,
        };
        let entries = match std::fs::read_dir(dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                std::fs::create_dir_all(dir).map_err(LogError::io("create log directory", dir))?;
                return Ok(listing);
            }
            Err(e) => return Err(LogError::io("list", dir)(e)),
        };
        let mut orphans = Vec::new();
        for entry in entries {
            let Ok(entry) = entry else { continue };
            let name = entry.file_name().to_string_lossy().to_string();
            if name == LOG_START_FILE {
                listing.log_start_file = true;
                continue;
            }
            if name == cleaner::CLEANING_DIR {
                listing.cleaning = true;
                continue;
            }
            if let Some(offset) = producer_state::snapshot_offset(&name) {
                listing.snapshots.push(offset);
                continue;
            }
            let Some((stem, ext)) = name.split_once('.') else {
                continue;
            };
            let Ok(base) = stem.parse::<i64>() else {
                continue;
            };
            match ext {
                "log" if base >= 0 => listing.bases.push(base),
                "index" | "timeindex" => orphans.push((base, entry.path())),
                "txnindex" => {
                    listing.txn_indexes.push(base);
                    orphans.push((base, entry.path()));
                }
                // Renamed aside by a deletion a crash interrupted.
                _ if ext.ends_with(DELETED_SUFFIX.trim_start_matches('.')) => {
                    let path = entry.path();
                    std::fs::remove_file(&path)
                        .map_err(LogError::io("remove deleted segment file", &path))?;
                }
                _ => {}
            }
        }
        for (base, path) in orphans {
            if !listing.bases.contains(&base) {
                tracing::warn!(path = %path.display(), "removing index without its log segment");
                std::fs::remove_file(&path).map_err(LogError::io("remove orphan index", &path))?;
            }
        }
        listing.bases.sort_unstable();
        Ok(listing)
    }
}

#[cfg(test)]
pub(crate) mod tests;
