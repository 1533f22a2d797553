//! Share groups (KIP-932, Kafka 4.1's queues): many members read the same
//! partitions, each record acquired by one member at a time under a lock,
//! acknowledged one by one (ACCEPT, RELEASE, REJECT), redelivered when its
//! lock expires and archived after `group.share.delivery.count.limit`
//! deliveries.
//!
//! - `group.rs`: membership, the simple assignor, session expiry
//!   (ShareGroupHeartbeat, ShareGroupDescribe).
//! - `partition.rs`: a share-partition's in-flight records: acquisition,
//!   acknowledgement, where a record's lock expires.
//! - `session.rs`: share sessions (ShareFetch's and ShareAcknowledge's epochs).
//! - `persister.rs`: where a share-partition's durable state goes (Kafka's
//!   Persister): the share coordinator (`crate::share_coordinator`) of its
//!   key, on this broker or another, and its `__share_group_state`.
//!
//! Membership lives with the group coordinator; share-partitions and share
//! sessions live on each partition's leader (Kafka's SharePartitionManager),
//! which serves ShareFetch and ShareAcknowledge without asking the group
//! coordinator. A share-partition is loaded from the persister for the
//! partition's leader epoch, read again when that epoch changes and
//! dropped when the partition is led elsewhere or its writes are fenced;
//! what changed is written after each acquisition pass and with every
//! acknowledgement, which is answered only once its write landed. Writes
//! are async and never hold the share lock; the lock has its own, apart
//! from the other group types', since ShareFetch takes it on every fetch.
//! Membership and share sessions stay in memory: after a restart members
//! join again.

mod group;
mod partition;
mod persister;
mod session;
#[cfg(test)]
mod tests;

use std::collections::hash_map::Entry;
use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use kafka_protocol::error::ResponseError;
use uuid::Uuid;

pub use group::{ShareHeartbeat, ShareHeartbeatResult, ShareMember, Topics};
pub use partition::{
    log_batches, mark_aborted, AckBatch, AckType, Acquired, Limits, SharePartition,
};
pub use persister::{PersistedState, Persister, StatePersister, StateSummary};
pub use session::{Opened, SessionPartition, FINAL_EPOCH, INITIAL_EPOCH};

use super::coordinator::GroupCoordinator;
use crate::share_coordinator::StateKey;
use group::ShareGroup;
use session::ShareSessionCache;

/// The broker's `group.share.*` settings.
#[derive(Debug, Clone)]
pub struct ShareConfig {
    pub heartbeat_interval_ms: i32,
    pub session_timeout_ms: i32,
    pub record_lock_duration_ms: i32,
    pub delivery_count_limit: i16,
    pub partition_max_record_locks: usize,
    /// `group.share.max.share.sessions`: share sessions this broker keeps.
    pub max_share_sessions: usize,
    /// `group.share.max.size`: members one share group may have.
    pub max_size: usize,
}

/// Every share group, share-partition and share session on this broker.
#[derive(Default)]
pub(in crate::group) struct ShareState {
    groups: HashMap<String, ShareGroup>,
    partitions: HashMap<(String, Uuid, i32), SharePartition>,
    sessions: ShareSessionCache,
    /// Where share-partitions keep their state; without one (unit tests
    /// of the state machine) they live in memory only.
    persister: Option<Arc<dyn Persister>>,
    /// One write of a share-partition's state at a time, each of the
    /// whole state taken once the previous landed: written in the order
    /// they were taken, a later state is never overwritten by an earlier.
    /// A gate is cloned only under the share lock and removed once no
    /// writer holds or awaits it.
    write_gates: HashMap<PartitionKey, Arc<tokio::sync::Mutex<()>>>,
}

type PartitionKey = (String, Uuid, i32);

fn state_key((group_id, topic_id, partition): &PartitionKey) -> StateKey {
    StateKey {
        group_id: group_id.clone(),
        topic_id: *topic_id,
        partition: *partition,
    }
}

/// A share group as ShareGroupDescribe reports it.
pub struct ShareGroupDescription {
    pub state: &'static str,
    pub group_epoch: i32,
    pub assignment_epoch: i32,
    pub members: Vec<(String, ShareMember)>,
}

/// Where a new share-partition starts (`share.auto.offset.reset`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AutoOffsetReset {
    Earliest,
    Latest,
}

impl GroupCoordinator {
    /// The limits `group_id`'s share-partitions run under: its group
    /// configs where set, else the broker's.
    pub fn share_limits(&self, group_id: &str) -> Limits {
        let c = &self.share_config;
        Limits {
            lock_duration_ms: i64::from(self.group_int(
                group_id,
                "share.record.lock.duration.ms",
                c.record_lock_duration_ms,
            )),
            delivery_count_limit: c.delivery_count_limit,
            max_in_flight: c.partition_max_record_locks,
        }
    }

    /// Whether `group_id` reads read_committed (`share.isolation.level`,
    /// read_uncommitted unless set): its members are never given records
    /// of aborted transactions, nor any past the last stable offset.
    pub fn share_read_committed(&self, group_id: &str) -> bool {
        self.group_string(group_id, "share.isolation.level")
            .as_deref()
            == Some("read_committed")
    }

    /// `share.auto.offset.reset` of `group_id` (latest unless set).
    pub fn share_auto_offset_reset(&self, group_id: &str) -> AutoOffsetReset {
        match self
            .group_string(group_id, "share.auto.offset.reset")
            .as_deref()
        {
            Some("earliest") => AutoOffsetReset::Earliest,
            _ => AutoOffsetReset::Latest,
        }
    }

    /// One ShareGroupHeartbeat at `now`. A member that leaves, or whose
    /// session ran out, gives back the records it holds and loses its
    /// share sessions.
    pub fn share_heartbeat(
        &self,
        hb: &ShareHeartbeat,
        topics: &Topics,
        now: i64,
    ) -> Result<ShareHeartbeatResult, ResponseError> {
        if self.state.lock().knows(&hb.group_id) {
            // As Kafka: a group id of another type is not a share group.
            return Err(ResponseError::GroupIdNotFound);
        }
        let session_timeout = self.group_int(
            &hb.group_id,
            "share.session.timeout.ms",
            self.share_config.session_timeout_ms,
        );
        let interval = self.group_int(
            &hb.group_id,
            "share.heartbeat.interval.ms",
            self.share_config.heartbeat_interval_ms,
        );
        let limits = self.share_limits(&hb.group_id);
        let mut share = self.share.lock();
        let group = share.groups.entry(hb.group_id.clone()).or_default();
        let mut gone = group.expire(now, topics);
        let result = group.heartbeat(
            hb,
            topics,
            now,
            session_timeout,
            interval,
            self.share_config.max_size,
        );
        // A silent member will not close its share sessions itself; one that
        // leaves does (ShareAcknowledge at epoch -1) after its heartbeat.
        for member in &gone {
            share.sessions.remove(&hb.group_id, member);
        }
        if hb.member_epoch == group::LEAVE_EPOCH {
            gone.push(hb.member_id.clone());
        }
        for member in gone {
            share.release_member(&hb.group_id, &member, &limits);
        }
        result
    }

    /// A share group as ShareGroupDescribe reports it, after expiring
    /// members whose session ran out by `now`.
    pub fn describe_share_group(
        &self,
        group_id: &str,
        topics: &Topics,
        now: i64,
    ) -> Option<ShareGroupDescription> {
        let limits = self.share_limits(group_id);
        let mut share = self.share.lock();
        let group = share.groups.get_mut(group_id)?;
        let gone = group.expire(now, topics);
        let description = ShareGroupDescription {
            state: group.state_name(),
            group_epoch: group.group_epoch,
            assignment_epoch: group.assignment_epoch,
            members: group
                .members
                .iter()
                .map(|(id, m)| (id.clone(), m.clone()))
                .collect(),
        };
        for member in gone {
            share.sessions.remove(group_id, &member);
            share.release_member(group_id, &member, &limits);
        }
        Some(description)
    }

    /// Share groups, for ListGroups: (id, state).
    pub fn list_share_groups(&self) -> Vec<(String, &'static str)> {
        let share = self.share.lock();
        share
            .groups
            .iter()
            .map(|(id, g)| (id.clone(), g.state_name()))
            .collect()
    }

    /// A ShareFetch's share session (see [`ShareSessionCache::fetch`]),
    /// tied to the connection it came on.
    pub fn share_session_fetch(
        &self,
        group_id: &str,
        member_id: &str,
        epoch: i32,
        added: &[SessionPartition],
        forgotten: &[SessionPartition],
        connection: u64,
    ) -> Result<Opened, ResponseError> {
        let max = self.share_config.max_share_sessions;
        let mut share = self.share.lock();
        let opened = share
            .sessions
            .fetch(group_id, member_id, epoch, added, forgotten, max)?;
        share.sessions.bind(group_id, member_id, connection);
        Ok(opened)
    }

    /// A ShareAcknowledge's share session, tied to the connection it came on.
    pub fn share_session_acknowledge(
        &self,
        group_id: &str,
        member_id: &str,
        epoch: i32,
        connection: u64,
    ) -> Result<Opened, ResponseError> {
        let mut share = self.share.lock();
        let opened = share.sessions.acknowledge(group_id, member_id, epoch)?;
        share.sessions.bind(group_id, member_id, connection);
        Ok(opened)
    }

    /// `connection` closed: its share sessions go, and what their members
    /// hold is given back, as Kafka's ShareSessionCache does when a client
    /// disconnects.
    pub fn share_connection_closed(&self, connection: u64) {
        let gone = self.share.lock().sessions.remove_connection(connection);
        for (group_id, member_id) in gone {
            self.release_share_member(&group_id, &member_id);
        }
    }

    /// Makes share-partitions keep their state in `persister`.
    pub fn set_share_persister(&self, persister: Arc<dyn Persister>) {
        self.share.lock().persister = Some(persister);
    }

    /// Loads the share-partition of (`group_id`, topic, partition) for this
    /// broker as the partition's leader at `leader_epoch`, unless loaded at
    /// that epoch already: its state read from the persister (which fences
    /// older leaders' writes from then on), or starting at `start()` when
    /// it has none. One loaded under an older epoch (leadership went away
    /// and came back) is replaced: what it held in memory was never
    /// written, and the leaders in between may have changed the state.
    pub async fn load_share_partition(
        &self,
        group_id: &str,
        topic_id: Uuid,
        partition: i32,
        leader_epoch: i32,
        start: impl FnOnce() -> i64,
    ) -> Result<(), ResponseError> {
        let key = (group_id.to_string(), topic_id, partition);
        let persister = {
            let share = self.share.lock();
            if share
                .partitions
                .get(&key)
                .is_some_and(|sp| sp.leader_epoch() == leader_epoch)
            {
                return Ok(());
            }
            share.persister.clone()
        };
        let stored = match &persister {
            Some(p) => p.read_state(&state_key(&key), leader_epoch).await?,
            None => None,
        };
        // A new one is written at its first flush, so that the next leader
        // starts where this one did.
        let mut sp = stored.unwrap_or_else(|| SharePartition::new(start()));
        sp.set_leader_epoch(leader_epoch);
        let mut share = self.share.lock();
        match share.partitions.entry(key) {
            Entry::Occupied(e) if e.get().leader_epoch() >= leader_epoch => {}
            Entry::Occupied(mut e) => {
                e.insert(sp);
            }
            Entry::Vacant(v) => {
                v.insert(sp);
            }
        }
        Ok(())
    }

    /// Forgets the share-partition of (`group_id`, topic, partition): this
    /// broker no longer leads the partition. What it held in flight goes
    /// back with it: the next leader starts from the written state, where
    /// acquired records are available.
    pub fn drop_share_partition(&self, group_id: &str, topic_id: Uuid, partition: i32) {
        let key = (group_id.to_string(), topic_id, partition);
        let mut share = self.share.lock();
        if share.partitions.remove(&key).is_some() {
            tracing::info!(group = group_id, %topic_id, partition, "share-partition dropped: its partition is led elsewhere");
        }
    }

    /// Runs `f` on the share-partition of (`group_id`, topic, partition)
    /// loaded at `leader_epoch` (see [`Self::load_share_partition`]), after
    /// its expired locks are given back (at `now`); `None` when it is not
    /// loaded at that epoch. What `f` changes is written by
    /// [`Self::write_share_partition`].
    pub fn with_share_partition<R>(
        &self,
        group_id: &str,
        topic_id: Uuid,
        partition: i32,
        leader_epoch: i32,
        now: i64,
        f: impl FnOnce(&mut SharePartition, &Limits) -> R,
    ) -> Option<R> {
        let limits = self.share_limits(group_id);
        let key = (group_id.to_string(), topic_id, partition);
        let mut share = self.share.lock();
        let sp = share
            .partitions
            .get_mut(&key)
            .filter(|sp| sp.leader_epoch() == leader_epoch)?;
        sp.expire_locks(now, &limits);
        Some(f(sp, &limits))
    }

    /// Writes the share-partition's state if it changed since last written.
    pub async fn write_share_partition(
        &self,
        group_id: &str,
        topic_id: Uuid,
        partition: i32,
        leader_epoch: i32,
    ) -> Result<(), ResponseError> {
        let key = (group_id.to_string(), topic_id, partition);
        self.write_share_state(&key, leader_epoch, |_| {}).await
    }

    /// `member_id`'s acknowledgements of one share-partition loaded at
    /// `leader_epoch`, answered once written: when the write fails they
    /// are undone (the records stay the member's), and the member gets the
    /// write's error, as Kafka's SharePartition does.
    #[allow(clippy::too_many_arguments)]
    pub async fn acknowledge_share(
        &self,
        group_id: &str,
        topic_id: Uuid,
        partition: i32,
        leader_epoch: i32,
        now: i64,
        member_id: &str,
        batches: &[AckBatch],
    ) -> Result<(), ResponseError> {
        let limits = self.share_limits(group_id);
        let key = (group_id.to_string(), topic_id, partition);
        let before = {
            let mut share = self.share.lock();
            let sp = share
                .partitions
                .get_mut(&key)
                .filter(|sp| sp.leader_epoch() == leader_epoch)
                .ok_or(ResponseError::NotLeaderOrFollower)?;
            sp.expire_locks(now, &limits);
            let before = sp.clone();
            sp.acknowledge(member_id, batches, &limits)?;
            before
        };
        self.write_share_state(&key, leader_epoch, |sp| {
            sp.undo_acknowledge(&before, batches)
        })
        .await
        .inspect_err(|e| {
            tracing::warn!(group = group_id, %topic_id, partition, error = ?e, "acknowledgements not written: refused");
        })
    }

    /// Writes `key`'s state if it changed, behind its write gate: a change
    /// made before the gate was taken is in the state written, or in one
    /// written before. On failure `undo` runs on the share-partition, which
    /// stays to be written again; a fenced one is dropped, since another
    /// leader or a newer state took over. NOT_LEADER_OR_FOLLOWER when it is
    /// no longer loaded at `leader_epoch`: what it held was never written.
    async fn write_share_state(
        &self,
        key: &PartitionKey,
        leader_epoch: i32,
        undo: impl FnOnce(&mut SharePartition),
    ) -> Result<(), ResponseError> {
        let (persister, gate) = {
            let mut share = self.share.lock();
            let Some(persister) = share.persister.clone() else {
                return Ok(());
            };
            let gate = share.write_gates.entry(key.clone()).or_default().clone();
            (persister, gate)
        };
        let written = {
            let _turn = gate.lock().await;
            self.write_behind_gate(persister.as_ref(), key, leader_epoch, undo)
                .await
        };
        drop(gate);
        self.share.lock().drop_idle_gate(key);
        written
    }

    /// [`Self::write_share_state`] once its gate is held.
    async fn write_behind_gate(
        &self,
        persister: &dyn Persister,
        key: &PartitionKey,
        leader_epoch: i32,
        undo: impl FnOnce(&mut SharePartition),
    ) -> Result<(), ResponseError> {
        let state = {
            let mut share = self.share.lock();
            let sp = share
                .partitions
                .get_mut(key)
                .filter(|sp| sp.leader_epoch() == leader_epoch)
                .ok_or(ResponseError::NotLeaderOrFollower)?;
            if !sp.take_dirty() {
                return Ok(());
            }
            PersistedState::of(sp)
        };
        let written = persister.write_state(&state_key(key), &state).await;
        if let Err(e) = &written {
            let mut share = self.share.lock();
            let fenced = matches!(
                e,
                ResponseError::FencedLeaderEpoch | ResponseError::FencedStateEpoch
            );
            let current = share
                .partitions
                .get_mut(key)
                .filter(|sp| sp.leader_epoch() == leader_epoch);
            match current {
                Some(_) if fenced => {
                    share.partitions.remove(key);
                    tracing::info!(group = key.0, topic_id = %key.1, partition = key.2, error = ?e, "share-partition fenced: dropped");
                }
                Some(sp) => {
                    undo(sp);
                    sp.mark_dirty();
                }
                None => {}
            }
        }
        written
    }

    /// Gives back every record `member_id` holds in `group_id`'s
    /// share-partitions (its share session closed).
    pub fn release_share_member(&self, group_id: &str, member_id: &str) {
        let limits = self.share_limits(group_id);
        self.share
            .lock()
            .release_member(group_id, member_id, &limits);
    }

    /// The earliest acquisition lock deadline among `group_id`'s share-partitions.
    pub fn next_share_lock_deadline(&self, group_id: &str) -> Option<i64> {
        let share = self.share.lock();
        share
            .partitions
            .iter()
            .filter(|((g, _, _), _)| g == group_id)
            .filter_map(|(_, sp)| sp.next_lock_deadline())
            .min()
    }

    /// What `__share_group_state` keeps of `group_id`'s share-partition of
    /// (topic, partition): read from its share coordinator, wherever that
    /// is (ReadShareGroupStateSummary, Kafka's Persister.readSummary), not
    /// from this broker, which may lead none of the group's partitions.
    /// Without a persister (the state machine's tests), this broker's own.
    pub async fn share_state_summary(
        &self,
        group_id: &str,
        topic_id: Uuid,
        partition: i32,
    ) -> Result<Option<StateSummary>, ResponseError> {
        let key = (group_id.to_string(), topic_id, partition);
        let persister = self.share.lock().persister.clone();
        match persister {
            Some(p) => p.read_summary(&state_key(&key)).await,
            None => Ok(self
                .share
                .lock()
                .partitions
                .get(&key)
                .map(|sp| StateSummary {
                    state_epoch: sp.state_epoch(),
                    leader_epoch: sp.leader_epoch(),
                    start_offset: sp.start_offset(),
                })),
        }
    }

    /// The topics whose share-partitions of `group_id` may have state (see
    /// [`ShareGroup::topics`]), with those of share-partitions held here.
    pub fn share_group_topics(&self, group_id: &str) -> BTreeSet<Uuid> {
        let share = self.share.lock();
        let mut topics = share
            .groups
            .get(group_id)
            .map(|g| g.topics.clone())
            .unwrap_or_default();
        topics.extend(
            share
                .partitions
                .keys()
                .filter(|(g, _, _)| g == group_id)
                .map(|(_, t, _)| *t),
        );
        topics
    }
}

impl ShareState {
    /// Every share-partition of `group_id` that may have state: each
    /// partition of the group's topics (one never read since a restart has
    /// state in `__share_group_state` but none here), and those held here.
    fn group_keys(&self, group_id: &str, topics: &Topics) -> BTreeSet<PartitionKey> {
        let mut keys: BTreeSet<PartitionKey> = self
            .partitions
            .keys()
            .filter(|(g, _, _)| g == group_id)
            .cloned()
            .collect();
        if let Some(group) = self.groups.get(group_id) {
            for &(topic_id, count) in topics.values() {
                if group.topics.contains(&topic_id) {
                    keys.extend((0..count).map(|p| (group_id.to_string(), topic_id, p)));
                }
            }
        }
        keys
    }

    /// Removes `key`'s write gate when no writer holds or awaits it: the
    /// map holds the only reference, since every other is taken under the
    /// share lock, held here.
    fn drop_idle_gate(&mut self, key: &PartitionKey) {
        if self
            .write_gates
            .get(key)
            .is_some_and(|gate| Arc::strong_count(gate) == 1)
        {
            self.write_gates.remove(key);
        }
    }

    /// Gives back what `member_id` holds. Its share sessions stay: they
    /// belong to the partitions' leader, not the group, and the member
    /// closes them itself (ShareAcknowledge with epoch -1) as it leaves.
    /// Written with the share-partition's next write: records given back
    /// cost nothing acknowledged if lost, they are available again after a
    /// failover anyway.
    fn release_member(&mut self, group_id: &str, member_id: &str, limits: &Limits) {
        for (key, sp) in self.partitions.iter_mut() {
            if key.0 == group_id {
                sp.release_member(member_id, limits);
            }
        }
    }
}

impl GroupCoordinator {
    /// DeleteGroups of a share group: only an empty one goes (once members
    /// silent past their session by `now` are removed), once its state in
    /// `__share_group_state` is deleted at the share coordinators (as
    /// Kafka's GroupCoordinatorService deletes it before answering); when
    /// that fails the group stays, and the answer carries the error.
    /// `None` when `group_id` is no share group.
    pub async fn delete_share_group(
        &self,
        group_id: &str,
        topics: &Topics,
        now: i64,
    ) -> Option<Result<(), ResponseError>> {
        if !self.is_share_group(group_id) {
            return None;
        }
        let persister = match self.check_empty_share_group(group_id, topics, now) {
            Ok(persister) => persister,
            Err(e) => return Some(Err(e)),
        };
        let keys = self.share.lock().group_keys(group_id, topics);
        if let Some(persister) = persister {
            for key in &keys {
                if let Err(e) = persister.delete_state(&state_key(key)).await {
                    tracing::warn!(group = group_id, topic_id = %key.1, partition = key.2, error = ?e, "cannot delete a share group's state: the group stays");
                    return Some(Err(e));
                }
            }
        }
        let mut share = self.share.lock();
        // A member that joined meanwhile starts from `share.auto.offset.reset`.
        if share
            .groups
            .get(group_id)
            .is_some_and(|g| !g.members.is_empty())
        {
            return Some(Err(ResponseError::NonEmptyGroup));
        }
        share.groups.remove(group_id);
        share.partitions.retain(|(g, _, _), _| g != group_id);
        tracing::info!(group = group_id, "share group deleted");
        Some(Ok(()))
    }

    /// Checks that the share group `group_id`, emptied of members whose
    /// session ran out by `now`, is empty, for an offsets change: Kafka
    /// alters or deletes the start offsets of an empty share group only.
    /// Takes the share lock after the other group types' lock is let go,
    /// the order every share path keeps. The persister, if any.
    fn check_empty_share_group(
        &self,
        group_id: &str,
        topics: &Topics,
        now: i64,
    ) -> Result<Option<Arc<dyn Persister>>, ResponseError> {
        if self.state.lock().knows(group_id) {
            return Err(ResponseError::GroupIdNotFound);
        }
        let limits = self.share_limits(group_id);
        let mut share = self.share.lock();
        let group = share
            .groups
            .get_mut(group_id)
            .ok_or(ResponseError::GroupIdNotFound)?;
        let gone = group.expire(now, topics);
        let empty = group.members.is_empty();
        for member in gone {
            share.sessions.remove(group_id, &member);
            share.release_member(group_id, &member, &limits);
        }
        if !empty {
            return Err(ResponseError::NonEmptyGroup);
        }
        Ok(share.persister.clone())
    }

    /// AlterShareGroupOffsets: each (topic id, partition)'s share-partition
    /// starts again at its offset, with nothing in flight. A leader that
    /// has it loaded on another broker is fenced at its next write (by the
    /// newer state epoch) and reads it again.
    pub async fn alter_share_start_offsets(
        &self,
        group_id: &str,
        offsets: &[(Uuid, i32, i64)],
        topics: &Topics,
        now: i64,
    ) -> Result<(), ResponseError> {
        let persister = self.check_empty_share_group(group_id, topics, now)?;
        if let Some(group) = self.share.lock().groups.get_mut(group_id) {
            group
                .topics
                .extend(offsets.iter().map(|&(topic_id, _, _)| topic_id));
        }
        for &(topic_id, partition, offset) in offsets {
            let key = (group_id.to_string(), topic_id, partition);
            let loaded = self
                .share
                .lock()
                .partitions
                .get(&key)
                .map(|sp| (sp.state_epoch(), sp.leader_epoch()));
            // Under a newer state epoch, as Kafka initializes the state
            // afresh: `__share_group_state` takes it as a new snapshot in
            // place of everything written before.
            let epoch = match (loaded, &persister) {
                (Some((epoch, _)), _) => epoch,
                (None, Some(p)) => p
                    .read_state(&state_key(&key), -1)
                    .await?
                    .map_or(0, |sp| sp.state_epoch()),
                (None, None) => 0,
            };
            let mut sp = SharePartition::from_state(offset, epoch + 1, &[]);
            if let Some(p) = &persister {
                p.write_state(&state_key(&key), &PersistedState::of(&sp))
                    .await?;
            }
            // Loaded here as the partition's leader, it goes on at its
            // epoch; else it is kept at none (without a persister the only
            // copy), and a leader here reads it afresh on its first use.
            sp.set_leader_epoch(loaded.map_or(-1, |(_, leader_epoch)| leader_epoch));
            self.share.lock().partitions.insert(key, sp);
        }
        tracing::info!(
            group = group_id,
            partitions = offsets.len(),
            "share group start offsets altered"
        );
        Ok(())
    }

    /// DeleteShareGroupOffsets: forgets the share-partitions of `topic_ids`,
    /// which start again from `share.auto.offset.reset` when next fetched.
    pub async fn delete_share_start_offsets(
        &self,
        group_id: &str,
        topic_ids: &[Uuid],
        topics: &Topics,
        now: i64,
    ) -> Result<(), ResponseError> {
        let persister = self.check_empty_share_group(group_id, topics, now)?;
        for topic_id in topic_ids {
            let count = topics
                .values()
                .find(|(id, _)| id == topic_id)
                .map_or(0, |&(_, count)| count);
            // Every partition of the topic: one not read since a restart
            // has state in `__share_group_state` but none in memory.
            let mut gone: Vec<PartitionKey> = (0..count)
                .map(|p| (group_id.to_string(), *topic_id, p))
                .collect();
            gone.extend(
                self.share
                    .lock()
                    .partitions
                    .keys()
                    .filter(|(g, t, p)| g == group_id && t == topic_id && *p >= count)
                    .cloned(),
            );
            for key in gone {
                if let Some(persister) = &persister {
                    persister.delete_state(&state_key(&key)).await?;
                }
                self.share.lock().partitions.remove(&key);
            }
            if let Some(group) = self.share.lock().groups.get_mut(group_id) {
                group.topics.remove(topic_id);
            }
        }
        tracing::info!(
            group = group_id,
            topics = topic_ids.len(),
            "share group start offsets deleted"
        );
        Ok(())
    }

    /// Whether `group_id` is a share group here.
    pub fn is_share_group(&self, group_id: &str) -> bool {
        self.share.lock().groups.contains_key(group_id)
    }
}
