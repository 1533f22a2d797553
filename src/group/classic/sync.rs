//! SyncGroup: the leader brings every member's assignment and the group
//! becomes Stable; the others wait for it.

use std::collections::HashMap;
use std::time::Instant;

use bytes::Bytes;
use kafka_protocol::error::ResponseError;
use tokio::sync::oneshot;

use super::{GroupState, SyncResult};
use crate::group::coordinator::GroupCoordinator;

impl GroupCoordinator {
    /// SyncGroup: the leader brings everyone's assignment; the others wait for it.
    pub async fn sync_group(
        &self,
        group_id: &str,
        generation_id: i32,
        member_id: &str,
        group_instance_id: Option<&str>,
        assignments: Vec<(String, Bytes)>,
    ) -> SyncResult {
        let waiter = {
            let mut state = self.state.lock();
            let group =
                state.classic_member(group_id, generation_id, member_id, group_instance_id)?;
            match group.state {
                GroupState::Empty | GroupState::Dead => return Err(ResponseError::UnknownMemberId),
                GroupState::PreparingRebalance => return Err(ResponseError::RebalanceInProgress),
                GroupState::Stable => {
                    return Ok(group
                        .members
                        .get(member_id)
                        .map(|m| m.assignment.clone())
                        .unwrap_or_default());
                }
                GroupState::CompletingRebalance => {}
            }
            let (tx, rx) = oneshot::channel();
            if let Some(m) = group.members.get_mut(member_id) {
                m.sync_waiter = Some(tx);
                m.last_heartbeat = Instant::now();
            }
            if group.leader_id.as_deref() == Some(member_id) {
                let mut by_member: HashMap<String, Bytes> = assignments.into_iter().collect();
                for m in group.members.values_mut() {
                    m.assignment = by_member.remove(&m.member_id).unwrap_or_default();
                }
                group.state = GroupState::Stable;
                tracing::info!(group = %group.id, generation = group.generation_id, "group is stable");
                self.store_group(group);
                for m in group.members.values_mut() {
                    let assignment = m.assignment.clone();
                    m.answer_sync(Ok(assignment));
                }
            }
            rx
        };
        // A follower waiting for the leader's assignment: RemoteTimeMs.
        crate::metrics::requests::remote(waiter)
            .await
            .unwrap_or(Err(ResponseError::CoordinatorNotAvailable))
    }
}
