//! The controller: the only writer of the metadata image. Every change is
//! validated by the active controller (the metadata quorum's leader)
//! against the image, written to the quorum as records, and answered once
//! applied, as a KRaft controller appends records that brokers then apply.
//! A change submitted on another node is forwarded to the active
//! controller, and answered once this node has applied it too, so that the
//! caller sees its own change.

mod brokers;
mod command;
mod configs;
pub mod error;
mod producer_ids;
mod replication;
#[cfg(test)]
mod test_support;

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use kafka_protocol::error::ResponseError;
use serde::{Deserialize, Serialize};
use tokio::sync::watch;
use uuid::Uuid;

use super::features::{self, UpgradeType};
use super::leader_election::{self, ElectionType};
use super::metadata::{BrokerRegistration, MetadataImage, TopicImage};
use super::quorum::network::{PeerClient, PeerLogin, QuorumRequest};
use super::quorum::voters::{VoterChange, VoterChangeError};
use super::quorum::QuorumDescription;
use super::quorum::{records, Node, NodeId, Quorum, Raft, WriteError};
use crate::config::{BrokerConfig, GroupOverrides, LoadError, TopicConfig};
use crate::quota::QuotaChanges;
use crate::security::acl::{AclBinding, AclBindingFilter};
use crate::topic_partition::TopicPartition;
pub use brokers::ineligibility;
use brokers::{live_brokers, silent_brokers};
pub use command::{
    ControllerCommand, NewTopic, Outcome, Reassignment, Refusal, UserScramAlteration,
};
pub use error::{unknown_topic, ControllerError, MetadataLoadError};
pub use replication::MAX_PARTITIONS_PER_OPERATION;
use replication::{IsrAltered, TopicDefaults};

/// A refusal as it crosses the wire; `retry` when leadership moved under it.
#[derive(Debug, Serialize, Deserialize)]
struct ForwardError {
    code: i16,
    message: String,
    retry: bool,
}

type ForwardReply = Result<(Outcome, u64), ForwardError>;

enum Attempt {
    /// Leadership moved: submit again to whoever leads now.
    Retry,
    Refused(ControllerError),
}

/// How long a change may take, leader elections included.
const SUBMIT_TIMEOUT: Duration = Duration::from_secs(30);

/// How long one forward of a change waits for the node taken for the
/// active controller.
const FORWARD_ATTEMPT_TIMEOUT: Duration = Duration::from_secs(3);

/// The file a broker kept its image in before the quorum.
const LEGACY_IMAGE_FILE: &str = "cluster-metadata.json";

pub struct Controller {
    node_id: i32,
    quorum: Quorum,
    publisher: watch::Sender<Arc<MetadataImage>>,
    broker_config: BrokerConfig,
    /// When each broker last heartbeat, as the active controller saw it.
    heartbeats: parking_lot::Mutex<HashMap<i32, Instant>>,
    /// Whether this node led the quorum at the last fencing check: a new
    /// leader gives every broker a full session before fencing it.
    was_active: std::sync::atomic::AtomicBool,
    /// Set by a controlled shutdown: no more heartbeats.
    shutting_down: std::sync::atomic::AtomicBool,
    /// One change at a time on the active controller, each validated
    /// against the image the previous one left.
    changes: tokio::sync::Mutex<()>,
    /// The connection changes (heartbeats too) are forwarded on, kept
    /// while the same node leads.
    to_leader: tokio::sync::Mutex<Option<PeerClient>>,
}

impl Controller {
    /// Joins (or, on first start, forms) the metadata quorum. A node that
    /// has peers must serve [`Controller::raft`] on its CONTROLLER listener
    /// before calling [`Controller::register`].
    pub async fn start(
        data_dir: &Path,
        broker_config: BrokerConfig,
        peer_login: PeerLogin,
    ) -> Result<Controller, MetadataLoadError> {
        let node_id = broker_config.node_id();
        let voters: BTreeMap<NodeId, Node> = match broker_config.controller_quorum_voters()? {
            Some(voters) => voters
                .into_iter()
                .map(|(id, addr)| (id as NodeId, Node::new(addr)))
                .collect(),
            None => BTreeMap::from([(node_id as NodeId, Node::new(""))]),
        };
        let (publisher, _) = watch::channel(Arc::new(MetadataImage::default()));
        let voter = broker_config.is_controller()?;
        let quorum = Quorum::start(
            data_dir,
            node_id as NodeId,
            voters,
            voter,
            publisher.clone(),
            peer_login,
        )
        .await?;
        Ok(Controller {
            node_id,
            quorum,
            publisher,
            broker_config,
            heartbeats: parking_lot::Mutex::new(HashMap::new()),
            was_active: std::sync::atomic::AtomicBool::new(false),
            shutting_down: std::sync::atomic::AtomicBool::new(false),
            changes: tokio::sync::Mutex::new(()),
            to_leader: tokio::sync::Mutex::new(None),
        })
    }

    /// The Raft handle the CONTROLLER listener serves.
    pub fn raft(&self) -> Raft {
        self.quorum.raft.clone()
    }

    /// The quorum's leader as this node knows it, and every voter's
    /// CONTROLLER address.
    pub fn controllers(&self) -> (Option<NodeId>, BTreeMap<NodeId, String>) {
        self.quorum.controllers()
    }

    /// Registers this broker (waiting for the quorum to elect a leader),
    /// taking over an image kept from before the quorum, and waits until
    /// this node has applied its own registration. A broker-only node
    /// first joins the quorum as an observer reached at `quorum_addr`.
    pub async fn register(
        &self,
        data_dir: &Path,
        me: BrokerRegistration,
        quorum_addr: Option<String>,
    ) -> Result<(), MetadataLoadError> {
        if !self.broker_config.is_controller()? {
            let addr = quorum_addr.ok_or_else(|| {
                LoadError::Voters("process.roles=broker needs a controller listener".into())
            })?;
            self.quorum
                .join_as_observer(self.node_id as NodeId, addr, SUBMIT_TIMEOUT)
                .await?;
        }
        let legacy = data_dir.join(LEGACY_IMAGE_FILE);
        if let Ok(bytes) = std::fs::read(&legacy) {
            match serde_json::from_slice::<MetadataImage>(&bytes) {
                Ok(image) => {
                    self.submit(ControllerCommand::ImportImage(image))
                        .await
                        .map_err(MetadataLoadError::Register)?;
                    let _ = std::fs::rename(&legacy, legacy.with_extension("json.imported"));
                    tracing::info!(path = %legacy.display(), "took over the metadata image kept before the quorum");
                }
                Err(e) => {
                    tracing::warn!(path = %legacy.display(), error = %e, "ignoring an unreadable metadata image")
                }
            }
        }
        self.submit(ControllerCommand::RegisterBroker(me))
            .await
            .map(|_| ())
            .map_err(MetadataLoadError::Register)
    }

    /// The broker epoch `node` is registered at in the image applied here,
    /// if any: what a voter starting on an empty metadata log asks its
    /// peers (see `Quorum::start`).
    pub fn registered_epoch(&self, node: NodeId) -> Option<i64> {
        let id = i32::try_from(node).ok()?;
        self.quorum
            .read_applied_image(|image| image.brokers.get(&id).map(|b| b.epoch))
    }

    /// Waits until the metadata quorum refuses this node; the reason.
    pub async fn refused(&self) -> String {
        self.quorum.refused().await
    }

    pub fn image(&self) -> Arc<MetadataImage> {
        self.publisher.borrow().clone()
    }

    /// Every image applied from now on.
    pub fn subscribe(&self) -> watch::Receiver<Arc<MetadataImage>> {
        self.publisher.subscribe()
    }

    pub async fn shutdown(&self) {
        self.quorum.shutdown().await;
    }

    /// Makes `command` happen on the active controller, wherever that is.
    /// A request waiting on it is waiting on the controller: its
    /// RemoteTimeMs, as Kafka's forwarded requests count.
    pub async fn submit(&self, command: ControllerCommand) -> Result<Outcome, ControllerError> {
        crate::metrics::requests::remote(self.submit_to_leader(command)).await
    }

    async fn submit_to_leader(
        &self,
        command: ControllerCommand,
    ) -> Result<Outcome, ControllerError> {
        let deadline = Instant::now() + SUBMIT_TIMEOUT;
        let timed_out = || {
            ControllerError::new(
                ResponseError::NotController,
                "No active controller answered in time.",
            )
        };
        loop {
            if let Some(reason) = self.quorum.refusal() {
                return Err(ControllerError::new(
                    ResponseError::ClusterAuthorizationFailed,
                    reason,
                ));
            }
            let remaining = deadline.saturating_duration_since(Instant::now());
            if remaining.is_zero() {
                return Err(timed_out());
            }
            let leader = match self.quorum.leader() {
                Some(l) => l,
                None => match self.quorum.wait_for_leader(remaining).await {
                    Some(l) => l,
                    None => continue,
                },
            };
            let attempt = if leader == self.node_id as NodeId {
                self.execute(command.clone()).await
            } else {
                self.forward(leader, &command, remaining).await
            };
            match attempt {
                Ok((outcome, index)) => {
                    if !self.quorum.wait_applied(index, remaining).await {
                        return Err(timed_out());
                    }
                    return Ok(outcome);
                }
                Err(Attempt::Retry) => tokio::time::sleep(Duration::from_millis(50)).await,
                Err(Attempt::Refused(e)) => return Err(e),
            }
        }
    }

    /// Runs a change here, as the active controller; returns its outcome
    /// and the index of the entry that holds it.
    async fn execute(&self, command: ControllerCommand) -> Result<(Outcome, u64), Attempt> {
        match &command {
            // A node back from a pause may still take itself for the active
            // controller, with heartbeat times as old as its pause: the
            // active controller fences only brokers it has not heard from.
            ControllerCommand::FenceBroker(id) => {
                let session = Duration::from_millis(self.broker_config.broker_session_timeout_ms());
                let silent = self
                    .heartbeats
                    .lock()
                    .get(id)
                    .is_some_and(|last| last.elapsed() > session);
                if !silent {
                    return Err(Attempt::Refused(ControllerError::new(
                        ResponseError::InvalidRequest,
                        format!("broker {id} heartbeats to the active controller"),
                    )));
                }
            }
            // Registering counts as a heartbeat: the session starts now.
            ControllerCommand::RegisterBroker(me) => {
                self.heartbeats.lock().insert(me.node_id, Instant::now());
            }
            _ => {}
        }
        // A live broker's heartbeat changes nothing but the controller's memory.
        if let ControllerCommand::Heartbeat(id) = &command {
            self.heartbeats.lock().insert(*id, Instant::now());
            let fenced = self
                .quorum
                .read_applied_image(|image| image.brokers.get(id).is_some_and(|b| b.fenced));
            if !fenced {
                return Ok((Outcome::Done, self.quorum.applied_index()));
            }
        }
        let _one_at_a_time = self.changes.lock().await;
        // Everything earlier leaders committed is applied before a change
        // is checked against the image.
        if self.quorum.raft.ensure_linearizable().await.is_err() {
            return Err(Attempt::Retry);
        }
        let before = self.quorum.applied_image();
        // The scratch copy keeps a refused change all-or-nothing; it shares
        // every topic with `before` until the change touches one.
        let mut next = MetadataImage::clone(&before);
        let outcome = self.apply(&mut next, command).map_err(Attempt::Refused)?;
        next.bump_partition_epochs(&before);
        let changes = records::delta(&before, &next);
        if changes.is_empty() {
            return Ok((outcome, self.quorum.applied_index()));
        }
        match self.quorum.write(changes).await {
            Ok(index) => Ok((outcome, index)),
            Err(WriteError::NotLeader(_)) => Err(Attempt::Retry),
            Err(WriteError::Failed(message)) => Err(Attempt::Refused(ControllerError::new(
                ResponseError::KafkaStorageError,
                format!("cannot write the metadata change: {message}"),
            ))),
        }
    }

    async fn forward(
        &self,
        leader: NodeId,
        command: &ControllerCommand,
        timeout: Duration,
    ) -> Result<(Outcome, u64), Attempt> {
        let addr = self.quorum.address(leader).ok_or(Attempt::Retry)?;
        let body = serde_json::to_value(command).map_err(|e| {
            Attempt::Refused(ControllerError::new(
                ResponseError::UnknownServerError,
                format!("cannot encode a metadata change: {e}"),
            ))
        })?;
        let mut to_leader = self.to_leader.lock().await;
        let client = match &mut *to_leader {
            Some(c) if c.target() == leader => c,
            other => other.insert(PeerClient::new(leader, addr, self.quorum.peer_login())),
        };
        // A leader that stopped answering (paused, say) is replaced within
        // an election timeout: ask again, wherever leadership is then,
        // rather than wait out the whole change's time on it.
        let attempt = timeout.min(FORWARD_ATTEMPT_TIMEOUT);
        let reply: std::io::Result<ForwardReply> =
            client.call(&QuorumRequest::Forward(body), attempt).await;
        drop(to_leader);
        match reply {
            Ok(Ok(done)) => Ok(done),
            Ok(Err(e)) if e.retry => Err(Attempt::Retry),
            Ok(Err(e)) => Err(Attempt::Refused(ControllerError::new(
                ResponseError::try_from_code(e.code).unwrap_or(ResponseError::UnknownServerError),
                e.message,
            ))),
            Err(e) => {
                tracing::debug!(leader, error = %e, "cannot reach the active controller");
                Err(Attempt::Retry)
            }
        }
    }

    /// Runs a change forwarded by another node; the reply is JSON.
    pub async fn handle_forwarded(&self, command: serde_json::Value) -> serde_json::Value {
        let reply: ForwardReply = match serde_json::from_value::<ControllerCommand>(command) {
            Ok(command) => self.execute(command).await.map_err(|e| match e {
                Attempt::Retry => ForwardError {
                    code: ResponseError::NotController.code(),
                    message: "This node no longer leads the metadata quorum.".into(),
                    retry: true,
                },
                Attempt::Refused(e) => ForwardError {
                    code: e.code.code(),
                    message: e.message,
                    retry: false,
                },
            }),
            Err(e) => Err(ForwardError {
                code: ResponseError::InvalidRequest.code(),
                message: format!("unreadable metadata change: {e}"),
                retry: false,
            }),
        };
        serde_json::to_value(reply).unwrap_or_default()
    }

    /// Applies one change to a copy of the image (the caller writes the
    /// difference). Each kind of change is a function over the image in the
    /// file that owns that part of it, as KRaft splits its controller into
    /// control managers, so that each is tested without a quorum.
    fn apply(
        &self,
        image: &mut MetadataImage,
        command: ControllerCommand,
    ) -> Result<Outcome, ControllerError> {
        let unclean = self.broker_config.unclean_leader_election_enable();
        let done = Outcome::Done;
        Ok(match command {
            ControllerCommand::RegisterBroker(me) => {
                // Changes are applied one at a time after everything
                // committed: the entry this one goes in comes after the
                // last applied.
                let epoch = self.quorum.applied_index().saturating_add(1);
                let epoch = i64::try_from(epoch).unwrap_or(i64::MAX);
                brokers::register(image, me, epoch, unclean)?;
                done
            }
            ControllerCommand::Heartbeat(id) => {
                brokers::heartbeat(image, id);
                done
            }
            ControllerCommand::FenceBroker(id) | ControllerCommand::ShutdownBroker(id) => {
                brokers::fence(image, id, unclean);
                done
            }
            ControllerCommand::OfflineReplicas { broker, partitions } => {
                brokers::offline_replicas(image, broker, &partitions, unclean);
                done
            }
            ControllerCommand::ImportImage(old) => {
                import_image(image, old);
                done
            }
            ControllerCommand::CreateTopic(topic) => Outcome::Topic(Box::new(
                replication::create_topic(image, &topic, self.topic_defaults())?,
            )),
            ControllerCommand::DeleteTopic(name) => {
                Outcome::Deleted(replication::delete_topic(image, &name)?)
            }
            ControllerCommand::CreatePartitions {
                name,
                count,
                assignments,
            } => {
                replication::create_partitions(image, &name, count, assignments)?;
                done
            }
            ControllerCommand::AlterPartition {
                topic,
                partition,
                leader,
                leader_epoch,
                partition_epoch,
                isr,
                isr_epochs,
            } => {
                let epochs = (leader_epoch, partition_epoch);
                let isr = replication::NewIsr {
                    isr,
                    epochs: isr_epochs,
                };
                match replication::alter_partition(image, &topic, partition, leader, epochs, isr)? {
                    IsrAltered::Isr => done,
                    IsrAltered::NewLeader(now) => Outcome::NewLeaderElected(now),
                }
            }
            ControllerCommand::AlterPartitionReassignments(moves) => {
                Outcome::Reassignments(replication::alter_reassignments(image, moves))
            }
            ControllerCommand::ElectLeaders {
                election,
                partitions,
            } => Outcome::Elections(replication::elect_leaders(image, election, partitions)),
            ControllerCommand::SetTopicConfig { name, config } => {
                configs::set_topic_config(image, &name, config)?;
                done
            }
            ControllerCommand::SetGroupConfig { group, configs } => {
                configs::set_or_remove(&mut image.group_configs, group, configs);
                done
            }
            ControllerCommand::SetClientMetrics { name, configs } => {
                configs::set_or_remove(&mut image.client_metrics, name, configs);
                done
            }
            ControllerCommand::SetBrokerConfigs { resource, configs } => {
                configs::set_or_remove(&mut image.broker_configs, resource, configs);
                done
            }
            ControllerCommand::AlterClientQuotas(entries) => {
                configs::alter_client_quotas(image, entries);
                done
            }
            ControllerCommand::CreateAcls(bindings) => {
                Outcome::AclsCreated(configs::create_acls(image, bindings))
            }
            ControllerCommand::DeleteAcls(filters) => {
                Outcome::AclsDeleted(configs::delete_acls(image, &filters))
            }
            ControllerCommand::AlterUserScramCredentials {
                users,
                keep_existing,
            } => Outcome::UserScramCredentials(configs::alter_user_scram_credentials(
                image,
                users,
                keep_existing,
            )),
            ControllerCommand::UpdateFeatures(updates) => {
                configs::update_features(image, updates)?;
                done
            }
            ControllerCommand::AllocateProducerIds(count) => {
                Outcome::FirstProducerId(producer_ids::allocate(image, count)?)
            }
            // Changes nothing; reached only once this node is confirmed
            // as the leader (see `execute`).
            ControllerCommand::DescribeQuorum => {
                let description = self.quorum.describe().ok_or_else(|| {
                    ControllerError::new(
                        ResponseError::NotLeaderOrFollower,
                        "This node no longer leads the metadata quorum.",
                    )
                })?;
                Outcome::Quorum(Box::new(description))
            }
        })
    }

    /// What a topic created without a partition count or replication
    /// factor (-1) gets.
    fn topic_defaults(&self) -> TopicDefaults {
        TopicDefaults {
            num_partitions: self.broker_config.num_partitions(),
            replication_factor: self.broker_config.default_replication_factor(),
        }
    }

    /// Creates one topic (or, with `validate_only`, only checks it could be).
    pub async fn create_topic(
        &self,
        topic: &NewTopic,
        validate_only: bool,
    ) -> Result<TopicImage, ControllerError> {
        if validate_only {
            return replication::plan_topic(&self.image(), topic, self.topic_defaults());
        }
        match self
            .submit(ControllerCommand::CreateTopic(topic.clone()))
            .await?
        {
            Outcome::Topic(t) => Ok(*t),
            other => Err(unexpected(other)),
        }
    }

    pub async fn delete_topic(&self, name: &str) -> Result<Uuid, ControllerError> {
        if !self.broker_config.delete_topic_enable() {
            return Err(ControllerError::new(
                ResponseError::TopicDeletionDisabled,
                "Topic deletion is disabled (delete.topic.enable=false).",
            ));
        }
        match self
            .submit(ControllerCommand::DeleteTopic(name.to_string()))
            .await?
        {
            Outcome::Deleted(id) => Ok(id),
            other => Err(unexpected(other)),
        }
    }

    /// Reserves `count` producer ids for a broker to hand out (Kafka's
    /// AllocateProducerIds); returns the first. The reservation is durable
    /// before any id in it is used.
    pub async fn allocate_producer_ids(&self, count: i64) -> Result<i64, ControllerError> {
        match self
            .submit(ControllerCommand::AllocateProducerIds(count))
            .await?
        {
            Outcome::FirstProducerId(first) => Ok(first),
            other => Err(unexpected(other)),
        }
    }

    /// Grows a topic to `count` partitions.
    pub async fn create_partitions(
        &self,
        name: &str,
        count: i32,
        assignments: Option<Vec<Vec<i32>>>,
        validate_only: bool,
    ) -> Result<(), ControllerError> {
        if validate_only {
            let mut scratch = (*self.image()).clone();
            return replication::create_partitions(&mut scratch, name, count, assignments);
        }
        self.submit(ControllerCommand::CreatePartitions {
            name: name.to_string(),
            count,
            assignments,
        })
        .await
        .map(|_| ())
    }

    /// Tells the active controller which of this broker's replicas are in
    /// failed log directories.
    pub async fn offline_replicas(
        &self,
        partitions: Vec<TopicPartition>,
    ) -> Result<(), ControllerError> {
        self.submit(ControllerCommand::OfflineReplicas {
            broker: self.node_id,
            partitions,
        })
        .await
        .map(|_| ())
    }

    /// Tells the active controller this broker is alive.
    pub async fn heartbeat(&self) -> Result<(), ControllerError> {
        use std::sync::atomic::Ordering;
        // A heartbeat would let a broker that is shutting down back in.
        if self.shutting_down.load(Ordering::Acquire) {
            return Ok(());
        }
        self.submit(ControllerCommand::Heartbeat(self.node_id))
            .await
            .map(|_| ())
    }

    /// Kafka's controlled shutdown: before this broker stops, its
    /// leaderships move to the rest of each ISR and it leaves every ISR,
    /// so clients and followers move on at once rather than after
    /// broker.session.timeout.ms. Alone in the cluster there is nowhere to
    /// move to, and nothing is done.
    pub async fn controlled_shutdown(&self, timeout: Duration) {
        use std::sync::atomic::Ordering;
        self.shutting_down.store(true, Ordering::Release);
        let others_live = self
            .image()
            .brokers
            .values()
            .any(|b| b.node_id != self.node_id && !b.fenced);
        if !others_live {
            return;
        }
        let fenced = self.submit(ControllerCommand::ShutdownBroker(self.node_id));
        match tokio::time::timeout(timeout, fenced).await {
            Ok(Ok(_)) => tracing::info!("leaderships moved to other brokers before shutting down"),
            Ok(Err(e)) => {
                tracing::warn!(error = %e, "controlled shutdown refused; stopping anyway")
            }
            Err(_) => tracing::warn!("controlled shutdown timed out; stopping anyway"),
        }
    }

    /// On the active controller: fences the brokers silent for longer than
    /// `session_timeout` (Kafka's broker.session.timeout.ms).
    pub async fn fence_silent_brokers(&self, session_timeout: Duration) {
        use std::sync::atomic::Ordering;
        let active = self.quorum.leader() == Some(self.node_id as NodeId);
        let was_active = self.was_active.swap(active, Ordering::AcqRel);
        if !active {
            return;
        }
        // Only the few live brokers' ids are taken out of the image, so the
        // heartbeat times are never locked under the state machine's lock.
        let live: Vec<i32> = self.quorum.read_applied_image(|image| {
            image
                .brokers
                .values()
                .filter(|b| !b.fenced && b.node_id != self.node_id)
                .map(|b| b.node_id)
                .collect()
        });
        let silent = {
            let mut heartbeats = self.heartbeats.lock();
            if !was_active {
                heartbeats.clear();
            }
            silent_brokers(&live, &mut heartbeats, Instant::now(), session_timeout)
        };
        for id in silent {
            match self.submit(ControllerCommand::FenceBroker(id)).await {
                Ok(_) => tracing::warn!(
                    broker = id,
                    "broker missed its heartbeats: fenced, its leaderships moved"
                ),
                Err(e) => tracing::warn!(broker = id, error = %e, "cannot fence a silent broker"),
            }
        }
    }

    /// Kafka's AlterPartition: the leader of `topic`-`partition` reports a
    /// new ISR, worked out at `leader_epoch` and `partition_epoch`, with
    /// the (broker id, broker epoch) each member it knows fetched at.
    pub async fn alter_partition(
        &self,
        topic: &str,
        partition: i32,
        (leader_epoch, partition_epoch): (i32, i32),
        isr: Vec<i32>,
        isr_epochs: Vec<(i32, i64)>,
    ) -> Result<(), ControllerError> {
        let outcome = self
            .submit(ControllerCommand::AlterPartition {
                topic: topic.to_string(),
                partition,
                leader: self.node_id,
                leader_epoch,
                partition_epoch: Some(partition_epoch),
                isr,
                isr_epochs,
            })
            .await?;
        match outcome {
            // The change is made (and applied here), but the sender no
            // longer leads: an error, as Kafka answers it.
            Outcome::NewLeaderElected(now) => Err(ControllerError::new(
                ResponseError::NewLeaderElected,
                format!(
                    "{topic}-{partition}: the new ISR completed a reassignment that moved \
                     leadership to broker {now}."
                ),
            )),
            _ => Ok(()),
        }
    }

    /// Kafka's AlterPartitionReassignments; one result per partition, in order.
    pub async fn alter_partition_reassignments(
        &self,
        moves: Vec<Reassignment>,
    ) -> Result<Vec<Option<Refusal>>, ControllerError> {
        match self
            .submit(ControllerCommand::AlterPartitionReassignments(moves))
            .await?
        {
            Outcome::Reassignments(results) => Ok(results),
            other => Err(unexpected(other)),
        }
    }

    /// Kafka's ElectLeaders: per partition, None when elected, else the refusal.
    pub async fn elect_leaders(
        &self,
        election: ElectionType,
        partitions: Option<Vec<TopicPartition>>,
    ) -> Result<Vec<(String, i32, Option<Refusal>)>, ControllerError> {
        match self
            .submit(ControllerCommand::ElectLeaders {
                election,
                partitions,
            })
            .await?
        {
            Outcome::Elections(results) => Ok(results),
            other => Err(unexpected(other)),
        }
    }

    /// On the active controller: gives leadership back to preferred
    /// replicas where a broker leads too few of the partitions it prefers
    /// (auto.leader.rebalance.enable).
    pub async fn balance_leaders(&self) {
        if self.quorum.leader() != Some(self.node_id as NodeId) {
            return;
        }
        let image = self.quorum.applied_image();
        let live = live_brokers(&image.brokers);
        let percentage = self.broker_config.leader_imbalance_per_broker_percentage();
        let moves = leader_election::imbalanced(&image, &live, percentage);
        if moves.is_empty() {
            return;
        }
        match self
            .elect_leaders(ElectionType::Preferred, Some(moves))
            .await
        {
            Ok(results) => {
                let elected = results.iter().filter(|(_, _, e)| e.is_none()).count();
                tracing::info!(elected, "moved leadership back to preferred replicas");
            }
            Err(e) => tracing::warn!(error = %e, "cannot balance leadership"),
        }
    }

    /// Kafka's CreateAcls: per ACL, None when it exists now, else why not.
    pub async fn create_acls(
        &self,
        bindings: Vec<AclBinding>,
    ) -> Result<Vec<Option<Refusal>>, ControllerError> {
        match self.submit(ControllerCommand::CreateAcls(bindings)).await? {
            Outcome::AclsCreated(results) => Ok(results),
            other => Err(unexpected(other)),
        }
    }

    /// Kafka's DeleteAcls: per filter, the ACLs it deleted or why it was refused.
    pub async fn delete_acls(
        &self,
        filters: Vec<AclBindingFilter>,
    ) -> Result<Vec<Result<Vec<AclBinding>, Refusal>>, ControllerError> {
        match self.submit(ControllerCommand::DeleteAcls(filters)).await? {
            Outcome::AclsDeleted(results) => Ok(results),
            other => Err(unexpected(other)),
        }
    }

    /// Alters SCRAM credentials (AlterUserScramCredentials); one result per user.
    pub async fn alter_user_scram_credentials(
        &self,
        users: Vec<UserScramAlteration>,
        keep_existing: bool,
    ) -> Result<Vec<Option<Refusal>>, ControllerError> {
        match self
            .submit(ControllerCommand::AlterUserScramCredentials {
                users,
                keep_existing,
            })
            .await?
        {
            Outcome::UserScramCredentials(results) => Ok(results),
            other => Err(unexpected(other)),
        }
    }

    /// Finalizes feature levels (Kafka's UpdateFeatures), all or none;
    /// `validate_only` checks them against this broker's image.
    pub async fn update_features(
        &self,
        updates: Vec<(String, i16, Option<UpgradeType>)>,
        validate_only: bool,
    ) -> Result<(), ControllerError> {
        if validate_only {
            let mut finalized = self.image().finalized_features();
            for (name, level, upgrade) in &updates {
                let level = features::check_update(&finalized, name, *level, *upgrade)
                    .map_err(|m| ControllerError::new(ResponseError::InvalidUpdateVersion, m))?;
                finalized.insert(name.clone(), level);
            }
            return Ok(());
        }
        self.submit(ControllerCommand::UpdateFeatures(updates))
            .await
            .map(|_| ())
    }

    /// Sets and removes client quotas (AlterClientQuotas), all entries together.
    pub async fn alter_client_quotas(&self, entries: QuotaChanges) -> Result<(), ControllerError> {
        self.submit(ControllerCommand::AlterClientQuotas(entries))
            .await
            .map(|_| ())
    }

    /// Makes an observer a voter of the metadata quorum, or a voter an
    /// observer again (KIP-853), through the quorum's leader.
    pub async fn change_voters(&self, change: VoterChange) -> Result<(), ControllerError> {
        self.quorum
            .change_voters(change, SUBMIT_TIMEOUT)
            .await
            .map_err(|e| match e {
                VoterChangeError::Refused(code, message) => ControllerError::new(
                    ResponseError::try_from_code(code).unwrap_or(ResponseError::UnknownServerError),
                    message,
                ),
                VoterChangeError::NotLeader(_) => ControllerError::new(
                    ResponseError::RequestTimedOut,
                    "No leader of the metadata quorum took the change.",
                ),
            })
    }

    /// The metadata quorum as its leader describes it, wherever that is.
    pub async fn describe_quorum(&self) -> Result<QuorumDescription, ControllerError> {
        match self.submit(ControllerCommand::DescribeQuorum).await? {
            Outcome::Quorum(d) => Ok(*d),
            other => Err(unexpected(other)),
        }
    }

    /// Replaces the dynamic configs of broker resource `resource` (a
    /// broker id, or "" for the cluster default) with `configs`.
    pub async fn set_broker_configs(
        &self,
        resource: &str,
        configs: BTreeMap<String, String>,
    ) -> Result<(), ControllerError> {
        self.submit(ControllerCommand::SetBrokerConfigs {
            resource: resource.to_string(),
            configs,
        })
        .await
        .map(|_| ())
    }

    /// Replaces a topic's config overrides with `config` (already validated by the caller's edits).
    pub async fn set_topic_config(
        &self,
        name: &str,
        config: TopicConfig,
        validate_only: bool,
    ) -> Result<(), ControllerError> {
        if validate_only {
            return self
                .image()
                .topics
                .get(name)
                .map(|_| ())
                .ok_or_else(|| unknown_topic(name));
        }
        self.submit(ControllerCommand::SetTopicConfig {
            name: name.to_string(),
            config,
        })
        .await
        .map(|_| ())
    }

    /// Replaces group `group`'s config overrides with `configs`.
    pub async fn set_group_config(
        &self,
        group: &str,
        configs: GroupOverrides,
    ) -> Result<(), ControllerError> {
        self.submit(ControllerCommand::SetGroupConfig {
            group: group.to_string(),
            configs,
        })
        .await
        .map(|_| ())
    }
}

impl Controller {
    /// Replaces a client metrics subscription's configs (checked by the
    /// caller); none removes the subscription.
    pub async fn set_client_metrics(
        &self,
        name: &str,
        configs: std::collections::BTreeMap<String, String>,
    ) -> Result<(), ControllerError> {
        self.submit(ControllerCommand::SetClientMetrics {
            name: name.to_string(),
            configs,
        })
        .await
        .map(|_| ())
    }
}

fn unexpected(outcome: Outcome) -> ControllerError {
    ControllerError::new(
        ResponseError::UnknownServerError,
        format!("the controller answered {outcome:?}"),
    )
}

/// Takes over the image a broker kept before the quorum existed, once, into
/// a quorum that has no topics nor producer ids yet.
fn import_image(image: &mut MetadataImage, old: MetadataImage) {
    if image.topics.is_empty() && image.next_producer_id == 0 {
        image.cluster_id = old.cluster_id;
        image.topics = old.topics;
        image.next_producer_id = old.next_producer_id;
    }
}
