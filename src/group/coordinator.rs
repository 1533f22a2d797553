//! The coordinator itself (Kafka's GroupCoordinator and the routing and
//! loading parts of its GroupMetadataManager): the state every group type
//! shares under one lock, requests that span group types (ListGroups,
//! DeleteGroups), the appends to `__consumer_offsets`, and the loading of a
//! partition's groups as this broker comes to lead it.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, Weak};
use std::time::Instant;

use kafka_protocol::error::ResponseError;
use parking_lot::Mutex;

use super::classic::{restore_group, ClassicGroup, GroupState};
use super::consumer::{records as consumer_records, ConsumerGroup};
use super::offsets::{CommittedOffset, OffsetStore};
use super::records::{self, partition_for, Replayed, OFFSETS_TOPIC};
use super::share::{ShareConfig, ShareState};
use crate::config::GroupOverrides;
use crate::coordinator_records::{leadership_change, replay_partition, LoadError};
use crate::partition::{now_ms, ReplicaManager};
use crate::topic_partition::TopicPartition;

/// Coordinator settings, Kafka's `group.*` broker properties.
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
    pub share: ShareConfig,
}

impl State {
    /// Whether `group_id` exists in either protocol or has committed offsets.
    pub(in crate::group) fn knows(&self, group_id: &str) -> bool {
        self.groups.contains_key(group_id)
            || self.consumer_groups.contains_key(group_id)
            || !self.offsets.all(group_id).is_empty()
    }

    pub(in crate::group) fn has_members(&self, group_id: &str) -> bool {
        self.groups
            .get(group_id)
            .is_some_and(|g| !g.members.is_empty())
            || self
                .consumer_groups
                .get(group_id)
                .is_some_and(|g| !g.members.is_empty())
    }
}

/// Every group this coordinator serves, of either type, with their
/// offsets: what the one lock guards.
#[derive(Default)]
pub(in crate::group) struct State {
    pub(in crate::group) groups: HashMap<String, ClassicGroup>,
    pub(in crate::group) consumer_groups: HashMap<String, ConsumerGroup>,
    /// Each consumer group's records as last written to `__consumer_offsets`.
    pub(in crate::group) consumer_written: HashMap<String, consumer_records::Records>,
    pub(in crate::group) offsets: OffsetStore,
    /// Offsets committed in open transactions, by producer id and group:
    /// they count once the producer's commit marker reaches the group's
    /// `__consumer_offsets` partition, and go at its abort.
    pub(in crate::group) pending_txn_offsets: HashMap<i64, HashMap<String, PendingOffsets>>,
    /// Commits written here but not yet on the offsets partition's whole
    /// ISR, by group, in log order with the offset of the record holding
    /// them: as in Kafka they are not shown (OffsetFetch) until then, since
    /// a failover could still take them back.
    pub(in crate::group) unreplicated_commits:
        HashMap<String, Vec<(i64, TopicPartition, CommittedOffset)>>,
}

/// One group's offsets in one open transaction.
pub(in crate::group) type PendingOffsets = BTreeMap<TopicPartition, CommittedOffset>;

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
}

pub struct GroupCoordinator {
    pub(in crate::group) config: GroupConfig,
    /// Where commits are made durable, in `__consumer_offsets`.
    pub(in crate::group) replicas: Arc<ReplicaManager>,
    pub(in crate::group) state: Mutex<State>,
    /// The `__consumer_offsets` partitions whose groups are loaded here.
    led: Mutex<BTreeSet<i32>>,
    /// Partitions this broker leads whose log could not be read: their
    /// groups are not served (locked after `led`).
    failed: Mutex<BTreeSet<i32>>,
    /// Each group's config overrides (KIP-848 group configs), as the
    /// metadata image last applied holds them (locked after `state`).
    overrides: Mutex<BTreeMap<String, GroupOverrides>>,
    /// Lets timers spawned under the lock call back without keeping the coordinator alive.
    pub(in crate::group) this: Weak<GroupCoordinator>,
    pub(in crate::group) share_config: ShareConfig,
    /// Share groups, their share-partitions and share sessions (locked
    /// after `state`, never with `overrides`).
    pub(in crate::group) share: Mutex<ShareState>,
}

impl GroupCoordinator {
    pub fn new(config: GroupConfig, replicas: Arc<ReplicaManager>) -> Arc<GroupCoordinator> {
        Arc::new_cyclic(|this| GroupCoordinator {
            share_config: config.share.clone(),
            share: Mutex::new(ShareState::default()),
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
    pub(in crate::group) fn group_int(&self, group_id: &str, name: &str, broker_value: i32) -> i32 {
        self.overrides
            .lock()
            .get(group_id)
            .and_then(|o| o.get(name))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(broker_value)
    }

    /// A group's override of a string group config.
    pub(in crate::group) fn group_string(&self, group_id: &str, name: &str) -> Option<String> {
        self.overrides
            .lock()
            .get(group_id)
            .and_then(|o| o.get(name))
            .map(|v| v.trim().to_string())
    }

    /// Appends to the group's `__consumer_offsets` partition; the offset
    /// of the last record written.
    pub(in crate::group) fn append(
        &self,
        group_id: &str,
        batch: &[u8],
    ) -> Result<i64, ResponseError> {
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

    /// DeleteGroups for one group: only an empty group can go, with its offsets.
    pub fn delete_group(&self, group_id: &str) -> Result<(), ResponseError> {
        let mut state = self.state.lock();
        if let Some(group) = state.groups.get_mut(group_id) {
            self.expire_lapsed(group, Instant::now());
        }
        if !state.knows(group_id) {
            return Err(ResponseError::GroupIdNotFound);
        }
        if state.has_members(group_id) {
            return Err(ResponseError::NonEmptyGroup);
        }
        let committed: Vec<TopicPartition> = state
            .offsets
            .all(group_id)
            .into_iter()
            .map(|(tp, _)| tp)
            .collect();
        self.delete_committed(&mut state, group_id, &committed)?;
        state.offsets.remove_group(group_id);
        if state.groups.remove(group_id).is_some() {
            let tombstone = super::classic::records::group_batch(group_id, None, now_ms())
                .map_err(|_| ResponseError::UnknownServerError)?;
            self.append(group_id, &tombstone)?;
        }
        if state.consumer_groups.remove(group_id).is_some() {
            self.store_consumer_group(&mut state, group_id);
        }
        tracing::info!(group = group_id, "group deleted");
        Ok(())
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
            let Some(record) = records::replay(record)? else {
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
                        .insert(TopicPartition::new(topic, p), offset);
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
            self.expire_lapsed(group, Instant::now());
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
        drop(state);
        out.extend(
            self.list_share_groups()
                .into_iter()
                .map(|(id, s)| (id, "share".to_string(), s, "share")),
        );
        out.sort_by(|a, b| a.0.cmp(&b.0));
        out
    }
}
