//! The replica manager: every partition this broker hosts, created and
//! removed as the metadata image says, plus the background work on them
//! (retention, time-based roll and flush) and fetch long-polling.
//!
//! A partition whose log cannot be opened (a damaged file, no file
//! descriptor or disk space left) is *offline*: the broker starts and
//! serves the others, requests for it answer KAFKA_STORAGE_ERROR, and every
//! metadata image applied tries to open it again. Each open partition
//! holds one file descriptor (its active segment); a partition is not
//! opened when that would leave fewer than a reserve of the soft
//! RLIMIT_NOFILE for connections, the metadata quorum and short-lived
//! opens.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::fs::{File, OpenOptions};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use kafka_protocol::error::ResponseError;
use parking_lot::RwLock;
use tokio::sync::Notify;
use uuid::Uuid;

use super::{DiskSpace, Partition, PartitionState, ReadResult};
use crate::log::{
    Log, LogError, OffsetCheckpoint, RECOVERY_POINT_OFFSET_CHECKPOINT,
    REPLICATION_OFFSET_CHECKPOINT,
};

/// Written when the broker stops cleanly; its absence at start-up means the
/// logs must be recovered (Kafka's marker has the same name).
const CLEAN_SHUTDOWN_MARKER: &str = ".kafka_cleanshutdown";

/// Kafka's lock file, one in each log directory.
const LOCK_FILE: &str = ".lock";

#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error("cannot use data directory {path}: {source}")]
    DataDir {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "Failed to acquire lock on file {LOCK_FILE} in {}. A Gregor instance in another process \
         or thread is using this directory.",
        dir.display()
    )]
    Locked { dir: PathBuf },
}

/// File descriptors partitions leave free: at least this many, or a tenth
/// of the limit.
const FD_RESERVE: u64 = 64;

/// How many more partitions may be opened, each holding one descriptor:
/// the soft RLIMIT_NOFILE less the descriptors open and the reserve.
/// `None` when either is unknown (no limit, or no /proc).
fn partition_headroom() -> Option<usize> {
    let limit = rustix::process::getrlimit(rustix::process::Resource::Nofile).current?;
    let open = std::fs::read_dir("/proc/self/fd").ok()?.count() as u64;
    let reserve = FD_RESERVE.max(limit / 10);
    usize::try_from(limit.saturating_sub(open).saturating_sub(reserve)).ok()
}

/// Kafka's directory for the metadata quorum's log, beside the partitions'.
pub const METADATA_LOG_DIR: &str = "__cluster_metadata-0";

pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// An exclusive lock on the data directory (its `.lock`, as Kafka locks
/// each log directory), held for as long as the broker runs. A second
/// process on the same directory would otherwise recover the logs under
/// the first, give out offsets it had already given, and leave a clean
/// shutdown marker over logs it never flushed.
pub struct DataDirLock {
    dir: PathBuf,
    /// The directory did not exist: there is nothing in it to recover.
    created: bool,
    _file: File,
}

impl DataDirLock {
    /// Creates `dir` if needed and locks it, failing at once if another
    /// process or broker holds it. Nothing else in the directory is read
    /// or written before this.
    pub fn acquire(dir: &Path) -> Result<DataDirLock, StartupError> {
        let dir_err = |source| StartupError::DataDir {
            path: dir.to_path_buf(),
            source,
        };
        let created = !dir.exists();
        std::fs::create_dir_all(dir).map_err(dir_err)?;
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(dir.join(LOCK_FILE))
            .map_err(dir_err)?;
        match fs4::FileExt::try_lock(&file) {
            Ok(()) => Ok(DataDirLock {
                dir: dir.to_path_buf(),
                created,
                _file: file,
            }),
            Err(fs4::TryLockError::WouldBlock) => Err(StartupError::Locked {
                dir: dir.to_path_buf(),
            }),
            Err(fs4::TryLockError::Error(e)) => Err(dir_err(e)),
        }
    }
}

pub struct ReplicaManager {
    node_id: i32,
    data_dir: PathBuf,
    /// Held while the manager lives, so only the process that owns the
    /// directory recovers its logs and marks them clean.
    _lock: DataDirLock,
    /// By topic, then index: a Fetch looks each topic up once for all of
    /// the partitions it names.
    partitions: RwLock<HashMap<String, BTreeMap<i32, Arc<Partition>>>>,
    /// Woken on every append (and group commit) so fetches waiting for
    /// min_bytes re-check.
    data_appended: Arc<Notify>,
    /// Woken when a follower's fetch or a group commit moves a high
    /// watermark or a log's durable end, for acks=all and acks=1.
    high_watermark_moved: Arc<Notify>,
    recover: bool,
    /// Image applications must not interleave, or two could open one log.
    apply_lock: parking_lot::Mutex<()>,
    /// Hosted partitions whose logs could not be opened: topic id and why.
    offline: RwLock<HashMap<(String, i32), (Uuid, String)>>,
    disk: Arc<DiskSpace>,
    /// Every hosted partition's high watermark as last written to
    /// `replication-offset-checkpoint`, read at start-up: a log opened
    /// takes its high watermark from here.
    high_watermarks: OffsetCheckpoint,
    /// Every hosted log's recovery point as last written to
    /// `recovery-point-offset-checkpoint`: after an unclean shutdown a log
    /// is checked from here on. Shared with the partitions, which lower
    /// their entry as soon as a truncation moves it back.
    recovery_points: Arc<OffsetCheckpoint>,
}

impl ReplicaManager {
    /// Prepares the data directory `lock` holds; logs are opened by `apply`.
    pub fn open(lock: DataDirLock, node_id: i32) -> Result<ReplicaManager, StartupError> {
        let data_dir = lock.dir.clone();
        let dir_err = |source| StartupError::DataDir {
            path: data_dir.clone(),
            source,
        };
        let marker = data_dir.join(CLEAN_SHUTDOWN_MARKER);
        // A new data directory has nothing to recover.
        let clean = lock.created || marker.exists();
        if marker.exists() {
            std::fs::remove_file(&marker).map_err(dir_err)?;
        }
        if !clean {
            tracing::info!(dir = %data_dir.display(), "no clean shutdown marker: logs will be recovered");
        }
        let disk = Arc::new(DiskSpace::open(&data_dir));
        let high_watermarks = OffsetCheckpoint::load(&data_dir, REPLICATION_OFFSET_CHECKPOINT);
        let recovery_points = Arc::new(OffsetCheckpoint::load(
            &data_dir,
            RECOVERY_POINT_OFFSET_CHECKPOINT,
        ));
        Ok(ReplicaManager {
            node_id,
            data_dir,
            _lock: lock,
            partitions: RwLock::new(HashMap::new()),
            data_appended: Arc::new(Notify::new()),
            high_watermark_moved: Arc::new(Notify::new()),
            recover: !clean,
            apply_lock: parking_lot::Mutex::new(()),
            offline: RwLock::new(HashMap::new()),
            disk,
            high_watermarks,
            recovery_points,
        })
    }

    fn partition_dir(&self, topic: &str, partition: i32) -> PathBuf {
        self.data_dir.join(format!("{topic}-{partition}"))
    }

    /// Brings the hosted partitions in line with the metadata: opens logs of
    /// new replicas (those that cannot be opened are offline until a later
    /// image), applies leadership and config changes, and removes
    /// partitions (and stray directories) no longer hosted here.
    pub fn apply(&self, hosted: &[PartitionState]) {
        let _serial = self.apply_lock.lock();
        let mut wanted = HashSet::new();
        let mut to_open = Vec::new();
        for state in hosted {
            let key = (state.topic.clone(), state.index);
            wanted.insert(key.clone());
            let existing = self.partition(&state.topic, state.index);
            match existing {
                Some(partition) if partition.topic_id == state.topic_id => partition.update(state),
                stale => {
                    // A topic deleted and re-created under the same name has a new id: start empty.
                    if let Some(old) = stale {
                        self.remove_partition(&old);
                    }
                    let offline_id = self.offline.read().get(&key).map(|(id, _)| *id);
                    if offline_id.is_some_and(|id| id != state.topic_id) {
                        self.offline.write().remove(&key);
                        self.remove_dir(&state.topic, state.index);
                    }
                    to_open.push(state);
                }
            }
        }
        // Short of descriptors, the coordinators' internal topics go first.
        to_open.sort_by_key(|state| !state.topic.starts_with("__"));
        let mut headroom = if to_open.is_empty() {
            None
        } else {
            partition_headroom()
        };
        let mut newly_offline: BTreeMap<String, Vec<String>> = BTreeMap::new();
        let mut opened_any = false;
        for state in to_open {
            let key = (state.topic.clone(), state.index);
            if headroom == Some(0) {
                let reason = "opening it would leave too few of the open file limit \
                              (RLIMIT_NOFILE) for connections: raise the limit or host \
                              fewer partitions";
                if self.set_offline(state, reason.into()) {
                    newly_offline
                        .entry(reason.into())
                        .or_default()
                        .push(format!("{}-{}", state.topic, state.index));
                }
                continue;
            }
            let dir = self.partition_dir(&state.topic, state.index);
            let recovery_point = self.recover.then(|| {
                self.recovery_points
                    .get(&state.topic, state.index)
                    .unwrap_or(0)
            });
            let opened = Log::open_with_recovery_point(
                &dir,
                state.log_config.clone(),
                recovery_point,
                now_ms(),
            );
            match opened {
                Ok(log) => {
                    opened_any = true;
                    headroom = headroom.map(|h| h - 1);
                    if self.offline.write().remove(&key).is_some() {
                        tracing::info!(topic = %state.topic, partition = state.index, "partition opened: back online");
                    }
                    let hw = self.high_watermarks.get(&state.topic, state.index);
                    let partition = Arc::new(Partition::new(
                        state,
                        self.node_id,
                        log,
                        hw,
                        self.disk.clone(),
                        self.recovery_points.clone(),
                    ));
                    self.partitions
                        .write()
                        .entry(state.topic.clone())
                        .or_default()
                        .insert(state.index, partition);
                }
                Err(e) => {
                    self.disk.note(&e);
                    if self.set_offline(state, e.to_string()) {
                        newly_offline
                            .entry(e.to_string())
                            .or_default()
                            .push(format!("{}-{}", state.topic, state.index));
                    }
                }
            }
        }
        // A recovery may have cut a log below its checkpointed recovery
        // point: records written there later must not count as fsynced
        // should the broker crash before the next periodic write.
        if opened_any {
            let _ = self.checkpoint_recovery_points();
        }
        for (reason, partitions) in newly_offline {
            tracing::error!(count = partitions.len(), first = %partitions[0], %reason, "cannot open partitions: offline, requests for them answer KAFKA_STORAGE_ERROR");
        }
        self.offline.write().retain(|k, _| wanted.contains(k));
        let gone: Vec<Arc<Partition>> = self
            .all_partitions()
            .into_iter()
            .filter(|p| !wanted.contains(&(p.topic.clone(), p.index)))
            .collect();
        for partition in gone {
            self.remove_partition(&partition);
        }
        self.remove_stray_dirs(&wanted);
        // A smaller ISR can move high watermarks: acks=all waiters look again.
        self.high_watermark_moved.notify_waiters();
        self.data_appended.notify_waiters();
    }

    /// Marks a partition offline; whether that is news (it was online, or
    /// offline for another reason).
    fn set_offline(&self, state: &PartitionState, reason: String) -> bool {
        let key = (state.topic.clone(), state.index);
        let previous = self
            .offline
            .write()
            .insert(key, (state.topic_id, reason.clone()));
        previous.is_none_or(|(_, was)| was != reason)
    }

    /// Partitions of `topic` hosted here whose logs could not be opened,
    /// with why.
    pub fn offline_partitions(&self, topic: &str) -> Vec<(i32, String)> {
        let mut offline: Vec<(i32, String)> = self
            .offline
            .read()
            .iter()
            .filter(|((t, _), _)| t == topic)
            .map(|((_, index), (_, reason))| (*index, reason.clone()))
            .collect();
        offline.sort();
        offline
    }

    /// How many hosted partitions are offline because their logs could not be opened.
    pub fn offline_count(&self) -> usize {
        self.offline.read().len()
    }

    fn remove_partition(&self, partition: &Partition) {
        let mut partitions = self.partitions.write();
        if let Some(topic) = partitions.get_mut(&partition.topic) {
            topic.remove(&partition.index);
            if topic.is_empty() {
                partitions.remove(&partition.topic);
            }
        }
        drop(partitions);
        self.remove_dir(&partition.topic, partition.index);
        tracing::info!(topic = %partition.topic, partition = partition.index, "partition deleted");
    }

    fn remove_dir(&self, topic: &str, partition: i32) {
        for checkpoint in [&self.high_watermarks, &*self.recovery_points] {
            if let Err(e) = checkpoint.remove(topic, partition) {
                tracing::error!(topic, partition, path = %checkpoint.path().display(), error = %e, "cannot remove a deleted partition's checkpoint entry");
            }
        }
        let dir = self.partition_dir(topic, partition);
        if let Err(e) = std::fs::remove_dir_all(&dir) {
            if e.kind() != std::io::ErrorKind::NotFound {
                tracing::error!(dir = %dir.display(), error = %e, "cannot delete partition directory");
            }
        }
    }

    /// Directories of topics deleted while the broker was down (the
    /// metadata quorum's log is not a partition this manager hosts, and
    /// an offline partition's directory is kept).
    fn remove_stray_dirs(&self, hosted: &HashSet<(String, i32)>) {
        let Ok(entries) = std::fs::read_dir(&self.data_dir) else {
            return;
        };
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().to_string();
            if name == METADATA_LOG_DIR {
                continue;
            }
            let Some((topic, index)) = name.rsplit_once('-') else {
                continue;
            };
            let Ok(index) = index.parse::<i32>() else {
                continue;
            };
            if !entry.path().is_dir() || hosted.contains(&(topic.to_string(), index)) {
                continue;
            }
            tracing::info!(dir = %entry.path().display(), "removing directory of a partition not hosted here");
            if let Err(e) = std::fs::remove_dir_all(entry.path()) {
                tracing::error!(dir = %entry.path().display(), error = %e, "cannot remove stray partition directory");
            }
        }
    }

    pub fn partition(&self, topic: &str, partition: i32) -> Option<Arc<Partition>> {
        self.partitions
            .read()
            .get(topic)
            .and_then(|t| t.get(&partition))
            .cloned()
    }

    /// Which of `topic`'s partitions 0..`count` this broker leads.
    pub fn led_partitions(&self, topic: &str, count: i32) -> BTreeSet<i32> {
        (0..count)
            .filter(|i| self.partition(topic, *i).is_some_and(|p| p.is_leader()))
            .collect()
    }

    pub fn all_partitions(&self) -> Vec<Arc<Partition>> {
        self.partitions
            .read()
            .values()
            .flat_map(|t| t.values().cloned())
            .collect()
    }

    /// Whether the data directory is full and appends are refused.
    pub fn is_disk_full(&self) -> bool {
        self.disk.is_full()
    }

    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    /// Finds the partition this broker leads, with Kafka's errors for one it does not.
    pub fn leader_partition(
        &self,
        topic: &str,
        partition: i32,
    ) -> Result<Arc<Partition>, ResponseError> {
        self.as_leader(self.partition(topic, partition), topic, partition)
    }

    /// [`ReplicaManager::leader_partition`] for each of `indexes` of one
    /// topic, under one read of the partition map and one lookup of the
    /// name: a sessionless Fetch names every assigned partition each time.
    pub fn leader_partitions(
        &self,
        topic: &str,
        indexes: impl Iterator<Item = i32>,
    ) -> Vec<Result<Arc<Partition>, ResponseError>> {
        let found: Vec<(i32, Option<Arc<Partition>>)> = {
            let partitions = self.partitions.read();
            let led = partitions.get(topic);
            indexes
                .map(|index| (index, led.and_then(|t| t.get(&index)).cloned()))
                .collect()
        };
        found
            .into_iter()
            .map(|(index, p)| self.as_leader(p, topic, index))
            .collect()
    }

    fn as_leader(
        &self,
        found: Option<Arc<Partition>>,
        topic: &str,
        partition: i32,
    ) -> Result<Arc<Partition>, ResponseError> {
        match found {
            Some(p) if p.is_leader() => Ok(p),
            Some(_) => Err(ResponseError::NotLeaderOrFollower),
            None if self
                .offline
                .read()
                .contains_key(&(topic.to_string(), partition)) =>
            {
                Err(ResponseError::KafkaStorageError)
            }
            None => Err(ResponseError::UnknownTopicOrPartition),
        }
    }

    /// A coordinator's write: answered once durable under flush.messages,
    /// as the coordinators answer their clients straight after it.
    pub fn append_records(
        &self,
        topic: &str,
        partition: i32,
        records: &[u8],
    ) -> Result<crate::log::AppendInfo, ResponseError> {
        let p = self.leader_partition(topic, partition)?;
        let info = p
            .append_records_as_leader(records, now_ms())
            .map_err(|e| e.code)?;
        p.flush_if_wanted()?;
        self.high_watermark_moved.notify_waiters();
        self.data_appended.notify_waiters();
        Ok(info)
    }

    /// Appends to a partition this broker leads, found by the caller. Under
    /// flush.messages the records are not durable yet: the produce waits
    /// ([`ReplicaManager::wait_for_durable`] or `wait_for_high_watermark`)
    /// for the group commit this starts, or joins, to reach them.
    pub fn append_to(
        &self,
        partition: &Arc<Partition>,
        records: &[u8],
    ) -> Result<crate::log::AppendInfo, super::AppendError> {
        let info = partition.append_records_as_leader(records, now_ms())?;
        if partition.claim_group_commit() {
            self.start_group_commit(partition);
        }
        self.data_appended.notify_waiters();
        Ok(info)
    }

    /// Runs a partition's group commit on a blocking thread, so that its
    /// fsyncs hold neither the log's lock nor an async worker; without a
    /// runtime (tools), in place.
    fn start_group_commit(&self, partition: &Arc<Partition>) {
        let p = Arc::clone(partition);
        let hw_moved = Arc::clone(&self.high_watermark_moved);
        let appended = Arc::clone(&self.data_appended);
        let run = move || {
            p.group_commit(|| {
                hw_moved.notify_waiters();
                appended.notify_waiters();
            })
        };
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) => drop(runtime.spawn_blocking(run)),
            Err(_) => run(),
        }
    }

    /// The leader's side of a follower's fetch: records where the follower
    /// is, then reads from there to the log end, or reads nothing when
    /// `max_bytes` is None (a replication throttle holds the partition
    /// back this time). Also returns a wider ISR when the follower has
    /// caught up without being in it.
    pub fn follower_fetch(
        &self,
        topic: &str,
        partition: i32,
        replica: i32,
        fetch_offset: i64,
        max_bytes: Option<usize>,
    ) -> Result<(ReadResult, Option<Vec<i32>>), ResponseError> {
        let p = self.leader_partition(topic, partition)?;
        let (moved, expand) = p.record_follower_fetch(replica, fetch_offset, now_ms());
        if moved {
            // Consumers may read further, and acks=all producers may be answered.
            self.high_watermark_moved.notify_waiters();
            self.data_appended.notify_waiters();
        }
        Ok((p.read_for_follower(fetch_offset, max_bytes)?, expand))
    }

    /// Waits until `partition`'s high watermark passes `offset`, appended
    /// as leader at `leader_epoch` (acks=all). As Kafka's DelayedProduce,
    /// NOT_LEADER_OR_FOLLOWER once this broker no longer leads at that
    /// epoch: as a follower its high watermark may pass `offset` over
    /// another leader's records. REQUEST_TIMED_OUT when `timeout` passes.
    /// KAFKA_STORAGE_ERROR when an fsync failed for the record at `offset`.
    pub async fn wait_for_high_watermark(
        &self,
        partition: &Partition,
        offset: i64,
        leader_epoch: i32,
        timeout: Duration,
    ) -> Result<(), ResponseError> {
        // Kafka's produce purgatory (acks=all, the coordinators' commits):
        // the request's RemoteTimeMs.
        let replicated = self.wait_until(partition, offset, leader_epoch, timeout, |p| {
            p.high_watermark() > offset
        });
        crate::metrics::requests::remote(replicated).await
    }

    /// acks=1: waits until this replica's log is durable past `offset`,
    /// at once unless flush.messages asked for an fsync; errors as
    /// [`ReplicaManager::wait_for_high_watermark`].
    pub async fn wait_for_durable(
        &self,
        partition: &Partition,
        offset: i64,
        leader_epoch: i32,
        timeout: Duration,
    ) -> Result<(), ResponseError> {
        self.wait_until(partition, offset, leader_epoch, timeout, |p| {
            p.durable_end() > offset
        })
        .await
    }

    async fn wait_until(
        &self,
        partition: &Partition,
        offset: i64,
        leader_epoch: i32,
        timeout: Duration,
        reached: impl Fn(&Partition) -> bool,
    ) -> Result<(), ResponseError> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let moved = self.high_watermark_moved.notified();
            tokio::pin!(moved);
            moved.as_mut().enable();
            if !partition.is_leader() || partition.leader_epoch() != leader_epoch {
                return Err(ResponseError::NotLeaderOrFollower);
            }
            // Before `reached`: a later fsync's success does not make these
            // records durable.
            if partition.flush_failed_for(offset) {
                return Err(ResponseError::KafkaStorageError);
            }
            if reached(partition) {
                return Ok(());
            }
            if tokio::time::timeout_at(deadline, moved).await.is_err() {
                return Err(ResponseError::RequestTimedOut);
            }
        }
    }

    /// Writes a transaction marker to a partition this broker leads and
    /// wakes read_committed fetches that wait for the stable offset to move.
    pub fn write_txn_marker(
        &self,
        topic: &str,
        partition: i32,
        producer_id: i64,
        producer_epoch: i16,
        commit: bool,
        coordinator_epoch: i32,
    ) -> Result<i64, ResponseError> {
        let p = self.leader_partition(topic, partition)?;
        let offset = p.write_txn_marker(
            producer_id,
            producer_epoch,
            commit,
            coordinator_epoch,
            now_ms(),
        )?;
        self.data_appended.notify_waiters();
        Ok(offset)
    }

    /// Runs `read` until it has gathered `min_bytes` or `max_wait` passes,
    /// waking on every append; the last attempt's result is returned either way.
    pub async fn wait_for_data<T>(
        &self,
        min_bytes: usize,
        max_wait: Duration,
        mut read: impl FnMut() -> (T, usize),
    ) -> T {
        let deadline = tokio::time::Instant::now() + max_wait;
        loop {
            let notified = self.data_appended.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            let (result, bytes) = read();
            if bytes >= min_bytes || tokio::time::Instant::now() >= deadline {
                return result;
            }
            // Kafka's fetch purgatory: the request's RemoteTimeMs.
            let waited =
                crate::metrics::requests::remote(tokio::time::timeout_at(deadline, notified));
            if waited.await.is_err() {
                return read().0;
            }
        }
    }

    /// Runs retention on every partition; returns the segments deleted.
    pub fn apply_retention(&self) -> usize {
        let now = now_ms();
        self.all_partitions()
            .iter()
            .map(|p| p.apply_retention(now))
            .sum()
    }

    /// Compacts the partitions of compacted topics (a pass does work only
    /// where a segment was rolled since the last).
    pub fn compact(&self) {
        let now = now_ms();
        for p in self.all_partitions() {
            p.compact(now);
        }
    }

    /// Time-based roll and flush, and whether the disk is full.
    pub fn tick(&self) {
        self.disk.check();
        let now = now_ms();
        for p in self.all_partitions() {
            p.tick(now);
        }
    }

    /// Writes every open partition's high watermark to
    /// `replication-offset-checkpoint` (every
    /// `replica.high.watermark.checkpoint.interval.ms` and at shutdown),
    /// so a restart does not expose records the ISR had not all taken.
    pub fn checkpoint_high_watermarks(&self) -> Result<(), LogError> {
        let current = self
            .all_partitions()
            .iter()
            .map(|p| ((p.topic.clone(), p.index), p.high_watermark()))
            .collect::<Vec<_>>();
        self.high_watermarks.update(|| current).inspect_err(|e| {
            tracing::error!(path = %self.high_watermarks.path().display(), error = %e, "cannot write the high watermark checkpoint");
        })
    }

    /// Writes every open log's recovery point to
    /// `recovery-point-offset-checkpoint` (every
    /// `log.flush.offset.checkpoint.interval.ms` and at shutdown).
    pub fn checkpoint_recovery_points(&self) -> Result<(), LogError> {
        let partitions = self.all_partitions();
        self.recovery_points
            .update(|| {
                partitions
                    .iter()
                    .map(|p| ((p.topic.clone(), p.index), p.recovery_point()))
                    .collect::<Vec<_>>()
            })
            .inspect_err(|e| {
                tracing::error!(path = %self.recovery_points.path().display(), error = %e, "cannot write the recovery point checkpoint");
            })
    }

    /// Flushes every log, snapshots its producer state at the log end,
    /// writes the high watermarks and leaves the clean shutdown marker, so
    /// the next start skips recovery and replays no producer batches. No
    /// marker if any of it failed.
    pub fn shutdown(&self) {
        let mut clean = true;
        for p in self.all_partitions() {
            if let Err(e) = p.checkpoint() {
                clean = false;
                tracing::error!(topic = %p.topic, partition = p.index, error = %e, "flush and producer snapshot at shutdown failed");
            }
        }
        // The produces still waiting for a group commit are durable now.
        self.high_watermark_moved.notify_waiters();
        clean &= self.checkpoint_high_watermarks().is_ok();
        clean &= self.checkpoint_recovery_points().is_ok();
        if clean {
            let marker = self.data_dir.join(CLEAN_SHUTDOWN_MARKER);
            let written = std::fs::File::create(&marker).and_then(|f| f.sync_all());
            if let Err(e) = written {
                tracing::error!(error = %e, "cannot write clean shutdown marker");
            }
        }
    }
}
