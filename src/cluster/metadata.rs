//! The metadata image: every topic, partition assignment, leader, leader
//! epoch, ISR, topic config and registered broker. Brokers answer Metadata,
//! DescribeCluster and routing from an immutable snapshot of it.
//!
//! Every metadata change copies the image (the controller plans on a scratch
//! copy, the state machine publishes a copy to the watchers), so the topics,
//! which hold almost all of it, are shared rather than copied: a persistent
//! map of `Arc`s, where a copy is O(1) and a change to one topic copies that
//! topic and the map's path to it, nothing else.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::config::{BrokerConfig, GroupOverrides, TopicConfig};
use crate::partition::PartitionState;
use crate::quota::ClientQuotas;
use crate::security::acl::AclBinding;
use crate::security::sasl::scram::{ScramCredential, ScramMechanism};
use crate::topic_partition::TopicPartition;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BrokerRegistration {
    pub node_id: i32,
    pub host: String,
    pub port: u16,
    pub rack: Option<String>,
    /// Missed its heartbeats: leads nothing and is in no ISR until it is back.
    #[serde(default)]
    pub fenced: bool,
    /// Every advertised listener (Kafka's BrokerRegistration endpoints);
    /// `host` and `port` are the inter-broker one's. Empty in records
    /// written before listeners had names.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub endpoints: Vec<BrokerEndpoint>,
    /// The `directory.id` of each of its log dirs, in `log.dirs` order
    /// (KIP-858, Kafka's BrokerRegistrationRequest LogDirs). Empty in
    /// records written before brokers sent them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub log_dirs: Vec<Uuid>,
    /// Kafka's broker epoch (KIP-903): set by the controller at each
    /// registration, above every earlier registration's, so that a
    /// restarted broker's fetches are told from its previous life's. 0 in
    /// records written before brokers had epochs.
    #[serde(default)]
    pub epoch: i64,
}

/// Where the clients of one listener reach a broker.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BrokerEndpoint {
    pub listener: String,
    pub host: String,
    pub port: u16,
}

impl BrokerRegistration {
    /// Kafka's checks of a registration's log dirs: none reserved (the
    /// first 100 ids mean "unassigned", "lost" and the like), none twice,
    /// and none another broker registered, as a disk copied from one
    /// broker to another would be. Kafka also refuses a registration
    /// without dirs; here that is an older Gregor's, which is accepted.
    pub fn check_log_dirs(
        &self,
        brokers: &BTreeMap<i32, BrokerRegistration>,
    ) -> Result<(), String> {
        // A registration without dirs is an older Gregor's: the metadata
        // log replays its commands through this check.
        if self.log_dirs.is_empty() {
            return Ok(());
        }
        if self.log_dirs.iter().any(|d| d.as_u128() < 100) {
            return Err("Reserved directory ID in request".into());
        }
        let distinct: BTreeSet<&Uuid> = self.log_dirs.iter().collect();
        if distinct.len() != self.log_dirs.len() {
            return Err("Duplicate directory ID in request".into());
        }
        for other in brokers.values().filter(|b| b.node_id != self.node_id) {
            if let Some(dir) = self.log_dirs.iter().find(|d| other.log_dirs.contains(d)) {
                return Err(format!(
                    "Broker {} is already registered with directory {}",
                    other.node_id,
                    crate::partition::kafka_uuid(*dir)
                ));
            }
        }
        Ok(())
    }

    /// Where a client that came in on `listener` reaches this broker, as
    /// Kafka answers: the broker's endpoint for the same listener name, or
    /// none if it has no such listener. A broker registered before
    /// listeners had names is reached at its one address.
    pub fn endpoint(&self, listener: &str) -> Option<(&str, u16)> {
        if self.endpoints.is_empty() {
            return Some((&self.host, self.port));
        }
        self.endpoints
            .iter()
            .find(|e| e.listener.eq_ignore_ascii_case(listener))
            .map(|e| (e.host.as_str(), e.port))
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartitionImage {
    pub replicas: Vec<i32>,
    pub isr: Vec<i32>,
    /// -1 when no replica can lead.
    pub leader: i32,
    pub leader_epoch: i32,
    /// Kafka's PartitionRecord.PartitionEpoch: one more on every change of
    /// the partition (leader, ISR, replicas), so that the controller can
    /// refuse an AlterPartition built on a state it has since changed.
    /// Records written before it existed read as 0.
    #[serde(default)]
    pub partition_epoch: i32,
    /// Target replicas a reassignment in progress is bringing in (Kafka's
    /// addingReplicas); they are in `replicas` too.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub adding_replicas: Vec<i32>,
    /// Replicas a reassignment in progress will drop once the target
    /// replicas are in sync (Kafka's removingReplicas).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub removing_replicas: Vec<i32>,
}

impl PartitionImage {
    /// A new partition: its first replica leads, every replica in sync.
    pub fn new(replicas: Vec<i32>) -> PartitionImage {
        PartitionImage {
            leader: replicas.first().copied().unwrap_or(-1),
            isr: replicas.clone(),
            replicas,
            leader_epoch: 0,
            partition_epoch: 0,
            adding_replicas: Vec::new(),
            removing_replicas: Vec::new(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TopicImage {
    pub name: String,
    pub id: Uuid,
    pub partitions: Vec<PartitionImage>,
    pub config: TopicConfig,
    pub internal: bool,
}

/// The topics by name; serialized as a plain JSON map of topics, as before
/// they were shared.
pub type Topics = imbl::OrdMap<String, Arc<TopicImage>>;

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct MetadataImage {
    pub cluster_id: String,
    /// Bumped on every change; lets brokers apply only what is new.
    pub epoch: u64,
    pub controller_id: i32,
    pub brokers: BTreeMap<i32, BrokerRegistration>,
    pub topics: Topics,
    /// The first producer id not yet handed out in a block (Kafka's
    /// ProducerIdsRecord): ids are never reused, across restarts too.
    #[serde(default)]
    pub next_producer_id: i64,
    /// Every ACL, by the id the controller gave it (Kafka's
    /// AccessControlEntryRecord ids).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub acls: BTreeMap<Uuid, AclBinding>,
    /// SCRAM credentials by user and mechanism (Kafka's
    /// UserScramCredentialRecord): every broker authenticates from them.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub scram_credentials: BTreeMap<String, BTreeMap<ScramMechanism, ScramCredential>>,
    /// Finalized feature levels (Kafka's FeatureLevelRecords), set when
    /// the cluster forms; a level of 0 is not kept.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub features: BTreeMap<String, i16>,
    /// Dynamic broker configs (Kafka's ConfigRecords of resource type
    /// BROKER) by resource name: a broker id, or "" for the cluster
    /// default. No resource is kept empty.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub broker_configs: BTreeMap<String, BTreeMap<String, String>>,
    /// Each group's config overrides (Kafka's ConfigRecords of resource
    /// type GROUP); a group without overrides has no entry.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub group_configs: BTreeMap<String, GroupOverrides>,
    /// Client metrics subscriptions (KIP-714) by name, each its configs
    /// (Kafka's ConfigRecords of CLIENT_METRICS resources).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub client_metrics: BTreeMap<String, BTreeMap<String, String>>,
    /// Client quotas by entity and key (Kafka's ClientQuotaRecords).
    #[serde(
        default,
        skip_serializing_if = "BTreeMap::is_empty",
        with = "crate::quota::as_pairs"
    )]
    pub client_quotas: ClientQuotas,
}

impl MetadataImage {
    pub fn topic(&self, name: &str) -> Option<&TopicImage> {
        self.topics.get(name).map(|t| &**t)
    }

    /// The finalized feature levels; a cluster formed before features
    /// were kept is at the levels a new one starts at.
    pub fn finalized_features(&self) -> BTreeMap<String, i16> {
        if self.features.is_empty() {
            crate::cluster::features::bootstrap()
        } else {
            self.features.clone()
        }
    }

    /// The broker configuration of `node_id`: `static_config` under the
    /// dynamic configs of the cluster default and of that broker.
    pub fn broker_config(&self, node_id: i32, static_config: &BrokerConfig) -> BrokerConfig {
        static_config.with_dynamic(
            self.broker_configs.get(""),
            self.broker_configs.get(&node_id.to_string()),
        )
    }

    /// `name` to change: copied first if another image still shares it.
    pub fn topic_mut(&mut self, name: &str) -> Option<&mut TopicImage> {
        self.topics.get_mut(name).map(Arc::make_mut)
    }

    pub fn insert_topic(&mut self, topic: TopicImage) {
        self.topics.insert(topic.name.clone(), Arc::new(topic));
    }

    /// Runs `change` on every partition that `wanted` picks, copying only
    /// the topics that hold one: a change that touches a few partitions
    /// (a broker fenced, say) leaves every other topic shared.
    pub fn change_partitions(
        &mut self,
        wanted: impl Fn(&PartitionImage) -> bool,
        mut change: impl FnMut(&mut PartitionImage),
    ) {
        let names: Vec<String> = self
            .topics
            .iter()
            .filter(|(_, t)| t.partitions.iter().any(&wanted))
            .map(|(name, _)| name.clone())
            .collect();
        for name in names {
            let Some(topic) = self.topic_mut(&name) else {
                continue;
            };
            for p in topic.partitions.iter_mut().filter(|p| wanted(p)) {
                change(p);
            }
        }
    }

    /// Bumps the partition epoch of every partition that differs from the
    /// same partition of the same topic in `before`. Applied once after each
    /// controller change, it keeps every path that changes a partition
    /// (elections, fencing, ISR changes, reassignments) from forgetting to.
    pub fn bump_partition_epochs(&mut self, before: &MetadataImage) {
        let changed: Vec<(String, Vec<usize>)> = self
            .topics
            .iter()
            .filter_map(|(name, topic)| {
                let old = before.topics.get(name)?;
                if Arc::ptr_eq(old, topic) || old.id != topic.id {
                    return None;
                }
                let indices: Vec<usize> = topic
                    .partitions
                    .iter()
                    .zip(&old.partitions)
                    .enumerate()
                    .filter(|(_, (new, old))| {
                        PartitionImage {
                            partition_epoch: new.partition_epoch,
                            ..PartitionImage::clone(old)
                        } != **new
                    })
                    .map(|(i, _)| i)
                    .collect();
                (!indices.is_empty()).then(|| (name.clone(), indices))
            })
            .collect();
        for (name, indices) in changed {
            let old = &before.topics[&name].partitions;
            let Some(topic) = self.topic_mut(&name) else {
                continue;
            };
            for i in indices {
                topic.partitions[i].partition_epoch = old[i].partition_epoch + 1;
            }
        }
    }

    /// The topics groups may be assigned (not internal, and passing
    /// `visible`, the member's Describe permission) by name: each one's id
    /// and partition count, as the group assignors take them.
    pub fn assignable_topics(
        &self,
        visible: impl Fn(&str) -> bool,
    ) -> HashMap<String, (Uuid, i32)> {
        self.topics
            .values()
            .filter(|t| !t.internal && visible(&t.name))
            .map(|t| (t.name.clone(), (t.id, t.partitions.len() as i32)))
            .collect()
    }

    pub fn topic_by_id(&self, id: Uuid) -> Option<&TopicImage> {
        self.topics.values().find(|t| t.id == id).map(|t| &**t)
    }

    pub fn scram_credential(
        &self,
        user: &str,
        mechanism: ScramMechanism,
    ) -> Option<&ScramCredential> {
        self.scram_credentials.get(user)?.get(&mechanism)
    }

    pub fn partition(&self, topic: &str, partition: i32) -> Option<&PartitionImage> {
        let index = usize::try_from(partition).ok()?;
        self.topics.get(topic)?.partitions.get(index)
    }
}

/// What a new image changes of the partitions one broker hosts.
#[derive(Debug, Default, PartialEq)]
pub struct HostedChanges {
    /// Hosted partitions that are new or whose state differs, as the
    /// replica manager applies them.
    pub changed: Vec<PartitionState>,
    /// Partitions hosted before and not any more (topic deleted, replica
    /// moved away).
    pub removed: Vec<TopicPartition>,
}

impl HostedChanges {
    /// Adds the states of `offline` partitions (whose logs could not be
    /// opened) still hosted in `image`, so each new image retries them as
    /// a full pass does.
    pub fn retry_offline(
        &mut self,
        image: &MetadataImage,
        offline: Vec<TopicPartition>,
        node_id: i32,
        broker_config: &BrokerConfig,
    ) {
        let mut by_topic: BTreeMap<String, BTreeSet<i32>> = BTreeMap::new();
        for tp in offline {
            by_topic.entry(tp.topic).or_default().insert(tp.partition);
        }
        for state in &self.changed {
            if let Some(indexes) = by_topic.get_mut(&state.topic) {
                indexes.remove(&state.index);
            }
        }
        for (name, indexes) in by_topic {
            if let Some(topic) = image.topic(&name) {
                self.changed
                    .extend(topic.hosted_states(node_id, broker_config, |index, _| {
                        indexes.contains(&(index as i32))
                    }));
            }
        }
    }
}

impl TopicImage {
    /// A topic with one partition per replica list, each led by its first
    /// replica with every replica in sync: what unit tests build images of.
    #[cfg(test)]
    pub(crate) fn with_replicas(name: &str, replicas: &[&[i32]]) -> TopicImage {
        TopicImage {
            name: name.into(),
            id: Uuid::new_v4(),
            partitions: replicas
                .iter()
                .map(|r| PartitionImage::new(r.to_vec()))
                .collect(),
            config: TopicConfig::default(),
            internal: false,
        }
    }

    /// The states of this topic's partitions hosted on `node_id` that
    /// `pick` (index, partition) selects.
    fn hosted_states<'a>(
        &'a self,
        node_id: i32,
        broker_config: &BrokerConfig,
        pick: impl Fn(usize, &PartitionImage) -> bool + 'a,
    ) -> impl Iterator<Item = PartitionState> + 'a {
        let log_config = self.config.log_config(broker_config);
        let min_insync_replicas = self.config.min_insync_replicas(broker_config);
        self.partitions
            .iter()
            .enumerate()
            .filter(move |(index, p)| p.replicas.contains(&node_id) && pick(*index, p))
            .map(move |(index, p)| PartitionState {
                topic: self.name.clone(),
                topic_id: self.id,
                index: index as i32,
                replicas: p.replicas.clone(),
                isr: p.isr.clone(),
                leader: p.leader,
                leader_epoch: p.leader_epoch,
                partition_epoch: p.partition_epoch,
                log_config: log_config.clone(),
                min_insync_replicas,
            })
    }

    /// Indexes of partitions hosted on `node_id` here and not in `now`
    /// (the same topic in a later image, `None` once deleted).
    fn no_longer_hosted<'a>(
        &'a self,
        now: Option<&'a TopicImage>,
        node_id: i32,
    ) -> impl Iterator<Item = TopicPartition> + 'a {
        self.partitions
            .iter()
            .enumerate()
            .filter(move |(index, p)| {
                let still = now
                    .and_then(|t| t.partitions.get(*index))
                    .is_some_and(|p| p.replicas.contains(&node_id));
                p.replicas.contains(&node_id) && !still
            })
            .map(|(index, _)| TopicPartition::new(self.name.clone(), index as i32))
    }
}

impl MetadataImage {
    /// The partitions with a replica on `node_id`, as the replica manager applies them.
    pub fn hosted_partitions(
        &self,
        node_id: i32,
        broker_config: &BrokerConfig,
    ) -> Vec<PartitionState> {
        self.topics
            .values()
            .flat_map(|topic| topic.hosted_states(node_id, broker_config, |_, _| true))
            .collect()
    }

    /// What changed for `node_id`'s partitions since `before`, both under
    /// the same `broker_config` (a change of broker configs can change
    /// every partition's log config: apply [`Self::hosted_partitions`]
    /// then). A topic the change did not touch is still the one `before`
    /// holds, so this is O(topics) plus the partitions of changed topics,
    /// where a full pass is O(partitions).
    pub fn hosted_changes(
        &self,
        before: &MetadataImage,
        node_id: i32,
        broker_config: &BrokerConfig,
    ) -> HostedChanges {
        let mut changes = HostedChanges::default();
        for (name, topic) in &self.topics {
            let old = before.topics.get(name);
            if old.is_some_and(|old| Arc::ptr_eq(old, topic) || old == topic) {
                continue;
            }
            match old {
                // Only the partitions that differ: the log config is the same.
                Some(old) if old.id == topic.id && old.config == topic.config => {
                    changes.changed.extend(topic.hosted_states(
                        node_id,
                        broker_config,
                        |index, p| old.partitions.get(index) != Some(p),
                    ));
                }
                // New, re-created (the replica manager starts a new id
                // empty) or reconfigured: every hosted partition.
                _ => changes
                    .changed
                    .extend(topic.hosted_states(node_id, broker_config, |_, _| true)),
            }
            if let Some(old) = old {
                changes
                    .removed
                    .extend(old.no_longer_hosted(Some(topic), node_id));
            }
        }
        for (name, old) in &before.topics {
            if !self.topics.contains_key(name) {
                changes.removed.extend(old.no_longer_hosted(None, node_id));
            }
        }
        changes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn registering(node_id: i32, log_dirs: &[u128]) -> BrokerRegistration {
        BrokerRegistration {
            node_id,
            host: "h".into(),
            port: 9092,
            rack: None,
            fenced: false,
            endpoints: Vec::new(),
            log_dirs: log_dirs.iter().map(|d| Uuid::from_u128(*d)).collect(),
            epoch: 0,
        }
    }

    #[test]
    fn a_registration_needs_its_own_distinct_unreserved_log_dirs() {
        let brokers: BTreeMap<i32, BrokerRegistration> =
            [(1, registering(1, &[1000, 1001])), (2, registering(2, &[]))].into();
        let check = |b: BrokerRegistration| b.check_log_dirs(&brokers);
        assert_eq!(check(registering(3, &[2000, 2001])), Ok(()));
        assert_eq!(
            check(registering(1, &[1001, 1002])),
            Ok(()),
            "a broker registering again may keep or change its dirs"
        );
        assert_eq!(
            check(registering(3, &[])),
            Ok(()),
            "an older broker's registration, replayed from the metadata log"
        );
        assert_eq!(
            check(registering(3, &[2000, 1])).unwrap_err(),
            "Reserved directory ID in request"
        );
        assert_eq!(
            check(registering(3, &[2000, 2000])).unwrap_err(),
            "Duplicate directory ID in request"
        );
        let taken = check(registering(3, &[2000, 1001])).unwrap_err();
        assert_eq!(
            taken,
            format!(
                "Broker 1 is already registered with directory {}",
                crate::partition::kafka_uuid(Uuid::from_u128(1001))
            )
        );
    }

    #[test]
    fn a_registration_record_without_log_dirs_still_reads() {
        let old = r#"{"node_id":1,"host":"h","port":9092,"rack":null}"#;
        let read: BrokerRegistration = serde_json::from_str(old).unwrap();
        assert!(read.log_dirs.is_empty());
        let new = registering(1, &[1000]);
        let round: BrokerRegistration =
            serde_json::from_str(&serde_json::to_string(&new).unwrap()).unwrap();
        assert_eq!(round, new);
    }

    fn topic(name: &str, replicas: &[&[i32]]) -> TopicImage {
        TopicImage::with_replicas(name, replicas)
    }

    fn image() -> MetadataImage {
        let mut image = MetadataImage::default();
        image.insert_topic(topic("a", &[&[1, 2], &[2, 1]]));
        image.insert_topic(topic("b", &[&[2, 3]]));
        image.insert_topic(topic("c", &[&[3, 1]]));
        image
    }

    fn shared(x: &MetadataImage, y: &MetadataImage, name: &str) -> bool {
        Arc::ptr_eq(&x.topics[name], &y.topics[name])
    }

    #[test]
    fn a_change_to_one_topic_copies_that_topic_only() {
        let before = image();
        let mut after = before.clone();
        assert!(["a", "b", "c"].iter().all(|t| shared(&before, &after, t)));
        after.topic_mut("b").unwrap().partitions[0].isr = vec![2];
        assert!(!shared(&before, &after, "b"));
        assert!(shared(&before, &after, "a") && shared(&before, &after, "c"));
        assert_eq!(before.topics["b"].partitions[0].isr, vec![2, 3]);
        assert_eq!(after.topics["b"].partitions[0].isr, vec![2]);
    }

    #[test]
    fn changing_partitions_copies_only_the_topics_that_hold_them() {
        let before = image();
        let mut after = before.clone();
        after.change_partitions(|p| p.replicas.contains(&3), |p| p.leader_epoch += 1);
        assert!(shared(&before, &after, "a"));
        assert!(!shared(&before, &after, "b") && !shared(&before, &after, "c"));
        assert_eq!(after.topics["b"].partitions[0].leader_epoch, 1);
        assert_eq!(after.topics["c"].partitions[0].leader_epoch, 1);
        assert_eq!(before.topics["c"].partitions[0].leader_epoch, 0);
    }

    type Key = TopicPartition;

    /// (topic, index) of what `after` changes of broker 1's partitions
    /// since `before`.
    fn changes(before: &MetadataImage, after: &MetadataImage) -> (Vec<Key>, Vec<Key>) {
        let c = after.hosted_changes(before, 1, &BrokerConfig::default());
        let changed = c
            .changed
            .iter()
            .map(|s| TopicPartition::new(s.topic.clone(), s.index))
            .collect();
        (changed, c.removed)
    }

    fn key(topic: &str, index: i32) -> TopicPartition {
        TopicPartition::new(topic, index)
    }

    #[test]
    fn an_unchanged_topic_changes_no_partition() {
        let before = image();
        let mut after = before.clone();
        after.topic_mut("b").unwrap().partitions[0].isr = vec![2];
        assert_eq!(changes(&before, &before.clone()), (vec![], vec![]));
        // b is not hosted on 1; a and c are untouched.
        assert_eq!(changes(&before, &after), (vec![], vec![]));
        // An equal copy (an image from a snapshot) compares by content.
        let mut copied = before.clone();
        copied.insert_topic(TopicImage::clone(&before.topics["a"]));
        assert_eq!(changes(&before, &copied), (vec![], vec![]));
    }

    #[test]
    fn a_changed_isr_or_leader_changes_that_partition_only() {
        let before = image();
        let mut after = before.clone();
        after.topic_mut("a").unwrap().partitions[1].isr = vec![2];
        assert_eq!(changes(&before, &after), (vec![key("a", 1)], vec![]));
        let mut after = before.clone();
        let p = &mut after.topic_mut("c").unwrap().partitions[0];
        p.leader = 1;
        p.leader_epoch += 1;
        let c = after.hosted_changes(&before, 1, &BrokerConfig::default());
        assert_eq!((c.changed[0].leader, c.changed[0].leader_epoch), (1, 1));
        assert_eq!(changes(&before, &after), (vec![key("c", 0)], vec![]));
    }

    #[test]
    fn a_removed_topic_or_replica_removes_its_partitions() {
        let before = image();
        let mut after = before.clone();
        after.topics.remove("a");
        assert_eq!(
            changes(&before, &after),
            (vec![], vec![key("a", 0), key("a", 1)])
        );
        let mut after = before.clone();
        after.topic_mut("c").unwrap().partitions[0].replicas = vec![3, 2];
        assert_eq!(changes(&before, &after), (vec![], vec![key("c", 0)]));
    }

    #[test]
    fn a_new_recreated_or_reconfigured_topic_changes_all_its_partitions() {
        let before = image();
        let mut after = before.clone();
        after.insert_topic(topic("d", &[&[1], &[2], &[1]]));
        assert_eq!(
            changes(&before, &after),
            (vec![key("d", 0), key("d", 2)], vec![])
        );
        // Re-created with one partition: a new id for 0, 1 removed.
        let mut after = before.clone();
        after.insert_topic(topic("a", &[&[1, 2]]));
        assert_eq!(
            changes(&before, &after),
            (vec![key("a", 0)], vec![key("a", 1)])
        );
        let c = after.hosted_changes(&before, 1, &BrokerConfig::default());
        assert_eq!(c.changed[0].topic_id, after.topics["a"].id);
        let mut after = before.clone();
        after
            .topic_mut("a")
            .unwrap()
            .config
            .set("retention.ms".into(), "1000".into())
            .unwrap();
        assert_eq!(
            changes(&before, &after),
            (vec![key("a", 0), key("a", 1)], vec![])
        );
    }

    #[test]
    fn offline_partitions_are_retried_once() {
        let before = image();
        let mut after = before.clone();
        after.topic_mut("a").unwrap().partitions[0].isr = vec![2];
        let config = BrokerConfig::default();
        let mut c = after.hosted_changes(&before, 1, &config);
        let offline = vec![key("a", 0), key("c", 0), key("gone", 0)];
        c.retry_offline(&after, offline, 1, &config);
        let changed: Vec<_> = c
            .changed
            .iter()
            .map(|s| TopicPartition::new(s.topic.clone(), s.index))
            .collect();
        assert_eq!(changed, vec![key("a", 0), key("c", 0)]);
    }

    #[test]
    fn the_snapshot_json_is_a_plain_map_of_topics() {
        let image = image();
        let json = serde_json::to_value(&image).unwrap();
        assert_eq!(
            json["topics"]["b"]["partitions"][0]["replicas"],
            serde_json::json!([2, 3])
        );
        assert_eq!(json["topics"]["a"]["name"], "a");
        let loaded: MetadataImage = serde_json::from_value(json).unwrap();
        assert_eq!(loaded, image);
    }
}
