//! JoinGroup: a member joins or rejoins, the group prepares a rebalance,
//! and the join phase completes when every member has rejoined or the
//! rebalance timeout evicts those that did not.

use std::time::{Duration, Instant};

use bytes::Bytes;
use kafka_protocol::error::ResponseError;
use tokio::sync::oneshot;

use super::{ClassicGroup, ClassicGroupMember, GroupState, InitialDelay, JoinResult};
use crate::group::coordinator::{GroupCoordinator, State};

/// A JoinGroup call, as the coordinator needs it.
pub struct JoinRequest {
    pub group_id: String,
    pub member_id: String,
    pub group_instance_id: Option<String>,
    pub client_id: String,
    pub client_host: String,
    pub session_timeout_ms: i32,
    pub rebalance_timeout_ms: i32,
    pub protocol_type: String,
    pub protocols: Vec<(String, Bytes)>,
    /// JoinGroup v4+: a member without an id is first given one (MEMBER_ID_REQUIRED).
    pub require_known_member_id: bool,
}

pub(in crate::group) fn join_error(member_id: &str, error: ResponseError) -> JoinResult {
    JoinResult {
        error: Some(error),
        generation_id: -1,
        protocol_type: None,
        protocol_name: None,
        leader_id: String::new(),
        member_id: member_id.to_string(),
        members: Vec::new(),
    }
}

fn ready(result: JoinResult) -> oneshot::Receiver<JoinResult> {
    let (tx, rx) = oneshot::channel();
    let _ = tx.send(result);
    rx
}

fn new_member_id(client_id: &str) -> String {
    format!("{client_id}-{}", uuid::Uuid::new_v4())
}

impl GroupCoordinator {
    pub async fn join_group(&self, request: JoinRequest) -> JoinResult {
        // As Kafka: a share group's id is no classic group.
        if self.is_share_group(&request.group_id) {
            return join_error(&request.member_id, ResponseError::GroupIdNotFound);
        }
        let waiter = self.join_locked(&mut self.state.lock(), request);
        // Waiting for the rebalance (Kafka's join purgatory): RemoteTimeMs.
        crate::metrics::requests::remote(waiter)
            .await
            .unwrap_or_else(|_| join_error("", ResponseError::CoordinatorNotAvailable))
    }

    /// Registers the join and returns where its outcome will arrive (at once, for errors).
    fn join_locked(&self, state: &mut State, r: JoinRequest) -> oneshot::Receiver<JoinResult> {
        if r.group_id.is_empty() {
            return ready(join_error(&r.member_id, ResponseError::InvalidGroupId));
        }
        if r.session_timeout_ms < self.config.min_session_timeout_ms
            || r.session_timeout_ms > self.config.max_session_timeout_ms
        {
            return ready(join_error(
                &r.member_id,
                ResponseError::InvalidSessionTimeout,
            ));
        }
        let group = state
            .groups
            .entry(r.group_id.clone())
            .or_insert_with(|| ClassicGroup::new(&r.group_id));
        if group.state == GroupState::Dead {
            return ready(join_error(
                &r.member_id,
                ResponseError::CoordinatorNotAvailable,
            ));
        }
        let known = group.members.contains_key(&r.member_id);
        if !known && !group.accepts(&r.protocol_type, &r.protocols) {
            return ready(join_error(
                &r.member_id,
                ResponseError::InconsistentGroupProtocol,
            ));
        }
        let now = Instant::now();
        let mut member_id = r.member_id.clone();
        if member_id.is_empty() {
            if let Some(existing) = r
                .group_instance_id
                .as_ref()
                .and_then(|i| group.static_members.get(i))
                .cloned()
            {
                // A static member restarting: it takes over its old identity
                // under a new member id, and the old id is fenced.
                member_id = new_member_id(&r.client_id);
                if let Some(mut old) = group.members.remove(&existing) {
                    old.answer_join(join_error(&existing, ResponseError::FencedInstanceId));
                    old.answer_sync(Err(ResponseError::FencedInstanceId));
                    old.member_id = member_id.clone();
                    group.members.insert(member_id.clone(), old);
                    self.arm_session_timer(&group.id, &member_id);
                }
                if group.leader_id.as_deref() == Some(existing.as_str()) {
                    group.leader_id = Some(member_id.clone());
                }
                group.static_members.insert(
                    r.group_instance_id.clone().unwrap_or_default(),
                    member_id.clone(),
                );
                let unchanged = group
                    .members
                    .get(&member_id)
                    .is_some_and(|m| m.protocols == r.protocols);
                if group.state == GroupState::Stable && unchanged {
                    let member = group.members.get_mut(&member_id).expect("just inserted");
                    member.last_heartbeat = now;
                    member.session_timeout_ms = r.session_timeout_ms;
                    member.rebalance_timeout_ms = r.rebalance_timeout_ms;
                    return ready(current_generation(group, &member_id));
                }
            } else if r.group_instance_id.is_none() && r.require_known_member_id {
                let id = new_member_id(&r.client_id);
                group.pending_members.insert(id.clone());
                self.arm_pending_timer(&group.id, &id, r.session_timeout_ms);
                return ready(join_error(&id, ResponseError::MemberIdRequired));
            } else {
                member_id = new_member_id(&r.client_id);
            }
        } else if group.is_fenced(&member_id, r.group_instance_id.as_deref()) {
            return ready(join_error(&member_id, ResponseError::FencedInstanceId));
        } else if !known && !group.pending_members.remove(&member_id) {
            return ready(join_error(&member_id, ResponseError::UnknownMemberId));
        }

        let (tx, rx) = oneshot::channel();
        let unchanged = group
            .members
            .get(&member_id)
            .is_some_and(|m| m.protocols == r.protocols);
        let is_leader = group.leader_id.as_deref() == Some(member_id.as_str());
        match group.members.get_mut(&member_id) {
            Some(m) => {
                m.protocols = r.protocols;
                m.session_timeout_ms = r.session_timeout_ms;
                m.rebalance_timeout_ms = r.rebalance_timeout_ms;
                m.last_heartbeat = now;
                if let Some(old) = m.join_waiter.replace(tx) {
                    let _ = old.send(join_error(&member_id, ResponseError::RebalanceInProgress));
                }
            }
            None => {
                if let Some(delay) = group.initial_delay.as_mut() {
                    delay.new_member_added = true;
                }
                if let Some(instance) = &r.group_instance_id {
                    group
                        .static_members
                        .insert(instance.clone(), member_id.clone());
                }
                group.members.insert(
                    member_id.clone(),
                    ClassicGroupMember {
                        member_id: member_id.clone(),
                        group_instance_id: r.group_instance_id,
                        client_id: r.client_id,
                        client_host: r.client_host,
                        session_timeout_ms: r.session_timeout_ms,
                        rebalance_timeout_ms: r.rebalance_timeout_ms,
                        protocol_type: r.protocol_type,
                        protocols: r.protocols,
                        assignment: Bytes::new(),
                        last_heartbeat: now,
                        join_waiter: Some(tx),
                        sync_waiter: None,
                    },
                );
                self.arm_session_timer(&group.id, &member_id);
            }
        }
        // A member rejoining with nothing changed (its JoinGroup answer
        // lost, say) gets the current generation back, as in Kafka; in
        // Stable, the leader's rejoin is how it asks for a rebalance.
        let current = unchanged
            && match group.state {
                GroupState::CompletingRebalance => true,
                GroupState::Stable => !is_leader,
                _ => false,
            };
        if current {
            let result = current_generation(group, &member_id);
            if let Some(member) = group.members.get_mut(&member_id) {
                member.answer_join(result);
            }
        } else if group.state == GroupState::PreparingRebalance {
            self.maybe_complete_join(group);
        } else {
            self.prepare_rebalance(group);
        }
        rx
    }

    /// Starts a rebalance: members must rejoin before the join phase completes.
    pub(in crate::group) fn prepare_rebalance(&self, group: &mut ClassicGroup) {
        if group.state == GroupState::CompletingRebalance {
            for m in group.members.values_mut() {
                m.answer_sync(Err(ResponseError::RebalanceInProgress));
            }
        }
        let initial = group.state == GroupState::Empty;
        group.state = GroupState::PreparingRebalance;
        group.rebalance_id += 1;
        let delay = if initial {
            self.config
                .initial_rebalance_delay_ms
                .min(group.rebalance_timeout_ms())
        } else {
            group.rebalance_timeout_ms()
        };
        group.initial_delay = (initial && delay > 0).then(|| InitialDelay {
            until: Instant::now() + Duration::from_millis(delay),
            remaining_ms: group.rebalance_timeout_ms().saturating_sub(delay),
            new_member_added: false,
        });
        tracing::debug!(group = %group.id, generation = group.generation_id, delay, "preparing rebalance");
        self.arm_join_timer(&group.id, group.rebalance_id, Duration::from_millis(delay));
        self.maybe_complete_join(group);
    }

    fn arm_join_timer(&self, group_id: &str, rebalance_id: u64, delay: Duration) {
        let weak = self.this.clone();
        let group_id = group_id.to_string();
        tokio::spawn(async move {
            tokio::time::sleep(delay).await;
            let Some(coordinator) = weak.upgrade() else {
                return;
            };
            let mut state = coordinator.state.lock();
            if let Some(group) = state.groups.get_mut(&group_id) {
                coordinator.join_deadline(group, rebalance_id);
            }
        });
    }

    /// The join timer of rebalance `rebalance_id` fired (Kafka's
    /// DelayedJoin expiring): another initial delay if members arrived
    /// during this one, else the join phase completes without those that
    /// have not rejoined. A timer of an earlier rebalance does nothing.
    /// Apart from the timer so that tests can fire it without waiting.
    pub(in crate::group) fn join_deadline(&self, group: &mut ClassicGroup, rebalance_id: u64) {
        if group.state != GroupState::PreparingRebalance || group.rebalance_id != rebalance_id {
            return;
        }
        let step = self.config.initial_rebalance_delay_ms;
        match group.initial_delay.as_mut().and_then(|d| d.extend(step)) {
            Some(delay) => {
                self.arm_join_timer(&group.id, rebalance_id, Duration::from_millis(delay))
            }
            None => self.complete_join(group),
        }
    }

    pub(in crate::group) fn maybe_complete_join(&self, group: &mut ClassicGroup) {
        let delayed = group.initial_delay.as_ref().is_some_and(|d| d.is_running());
        if group.state == GroupState::PreparingRebalance && !delayed && group.all_members_joined() {
            self.complete_join(group);
        }
    }

    /// Ends the join phase: members that did not rejoin are dropped, the
    /// generation advances, and every waiting member learns the outcome.
    fn complete_join(&self, group: &mut ClassicGroup) {
        let absent: Vec<String> = group
            .members
            .values()
            .filter(|m| !m.is_awaiting_join())
            .map(|m| m.member_id.clone())
            .collect();
        for id in absent {
            tracing::info!(group = %group.id, member = %id, "member did not rejoin in time; removed");
            group.remove_member(&id);
        }
        group.pending_members.clear();
        group.initial_delay = None;
        group.generation_id += 1;
        if group.members.is_empty() {
            group.state = GroupState::Empty;
            group.protocol_name = None;
            group.leader_id = None;
            tracing::info!(group = %group.id, generation = group.generation_id, "group is empty");
            self.store_group(group);
            return;
        }
        crate::metrics::CLASSIC_REBALANCES.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        group.protocol_type = group
            .members
            .values()
            .next()
            .map(|m| m.protocol_type.clone());
        group.protocol_name = group.select_protocol();
        if group
            .leader_id
            .as_ref()
            .is_none_or(|l| !group.members.contains_key(l))
        {
            group.leader_id = group.members.keys().next().cloned();
        }
        group.state = GroupState::CompletingRebalance;
        for m in group.members.values_mut() {
            m.assignment = Bytes::new();
        }
        tracing::info!(group = %group.id, generation = group.generation_id, members = group.members.len(), protocol = ?group.protocol_name, "join phase complete");
        let ids: Vec<String> = group.members.keys().cloned().collect();
        for id in ids {
            let result = current_generation(group, &id);
            if let Some(m) = group.members.get_mut(&id) {
                m.answer_join(result);
            }
        }
    }
}

/// The JoinGroup answer for `member_id` in the group's current generation;
/// the leader also gets every member's metadata for the chosen protocol.
fn current_generation(group: &ClassicGroup, member_id: &str) -> JoinResult {
    let leader = group.leader_id.clone().unwrap_or_default();
    let protocol = group.protocol_name.clone().unwrap_or_default();
    let members = if leader == member_id {
        group
            .members
            .values()
            .map(|m| {
                (
                    m.member_id.clone(),
                    m.group_instance_id.clone(),
                    m.metadata_for(&protocol),
                )
            })
            .collect()
    } else {
        Vec::new()
    };
    JoinResult {
        error: None,
        generation_id: group.generation_id,
        protocol_type: group.protocol_type.clone(),
        protocol_name: group.protocol_name.clone(),
        leader_id: leader,
        member_id: member_id.to_string(),
        members,
    }
}
