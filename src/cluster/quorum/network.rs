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
//!
//! Admin clients may reach this listener too (KIP-919's
//! `bootstrap.controllers`, kafka-metadata-quorum.sh's
//! `--bootstrap-controller`). A connection's first frame tells them apart:
//! a quorum message is a JSON object (its first byte `{`, which no Kafka
//! API key starts with), and on a SASL listener a peer starts with
//! SaslHandshake where an admin client starts with ApiVersions (one that
//! logs in first is told apart by its next frame). An admin client is
//! handed to the broker's own connection handling ([`ControllerClients`]),
//! which serves it the controller's APIs only.
//!
//! On a SASL CONTROLLER listener (SASL_PLAINTEXT, SASL_SSL) a connection
//! starts as Kafka's does: the peer logs in with SaslHandshake and
//! SaslAuthenticate frames (`sasl.mechanism.controller.protocol`, the
//! listener's JAAS login), checked by the broker's own SASL mechanisms,
//! and only then sends quorum frames. A peer that fails is answered
//! SASL_AUTHENTICATION_FAILED, logged and disconnected.
//!
//! With an authorizer on, every request of a peer needs CLUSTER_ACTION on
//! the cluster for the peer's principal (the SASL login's, else the TLS
//! certificate's, else User:ANONYMOUS), as Kafka's controller APIs
//! require; before the cluster has ACLs only super users (or
//! `allow.everyone.if.no.acl.found`) pass. A peer refused is logged,
//! told why ([`ClusterAuthorizationFailed`]) and disconnected. As in
//! KRaft, where CLUSTER_AUTHORIZATION_FAILED is fatal to the raft client,
//! the refused node stops its part in the quorum ([`PeerLogin::refusal`]):
//! a voter that kept standing in elections nobody can answer would raise
//! its term past the leader's and depose it at every contact.

use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use kafka_protocol::messages::{ApiKey, ResponseHeader, SaslAuthenticateResponse};
use kafka_protocol::protocol::{Decodable, Encodable};
use openraft::error::{
    ChangeMembershipError, ClientWriteError, InstallSnapshotError, NetworkError, RPCError,
    RaftError, RemoteError, Unreachable,
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
use crate::cluster::broker_client::{self, BrokerConnection, Stream};
use crate::security::sasl::client::SaslClientConfig;
use crate::security::sasl::scram::ScramLookup;
use crate::security::sasl::{SaslListenerConfig, SaslSession};
use crate::security::tls::{ClientTls, ServerTls};
use crate::security::KafkaPrincipal;
use crate::server::{gate_with, Answer, Frame, Gate};

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
    /// Asked by a voter that starts on an empty metadata log: the broker
    /// epoch this node's image registers the given node at, if any. A
    /// registered voter without a log has lost it (see `Quorum::start`).
    RegisteredEpoch(NodeId),
}

/// Why a voter did not add an observer.
#[derive(Debug, Serialize, Deserialize)]
pub enum AddObserverError {
    /// This voter does not lead; the leader it knows of, if any.
    NotLeader(Option<NodeId>),
    /// The leader is in the middle of a membership change (a new leader's
    /// first one, say): asked again, it takes this one.
    Busy(String),
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
        Err(RaftError::APIError(ClientWriteError::ChangeMembershipError(
            ChangeMembershipError::InProgress(e),
        ))) => Err(AddObserverError::Busy(e.to_string())),
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
    decode_frame(&read_raw_frame(stream, MAX_FRAME).await?)
}

/// A frame's bytes, without its size.
async fn read_raw_frame<S: AsyncRead + Unpin + ?Sized>(
    stream: &mut S,
    max: usize,
) -> std::io::Result<Bytes> {
    let len = stream.read_u32().await? as usize;
    check_frame_size(len, max)?;
    let mut body = vec![0; len];
    stream.read_exact(&mut body).await?;
    Ok(Bytes::from(body))
}

fn check_frame_size(len: usize, max: usize) -> std::io::Result<()> {
    if len > max {
        return Err(std::io::Error::other(format!(
            "a frame of {len} bytes is over the limit of {max}"
        )));
    }
    Ok(())
}

/// Reads the frame that tells a quorum peer from an admin client, under
/// the limit of whichever sent it: its first byte says which (see
/// [`is_quorum_message`]), so an admin client's request is refused past
/// `client_max` (socket.request.max.bytes, as on the broker's listeners)
/// before the quorum's larger limit lets it send more.
async fn read_first_frame<S: AsyncRead + Unpin + ?Sized>(
    stream: &mut S,
    quorum_max: usize,
    client_max: usize,
) -> std::io::Result<Bytes> {
    let len = stream.read_u32().await? as usize;
    if len == 0 {
        return Ok(Bytes::new());
    }
    let first = stream.read_u8().await?;
    let max = if first == b'{' {
        quorum_max
    } else {
        client_max
    };
    check_frame_size(len, max)?;
    let mut body = vec![0; len];
    body[0] = first;
    stream.read_exact(&mut body[1..]).await?;
    Ok(Bytes::from(body))
}

/// Whether a frame is a quorum message (JSON, an object) rather than a
/// Kafka request, whose first bytes are its API key: an admin client
/// reaching the CONTROLLER listener (KIP-919). No API key starts with
/// `{` (0x7B): Kafka's keys are below 0x0100.
fn is_quorum_message(frame: &[u8]) -> bool {
    frame.first() == Some(&b'{')
}

/// Whether a frame is Kafka's SaslHandshake, with which a peer's login
/// starts on a SASL CONTROLLER listener (an admin client starts with
/// ApiVersions).
fn is_sasl_handshake(frame: &[u8]) -> bool {
    frame.len() >= 2 && i16::from_be_bytes([frame[0], frame[1]]) == ApiKey::SaslHandshake as i16
}

/// An admin client that reached the CONTROLLER listener, as the quorum's
/// server hands it over.
pub struct HandedOver {
    /// The connection after its TLS handshake, if it had one.
    pub stream: Box<dyn Stream>,
    /// The frame read to tell it from a quorum peer.
    pub first: Bytes,
    /// Its certificate's principal, else `User:ANONYMOUS`.
    pub tls_principal: KafkaPrincipal,
    /// On a SASL listener: logged in already, or not yet.
    pub session: Option<SaslSession>,
    pub peer: std::net::SocketAddr,
}

/// Serves an admin client that reached the CONTROLLER listener.
pub type ControllerClientHandler =
    Arc<dyn Fn(HandedOver) -> Pin<Box<dyn Future<Output = ()> + Send>> + Send + Sync>;

/// How the broker serves admin clients on the CONTROLLER listener.
struct ClientService {
    handler: ControllerClientHandler,
    /// socket.request.max.bytes, which bounds their requests from the
    /// first on.
    max_request_bytes: usize,
}

/// What the CONTROLLER listener does with what it reads: Raft's RPCs go to
/// `raft`, forwarded metadata changes to `forward`, each peer request is
/// checked by `authorize`, and admin clients go to `clients`.
pub struct QuorumServices {
    pub raft: Raft,
    pub forward: ForwardHandler,
    pub authorize: PeerAuthorizer,
    pub clients: ControllerClients,
    pub registrations: RegistrationLookup,
}

/// Where admin clients on the CONTROLLER listener (KIP-919) go: the
/// broker's own connection handling, set once the broker serves; until
/// then such a client is disconnected (the listener serves the quorum
/// before the broker is up).
#[derive(Clone, Default)]
pub struct ControllerClients(Arc<std::sync::OnceLock<ClientService>>);

impl ControllerClients {
    pub fn set(&self, handler: ControllerClientHandler, max_request_bytes: usize) {
        let _ = self.0.set(ClientService {
            handler,
            max_request_bytes,
        });
    }

    /// The largest request an admin client may send here. Before the
    /// broker serves, none is served, so none is read.
    fn max_request_bytes(&self) -> usize {
        self.0.get().map_or(0, |s| s.max_request_bytes)
    }

    async fn serve(&self, client: HandedOver) {
        match self.0.get() {
            Some(service) => (service.handler)(client).await,
            None => {
                tracing::debug!(peer = %client.peer, "an admin client on the CONTROLLER listener before the broker serves; disconnected")
            }
        }
    }
}

fn decode_frame<T: DeserializeOwned>(body: &[u8]) -> std::io::Result<T> {
    let value: serde_json::Value = serde_json::from_slice(body).map_err(std::io::Error::other)?;
    if let Ok(refused) = serde_json::from_value::<ClusterAuthorizationFailed>(value.clone()) {
        return Err(std::io::Error::new(
            std::io::ErrorKind::PermissionDenied,
            QuorumRefused(refused.cluster_authorization_failed),
        ));
    }
    serde_json::from_value(value).map_err(std::io::Error::other)
}

/// The frame a peer without CLUSTER_ACTION gets before it is disconnected,
/// in place of any reply.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct ClusterAuthorizationFailed {
    cluster_authorization_failed: String,
}

/// A peer's refusal of this node, as the error of the call it refused.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct QuorumRefused(String);

/// How this node reaches its quorum peers: the CONTROLLER listener's TLS
/// and SASL login, when it has them.
#[derive(Clone, Default)]
pub struct PeerLogin {
    pub tls: Option<Arc<ClientTls>>,
    pub sasl: Option<Arc<SaslClientConfig>>,
    /// Set once a peer refuses this node CLUSTER_ACTION, with the reason.
    pub refusal: Arc<Refusal>,
}

/// Whether the quorum refused this node, and why; shared by every client
/// of its peers.
#[derive(Default)]
pub struct Refusal(watch::Sender<Option<String>>);

impl Refusal {
    /// Records the refusal; whether it is the first.
    fn refuse(&self, reason: String) -> bool {
        self.0.send_if_modified(|current| {
            let first = current.is_none();
            if first {
                *current = Some(reason);
            }
            first
        })
    }

    /// The reason, once refused.
    pub fn reason(&self) -> Option<String> {
        self.0.borrow().clone()
    }

    /// Waits until this node is refused; the reason.
    pub async fn refused(&self) -> String {
        let mut rx = self.0.subscribe();
        loop {
            if let Some(reason) = rx.borrow_and_update().clone() {
                return reason;
            }
            if rx.changed().await.is_err() {
                std::future::pending::<()>().await;
            }
        }
    }
}

/// A connection being opened: its TCP, TLS and SASL login. A failed
/// login is told apart from a peer that cannot be reached.
type Opening = tokio::task::JoinHandle<Result<(Box<dyn Stream>, Option<Instant>), Opened>>;

enum Opened {
    Unreachable(std::io::Error),
    LoginFailed(std::io::Error),
}

/// A connection to one peer controller.
pub struct PeerClient {
    target: NodeId,
    addr: String,
    login: PeerLogin,
    stream: Option<Box<dyn Stream>>,
    /// The connection being opened. It runs in its own task: a login
    /// (SCRAM's key derivation, the TLS handshake) can take longer than a
    /// heartbeat's deadline, and must not restart with every heartbeat.
    opening: Option<Opening>,
    /// When to log in again on a new connection, before the peer's SASL
    /// session lifetime (`connections.max.reauth.ms`) ends.
    renew_at: Option<Instant>,
    /// The last login failure logged, so that a peer refusing every retry
    /// is reported once, not at each heartbeat.
    refused: Option<String>,
}

impl PeerClient {
    /// A client of the peer at `addr`, through TLS and SASL when the
    /// CONTROLLER listener has them.
    pub fn new(target: NodeId, addr: String, login: PeerLogin) -> PeerClient {
        PeerClient {
            target,
            addr,
            login,
            stream: None,
            opening: None,
            renew_at: None,
            refused: None,
        }
    }

    /// The peer this client talks to.
    pub fn target(&self) -> NodeId {
        self.target
    }

    /// The connection, opened first if needed. Cancelling this (a timed
    /// out call) leaves the opening running for the next call.
    async fn connection(&mut self) -> std::io::Result<&mut Box<dyn Stream>> {
        if self.stream.is_none() {
            let opening = self.opening.get_or_insert_with(|| {
                let addr = self.addr.clone();
                let login = self.login.clone();
                tokio::spawn(async move {
                    let stream = broker_client::connect(&addr, login.tls.as_deref())
                        .await
                        .map_err(Opened::Unreachable)?;
                    match login.sasl {
                        None => Ok((stream, None)),
                        Some(sasl) => BrokerConnection::login(stream, "gregor-quorum", sasl)
                            .await
                            .map_err(Opened::LoginFailed),
                    }
                })
            });
            let opened = opening
                .await
                .unwrap_or_else(|e| Err(Opened::Unreachable(std::io::Error::other(e))));
            self.opening = None;
            match opened {
                Ok((stream, renew_at)) => {
                    self.stream = Some(stream);
                    self.renew_at = renew_at;
                    self.refused = None;
                }
                Err(Opened::Unreachable(e)) => return Err(e),
                Err(Opened::LoginFailed(e)) => {
                    let reason = e.to_string();
                    if self.refused.as_deref() != Some(reason.as_str()) {
                        tracing::warn!(peer = self.target, addr = %self.addr, %reason, "cannot log in to a metadata quorum peer");
                        self.refused = Some(reason);
                    }
                    return Err(e);
                }
            }
        }
        self.stream
            .as_mut()
            .ok_or_else(|| std::io::Error::other("no connection"))
    }

    /// Sends `request` and reads the reply, reconnecting first if needed.
    pub async fn call<T: DeserializeOwned>(
        &mut self,
        request: &QuorumRequest,
        timeout: Duration,
    ) -> std::io::Result<T> {
        if self.renew_at.is_some_and(|at| Instant::now() >= at) {
            self.stream = None;
            self.renew_at = None;
        }
        let exchange = async {
            let stream = self.connection().await?;
            write_frame(stream, request).await?;
            read_frame(stream).await
        };
        let result = match tokio::time::timeout(timeout, exchange).await {
            Ok(r) => r,
            Err(_) => Err(std::io::Error::other("request timed out")),
        };
        if let Some(refused) = result
            .as_ref()
            .err()
            .and_then(|e| e.get_ref())
            .and_then(|e| e.downcast_ref::<QuorumRefused>())
        {
            let reason = format!("node {} refused this node: {refused}", self.target);
            if self.login.refusal.refuse(reason.clone()) {
                tracing::error!(%reason, "the metadata quorum refused this node: it takes no further part");
            }
        }
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
    pub login: PeerLogin,
}

impl RaftNetworkFactory<TypeConfig> for Network {
    type Network = PeerClient;

    async fn new_client(&mut self, target: NodeId, node: &Node) -> PeerClient {
        PeerClient::new(target, node.addr.clone(), self.login.clone())
    }
}

/// Whether a peer, by its principal and address, may use the quorum.
pub type PeerAuthorizer = Arc<dyn Fn(&KafkaPrincipal, std::net::IpAddr) -> bool + Send + Sync>;

/// The broker epoch a node is registered at in this node's image, if any.
pub type RegistrationLookup = Arc<dyn Fn(NodeId) -> Option<i64> + Send + Sync>;

/// Runs a metadata change forwarded by another broker; answers JSON.
pub type ForwardHandler = Arc<
    dyn Fn(serde_json::Value) -> Pin<Box<dyn Future<Output = serde_json::Value> + Send>>
        + Send
        + Sync,
>;

/// The SASL side of a SASL CONTROLLER listener: its mechanisms, and
/// where SCRAM credentials come from.
#[derive(Clone)]
pub struct QuorumSasl {
    pub config: Arc<SaslListenerConfig>,
    pub scram: Arc<ScramLookup>,
}

/// Writes an answer of the SASL exchange with Kafka's framing.
async fn write_answer(stream: &mut Box<dyn Stream>, answer: Answer) -> std::io::Result<()> {
    let mut frame = BytesMut::new();
    match answer {
        Answer::Kafka {
            correlation_id,
            key,
            version,
            body,
        } => {
            let mut header = BytesMut::new();
            ResponseHeader::default()
                .with_correlation_id(correlation_id)
                .encode(&mut header, key.response_header_version(version))
                .map_err(std::io::Error::other)?;
            frame.extend_from_slice(&((header.len() + body.len()) as u32).to_be_bytes());
            frame.extend_from_slice(&header);
            frame.extend_from_slice(&body);
        }
        Answer::Raw(token) => {
            frame.extend_from_slice(&(token.len() as u32).to_be_bytes());
            frame.extend_from_slice(&token);
        }
    }
    stream.write_all(&frame).await?;
    stream.flush().await
}

/// Why an answer ends the exchange: the message a failed SaslAuthenticate
/// carries, or the refused handshake.
fn refusal(answer: &Answer) -> String {
    match answer {
        Answer::Kafka {
            key: ApiKey::SaslAuthenticate,
            version,
            body,
            ..
        } => SaslAuthenticateResponse::decode(&mut body.clone().freeze(), *version)
            .ok()
            .and_then(|r| r.error_message.map(|m| m.to_string()))
            .unwrap_or_else(|| "authentication failed".into()),
        Answer::Kafka {
            key: ApiKey::SaslHandshake,
            ..
        } => "its SASL mechanism is not enabled on the CONTROLLER listener".into(),
        _ => "authentication failed".into(),
    }
}

/// Why a peer's SASL login did not end in a session.
enum LoginFailure {
    /// Refused: wrong credentials, a mechanism not enabled, a request out of turn.
    Refused(String),
    /// The peer went away (it gave up on a slow login, or stopped).
    Lost(String),
}

/// Runs a peer's SASL login, from its `first` frame; the authenticated
/// session, or why the peer is refused (after it has been answered).
async fn authenticate_peer(
    stream: &mut Box<dyn Stream>,
    sasl: &QuorumSasl,
    first: Bytes,
) -> Result<SaslSession, LoginFailure> {
    let mut session = SaslSession::new(sasl.config.clone());
    let max = sasl.config.max_receive_size;
    let mut next = Some(first);
    loop {
        let bytes = match next.take() {
            Some(bytes) => bytes,
            None => read_raw_frame(stream, max).await.map_err(|e| {
                if e.kind() == std::io::ErrorKind::Other {
                    LoginFailure::Refused(format!(
                        "{e} before SASL authentication is over (sasl.server.max.receive.size)"
                    ))
                } else {
                    LoginFailure::Lost(e.to_string())
                }
            })?,
        };
        let frame = Frame {
            bytes,
            permit: None,
        };
        match gate_with(&*sasl.scram, &mut session, frame) {
            Gate::Pass(_) => {
                return Err(LoginFailure::Refused(
                    "a request other than SaslHandshake and SaslAuthenticate before SASL authentication"
                        .into(),
                ))
            }
            Gate::Close(reason) => return Err(LoginFailure::Refused(reason)),
            Gate::Answer { answer, keep_open } => {
                let refused = (!keep_open).then(|| refusal(&answer));
                if refused.is_some() {
                    tokio::time::sleep(sasl.config.failed_authentication_delay).await;
                }
                let written = write_answer(stream, answer).await;
                if let Some(reason) = refused {
                    return Err(LoginFailure::Refused(reason));
                }
                written.map_err(|e| LoginFailure::Lost(e.to_string()))?;
                if session.principal().is_some() {
                    return Ok(session);
                }
            }
        }
    }
}

/// Serves the quorum's RPCs on the CONTROLLER listener until shutdown, and
/// hands the admin clients that reach it (KIP-919) to the broker.
pub async fn serve(
    listener: TcpListener,
    tls: Option<Arc<ServerTls>>,
    sasl: Option<QuorumSasl>,
    services: QuorumServices,
    mut shutdown: watch::Receiver<bool>,
) {
    let QuorumServices {
        raft,
        forward,
        authorize,
        clients,
        registrations,
    } = services;
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
        let sasl = sasl.clone();
        let authorize = authorize.clone();
        let clients = clients.clone();
        let registrations = registrations.clone();
        tokio::spawn(async move {
            // The handshake runs in the connection's task: a peer that
            // stalls in it holds up no one else.
            let mut principal = KafkaPrincipal::anonymous();
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
                            match tls.principal(certificate) {
                                Some(p) => principal = p,
                                None => return,
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
            // The first frame tells a quorum peer from an admin client
            // (KIP-919), which the broker serves as on its own listeners.
            // Before a SASL login, anyone's frame is held to SASL's limit.
            let (quorum_max, client_max) = match &sasl {
                Some(s) => (s.config.max_receive_size, s.config.max_receive_size),
                None => (MAX_FRAME, clients.max_request_bytes()),
            };
            let Ok(Ok(mut first)) = tokio::time::timeout(
                HANDSHAKE_TIMEOUT,
                read_first_frame(&mut stream, quorum_max, client_max),
            )
            .await
            else {
                tracing::debug!(%peer, "closed, or sent nothing readable, before its first request");
                return;
            };
            let peer_login = sasl.as_ref().is_some_and(|_| is_sasl_handshake(&first));
            if !is_quorum_message(&first) && !peer_login {
                clients
                    .serve(HandedOver {
                        stream,
                        first,
                        tls_principal: principal,
                        session: sasl.as_ref().map(|s| SaslSession::new(s.config.clone())),
                        peer,
                    })
                    .await;
                return;
            }
            let session = match &sasl {
                None => None,
                Some(sasl) => {
                    match tokio::time::timeout(
                        HANDSHAKE_TIMEOUT,
                        authenticate_peer(&mut stream, sasl, first),
                    )
                    .await
                    {
                        Ok(Ok(session)) => {
                            // After the login, an admin client's requests
                            // are Kafka's and a peer's are quorum messages.
                            first = match read_first_frame(
                                &mut stream,
                                MAX_FRAME,
                                clients.max_request_bytes(),
                            )
                            .await
                            {
                                Ok(next) => next,
                                Err(_) => return,
                            };
                            if !is_quorum_message(&first) {
                                clients
                                    .serve(HandedOver {
                                        stream,
                                        first,
                                        tls_principal: principal,
                                        session: Some(session),
                                        peer,
                                    })
                                    .await;
                                return;
                            }
                            if let Some(p) = session.principal() {
                                tracing::debug!(%peer, principal = %p, "quorum peer authenticated");
                                principal = p.clone();
                            }
                            Some(session)
                        }
                        Ok(Err(LoginFailure::Refused(reason))) => {
                            tracing::warn!(%peer, %reason, "quorum peer refused: SASL authentication failed");
                            return;
                        }
                        Ok(Err(LoginFailure::Lost(reason))) => {
                            tracing::debug!(%peer, %reason, "quorum peer left during SASL authentication");
                            return;
                        }
                        Err(_) => {
                            tracing::warn!(%peer, "quorum peer refused: SASL authentication timed out");
                            return;
                        }
                    }
                }
            };
            let mut next = Some(first);
            loop {
                let frame = match next.take() {
                    Some(frame) => Ok(frame),
                    None => read_raw_frame(&mut stream, MAX_FRAME).await,
                };
                let Ok(request) = frame.and_then(|f| decode_frame::<QuorumRequest>(&f)) else {
                    break;
                };
                // KIP-368's session lifetime: the peer logs in again on a
                // new connection before it ends.
                if session.as_ref().is_some_and(|s| s.expired(Instant::now())) {
                    tracing::info!(%peer, "closing quorum connection: the SASL session expired (connections.max.reauth.ms)");
                    break;
                }
                // Checked on every request: ACLs may change while the
                // connection lasts.
                if !authorize(&principal, peer.ip()) {
                    tracing::warn!(%peer, %principal, "quorum peer refused: CLUSTER_ACTION on the cluster is not authorized");
                    let refused = ClusterAuthorizationFailed {
                        cluster_authorization_failed: format!(
                            "Cluster authorization failed: {principal} is not allowed CLUSTER_ACTION on the cluster."
                        ),
                    };
                    let _ = write_frame(&mut stream, &refused).await;
                    break;
                }
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
                    QuorumRequest::RegisteredEpoch(id) => serde_json::to_value(registrations(id)),
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
