//! Committed offsets (Kafka's OffsetMetadataManager): OffsetCommit and
//! TxnOffsetCommit with their membership checks, OffsetFetch, OffsetDelete,
//! retention, and when a commit becomes visible (once on the offsets
//! partition's whole ISR, or when its transaction commits).

mod store;

use std::time::{Duration, Instant};

use kafka_protocol::error::ResponseError;

pub use store::CommittedOffset;
pub(in crate::group) use store::OffsetStore;

use super::classic::{ClassicGroup, GroupState};
use super::coordinator::{GroupCoordinator, State};
use super::records::{self, partition_for, OFFSETS_TOPIC};
use crate::partition::now_ms;
use crate::topic_partition::TopicPartition;

/// Kafka's offsets.commit.timeout.ms default: how long a commit waits for
/// the offsets partition's ISR.
const OFFSETS_COMMIT_TIMEOUT_MS: u64 = 5000;

/// Who an OffsetCommit or TxnOffsetCommit says commits.
struct Committer<'a> {
    generation_id: i32,
    member_id: &'a str,
    group_instance_id: Option<&'a str>,
}

impl Committer<'_> {
    /// Whether the committer gives a member id or a generation: a simple
    /// consumer or a producer committing outside the group gives neither.
    fn names_itself(&self) -> bool {
        !self.member_id.is_empty() || self.generation_id >= 0
    }
}

/// The two commits differ, as in Kafka's validateOffsetCommit, in which
/// committers go unchecked and in what a stale KIP-848 epoch is called.
#[derive(Clone, Copy)]
enum CommitKind {
    /// OffsetCommit: a classic group it names is created if missing.
    Plain,
    /// TxnOffsetCommit.
    Transactional,
}

impl State {
    /// The checks OffsetCommit and TxnOffsetCommit open with: a group id,
    /// the epoch of a KIP-848 member, and for a classic group that it is
    /// live and the committer not a replaced static member. The classic
    /// group, where there is one, is returned for the checks that differ.
    fn check_committer(
        &mut self,
        group_id: &str,
        committer: &Committer,
        kind: CommitKind,
    ) -> Result<Option<&mut ClassicGroup>, ResponseError> {
        if group_id.is_empty() {
            return Err(ResponseError::InvalidGroupId);
        }
        if let Some(consumer_group) = self.consumer_groups.get(group_id) {
            let (unchecked, stale) = match kind {
                CommitKind::Plain => (
                    !committer.names_itself() && consumer_group.members.is_empty(),
                    ResponseError::StaleMemberEpoch,
                ),
                CommitKind::Transactional => {
                    (!committer.names_itself(), ResponseError::IllegalGeneration)
                }
            };
            if !unchecked {
                consumer_group.check_epoch(committer.member_id, committer.generation_id, stale)?;
            }
            return Ok(None);
        }
        let group = match kind {
            CommitKind::Plain => Some(
                self.groups
                    .entry(group_id.to_string())
                    .or_insert_with(|| ClassicGroup::new(group_id)),
            ),
            CommitKind::Transactional => self.groups.get_mut(group_id),
        };
        let Some(group) = group else {
            return Ok(None);
        };
        if group.state == GroupState::Dead {
            return Err(ResponseError::CoordinatorNotAvailable);
        }
        if group.is_fenced(committer.member_id, committer.group_instance_id) {
            return Err(ResponseError::FencedInstanceId);
        }
        Ok(Some(group))
    }

    pub(in crate::group) fn complete_transaction(
        &mut self,
        offsets_partitions: i32,
        offsets_partition: i32,
        producer_id: i64,
        commit: bool,
    ) {
        let Some(groups) = self.pending_txn_offsets.get_mut(&producer_id) else {
            return;
        };
        let ended: Vec<String> = groups
            .keys()
            .filter(|g| partition_for(g, offsets_partitions) == offsets_partition)
            .cloned()
            .collect();
        for group in ended {
            let offsets = groups.remove(&group).unwrap_or_default();
            if commit {
                for (tp, offset) in offsets {
                    self.offsets.commit(&group, &tp.topic, tp.partition, offset);
                }
            }
        }
        if groups.is_empty() {
            self.pending_txn_offsets.remove(&producer_id);
        }
    }
}

impl GroupCoordinator {
    /// OffsetCommit, with Kafka's checks of the committer's membership.
    /// `generation_id` < 0 with no member id commits for a group that is not
    /// using the coordinator for membership (simple consumers).
    pub fn commit_offsets(
        &self,
        group_id: &str,
        generation_id: i32,
        member_id: &str,
        group_instance_id: Option<&str>,
        offsets: Vec<(TopicPartition, CommittedOffset)>,
    ) -> Result<(), ResponseError> {
        let mut state = self.state.lock();
        let state = &mut *state;
        let committer = Committer {
            generation_id,
            member_id,
            group_instance_id,
        };
        if let Some(group) = state.check_committer(group_id, &committer, CommitKind::Plain)? {
            if !(generation_id < 0 && group.state == GroupState::Empty) {
                group.check_member(generation_id, member_id, group_instance_id)?;
                if group.state == GroupState::CompletingRebalance {
                    return Err(ResponseError::RebalanceInProgress);
                }
                if let Some(m) = group.members.get_mut(member_id) {
                    m.last_heartbeat = Instant::now();
                }
            }
        }
        self.persist_commit(state, group_id, offsets)
    }

    fn persist_commit(
        &self,
        state: &mut State,
        group_id: &str,
        offsets: Vec<(TopicPartition, CommittedOffset)>,
    ) -> Result<(), ResponseError> {
        if offsets.is_empty() {
            return Ok(());
        }
        // Durable first: an acknowledged commit must survive a crash; shown
        // once replicated (see `replicated`).
        let at = self.write_commits(group_id, &offsets, None)?;
        state
            .unreplicated_commits
            .entry(group_id.to_string())
            .or_default()
            .extend(offsets.into_iter().map(|(tp, o)| (at, tp, o)));
        Ok(())
    }

    /// TxnOffsetCommit: offsets a transactional producer commits for a
    /// group, written to the group's partition as part of its transaction
    /// and held back until the transaction commits. A member id or
    /// generation, when given, is checked as for OffsetCommit.
    pub fn txn_commit_offsets(
        &self,
        group_id: &str,
        producer: (i64, i16),
        generation_id: i32,
        member_id: &str,
        group_instance_id: Option<&str>,
        offsets: Vec<(TopicPartition, CommittedOffset)>,
    ) -> Result<(), ResponseError> {
        let mut state = self.state.lock();
        let committer = Committer {
            generation_id,
            member_id,
            group_instance_id,
        };
        if let Some(group) =
            state.check_committer(group_id, &committer, CommitKind::Transactional)?
        {
            if committer.names_itself() {
                group.check_member(generation_id, member_id, group_instance_id)?;
            }
        }
        if offsets.is_empty() {
            return Ok(());
        }
        self.write_commits(group_id, &offsets, Some(producer))?;
        let pending = state
            .pending_txn_offsets
            .entry(producer.0)
            .or_default()
            .entry(group_id.to_string())
            .or_default();
        pending.extend(offsets);
        Ok(())
    }

    /// Applies (commit) or drops (abort) what `producer_id`'s transaction
    /// committed for groups in `offsets_partition`, once its marker is there.
    pub fn complete_transaction(&self, offsets_partition: i32, producer_id: i64, commit: bool) {
        self.state.lock().complete_transaction(
            self.config.offsets_topic_partitions,
            offsets_partition,
            producer_id,
            commit,
        );
    }

    /// Whether an open transaction has committed an offset for the
    /// partition: OffsetFetch with require_stable answers UNSTABLE_OFFSET_COMMIT.
    pub fn has_pending_offset(&self, group_id: &str, topic: &str, partition: i32) -> bool {
        let key = TopicPartition::new(topic, partition);
        self.state
            .lock()
            .pending_txn_offsets
            .values()
            .any(|groups| groups.get(group_id).is_some_and(|g| g.contains_key(&key)))
    }

    /// Waits until what has been written to `group_id`'s partition of
    /// `__consumer_offsets` is on its whole ISR, as Kafka's coordinator
    /// appends with acks=all: an acknowledged commit survives losing the
    /// coordinator. COORDINATOR_NOT_AVAILABLE (the client commits again)
    /// after offsets.commit.timeout.ms.
    pub async fn replicated(&self, group_id: &str) -> Result<(), ResponseError> {
        let index = partition_for(group_id, self.config.offsets_topic_partitions);
        let Some(partition) = self.replicas.partition(OFFSETS_TOPIC, index) else {
            return Err(ResponseError::CoordinatorNotAvailable);
        };
        let leader_epoch = partition.leader_epoch();
        let end = partition.log_end_offset();
        if !partition.is_leader() {
            return Err(ResponseError::NotCoordinator);
        }
        if end == 0 {
            return Ok(());
        }
        let timeout = Duration::from_millis(OFFSETS_COMMIT_TIMEOUT_MS);
        match self
            .replicas
            .wait_for_high_watermark(&partition, end - 1, leader_epoch, timeout)
            .await
        {
            Ok(()) => {
                self.show_replicated_commits(group_id, partition.high_watermark());
                Ok(())
            }
            Err(ResponseError::NotLeaderOrFollower) => Err(ResponseError::NotCoordinator),
            Err(_) => Err(ResponseError::CoordinatorNotAvailable),
        }
    }

    /// Shows the group's commits whose records are below `high_watermark`
    /// (on the whole ISR), in the order they were written.
    fn show_replicated_commits(&self, group_id: &str, high_watermark: i64) {
        let mut state = self.state.lock();
        let state = &mut *state;
        let Some(pending) = state.unreplicated_commits.get_mut(group_id) else {
            return;
        };
        let replicated = pending.partition_point(|(at, ..)| *at < high_watermark);
        for (_, tp, offset) in pending.drain(..replicated) {
            state
                .offsets
                .commit(group_id, &tp.topic, tp.partition, offset);
        }
        if pending.is_empty() {
            state.unreplicated_commits.remove(group_id);
        }
    }

    /// Writes commit records for `offsets` to the group's partition; with
    /// a producer, as part of its transaction.
    fn write_commits(
        &self,
        group_id: &str,
        offsets: &[(TopicPartition, CommittedOffset)],
        producer: Option<(i64, i16)>,
    ) -> Result<i64, ResponseError> {
        let batch = records::commit_batch(group_id, offsets, producer, now_ms()).map_err(|e| {
            tracing::error!(group = group_id, error = %e, "cannot encode offset commit");
            ResponseError::UnknownServerError
        })?;
        self.append(group_id, &batch)
    }

    /// Writes tombstones for `partitions` of `group_id` and forgets them.
    pub(in crate::group) fn delete_committed(
        &self,
        state: &mut State,
        group_id: &str,
        partitions: &[TopicPartition],
    ) -> Result<(), ResponseError> {
        if partitions.is_empty() {
            return Ok(());
        }
        let batch = records::tombstone_batch(group_id, partitions, now_ms()).map_err(|e| {
            tracing::error!(group = group_id, error = %e, "cannot encode offset tombstones");
            ResponseError::UnknownServerError
        })?;
        self.append(group_id, &batch)?;
        for tp in partitions {
            state.offsets.remove(group_id, &tp.topic, tp.partition);
        }
        if let Some(pending) = state.unreplicated_commits.get_mut(group_id) {
            pending.retain(|(_, tp, _)| !partitions.contains(tp));
        }
        Ok(())
    }

    /// OffsetDelete: forgets committed offsets of partitions whose topic the
    /// group is not consuming. Per partition: `None` or why it was kept.
    pub fn delete_offsets(
        &self,
        group_id: &str,
        partitions: &[TopicPartition],
    ) -> Result<Vec<Option<ResponseError>>, ResponseError> {
        let mut state = self.state.lock();
        if !state.knows(group_id) {
            return Err(ResponseError::GroupIdNotFound);
        }
        let mut subscribed = state
            .groups
            .get(group_id)
            .map(ClassicGroup::subscribed_topics)
            .unwrap_or_default();
        if let Some(g) = state.consumer_groups.get(group_id) {
            subscribed.extend(
                g.members
                    .values()
                    .flat_map(|m| m.subscribed.iter().cloned()),
            );
        }
        let outcomes: Vec<Option<ResponseError>> = partitions
            .iter()
            .map(|tp| {
                subscribed
                    .contains(&tp.topic)
                    .then_some(ResponseError::GroupSubscribedToTopic)
            })
            .collect();
        let deletable: Vec<TopicPartition> = partitions
            .iter()
            .zip(&outcomes)
            .filter(|(tp, outcome)| {
                outcome.is_none()
                    && state
                        .offsets
                        .get(group_id, &tp.topic, tp.partition)
                        .is_some()
            })
            .map(|(tp, _)| tp.clone())
            .collect();
        self.delete_committed(&mut state, group_id, &deletable)?;
        Ok(outcomes)
    }

    /// Expires committed offsets of groups without members once they are
    /// older than `offsets.retention.minutes`, writing tombstones.
    pub fn expire_offsets(&self) {
        let mut state = self.state.lock();
        let expired = state
            .offsets
            .expired(now_ms(), self.config.offsets_retention_ms, |g| {
                state.has_members(g)
            });
        for (group, partitions) in expired {
            match self.delete_committed(&mut state, &group, &partitions) {
                Ok(()) => {
                    tracing::info!(group = %group, partitions = partitions.len(), "expired committed offsets")
                }
                Err(e) => {
                    tracing::warn!(group = %group, error = %e, "cannot expire committed offsets")
                }
            }
        }
    }

    /// OffsetFetch: `None` asks for every partition the group committed.
    pub fn fetch_offsets(
        &self,
        group_id: &str,
        wanted: Option<Vec<(String, Vec<i32>)>>,
    ) -> Vec<(TopicPartition, Option<CommittedOffset>)> {
        let state = self.state.lock();
        match wanted {
            None => state
                .offsets
                .all(group_id)
                .into_iter()
                .map(|(tp, o)| (tp, Some(o)))
                .collect(),
            Some(topics) => topics
                .into_iter()
                .flat_map(|(topic, partitions)| {
                    partitions
                        .into_iter()
                        .map(|p| {
                            let found = state.offsets.get(group_id, &topic, p).cloned();
                            (TopicPartition::new(&topic, p), found)
                        })
                        .collect::<Vec<_>>()
                })
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests;
