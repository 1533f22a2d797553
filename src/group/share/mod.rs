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
//!
//! This slice keeps all of it in memory on the broker: nothing is written
//! to `__share_group_state`, so a restart starts every share-partition
//! again from `share.auto.offset.reset`. Share state has a lock of its own,
//! apart from the other group types', since ShareFetch takes it on every
//! fetch.

mod group;
mod partition;
mod session;
#[cfg(test)]
mod tests;

use std::collections::HashMap;

use kafka_protocol::error::ResponseError;
use uuid::Uuid;

pub use group::{ShareHeartbeat, ShareHeartbeatResult, ShareMember, Topics};
pub use partition::{log_batches, AckBatch, AckType, Acquired, Limits, SharePartition};
pub use session::{Opened, SessionPartition, FINAL_EPOCH, INITIAL_EPOCH};

use super::coordinator::GroupCoordinator;
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

    /// A ShareFetch's share session (see [`ShareSessionCache::fetch`]).
    pub fn share_session_fetch(
        &self,
        group_id: &str,
        member_id: &str,
        epoch: i32,
        added: &[SessionPartition],
        forgotten: &[SessionPartition],
    ) -> Result<Opened, ResponseError> {
        let max = self.share_config.max_share_sessions;
        self.share
            .lock()
            .sessions
            .fetch(group_id, member_id, epoch, added, forgotten, max)
    }

    /// A ShareAcknowledge's share session.
    pub fn share_session_acknowledge(
        &self,
        group_id: &str,
        member_id: &str,
        epoch: i32,
    ) -> Result<Opened, ResponseError> {
        self.share
            .lock()
            .sessions
            .acknowledge(group_id, member_id, epoch)
    }

    /// Runs `f` on the share-partition of (`group_id`, topic, partition),
    /// made at `start()` if it has none yet, after its expired locks are
    /// given back (at `now`).
    pub fn with_share_partition<R>(
        &self,
        group_id: &str,
        topic_id: Uuid,
        partition: i32,
        now: i64,
        start: impl FnOnce() -> i64,
        f: impl FnOnce(&mut SharePartition, &Limits) -> R,
    ) -> R {
        let limits = self.share_limits(group_id);
        let mut share = self.share.lock();
        let sp = share
            .partitions
            .entry((group_id.to_string(), topic_id, partition))
            .or_insert_with(|| SharePartition::new(start()));
        sp.expire_locks(now, &limits);
        f(sp, &limits)
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
        for ((g, _, _), sp) in self.partitions.iter_mut() {
            if g == group_id {
                sp.release_member(member_id, limits);
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
        share.groups.remove(group_id);
        share.partitions.retain(|(g, _, _), _| g != group_id);
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
        for &(topic_id, partition, offset) in offsets {
            share.partitions.insert(
                (group_id.to_string(), topic_id, partition),
                SharePartition::new(offset),
            );
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
        share
            .partitions
            .retain(|(g, t, _), _| g != group_id || !topic_ids.contains(t));
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
