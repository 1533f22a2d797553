//! What the leader knows of each replica of the metadata log, for
//! DescribeQuorum: openraft's metrics give how far each replica matches
//! the leader's log but not when it was last heard from, so the leader's
//! AppendEntries calls are watched here. Kafka's replicas fetch; here the
//! leader pushes, so a replica's "last fetch" is its last answered
//! AppendEntries, and it is caught up when that answer showed it holding
//! every committed entry.

use std::collections::BTreeMap;
use std::sync::Arc;

use openraft::error::{InstallSnapshotError, RPCError, RaftError};
use openraft::network::{RPCOption, RaftNetwork, RaftNetworkFactory};
use openraft::raft::{
    AppendEntriesRequest, AppendEntriesResponse, InstallSnapshotRequest, InstallSnapshotResponse,
    VoteRequest, VoteResponse,
};
use parking_lot::Mutex;
use serde::{Deserialize, Serialize};

use super::network::{Network, PeerClient};
use super::{Node, NodeId, TypeConfig};
use crate::partition::now_ms;

/// When the leader last heard from one replica, in wall-clock ms (-1: never).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Contact {
    pub last_fetch_ms: i64,
    pub last_caught_up_ms: i64,
}

/// Every replica's [`Contact`], as this node's AppendEntries calls saw it.
#[derive(Default)]
pub struct Contacts(Mutex<BTreeMap<NodeId, Contact>>);

impl Contacts {
    fn record(&self, replica: NodeId, caught_up: bool) {
        let now = now_ms();
        let mut contacts = self.0.lock();
        let contact = contacts.entry(replica).or_insert(Contact {
            last_fetch_ms: -1,
            last_caught_up_ms: -1,
        });
        contact.last_fetch_ms = now;
        if caught_up {
            contact.last_caught_up_ms = now;
        }
    }

    pub fn get(&self, replica: NodeId) -> Option<Contact> {
        self.0.lock().get(&replica).copied()
    }
}

/// The quorum's network, noting every answered AppendEntries in [`Contacts`].
pub struct Tracking {
    pub network: Network,
    pub contacts: Arc<Contacts>,
}

impl RaftNetworkFactory<TypeConfig> for Tracking {
    type Network = TrackedClient;

    async fn new_client(&mut self, target: NodeId, node: &Node) -> TrackedClient {
        TrackedClient {
            client: self.network.new_client(target, node).await,
            target,
            contacts: self.contacts.clone(),
        }
    }
}

pub struct TrackedClient {
    client: PeerClient,
    target: NodeId,
    contacts: Arc<Contacts>,
}

impl RaftNetwork<TypeConfig> for TrackedClient {
    async fn append_entries(
        &mut self,
        rpc: AppendEntriesRequest<TypeConfig>,
        option: RPCOption,
    ) -> Result<AppendEntriesResponse<NodeId>, RPCError<NodeId, Node, RaftError<NodeId>>> {
        let holds = rpc
            .entries
            .last()
            .map(|e| e.log_id.index)
            .or(rpc.prev_log_id.map(|l| l.index));
        let committed = rpc.leader_commit.map(|l| l.index);
        let reply = self.client.append_entries(rpc, option).await;
        if let Ok(answer) = &reply {
            let caught_up = matches!(answer, AppendEntriesResponse::Success) && holds >= committed;
            self.contacts.record(self.target, caught_up);
        }
        reply
    }

    async fn install_snapshot(
        &mut self,
        rpc: InstallSnapshotRequest<TypeConfig>,
        option: RPCOption,
    ) -> Result<
        InstallSnapshotResponse<NodeId>,
        RPCError<NodeId, Node, RaftError<NodeId, InstallSnapshotError>>,
    > {
        let reply = self.client.install_snapshot(rpc, option).await;
        if reply.is_ok() {
            self.contacts.record(self.target, false);
        }
        reply
    }

    async fn vote(
        &mut self,
        rpc: VoteRequest<NodeId>,
        option: RPCOption,
    ) -> Result<VoteResponse<NodeId>, RPCError<NodeId, Node, RaftError<NodeId>>> {
        self.client.vote(rpc, option).await
    }
}
