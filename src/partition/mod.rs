//! Partition state on this broker: the log plus what replication needs
//! around it (leader epoch, high watermark, ISR), and the replica manager
//! that owns every partition hosted here.
//!
//! A single broker is a one-node cluster: the ISR is this broker, so the
//! high watermark follows the log end offset; the same code path advances it
//! from followers' fetch positions when replication lands.

mod manager;
mod meta_properties;
mod space;
mod waiters;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicI32, AtomicI64, Ordering};
use std::sync::Arc;

use bytes::Bytes;
use kafka_protocol::error::ResponseError;
use parking_lot::{Mutex, RwLock};
use uuid::Uuid;

use crate::config::LogConfig;
use crate::log::{AppendInfo, Log, LogError, OffsetCheckpoint, RecordError};

pub use manager::{
    now_ms, spawn_periodic, DataDirLock, ReplicaManager, StartupError, METADATA_LOG_DIR,
};
pub use meta_properties::kafka_uuid;
use space::DiskSpace;
use waiters::Watchers;
pub use waiters::{Awaited, Waiter};

/// Kafka's isolation levels for Fetch and ListOffsets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IsolationLevel {
    ReadUncommitted,
    ReadCommitted,
}

impl IsolationLevel {
    pub fn from_wire(v: i8) -> IsolationLevel {
        if v == 1 {
            IsolationLevel::ReadCommitted
        } else {
            IsolationLevel::ReadUncommitted
        }
    }
}

/// What the metadata says about one partition this broker hosts.
#[derive(Debug, Clone, PartialEq)]
pub struct PartitionState {
    pub topic: String,
    pub topic_id: Uuid,
    pub index: i32,
    pub replicas: Vec<i32>,
    pub isr: Vec<i32>,
    pub leader: i32,
    pub leader_epoch: i32,
    /// Kafka's partition epoch: the version of this state an ISR change
    /// is proposed against.
    pub partition_epoch: i32,
    pub log_config: LogConfig,
    /// `min.insync.replicas`: acks=all needs an ISR at least this large.
    pub min_insync_replicas: i64,
}

/// A read from the log with the partition offsets the Fetch response reports.
#[derive(Debug, Clone)]
pub struct ReadResult {
    pub records: Bytes,
    pub high_watermark: i64,
    pub last_stable_offset: i64,
    pub log_start_offset: i64,
    /// Under read_committed, the aborted transactions with records in the
    /// range read, as (producer id, first offset): clients drop those.
    pub aborted_transactions: Option<Vec<(i64, i64)>>,
}

pub struct Partition {
    pub topic: String,
    pub topic_id: Uuid,
    pub index: i32,
    node_id: i32,
    log: RwLock<Log>,
    leader_epoch: AtomicI32,
    /// Stored after the leader, leader epoch and ISR of the same state,
    /// and read before them: see [`Partition::epochs`].
    partition_epoch: AtomicI32,
    leader: AtomicI32,
    high_watermark: AtomicI64,
    /// What the leader knows of each follower, keyed by broker id.
    followers: Mutex<BTreeMap<i32, FollowerState>>,
    isr: Mutex<Vec<i32>>,
    /// Whether the ISR names a broker other than this one: only then has
    /// the periodic ISR shrink anyone to drop, and most partitions of a
    /// single-broker cluster are passed over without a lock.
    isr_has_followers: AtomicBool,
    replicas: Mutex<Vec<i32>>,
    min_insync_replicas: AtomicI64,
    /// The wider ISR last proposed to the controller, and when: every
    /// fetch of a caught-up follower would propose it again until the
    /// change comes back in the metadata.
    isr_proposal: Mutex<Option<(IsrExpansion, i64)>>,
    /// The log directory's space state, shared by its partitions: a full
    /// disk refuses appends here. Replaced when the replica moves to
    /// another log directory (AlterReplicaLogDirs).
    disk: RwLock<Arc<DiskSpace>>,
    /// The topic's BrokerTopicMetrics, taken once so appends look nothing up.
    metrics: crate::metrics::TopicHandle,
    /// The log directory's recovery-point-offset-checkpoint, rewritten
    /// after a truncation moves this log's recovery point back; replaced
    /// with `disk`.
    recovery_points: RwLock<Arc<OffsetCheckpoint>>,
    /// Fetches and produces waiting on this partition.
    watchers: Watchers,
    /// No longer hosted here: a produce still waiting on it fails.
    removed: AtomicBool,
    /// Until when the log's tick has nothing to do, as last worked out
    /// under its read lock; every write lock resets it, so the tick's pass
    /// skips an idle log without locking it.
    tick_idle_until: AtomicI64,
}

/// How long a proposed ISR change is left to reach the metadata before it
/// is proposed again.
const ISR_PROPOSAL_RETRY_MS: i64 = 1000;

/// A follower as its fetches show it to the leader.
#[derive(Debug, Clone, Copy)]
struct FollowerState {
    /// The offset it fetched from last: everything before is on its log.
    log_end_offset: i64,
    /// When it was last known to hold the leader's whole log (Kafka's
    /// lastCaughtUpTime), for replica.lag.time.max.ms.
    last_caught_up_ms: i64,
    /// When it fetched last, and the leader's log end then (Kafka's
    /// lastFetchTimeMs and lastFetchLeaderLogEndOffset): a fetch from at
    /// least that offset shows it held the whole log as of that fetch, so
    /// a follower that keeps up under steady load, and so never fetches
    /// from the very log end, stays in the ISR.
    last_fetch_ms: i64,
    last_fetch_leader_leo: i64,
    /// The broker epoch its last fetch carried (Kafka's Replica
    /// brokerEpoch, KIP-903); -1 when it carried none.
    broker_epoch: i64,
}

/// A follower's fetch found it caught up outside the ISR: the ISR with it
/// added, and its (broker id, broker epoch) for the controller to check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IsrExpansion {
    pub isr: Vec<i32>,
    pub joining: (i32, i64),
}

impl FollowerState {
    /// A follower given the full lag time from `now_ms`, as a new leader
    /// or a first fetch gives it.
    fn new(now_ms: i64) -> FollowerState {
        FollowerState {
            log_end_offset: -1,
            last_caught_up_ms: now_ms,
            last_fetch_ms: now_ms,
            last_fetch_leader_leo: -1,
            broker_epoch: -1,
        }
    }

    /// Records a fetch from `fetch_offset` at `now_ms` while the leader's
    /// log ends at `leader_leo`, as Kafka's Replica does.
    fn fetched(&mut self, fetch_offset: i64, leader_leo: i64, now_ms: i64) {
        self.log_end_offset = fetch_offset;
        if fetch_offset >= leader_leo {
            self.last_caught_up_ms = self.last_caught_up_ms.max(now_ms);
        } else if self.last_fetch_leader_leo >= 0 && fetch_offset >= self.last_fetch_leader_leo {
            self.last_caught_up_ms = self.last_caught_up_ms.max(self.last_fetch_ms);
        }
        self.last_fetch_leader_leo = leader_leo;
        self.last_fetch_ms = now_ms;
    }
}

/// Maps a storage error to its Kafka code, logging what the client will not see.
fn log_error_code(topic: &str, partition: i32, e: &LogError) -> ResponseError {
    let code = e.kafka_error_code();
    if code == ResponseError::KafkaStorageError.code() {
        tracing::error!(topic, partition, error = %e, "storage error");
    } else {
        tracing::debug!(topic, partition, error = %e, "request refused by the log");
    }
    ResponseError::try_from_code(code).unwrap_or(ResponseError::UnknownServerError)
}

/// A refused append as a Produce response tells it: the code, and for
/// records the log refused, why and which (Kafka's error_message and
/// record_errors, Produce v8 on).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppendError {
    pub code: ResponseError,
    pub message: Option<String>,
    pub record_errors: Vec<RecordError>,
}

impl From<ResponseError> for AppendError {
    fn from(code: ResponseError) -> AppendError {
        AppendError {
            code,
            message: None,
            record_errors: Vec::new(),
        }
    }
}

impl AppendError {
    fn from_log(topic: &str, partition: i32, e: LogError) -> AppendError {
        let code = log_error_code(topic, partition, &e);
        if !e.is_about_the_records() {
            return code.into();
        }
        AppendError {
            code,
            record_errors: e.record_errors().to_vec(),
            message: Some(e.to_string()),
        }
    }
}

impl Partition {
    /// `checkpointed_hw` is the high watermark replication-offset-checkpoint
    /// holds, if any: as in Kafka, it is taken as far as the log reaches,
    /// and without one the high watermark starts at the log start offset.
    /// A leader then moves it as its ISR allows (on its own, to the log end).
    pub(crate) fn new(
        state: &PartitionState,
        node_id: i32,
        log: Log,
        checkpointed_hw: Option<i64>,
        disk: Arc<DiskSpace>,
        recovery_points: Arc<OffsetCheckpoint>,
    ) -> Partition {
        let hw = checkpointed_hw
            .unwrap_or(i64::MIN)
            .min(log.log_end_offset())
            .max(log.log_start_offset());
        let partition = Partition {
            topic: state.topic.clone(),
            topic_id: state.topic_id,
            index: state.index,
            node_id,
            log: RwLock::new(log),
            leader_epoch: AtomicI32::new(state.leader_epoch),
            partition_epoch: AtomicI32::new(state.partition_epoch),
            leader: AtomicI32::new(state.leader),
            high_watermark: AtomicI64::new(hw),
            followers: Mutex::new(BTreeMap::new()),
            isr: Mutex::new(state.isr.clone()),
            isr_has_followers: AtomicBool::new(has_followers(&state.isr, node_id)),
            replicas: Mutex::new(state.replicas.clone()),
            min_insync_replicas: AtomicI64::new(state.min_insync_replicas),
            isr_proposal: Mutex::new(None),
            disk: RwLock::new(disk),
            metrics: crate::metrics::topic(&state.topic, state.topic_id),
            recovery_points: RwLock::new(recovery_points),
            watchers: Watchers::default(),
            removed: AtomicBool::new(false),
            tick_idle_until: AtomicI64::new(i64::MIN),
        };
        partition.reset_followers(&state.replicas);
        if partition.is_leader() {
            partition.maybe_advance_high_watermark();
        }
        partition
    }

    /// A new leader gives every follower the full lag time to catch up.
    fn reset_followers(&self, replicas: &[i32]) {
        let now = now_ms();
        let mut followers = self.followers.lock();
        followers.clear();
        for id in replicas.iter().filter(|id| **id != self.node_id) {
            followers.insert(*id, FollowerState::new(now));
        }
    }

    pub fn leader_epoch(&self) -> i32 {
        self.leader_epoch.load(Ordering::Acquire)
    }

    /// The leader epoch and partition epoch to propose an ISR change at,
    /// read before the ISR the change is worked out from. The partition
    /// epoch is read first and stored last: an ISR read after it is at
    /// least as new, so a proposal is never sent at a newer partition epoch
    /// than the ISR it was built from (an older one is merely refused).
    pub fn epochs(&self) -> (i32, i32) {
        let partition_epoch = self.partition_epoch.load(Ordering::Acquire);
        (self.leader_epoch(), partition_epoch)
    }

    pub fn is_leader(&self) -> bool {
        self.leader.load(Ordering::Acquire) == self.node_id
    }

    pub fn high_watermark(&self) -> i64 {
        self.high_watermark.load(Ordering::Acquire)
    }

    /// The first offset of the oldest open transaction, or the high
    /// watermark when none is open.
    pub fn last_stable_offset(&self) -> i64 {
        Self::stable_offset(&self.log.read(), self.high_watermark())
    }

    fn stable_offset(log: &Log, high_watermark: i64) -> i64 {
        log.first_unstable_offset()
            .map_or(high_watermark, |first| first.min(high_watermark))
    }

    pub fn log_start_offset(&self) -> i64 {
        self.log.read().log_start_offset()
    }

    pub fn log_end_offset(&self) -> i64 {
        self.log.read().log_end_offset()
    }

    pub fn size_bytes(&self) -> u64 {
        self.log.read().size_bytes()
    }

    pub fn active_producers(&self) -> Vec<crate::log::ActiveProducer> {
        self.log.read().active_producers()
    }

    /// Size in bytes, segment count, log start and log end offsets, read
    /// together under one lock.
    pub fn log_stats(&self) -> (u64, usize, i64, i64) {
        let log = self.log.read();
        (
            log.size_bytes(),
            log.segment_count(),
            log.log_start_offset(),
            log.log_end_offset(),
        )
    }

    /// See [`Log::batch_timestamp`].
    pub fn batch_timestamp(&self, offset: i64) -> Option<i64> {
        self.log.read().batch_timestamp(offset)
    }

    /// Applies leadership and config changes from the metadata.
    pub(crate) fn update(&self, state: &PartitionState) {
        let became_leader = state.leader == self.node_id
            && (!self.is_leader() || state.leader_epoch != self.leader_epoch());
        if became_leader {
            self.reset_followers(&state.replicas);
        }
        let old_leader = self.leader.swap(state.leader, Ordering::AcqRel);
        let old_epoch = self.leader_epoch.swap(state.leader_epoch, Ordering::AcqRel);
        let leadership_changed = (old_leader, old_epoch) != (state.leader, state.leader_epoch);
        *self.isr.lock() = state.isr.clone();
        self.isr_has_followers
            .store(has_followers(&state.isr, self.node_id), Ordering::Release);
        *self.replicas.lock() = state.replicas.clone();
        self.partition_epoch
            .store(state.partition_epoch, Ordering::Release);
        self.min_insync_replicas
            .store(state.min_insync_replicas, Ordering::Release);
        // Every metadata change comes here for every partition: the
        // write lock only for a config that changed.
        if *self.log.read().config() != state.log_config {
            self.log_mut().set_config(state.log_config.clone());
        }
        self.maybe_advance_high_watermark();
        // Fetches answer NOT_LEADER_OR_FOLLOWER and produces fail at once,
        // rather than at the end of their wait.
        if leadership_changed {
            self.watchers.wake_all();
        }
    }

    /// Taken off this broker: whoever waits on it looks again now.
    pub(crate) fn mark_removed(&self) {
        self.removed.store(true, Ordering::Release);
        self.watchers.wake_all();
    }

    /// Hands a storage error to the directory's state, unless the
    /// partition was removed: deleting its directory under an operation in
    /// flight (a roll, retention, compaction) fails that operation, and
    /// must not fail the whole directory. The mark is set before the
    /// directory is deleted.
    fn note_storage_error(&self, e: &LogError) {
        if !self.is_removed() {
            self.disk.read().note_serving(e);
        }
    }

    /// Whether this broker no longer hosts the partition (deleted, or its
    /// topic re-created under a new id).
    pub fn is_removed(&self) -> bool {
        self.removed.load(Ordering::Acquire)
    }

    /// Kafka's check of a client's view of the leader epoch: an older epoch is
    /// fenced, a newer one means this broker has not caught up yet.
    pub fn check_leader_epoch(&self, current_leader_epoch: i32) -> Result<(), ResponseError> {
        if current_leader_epoch < 0 {
            return Ok(());
        }
        let mine = self.leader_epoch();
        if current_leader_epoch < mine {
            Err(ResponseError::FencedLeaderEpoch)
        } else if current_leader_epoch > mine {
            Err(ResponseError::UnknownLeaderEpoch)
        } else {
            Ok(())
        }
    }

    /// The Kafka code for `e`; a full disk turns the broker full.
    fn storage_error(&self, e: &LogError) -> ResponseError {
        self.note_storage_error(e);
        log_error_code(&self.topic, self.index, e)
    }

    /// A full disk keeps what space is left for the metadata quorum; a
    /// failed directory takes no more writes.
    fn require_space(&self) -> Result<(), ResponseError> {
        let disk = self.disk.read();
        if disk.is_full() || disk.is_failed() {
            Err(ResponseError::KafkaStorageError)
        } else {
            Ok(())
        }
    }

    /// Whether this replica's log directory is full and refuses appends.
    pub fn is_disk_full(&self) -> bool {
        self.disk.read().is_full()
    }

    fn require_leader(&self) -> Result<(), ResponseError> {
        if self.is_leader() {
            Ok(())
        } else {
            Err(ResponseError::NotLeaderOrFollower)
        }
    }

    /// Appends a Produce request's records as leader and advances the high
    /// watermark as far as the log is durable: under `flush.messages` the
    /// records wait for an fsync ([`Partition::group_commit`] or
    /// [`Partition::flush_if_wanted`]) before they count.
    pub fn append_records_as_leader(
        &self,
        records: &[u8],
        now_ms: i64,
    ) -> Result<AppendInfo, AppendError> {
        self.require_leader()?;
        self.require_space()?;
        let info = {
            let mut log = self.log_mut();
            log.append_as_leader(records, self.leader_epoch(), now_ms)
                .map_err(|e| {
                    self.note_storage_error(&e);
                    AppendError::from_log(&self.topic, self.index, e)
                })?
        };
        self.metrics
            .appended(info.record_count as u64, records.len() as u64);
        self.watchers.wake(Awaited::LogEnd);
        self.maybe_advance_high_watermark();
        Ok(info)
    }

    /// Whether the caller is to run [`Partition::group_commit`]: an fsync
    /// is wanted or a rolled segment awaits one, and no group commit runs.
    pub fn claim_group_commit(&self) -> bool {
        self.log_mut().claim_flush()
    }

    /// Group commit, for a caller that [`Partition::claim_group_commit`]
    /// chose: fsyncs outside the log's lock, each time the segments rolled
    /// and not yet synced and, when an append waits for it, everything
    /// written so far, until nothing is due; appends made during an fsync
    /// share the next. After each fsync, the produces waiting on this
    /// partition look again: its durable end, and perhaps the high
    /// watermark, moved. A failed fsync fails the produces waiting on it
    /// (see [`Log::finish_flush`]) and ends the turn.
    pub fn group_commit(&self) {
        loop {
            let Some(job) = self.log_mut().next_flush() else {
                return;
            };
            let synced = job.sync();
            let finished = self.log_mut().finish_flush(&job, synced);
            if let Err(e) = &finished {
                self.note_storage_error(e);
                tracing::error!(topic = %self.topic, partition = self.index, end = job.end(), error = %e, "fsync failed: the produces waiting on it fail");
            }
            if !self.maybe_advance_high_watermark() {
                self.watchers.wake(Awaited::HighWatermark);
            }
            if finished.is_err() {
                return;
            }
        }
    }

    /// fsyncs at once, under the log's lock, if `flush.messages` asks for
    /// it: the coordinators' writes answer only once durable, without
    /// waiting on a group commit.
    pub fn flush_if_wanted(&self) -> Result<(), ResponseError> {
        {
            let mut log = self.log_mut();
            if log.flush_wanted() {
                log.flush().map_err(|e| self.storage_error(&e))?;
            }
        }
        if !self.maybe_advance_high_watermark() {
            // The durable end moved, which acks=1 waits for.
            self.watchers.wake(Awaited::HighWatermark);
        }
        Ok(())
    }

    /// How far this replica's log counts as written: its end, less what
    /// still waits for an fsync (acks=1 answers once it passes a record).
    pub fn durable_end(&self) -> i64 {
        self.log.read().durable_end()
    }

    /// Whether an fsync failed for the record at `offset`: its produce
    /// fails with KAFKA_STORAGE_ERROR and is never acknowledged.
    pub fn flush_failed_for(&self, offset: i64) -> bool {
        self.log.read().flush_failed_for(offset)
    }

    /// Writes the marker that ends `producer_id`'s transaction here.
    pub fn write_txn_marker(
        &self,
        producer_id: i64,
        producer_epoch: i16,
        commit: bool,
        coordinator_epoch: i32,
        now_ms: i64,
    ) -> Result<i64, ResponseError> {
        self.require_leader()?;
        self.require_space()?;
        let offset = {
            let mut log = self.log_mut();
            log.append_control_marker(
                producer_id,
                producer_epoch,
                commit,
                coordinator_epoch,
                self.leader_epoch(),
                now_ms,
            )
            .map_err(|e| self.storage_error(&e))?
        };
        self.watchers.wake(Awaited::LogEnd);
        // The last stable offset may move without the high watermark:
        // read_committed fetches look again.
        if !self.maybe_advance_high_watermark() {
            self.watchers.wake(Awaited::HighWatermark);
        }
        Ok(offset)
    }

    /// The high watermark is the smallest log end offset across the ISR
    /// (this replica's as far as it is durable); returns whether it moved,
    /// having woken the requests waiting for it then.
    fn maybe_advance_high_watermark(&self) -> bool {
        let leo = self.durable_end();
        let followers = self.followers.lock();
        let isr = self.isr.lock();
        let hw = isr
            .iter()
            .filter(|id| **id != self.node_id)
            .map(|id| followers.get(id).map_or(0, |f| f.log_end_offset.max(0)))
            .fold(leo, i64::min);
        drop((followers, isr));
        let moved = self.high_watermark.fetch_max(hw, Ordering::AcqRel) < hw;
        if moved {
            self.watchers.wake(Awaited::HighWatermark);
        }
        moved
    }

    pub fn isr(&self) -> Vec<i32> {
        self.isr.lock().clone()
    }

    pub fn replicas(&self) -> Vec<i32> {
        self.replicas.lock().clone()
    }

    pub fn leader_id(&self) -> i32 {
        self.leader.load(Ordering::Acquire)
    }

    /// acks=all refuses to append while the ISR is smaller than
    /// min.insync.replicas (NOT_ENOUGH_REPLICAS), as Kafka does.
    pub fn check_min_isr(&self) -> Result<(), ResponseError> {
        let isr = self.isr.lock().len() as i64;
        if isr < self.min_insync_replicas.load(Ordering::Acquire) {
            Err(ResponseError::NotEnoughReplicas)
        } else {
            Ok(())
        }
    }

    /// The leader's side of a follower's fetch from `fetch_offset`: its log
    /// end as the leader knows it, when it was last caught up, and the high
    /// watermark. Returns whether the high watermark moved, and the ISR with
    /// the follower added when it has caught up to the high watermark
    /// without being in it (the caller asks the controller), with the
    /// broker epoch `broker_epoch` this fetch carried.
    pub fn record_follower_fetch(
        &self,
        (replica, broker_epoch): (i32, i64),
        fetch_offset: i64,
        now_ms: i64,
    ) -> (bool, Option<IsrExpansion>) {
        let leo = self.log_end_offset();
        {
            let mut followers = self.followers.lock();
            let follower = followers
                .entry(replica)
                .or_insert(FollowerState::new(now_ms));
            follower.fetched(fetch_offset, leo, now_ms);
            follower.broker_epoch = broker_epoch;
        }
        let moved = self.maybe_advance_high_watermark();
        // Asked on every fetch of every partition: the ISR is copied only
        // when the follower is outside it.
        let outside = {
            let isr = self.isr.lock();
            (!isr.contains(&replica)).then(|| isr.clone())
        };
        let expand = outside
            .filter(|_| {
                self.replicas.lock().contains(&replica) && fetch_offset >= self.high_watermark()
            })
            .map(|isr| {
                let mut wider = isr;
                wider.push(replica);
                wider.sort_unstable();
                IsrExpansion {
                    isr: wider,
                    joining: (replica, broker_epoch),
                }
            })
            // The same follower at a new broker epoch (restarted) is news.
            .filter(|wider| {
                let mut proposal = self.isr_proposal.lock();
                let pending = proposal.as_ref().is_some_and(|(p, at)| {
                    p == wider && now_ms.saturating_sub(*at) < ISR_PROPOSAL_RETRY_MS
                });
                if !pending {
                    *proposal = Some((wider.clone(), now_ms));
                }
                !pending
            });
        (moved, expand)
    }

    /// Kafka's ISR with broker epochs (Partition.addBrokerEpochToIsr): each
    /// follower of `members` with the broker epoch its last fetch carried,
    /// for the controller to refuse one registered again since (KIP-903).
    /// The leader itself, and followers not heard from at an epoch, are
    /// left out: Kafka states -1 for those, which skips the check.
    pub fn isr_broker_epochs(&self, members: &[i32]) -> Vec<(i32, i64)> {
        let followers = self.followers.lock();
        members
            .iter()
            .filter(|id| **id != self.node_id)
            .filter_map(|id| Some((*id, followers.get(id)?.broker_epoch)))
            .filter(|(_, epoch)| *epoch >= 0)
            .collect()
    }

    /// Whether this broker leads with others in the ISR: only then can
    /// [`Partition::shrunk_isr`] drop anyone. Reads atomics only.
    pub fn isr_can_shrink(&self) -> bool {
        self.is_leader() && self.isr_has_followers.load(Ordering::Acquire)
    }

    /// The ISR without the followers that have not caught up for
    /// `lag_max_ms`, when there are any (the caller asks the controller).
    pub fn shrunk_isr(&self, now_ms: i64, lag_max_ms: i64) -> Option<Vec<i32>> {
        if !self.isr_can_shrink() {
            return None;
        }
        let isr = self.isr.lock().clone();
        // The followers not caught up within the lag time, with their log
        // ends: the log is read only when there is one.
        let lagging: Vec<(i32, Option<i64>)> = {
            let followers = self.followers.lock();
            isr.iter()
                .filter(|id| **id != self.node_id)
                .filter_map(|id| match followers.get(id) {
                    Some(f) if now_ms.saturating_sub(f.last_caught_up_ms) <= lag_max_ms => None,
                    f => Some((*id, f.map(|f| f.log_end_offset))),
                })
                .collect()
        };
        if lagging.is_empty() {
            return None;
        }
        // As Kafka, a follower at the log end stays however long ago it
        // last fetched: a leader back from a pause must not drop them all.
        let leo = self.log_end_offset();
        let dropped: Vec<i32> = lagging
            .into_iter()
            .filter(|(_, follower_leo)| *follower_leo != Some(leo))
            .map(|(id, _)| id)
            .collect();
        (!dropped.is_empty()).then(|| isr.into_iter().filter(|id| !dropped.contains(id)).collect())
    }

    /// Whole batches from `offset` up to the log end, past the high
    /// watermark: what a coordinator that has just become leader loads, as
    /// Kafka's do, since its high watermark lags the old leader's.
    pub fn read_to_log_end(&self, offset: i64, max_bytes: usize) -> Result<Bytes, ResponseError> {
        self.log
            .read()
            .read(offset, max_bytes, i64::MAX, true)
            .map_err(|e| self.storage_error(&e))
    }

    /// The segment file and byte position `read_to_log_end(offset, ..)`
    /// starts at (see `Log::locate`).
    pub fn locate(&self, offset: i64) -> Option<(PathBuf, Option<u64>)> {
        self.log.read().locate(offset)
    }

    /// The leader's side of a follower's fetch: records where the follower
    /// is, then reads from there to the log end, or reads nothing when
    /// `max_bytes` is None (a replication throttle holds the partition
    /// back this time). `replica` is the follower's broker id and broker
    /// epoch. Also returns a wider ISR when the follower has caught up
    /// without being in it.
    pub fn follower_fetch(
        &self,
        replica: (i32, i64),
        fetch_offset: i64,
        max_bytes: Option<usize>,
    ) -> Result<(ReadResult, Option<IsrExpansion>), ResponseError> {
        // A high watermark moved wakes the consumers and acks=all
        // producers waiting on this partition.
        let (_, expand) = self.record_follower_fetch(replica, fetch_offset, now_ms());
        Ok((self.read_for_follower(fetch_offset, max_bytes)?, expand))
    }

    /// A follower's read: whole batches from `offset` up to the log end.
    pub fn read_for_follower(
        &self,
        offset: i64,
        max_bytes: Option<usize>,
    ) -> Result<ReadResult, ResponseError> {
        self.require_leader()?;
        let log = self.log.read();
        let records = match max_bytes {
            Some(max_bytes) => log
                .read(offset, max_bytes, i64::MAX, true)
                .map_err(|e| self.storage_error(&e))?,
            None => Bytes::new(),
        };
        let high_watermark = self.high_watermark();
        Ok(ReadResult {
            records,
            high_watermark,
            last_stable_offset: Self::stable_offset(&log, high_watermark),
            log_start_offset: log.log_start_offset(),
            aborted_transactions: None,
        })
    }

    /// A follower appends what it fetched and takes the leader's high
    /// watermark, as far as its own log reaches.
    pub fn append_as_follower(
        &self,
        records: &[u8],
        leader_high_watermark: i64,
        now_ms: i64,
    ) -> Result<(), LogError> {
        if self.disk.read().is_full() {
            return Err(LogError::io(
                "append fetched records to",
                self.topic.as_str(),
            )(std::io::Error::new(
                std::io::ErrorKind::StorageFull,
                "the data directory is full",
            )));
        }
        let mut log = self.log_mut();
        log.append_as_follower(records, now_ms)
            .inspect_err(|e| self.note_storage_error(e))?;
        let hw = leader_high_watermark.min(log.log_end_offset());
        self.high_watermark.fetch_max(hw, Ordering::AcqRel);
        Ok(())
    }

    /// A follower cuts its log where it diverges from the new leader's.
    pub fn truncate_to(&self, offset: i64) -> Result<(), LogError> {
        {
            let mut log = self.log_mut();
            log.truncate_to(offset)?;
            let end = log.log_end_offset();
            if self.high_watermark() > end {
                self.high_watermark.store(end, Ordering::Release);
            }
        }
        self.checkpoint_recovery_point()
    }

    /// A follower fallen behind its leader's log start restarts its log there.
    pub fn truncate_fully_and_start_at(&self, offset: i64) -> Result<(), LogError> {
        self.log_mut().truncate_fully_and_start_at(offset)?;
        self.high_watermark.fetch_max(offset, Ordering::AcqRel);
        self.checkpoint_recovery_point()
    }

    /// How far this log was fsynced (see [`Log::recovery_point`]).
    pub fn recovery_point(&self) -> i64 {
        self.log.read().recovery_point()
    }

    /// Writes this log's recovery point at once after a truncation: the
    /// records that will take the offsets cut are not fsynced, and a crash
    /// before the next periodic write must not find them past an older,
    /// higher recovery point and leave them unchecked. Read under the
    /// file's lock, after the truncation, so no older value overwrites it.
    fn checkpoint_recovery_point(&self) -> Result<(), LogError> {
        self.recovery_points
            .read()
            .update(|| [((self.topic.as_str(), self.index), self.recovery_point())])
    }

    pub fn latest_epoch(&self) -> Option<i32> {
        self.log.read().latest_epoch()
    }

    /// Reads from `offset` up to the high watermark (or LSO under read_committed).
    pub fn read(
        &self,
        offset: i64,
        max_bytes: usize,
        isolation: IsolationLevel,
        min_one: bool,
    ) -> Result<ReadResult, ResponseError> {
        let log = self.log.read();
        let high_watermark = self.high_watermark();
        let last_stable_offset = Self::stable_offset(&log, high_watermark);
        let upper = match isolation {
            IsolationLevel::ReadUncommitted => high_watermark,
            IsolationLevel::ReadCommitted => last_stable_offset,
        };
        let records = log
            .read(offset, max_bytes, upper, min_one)
            .map_err(|e| self.storage_error(&e))?;
        let aborted_transactions = (isolation == IsolationLevel::ReadCommitted).then(|| {
            log.aborted_transactions(offset, upper)
                .into_iter()
                .map(|t| (t.producer_id, t.first_offset))
                .collect()
        });
        Ok(ReadResult {
            records,
            high_watermark,
            last_stable_offset,
            log_start_offset: log.log_start_offset(),
            aborted_transactions,
        })
    }

    /// ListOffsets for one timestamp: -2 earliest, -1 latest, -3 max timestamp,
    /// otherwise the first offset at or after the timestamp. Returns (timestamp, offset).
    pub fn list_offset(
        &self,
        timestamp: i64,
        isolation: IsolationLevel,
    ) -> Result<(i64, i64), ResponseError> {
        const LATEST: i64 = -1;
        const EARLIEST: i64 = -2;
        const MAX_TIMESTAMP: i64 = -3;
        const EARLIEST_LOCAL: i64 = -4;
        const LATEST_TIERED: i64 = -5;
        let log = self.log.read();
        let upper = match isolation {
            IsolationLevel::ReadUncommitted => self.high_watermark(),
            IsolationLevel::ReadCommitted => Self::stable_offset(&log, self.high_watermark()),
        };
        Ok(match timestamp {
            EARLIEST | EARLIEST_LOCAL => (-1, log.log_start_offset()),
            LATEST => (-1, upper),
            LATEST_TIERED => (-1, log.log_start_offset() - 1),
            MAX_TIMESTAMP => match log
                .max_timestamp_and_offset()
                .map_err(|e| self.storage_error(&e))?
            {
                Some((offset, ts)) if offset < upper => (ts, offset),
                _ => (-1, -1),
            },
            ts if ts < 0 => return Err(ResponseError::InvalidRequest),
            ts => match log
                .offset_for_timestamp(ts)
                .map_err(|e| self.storage_error(&e))?
            {
                Some((offset, found_ts)) if offset < upper => {
                    (found_ts, offset.max(log.log_start_offset()))
                }
                _ => (-1, -1),
            },
        })
    }

    /// OffsetForLeaderEpoch: the end offset of `epoch` as this leader knows it.
    pub fn end_offset_for_epoch(&self, epoch: i32) -> (i32, i64) {
        let log = self.log.read();
        match log.end_offset_for_epoch(epoch) {
            Some((e, offset)) => (e, offset),
            None => (-1, -1),
        }
    }

    /// DeleteRecords: moves the log start offset; `offset` -1 means the high watermark.
    pub fn delete_records_before(&self, offset: i64) -> Result<i64, ResponseError> {
        self.require_leader()?;
        let hw = self.high_watermark();
        let target = if offset == -1 { hw } else { offset };
        if target < 0 || target > hw {
            return Err(ResponseError::OffsetOutOfRange);
        }
        let (deleted, files) = {
            let mut log = self.log_mut();
            let deleted = log.delete_records_before(target, now_ms());
            (deleted, log.take_deleted_files())
        };
        self.remove_deleted(&files);
        deleted.map_err(|e| self.storage_error(&e))
    }

    /// Removes the files of deleted segments, outside the log's lock. A
    /// failure leaves them renamed aside, to go at the next open.
    fn remove_deleted(&self, files: &[PathBuf]) {
        if let Err(e) = crate::log::remove_deleted(files) {
            tracing::warn!(topic = %self.topic, partition = self.index, error = %e, "cannot remove a deleted segment's files: they go at the next start");
        }
    }

    /// Whether the log has periodic work: `due` on it under a read lock,
    /// or true when a writer holds it (the caller looks again under the
    /// write lock) so that a pass over every partition never waits on one.
    fn has_work(&self, due: impl FnOnce(&Log) -> bool) -> bool {
        self.log.try_read().is_none_or(|log| due(&log))
    }

    pub(crate) fn tick_due(&self, now_ms: i64) -> bool {
        if now_ms < self.tick_idle_until.load(Ordering::Acquire) {
            return false;
        }
        self.has_work(|log| {
            // Under the read lock: no write lock can reset it meanwhile.
            let due_at = log.tick_due_at();
            self.tick_idle_until.store(due_at, Ordering::Release);
            now_ms >= due_at
        })
    }

    /// Every change to the log goes through here: what it changes may
    /// give the tick work.
    fn log_mut(&self) -> parking_lot::RwLockWriteGuard<'_, Log> {
        let log = self.log.write();
        self.tick_idle_until.store(i64::MIN, Ordering::Release);
        log
    }

    pub(crate) fn retention_due(&self, now_ms: i64) -> bool {
        self.has_work(|log| log.retention_due(now_ms))
    }

    pub(crate) fn compaction_due(&self) -> bool {
        self.has_work(Log::clean_due)
    }

    /// Time-based roll and flush. Skipped on a full disk: a roll and index
    /// writes need space, and would fail every tick.
    pub(crate) fn tick(&self, now_ms: i64) {
        if self.disk.read().is_full() {
            return;
        }
        let mut log = self.log_mut();
        if let Err(e) = log.tick(now_ms) {
            self.note_storage_error(&e);
            tracing::error!(topic = %self.topic, partition = self.index, error = %e, "periodic roll or flush failed");
        }
    }

    /// Compacts what cleanup.policy asks to. A full disk is not compacted:
    /// rewriting needs space.
    pub(crate) fn compact(&self, now_ms: i64) {
        if self.disk.read().is_full() {
            return;
        }
        if let Err(e) = self.log_mut().clean(now_ms) {
            self.note_storage_error(&e);
            tracing::error!(topic = %self.topic, partition = self.index, error = %e, "compaction failed");
        }
    }

    /// Deletes what retention allows; returns the segments deleted.
    pub(crate) fn apply_retention(&self, now_ms: i64) -> usize {
        let (deleted, files) = {
            let mut log = self.log_mut();
            let deleted = log.apply_retention(now_ms);
            (deleted, log.take_deleted_files())
        };
        self.remove_deleted(&files);
        match deleted {
            Ok(n) => n,
            Err(e) => {
                tracing::error!(topic = %self.topic, partition = self.index, error = %e, "retention failed");
                0
            }
        }
    }

    /// Flushes the log and snapshots its producer state at the log end,
    /// for a clean shutdown.
    /// Moves the replica to another log directory under its log's write
    /// lock, so nothing is appended, truncated or cleaned meanwhile: the
    /// log is flushed and its producer state snapshotted, then `relocate`
    /// finishes the copy and answers the log opened in its new place,
    /// which replaces the old one (closing its files). An error leaves the
    /// partition serving from where it was.
    pub(crate) fn relocate<E: From<LogError>>(
        &self,
        relocate: impl FnOnce(&Log) -> Result<(Log, Arc<DiskSpace>, Arc<OffsetCheckpoint>), E>,
    ) -> Result<(), E> {
        let mut log = self.log_mut();
        log.checkpoint()?;
        let (moved, disk, recovery_points) = relocate(&log)?;
        drop(std::mem::replace(&mut *log, moved));
        *self.disk.write() = disk;
        *self.recovery_points.write() = recovery_points;
        Ok(())
    }

    pub(crate) fn checkpoint(&self) -> Result<(), LogError> {
        self.log_mut().checkpoint()?;
        if !self.maybe_advance_high_watermark() {
            // Produces waiting for a group commit are durable now.
            self.watchers.wake(Awaited::HighWatermark);
        }
        Ok(())
    }
}

fn has_followers(isr: &[i32], node_id: i32) -> bool {
    isr.iter().any(|id| *id != node_id)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state(leader: i32, isr: Vec<i32>) -> PartitionState {
        PartitionState {
            topic: "t".into(),
            topic_id: Uuid::nil(),
            index: 0,
            replicas: isr.clone(),
            isr,
            leader,
            leader_epoch: 0,
            partition_epoch: 0,
            log_config: LogConfig::default(),
            min_insync_replicas: 1,
        }
    }

    /// A log of ten records, starting at offset 2 after DeleteRecords.
    fn log(dir: &std::path::Path) -> Log {
        let mut log = Log::open(&dir.join("t-0"), LogConfig::default(), false, 0).unwrap();
        for i in 0..10 {
            log.append_as_leader(&crate::log::tests::one(&format!("v{i}"), 0), 0, 0)
                .unwrap();
        }
        log.delete_records_before(2, 0).unwrap();
        log
    }

    #[test]
    fn high_watermark_starts_from_the_checkpoint_as_far_as_the_log_reaches() {
        let dir = tempfile::tempdir().unwrap();
        let disk = Arc::new(DiskSpace::open(dir.path()));
        let recovery_points = Arc::new(OffsetCheckpoint::load(dir.path(), "recovery-points"));
        let open = |leader, isr, hw| {
            let logs = tempfile::tempdir().unwrap();
            let log = log(logs.path());
            Partition::new(
                &state(leader, isr),
                1,
                log,
                hw,
                disk.clone(),
                recovery_points.clone(),
            )
            .high_watermark()
        };
        // A follower waits for its leader's high watermark.
        assert_eq!(open(2, vec![1, 2], Some(7)), 7);
        assert_eq!(open(2, vec![1, 2], Some(50)), 10, "never past the log end");
        assert_eq!(
            open(2, vec![1, 2], Some(0)),
            2,
            "never before the log start"
        );
        assert_eq!(open(2, vec![1, 2], None), 2, "no entry: the log start");
        // A leader whose followers have not fetched yet keeps it too ...
        assert_eq!(open(1, vec![1, 2], Some(7)), 7);
        // ... and alone in its ISR moves it to its log end at once.
        assert_eq!(open(1, vec![1], Some(7)), 10);
        assert_eq!(open(1, vec![1], None), 10);
    }

    #[test]
    fn a_truncation_rewrites_the_recovery_point_at_once() {
        let dir = tempfile::tempdir().unwrap();
        let disk = Arc::new(DiskSpace::open(dir.path()));
        let file = "recovery-point-offset-checkpoint";
        let recovery_points = Arc::new(OffsetCheckpoint::load(dir.path(), file));
        let mut log = log(dir.path());
        log.flush().unwrap();
        let p = Partition::new(
            &state(2, vec![1, 2]),
            1,
            log,
            None,
            disk,
            recovery_points.clone(),
        );
        recovery_points
            .update(|| [(("t", 0), p.recovery_point())])
            .unwrap();
        assert_eq!(recovery_points.get("t", 0), Some(10));
        p.truncate_to(6).unwrap();
        let written = OffsetCheckpoint::load(dir.path(), file);
        assert_eq!(written.get("t", 0), Some(6));
        p.truncate_fully_and_start_at(20).unwrap();
        let written = OffsetCheckpoint::load(dir.path(), file);
        assert_eq!(written.get("t", 0), Some(20));
    }

    #[test]
    fn only_followers_past_the_lag_time_and_short_of_the_log_end_leave_the_isr() {
        let dir = tempfile::tempdir().unwrap();
        let disk = Arc::new(DiskSpace::open(dir.path()));
        let recovery_points = Arc::new(OffsetCheckpoint::load(dir.path(), "recovery-points"));
        let open = |leader, isr| {
            let logs = tempfile::tempdir().unwrap();
            Partition::new(
                &state(leader, isr),
                1,
                log(logs.path()),
                None,
                disk.clone(),
                recovery_points.clone(),
            )
        };
        let lag = 1_000;
        let later = now_ms() + 10 * lag;
        // Alone in its ISR, or not the leader: nothing to drop.
        assert_eq!(open(1, vec![1]).shrunk_isr(later, lag), None);
        assert_eq!(open(2, vec![1, 2, 3]).shrunk_isr(later, lag), None);

        let p = open(1, vec![1, 2, 3]);
        assert_eq!(p.shrunk_isr(now_ms(), lag), None, "within the lag time");
        // 2 fetched up to the log end (10) long ago; 3 is behind.
        p.record_follower_fetch((2, -1), 10, now_ms());
        p.record_follower_fetch((3, -1), 4, now_ms());
        assert_eq!(p.shrunk_isr(later, lag), Some(vec![1, 2]));

        // Once the metadata shrinks the ISR to the leader alone, the pass
        // looks no further.
        p.update(&PartitionState {
            isr: vec![1],
            ..state(1, vec![1, 2, 3])
        });
        assert_eq!(p.shrunk_isr(later, lag), None);
        p.update(&state(1, vec![1, 3]));
        assert_eq!(p.shrunk_isr(later, lag), Some(vec![1]));
        // A shrink is proposed at the epochs of the state it came from.
        assert_eq!(p.epochs(), (0, 0));
        p.update(&PartitionState {
            leader_epoch: 2,
            partition_epoch: 9,
            ..state(1, vec![1, 3])
        });
        assert_eq!(p.epochs(), (2, 9));
    }

    #[test]
    fn a_caught_up_follower_is_proposed_with_the_broker_epoch_it_fetched_at() {
        let dir = tempfile::tempdir().unwrap();
        let disk = Arc::new(DiskSpace::open(dir.path()));
        let recovery_points = Arc::new(OffsetCheckpoint::load(dir.path(), "recovery-points"));
        let logs = tempfile::tempdir().unwrap();
        let p = Partition::new(
            &PartitionState {
                isr: vec![1],
                ..state(1, vec![1, 2])
            },
            1,
            log(logs.path()),
            None,
            disk,
            recovery_points,
        );
        let now = now_ms();
        let hw = p.high_watermark();
        let (_, behind) = p.record_follower_fetch((2, 40), hw - 1, now);
        assert_eq!(behind, None, "short of the high watermark");
        let (_, expand) = p.record_follower_fetch((2, 40), hw, now);
        let at_40 = IsrExpansion {
            isr: vec![1, 2],
            joining: (2, 40),
        };
        assert_eq!(expand, Some(at_40));
        let (_, again) = p.record_follower_fetch((2, 40), hw, now);
        assert_eq!(again, None, "already proposed");
        assert_eq!(p.followers.lock()[&2].broker_epoch, 40);
        // Restarted and registered again: its fetches carry the new epoch,
        // and the expansion goes again at once, naming it.
        let (_, restarted) = p.record_follower_fetch((2, 41), hw, now);
        assert_eq!(restarted.map(|e| e.joining), Some((2, 41)));
        assert_eq!(p.followers.lock()[&2].broker_epoch, 41);
        // What any proposal states of the members it keeps: each
        // follower's epoch as last fetched, nothing of the leader itself
        // nor of a member not heard from.
        assert_eq!(p.isr_broker_epochs(&[1, 2, 3]), vec![(2, 41)]);
    }

    #[test]
    fn a_follower_that_fetches_past_the_previous_log_end_stays_caught_up_under_load() {
        let dir = tempfile::tempdir().unwrap();
        let disk = Arc::new(DiskSpace::open(dir.path()));
        let recovery_points = Arc::new(OffsetCheckpoint::load(dir.path(), "recovery-points"));
        let logs = tempfile::tempdir().unwrap();
        let p = Partition::new(
            &state(1, vec![1, 2, 3]),
            1,
            log(logs.path()),
            None,
            disk,
            recovery_points,
        );
        let append = || {
            p.log
                .write()
                .append_as_leader(&crate::log::tests::one("more", 0), 0, 0)
                .unwrap();
        };
        let lag = 1_000;
        let step = lag / 4;
        let start = now_ms();
        // Each round the leader's log grows before the followers fetch
        // again: 2 fetches what was the log end at its previous fetch,
        // 3 stays where it was. Neither ever fetches from the log end.
        p.record_follower_fetch((2, -1), 5, start);
        p.record_follower_fetch((3, -1), 5, start);
        for round in 1..=5 {
            let fetched_to = p.log_end_offset();
            append();
            let at = start + round * step;
            p.record_follower_fetch((2, -1), fetched_to, at);
            p.record_follower_fetch((3, -1), 5, at);
        }
        // 2 was caught up as of its previous fetch; 3 not since it started.
        assert_eq!(
            p.shrunk_isr(start + 5 * step + lag / 2, lag),
            Some(vec![1, 2])
        );
    }
}
