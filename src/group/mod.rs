//! The group coordinator (classic protocol): consumers join a group, one of
//! them assigns partitions, and the coordinator hands each member its
//! assignment and tracks liveness through heartbeats; committed offsets are
//! kept per group.
//!
//! One lock guards all groups: group operations are rare next to produce and
//! fetch, and a single lock keeps the state machine easy to reason about.
//! Calls that must wait (JoinGroup until the join phase completes, SyncGroup
//! until the leader's assignment arrives) register a oneshot sender under the
//! lock and await it outside.

mod consumer;
mod consumer_records;
mod member;
mod offsets;
mod offsets_log;
mod state;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use bytes::Bytes;
use kafka_protocol::error::ResponseError;
use parking_lot::Mutex;
use tokio::sync::oneshot;

pub use consumer::TopicPartition;
pub use member::{JoinResult, SyncResult};
pub use offsets::CommittedOffset;
use offsets_log::Replayed;
pub use offsets_log::{describe_record as describe_offsets_record, partition_for, OFFSETS_TOPIC};
pub use state::GroupState;

use crate::config::GroupOverrides;
use crate::coordinator_records::{leadership_change, replay_partition, LoadError};
use crate::partition::{now_ms, ReplicaManager};
use consumer::{ConsumerGroup, ConsumerMember};
use member::Member;
use offsets::OffsetStore;
use state::Group;
use state::InitialDelay;

/// Coordinator settings, Kafka's `group.*` broker properties.
/// Kafka's offsets.commit.timeout.ms default: how long a commit waits for
/// the offsets partition's ISR.
const OFFSETS_COMMIT_TIMEOUT_MS: u64 = 5000;

#[derive(Debug, Clone)]
pub struct GroupConfig {
    pub initial_rebalance_delay_ms: u64,
    pub min_session_timeout_ms: i32,
    pub max_session_timeout_ms: i32,
    /// `offsets.topic.num.partitions`.
    pub offsets_topic_partitions: i32,
    /// `offsets.retention.minutes`, in milliseconds: how long offsets of a
    /// group without members are kept after their last commit.
    pub offsets_retention_ms: i64,
    /// `group.consumer.heartbeat.interval.ms`: how often KIP-848 members heartbeat.
    pub consumer_heartbeat_interval_ms: i32,
    /// `group.consumer.session.timeout.ms`: when a silent KIP-848 member is removed.
    pub consumer_session_timeout_ms: i32,
}

/// A ConsumerGroupHeartbeat call (KIP-848), as the coordinator needs it.
pub struct ConsumerHeartbeat {
    pub group_id: String,
    pub member_id: String,
    pub member_epoch: i32,
    pub subscribed_topics: Option<Vec<String>>,
    pub subscribed_regex: Option<String>,
    pub server_assignor: Option<String>,
    pub owned: Option<Vec<TopicPartition>>,
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
    pub assignment: Option<Vec<TopicPartition>>,
}

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

impl State {
    /// Whether `group_id` exists in either protocol or has committed offsets.
    fn knows(&self, group_id: &str) -> bool {
        self.groups.contains_key(group_id)
            || self.consumer_groups.contains_key(group_id)
            || !self.offsets.all(group_id).is_empty()
    }

    fn has_members(&self, group_id: &str) -> bool {
        self.groups
            .get(group_id)
            .is_some_and(|g| !g.members.is_empty())
            || self
                .consumer_groups
                .get(group_id)
                .is_some_and(|g| !g.members.is_empty())
    }
}

#[derive(Default)]
struct State {
    groups: HashMap<String, Group>,
    consumer_groups: HashMap<String, ConsumerGroup>,
    /// Each consumer group's records as last written to `__consumer_offsets`.
    consumer_written: HashMap<String, consumer_records::Records>,
    offsets: OffsetStore,
    /// Offsets committed in open transactions, by producer id and group:
    /// they count once the producer's commit marker reaches the group's
    /// `__consumer_offsets` partition, and go at its abort.
    pending_txn_offsets: HashMap<i64, HashMap<String, PendingOffsets>>,
    /// Commits written here but not yet on the offsets partition's whole
    /// ISR, by group, in log order with the offset of the record holding
    /// them: as in Kafka they are not shown (OffsetFetch) until then, since
    /// a failover could still take them back.
    unreplicated_commits: HashMap<String, Vec<(i64, String, i32, CommittedOffset)>>,
}

/// One group's offsets in one open transaction.
type PendingOffsets = BTreeMap<(String, i32), CommittedOffset>;

impl State {
    /// Drops every group (and its offsets) that `gone` names.
    fn forget(&mut self, gone: impl Fn(&str) -> bool) {
        self.groups.retain(|g, _| !gone(g));
        self.consumer_groups.retain(|g, _| !gone(g));
        self.consumer_written.retain(|g, _| !gone(g));
        self.offsets.retain_groups(|g| !gone(g));
        self.unreplicated_commits.retain(|g, _| !gone(g));
        for groups in self.pending_txn_offsets.values_mut() {
            groups.retain(|g, _| !gone(g));
        }
        self.pending_txn_offsets
            .retain(|_, groups| !groups.is_empty());
    }

    fn complete_transaction(
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
                for ((topic, partition), offset) in offsets {
                    self.offsets.commit(&group, &topic, partition, offset);
                }
            }
        }
        if groups.is_empty() {
            self.pending_txn_offsets.remove(&producer_id);
        }
    }
}

pub struct GroupCoordinator {
    config: GroupConfig,
    /// Where commits are made durable, in `__consumer_offsets`.
    replicas: Arc<ReplicaManager>,
    state: Mutex<State>,
    /// The `__consumer_offsets` partitions whose groups are loaded here.
    led: Mutex<BTreeSet<i32>>,
    /// Partitions this broker leads whose log could not be read: their
    /// groups are not served (locked after `led`).
    failed: Mutex<BTreeSet<i32>>,
    /// Each group's config overrides (KIP-848 group configs), as the
    /// metadata image last applied holds them (locked after `state`).
    overrides: Mutex<BTreeMap<String, GroupOverrides>>,
    /// Lets timers spawned under the lock call back without keeping the coordinator alive.
    this: Weak<GroupCoordinator>,
}

fn join_error(member_id: &str, error: ResponseError) -> JoinResult {
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
    pub fn new(config: GroupConfig, replicas: Arc<ReplicaManager>) -> Arc<GroupCoordinator> {
        Arc::new_cyclic(|this| GroupCoordinator {
            config,
            replicas,
            state: Mutex::new(State::default()),
            led: Mutex::new(BTreeSet::new()),
            failed: Mutex::new(BTreeSet::new()),
            overrides: Mutex::new(BTreeMap::new()),
            this: this.clone(),
        })
    }

    /// Takes the group configs of a newly applied metadata image: each
    /// consumer group's members are timed by its own overrides from their
    /// next heartbeat (the interval) or expiry check (the session) on.
    pub fn set_group_configs(&self, configs: &BTreeMap<String, GroupOverrides>) {
        *self.overrides.lock() = configs.clone();
    }

    /// A group's override of an int group config, else the broker's value.
    fn group_int(&self, group_id: &str, name: &str, broker_value: i32) -> i32 {
        self.overrides
            .lock()
            .get(group_id)
            .and_then(|o| o.get(name))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(broker_value)
    }

    /// `consumer.session.timeout.ms` of a KIP-848 group.
    fn consumer_session_timeout_ms(&self, group_id: &str) -> i32 {
        self.group_int(
            group_id,
            "consumer.session.timeout.ms",
            self.config.consumer_session_timeout_ms,
        )
    }

    /// `consumer.heartbeat.interval.ms` of a KIP-848 group.
    fn consumer_heartbeat_interval_ms(&self, group_id: &str) -> i32 {
        self.group_int(
            group_id,
            "consumer.heartbeat.interval.ms",
            self.config.consumer_heartbeat_interval_ms,
        )
    }

    pub async fn join_group(&self, request: JoinRequest) -> JoinResult {
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
            .or_insert_with(|| Group::new(&r.group_id));
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
                    Member {
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
    fn prepare_rebalance(&self, group: &mut Group) {
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
                if group.state == GroupState::PreparingRebalance
                    && group.rebalance_id == rebalance_id
                {
                    let step = coordinator.config.initial_rebalance_delay_ms;
                    match group.initial_delay.as_mut().and_then(|d| d.extend(step)) {
                        Some(delay) => coordinator.arm_join_timer(
                            &group_id,
                            rebalance_id,
                            Duration::from_millis(delay),
                        ),
                        None => coordinator.complete_join(group),
                    }
                }
            }
        });
    }

    fn maybe_complete_join(&self, group: &mut Group) {
        let delayed = group.initial_delay.as_ref().is_some_and(|d| d.is_running());
        if group.state == GroupState::PreparingRebalance && !delayed && group.all_members_joined() {
            self.complete_join(group);
        }
    }

    /// Ends the join phase: members that did not rejoin are dropped, the
    /// generation advances, and every waiting member learns the outcome.
    fn complete_join(&self, group: &mut Group) {
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
            let group = state
                .groups
                .get_mut(group_id)
                .ok_or(ResponseError::UnknownMemberId)?;
            group.check_member(generation_id, member_id, group_instance_id)?;
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

    pub fn heartbeat(
        &self,
        group_id: &str,
        generation_id: i32,
        member_id: &str,
        group_instance_id: Option<&str>,
    ) -> Result<(), ResponseError> {
        let mut state = self.state.lock();
        let group = state
            .groups
            .get_mut(group_id)
            .ok_or(ResponseError::UnknownMemberId)?;
        group.check_member(generation_id, member_id, group_instance_id)?;
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

    fn member_removed(&self, group: &mut Group) {
        match group.state {
            GroupState::Stable | GroupState::CompletingRebalance => self.prepare_rebalance(group),
            GroupState::PreparingRebalance => self.maybe_complete_join(group),
            GroupState::Empty | GroupState::Dead => {}
        }
    }

    /// Removes KIP-848 members whose session lapsed without a heartbeat
    /// (classic members each have a timer: `arm_session_timer`).
    pub fn expire_sessions(&self) {
        let now = Instant::now();
        let mut state = self.state.lock();
        let mut shrunk = Vec::new();
        for (id, group) in state.consumer_groups.iter_mut() {
            let session = Duration::from_millis(self.consumer_session_timeout_ms(id).max(0) as u64);
            // A departed member's partitions reach the others through their
            // next heartbeats, which recompute the target.
            let before = group.members.len();
            group.members.retain(|member_id, m| {
                let alive = now.duration_since(m.last_heartbeat) < session;
                if !alive {
                    tracing::info!(group = %id, member = %member_id, "consumer session expired; removing member");
                }
                alive
            });
            if group.members.len() != before {
                shrunk.push(id.clone());
            }
        }
        for id in shrunk {
            self.store_consumer_group(&mut state, &id);
        }
    }

    /// Kafka's DelayedHeartbeat: removes a classic member, and rebalances
    /// its group, once its session lapses. One timer per member id, armed
    /// as the member is added; each time it fires it sleeps again until
    /// the member's current deadline, which every heartbeat pushes back,
    /// so a member goes at its deadline rather than at the next periodic
    /// check.
    fn arm_session_timer(&self, group_id: &str, member_id: &str) {
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
                match member.session_left(Instant::now()) {
                    Some(left) => wait = left,
                    None => {
                        coordinator.expire_lapsed(group);
                        return;
                    }
                }
            }
        });
    }

    /// Removes the members whose session has lapsed, and rebalances. The
    /// timers do it at each deadline, give or take the millisecond or two
    /// a timer may be late; requests that report membership call it first,
    /// so that what they report holds to the deadline exactly.
    fn expire_lapsed(&self, group: &mut Group) {
        let now = Instant::now();
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
    fn arm_pending_timer(&self, group_id: &str, member_id: &str, session_timeout_ms: i32) {
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

    /// OffsetCommit, with Kafka's checks of the committer's membership.
    /// `generation_id` < 0 with no member id commits for a group that is not
    /// using the coordinator for membership (simple consumers).
    pub fn commit_offsets(
        &self,
        group_id: &str,
        generation_id: i32,
        member_id: &str,
        group_instance_id: Option<&str>,
        offsets: Vec<(String, i32, CommittedOffset)>,
    ) -> Result<(), ResponseError> {
        if group_id.is_empty() {
            return Err(ResponseError::InvalidGroupId);
        }
        let mut state = self.state.lock();
        let state = &mut *state;
        if let Some(consumer_group) = state.consumer_groups.get(group_id) {
            // KIP-848 members commit with their member epoch.
            if !(generation_id < 0 && member_id.is_empty() && consumer_group.members.is_empty()) {
                consumer_group.check_epoch(
                    member_id,
                    generation_id,
                    ResponseError::StaleMemberEpoch,
                )?;
            }
            return self.persist_commit(state, group_id, offsets);
        }
        let group = state
            .groups
            .entry(group_id.to_string())
            .or_insert_with(|| Group::new(group_id));
        if group.state == GroupState::Dead {
            return Err(ResponseError::CoordinatorNotAvailable);
        }
        if group.is_fenced(member_id, group_instance_id) {
            return Err(ResponseError::FencedInstanceId);
        }
        if !(generation_id < 0 && group.state == GroupState::Empty) {
            group.check_member(generation_id, member_id, group_instance_id)?;
            if group.state == GroupState::CompletingRebalance {
                return Err(ResponseError::RebalanceInProgress);
            }
            if let Some(m) = group.members.get_mut(member_id) {
                m.last_heartbeat = Instant::now();
            }
        }
        self.persist_commit(state, group_id, offsets)
    }

    fn persist_commit(
        &self,
        state: &mut State,
        group_id: &str,
        offsets: Vec<(String, i32, CommittedOffset)>,
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
            .extend(offsets.into_iter().map(|(t, p, o)| (at, t, p, o)));
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
        offsets: Vec<(String, i32, CommittedOffset)>,
    ) -> Result<(), ResponseError> {
        if group_id.is_empty() {
            return Err(ResponseError::InvalidGroupId);
        }
        let mut state = self.state.lock();
        let checked = !member_id.is_empty() || generation_id >= 0;
        if let Some(group) = state.consumer_groups.get(group_id) {
            if checked {
                group.check_epoch(member_id, generation_id, ResponseError::IllegalGeneration)?;
            }
        } else if let Some(group) = state.groups.get(group_id) {
            if group.is_fenced(member_id, group_instance_id) {
                return Err(ResponseError::FencedInstanceId);
            }
            if checked {
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
        for (topic, partition, offset) in offsets {
            pending.insert((topic, partition), offset);
        }
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
        let key = (topic.to_string(), partition);
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
        for (_, topic, partition, offset) in pending.drain(..replicated) {
            state.offsets.commit(group_id, &topic, partition, offset);
        }
        if pending.is_empty() {
            state.unreplicated_commits.remove(group_id);
        }
    }

    /// Records a classic group's generation, leader and members, so that
    /// after a restart members carry on without a rebalance. A failure is
    /// logged, not returned: the group works on, only a restart would rebalance it.
    fn store_group(&self, group: &Group) {
        let record = group_record(group);
        let stored = offsets_log::group_batch(&group.id, Some(&record), now_ms())
            .map_err(|e| e.to_string())
            .and_then(|batch| self.append(&group.id, &batch).map_err(|e| e.to_string()));
        if let Err(e) = stored {
            tracing::warn!(group = %group.id, error = %e, "cannot store group metadata");
        }
    }

    /// Writes what changed in a consumer group since it was last written
    /// (tombstones for all of it once the group is gone), so that after a
    /// restart members carry on with their epochs and partitions. A failure
    /// is logged, not returned, as for classic groups.
    fn store_consumer_group(&self, state: &mut State, group_id: &str) {
        let now = state
            .consumer_groups
            .get(group_id)
            .map(|g| consumer_records::group_records(group_id, g))
            .unwrap_or_default();
        let before = state.consumer_written.remove(group_id).unwrap_or_default();
        let changes = consumer_records::delta(&before, &now);
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

    /// Writes commit records for `offsets` to the group's partition; with
    /// a producer, as part of its transaction.
    fn write_commits(
        &self,
        group_id: &str,
        offsets: &[(String, i32, CommittedOffset)],
        producer: Option<(i64, i16)>,
    ) -> Result<i64, ResponseError> {
        let batch =
            offsets_log::commit_batch(group_id, offsets, producer, now_ms()).map_err(|e| {
                tracing::error!(group = group_id, error = %e, "cannot encode offset commit");
                ResponseError::UnknownServerError
            })?;
        self.append(group_id, &batch)
    }

    /// Appends to the group's `__consumer_offsets` partition; the offset
    /// of the last record written.
    fn append(&self, group_id: &str, batch: &[u8]) -> Result<i64, ResponseError> {
        let partition = partition_for(group_id, self.config.offsets_topic_partitions);
        self.replicas
            .append_records(OFFSETS_TOPIC, partition, batch)
            .map(|info| info.last_offset)
            .map_err(|e| match e {
                ResponseError::UnknownTopicOrPartition | ResponseError::NotLeaderOrFollower => {
                    ResponseError::CoordinatorNotAvailable
                }
                other => other,
            })
    }

    /// Writes tombstones for `partitions` of `group_id` and forgets them.
    fn delete_committed(
        &self,
        state: &mut State,
        group_id: &str,
        partitions: &[(String, i32)],
    ) -> Result<(), ResponseError> {
        if partitions.is_empty() {
            return Ok(());
        }
        let batch = offsets_log::tombstone_batch(group_id, partitions, now_ms()).map_err(|e| {
            tracing::error!(group = group_id, error = %e, "cannot encode offset tombstones");
            ResponseError::UnknownServerError
        })?;
        self.append(group_id, &batch)?;
        for (topic, partition) in partitions {
            state.offsets.remove(group_id, topic, *partition);
        }
        if let Some(pending) = state.unreplicated_commits.get_mut(group_id) {
            pending.retain(|(_, t, p, _)| !partitions.contains(&(t.clone(), *p)));
        }
        Ok(())
    }

    /// DeleteGroups for one group: only an empty group can go, with its offsets.
    pub fn delete_group(&self, group_id: &str) -> Result<(), ResponseError> {
        let mut state = self.state.lock();
        if let Some(group) = state.groups.get_mut(group_id) {
            self.expire_lapsed(group);
        }
        if !state.knows(group_id) {
            return Err(ResponseError::GroupIdNotFound);
        }
        if state.has_members(group_id) {
            return Err(ResponseError::NonEmptyGroup);
        }
        let committed: Vec<(String, i32)> = state
            .offsets
            .all(group_id)
            .into_iter()
            .map(|(t, p, _)| (t, p))
            .collect();
        self.delete_committed(&mut state, group_id, &committed)?;
        state.offsets.remove_group(group_id);
        if state.groups.remove(group_id).is_some() {
            let tombstone = offsets_log::group_batch(group_id, None, now_ms())
                .map_err(|_| ResponseError::UnknownServerError)?;
            self.append(group_id, &tombstone)?;
        }
        if state.consumer_groups.remove(group_id).is_some() {
            self.store_consumer_group(&mut state, group_id);
        }
        tracing::info!(group = group_id, "group deleted");
        Ok(())
    }

    /// OffsetDelete: forgets committed offsets of partitions whose topic the
    /// group is not consuming. Per partition: `None` or why it was kept.
    pub fn delete_offsets(
        &self,
        group_id: &str,
        partitions: &[(String, i32)],
    ) -> Result<Vec<Option<ResponseError>>, ResponseError> {
        let mut state = self.state.lock();
        if !state.knows(group_id) {
            return Err(ResponseError::GroupIdNotFound);
        }
        let mut subscribed = state
            .groups
            .get(group_id)
            .map(Group::subscribed_topics)
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
            .map(|(topic, _)| {
                subscribed
                    .contains(topic)
                    .then_some(ResponseError::GroupSubscribedToTopic)
            })
            .collect();
        let deletable: Vec<(String, i32)> = partitions
            .iter()
            .zip(&outcomes)
            .filter(|((t, p), outcome)| {
                outcome.is_none() && state.offsets.get(group_id, t, *p).is_some()
            })
            .map(|(tp, _)| tp.clone())
            .collect();
        self.delete_committed(&mut state, group_id, &deletable)?;
        Ok(outcomes)
    }

    /// ConsumerGroupHeartbeat (KIP-848): join (epoch 0), leave (epoch -1 or
    /// -2), or heartbeat with the current epoch; `topics` maps each topic to
    /// its id and partition count.
    pub fn consumer_heartbeat(
        &self,
        hb: ConsumerHeartbeat,
        topics: &HashMap<String, (uuid::Uuid, i32)>,
    ) -> Result<ConsumerHeartbeatResult, ResponseError> {
        const JOIN: i32 = 0;
        const LEAVE: i32 = -1;
        const STATIC_LEAVE: i32 = -2;
        if hb.group_id.is_empty() {
            return Err(ResponseError::InvalidRequest);
        }
        if hb
            .server_assignor
            .as_deref()
            .is_some_and(|a| !consumer::ASSIGNORS.contains(&a))
        {
            return Err(ResponseError::UnsupportedAssignor);
        }
        let mut state = self.state.lock();
        if state
            .groups
            .get(&hb.group_id)
            .is_some_and(|g| !g.members.is_empty())
        {
            return Err(ResponseError::InconsistentGroupProtocol);
        }
        let group = state
            .consumer_groups
            .entry(hb.group_id.clone())
            .or_default();
        if group.assignor.is_none() {
            group.assignor = hb.server_assignor.clone();
        }
        let now = Instant::now();
        let mut member_id = hb.member_id.clone();
        match hb.member_epoch {
            JOIN => {
                if member_id.is_empty() {
                    member_id = uuid::Uuid::new_v4().to_string();
                }
                // Joining takes a subscription: topic names, a pattern, or both.
                if hb.subscribed_topics.is_none() && hb.subscribed_regex.is_none() {
                    return Err(ResponseError::InvalidRequest);
                }
                let subscribed = hb.subscribed_topics.clone().unwrap_or_default();
                let joining = ConsumerMember {
                    member_id: member_id.clone(),
                    instance_id: hb.instance_id.clone(),
                    client_id: hb.client_id.clone(),
                    client_host: hb.client_host.clone(),
                    member_epoch: 0,
                    previous_epoch: 0,
                    subscribed: subscribed.into_iter().collect(),
                    subscribed_regex: subscription_pattern(hb.subscribed_regex.as_deref())?,
                    assigned: BTreeSet::new(),
                    revoking: BTreeSet::new(),
                    last_sent: None,
                    last_heartbeat: now,
                    departed: false,
                };
                let holder = hb
                    .instance_id
                    .as_deref()
                    .and_then(|i| group.static_member(i))
                    .map(|m| (m.member_id.clone(), m.departed));
                match holder {
                    Some((previous, true)) => {
                        group.replace_static_member(&previous, joining);
                        tracing::info!(group = %hb.group_id, member = %member_id, replaces = %previous, "static consumer rejoined");
                    }
                    Some((previous, false)) if previous != member_id => {
                        return Err(ResponseError::UnreleasedInstanceId);
                    }
                    _ => {
                        // A rejoining member keeps what it held until it releases it.
                        let held = group
                            .members
                            .remove(&member_id)
                            .map(|m| m.assigned.union(&m.revoking).copied().collect())
                            .unwrap_or_default();
                        group.members.insert(
                            member_id.clone(),
                            ConsumerMember {
                                revoking: held,
                                ..joining
                            },
                        );
                        tracing::info!(group = %hb.group_id, member = %member_id, "consumer joined");
                    }
                }
            }
            STATIC_LEAVE if hb.instance_id.is_some() => {
                check_static_member(group, hb.instance_id.as_deref(), &member_id)?;
                if let Some(m) = group.members.get_mut(&member_id) {
                    m.departed = true;
                    m.last_heartbeat = now;
                    tracing::info!(group = %hb.group_id, member = %member_id, "static consumer left for now");
                }
                self.store_consumer_group(&mut state, &hb.group_id);
                return Ok(ConsumerHeartbeatResult {
                    member_id,
                    member_epoch: hb.member_epoch,
                    heartbeat_interval_ms: 0,
                    assignment: None,
                });
            }
            LEAVE | STATIC_LEAVE => {
                check_static_member(group, hb.instance_id.as_deref(), &member_id)?;
                if group.members.remove(&member_id).is_some() {
                    tracing::info!(group = %hb.group_id, member = %member_id, "consumer left");
                }
                group.refresh_target(topics);
                self.store_consumer_group(&mut state, &hb.group_id);
                return Ok(ConsumerHeartbeatResult {
                    member_id,
                    member_epoch: hb.member_epoch,
                    heartbeat_interval_ms: 0,
                    assignment: None,
                });
            }
            epoch => {
                check_static_member(group, hb.instance_id.as_deref(), &member_id)?;
                group.check_epoch(&member_id, epoch, ResponseError::FencedMemberEpoch)?;
                let m = group
                    .members
                    .get_mut(&member_id)
                    .ok_or(ResponseError::UnknownMemberId)?;
                m.last_heartbeat = now;
                if let Some(subscribed) = &hb.subscribed_topics {
                    m.subscribed = subscribed.iter().cloned().collect();
                }
                if hb.subscribed_regex.is_some() {
                    m.subscribed_regex = subscription_pattern(hb.subscribed_regex.as_deref())?;
                }
            }
        }
        if let Some(owned) = &hb.owned {
            let owned: BTreeSet<TopicPartition> = owned.iter().copied().collect();
            group.report_owned(&member_id, &owned);
        }
        group.refresh_target(topics);
        group.reconcile(&member_id);
        let m = group
            .members
            .get_mut(&member_id)
            .ok_or(ResponseError::UnknownMemberId)?;
        let assignment = (m.last_sent.as_ref() != Some(&m.assigned)).then(|| {
            m.last_sent = Some(m.assigned.clone());
            m.assigned.iter().copied().collect()
        });
        let result = ConsumerHeartbeatResult {
            member_id,
            member_epoch: m.member_epoch,
            heartbeat_interval_ms: self.consumer_heartbeat_interval_ms(&hb.group_id),
            assignment,
        };
        self.store_consumer_group(&mut state, &hb.group_id);
        Ok(result)
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

    /// Whether the groups of `__consumer_offsets` partition `index` are
    /// loaded here (it leads the partition and has replayed it).
    pub fn is_loaded(&self, index: i32) -> bool {
        self.led.lock().contains(&index)
    }

    /// Whether this broker leads `__consumer_offsets` partition `index` but
    /// could not read its log: its groups are not served, as Kafka's
    /// coordinator answers NOT_COORDINATOR for a partition whose load
    /// failed, rather than as groups without offsets.
    pub fn load_failed(&self, index: i32) -> bool {
        self.failed.lock().contains(&index)
    }

    /// Loads the groups of the `__consumer_offsets` partitions this broker
    /// has come to lead (all it leads, at start-up before it serves; one
    /// whose leadership moved here, from the log it replicated) and forgets
    /// those of the partitions it no longer leads. A partition whose log
    /// cannot be read stays unloaded until this broker comes to lead it
    /// anew (or restarts), as Kafka loads again on its next election.
    pub fn sync_leadership(&self) {
        let partitions = self.config.offsets_topic_partitions;
        let led_now = self.replicas.led_partitions(OFFSETS_TOPIC, partitions);
        let mut led = self.led.lock();
        let mut failed = self.failed.lock();
        let Some((gained, lost)) = leadership_change(&led, &mut failed, &led_now) else {
            return;
        };
        let mut state = self.state.lock();
        state.forget(|g| lost.contains(&partition_for(g, partitions)));
        led.retain(|index| !lost.contains(index));
        // Groups a partition's log holds replace what memory has of them;
        // a group that reached this broker before its partition was created
        // here (a new `__consumer_offsets`) keeps its members.
        for index in gained {
            match self.load_partition(&mut state, index) {
                Ok(restored) => {
                    led.insert(index);
                    // Restored classic groups' members start their sessions now.
                    for group_id in restored {
                        if let Some(group) = state.groups.get(&group_id) {
                            for member_id in group.members.keys() {
                                self.arm_session_timer(&group_id, member_id);
                            }
                        }
                    }
                }
                Err(e) => {
                    tracing::error!(error = %e, "the groups of this {OFFSETS_TOPIC} partition are not served (NOT_COORDINATOR) until it loads, when this broker comes to lead it again or restarts");
                    state.forget(|g| partition_for(g, partitions) == index);
                    failed.insert(index);
                }
            }
        }
        if !lost.is_empty() {
            tracing::info!(partitions = ?lost, "no longer coordinating the groups of these {OFFSETS_TOPIC} partitions");
        }
    }

    /// Replays `__consumer_offsets` partition `index` into the state; the
    /// classic groups it restored.
    fn load_partition(&self, state: &mut State, index: i32) -> Result<BTreeSet<String>, LoadError> {
        let mut restored = BTreeSet::new();
        let Some(partition) = self.replicas.partition(OFFSETS_TOPIC, index) else {
            return Ok(restored);
        };
        let mut consumer_groups: HashMap<String, consumer_records::Records> = HashMap::new();
        let loaded = replay_partition(&partition, |record| {
            let Some(record) = offsets_log::replay(record)? else {
                return Ok(());
            };
            match record {
                Replayed::Offset(group, topic, p, Some(c)) => {
                    state.offsets.commit(&group, &topic, p, c)
                }
                Replayed::Offset(group, topic, p, None) => state.offsets.remove(&group, &topic, p),
                Replayed::Group(group, Some(r)) => {
                    state.groups.insert(group.clone(), restore_group(&group, r));
                    restored.insert(group);
                }
                Replayed::Group(group, None) => {
                    state.groups.remove(&group);
                }
                Replayed::ConsumerGroup(group, key, Some(value)) => {
                    consumer_groups.entry(group).or_default().insert(key, value);
                }
                Replayed::ConsumerGroup(group, key, None) => {
                    if let Some(records) = consumer_groups.get_mut(&group) {
                        records.remove(&key);
                    }
                }
                Replayed::TxnOffset(producer_id, group, topic, p, offset) => {
                    state
                        .pending_txn_offsets
                        .entry(producer_id)
                        .or_default()
                        .entry(group)
                        .or_default()
                        .insert((topic, p), offset);
                }
                Replayed::TxnMarker(producer_id, commit) => state.complete_transaction(
                    self.config.offsets_topic_partitions,
                    index,
                    producer_id,
                    commit,
                ),
            }
            Ok(())
        })?;
        for (group, records) in consumer_groups {
            if records.is_empty() {
                continue;
            }
            let restored = consumer_records::restore(&records).ok_or_else(|| {
                LoadError::new(
                    &partition,
                    format!("the records of consumer group {group} do not make a group"),
                )
            })?;
            state.consumer_groups.insert(group.clone(), restored);
            state.consumer_written.insert(group, records);
        }
        if loaded > 0 {
            tracing::info!(
                partition = index,
                records = loaded,
                "loaded committed offsets"
            );
        }
        Ok(restored)
    }

    /// OffsetFetch: `None` asks for every partition the group committed.
    pub fn fetch_offsets(
        &self,
        group_id: &str,
        wanted: Option<Vec<(String, Vec<i32>)>>,
    ) -> Vec<(String, i32, Option<CommittedOffset>)> {
        let state = self.state.lock();
        match wanted {
            None => state
                .offsets
                .all(group_id)
                .into_iter()
                .map(|(t, p, o)| (t, p, Some(o)))
                .collect(),
            Some(topics) => topics
                .into_iter()
                .flat_map(|(topic, partitions)| {
                    partitions
                        .into_iter()
                        .map(|p| {
                            let found = state.offsets.get(group_id, &topic, p).cloned();
                            (topic.clone(), p, found)
                        })
                        .collect::<Vec<_>>()
                })
                .collect(),
        }
    }
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
    pub assignment: Vec<TopicPartition>,
    pub target_assignment: Vec<TopicPartition>,
}

/// A consumer-protocol group as ConsumerGroupDescribe reports it.
pub struct ConsumerGroupDescription {
    pub state: &'static str,
    pub group_epoch: i32,
    pub assignment_epoch: i32,
    pub assignor: String,
    pub members: Vec<ConsumerMemberDescription>,
}

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

/// The coordinator's groups as the metrics endpoint reads them at scrape time.
pub struct GroupsOverview {
    /// Groups by (type, state): `classic` or `consumer`, and Kafka's state name.
    pub counts: BTreeMap<(&'static str, &'static str), usize>,
    /// Every committed offset: (group, topic, partition, offset).
    pub committed: Vec<(String, String, i32, i64)>,
}

impl GroupCoordinator {
    pub fn overview(&self) -> GroupsOverview {
        let state = self.state.lock();
        let mut counts = BTreeMap::new();
        for g in state.groups.values() {
            *counts.entry(("classic", g.state.name())).or_default() += 1;
        }
        for g in state.consumer_groups.values() {
            *counts.entry(("consumer", g.state_name())).or_default() += 1;
        }
        let committed = state
            .offsets
            .iter()
            .map(|(g, t, p, o)| (g.to_string(), t.to_string(), p, o.offset))
            .collect();
        GroupsOverview { counts, committed }
    }
}

impl GroupCoordinator {
    /// Every known group as ListGroups reports it: (id, protocol type, state, group type).
    pub fn list_groups(&self) -> Vec<(String, String, &'static str, &'static str)> {
        let mut state = self.state.lock();
        for group in state.groups.values_mut() {
            self.expire_lapsed(group);
        }
        let mut out: Vec<_> = state
            .groups
            .values()
            .filter(|g| g.state != GroupState::Dead)
            .map(|g| {
                (
                    g.id.clone(),
                    g.protocol_type.clone().unwrap_or_default(),
                    g.state.name(),
                    "classic",
                )
            })
            .collect();
        out.extend(state.consumer_groups.iter().map(|(id, g)| {
            (
                id.clone(),
                "consumer".to_string(),
                g.state_name(),
                "consumer",
            )
        }));
        out.sort_by(|a, b| a.0.cmp(&b.0));
        out
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
                .unwrap_or_else(|| consumer::ASSIGNORS[0].to_string()),
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

    /// DescribeGroups for one group; an unknown group is reported Dead, as Kafka does.
    pub fn describe_group(&self, group_id: &str) -> GroupDescription {
        let mut state = self.state.lock();
        if let Some(group) = state.groups.get_mut(group_id) {
            self.expire_lapsed(group);
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

/// Kafka's checks on a heartbeat naming a static instance: the instance must
/// be in the group, held by this member and not by one that replaced it.
fn check_static_member(
    group: &consumer::ConsumerGroup,
    instance_id: Option<&str>,
    member_id: &str,
) -> Result<(), ResponseError> {
    let Some(instance_id) = instance_id else {
        return Ok(());
    };
    match group.static_member(instance_id) {
        None => Err(ResponseError::UnknownMemberId),
        Some(m) if m.member_id != member_id => Err(ResponseError::FencedInstanceId),
        Some(_) => Ok(()),
    }
}

/// A member's subscription pattern; an empty one means none, as in Kafka.
fn subscription_pattern(
    pattern: Option<&str>,
) -> Result<Option<consumer::SubscriptionPattern>, ResponseError> {
    match pattern {
        None | Some("") => Ok(None),
        Some(p) => consumer::SubscriptionPattern::new(p)
            .map(Some)
            .map_err(|_| ResponseError::InvalidRegularExpression),
    }
}

fn group_record(group: &Group) -> offsets_log::GroupRecord {
    let protocol = group.protocol_name.clone().unwrap_or_default();
    offsets_log::GroupRecord {
        protocol_type: group.protocol_type.clone().unwrap_or_default(),
        generation: group.generation_id,
        protocol: group.protocol_name.clone(),
        leader: group.leader_id.clone(),
        members: group
            .members
            .values()
            .map(|m| offsets_log::MemberRecord {
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
fn restore_group(id: &str, r: offsets_log::GroupRecord) -> Group {
    let mut group = Group::new(id);
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
            Member {
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

/// The JoinGroup answer for `member_id` in the group's current generation;
/// the leader also gets every member's metadata for the chosen protocol.
fn current_generation(group: &Group, member_id: &str) -> JoinResult {
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
