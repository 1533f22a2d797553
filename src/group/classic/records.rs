//! A classic group as its GroupMetadata record of `__consumer_offsets`:
//! written whenever the group reaches a new generation or becomes Stable,
//! and restored from it when this broker loads the group's partition.

use std::time::Instant;

use super::{ClassicGroup, ClassicGroupMember, GroupState};
use crate::group::coordinator::GroupCoordinator;
use crate::group::records;
use crate::partition::now_ms;

impl GroupCoordinator {
    /// Records a classic group's generation, leader and members, so that
    /// after a restart members carry on without a rebalance. A failure is
    /// logged, not returned: the group works on, only a restart would rebalance it.
    pub(in crate::group) fn store_group(&self, group: &ClassicGroup) {
        let record = group_record(group);
        let stored = records::group_batch(&group.id, Some(&record), now_ms())
            .map_err(|e| e.to_string())
            .and_then(|batch| self.append(&group.id, &batch).map_err(|e| e.to_string()));
        if let Err(e) = stored {
            tracing::warn!(group = %group.id, error = %e, "cannot store group metadata");
        }
    }
}

fn group_record(group: &ClassicGroup) -> records::GroupRecord {
    let protocol = group.protocol_name.clone().unwrap_or_default();
    records::GroupRecord {
        protocol_type: group.protocol_type.clone().unwrap_or_default(),
        generation: group.generation_id,
        protocol: group.protocol_name.clone(),
        leader: group.leader_id.clone(),
        members: group
            .members
            .values()
            .map(|m| records::MemberRecord {
                member_id: m.member_id.clone(),
                instance_id: m.group_instance_id.clone(),
                client_id: m.client_id.clone(),
                client_host: m.client_host.clone(),
                rebalance_timeout_ms: m.rebalance_timeout_ms,
                session_timeout_ms: m.session_timeout_ms,
                subscription: m.metadata_for(&protocol),
                assignment: m.assignment.clone(),
            })
            .collect(),
    }
}

/// Rebuilds a group from its stored state; members' sessions start afresh now.
pub(in crate::group) fn restore_group(id: &str, r: records::GroupRecord) -> ClassicGroup {
    let mut group = ClassicGroup::new(id);
    group.generation_id = r.generation;
    group.protocol_type = Some(r.protocol_type.clone()).filter(|t| !t.is_empty());
    group.protocol_name = r.protocol.clone();
    group.leader_id = r.leader;
    group.state = if r.members.is_empty() {
        GroupState::Empty
    } else {
        GroupState::Stable
    };
    let now = Instant::now();
    for m in r.members {
        if let Some(instance) = &m.instance_id {
            group
                .static_members
                .insert(instance.clone(), m.member_id.clone());
        }
        group.members.insert(
            m.member_id.clone(),
            ClassicGroupMember {
                member_id: m.member_id,
                group_instance_id: m.instance_id,
                client_id: m.client_id,
                client_host: m.client_host,
                session_timeout_ms: m.session_timeout_ms,
                rebalance_timeout_ms: m.rebalance_timeout_ms,
                protocol_type: r.protocol_type.clone(),
                protocols: vec![(r.protocol.clone().unwrap_or_default(), m.subscription)],
                assignment: m.assignment,
                last_heartbeat: now,
                join_waiter: None,
                sync_waiter: None,
            },
        );
    }
    group
}
