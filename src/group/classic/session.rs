//! A classic member's liveness: Heartbeat, LeaveGroup, the session timer
//! that removes a member whose heartbeats stop (Kafka's DelayedHeartbeat),
//! and the rebalance that follows a member's departure.

use std::time::{Duration, Instant};

use kafka_protocol::error::ResponseError;

use super::{join_error, ClassicGroup, GroupState};
use crate::group::coordinator::GroupCoordinator;

impl GroupCoordinator {
    pub fn heartbeat(
        &self,
        group_id: &str,
        generation_id: i32,
        member_id: &str,
        group_instance_id: Option<&str>,
    ) -> Result<(), ResponseError> {
        let mut state = self.state.lock();
        let group = state.classic_member(group_id, generation_id, member_id, group_instance_id)?;
        let group_state = group.state;
        if let Some(member) = group.members.get_mut(member_id) {
            member.last_heartbeat = Instant::now();
        }
        match group_state {
            GroupState::PreparingRebalance => Err(ResponseError::RebalanceInProgress),
            GroupState::Empty | GroupState::Dead => Err(ResponseError::UnknownMemberId),
            GroupState::CompletingRebalance | GroupState::Stable => Ok(()),
        }
    }

    /// LeaveGroup for each (member id, instance id); the outcome of each, in order.
    pub fn leave_group(
        &self,
        group_id: &str,
        leaving: &[(String, Option<String>)],
    ) -> Result<Vec<Option<ResponseError>>, ResponseError> {
        let mut state = self.state.lock();
        let group = state
            .groups
            .get_mut(group_id)
            .ok_or(ResponseError::UnknownMemberId)?;
        let mut outcomes = Vec::with_capacity(leaving.len());
        let mut removed = false;
        for (member_id, instance) in leaving {
            let id = match instance {
                Some(i) => match group.static_members.get(i) {
                    Some(current) if member_id.is_empty() || current == member_id => {
                        Some(current.clone())
                    }
                    Some(_) => {
                        outcomes.push(Some(ResponseError::FencedInstanceId));
                        continue;
                    }
                    None => None,
                },
                None => group
                    .members
                    .contains_key(member_id)
                    .then(|| member_id.clone()),
            };
            match id {
                Some(id) => {
                    if let Some(mut m) = group.remove_member(&id) {
                        m.answer_join(join_error(&id, ResponseError::UnknownMemberId));
                    }
                    tracing::info!(group = %group_id, member = %id, "member left");
                    removed = true;
                    outcomes.push(None);
                }
                None if group.pending_members.remove(member_id) => outcomes.push(None),
                None => outcomes.push(Some(ResponseError::UnknownMemberId)),
            }
        }
        if removed {
            self.member_removed(group);
        }
        Ok(outcomes)
    }

    fn member_removed(&self, group: &mut ClassicGroup) {
        match group.state {
            GroupState::Stable | GroupState::CompletingRebalance => self.prepare_rebalance(group),
            GroupState::PreparingRebalance => self.maybe_complete_join(group),
            GroupState::Empty | GroupState::Dead => {}
        }
    }

    /// Kafka's DelayedHeartbeat: removes a classic member, and rebalances
    /// its group, once its session lapses. One timer per member id, armed
    /// as the member is added; each time it fires it sleeps again until
    /// the member's current deadline, which every heartbeat pushes back,
    /// so a member goes at its deadline rather than at the next periodic
    /// check.
    pub(in crate::group) fn arm_session_timer(&self, group_id: &str, member_id: &str) {
        let weak = self.this.clone();
        let (group_id, member_id) = (group_id.to_string(), member_id.to_string());
        tokio::spawn(async move {
            let mut wait = Duration::ZERO;
            loop {
                tokio::time::sleep(wait).await;
                let Some(coordinator) = weak.upgrade() else {
                    return;
                };
                let mut state = coordinator.state.lock();
                let Some(group) = state.groups.get_mut(&group_id) else {
                    return;
                };
                let Some(member) = group.members.get(&member_id) else {
                    return;
                };
                let now = Instant::now();
                match member.session_left(now) {
                    Some(left) => wait = left,
                    None => {
                        coordinator.expire_lapsed(group, now);
                        return;
                    }
                }
            }
        });
    }

    /// Removes the members whose session has lapsed, and rebalances. The
    /// timers do it at each deadline, give or take the millisecond or two
    /// a timer may be late; requests that report membership call it first,
    /// so that what they report holds to the deadline exactly. `now` is
    /// the caller's, so that tests can move time on without waiting.
    pub(in crate::group) fn expire_lapsed(&self, group: &mut ClassicGroup, now: Instant) {
        let lapsed: Vec<String> = group
            .members
            .values()
            .filter(|m| m.session_left(now).is_none())
            .map(|m| m.member_id.clone())
            .collect();
        for id in &lapsed {
            tracing::info!(group = %group.id, member = %id, "session expired; removing member");
            group.remove_member(id);
        }
        if !lapsed.is_empty() {
            self.member_removed(group);
        }
    }

    /// A member id handed out with MEMBER_ID_REQUIRED (KIP-394) whose
    /// JoinGroup does not come back within the session timeout it asked
    /// for is dropped, as in Kafka, and a join phase waiting on it goes on.
    /// A client that gives up on its id (librdkafka does when its
    /// subscription changes while the first JoinGroup is out) would
    /// otherwise hold every rebalance up to its full rebalance timeout.
    pub(in crate::group) fn arm_pending_timer(
        &self,
        group_id: &str,
        member_id: &str,
        session_timeout_ms: i32,
    ) {
        let weak = self.this.clone();
        let (group_id, member_id) = (group_id.to_string(), member_id.to_string());
        let session = Duration::from_millis(session_timeout_ms.max(0) as u64);
        tokio::spawn(async move {
            tokio::time::sleep(session).await;
            let Some(coordinator) = weak.upgrade() else {
                return;
            };
            let mut state = coordinator.state.lock();
            if let Some(group) = state.groups.get_mut(&group_id) {
                if group.pending_members.remove(&member_id) {
                    tracing::info!(group = %group_id, member = %member_id, "member id never joined; dropped");
                    coordinator.maybe_complete_join(group);
                }
            }
        });
    }
}
