//! The share coordinator (Kafka's ShareCoordinatorService and
//! ShareCoordinatorShard): keeps each share-partition's durable state
//! (start offset, state epoch, leader epoch, the state batches of the
//! records in flight) in `__share_group_state`, keyed by (group, topic
//! id, partition) and placed by "group:topicId:partition" as Kafka places
//! it. A write appends a ShareUpdate with the batches it changed; every
//! `share.coordinator.snapshot.update.records.per.snapshot` writes of one
//! key it appends a ShareSnapshot of the whole state instead, so replay
//! (and compaction) need only the last snapshot and the updates after it.
//!
//! Served over the wire by the five share-group state APIs
//! (src/api/*_share_group_state*.rs) and in process to this broker's
//! share-partitions through `group::share`'s Persister.

pub mod records;
#[cfg(test)]
mod tests;

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use kafka_protocol::error::ResponseError;
use parking_lot::Mutex;
use uuid::Uuid;

use crate::coordinator_records::{
    encode_records, leadership_change, partition_for, replay_partition, LoadError,
};
use crate::partition::kafka_uuid;
use crate::partition::{now_ms, ReplicaManager};

/// How long a write waits for the ISR, as offset commits'
/// (`offsets.commit.timeout.ms`).
const REPLICATION_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);
use records::{Replayed, Snapshot, Update};

pub const SHARE_STATE_TOPIC: &str = "__share_group_state";

/// Kafka's RecordState ids, as state batches carry them.
pub const AVAILABLE: i8 = 0;
pub const ACQUIRED: i8 = 1;
pub const ACKNOWLEDGED: i8 = 2;
pub const ARCHIVED: i8 = 4;

/// A share-partition: (group, topic id, partition).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct StateKey {
    pub group_id: String,
    pub topic_id: Uuid,
    pub partition: i32,
}

impl StateKey {
    pub fn new(group_id: &str, topic_id: Uuid, partition: i32) -> StateKey {
        StateKey {
            group_id: group_id.to_string(),
            topic_id,
            partition,
        }
    }

    /// FindCoordinator's SHARE key, Kafka's SharePartitionKey.asCoordinatorKey.
    pub fn coordinator_key(&self) -> String {
        format!(
            "{}:{}:{}",
            self.group_id,
            kafka_uuid(self.topic_id),
            self.partition
        )
    }
}

/// Offsets `first_offset..=last_offset` in one delivery state with one
/// delivery count.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StateBatch {
    pub first_offset: i64,
    pub last_offset: i64,
    pub delivery_state: i8,
    pub delivery_count: i16,
}

/// A share-partition's durable state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShareState {
    pub state_epoch: i32,
    pub leader_epoch: i32,
    /// -1 while uninitialized: the share-partition starts from
    /// `share.auto.offset.reset`.
    pub start_offset: i64,
    /// Sorted, not overlapping, none below the start offset.
    pub batches: Vec<StateBatch>,
}

/// `share.coordinator.*` settings.
#[derive(Debug, Clone)]
pub struct ShareCoordinatorConfig {
    /// `share.coordinator.state.topic.num.partitions`.
    pub state_topic_partitions: i32,
    /// `share.coordinator.snapshot.update.records.per.snapshot`.
    pub updates_per_snapshot: u32,
}

#[derive(Debug, Clone)]
struct Entry {
    snapshot_epoch: i32,
    state: ShareState,
    create_timestamp: i64,
    /// ShareUpdates written since the snapshot.
    updates: u32,
}

pub struct ShareCoordinator {
    config: ShareCoordinatorConfig,
    replicas: Arc<ReplicaManager>,
    entries: Mutex<HashMap<StateKey, Entry>>,
    /// The `__share_group_state` partitions loaded here.
    led: Mutex<BTreeSet<i32>>,
    /// Led partitions whose log could not be read (locked after `led`).
    failed: Mutex<BTreeSet<i32>>,
}

/// Lays `new` over `batches`: offsets it names take its state.
pub fn overlay(batches: &mut Vec<StateBatch>, new: &[StateBatch]) {
    for n in new {
        let mut out = Vec::with_capacity(batches.len() + 2);
        for b in batches.drain(..) {
            if b.last_offset < n.first_offset || b.first_offset > n.last_offset {
                out.push(b);
                continue;
            }
            if b.first_offset < n.first_offset {
                out.push(StateBatch {
                    last_offset: n.first_offset - 1,
                    ..b
                });
            }
            if b.last_offset > n.last_offset {
                out.push(StateBatch {
                    first_offset: n.last_offset + 1,
                    ..b
                });
            }
        }
        out.push(*n);
        out.sort_by_key(|b| b.first_offset);
        *batches = out;
    }
}

/// Drops what lies below `start`: every record there is done.
fn trim(batches: &mut Vec<StateBatch>, start: i64) {
    batches.retain(|b| b.last_offset >= start);
    for b in batches.iter_mut() {
        b.first_offset = b.first_offset.max(start);
    }
}

/// A ShareUpdate applied to the state it follows.
fn apply_update(state: &mut ShareState, update: &Update) {
    if update.leader_epoch != -1 {
        state.leader_epoch = update.leader_epoch;
    }
    if update.start_offset != -1 {
        state.start_offset = update.start_offset;
    }
    overlay(&mut state.batches, &update.batches);
    trim(&mut state.batches, state.start_offset);
}

/// Checks state batches as a request carries them.
fn valid_batches(batches: &[StateBatch]) -> bool {
    batches.iter().all(|b| {
        b.first_offset >= 0
            && b.first_offset <= b.last_offset
            && matches!(
                b.delivery_state,
                AVAILABLE | ACQUIRED | ACKNOWLEDGED | ARCHIVED
            )
            && b.delivery_count >= 0
    })
}

impl ShareCoordinator {
    pub fn new(config: ShareCoordinatorConfig, replicas: Arc<ReplicaManager>) -> ShareCoordinator {
        ShareCoordinator {
            config,
            replicas,
            entries: Mutex::new(HashMap::new()),
            led: Mutex::new(BTreeSet::new()),
            failed: Mutex::new(BTreeSet::new()),
        }
    }

    /// The `__share_group_state` partition holding `key`.
    pub fn partition_of(&self, key: &StateKey) -> i32 {
        partition_for(&key.coordinator_key(), self.config.state_topic_partitions)
    }

    /// Whether partition `index`'s state is loaded here.
    pub fn is_loaded(&self, index: i32) -> bool {
        self.led.lock().contains(&index)
    }

    /// Whether this broker leads partition `index` but could not read it.
    pub fn load_failed(&self, index: i32) -> bool {
        self.failed.lock().contains(&index)
    }

    fn check(&self, key: &StateKey) -> Result<i32, ResponseError> {
        let index = self.partition_of(key);
        if self.is_loaded(index) {
            Ok(index)
        } else {
            Err(ResponseError::NotCoordinator)
        }
    }

    fn append(
        &self,
        index: i32,
        entries: Vec<(bytes::Bytes, Option<bytes::Bytes>)>,
    ) -> Result<(), ResponseError> {
        let batch = encode_records(entries, None, now_ms()).map_err(|e| {
            tracing::error!(error = %e, "cannot encode a {SHARE_STATE_TOPIC} record");
            ResponseError::UnknownServerError
        })?;
        self.replicas
            .append_records(SHARE_STATE_TOPIC, index, &batch)
            .map(|_| ())
            .map_err(|e| match e {
                ResponseError::UnknownTopicOrPartition | ResponseError::NotLeaderOrFollower => {
                    ResponseError::NotCoordinator
                }
                other => other,
            })
    }

    /// Writes `entry` as a snapshot (a new snapshot epoch) and keeps it.
    fn put_snapshot(
        &self,
        entries: &mut HashMap<StateKey, Entry>,
        index: i32,
        key: &StateKey,
        mut entry: Entry,
    ) -> Result<(), ResponseError> {
        let snapshot = Snapshot {
            snapshot_epoch: entry.snapshot_epoch,
            state: entry.state.clone(),
            create_timestamp: entry.create_timestamp,
            write_timestamp: now_ms(),
        };
        self.append(
            index,
            vec![(
                records::snapshot_key(key),
                Some(records::snapshot_value(&snapshot)),
            )],
        )?;
        entry.updates = 0;
        entries.insert(key.clone(), entry);
        Ok(())
    }

    /// InitializeShareGroupState: the share-partition (re)starts at
    /// `start_offset` with nothing in flight, under a newer state epoch.
    pub fn initialize(
        &self,
        key: &StateKey,
        state_epoch: i32,
        start_offset: i64,
    ) -> Result<(), ResponseError> {
        let index = self.check(key)?;
        if start_offset < 0 {
            return Err(ResponseError::InvalidRequest);
        }
        let mut entries = self.entries.lock();
        let previous = entries.get(key);
        if previous.is_some_and(|e| e.state.state_epoch >= state_epoch) {
            return Err(ResponseError::FencedStateEpoch);
        }
        let entry = Entry {
            snapshot_epoch: previous.map_or(0, |e| e.snapshot_epoch + 1),
            state: ShareState {
                state_epoch,
                leader_epoch: previous.map_or(-1, |e| e.state.leader_epoch),
                start_offset,
                batches: Vec::new(),
            },
            create_timestamp: now_ms(),
            updates: 0,
        };
        self.put_snapshot(&mut entries, index, key, entry)
    }

    /// ReadShareGroupState: the state, or an uninitialized one (start
    /// offset -1, state epoch 0). A leader epoch older than the one
    /// recorded is fenced; a newer one is recorded.
    pub fn read(&self, key: &StateKey, leader_epoch: i32) -> Result<ShareState, ResponseError> {
        let index = self.check(key)?;
        let mut entries = self.entries.lock();
        let Some(entry) = entries.get(key) else {
            return Ok(ShareState {
                state_epoch: 0,
                leader_epoch: -1,
                start_offset: -1,
                batches: Vec::new(),
            });
        };
        if leader_epoch != -1 && leader_epoch < entry.state.leader_epoch {
            return Err(ResponseError::FencedLeaderEpoch);
        }
        let state = entry.state.clone();
        if leader_epoch > state.leader_epoch {
            self.write_locked(
                &mut entries,
                index,
                key,
                state.state_epoch,
                leader_epoch,
                -1,
                &[],
            )?;
        }
        Ok(entries.get(key).map_or(state, |e| e.state.clone()))
    }

    /// ReadShareGroupStateSummary: the state without its batches.
    pub fn summary(&self, key: &StateKey, leader_epoch: i32) -> Result<ShareState, ResponseError> {
        let mut state = self.read(key, leader_epoch)?;
        state.batches.clear();
        Ok(state)
    }

    /// WriteShareGroupState: `batches` laid over the state, the start
    /// offset moved unless -1. A write under an older state epoch or
    /// leader epoch than recorded is fenced; one under a newer state epoch
    /// starts the state anew.
    pub fn write(
        &self,
        key: &StateKey,
        state_epoch: i32,
        leader_epoch: i32,
        start_offset: i64,
        batches: &[StateBatch],
    ) -> Result<(), ResponseError> {
        let index = self.check(key)?;
        if start_offset < -1 || !valid_batches(batches) {
            return Err(ResponseError::InvalidRequest);
        }
        let mut entries = self.entries.lock();
        self.write_locked(
            &mut entries,
            index,
            key,
            state_epoch,
            leader_epoch,
            start_offset,
            batches,
        )
    }

    #[allow(clippy::too_many_arguments)]
    fn write_locked(
        &self,
        entries: &mut HashMap<StateKey, Entry>,
        index: i32,
        key: &StateKey,
        state_epoch: i32,
        leader_epoch: i32,
        start_offset: i64,
        batches: &[StateBatch],
    ) -> Result<(), ResponseError> {
        let update = Update {
            snapshot_epoch: 0,
            leader_epoch,
            start_offset,
            batches: batches.to_vec(),
        };
        let current = match entries.get(key) {
            Some(e) if state_epoch < e.state.state_epoch => {
                return Err(ResponseError::FencedStateEpoch)
            }
            Some(e) if leader_epoch != -1 && leader_epoch < e.state.leader_epoch => {
                return Err(ResponseError::FencedLeaderEpoch)
            }
            Some(e) if state_epoch == e.state.state_epoch => e.clone(),
            fresh => {
                let mut state = ShareState {
                    state_epoch,
                    leader_epoch,
                    start_offset: start_offset.max(0),
                    batches: Vec::new(),
                };
                apply_update(&mut state, &update);
                let entry = Entry {
                    snapshot_epoch: fresh.map_or(0, |e| e.snapshot_epoch + 1),
                    state,
                    create_timestamp: now_ms(),
                    updates: 0,
                };
                return self.put_snapshot(entries, index, key, entry);
            }
        };
        let mut next = current.clone();
        apply_update(&mut next.state, &update);
        if current.updates + 1 >= self.config.updates_per_snapshot {
            next.snapshot_epoch += 1;
            return self.put_snapshot(entries, index, key, next);
        }
        let update = Update {
            snapshot_epoch: current.snapshot_epoch,
            ..update
        };
        self.append(
            index,
            vec![(
                records::update_key(key),
                Some(records::update_value(&update)),
            )],
        )?;
        next.updates += 1;
        entries.insert(key.clone(), next);
        Ok(())
    }

    /// Waits until what was appended to `key`'s `__share_group_state`
    /// partition is on the whole ISR (its high watermark), as offset
    /// commits wait: a write answered survives this leader's loss.
    pub async fn replicated(&self, key: &StateKey) -> Result<(), ResponseError> {
        let index = self.partition_of(key);
        let Some(partition) = self.replicas.partition(SHARE_STATE_TOPIC, index) else {
            return Err(ResponseError::NotCoordinator);
        };
        let leader_epoch = partition.leader_epoch();
        let end = partition.log_end_offset();
        if !partition.is_leader() {
            return Err(ResponseError::NotCoordinator);
        }
        if end == 0 {
            return Ok(());
        }
        match self
            .replicas
            .wait_for_high_watermark(&partition, end - 1, leader_epoch, REPLICATION_TIMEOUT)
            .await
        {
            Ok(()) => Ok(()),
            Err(ResponseError::NotLeaderOrFollower) => Err(ResponseError::NotCoordinator),
            Err(_) => Err(ResponseError::CoordinatorNotAvailable),
        }
    }

    /// DeleteShareGroupState: tombstones for the share-partition's records.
    pub fn delete(&self, key: &StateKey) -> Result<(), ResponseError> {
        let index = self.check(key)?;
        let mut entries = self.entries.lock();
        if !entries.contains_key(key) {
            return Ok(());
        }
        self.append(
            index,
            vec![
                (records::snapshot_key(key), None),
                (records::update_key(key), None),
            ],
        )?;
        entries.remove(key);
        Ok(())
    }

    /// Loads the `__share_group_state` partitions this broker has come to
    /// lead and forgets those it no longer leads, as the group
    /// coordinator does for `__consumer_offsets`.
    pub fn sync_leadership(&self) {
        let partitions = self.config.state_topic_partitions;
        let led_now = self.replicas.led_partitions(SHARE_STATE_TOPIC, partitions);
        let mut led = self.led.lock();
        let mut failed = self.failed.lock();
        let Some((gained, lost)) = leadership_change(&led, &mut failed, &led_now) else {
            return;
        };
        let mut entries = self.entries.lock();
        entries.retain(|k, _| !lost.contains(&partition_for(&k.coordinator_key(), partitions)));
        led.retain(|index| !lost.contains(index));
        for index in gained {
            match self.load_partition(index) {
                Ok(loaded) => {
                    entries.extend(loaded);
                    led.insert(index);
                }
                Err(e) => {
                    tracing::error!(error = %e, "the share-partition states of this {SHARE_STATE_TOPIC} partition are not served (NOT_COORDINATOR) until it loads, when this broker comes to lead it again or restarts");
                    failed.insert(index);
                }
            }
        }
    }

    /// Replays partition `index`: the last snapshot of each key with the
    /// updates written after it.
    fn load_partition(&self, index: i32) -> Result<HashMap<StateKey, Entry>, LoadError> {
        let mut loaded = HashMap::new();
        let Some(partition) = self.replicas.partition(SHARE_STATE_TOPIC, index) else {
            return Ok(loaded);
        };
        let count = replay_partition(&partition, |record| {
            replay_into(&mut loaded, records::replay(record.key, record.value)?);
            Ok(())
        })?;
        if count > 0 {
            tracing::info!(
                partition = index,
                records = count,
                states = loaded.len(),
                "loaded share-partition states"
            );
        }
        Ok(loaded)
    }
}

/// One record of the log applied to the states read so far. An update of
/// an older snapshot than the one kept was superseded by it.
fn replay_into(states: &mut HashMap<StateKey, Entry>, record: Replayed) {
    match record {
        Replayed::Snapshot(key, Some(s)) => {
            states.insert(
                key,
                Entry {
                    snapshot_epoch: s.snapshot_epoch,
                    state: s.state,
                    create_timestamp: s.create_timestamp,
                    updates: 0,
                },
            );
        }
        Replayed::Snapshot(key, None) => {
            states.remove(&key);
        }
        Replayed::Update(key, Some(u)) => {
            if let Some(e) = states.get_mut(&key) {
                if e.snapshot_epoch == u.snapshot_epoch {
                    apply_update(&mut e.state, &u);
                    e.updates += 1;
                }
            }
        }
        Replayed::Update(_, None) => {}
    }
}
