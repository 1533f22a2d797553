//! KIP-848 consumer groups (ConsumerGroupHeartbeat, ConsumerGroupDescribe):
//! the coordinator computes the assignment and moves each member towards it
//! (Kafka's ConsumerGroup and the consumer half of its GroupMetadataManager).
//!
//! - `group.rs`: the group, its target assignment and reconciliation.
//! - `heartbeat.rs`: ConsumerGroupHeartbeat (join, leave, epochs) and
//!   where a member's session expires.
//! - `records.rs`: the group as records of `__consumer_offsets`.

mod group;
mod heartbeat;
pub(in crate::group) mod records;

pub(in crate::group) use group::ConsumerGroup;
pub use group::TopicIdPartition;

use super::coordinator::{GroupCoordinator, State};
use crate::partition::now_ms;

/// A ConsumerGroupHeartbeat call (KIP-848), as the coordinator needs it.
pub struct ConsumerHeartbeat {
    pub group_id: String,
    pub member_id: String,
    pub member_epoch: i32,
    /// The heartbeat's RebalanceTimeoutMs: required on joining, -1 when unchanged.
    pub rebalance_timeout_ms: i32,
    pub subscribed_topics: Option<Vec<String>>,
    pub subscribed_regex: Option<String>,
    pub server_assignor: Option<String>,
    pub owned: Option<Vec<TopicIdPartition>>,
    pub instance_id: Option<String>,
    pub client_id: String,
    pub client_host: String,
}

/// The coordinator's answer to a ConsumerGroupHeartbeat.
pub struct ConsumerHeartbeatResult {
    pub member_id: String,
    pub member_epoch: i32,
    pub heartbeat_interval_ms: i32,
    /// The member's full assignment, when it changed since last sent.
    pub assignment: Option<Vec<TopicIdPartition>>,
}

/// A consumer-protocol member as ConsumerGroupDescribe reports it.
pub struct ConsumerMemberDescription {
    pub member_id: String,
    pub instance_id: Option<String>,
    pub member_epoch: i32,
    pub client_id: String,
    pub client_host: String,
    pub subscribed_topics: Vec<String>,
    pub subscribed_regex: Option<String>,
    pub assignment: Vec<TopicIdPartition>,
    pub target_assignment: Vec<TopicIdPartition>,
}

/// A consumer-protocol group as ConsumerGroupDescribe reports it.
pub struct ConsumerGroupDescription {
    pub state: &'static str,
    pub group_epoch: i32,
    pub assignment_epoch: i32,
    pub assignor: String,
    pub members: Vec<ConsumerMemberDescription>,
}

impl GroupCoordinator {
    /// `consumer.session.timeout.ms` of a KIP-848 group.
    pub(in crate::group) fn consumer_session_timeout_ms(&self, group_id: &str) -> i32 {
        self.group_int(
            group_id,
            "consumer.session.timeout.ms",
            self.config.consumer_session_timeout_ms,
        )
    }

    /// `consumer.heartbeat.interval.ms` of a KIP-848 group.
    pub(in crate::group) fn consumer_heartbeat_interval_ms(&self, group_id: &str) -> i32 {
        self.group_int(
            group_id,
            "consumer.heartbeat.interval.ms",
            self.config.consumer_heartbeat_interval_ms,
        )
    }

    /// Writes what changed in a consumer group since it was last written
    /// (tombstones for all of it once the group is gone), so that after a
    /// restart members carry on with their epochs and partitions. A failure
    /// is logged, not returned, as for classic groups.
    pub(in crate::group) fn store_consumer_group(&self, state: &mut State, group_id: &str) {
        let now = state
            .consumer_groups
            .get(group_id)
            .map(|g| records::group_records(group_id, g))
            .unwrap_or_default();
        let before = state.consumer_written.remove(group_id).unwrap_or_default();
        let changes = records::delta(&before, &now);
        if changes.is_empty() {
            state.consumer_written.insert(group_id.to_string(), before);
            return;
        }
        let stored = crate::coordinator_records::encode_records(changes, None, now_ms())
            .map_err(|e| e.to_string())
            .and_then(|batch| self.append(group_id, &batch).map_err(|e| e.to_string()));
        match stored {
            Ok(_) if !now.is_empty() => {
                state.consumer_written.insert(group_id.to_string(), now);
            }
            Ok(_) => {}
            Err(e) => {
                tracing::warn!(group = %group_id, error = %e, "cannot store consumer group state");
                state.consumer_written.insert(group_id.to_string(), before);
            }
        }
    }

    /// ConsumerGroupDescribe for one group: `Err` for an unknown group or a classic one.
    pub fn describe_consumer_group(
        &self,
        group_id: &str,
    ) -> Result<ConsumerGroupDescription, String> {
        let state = self.state.lock();
        let Some(g) = state.consumer_groups.get(group_id) else {
            return Err(if state.groups.contains_key(group_id) {
                format!("Group {group_id} is not a consumer group.")
            } else {
                format!("Group {group_id} not found.")
            });
        };
        Ok(ConsumerGroupDescription {
            state: g.state_name(),
            group_epoch: g.group_epoch,
            assignment_epoch: g.assignment_epoch,
            assignor: g
                .assignor
                .clone()
                .unwrap_or_else(|| group::ASSIGNORS[0].to_string()),
            members: g
                .members
                .values()
                .map(|m| ConsumerMemberDescription {
                    member_id: m.member_id.clone(),
                    instance_id: m.instance_id.clone(),
                    member_epoch: m.member_epoch,
                    client_id: m.client_id.clone(),
                    client_host: m.client_host.clone(),
                    subscribed_topics: m.subscribed.iter().cloned().collect(),
                    subscribed_regex: m.subscribed_regex.as_ref().map(|p| p.source.clone()),
                    assignment: m.assigned.iter().copied().collect(),
                    target_assignment: g
                        .target
                        .get(&m.member_id)
                        .map(|t| t.iter().copied().collect())
                        .unwrap_or_default(),
                })
                .collect(),
        })
    }
}

#[cfg(test)]
mod tests;
