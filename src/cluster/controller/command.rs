//! The metadata changes the active controller applies, as they are
//! forwarded to it, and what each produces.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::cluster::features::UpgradeType;
use crate::cluster::leader_election::ElectionType;
use crate::cluster::metadata::{BrokerRegistration, MetadataImage, TopicImage};
use crate::cluster::quorum::QuorumDescription;
use crate::config::{GroupOverrides, TopicConfig};
use crate::quota::QuotaChanges;
use crate::security::acl::{AclBinding, AclBindingFilter};
use crate::security::sasl::scram::{ScramCredential, ScramMechanism};
use crate::topic_partition::TopicPartition;

/// A topic to create, as CreateTopics states it (-1 means the broker default).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct NewTopic {
    pub name: String,
    pub num_partitions: i32,
    pub replication_factor: i16,
    /// Explicit replica lists per partition, if the client gave them.
    pub assignments: Vec<Vec<i32>>,
    pub configs: Vec<(String, String)>,
}

/// A metadata change, as it is forwarded to the active controller.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum ControllerCommand {
    RegisterBroker(BrokerRegistration),
    CreateTopic(NewTopic),
    DeleteTopic(String),
    CreatePartitions {
        name: String,
        count: i32,
        assignments: Option<Vec<Vec<i32>>>,
    },
    SetTopicConfig {
        name: String,
        config: TopicConfig,
    },
    /// Replaces a group's config overrides (already validated).
    SetGroupConfig {
        group: String,
        configs: GroupOverrides,
    },
    AllocateProducerIds(i64),
    /// A broker is alive (Kafka's BrokerHeartbeat); one that was fenced is
    /// let back in.
    Heartbeat(i32),
    /// A broker missed its heartbeats: its leaderships move to other ISR
    /// members and it leaves every ISR. Only the active controller's own
    /// record of heartbeats decides that a broker is silent.
    FenceBroker(i32),
    /// Kafka's controlled shutdown: a broker about to stop is fenced at its
    /// own request.
    ShutdownBroker(i32),
    /// A broker's replicas in failed log directories (Kafka's heartbeat
    /// `OfflineLogDirs`, KIP-858): its leaderships of these partitions move
    /// as if it were fenced, and it leaves their ISRs.
    OfflineReplicas {
        broker: i32,
        partitions: Vec<TopicPartition>,
    },
    /// Kafka's AlterPartition: a leader shrinks or widens its ISR.
    AlterPartition {
        topic: String,
        partition: i32,
        leader: i32,
        leader_epoch: i32,
        /// None from a node that predates partition epochs.
        #[serde(default)]
        partition_epoch: Option<i32>,
        isr: Vec<i32>,
        /// ISR members with the broker epoch their fetches carried
        /// (Kafka's NewIsrWithEpochs, KIP-903); a member left out is
        /// checked without one. Named `joining` by nodes that stated only
        /// the replicas an expansion adds, empty from older ones.
        #[serde(default, alias = "joining")]
        isr_epochs: Vec<(i32, i64)>,
    },
    /// The image a broker kept in `cluster-metadata.json` before the
    /// quorum existed, taken over once into an empty quorum.
    ImportImage(MetadataImage),
    /// Kafka's AlterPartitionReassignments: move each partition onto its
    /// target replicas, or (None) cancel its reassignment in progress.
    AlterPartitionReassignments(Vec<Reassignment>),
    /// Kafka's ElectLeaders, on the named partitions or (None) on all.
    ElectLeaders {
        election: ElectionType,
        partitions: Option<Vec<TopicPartition>>,
    },
    /// Kafka's CreateAcls: an ACL that exists already is not added twice.
    CreateAcls(Vec<AclBinding>),
    /// Kafka's DeleteAcls: every ACL each filter matches.
    DeleteAcls(Vec<AclBindingFilter>),
    /// Kafka's AlterUserScramCredentials, one entry per user; with
    /// `keep_existing`, upsertions leave credentials that exist alone
    /// (start-up bootstrap credentials).
    AlterUserScramCredentials {
        users: Vec<UserScramAlteration>,
        keep_existing: bool,
    },
    /// Kafka's DescribeQuorum, which only the quorum's leader can answer.
    DescribeQuorum,
    /// Kafka's UpdateFeatures: each (feature, level, upgrade type), all
    /// or none.
    UpdateFeatures(Vec<(String, i16, Option<UpgradeType>)>),
    /// Dynamic broker configs (KIP-226): the whole set of one resource (a
    /// broker id, or "" for the cluster default), already validated.
    SetBrokerConfigs {
        resource: String,
        configs: BTreeMap<String, String>,
    },
    /// A client metrics subscription's configs, already checked (none
    /// removes it).
    SetClientMetrics {
        name: String,
        configs: std::collections::BTreeMap<String, String>,
    },
    /// Kafka's AlterClientQuotas, already validated: per entity, each key
    /// set to a value or (None) removed.
    AlterClientQuotas(QuotaChanges),
}

/// One user's part of an AlterUserScramCredentials request, already
/// checked for what needs no image (mechanisms, iterations, duplicates).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct UserScramAlteration {
    pub user: String,
    pub deletions: Vec<ScramMechanism>,
    pub upsertions: Vec<(ScramMechanism, ScramCredential)>,
}

/// One partition's part of an AlterPartitionReassignments request.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Reassignment {
    pub topic: String,
    pub partition: i32,
    pub target: Option<Vec<i32>>,
    /// KIP-860: refuse a target with another replica count.
    pub keep_replication_factor: bool,
}

/// What a change produced.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum Outcome {
    Done,
    /// An AlterPartition made its change, and with it moved leadership off
    /// the sender to this broker (-1: none): Kafka's NEW_LEADER_ELECTED.
    NewLeaderElected(i32),
    Topic(Box<TopicImage>),
    Deleted(Uuid),
    FirstProducerId(i64),
    /// Per partition, in request order: None when accepted, else the
    /// refusal's error code and message.
    Reassignments(Vec<Option<Refusal>>),
    /// Per partition: None when a leader was elected, else the error code
    /// and message. An election on all partitions leaves out the ones that
    /// needed none, as Kafka does.
    Elections(Vec<(String, i32, Option<Refusal>)>),
    /// Per ACL to create, in request order: None when created (or there already).
    AclsCreated(Vec<Option<Refusal>>),
    /// Per filter, in request order: the ACLs it deleted, or its refusal.
    AclsDeleted(Vec<Result<Vec<AclBinding>, Refusal>>),
    /// Per user, in request order: None when applied, else the refusal.
    UserScramCredentials(Vec<Option<Refusal>>),
    Quorum(Box<QuorumDescription>),
}

/// One partition's refusal in a change on many: its error code and message.
pub type Refusal = (i16, String);
