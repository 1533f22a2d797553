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
//!   Persister): the share coordinator (`crate::share_coordinator`) and its
//!   `__share_group_state`.
//!
//! A share-partition reads its state from the persister on first use and
//! writes it after every acknowledgement, release, archival or move of its
//! start offset; an acknowledgement is answered only once its write
//! succeeded. Membership and share sessions stay in memory: after a
//! restart members join again. Share state has a lock of its own, apart
//! from the other group types', since ShareFetch takes it on every fetch.

mod group;
mod partition;
mod persister;
mod session;
#[cfg(test)]
mod tests;

use std::collections::hash_map::Entry;
use std::collections::HashMap;
use std::sync::Arc;

use kafka_protocol::error::ResponseError;
use uuid::Uuid;

pub use group::{ShareHeartbeat, ShareHeartbeatResult, ShareMember, Topics};
pub use partition::{log_batches, AckBatch, AckType, Acquired, Limits, SharePartition};
pub use persister::Persister;
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
}

type PartitionKey = (String, Uuid, i32);

fn state_key((group_id, topic_id, partition): &PartitionKey) -> StateKey {
    StateKey {
        group_id: group_id.clone(),
        topic_id: *topic_id,
        partition: *partition,
    }
}

/// Writes `sp`'s state when it changed; on failure it stays marked as
/// changed, for the next write.
fn persist(
    persister: &Option<Arc<dyn Persister>>,
    key: &PartitionKey,
    sp: &mut SharePartition,
) -> Result<(), ResponseError> {
    let Some(persister) = persister else {
        return Ok(());
    };
    if !sp.take_dirty() {
        return Ok(());
    }
    persister.write_state(&state_key(key), sp).inspect_err(|_| {
        sp.mark_dirty();
    })
}

/// [`persist`] where a failure costs nothing acknowledged: records given
/// back or locks expired are redelivered after a restart anyway.
fn persist_or_log(
    persister: &Option<Arc<dyn Persister>>,
    key: &PartitionKey,
    sp: &mut SharePartition,
) {
    if let Err(e) = persist(persister, key, sp) {
        tracing::warn!(group = key.0, topic_id = %key.1, partition = key.2, error = ?e, "cannot write a share-partition's state; written with its next change");
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

    /// Runs `f` on the share-partition of (`group_id`, topic, partition),
    /// after its expired locks are given back (at `now`), and writes its
    /// state if that changed. On first use its state is read from the
    /// persister, or it starts at `start()` when it has none; the error is
    /// the persister's when it cannot be read.
    pub fn with_share_partition<R>(
        &self,
        group_id: &str,
        topic_id: Uuid,
        partition: i32,
        now: i64,
        start: impl FnOnce() -> i64,
        f: impl FnOnce(&mut SharePartition, &Limits) -> R,
    ) -> Result<R, ResponseError> {
        let limits = self.share_limits(group_id);
        let key = (group_id.to_string(), topic_id, partition);
        let mut guard = self.share.lock();
        let share = &mut *guard;
        let persister = share.persister.clone();
        let sp = share.load(&key, start)?;
        sp.expire_locks(now, &limits);
        let out = f(sp, &limits);
        persist_or_log(&persister, &key, sp);
        Ok(out)
    }

    /// `member_id`'s acknowledgements of one share-partition, answered once
    /// written: when the write fails they are undone, and the member gets
    /// the write's error, as Kafka's SharePartition does.
    #[allow(clippy::too_many_arguments)]
    pub fn acknowledge_share(
        &self,
        group_id: &str,
        topic_id: Uuid,
        partition: i32,
        now: i64,
        start: impl FnOnce() -> i64,
        member_id: &str,
        batches: &[AckBatch],
    ) -> Result<(), ResponseError> {
        let limits = self.share_limits(group_id);
        let key = (group_id.to_string(), topic_id, partition);
        let mut guard = self.share.lock();
        let share = &mut *guard;
        let persister = share.persister.clone();
        let sp = share.load(&key, start)?;
        sp.expire_locks(now, &limits);
        let before = sp.clone();
        sp.acknowledge(member_id, batches, &limits)?;
        if let Err(e) = persist(&persister, &key, sp) {
            tracing::warn!(group = group_id, %topic_id, partition, error = ?e, "acknowledgements not written: refused");
            *sp = before;
            sp.mark_dirty();
            return Err(e);
        }
        Ok(())
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

    /// The share-partitions of `group_id`: (topic id, partition, start
    /// offset, records in flight).
    pub fn share_partitions(&self, group_id: &str) -> Vec<(Uuid, i32, i64, usize)> {
        let share = self.share.lock();
        let mut out: Vec<_> = share
            .partitions
            .iter()
            .filter(|((g, _, _), _)| g == group_id)
            .map(|((_, t, p), sp)| (*t, *p, sp.start_offset(), sp.in_flight()))
            .collect();
        out.sort();
        out
    }
}

impl ShareState {
    /// Gives back what `member_id` holds. Its share sessions stay: they
    /// belong to the partitions' leader, not the group, and the member
    /// closes them itself (ShareAcknowledge with epoch -1) as it leaves.
    fn release_member(&mut self, group_id: &str, member_id: &str, limits: &Limits) {
        for (key, sp) in self.partitions.iter_mut() {
            if key.0 == group_id {
                sp.release_member(member_id, limits);
                persist_or_log(&self.persister, key, sp);
            }
        }
    }

    /// The share-partition of `key`, read from the persister on first use.
    fn load(
        &mut self,
        key: &PartitionKey,
        start: impl FnOnce() -> i64,
    ) -> Result<&mut SharePartition, ResponseError> {
        match self.partitions.entry(key.clone()) {
            Entry::Occupied(e) => Ok(e.into_mut()),
            Entry::Vacant(v) => {
                let stored = match &self.persister {
                    Some(p) => p.read_state(&state_key(key))?,
                    None => None,
                };
                Ok(v.insert(stored.unwrap_or_else(|| SharePartition::new(start()))))
            }
        }
    }
}

impl GroupCoordinator {
    /// DeleteGroups of a share group: only an empty one goes, with its
    /// share-partitions; `None` when `group_id` is no share group.
    pub(in crate::group) fn delete_share_group(
        &self,
        group_id: &str,
    ) -> Option<Result<(), ResponseError>> {
        let mut share = self.share.lock();
        let group = share.groups.get(group_id)?;
        if !group.members.is_empty() {
            return Some(Err(ResponseError::NonEmptyGroup));
        }
        let gone: Vec<PartitionKey> = share
            .partitions
            .keys()
            .filter(|(g, _, _)| g == group_id)
            .cloned()
            .collect();
        if let Some(persister) = &share.persister {
            for key in &gone {
                if let Err(e) = persister.delete_state(&state_key(key)) {
                    return Some(Err(e));
                }
            }
        }
        share.groups.remove(group_id);
        for key in &gone {
            share.partitions.remove(key);
        }
        tracing::info!(group = group_id, "share group deleted");
        Some(Ok(()))
    }

    /// The share group `group_id`, emptied of members whose session ran out
    /// by `now`, for an offsets change: Kafka alters or deletes the start
    /// offsets of an empty share group only.
    /// Takes the share lock after the other group types' lock is let go,
    /// the order every share path keeps.
    fn lock_empty_share_group(
        &self,
        group_id: &str,
        topics: &Topics,
        now: i64,
    ) -> Result<parking_lot::MutexGuard<'_, ShareState>, ResponseError> {
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
        Ok(share)
    }

    /// AlterShareGroupOffsets: each (topic id, partition)'s share-partition
    /// starts again at its offset, with nothing in flight.
    pub fn alter_share_start_offsets(
        &self,
        group_id: &str,
        offsets: &[(Uuid, i32, i64)],
        topics: &Topics,
        now: i64,
    ) -> Result<(), ResponseError> {
        let mut share = self.lock_empty_share_group(group_id, topics, now)?;
        let share = &mut *share;
        for &(topic_id, partition, offset) in offsets {
            let key = (group_id.to_string(), topic_id, partition);
            // Under a newer state epoch, as Kafka initializes the state
            // afresh: `__share_group_state` takes it as a new snapshot in
            // place of everything written before.
            let epoch = match (share.partitions.get(&key), &share.persister) {
                (Some(sp), _) => sp.state_epoch(),
                (None, Some(p)) => p
                    .read_state(&state_key(&key))?
                    .map_or(0, |sp| sp.state_epoch()),
                (None, None) => 0,
            };
            let mut sp = SharePartition::from_state(offset, epoch + 1, &[]);
            sp.mark_dirty();
            persist(&share.persister, &key, &mut sp)?;
            share.partitions.insert(key, sp);
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
    pub fn delete_share_start_offsets(
        &self,
        group_id: &str,
        topic_ids: &[Uuid],
        topics: &Topics,
        now: i64,
    ) -> Result<(), ResponseError> {
        let mut share = self.lock_empty_share_group(group_id, topics, now)?;
        let share = &mut *share;
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
                share
                    .partitions
                    .keys()
                    .filter(|(g, t, p)| g == group_id && t == topic_id && *p >= count)
                    .cloned(),
            );
            for key in gone {
                if let Some(persister) = &share.persister {
                    persister.delete_state(&state_key(&key))?;
                }
                share.partitions.remove(&key);
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
