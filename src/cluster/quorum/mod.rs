//! The metadata quorum, as KRaft runs it but on `openraft`: the controller
//! voters (`controller.quorum.voters`, or this node alone by default)
//! replicate the metadata log; every committed entry is a list of
//! [`MetadataRecord`]s that each node applies to its metadata image.
//!
//! A change is made by the active controller (the Raft leader), which
//! validates it against the image, writes the records and answers once they
//! are applied; other nodes forward changes to it (see
//! `cluster::controller`).

mod log_store;
pub mod network;
mod progress;
pub mod records;
mod state_machine;
pub mod voters;

use std::collections::BTreeMap;
use std::io::Cursor;
use std::path::Path;
use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::Arc;
use std::time::Duration;

use openraft::error::{ClientWriteError, InitializeError, RaftError};
use openraft::{BasicNode, Config, SnapshotPolicy};
use serde::{Deserialize, Serialize};
use tokio::sync::watch;

use crate::cluster::metadata::MetadataImage;
use crate::partition::METADATA_LOG_DIR;
use log_store::LogStore;
pub use records::MetadataRecord;
pub use state_machine::MetadataBatch;
use state_machine::StateMachine;

openraft::declare_raft_types!(
    /// The metadata quorum's Raft types: entries carry metadata records.
    pub TypeConfig:
        D = MetadataBatch,
        R = (),
);

/// The metadata log's name as KRaft's APIs (DescribeQuorum) spell it.
pub const METADATA_TOPIC: &str = "__cluster_metadata";

pub type NodeId = u64;
pub type Node = BasicNode;
pub type Entry = openraft::Entry<TypeConfig>;
pub type Raft = openraft::Raft<TypeConfig>;

#[derive(Debug, thiserror::Error)]
pub enum QuorumError {
    #[error("cannot open the metadata log in {dir}: {source}")]
    Storage { dir: String, source: std::io::Error },
    #[error("the metadata quorum failed: {0}")]
    Raft(String),
    #[error(
        "node {node} is a voter of the metadata quorum with an empty metadata log in {dir}, but \
         voter {peer} has it registered at broker epoch {epoch}: it lost its log, and a voter \
         without it could elect a leader that lacks committed changes. Restore the log, or \
         remove node {node} from the voters (metadata-quorum remove-controller), start it with \
         process.roles=broker to receive the log, then add it back (add-controller)"
    )]
    LostLog {
        node: NodeId,
        dir: String,
        peer: NodeId,
        epoch: i64,
    },
}

/// Why a write to the quorum did not happen here.
pub enum WriteError {
    /// Another node leads (or none does yet): the change must go there.
    NotLeader(Option<(NodeId, String)>),
    Failed(String),
}

pub struct Quorum {
    pub raft: Raft,
    state_machine: StateMachine,
    voters: BTreeMap<NodeId, Node>,
    leader: Arc<AtomicI32>,
    /// TLS and SASL to the peers, when the CONTROLLER listener has them.
    peer_login: network::PeerLogin,
    /// When each replica last answered this node's AppendEntries.
    contacts: Arc<progress::Contacts>,
}

/// One replica of the metadata log as DescribeQuorum shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReplicaDescription {
    pub node_id: NodeId,
    /// The offset after its last entry (Kafka's log end offset).
    pub log_end_offset: i64,
    /// Wall-clock ms, -1 when not known.
    pub last_fetch_ms: i64,
    pub last_caught_up_ms: i64,
}

/// The metadata quorum as its leader sees it (Kafka's DescribeQuorum).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuorumDescription {
    pub leader_id: NodeId,
    /// The Raft term, which is KRaft's leader epoch.
    pub leader_epoch: u64,
    pub high_watermark: i64,
    pub voters: Vec<ReplicaDescription>,
    pub observers: Vec<ReplicaDescription>,
    /// Every voter's CONTROLLER address.
    pub voter_addresses: BTreeMap<NodeId, String>,
}

impl Quorum {
    /// Opens the metadata log under `data_dir`, starts this node's Raft
    /// and, on first start, forms the quorum of `voters`. Applied images
    /// are published on `publisher`, with the active controller's id.
    pub async fn start(
        data_dir: &Path,
        node_id: NodeId,
        voters: BTreeMap<NodeId, Node>,
        voter: bool,
        publisher: watch::Sender<Arc<MetadataImage>>,
        peer_login: network::PeerLogin,
    ) -> Result<Quorum, QuorumError> {
        let dir = data_dir.join(METADATA_LOG_DIR);
        let storage = |source| QuorumError::Storage {
            dir: dir.display().to_string(),
            source,
        };
        let log_store = LogStore::open(&dir).map_err(storage)?;
        let leader = Arc::new(AtomicI32::new(-1));
        let state_machine = StateMachine::open(&dir, publisher, leader.clone()).map_err(storage)?;
        let config = Config {
            cluster_name: "gregor".into(),
            heartbeat_interval: 100,
            election_timeout_min: 400,
            election_timeout_max: 800,
            snapshot_policy: SnapshotPolicy::LogsSinceLast(1000),
            max_in_snapshot_log_to_keep: 100,
            ..Config::default()
        }
        .validate()
        .map_err(|e| QuorumError::Raft(e.to_string()))?;
        let contacts = Arc::new(progress::Contacts::default());
        let raft = Raft::new(
            node_id,
            Arc::new(config),
            progress::Tracking {
                network: network::Network {
                    login: peer_login.clone(),
                },
                contacts: contacts.clone(),
            },
            log_store,
            state_machine.clone(),
        )
        .await
        .map_err(|e| QuorumError::Raft(e.to_string()))?;
        let initialized = raft
            .is_initialized()
            .await
            .map_err(|e| QuorumError::Raft(e.to_string()))?;
        // A voter whose log is gone (a replaced disk) must not vote before
        // it has the log again: it would grant its vote to a candidate
        // missing committed entries. Raft cannot tell it from a voter at the
        // quorum's first start, but the peers can: it registered as a
        // broker in its first life. So it stops, as KRaft refuses a voter
        // whose directory id changed (KIP-853); a broker-only node (an
        // observer, which never votes) gets the log again from the leader.
        if voter && !initialized {
            if let Some((peer, epoch)) = registered_elsewhere(node_id, &voters, &peer_login).await {
                let _ = raft.shutdown().await;
                return Err(QuorumError::LostLog {
                    node: node_id,
                    dir: dir.display().to_string(),
                    peer,
                    epoch,
                });
            }
        }
        // An observer learns the quorum from its leader once a voter adds
        // it (see `join_as_observer`): it forms nothing and never stands.
        if voter && !initialized {
            // Every voter forms the same quorum; the ones that find it
            // formed already are refused, which is fine.
            match raft.initialize(voters.clone()).await {
                Ok(()) | Err(RaftError::APIError(InitializeError::NotAllowed(_))) => {}
                Err(e) => return Err(QuorumError::Raft(e.to_string())),
            }
        } else if voter && voters.len() == 1 {
            // Alone, there is nobody to wait for before standing.
            let _ = raft.trigger().elect().await;
        }
        let quorum = Quorum {
            raft,
            state_machine,
            voters,
            leader,
            peer_login,
            contacts,
        };
        quorum.follow_leader();
        quorum.stop_when_refused();
        Ok(quorum)
    }

    /// TLS and SASL to the peers, when the CONTROLLER listener has them.
    pub fn peer_login(&self) -> network::PeerLogin {
        self.peer_login.clone()
    }

    /// Stops this node's Raft once a peer refuses it CLUSTER_ACTION, as a
    /// KRaft node's raft client dies of CLUSTER_AUTHORIZATION_FAILED: left
    /// running, a refused voter would stand in election after election
    /// and depose each leader with its ever higher term.
    fn stop_when_refused(&self) {
        let raft = self.raft.clone();
        let refusal = self.peer_login.refusal.clone();
        tokio::spawn(async move {
            refusal.refused().await;
            let _ = raft.shutdown().await;
        });
    }

    /// Why the quorum refused this node, once it has.
    pub fn refusal(&self) -> Option<String> {
        self.peer_login.refusal.reason()
    }

    /// Waits until the quorum refuses this node; the reason.
    pub async fn refused(&self) -> String {
        self.peer_login.refusal.refused().await
    }

    /// Keeps the published image's controller id on the current leader.
    fn follow_leader(&self) {
        let mut metrics = self.raft.metrics();
        let leader = self.leader.clone();
        let state_machine = self.state_machine.clone();
        tokio::spawn(async move {
            loop {
                let current = metrics.borrow().current_leader.map_or(-1, |l| l as i32);
                if leader.swap(current, Ordering::AcqRel) != current {
                    state_machine.republish();
                }
                if metrics.changed().await.is_err() {
                    break;
                }
            }
        });
    }

    /// Asks the voters, in turn, to make this node an observer that
    /// receives the metadata log at `addr`, until the leader agrees.
    pub async fn join_as_observer(
        &self,
        me: NodeId,
        addr: String,
        timeout: Duration,
    ) -> Result<(), QuorumError> {
        // A node made a voter (AddRaftVoter) is one already, and may be
        // the leader the voters would send it to.
        let voter = self
            .raft
            .metrics()
            .borrow()
            .membership_config
            .membership()
            .voter_ids()
            .any(|v| v == me);
        if voter {
            return Ok(());
        }
        let deadline = tokio::time::Instant::now() + timeout;
        let request = network::QuorumRequest::AddObserver(me, Node::new(addr));
        let mut last_error = String::from("no voter answered");
        loop {
            for (id, node) in &self.voters {
                let remaining = deadline.saturating_duration_since(tokio::time::Instant::now());
                if remaining.is_zero() {
                    return Err(QuorumError::Raft(format!(
                        "cannot join the metadata quorum as an observer: {last_error}"
                    )));
                }
                let mut client =
                    network::PeerClient::new(*id, node.addr.clone(), self.peer_login.clone());
                let reply: std::io::Result<Result<(), network::AddObserverError>> =
                    client.call(&request, remaining).await;
                match reply {
                    Ok(Ok(())) => return Ok(()),
                    Ok(Err(network::AddObserverError::Refused(m))) => {
                        return Err(QuorumError::Raft(format!(
                            "voter {id} refused this node as an observer: {m}"
                        )))
                    }
                    Ok(Err(network::AddObserverError::NotLeader(_))) => {
                        last_error = format!("voter {id} does not lead");
                    }
                    Ok(Err(network::AddObserverError::Busy(m))) => {
                        last_error = format!("voter {id} is changing the membership: {m}");
                    }
                    Err(e) => {
                        if let Some(reason) = self.refusal() {
                            return Err(QuorumError::Raft(reason));
                        }
                        last_error = format!("voter {id}: {e}");
                    }
                }
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// Waits until some node leads the quorum; returns it. `None` at
    /// once when the quorum refused this node.
    pub async fn wait_for_leader(&self, timeout: Duration) -> Option<NodeId> {
        let wait = self.raft.wait(Some(timeout));
        let leader = wait.metrics(|m| m.current_leader.is_some(), "a leader");
        tokio::select! {
            m = leader => m.ok().and_then(|m| m.current_leader),
            _ = self.peer_login.refusal.refused() => None,
        }
    }

    pub fn leader(&self) -> Option<NodeId> {
        self.raft.metrics().borrow().current_leader
    }

    /// The leader this node knows of, and the voters with their CONTROLLER
    /// addresses as its membership last said: what DescribeCluster tells
    /// an admin client on a CONTROLLER listener (KIP-919).
    pub fn controllers(&self) -> (Option<NodeId>, BTreeMap<NodeId, String>) {
        let metrics = self.raft.metrics().borrow().clone();
        let addresses = voter_addresses(metrics.membership_config.membership());
        (metrics.current_leader, addresses)
    }

    /// The controller address of a voter: one of controller.quorum.voters,
    /// or an observer made a voter since.
    pub fn address(&self, node: NodeId) -> Option<String> {
        self.voters.get(&node).map(|n| n.addr.clone()).or_else(|| {
            let metrics = self.raft.metrics();
            let metrics = metrics.borrow();
            let membership = metrics.membership_config.membership();
            membership.get_node(&node).map(|n| n.addr.clone())
        })
    }

    /// Changes the voters (AddRaftVoter / RemoveRaftVoter) through the
    /// quorum's leader, wherever it is, within `timeout`.
    pub async fn change_voters(
        &self,
        change: voters::VoterChange,
        timeout: Duration,
    ) -> Result<(), voters::VoterChangeError> {
        let deadline = tokio::time::Instant::now() + timeout;
        let me = self.raft.metrics().borrow().id;
        loop {
            let remaining = deadline.saturating_duration_since(tokio::time::Instant::now());
            let timed_out = || {
                voters::VoterChangeError::Refused(
                    kafka_protocol::error::ResponseError::RequestTimedOut.code(),
                    "The metadata quorum's leader did not make the change in time.".into(),
                )
            };
            if remaining.is_zero() {
                return Err(timed_out());
            }
            let Some(leader) = self.wait_for_leader(remaining).await else {
                return Err(timed_out());
            };
            let answer = if leader == me {
                voters::change(&self.raft, change).await
            } else if let Some(addr) = self.address(leader) {
                let mut client = network::PeerClient::new(leader, addr, self.peer_login.clone());
                client
                    .call(&network::QuorumRequest::ChangeVoters(change), remaining)
                    .await
                    .unwrap_or(Err(voters::VoterChangeError::NotLeader(None)))
            } else {
                Err(voters::VoterChangeError::NotLeader(None))
            };
            match answer {
                Err(voters::VoterChangeError::NotLeader(_)) => {
                    tokio::time::sleep(Duration::from_millis(100)).await
                }
                done => return done,
            }
        }
    }

    /// The image as applied here, with every committed change this node knows.
    pub fn applied_image(&self) -> Arc<MetadataImage> {
        self.state_machine.image()
    }

    /// Reads the image as applied here without copying it.
    pub fn read_applied_image<R>(&self, read: impl FnOnce(&MetadataImage) -> R) -> R {
        self.state_machine.read_image(read)
    }

    pub fn applied_index(&self) -> u64 {
        self.raft
            .metrics()
            .borrow()
            .last_applied
            .map_or(0, |l| l.index)
    }

    /// Waits until this node has applied the entry at `index`.
    pub async fn wait_applied(&self, index: u64, timeout: Duration) -> bool {
        self.raft
            .wait(Some(timeout))
            .applied_index_at_least(Some(index), "a forwarded change")
            .await
            .is_ok()
    }

    /// Writes `records` as one entry; answers once it is applied here, with
    /// its index.
    pub async fn write(&self, records: MetadataBatch) -> Result<u64, WriteError> {
        match self.raft.client_write(records).await {
            Ok(r) => Ok(r.log_id.index),
            Err(RaftError::APIError(ClientWriteError::ForwardToLeader(f))) => Err(
                WriteError::NotLeader(f.leader_id.zip(f.leader_node.map(|n| n.addr))),
            ),
            Err(e) => Err(WriteError::Failed(e.to_string())),
        }
    }

    pub async fn shutdown(&self) {
        let _ = self.raft.shutdown().await;
    }

    /// The quorum's replicas and how far each has the log, or `None` when
    /// this node does not lead (only the leader knows the others').
    pub fn describe(&self) -> Option<QuorumDescription> {
        let metrics = self.raft.metrics().borrow().clone();
        let me = metrics.id;
        if metrics.current_leader != Some(me) {
            return None;
        }
        let now = crate::partition::now_ms();
        let end = |index: Option<u64>| index.map_or(0, |i| i as i64 + 1);
        let matched = metrics.replication.unwrap_or_default();
        let replica = |id: NodeId| {
            if id == me {
                // As Kafka reports the leader: it fetches from no one,
                // and is caught up now.
                return ReplicaDescription {
                    node_id: id,
                    log_end_offset: end(metrics.last_log_index),
                    last_fetch_ms: -1,
                    last_caught_up_ms: now,
                };
            }
            let contact = self.contacts.get(id);
            ReplicaDescription {
                node_id: id,
                log_end_offset: end(matched.get(&id).copied().flatten().map(|l| l.index)),
                last_fetch_ms: contact.map_or(-1, |c| c.last_fetch_ms),
                last_caught_up_ms: contact.map_or(-1, |c| c.last_caught_up_ms),
            }
        };
        let membership = metrics.membership_config.membership();
        let voters: Vec<NodeId> = membership.voter_ids().collect();
        let voter_addresses = voter_addresses(membership);
        Some(QuorumDescription {
            leader_id: me,
            leader_epoch: metrics.current_term,
            high_watermark: end(metrics.last_applied.map(|l| l.index)),
            voters: voters.iter().map(|id| replica(*id)).collect(),
            observers: membership.learner_ids().map(replica).collect(),
            voter_addresses,
        })
    }
}

/// How long a voter starting on an empty log waits for its peers'
/// answers: at the quorum's first start they do not listen yet, and it
/// goes on as a new voter.
const LOST_LOG_CHECK_TIMEOUT: Duration = Duration::from_secs(5);

/// A peer voter that has `me` registered as a broker, and at which broker
/// epoch: `me` then ran in this quorum before.
async fn registered_elsewhere(
    me: NodeId,
    voters: &BTreeMap<NodeId, Node>,
    login: &network::PeerLogin,
) -> Option<(NodeId, i64)> {
    let asks = voters
        .iter()
        .filter(|(id, _)| **id != me)
        .map(|(id, node)| {
            let peer = *id;
            let mut client = network::PeerClient::new(peer, node.addr.clone(), login.clone());
            async move {
                let request = network::QuorumRequest::RegisteredEpoch(me);
                let epoch: Option<i64> = client
                    .call(&request, LOST_LOG_CHECK_TIMEOUT)
                    .await
                    .ok()
                    .flatten();
                epoch.map(|epoch| (peer, epoch))
            }
        });
    futures::future::join_all(asks)
        .await
        .into_iter()
        .flatten()
        .next()
}

/// Every voter of `membership` with its CONTROLLER address.
fn voter_addresses(membership: &openraft::Membership<NodeId, Node>) -> BTreeMap<NodeId, String> {
    let voters: Vec<NodeId> = membership.voter_ids().collect();
    membership
        .nodes()
        .filter(|(id, _)| voters.contains(*id))
        .map(|(id, node)| (*id, node.addr.clone()))
        .collect()
}
