//! Classic groups (JoinGroup, SyncGroup, Heartbeat, LeaveGroup): consumers
//! join a group, one of them assigns partitions, and the coordinator hands
//! each member its assignment and tracks liveness through heartbeats (Kafka's
//! ClassicGroup and the classic half of its GroupMetadataManager).
//!
//! - `group.rs`: the group and its states (Empty, PreparingRebalance,
//!   CompletingRebalance, Stable, Dead); `member.rs`: a member.
//! - `join.rs`: JoinGroup, the rebalance and where its join phase completes.
//! - `sync.rs`: SyncGroup, where a group becomes Stable.
//! - `session.rs`: Heartbeat, LeaveGroup, and where a member's session expires.
//! - `records.rs`: the group's GroupMetadata record: its layout, written and restored.

mod group;
mod join;
mod member;
pub(in crate::group) mod records;
mod session;
mod sync;

use std::time::Instant;

use bytes::Bytes;

pub use group::GroupState;
pub(in crate::group) use group::{ClassicGroup, InitialDelay};
pub(in crate::group) use join::join_error;
pub use join::JoinRequest;
pub(in crate::group) use member::ClassicGroupMember;
pub use member::{JoinResult, SyncResult};
pub(in crate::group) use records::restore_group;

use kafka_protocol::error::ResponseError;

use super::coordinator::{GroupCoordinator, State};

/// A group as DescribeGroups reports it.
pub struct GroupDescription {
    pub state: GroupState,
    pub protocol_type: String,
    pub protocol_name: String,
    /// (member id, instance id, client id, client host, metadata, assignment)
    pub members: Vec<(String, Option<String>, String, String, Bytes, Bytes)>,
    /// A consumer-protocol group, which DescribeGroups does not describe.
    pub consumer_protocol: bool,
}

impl State {
    /// The group of a member that names itself with its generation
    /// (Heartbeat, SyncGroup), checked as Kafka's ClassicGroup does: the
    /// group and the member must exist, a static member must not have been
    /// replaced, and the generation must be the group's.
    pub(in crate::group) fn classic_member(
        &mut self,
        group_id: &str,
        generation_id: i32,
        member_id: &str,
        group_instance_id: Option<&str>,
    ) -> Result<&mut ClassicGroup, ResponseError> {
        let group = self
            .groups
            .get_mut(group_id)
            .ok_or(ResponseError::UnknownMemberId)?;
        group.check_member(generation_id, member_id, group_instance_id)?;
        Ok(group)
    }
}

impl GroupCoordinator {
    /// DescribeGroups for one group; an unknown group is reported Dead, as Kafka does.
    pub fn describe_group(&self, group_id: &str) -> GroupDescription {
        let mut state = self.state.lock();
        if let Some(group) = state.groups.get_mut(group_id) {
            self.expire_lapsed(group, Instant::now());
        }
        let Some(group) = state.groups.get(group_id) else {
            return GroupDescription {
                state: GroupState::Dead,
                protocol_type: String::new(),
                protocol_name: String::new(),
                members: Vec::new(),
                consumer_protocol: state.consumer_groups.contains_key(group_id),
            };
        };
        let protocol = group.protocol_name.clone().unwrap_or_default();
        // Member metadata and assignments are only meaningful once a protocol is chosen.
        let stable = group.state == GroupState::Stable;
        GroupDescription {
            state: group.state,
            protocol_type: group.protocol_type.clone().unwrap_or_default(),
            protocol_name: if stable {
                protocol.clone()
            } else {
                String::new()
            },
            members: group
                .members
                .values()
                .map(|m| {
                    (
                        m.member_id.clone(),
                        m.group_instance_id.clone(),
                        m.client_id.clone(),
                        m.client_host.clone(),
                        if stable {
                            m.metadata_for(&protocol)
                        } else {
                            Bytes::new()
                        },
                        if stable {
                            m.assignment.clone()
                        } else {
                            Bytes::new()
                        },
                    )
                })
                .collect(),
            consumer_protocol: false,
        }
    }
}

#[cfg(test)]
mod tests;
