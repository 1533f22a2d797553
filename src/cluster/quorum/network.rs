//! How controllers talk: Raft's RPCs (AppendEntries, Vote, InstallSnapshot)
//! and metadata changes forwarded to the active controller, over the
//! CONTROLLER listener. Each message is a frame: a 4-byte length, then the
//! request or response as JSON. One connection per peer, opened on demand
//! and dropped on any error, so a peer that restarts is reached again.
//!
//! Design differs from Kafka: KRaft speaks Kafka's own RPCs (Vote,
//! BeginQuorumEpoch, Fetch on `__cluster_metadata`) on this listener, and
//! its broker-only nodes fetch the metadata log from the controllers. Here
//! the leader pushes it (openraft's learners), so a broker-only node also
//! listens on a CONTROLLER listener and asks a voter to add it
//! ([`QuorumRequest::AddObserver`]).

use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use openraft::error::{
    ClientWriteError, InstallSnapshotError, NetworkError, RPCError, RaftError, RemoteError,
    Unreachable,
};
use openraft::network::{RPCOption, RaftNetwork, RaftNetworkFactory};
use openraft::raft::{
    AppendEntriesRequest, AppendEntriesResponse, InstallSnapshotRequest, InstallSnapshotResponse,
    VoteRequest, VoteResponse,
};
use openraft::ChangeMembers;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::sync::watch;

use super::{Node, NodeId, Raft, TypeConfig};
use crate::cluster::broker_client::{self, Stream};
use crate::security::tls::{ClientTls, ServerTls};

/// Largest frame accepted: a snapshot of a large image travels in one.
const MAX_FRAME: usize = 256 << 20;
/// How long a peer has to finish the TLS handshake on a TLS CONTROLLER listener.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Serialize, Deserialize)]
pub enum QuorumRequest {
    AppendEntries(AppendEntriesRequest<TypeConfig>),
    Vote(VoteRequest<NodeId>),
    InstallSnapshot(InstallSnapshotRequest<TypeConfig>),
    /// A metadata change a broker asks the active controller to make.
    Forward(serde_json::Value),
    /// A broker-only node asks to receive the metadata log (as a Raft
    /// learner) at the given controller address.
    AddObserver(NodeId, Node),
    /// AddRaftVoter / RemoveRaftVoter, sent to the leader.
    ChangeVoters(super::voters::VoterChange),
}

/// Why a voter did not add an observer.
#[derive(Debug, Serialize, Deserialize)]
pub enum AddObserverError {
    /// This voter does not lead; the leader it knows of, if any.
    NotLeader(Option<NodeId>),
    Refused(String),
}

/// On the quorum's leader: lets `id` receive the metadata log at `node`'s
/// address, replacing the address it had, if any. Observers do not vote,
/// so changing their address cannot split the quorum.
async fn add_observer(raft: &Raft, id: NodeId, node: Node) -> Result<(), AddObserverError> {
    let is_voter = raft
        .metrics()
        .borrow()
        .membership_config
        .membership()
        .voter_ids()
        .any(|v| v == id);
    // A broker-only node made a voter (AddRaftVoter) receives the log as
    // one already.
    if is_voter {
        return Ok(());
    }
    let change = ChangeMembers::SetNodes(BTreeMap::from([(id, node)]));
    match raft.change_membership(change, true).await {
        Ok(_) => Ok(()),
        Err(RaftError::APIError(ClientWriteError::ForwardToLeader(f))) => {
            Err(AddObserverError::NotLeader(f.leader_id))
        }
        Err(e) => Err(AddObserverError::Refused(e.to_string())),
    }
}

async fn write_frame<S: AsyncWrite + Unpin + ?Sized>(
    stream: &mut S,
    value: &impl Serialize,
) -> std::io::Result<()> {
    let body = serde_json::to_vec(value).map_err(std::io::Error::other)?;
    let mut frame = Vec::with_capacity(4 + body.len());
    frame.extend_from_slice(&(body.len() as u32).to_be_bytes());
    frame.extend_from_slice(&body);
    stream.write_all(&frame).await?;
    // TLS holds what it was given until flushed.
    stream.flush().await
}

async fn read_frame<T: DeserializeOwned, S: AsyncRead + Unpin + ?Sized>(
    stream: &mut S,
) -> std::io::Result<T> {
    let len = stream.read_u32().await? as usize;
    if len > MAX_FRAME {
        return Err(std::io::Error::other(format!(
            "quorum frame of {len} bytes is over the limit"
        )));
    }
    let mut body = vec![0; len];
    stream.read_exact(&mut body).await?;
    serde_json::from_slice(&body).map_err(std::io::Error::other)
}

/// A connection to one peer controller.
pub struct PeerClient {
    target: NodeId,
    addr: String,
    tls: Option<Arc<ClientTls>>,
    stream: Option<Box<dyn Stream>>,
}

impl PeerClient {
    /// A client of the peer at `addr`, through TLS when the CONTROLLER
    /// listener has it.
    pub fn new(target: NodeId, addr: String, tls: Option<Arc<ClientTls>>) -> PeerClient {
        PeerClient {
            target,
            addr,
            tls,
            stream: None,
        }
    }

    /// The peer this client talks to.
    pub fn target(&self) -> NodeId {
        self.target
    }

    /// Sends `request` and reads the reply, reconnecting first if needed.
    pub async fn call<T: DeserializeOwned>(
        &mut self,
        request: &QuorumRequest,
        timeout: Duration,
    ) -> std::io::Result<T> {
        let exchange = async {
            if self.stream.is_none() {
                self.stream = Some(broker_client::connect(&self.addr, self.tls.as_deref()).await?);
            }
            let stream = self
                .stream
                .as_mut()
                .ok_or_else(|| std::io::Error::other("no connection"))?;
            write_frame(stream, request).await?;
            read_frame(stream).await
        };
        let result = match tokio::time::timeout(timeout, exchange).await {
            Ok(r) => r,
            Err(_) => Err(std::io::Error::other("request timed out")),
        };
        if result.is_err() {
            self.stream = None;
        }
        result
    }

    async fn raft_call<Resp, E>(
        &mut self,
        request: QuorumRequest,
        option: &RPCOption,
    ) -> Result<Resp, RPCError<NodeId, Node, E>>
    where
        Resp: DeserializeOwned,
        E: std::error::Error + DeserializeOwned + 'static,
    {
        let reply: Result<Result<Resp, E>, _> = self.call(&request, option.hard_ttl()).await;
        match reply {
            Ok(Ok(r)) => Ok(r),
            Ok(Err(e)) => Err(RPCError::RemoteError(RemoteError::new(self.target, e))),
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionRefused => {
                Err(RPCError::Unreachable(Unreachable::new(&e)))
            }
            Err(e) => Err(RPCError::Network(NetworkError::new(&e))),
        }
    }
}

impl RaftNetwork<TypeConfig> for PeerClient {
    async fn append_entries(
        &mut self,
        rpc: AppendEntriesRequest<TypeConfig>,
        option: RPCOption,
    ) -> Result<AppendEntriesResponse<NodeId>, RPCError<NodeId, Node, RaftError<NodeId>>> {
        self.raft_call(QuorumRequest::AppendEntries(rpc), &option)
            .await
    }

    async fn install_snapshot(
        &mut self,
        rpc: InstallSnapshotRequest<TypeConfig>,
        option: RPCOption,
    ) -> Result<
        InstallSnapshotResponse<NodeId>,
        RPCError<NodeId, Node, RaftError<NodeId, InstallSnapshotError>>,
    > {
        self.raft_call(QuorumRequest::InstallSnapshot(rpc), &option)
            .await
    }

    async fn vote(
        &mut self,
        rpc: VoteRequest<NodeId>,
        option: RPCOption,
    ) -> Result<VoteResponse<NodeId>, RPCError<NodeId, Node, RaftError<NodeId>>> {
        self.raft_call(QuorumRequest::Vote(rpc), &option).await
    }
}

/// Opens a [`PeerClient`] per peer, at the address its voter entry names.
pub struct Network {
    pub tls: Option<Arc<ClientTls>>,
}

impl RaftNetworkFactory<TypeConfig> for Network {
    type Network = PeerClient;

    async fn new_client(&mut self, target: NodeId, node: &Node) -> PeerClient {
        PeerClient::new(target, node.addr.clone(), self.tls.clone())
    }
}

/// Runs a metadata change forwarded by another broker; answers JSON.
pub type ForwardHandler = Arc<
    dyn Fn(serde_json::Value) -> Pin<Box<dyn Future<Output = serde_json::Value> + Send>>
        + Send
        + Sync,
>;

/// Serves the quorum's RPCs on the CONTROLLER listener until shutdown.
pub async fn serve(
    listener: TcpListener,
    tls: Option<Arc<ServerTls>>,
    raft: Raft,
    forward: ForwardHandler,
    mut shutdown: watch::Receiver<bool>,
) {
    loop {
        let accepted = tokio::select! {
            _ = shutdown.changed() => break,
            a = listener.accept() => a,
        };
        let Ok((tcp, peer)) = accepted else {
            continue;
        };
        let _ = tcp.set_nodelay(true);
        let raft = raft.clone();
        let forward = forward.clone();
        let tls = tls.clone();
        tokio::spawn(async move {
            // The handshake runs in the connection's task: a peer that
            // stalls in it holds up no one else.
            let mut stream: Box<dyn Stream> = match tls {
                None => Box::new(tcp),
                Some(tls) => {
                    match tokio::time::timeout(HANDSHAKE_TIMEOUT, tls.acceptor().accept(tcp)).await
                    {
                        Ok(Ok(stream)) => {
                            let certificate = stream
                                .get_ref()
                                .1
                                .peer_certificates()
                                .and_then(|chain| chain.first());
                            if tls.principal(certificate).is_none() {
                                return;
                            }
                            Box::new(stream)
                        }
                        Ok(Err(e)) => {
                            tracing::info!(%peer, error = %e, "quorum peer failed the TLS handshake");
                            return;
                        }
                        Err(_) => {
                            tracing::info!(%peer, "quorum peer's TLS handshake timed out");
                            return;
                        }
                    }
                }
            };
            loop {
                let request: QuorumRequest = match read_frame(&mut stream).await {
                    Ok(r) => r,
                    Err(_) => break,
                };
                let reply = match request {
                    QuorumRequest::AppendEntries(rpc) => {
                        serde_json::to_value(raft.append_entries(rpc).await)
                    }
                    QuorumRequest::Vote(rpc) => serde_json::to_value(raft.vote(rpc).await),
                    QuorumRequest::InstallSnapshot(rpc) => {
                        serde_json::to_value(raft.install_snapshot(rpc).await)
                    }
                    QuorumRequest::Forward(command) => Ok(forward(command).await),
                    QuorumRequest::AddObserver(id, node) => {
                        serde_json::to_value(add_observer(&raft, id, node).await)
                    }
                    QuorumRequest::ChangeVoters(change) => {
                        serde_json::to_value(super::voters::change(&raft, change).await)
                    }
                };
                let written = match reply {
                    Ok(v) => write_frame(&mut stream, &v).await,
                    Err(e) => {
                        tracing::error!(%peer, error = %e, "cannot encode a quorum reply");
                        break;
                    }
                };
                if written.is_err() {
                    break;
                }
            }
        });
    }
}
