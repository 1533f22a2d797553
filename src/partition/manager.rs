//! The replica manager: every partition this broker hosts, created and
//! removed as the metadata image says, plus the background work on them
//! and its timers (retention, compaction, time-based roll and flush,
//! checkpoints) and fetch long-polling.
//!
//! A partition whose log cannot be opened (a damaged file, no file
//! descriptor or disk space left) is *offline*: the broker starts and
//! serves the others, requests for it answer KAFKA_STORAGE_ERROR, and every
//! metadata image applied tries to open it again. Partitions are not
//! limited by RLIMIT_NOFILE: their active segments' files are opened
//! through a bounded cache (`log::file_cache`) that closes idle ones.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::fs::{File, OpenOptions};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use kafka_protocol::error::ResponseError;
use parking_lot::RwLock;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use uuid::Uuid;

use super::meta_properties::{MetaProperties, META_PROPERTIES_FILE};
use super::{Awaited, DiskSpace, Partition, PartitionState, Waiter};
use crate::config::BrokerConfig;
use crate::log::{
    partition_metadata, Log, LogError, OffsetCheckpoint, UnsyncedFiles,
    RECOVERY_POINT_OFFSET_CHECKPOINT, REPLICATION_OFFSET_CHECKPOINT,
};
use crate::topic_partition::TopicPartition;

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
    #[error("cannot use log directory {}: {reason}", path.display())]
    MetaProperties { path: PathBuf, reason: String },
    #[error(
        "duplicate log directory found: {} and {} in log.dirs are both {}",
        twin.display(),
        dir.display(),
        canonical.display()
    )]
    DuplicateLogDir {
        dir: PathBuf,
        twin: PathBuf,
        canonical: PathBuf,
    },
}

/// Kafka's directory for the metadata quorum's log, beside the partitions'.
pub const METADATA_LOG_DIR: &str = "__cluster_metadata-0";

/// One of the replica manager's periodic passes over its partitions.
type Work = fn(&ReplicaManager);

/// How often segment.ms rolls and flush.ms flushes are checked.
const TICK: Duration = Duration::from_millis(500);

/// Runs `work` on `target` every `period` on the blocking pool (it
/// touches files) until shutdown; a run that overruns delays the next.
pub fn spawn_periodic<T: Send + Sync + 'static>(
    target: Arc<T>,
    mut shutdown: watch::Receiver<bool>,
    period: Duration,
    work: fn(&T),
) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut interval = tokio::time::interval(period);
        interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        interval.tick().await;
        loop {
            tokio::select! {
                _ = shutdown.changed() => break,
                _ = interval.tick() => {
                    let target = target.clone();
                    let _ = tokio::task::spawn_blocking(move || work(&target)).await;
                }
            }
        }
    })
}

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
    /// Locks each of `log.dirs`. Two entries naming one directory through
    /// different spellings (`..`, a symlink) are refused as Kafka refuses
    /// them, by canonical path: the second lock would otherwise fail as if
    /// another broker held the directory.
    pub fn acquire_all(dirs: &[PathBuf]) -> Result<Vec<DataDirLock>, StartupError> {
        let mut locks: Vec<DataDirLock> = Vec::with_capacity(dirs.len());
        for dir in dirs {
            match DataDirLock::acquire(dir) {
                Ok(lock) => locks.push(lock),
                Err(StartupError::Locked { dir }) => {
                    let canonical = std::fs::canonicalize(&dir).ok();
                    let twin = canonical.as_ref().and_then(|c| {
                        locks
                            .iter()
                            .find(|l| std::fs::canonicalize(&l.dir).ok().as_ref() == Some(c))
                    });
                    return Err(match (twin, canonical) {
                        (Some(twin), Some(canonical)) => StartupError::DuplicateLogDir {
                            dir,
                            twin: twin.dir.clone(),
                            canonical,
                        },
                        _ => StartupError::Locked { dir },
                    });
                }
                Err(e) => return Err(e),
            }
        }
        Ok(locks)
    }

    /// Whether this lock is on `dir`, however it is spelled.
    pub fn holds(&self, dir: &Path) -> bool {
        self.dir == dir
            || std::fs::canonicalize(dir)
                .is_ok_and(|d| std::fs::canonicalize(&self.dir).is_ok_and(|own| own == d))
    }

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

/// One of `log.dirs` (Kafka's JBOD): its own lock, clean shutdown marker,
/// space reserve and offset checkpoints, as Kafka keeps them per directory.
struct LogDir {
    path: PathBuf,
    /// Held while the manager lives, so only the process that owns the
    /// directory recovers its logs and marks them clean.
    _lock: DataDirLock,
    recover: bool,
    /// Its partitions were closed after an I/O error failed it.
    taken_offline: std::sync::atomic::AtomicBool,
    /// Its `meta.properties`, written once the cluster id is known.
    meta: parking_lot::Mutex<MetaProperties>,
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

impl LogDir {
    fn open(lock: DataDirLock, node_id: i32) -> Result<LogDir, StartupError> {
        let path = lock.dir.clone();
        let meta = MetaProperties::load(&path, node_id)?;
        let dir_err = |source| StartupError::DataDir {
            path: path.clone(),
            source,
        };
        let marker = path.join(CLEAN_SHUTDOWN_MARKER);
        // A new data directory has nothing to recover.
        let clean = lock.created || marker.exists();
        if marker.exists() {
            std::fs::remove_file(&marker).map_err(dir_err)?;
        }
        if !clean {
            tracing::info!(dir = %path.display(), "no clean shutdown marker: logs will be recovered");
        }
        Ok(LogDir {
            disk: Arc::new(DiskSpace::open(&path)),
            high_watermarks: OffsetCheckpoint::load(&path, REPLICATION_OFFSET_CHECKPOINT),
            recovery_points: Arc::new(OffsetCheckpoint::load(
                &path,
                RECOVERY_POINT_OFFSET_CHECKPOINT,
            )),
            path,
            _lock: lock,
            recover: !clean,
            taken_offline: std::sync::atomic::AtomicBool::new(false),
            meta: parking_lot::Mutex::new(meta),
        })
    }

    fn checkpoints(&self) -> [&OffsetCheckpoint; 2] {
        [&self.high_watermarks, &self.recovery_points]
    }
}

pub struct ReplicaManager {
    node_id: i32,
    /// `log.dirs`, in the order configured.
    dirs: Vec<LogDir>,
    /// The index in `dirs` of every hosted partition's directory, online
    /// or offline; a new replica goes to the directory with the fewest.
    placement: RwLock<HashMap<TopicPartition, usize>>,
    /// By topic, then index: a Fetch looks each topic up once for all of
    /// the partitions it names.
    partitions: RwLock<HashMap<String, BTreeMap<i32, Arc<Partition>>>>,
    /// Image applications must not interleave, or two could open one log.
    /// Holds whether one has been applied: the data directory is listed
    /// for stray partitions at the first, and after that only when a
    /// partition stops being hosted, not on every metadata change.
    apply_lock: parking_lot::Mutex<bool>,
    /// Hosted partitions whose logs could not be opened: topic id and why.
    offline: RwLock<HashMap<TopicPartition, (Uuid, String)>>,
    /// Replicas being copied to another log directory (AlterReplicaLogDirs).
    moves: parking_lot::Mutex<HashMap<TopicPartition, Move>>,
    /// Log directories AlterReplicaLogDirs asked for partitions not hosted
    /// yet: the replica is created there when it arrives, as Kafka's
    /// LogManager remembers a preferred log dir.
    preferred: parking_lot::Mutex<HashMap<TopicPartition, usize>>,
    /// Threads per log directory opening logs (`num.recovery.threads.per.data.dir`).
    recovery_threads: usize,
    /// To the background thread that makes new logs' unsynced files
    /// durable (Kafka's "flush-metadata-file" task), soon after they are
    /// created rather than at their first append.
    syncer: std::sync::mpsc::Sender<Vec<Arc<UnsyncedFiles>>>,
}

/// fsyncs at once from the background syncer: ext4 commits the journal
/// once for all the fsyncs waiting on it, so concurrent ones cost about
/// what one does.
const SYNC_THREADS: usize = 8;

/// Makes the unsynced files of new logs durable as they arrive, until
/// the sending side is dropped with its manager. A failure is left for
/// the log's first append (or flush) to meet and report.
fn spawn_syncer() -> std::sync::mpsc::Sender<Vec<Arc<UnsyncedFiles>>> {
    let (sender, receiver) = std::sync::mpsc::channel::<Vec<Arc<UnsyncedFiles>>>();
    let spawned = std::thread::Builder::new()
        .name("new-log-sync".into())
        .spawn(move || {
            while let Ok(mut batch) = receiver.recv() {
                batch.extend(receiver.try_iter().flatten());
                in_parallel(&batch, SYNC_THREADS, |files| {
                    if let Err(e) = files.sync() {
                        tracing::warn!(error = %e, "cannot sync a new log's files yet: its first append will");
                    }
                });
            }
        });
    if let Err(e) = spawned {
        // Without the thread each new log syncs its files at its first append.
        tracing::warn!(error = %e, "cannot start the thread syncing new logs' files");
    }
    sender
}

/// A replica being copied to log directory `target`, into `future`
/// (Kafka's `<topic>-<partition>.<uuid>-future`) until it takes over.
struct Move {
    target: usize,
    future: PathBuf,
}

/// How a move ended without an error.
enum MoveOutcome {
    Moved,
    /// Another AlterReplicaLogDirs named another directory meanwhile.
    Retargeted,
    /// The partition was deleted, or closed with its failed directory.
    Gone,
}

/// Why a partition's log could not be opened: the reason it is offline,
/// and the log error, which may say its disk is full.
struct OpenFailure {
    reason: String,
    error: Option<LogError>,
}

/// The suffixes of a future replica's directory and of a moved replica's
/// old one, neither of which a restart keeps.
const FUTURE_DIR_SUFFIX: &str = "-future";
const DELETE_DIR_SUFFIX: &str = "-delete";

impl ReplicaManager {
    /// Prepares the log directories `locks` hold (at least one); logs are
    /// opened by `apply`.
    pub fn open(locks: Vec<DataDirLock>, node_id: i32) -> Result<ReplicaManager, StartupError> {
        let dirs = locks
            .into_iter()
            .map(|lock| LogDir::open(lock, node_id))
            .collect::<Result<Vec<_>, _>>()?;
        assert!(!dirs.is_empty(), "a replica manager needs a log directory");
        // A directory copied onto another would have the same id, and
        // KIP-858's assignments of replicas to directories would be ambiguous.
        for (i, dir) in dirs.iter().enumerate() {
            let id = dir.meta.lock().directory_id;
            if let Some(twin) = dirs[..i].iter().find(|d| d.meta.lock().directory_id == id) {
                return Err(StartupError::MetaProperties {
                    path: dir.path.join(META_PROPERTIES_FILE),
                    reason: format!("duplicate directory.id, also in {}", twin.path.display()),
                });
            }
        }
        Ok(ReplicaManager {
            node_id,
            dirs,
            placement: RwLock::new(HashMap::new()),
            partitions: RwLock::new(HashMap::new()),
            apply_lock: parking_lot::Mutex::new(false),
            offline: RwLock::new(HashMap::new()),
            moves: parking_lot::Mutex::new(HashMap::new()),
            preferred: parking_lot::Mutex::new(HashMap::new()),
            recovery_threads: 1,
            syncer: spawn_syncer(),
        })
    }

    /// Opens logs on `threads` threads per log directory
    /// (`num.recovery.threads.per.data.dir`); one until set.
    pub fn with_recovery_threads(mut self, threads: usize) -> ReplicaManager {
        self.recovery_threads = threads.max(1);
        self
    }

    /// Each log directory's `directory.id`, in `log.dirs` order.
    pub fn directory_ids(&self) -> Vec<Uuid> {
        self.dirs
            .iter()
            .map(|d| d.meta.lock().directory_id)
            .collect()
    }

    /// Writes each log directory's `meta.properties` with the cluster id
    /// the quorum gave, refusing a directory another cluster wrote.
    pub fn claim_log_dirs(&self, cluster_id: &str) -> Result<(), StartupError> {
        for dir in &self.dirs {
            dir.meta.lock().claim(&dir.path, cluster_id)?;
        }
        Ok(())
    }

    fn partition_dir(&self, at: usize, topic: &str, partition: i32) -> PathBuf {
        self.dirs[at].path.join(format!("{topic}-{partition}"))
    }

    /// The directory a hosted partition lives in: where it was placed, else
    /// the first holding its directory, else (a new replica) the one with
    /// the fewest partitions, as Kafka's LogManager chooses.
    fn place(&self, topic: &str, partition: i32) -> usize {
        let key = TopicPartition::new(topic, partition);
        if let Some(at) = self.placement.read().get(&key) {
            return *at;
        }
        let mut placement = self.placement.write();
        // A failed directory takes no new replica; with every directory
        // failed the broker is stopping.
        let usable: Vec<usize> = (0..self.dirs.len())
            .filter(|at| !self.dirs[*at].disk.is_failed())
            .collect();
        let existing = usable
            .iter()
            .copied()
            .find(|at| self.partition_dir(*at, topic, partition).is_dir());
        let preferred = self
            .preferred
            .lock()
            .remove(&key)
            .filter(|at| usable.contains(at));
        let at = existing.or(preferred).unwrap_or_else(|| match usable[..] {
            // Nothing to choose: counting walks every placed partition, and
            // doing so per new partition made creating 50,000 quadratic.
            [] => 0,
            [only] => only,
            _ => {
                let mut counts = vec![0usize; self.dirs.len()];
                for at in placement.values() {
                    counts[*at] += 1;
                }
                usable
                    .iter()
                    .copied()
                    .min_by_key(|at| counts[*at])
                    .unwrap_or(0)
            }
        });
        placement.insert(key, at);
        at
    }

    /// Brings the hosted partitions in line with the metadata: opens logs of
    /// new replicas (those that cannot be opened are offline until a later
    /// image), applies leadership and config changes, and removes
    /// partitions (and stray directories) no longer hosted here.
    pub fn apply(&self, hosted: &[PartitionState]) {
        let mut applied_before = self.apply_lock.lock();
        // Borrowed from `hosted`: every metadata change comes here, and
        // copying each hosted partition's topic name only to find that
        // none is gone cost one allocation per partition each time.
        let wanted: HashSet<(&str, i32)> = hosted
            .iter()
            .map(|state| (state.topic.as_str(), state.index))
            .collect();
        let mut removed_any = self.bring_in(hosted);
        {
            let mut offline = self.offline.write();
            let before = offline.len();
            offline.retain(|tp, _| wanted.contains(&(tp.topic.as_str(), tp.partition)));
            removed_any |= offline.len() < before;
        }
        let gone: Vec<Arc<Partition>> =
            self.partitions_where(|p| !wanted.contains(&(p.topic.as_str(), p.index)));
        for partition in gone {
            self.remove_partition(&partition);
            removed_any = true;
        }
        if removed_any || !*applied_before {
            self.placement
                .write()
                .retain(|tp, _| wanted.contains(&(tp.topic.as_str(), tp.partition)));
            self.remove_stray_dirs();
            let placement = self.placement.read();
            for (at, dir) in self.dirs.iter().enumerate() {
                for checkpoint in dir.checkpoints() {
                    let kept = checkpoint.retain(|topic, index| {
                        placement.get(&TopicPartition::new(topic, index)) == Some(&at)
                    });
                    if let Err(e) = kept {
                        tracing::error!(path = %checkpoint.path().display(), error = %e, "cannot drop checkpoint entries of partitions no longer hosted");
                    }
                }
            }
        }
        *applied_before = true;
    }

    /// Applies what one metadata change did to the partitions hosted
    /// here, after a full [`ReplicaManager::apply`]: `changed` as there,
    /// and `removed` closed and deleted with their files and checkpoint
    /// entries. Partitions offline are retried too, as a full pass would,
    /// when `changed` holds them (the caller adds their states).
    pub fn apply_changes(&self, changed: &[PartitionState], removed: &[TopicPartition]) {
        let _serial = self.apply_lock.lock();
        self.bring_in(changed);
        for tp in removed {
            if let Some(partition) = self.partition(&tp.topic, tp.partition) {
                self.remove_partition(&partition);
            } else if self.offline.write().remove(tp).is_some() {
                self.remove_dir(&tp.topic, tp.partition);
            }
        }
    }

    /// The partitions offline here, to retry with the next image.
    pub fn offline_keys(&self) -> Vec<TopicPartition> {
        self.offline.read().keys().cloned().collect()
    }

    /// Updates the partitions of `states` that are open and opens the
    /// others; whether it removed one (a topic re-created under its name).
    fn bring_in(&self, states: &[PartitionState]) -> bool {
        let mut removed_any = false;
        let mut to_open = Vec::new();
        for state in states {
            let existing = self.partition(&state.topic, state.index);
            match existing {
                Some(partition) if partition.topic_id == state.topic_id => partition.update(state),
                stale => {
                    // A topic deleted and re-created under the same name has a new id: start empty.
                    if let Some(old) = stale {
                        self.remove_partition(&old);
                        removed_any = true;
                    }
                    let key = TopicPartition::new(state.topic.clone(), state.index);
                    let offline_id = self.offline.read().get(&key).map(|(id, _)| *id);
                    if offline_id.is_some_and(|id| id != state.topic_id) {
                        self.offline.write().remove(&key);
                        self.remove_dir(&state.topic, state.index);
                    }
                    to_open.push(state);
                }
            }
        }
        // Replicas already on disk first, so new ones are spread by counts
        // that include them.
        for state in &to_open {
            let name = format!("{}-{}", state.topic, state.index);
            if self.dirs.iter().any(|d| d.path.join(&name).is_dir()) {
                self.place(&state.topic, state.index);
            }
        }
        let mut newly_offline: BTreeMap<String, Vec<String>> = BTreeMap::new();
        // Per log dir, the opened logs whose recovery cut them below their
        // checkpointed recovery point.
        let mut lowered: Vec<Vec<(TopicPartition, i64)>> = vec![Vec::new(); self.dirs.len()];
        // Placed one after another (placement counts what came before),
        // opened on `num.recovery.threads.per.data.dir` threads per log
        // directory (Kafka's LogManager pool): from a cold page cache each
        // log's few small reads are a round trip to the disk apiece, and
        // 10,000 partitions opened in turn took 13 s to start.
        let mut jobs = Vec::with_capacity(to_open.len());
        for state in to_open {
            let at = self.place(&state.topic, state.index);
            let log_dir = &self.dirs[at];
            if log_dir.disk.is_failed() {
                let reason = format!("log directory {} is offline", log_dir.path.display());
                self.set_offline(state, reason);
                continue;
            }
            jobs.push((state, at));
        }
        let opened = self.open_logs(&jobs);
        let mut unsynced = Vec::new();
        for ((state, at), opened) in jobs.into_iter().zip(opened) {
            let key = TopicPartition::new(state.topic.clone(), state.index);
            let log_dir = &self.dirs[at];
            match opened {
                Ok(log) => {
                    unsynced.extend(log.unsynced_files());
                    let checkpointed = log_dir.recovery_points.get(&state.topic, state.index);
                    if checkpointed.is_some_and(|point| log.recovery_point() < point) {
                        lowered[at].push((key.clone(), log.recovery_point()));
                    }
                    if self.offline.write().remove(&key).is_some() {
                        tracing::info!(topic = %state.topic, partition = state.index, "partition opened: back online");
                    }
                    let hw = log_dir.high_watermarks.get(&state.topic, state.index);
                    let partition = Arc::new(Partition::new(
                        state,
                        self.node_id,
                        log,
                        hw,
                        log_dir.disk.clone(),
                        log_dir.recovery_points.clone(),
                    ));
                    self.partitions
                        .write()
                        .entry(state.topic.clone())
                        .or_default()
                        .insert(state.index, partition);
                }
                Err(OpenFailure { reason, error }) => {
                    if let Some(e) = &error {
                        log_dir.disk.note(e);
                    }
                    if self.set_offline(state, reason.clone()) {
                        newly_offline
                            .entry(reason)
                            .or_default()
                            .push(format!("{}-{}", state.topic, state.index));
                    }
                }
            }
        }
        // A recovery may have cut a log below its checkpointed recovery
        // point: records written there later must not count as fsynced
        // should the broker crash before the next periodic write. Only
        // those entries change, so opening a partition among many costs
        // no walk over every partition and usually no write.
        for (dir, entries) in self.dirs.iter().zip(lowered) {
            if entries.is_empty() {
                continue;
            }
            if let Err(e) = dir.recovery_points.update(|| entries) {
                tracing::error!(path = %dir.recovery_points.path().display(), error = %e, "cannot write the recovery point checkpoint");
            }
        }
        for (reason, partitions) in newly_offline {
            tracing::error!(count = partitions.len(), first = %partitions[0], %reason, "cannot open partitions: offline, requests for them answer KAFKA_STORAGE_ERROR");
        }
        if !unsynced.is_empty() {
            // Failing only when the thread could not start: the logs'
            // first appends sync their files then.
            let _ = self.syncer.send(unsynced);
        }
        removed_any
    }

    /// Opens the log of each (partition, log dir) of `jobs`, in order, on
    /// up to `recovery_threads` threads per log directory.
    fn open_logs(&self, jobs: &[(&PartitionState, usize)]) -> Vec<Result<Log, OpenFailure>> {
        in_parallel(
            jobs,
            self.recovery_threads * self.dirs.len(),
            |(state, at)| self.open_log(state, *at),
        )
    }

    /// Opens one partition's log in log dir `at`, recovering it from its
    /// checkpointed recovery point after an unclean stop.
    fn open_log(&self, state: &PartitionState, at: usize) -> Result<Log, OpenFailure> {
        let log_dir = &self.dirs[at];
        let dir = self.partition_dir(at, &state.topic, state.index);
        let recorded_id = partition_metadata::read(&dir).map_err(|e| OpenFailure {
            reason: e.to_string(),
            error: None,
        })?;
        if let Some(old) = recorded_id.filter(|id| *id != state.topic_id) {
            // A replica of a topic deleted (and re-created under this
            // name) while the broker was down: a stray, never served.
            tracing::info!(dir = %dir.display(), old_topic_id = %old, topic_id = %state.topic_id, "removing the directory of a deleted topic's replica");
            self.delete_files(at, &state.topic, state.index);
        }
        let recovery_point = log_dir.recover.then(|| {
            log_dir
                .recovery_points
                .get(&state.topic, state.index)
                .unwrap_or(0)
        });
        let opened =
            Log::open_with_recovery_point(&dir, state.log_config.clone(), recovery_point, now_ms());
        // Directories an older Gregor wrote have no file: the image's id is
        // trusted for them. A new log's file is synced later (see
        // `Log::write_topic_id`): the metadata log holds the id durably.
        opened
            .and_then(|mut log| {
                if recorded_id != Some(state.topic_id) {
                    log.write_topic_id(state.topic_id)?;
                }
                Ok(log)
            })
            .map_err(|e| OpenFailure {
                reason: e.to_string(),
                error: Some(e),
            })
    }

    /// Marks a partition offline; whether that is news (it was online, or
    /// offline for another reason).
    fn set_offline(&self, state: &PartitionState, reason: String) -> bool {
        let key = TopicPartition::new(state.topic.clone(), state.index);
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
            .filter(|(tp, _)| tp.topic == topic)
            .map(|(tp, (_, reason))| (tp.partition, reason.clone()))
            .collect();
        offline.sort();
        offline
    }

    /// How many hosted partitions are offline because their logs could not be opened.
    pub fn offline_count(&self) -> usize {
        self.offline.read().len()
    }

    /// Takes a partition out of service: requests no longer find it, and
    /// those waiting on it are answered.
    fn close(&self, partition: &Partition) {
        let mut partitions = self.partitions.write();
        if let Some(topic) = partitions.get_mut(&partition.topic) {
            topic.remove(&partition.index);
            if topic.is_empty() {
                partitions.remove(&partition.topic);
            }
        }
        drop(partitions);
        partition.mark_removed();
    }

    fn remove_partition(&self, partition: &Partition) {
        self.close(partition);
        self.remove_dir(&partition.topic, partition.index);
        tracing::info!(topic = %partition.topic, partition = partition.index, "partition deleted");
    }

    /// Forgets where a partition no longer hosted lived, and deletes it.
    fn remove_dir(&self, topic: &str, partition: i32) {
        let placed = self
            .placement
            .write()
            .remove(&TopicPartition::new(topic, partition));
        if let Some(at) = placed {
            self.delete_files(at, topic, partition);
        }
    }

    /// Deletes a partition's directory in log dir `at` and its checkpoint entries.
    fn delete_files(&self, at: usize, topic: &str, partition: i32) {
        for checkpoint in self.dirs[at].checkpoints() {
            if let Err(e) = checkpoint.remove(topic, partition) {
                tracing::error!(topic, partition, path = %checkpoint.path().display(), error = %e, "cannot remove a deleted partition's checkpoint entry");
            }
        }
        let dir = self.partition_dir(at, topic, partition);
        if let Err(e) = std::fs::remove_dir_all(&dir) {
            if e.kind() != std::io::ErrorKind::NotFound {
                tracing::error!(dir = %dir.display(), error = %e, "cannot delete partition directory");
            }
        }
    }

    /// Directories of topics deleted while the broker was down, and copies
    /// of hosted partitions in a log dir other than the one they are placed
    /// in (the metadata quorum's log is not a partition this manager hosts,
    /// and an offline partition's directory is kept).
    fn remove_stray_dirs(&self) {
        let placement = self.placement.read();
        for (at, log_dir) in self.dirs.iter().enumerate() {
            let Ok(entries) = std::fs::read_dir(&log_dir.path) else {
                continue;
            };
            for entry in entries.flatten() {
                let name = entry.file_name().to_string_lossy().to_string();
                if name == METADATA_LOG_DIR {
                    continue;
                }
                if name.ends_with(FUTURE_DIR_SUFFIX) || name.ends_with(DELETE_DIR_SUFFIX) {
                    // A move's copy whose swap did not happen (Kafka deletes
                    // it too), or a moved replica's old copy: unless a move
                    // running now is writing it.
                    let path = entry.path();
                    if !self.moves.lock().values().any(|m| m.future == path) {
                        tracing::info!(dir = %path.display(), "removing the leftover of a replica move");
                        if let Err(e) = std::fs::remove_dir_all(&path) {
                            tracing::error!(dir = %path.display(), error = %e, "cannot remove a replica move's leftover");
                        }
                    }
                    continue;
                }
                let Some((topic, index)) = name.rsplit_once('-') else {
                    continue;
                };
                let Ok(index) = index.parse::<i32>() else {
                    continue;
                };
                if !entry.path().is_dir()
                    || placement.get(&TopicPartition::new(topic, index)) == Some(&at)
                {
                    continue;
                }
                tracing::info!(dir = %entry.path().display(), "removing directory of a partition not hosted here");
                if let Err(e) = std::fs::remove_dir_all(entry.path()) {
                    tracing::error!(dir = %entry.path().display(), error = %e, "cannot remove stray partition directory");
                }
            }
        }
    }

    /// The index in `log.dirs` of the directory a client names, by its
    /// path as configured or its canonical path (which DescribeLogDirs gives).
    pub fn log_dir_index(&self, path: &str) -> Option<usize> {
        let named = Path::new(path);
        let canonical = std::fs::canonicalize(named).ok();
        self.dirs.iter().position(|d| {
            d.path == named
                || canonical
                    .as_ref()
                    .is_some_and(|c| std::fs::canonicalize(&d.path).ok().as_ref() == Some(c))
        })
    }

    /// AlterReplicaLogDirs for one partition: moves its replica to log
    /// directory `at` in the background, as Kafka's future replica does.
    /// A partition not hosted yet is created there when it arrives
    /// (answered REPLICA_NOT_AVAILABLE now).
    pub fn alter_log_dir(
        self: &Arc<Self>,
        topic: &str,
        index: i32,
        at: usize,
    ) -> Result<(), ResponseError> {
        if self.dirs[at].disk.is_failed() {
            return Err(ResponseError::KafkaStorageError);
        }
        let key = TopicPartition::new(topic, index);
        let Some(partition) = self.partition(topic, index) else {
            if self.offline.read().contains_key(&key) {
                return Err(ResponseError::KafkaStorageError);
            }
            // Remembered for when it arrives, and REPLICA_NOT_AVAILABLE
            // meanwhile, as Kafka answers (its reassignment tool takes that
            // as "not created yet").
            self.preferred.lock().insert(key, at);
            return Err(ResponseError::ReplicaNotAvailable);
        };
        let current = self.placement.read().get(&key).copied();
        let mut moves = self.moves.lock();
        if let Some(running) = moves.get_mut(&key) {
            // The running move sees the new target before it swaps.
            running.target = at;
            return Ok(());
        }
        if current == Some(at) {
            return Ok(());
        }
        moves.insert(
            key.clone(),
            Move {
                target: at,
                future: self.future_dir(at, topic, index),
            },
        );
        drop(moves);
        let manager = Arc::clone(self);
        let run = move || manager.run_move(&partition, &key);
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) => drop(runtime.spawn_blocking(run)),
            Err(_) => run(),
        }
        Ok(())
    }

    fn future_dir(&self, at: usize, topic: &str, index: i32) -> PathBuf {
        self.dirs[at].path.join(format!(
            "{topic}-{index}.{}{FUTURE_DIR_SUFFIX}",
            Uuid::new_v4().simple()
        ))
    }

    /// Replicas being moved, by the index of the log directory they are
    /// copied to, with the bytes copied so far.
    pub fn future_replicas(&self) -> Vec<(usize, Arc<Partition>, u64)> {
        let moves: Vec<(TopicPartition, usize, PathBuf)> = self
            .moves
            .lock()
            .iter()
            .map(|(key, m)| (key.clone(), m.target, m.future.clone()))
            .collect();
        moves
            .into_iter()
            .filter_map(|(key, target, future)| {
                let copied = std::fs::read_dir(future)
                    .map(|entries| {
                        entries
                            .flatten()
                            .filter_map(|e| e.metadata().ok())
                            .map(|m| m.len())
                            .sum()
                    })
                    .unwrap_or(0);
                Some((target, self.partition(&key.topic, key.partition)?, copied))
            })
            .collect()
    }

    /// Runs a move to its end, following a new target should one be asked
    /// for meanwhile; a failed move leaves the replica where it was.
    fn run_move(&self, partition: &Arc<Partition>, key: &TopicPartition) {
        loop {
            let Some((target, future)) = self
                .moves
                .lock()
                .get(key)
                .map(|m| (m.target, m.future.clone()))
            else {
                return;
            };
            let outcome = self.move_replica(partition, key, target, &future);
            if !matches!(outcome, Ok(MoveOutcome::Moved)) {
                if let Err(e) = std::fs::remove_dir_all(&future) {
                    if e.kind() != std::io::ErrorKind::NotFound {
                        tracing::error!(dir = %future.display(), error = %e, "cannot remove an abandoned future replica");
                    }
                }
            }
            let mut moves = self.moves.lock();
            match outcome {
                Ok(MoveOutcome::Retargeted) => {
                    let current = self.placement.read().get(key).copied();
                    if let Some(running) = moves.get_mut(key) {
                        if current != Some(running.target) {
                            running.future =
                                self.future_dir(running.target, &key.topic, key.partition);
                            continue;
                        }
                    }
                }
                Ok(MoveOutcome::Moved) => {
                    tracing::info!(topic = %key.topic, partition = key.partition, dir = %self.dirs[target].path.display(), "replica moved to another log directory");
                }
                Ok(MoveOutcome::Gone) => {}
                Err(e) => {
                    tracing::error!(topic = %key.topic, partition = key.partition, dir = %self.dirs[target].path.display(), error = %e, "moving the replica to another log directory failed: it stays where it was");
                }
            }
            moves.remove(key);
            return;
        }
    }

    /// Copies the replica into `future` while it serves, then, under the
    /// partition's write lock, copies what changed since, puts the copy in
    /// place and serves from it. At every step one complete replica is
    /// where a restart finds it: the old one until the new one is renamed
    /// into place, and the new one once the old one is renamed away (both,
    /// identical, in between); a restart deletes the other directories.
    fn move_replica(
        &self,
        partition: &Arc<Partition>,
        key: &TopicPartition,
        target: usize,
        future: &Path,
    ) -> Result<MoveOutcome, LogError> {
        let (topic, index) = (key.topic.as_str(), key.partition);
        let Some(from) = self.placement.read().get(key).copied() else {
            return Ok(MoveOutcome::Gone);
        };
        let src = self.partition_dir(from, topic, index);
        std::fs::create_dir_all(future).map_err(LogError::io("create future replica", future))?;
        // The bulk of the data, closed segments above all, while producers
        // and consumers go on.
        let mut copied = HashMap::new();
        copy_changed(&src, future, &mut copied)?;
        // Deletion and a failed directory's closing wait for the swap.
        let _applying = self.apply_lock.lock();
        if partition.is_removed()
            || !self
                .partition(topic, index)
                .is_some_and(|p| Arc::ptr_eq(&p, partition))
        {
            return Ok(MoveOutcome::Gone);
        }
        if self.moves.lock().get(key).map(|m| m.target) != Some(target) {
            return Ok(MoveOutcome::Retargeted);
        }
        let to = &self.dirs[target];
        let dst = self.partition_dir(target, topic, index);
        let trash = self.dirs[from].path.join(format!(
            "{topic}-{index}.{}{DELETE_DIR_SUFFIX}",
            Uuid::new_v4().simple()
        ));
        partition.relocate(|log| {
            copy_changed(&src, future, &mut copied)?;
            sync_dirs(&[future])?;
            // Before the swap, so a restart that finds the new replica
            // finds its offsets too.
            let hw = partition.high_watermark();
            to.high_watermarks.update(|| [(key.clone(), hw)])?;
            to.recovery_points
                .update(|| [(key.clone(), log.recovery_point())])?;
            std::fs::rename(future, &dst).map_err(LogError::io("rename future replica", future))?;
            sync_dirs(&[to.path.as_path()])?;
            let undo = |e: LogError| {
                if let Err(undo) = std::fs::rename(&dst, future) {
                    tracing::error!(dir = %dst.display(), error = %undo, "cannot take a failed move's copy out of place");
                }
                e
            };
            // Flushed and snapshotted just now: nothing to recover.
            let moved = Log::open_with_recovery_point(&dst, log.config().clone(), None, now_ms())
                .map_err(undo)?;
            // From here on appends go to the new replica only: a restart
            // must not find the old one.
            std::fs::rename(&src, &trash)
                .map_err(LogError::io("rename moved replica", &src))
                .and_then(|()| sync_dirs(&[self.dirs[from].path.as_path()]))
                .map_err(undo)?;
            self.placement.write().insert(key.clone(), target);
            Ok((moved, to.disk.clone(), to.recovery_points.clone()))
        })?;
        drop(_applying);
        for checkpoint in self.dirs[from].checkpoints() {
            if let Err(e) = checkpoint.remove(topic, index) {
                tracing::error!(topic, partition = index, path = %checkpoint.path().display(), error = %e, "cannot remove a moved replica's old checkpoint entry");
            }
        }
        if let Err(e) = std::fs::remove_dir_all(&trash) {
            if e.kind() != std::io::ErrorKind::NotFound {
                tracing::error!(dir = %trash.display(), error = %e, "cannot delete a moved replica's old directory");
            }
        }
        Ok(MoveOutcome::Moved)
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

    /// The partitions `pick` chooses, under one read of the map: a periodic
    /// pass over thousands of idle partitions clones and locks none of them.
    pub fn partitions_where(&self, pick: impl Fn(&Partition) -> bool) -> Vec<Arc<Partition>> {
        self.partitions
            .read()
            .values()
            .flat_map(|t| t.values())
            .filter(|p| pick(p))
            .cloned()
            .collect()
    }

    /// How many log directories an I/O error failed (Kafka's
    /// OfflineLogDirectoryCount): they stay offline until a restart.
    pub fn offline_log_dir_count(&self) -> usize {
        self.dirs.iter().filter(|d| d.disk.is_failed()).count()
    }

    /// Each log directory, in `log.dirs` order: whether it failed, and the
    /// open partitions in it.
    pub fn log_dirs(&self) -> Vec<(PathBuf, bool, Vec<Arc<Partition>>)> {
        self.by_dir()
            .into_iter()
            .zip(&self.dirs)
            .map(|(partitions, dir)| (dir.path.clone(), dir.disk.is_failed(), partitions))
            .collect()
    }

    /// Closes the partitions of directories an I/O error failed: they stay
    /// offline (KAFKA_STORAGE_ERROR) and are not opened again until a
    /// restart. With every directory failed the broker cannot serve
    /// anything and exits, as Kafka does.
    fn take_failed_dirs_offline(&self) {
        use std::sync::atomic::Ordering;
        let newly: Vec<usize> = (0..self.dirs.len())
            .filter(|at| {
                self.dirs[*at].disk.is_failed()
                    && !self.dirs[*at].taken_offline.swap(true, Ordering::AcqRel)
            })
            .collect();
        if newly.is_empty() {
            return;
        }
        if self.dirs.iter().all(|d| d.disk.is_failed()) {
            tracing::error!("every log directory failed: the broker stops");
            std::process::exit(1);
        }
        let _applying = self.apply_lock.lock();
        let by_dir = self.by_dir();
        for at in newly {
            let reason = format!("log directory {} is offline", self.dirs[at].path.display());
            for p in &by_dir[at] {
                self.close(p);
                self.offline.write().insert(
                    TopicPartition::new(p.topic.clone(), p.index),
                    (p.topic_id, reason.clone()),
                );
            }
            tracing::error!(dir = %self.dirs[at].path.display(), partitions = by_dir[at].len(), "log directory offline: its partitions closed");
        }
    }

    /// Hosted partitions placed in a failed log directory, which the
    /// controller must not keep this broker leader or ISR member of.
    pub fn failed_dir_partitions(&self) -> Vec<TopicPartition> {
        self.placement
            .read()
            .iter()
            .filter(|(_, at)| self.dirs[**at].disk.is_failed())
            .map(|(key, _)| key.clone())
            .collect()
    }

    /// The open partitions, by the index of their log directory.
    fn by_dir(&self) -> Vec<Vec<Arc<Partition>>> {
        let mut by_dir = vec![Vec::new(); self.dirs.len()];
        let partitions = self.all_partitions();
        let placement = self.placement.read();
        for p in partitions {
            if let Some(at) = placement.get(&TopicPartition::new(p.topic.clone(), p.index)) {
                by_dir[*at].push(p);
            }
        }
        by_dir
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
                .contains_key(&TopicPartition::new(topic, partition)) =>
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
        self.flush_in_background(&p);
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
        self.flush_in_background(partition);
        Ok(info)
    }

    /// Starts the partition's group commit if its log has an fsync due (one
    /// `flush.messages` wants, or a rolled segment's) and none runs: after
    /// anything that may append or roll.
    pub fn flush_in_background(&self, partition: &Arc<Partition>) {
        if partition.claim_group_commit() {
            self.start_group_commit(partition);
        }
    }

    /// Runs a partition's group commit on a blocking thread, so that its
    /// fsyncs hold neither the log's lock nor an async worker; without a
    /// runtime (tools), in place.
    fn start_group_commit(&self, partition: &Arc<Partition>) {
        let p = Arc::clone(partition);
        let run = move || p.group_commit();
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) => drop(runtime.spawn_blocking(run)),
            Err(_) => run(),
        }
    }

    /// Waits until `partition`'s high watermark passes `offset`, appended
    /// as leader at `leader_epoch` (acks=all). As Kafka's DelayedProduce,
    /// NOT_LEADER_OR_FOLLOWER once this broker no longer leads at that
    /// epoch: as a follower its high watermark may pass `offset` over
    /// another leader's records. REQUEST_TIMED_OUT when `timeout` passes.
    /// KAFKA_STORAGE_ERROR when an fsync failed for the record at `offset`.
    /// UNKNOWN_TOPIC_OR_PARTITION once the partition is deleted.
    pub async fn wait_for_high_watermark(
        &self,
        partition: &Arc<Partition>,
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
        partition: &Arc<Partition>,
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
        partition: &Arc<Partition>,
        offset: i64,
        leader_epoch: i32,
        timeout: Duration,
        reached: impl Fn(&Partition) -> bool,
    ) -> Result<(), ResponseError> {
        let deadline = tokio::time::Instant::now() + timeout;
        let mut waiter = None;
        loop {
            if partition.is_removed() {
                return Err(ResponseError::UnknownTopicOrPartition);
            }
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
            // Registered before the checks are made again, so that a move
            // between them and the await is not missed.
            let Some(waiter) = &waiter else {
                waiter = Some(Waiter::new(
                    vec![Arc::clone(partition)],
                    Awaited::HighWatermark,
                ));
                continue;
            };
            if tokio::time::timeout_at(deadline, waiter.woken())
                .await
                .is_err()
            {
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
        self.flush_in_background(&p);
        Ok(offset)
    }

    /// Runs `read` until it has gathered `min_bytes` or `max_wait` passes;
    /// the last attempt's result is returned either way. Between attempts
    /// it waits on the partitions `watched` gives (only asked for once the
    /// first attempt falls short) to move as `awaited`, or to change
    /// leader or be deleted.
    pub async fn wait_for_data<T>(
        &self,
        min_bytes: usize,
        max_wait: Duration,
        watched: impl FnOnce() -> Vec<Arc<Partition>>,
        awaited: Awaited,
        mut read: impl FnMut() -> (T, usize),
    ) -> T {
        let deadline = tokio::time::Instant::now() + max_wait;
        let (result, bytes) = read();
        if bytes >= min_bytes || max_wait.is_zero() {
            return result;
        }
        // Registered before the next read, so that nothing appended after
        // the first goes unnoticed.
        let waiter = Waiter::new(watched(), awaited);
        loop {
            let (result, bytes) = read();
            if bytes >= min_bytes || tokio::time::Instant::now() >= deadline {
                return result;
            }
            // Kafka's fetch purgatory: the request's RemoteTimeMs.
            let waited =
                crate::metrics::requests::remote(tokio::time::timeout_at(deadline, waiter.woken()));
            if waited.await.is_err() {
                return read().0;
            }
        }
    }

    /// Starts the log timers, each on the blocking pool (they touch
    /// files) until shutdown: retention every
    /// log.retention.check.interval.ms, compaction every
    /// log.cleaner.backoff.ms (Kafka's cleaner threads look for work that
    /// often, apart from retention), the time-based roll and flush check,
    /// and the high watermark and recovery point checkpoints.
    pub fn spawn_timers(
        self: &Arc<Self>,
        config: &BrokerConfig,
        shutdown: watch::Receiver<bool>,
    ) -> Vec<JoinHandle<()>> {
        let every = |ms: u64| Duration::from_millis(ms);
        let timers: [(Duration, Work); 5] = [
            (every(config.log_retention_check_interval_ms()), |r| {
                let deleted = r.apply_retention();
                if deleted > 0 {
                    tracing::info!(segments = deleted, "retention deleted old segments");
                }
            }),
            (every(config.log_cleaner_backoff_ms()), |r| r.compact()),
            (TICK, |r| r.tick()),
            // Logged where they failed; the next interval tries again.
            (
                every(config.replica_high_watermark_checkpoint_interval_ms()),
                |r| drop(r.checkpoint_high_watermarks()),
            ),
            (
                every(config.log_flush_offset_checkpoint_interval_ms()),
                |r| drop(r.checkpoint_recovery_points()),
            ),
        ];
        timers
            .into_iter()
            .map(|(period, work)| spawn_periodic(self.clone(), shutdown.clone(), period, work))
            .collect()
    }

    /// Runs retention on every partition; returns the segments deleted.
    pub fn apply_retention(&self) -> usize {
        let now = now_ms();
        self.partitions_where(|p| p.retention_due(now))
            .iter()
            .map(|p| {
                let deleted = p.apply_retention(now);
                // An expired active segment was rolled to go too.
                self.flush_in_background(p);
                deleted
            })
            .sum()
    }

    /// Compacts the partitions of compacted topics (a pass does work only
    /// where a segment was rolled since the last).
    pub fn compact(&self) {
        let now = now_ms();
        for p in self.partitions_where(Partition::compaction_due) {
            p.compact(now);
        }
    }

    /// Time-based roll and flush, and whether the disk is full.
    pub fn tick(&self) {
        for dir in &self.dirs {
            dir.disk.check();
        }
        self.take_failed_dirs_offline();
        let now = now_ms();
        for p in self.partitions_where(|p| p.tick_due(now)) {
            p.tick(now);
            self.flush_in_background(&p);
        }
    }

    /// Writes every open partition's high watermark to
    /// `replication-offset-checkpoint` (every
    /// `replica.high.watermark.checkpoint.interval.ms` and at shutdown),
    /// so a restart does not expose records the ISR had not all taken.
    pub fn checkpoint_high_watermarks(&self) -> Result<(), LogError> {
        let mut result = Ok(());
        for (dir, partitions) in self.dirs.iter().zip(self.by_dir()) {
            let written = dir.high_watermarks.update(|| {
                partitions
                    .iter()
                    .map(|p| ((p.topic.as_str(), p.index), p.high_watermark()))
            });
            if let Err(e) = written {
                tracing::error!(path = %dir.high_watermarks.path().display(), error = %e, "cannot write the high watermark checkpoint");
                result = Err(e);
            }
        }
        result
    }

    /// Writes every open log's recovery point to its log directory's
    /// `recovery-point-offset-checkpoint` (every
    /// `log.flush.offset.checkpoint.interval.ms` and at shutdown).
    pub fn checkpoint_recovery_points(&self) -> Result<(), LogError> {
        let mut result = Ok(());
        for (dir, partitions) in self.dirs.iter().zip(self.by_dir()) {
            let written = dir.recovery_points.update(|| {
                partitions
                    .iter()
                    .map(|p| ((p.topic.as_str(), p.index), p.recovery_point()))
            });
            if let Err(e) = written {
                tracing::error!(path = %dir.recovery_points.path().display(), error = %e, "cannot write the recovery point checkpoint");
                result = Err(e);
            }
        }
        result
    }

    /// Flushes every log, snapshots its producer state at the log end,
    /// writes the high watermarks and leaves the clean shutdown marker, so
    /// the next start skips recovery and replays no producer batches. No
    /// marker if any of it failed.
    pub fn shutdown(&self) {
        // On the recovery threads, as Kafka's LogManager closes logs: each
        // checkpoint fsyncs, and one after another 10,000 partitions took
        // 100 s to stop.
        let partitions = self.all_partitions();
        let checkpointed = in_parallel(&partitions, self.recovery_threads * self.dirs.len(), |p| {
            p.checkpoint()
                .inspect_err(|e| tracing::error!(topic = %p.topic, partition = p.index, error = %e, "flush and producer snapshot at shutdown failed"))
                .is_ok()
        });
        let mut clean = checkpointed.iter().all(|ok| *ok);
        clean &= self.checkpoint_high_watermarks().is_ok();
        clean &= self.checkpoint_recovery_points().is_ok();
        if clean {
            for dir in &self.dirs {
                let marker = dir.path.join(CLEAN_SHUTDOWN_MARKER);
                let written = std::fs::File::create(&marker).and_then(|f| f.sync_all());
                if let Err(e) = written {
                    tracing::error!(dir = %dir.path.display(), error = %e, "cannot write clean shutdown marker");
                }
            }
        }
    }
}

/// `work` applied to each of `items` on up to `threads` threads (scoped:
/// it returns once all are done), the results in the items' order.
fn in_parallel<T: Sync, R: Send>(
    items: &[T],
    threads: usize,
    work: impl Fn(&T) -> R + Sync,
) -> Vec<R> {
    let threads = threads.min(items.len());
    if threads <= 1 {
        return items.iter().map(work).collect();
    }
    let next = AtomicUsize::new(0);
    let mut done: Vec<(usize, R)> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                scope.spawn(|| {
                    let mut done = Vec::new();
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some(item) = items.get(i) else {
                            return done;
                        };
                        done.push((i, work(item)));
                    }
                })
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|w| w.join().expect("a worker thread panicked"))
            .collect()
    });
    done.sort_unstable_by_key(|(i, _)| *i);
    done.into_iter().map(|(_, r)| r).collect()
}

/// What identifies a file's content as copied: inode, length and mtime.
type FileStamp = (u64, u64, SystemTime);

/// Copies (and fsyncs) the files of `src` into `dst` that are new or
/// changed since they were last copied, and deletes from `dst` the files
/// gone from `src` (retention, compaction). A file is trusted unchanged
/// only if its mtime was over a second old when it was copied: mtime has
/// a coarse clock, and a write in the same tick would leave it as it was.
fn copy_changed(
    src: &Path,
    dst: &Path,
    copied: &mut HashMap<std::ffi::OsString, FileStamp>,
) -> Result<(), LogError> {
    use std::os::unix::fs::MetadataExt;
    let mut present = HashSet::new();
    let entries = std::fs::read_dir(src).map_err(LogError::io("list replica", src))?;
    for entry in entries {
        let entry = entry.map_err(LogError::io("list replica", src))?;
        let name = entry.file_name();
        let from = entry.path();
        let meta = match std::fs::metadata(&from) {
            Ok(meta) if meta.is_file() => meta,
            Ok(_) => continue,
            // Deleted since it was listed.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(LogError::io("read replica file", &from)(e)),
        };
        present.insert(name.clone());
        let modified = meta
            .modified()
            .map_err(LogError::io("read replica file", &from))?;
        let stamp = (meta.ino(), meta.len(), modified);
        if copied.get(&name) == Some(&stamp) {
            continue;
        }
        let to = dst.join(&name);
        match std::fs::copy(&from, &to) {
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                present.remove(&name);
                continue;
            }
            Err(e) => return Err(LogError::io("copy replica file", &from)(e)),
        }
        File::open(&to)
            .and_then(|f| f.sync_all())
            .map_err(LogError::io("sync copied file", &to))?;
        let settled = SystemTime::now()
            .duration_since(modified)
            .is_ok_and(|age| age > Duration::from_secs(1));
        if settled {
            copied.insert(name, stamp);
        } else {
            copied.remove(&name);
        }
    }
    let entries = std::fs::read_dir(dst).map_err(LogError::io("list future replica", dst))?;
    for entry in entries {
        let entry = entry.map_err(LogError::io("list future replica", dst))?;
        if !present.contains(&entry.file_name()) {
            copied.remove(&entry.file_name());
            std::fs::remove_file(entry.path())
                .map_err(LogError::io("remove from future replica", entry.path()))?;
        }
    }
    Ok(())
}

/// fsyncs directories, so the entries renamed or created in them last.
fn sync_dirs(dirs: &[&Path]) -> Result<(), LogError> {
    for dir in dirs {
        File::open(dir)
            .and_then(|f| f.sync_all())
            .map_err(LogError::io("sync directory", *dir))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::log::partition_metadata::PARTITION_METADATA_FILE;
    use std::sync::atomic::{AtomicUsize, Ordering};

    fn state(topic: &str) -> PartitionState {
        PartitionState {
            topic: topic.to_string(),
            topic_id: Uuid::new_v4(),
            index: 0,
            replicas: vec![1],
            isr: vec![1],
            leader: 1,
            leader_epoch: 0,
            partition_epoch: 0,
            log_config: crate::config::LogConfig::default(),
            min_insync_replicas: 1,
        }
    }

    fn manager(dir: &Path, topics: &[&str]) -> ReplicaManager {
        let manager = ReplicaManager::open(vec![DataDirLock::acquire(dir).unwrap()], 1).unwrap();
        let states: Vec<PartitionState> = topics.iter().map(|t| state(t)).collect();
        manager.apply(&states);
        manager
    }

    fn manager_with(dir: &Path, states: &[PartitionState]) -> ReplicaManager {
        let manager = ReplicaManager::open(vec![DataDirLock::acquire(dir).unwrap()], 1).unwrap();
        manager.apply(states);
        manager
    }

    fn append(manager: &ReplicaManager, topic: &str) {
        let p = manager.partition(topic, 0).unwrap();
        manager
            .append_to(&p, &crate::log::tests::one("v", now_ms()))
            .unwrap();
    }

    #[test]
    fn changes_update_recreate_and_remove_only_the_partitions_named() {
        let dir = tempfile::tempdir().unwrap();
        let manager = manager(dir.path(), &["a", "b", "c"]);
        for topic in ["a", "b", "c"] {
            append(&manager, topic);
        }
        let untouched = manager.partition("a", 0).unwrap();
        let led_elsewhere = PartitionState {
            topic_id: manager.partition("b", 0).unwrap().topic_id,
            replicas: vec![1, 2],
            leader: 2,
            leader_epoch: 1,
            ..state("b")
        };
        // "c" deleted and created again: a new id, so a new, empty log.
        let recreated = state("c");
        manager.apply_changes(&[led_elsewhere, recreated.clone()], &[]);
        assert!(!manager.partition("b", 0).unwrap().is_leader());
        let c = manager.partition("c", 0).unwrap();
        assert_eq!((c.topic_id, c.high_watermark()), (recreated.topic_id, 0));
        manager.apply_changes(&[], &[TopicPartition::new("a", 0)]);
        assert!(manager.partition("a", 0).is_none() && untouched.is_removed());
        assert!(!dir.path().join("a-0").exists());
        assert!(dir.path().join("b-0").is_dir());
    }

    /// Lets every task woken so far run (the runtime is single-threaded).
    async fn settle() {
        for _ in 0..10 {
            tokio::task::yield_now().await;
        }
    }

    #[tokio::test(flavor = "current_thread")]
    async fn a_waiting_fetch_wakes_only_for_the_partitions_it_reads() {
        let dir = tempfile::tempdir().unwrap();
        let manager = Arc::new(manager(dir.path(), &["a", "b"]));
        let a = manager.partition("a", 0).unwrap();
        let reads = Arc::new(AtomicUsize::new(0));
        let fetch = tokio::spawn({
            let (manager, a, reads) = (manager.clone(), a.clone(), reads.clone());
            async move {
                let watched = || vec![a.clone()];
                manager
                    .wait_for_data(
                        1,
                        Duration::from_secs(30),
                        watched,
                        Awaited::HighWatermark,
                        || {
                            reads.fetch_add(1, Ordering::SeqCst);
                            let hw = a.high_watermark();
                            (hw, hw as usize)
                        },
                    )
                    .await
            }
        });
        settle().await;
        // The first read, and the one after registering.
        assert_eq!(reads.load(Ordering::SeqCst), 2);
        for _ in 0..5 {
            append(&manager, "b");
        }
        settle().await;
        assert_eq!(
            reads.load(Ordering::SeqCst),
            2,
            "appends to b woke a fetch of a"
        );
        append(&manager, "a");
        let hw = tokio::time::timeout(Duration::from_secs(10), fetch)
            .await
            .expect("answered by the append to a, long before max_wait")
            .unwrap();
        assert_eq!(hw, 1);
        assert_eq!(reads.load(Ordering::SeqCst), 3);
        assert_eq!(
            a.watchers.count(Awaited::HighWatermark),
            0,
            "registration left behind"
        );
    }

    #[tokio::test(flavor = "current_thread")]
    async fn a_waiting_fetch_wakes_when_its_partition_changes_leader_or_is_deleted() {
        let dir = tempfile::tempdir().unwrap();
        let manager = Arc::new(
            ReplicaManager::open(vec![DataDirLock::acquire(dir.path()).unwrap()], 1).unwrap(),
        );
        let mut states = vec![state("a"), state("b")];
        manager.apply(&states);
        for (at, change) in [(0, "changed leader"), (1, "was deleted")] {
            let p = manager.partition(&states[at].topic, 0).unwrap();
            let fetch = tokio::spawn({
                let (manager, p) = (manager.clone(), p.clone());
                async move {
                    let watched = || vec![p.clone()];
                    manager
                        .wait_for_data(1, Duration::from_secs(30), watched, Awaited::LogEnd, || {
                            let gone = p.is_removed() || !p.is_leader();
                            (gone, usize::from(gone))
                        })
                        .await
                }
            });
            settle().await;
            assert!(!fetch.is_finished());
            if change == "changed leader" {
                states[0].leader = 2;
                states[0].leader_epoch = 1;
            } else {
                states.remove(at);
            }
            manager.apply(&states);
            let answered = tokio::time::timeout(Duration::from_secs(10), fetch)
                .await
                .unwrap_or_else(|_| panic!("not woken when the partition {change}"))
                .unwrap();
            assert!(answered, "{change}");
        }
        assert_eq!(manager.partition("a", 0).unwrap().leader_epoch(), 1);
    }

    #[test]
    fn the_tick_skips_an_idle_log_until_a_change_or_its_next_deadline() {
        let dir = tempfile::tempdir().unwrap();
        let manager =
            ReplicaManager::open(vec![DataDirLock::acquire(dir.path()).unwrap()], 1).unwrap();
        let mut a = state("a");
        a.log_config.flush_ms = 1000;
        manager.apply(&[a]);
        let p = manager.partition("a", 0).unwrap();
        let now = now_ms();
        assert!(!p.tick_due(now + 10_000), "a new log has nothing to do");
        // The append goes through the write lock, which undoes the answer kept.
        manager
            .append_to(&p, &crate::log::tests::one("v", now))
            .unwrap();
        let appended = now_ms();
        assert!(p.tick_due(appended + 1000), "flush.ms after the append");
        manager.tick();
        assert!(!p.tick_due(now_ms()), "nothing before flush.ms");
        assert!(p.tick_due(appended + 1000), "the deadline kept");
    }

    #[test]
    fn stray_directories_are_looked_for_at_the_first_image_and_when_partitions_go() {
        let dir = tempfile::tempdir().unwrap();
        let stray = |name: &str| {
            let path = dir.path().join(name);
            std::fs::create_dir(&path).unwrap();
            path
        };
        let at_start = stray("deleted-while-down-0");
        let manager =
            ReplicaManager::open(vec![DataDirLock::acquire(dir.path()).unwrap()], 1).unwrap();
        let mut states = vec![state("a"), state("b")];
        manager.apply(&states);
        assert!(!at_start.exists(), "removed at the first image");
        // Not listed again for a change that removes nothing.
        let later = stray("later-0");
        states[0].leader_epoch = 1;
        manager.apply(&states);
        assert!(later.exists());
        states.remove(1);
        manager.apply(&states);
        assert!(!later.exists(), "removed with partition b");
        assert!(!dir.path().join("b-0").exists());
        assert!(dir.path().join("a-0").exists());
    }

    #[test]
    fn a_directory_of_another_topic_id_is_replaced_and_one_without_an_id_is_adopted() {
        let dir = tempfile::tempdir().unwrap();
        let (old, new) = (state("t"), state("t"));
        let legacy = state("legacy");
        {
            let manager = manager_with(dir.path(), &[old.clone(), legacy.clone()]);
            append(&manager, "t");
            append(&manager, "legacy");
            manager.checkpoint_high_watermarks().unwrap();
            manager.shutdown();
        }
        // As an older Gregor left it.
        std::fs::remove_file(dir.path().join("legacy-0").join(PARTITION_METADATA_FILE)).unwrap();
        let manager = manager_with(dir.path(), &[new.clone(), legacy.clone()]);
        let t = manager.partition("t", 0).unwrap();
        assert_eq!(
            t.log_end_offset(),
            0,
            "the deleted topic's records are gone"
        );
        assert_eq!(manager.dirs[0].high_watermarks.get("t", 0), None);
        assert_eq!(
            partition_metadata::read(&dir.path().join("t-0")).unwrap(),
            Some(new.topic_id)
        );
        assert_eq!(manager.partition("legacy", 0).unwrap().log_end_offset(), 1);
        assert_eq!(
            partition_metadata::read(&dir.path().join("legacy-0")).unwrap(),
            Some(legacy.topic_id),
            "the image's id written for a directory without one"
        );
    }

    #[test]
    fn a_partition_with_an_unreadable_topic_id_is_offline() {
        let dir = tempfile::tempdir().unwrap();
        let t = state("t");
        std::fs::create_dir(dir.path().join("t-0")).unwrap();
        std::fs::write(
            dir.path().join("t-0").join(PARTITION_METADATA_FILE),
            "garbage",
        )
        .unwrap();
        let manager = manager_with(dir.path(), &[t]);
        assert!(manager.partition("t", 0).is_none());
        let offline = manager.offline_partitions("t");
        assert_eq!(offline.len(), 1);
        assert!(
            offline[0].1.contains("malformed partition metadata file"),
            "{offline:?}"
        );
        assert_eq!(
            manager.leader_partition("t", 0).err(),
            Some(ResponseError::KafkaStorageError)
        );
    }

    #[test]
    fn work_in_parallel_comes_back_in_the_items_order() {
        let items: Vec<usize> = (0..200).collect();
        let doubled = in_parallel(&items, 4, |i| {
            if i % 7 == 0 {
                std::thread::yield_now();
            }
            i * 2
        });
        assert_eq!(doubled, items.iter().map(|i| i * 2).collect::<Vec<_>>());
        assert!(in_parallel(&[] as &[usize], 4, |i| *i).is_empty());
    }

    /// Logs opened and checkpointed on several threads per log directory
    /// (num.recovery.threads.per.data.dir) come back as they were, each in
    /// its own directory, and one that cannot be opened is offline alone.
    #[test]
    fn partitions_open_and_close_on_recovery_threads_across_log_dirs() {
        let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        let open = || {
            let locks = vec![
                DataDirLock::acquire(a.path()).unwrap(),
                DataDirLock::acquire(b.path()).unwrap(),
            ];
            ReplicaManager::open(locks, 1)
                .unwrap()
                .with_recovery_threads(3)
        };
        let states: Vec<PartitionState> = (0..40).map(|i| state(&format!("t{i}"))).collect();
        let manager = open();
        manager.apply(&states);
        for (i, s) in states.iter().enumerate() {
            for _ in 0..i % 4 {
                append(&manager, &s.topic);
            }
        }
        let placed: Vec<usize> = states.iter().map(|s| manager.place(&s.topic, 0)).collect();
        assert_eq!(
            placed.iter().filter(|at| **at == 1).count(),
            20,
            "spread over both dirs"
        );
        manager.shutdown();
        drop(manager);
        for at in [a.path(), b.path()] {
            assert!(at.join(CLEAN_SHUTDOWN_MARKER).exists());
        }
        let broken = &states[5];
        let broken_dir = [a.path(), b.path()][placed[5]].join(format!("{}-0", broken.topic));
        std::fs::write(broken_dir.join(PARTITION_METADATA_FILE), "garbage").unwrap();

        let manager = open();
        manager.apply(&states);
        for (i, s) in states.iter().enumerate() {
            if i == 5 {
                assert!(manager.partition(&s.topic, 0).is_none());
                assert_eq!(manager.offline_partitions(&s.topic).len(), 1);
                continue;
            }
            let p = manager.partition(&s.topic, 0).unwrap();
            assert_eq!(p.log_end_offset(), (i % 4) as i64, "{}", s.topic);
            assert_eq!(
                manager.place(&s.topic, 0),
                placed[i],
                "{} stays in its dir",
                s.topic
            );
        }
        assert_eq!(manager.offline_count(), 1);
    }

    #[test]
    fn checkpoint_entries_of_partitions_not_hosted_are_dropped_at_the_first_image() {
        let dir = tempfile::tempdir().unwrap();
        {
            let manager = manager(dir.path(), &["kept", "deleted"]);
            append(&manager, "kept");
            append(&manager, "deleted");
            manager.shutdown();
        }
        let kept = state("kept");
        // Another id for the same name: without its file the directory is adopted.
        std::fs::remove_file(dir.path().join("kept-0").join(PARTITION_METADATA_FILE)).unwrap();
        let manager = manager_with(dir.path(), &[kept]);
        for file in [
            REPLICATION_OFFSET_CHECKPOINT,
            RECOVERY_POINT_OFFSET_CHECKPOINT,
        ] {
            let text = std::fs::read_to_string(dir.path().join(file)).unwrap();
            assert!(text.contains("kept 0 1"), "{file}: {text}");
            assert!(!text.contains("deleted"), "{file}: {text}");
        }
        assert!(!dir.path().join("deleted-0").exists());
        assert_eq!(manager.partition("kept", 0).unwrap().log_end_offset(), 1);
    }

    #[test]
    fn an_update_closes_only_the_partitions_no_longer_hosted() {
        let dir = tempfile::tempdir().unwrap();
        let manager =
            ReplicaManager::open(vec![DataDirLock::acquire(dir.path()).unwrap()], 1).unwrap();
        let mut states = vec![state("a"), state("b"), state("c")];
        states[2].index = 1;
        manager.apply(&states);
        let a = manager.partition("a", 0).unwrap();
        let c = manager.partition("c", 1).unwrap();
        states[0].leader_epoch = 1;
        manager.apply(&states);
        assert!(Arc::ptr_eq(&a, &manager.partition("a", 0).unwrap()));
        assert_eq!(a.leader_epoch(), 1);
        states.remove(1);
        manager.apply(&states);
        assert!(manager.partition("b", 0).is_none());
        assert!(Arc::ptr_eq(&a, &manager.partition("a", 0).unwrap()));
        assert!(Arc::ptr_eq(&c, &manager.partition("c", 1).unwrap()));
        assert_eq!(manager.all_partitions().len(), 2);
    }

    #[tokio::test(flavor = "current_thread")]
    async fn a_produce_waiting_on_a_deleted_partition_fails_at_once() {
        let dir = tempfile::tempdir().unwrap();
        let manager = Arc::new(manager(dir.path(), &["a"]));
        let p = manager.partition("a", 0).unwrap();
        let produce = tokio::spawn({
            let (manager, p) = (manager.clone(), p.clone());
            async move {
                // An offset not yet written: the wait lasts until the deletion.
                manager
                    .wait_for_high_watermark(&p, 5, 0, Duration::from_secs(30))
                    .await
            }
        });
        settle().await;
        assert!(!produce.is_finished());
        manager.apply(&[]);
        let result = tokio::time::timeout(Duration::from_secs(10), produce)
            .await
            .expect("woken by the deletion")
            .unwrap();
        assert_eq!(result, Err(ResponseError::UnknownTopicOrPartition));
    }

    fn two_dirs(a: &Path, b: &Path) -> Arc<ReplicaManager> {
        let locks = vec![
            DataDirLock::acquire(a).unwrap(),
            DataDirLock::acquire(b).unwrap(),
        ];
        Arc::new(ReplicaManager::open(locks, 1).unwrap())
    }

    #[test]
    fn a_moved_replica_serves_from_its_new_dir_and_is_found_there_at_restart() {
        let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        let t = state("t");
        let manager = two_dirs(a.path(), b.path());
        manager.apply(std::slice::from_ref(&t));
        for _ in 0..3 {
            append(&manager, "t");
        }
        let p = manager.partition("t", 0).unwrap();
        assert!(a.path().join("t-0").is_dir(), "the first dir on a tie");
        // Without a runtime the move runs in place.
        manager.alter_log_dir("t", 0, 1).unwrap();
        assert!(!a.path().join("t-0").exists());
        assert!(b.path().join("t-0").is_dir());
        assert!(manager.moves.lock().is_empty());
        assert!(Arc::ptr_eq(&p, &manager.partition("t", 0).unwrap()));
        assert_eq!(p.log_end_offset(), 3);
        append(&manager, "t");
        assert_eq!(p.log_end_offset(), 4);
        let by_dir = manager.log_dirs();
        assert!(by_dir[0].2.is_empty());
        assert_eq!(by_dir[1].2.len(), 1);
        assert_eq!(manager.dirs[0].high_watermarks.get("t", 0), None);
        assert_eq!(manager.dirs[1].high_watermarks.get("t", 0), Some(3));
        // Asking again for where it is changes nothing.
        manager.alter_log_dir("t", 0, 1).unwrap();
        assert!(manager.moves.lock().is_empty());
        manager.shutdown();
        drop((p, manager));

        let manager = two_dirs(a.path(), b.path());
        manager.apply(&[t]);
        assert_eq!(manager.partition("t", 0).unwrap().log_end_offset(), 4);
        assert!(!a.path().join("t-0").exists());
        assert_eq!(manager.log_dirs()[1].2.len(), 1);
    }

    #[test]
    fn a_partition_not_hosted_yet_is_created_in_the_dir_asked_for() {
        let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        let manager = two_dirs(a.path(), b.path());
        assert_eq!(
            manager.alter_log_dir("later", 0, 1),
            Err(ResponseError::ReplicaNotAvailable)
        );
        manager.apply(&[state("later")]);
        assert!(b.path().join("later-0").is_dir());
        assert!(!a.path().join("later-0").exists());
    }

    #[test]
    fn log_dirs_are_named_by_their_configured_or_canonical_path() {
        let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        let manager = two_dirs(a.path(), b.path());
        let canonical = std::fs::canonicalize(b.path()).unwrap();
        assert_eq!(
            manager.log_dir_index(&canonical.display().to_string()),
            Some(1)
        );
        assert_eq!(
            manager.log_dir_index(&a.path().display().to_string()),
            Some(0)
        );
        let elsewhere = a.path().join("elsewhere");
        assert_eq!(
            manager.log_dir_index(&elsewhere.display().to_string()),
            None
        );
    }

    #[test]
    fn one_directory_spelled_twice_in_log_dirs_is_refused_as_a_duplicate() {
        let tmp = tempfile::tempdir().unwrap();
        let a = tmp.path().join("a");
        let link = tmp.path().join("link");
        let dotted = tmp.path().join("b").join("..").join("a");
        std::os::unix::fs::symlink(&a, &link).unwrap();
        for twin in [&link, &dotted] {
            match DataDirLock::acquire_all(&[a.clone(), twin.clone()]) {
                Err(StartupError::DuplicateLogDir {
                    dir,
                    twin: first,
                    canonical,
                }) => {
                    assert_eq!((&dir, &first), (twin, &a));
                    assert_eq!(canonical, std::fs::canonicalize(&a).unwrap());
                }
                other => panic!("{twin:?} beside {a:?}: {:?}", other.map(|l| l.len())),
            }
        }
        let b = tmp.path().join("b");
        let locks = DataDirLock::acquire_all(&[a.clone(), b.clone()]).unwrap();
        assert!(locks[0].holds(&link) && locks[0].holds(&dotted) && !locks[0].holds(&b));
        // Another holder of the directory is still named as such.
        assert!(matches!(
            DataDirLock::acquire_all(std::slice::from_ref(&link)),
            Err(StartupError::Locked { .. })
        ));
    }

    #[test]
    fn only_files_changed_since_the_first_copy_are_copied_again() {
        let (src, dst) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        let old = SystemTime::now() - Duration::from_secs(60);
        for name in ["closed", "active", "gone"] {
            std::fs::write(src.path().join(name), name).unwrap();
            File::options()
                .write(true)
                .open(src.path().join(name))
                .unwrap()
                .set_modified(old)
                .unwrap();
        }
        std::fs::write(src.path().join("fresh"), "fresh").unwrap();
        let mut copied = HashMap::new();
        copy_changed(src.path(), dst.path(), &mut copied).unwrap();
        assert_eq!(copied.len(), 3, "a file written this second is not trusted");
        // Same length and mtime, new content: an untouched old file is
        // trusted, so "closed" shows what would be copied again.
        std::fs::write(dst.path().join("closed"), "CLOSED").unwrap();
        std::fs::write(src.path().join("active"), "active+more").unwrap();
        std::fs::remove_file(src.path().join("gone")).unwrap();
        copy_changed(src.path(), dst.path(), &mut copied).unwrap();
        let read = |name: &str| std::fs::read_to_string(dst.path().join(name)).unwrap();
        assert_eq!(read("closed"), "CLOSED", "not copied again");
        assert_eq!(read("active"), "active+more");
        assert_eq!(read("fresh"), "fresh");
        assert!(!dst.path().join("gone").exists());
    }

    #[test]
    fn a_replica_being_moved_is_a_future_replica_of_its_target_dir() {
        let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        let manager = two_dirs(a.path(), b.path());
        manager.apply(&[state("t")]);
        let future = manager.future_dir(1, "t", 0);
        std::fs::create_dir(&future).unwrap();
        std::fs::write(future.join("00000000000000000000.log"), [0u8; 100]).unwrap();
        manager.moves.lock().insert(
            TopicPartition::new("t", 0),
            Move {
                target: 1,
                future: future.clone(),
            },
        );
        let futures = manager.future_replicas();
        assert_eq!(futures.len(), 1);
        assert_eq!(
            (futures[0].0, futures[0].1.topic.as_str(), futures[0].2),
            (1, "t", 100)
        );
        // Not a leftover while its move runs.
        manager.remove_stray_dirs();
        assert!(future.is_dir());
        manager.moves.lock().clear();
        manager.remove_stray_dirs();
        assert!(!future.exists());
    }
}
