//! One client connection: read frames, dispatch by API key, write responses
//! in request order. Requests run in arrival order, except read-only ones
//! marked concurrent (Fetch's long poll), which run in their own task while
//! later requests proceed; the writer still answers strictly in order.

use std::io::IoSlice;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::{BufMut, Bytes, BytesMut};
use kafka_protocol::messages::{ApiKey, RequestHeader, ResponseHeader};
use kafka_protocol::protocol::{Decodable, Encodable};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use tokio::sync::{mpsc, watch, OwnedSemaphorePermit, Semaphore};
use tokio::task::JoinHandle;
use tracing::Instrument;

use super::activity::{Activity, Busy};
use super::authentication::{self, Answer, Gate};
use super::frame::{Frame, FrameError, FrameReader};
use super::limits::Refusal;
use super::transport::{self, WriteSide};
use crate::api::{self, BrokerContext, Concurrency, EndpointType, InOrder, RequestContext};
use crate::cluster::quorum::network::HandedOver;
use crate::metrics::requests::RequestTimer;
use crate::quota::Mute;
use crate::security::sasl::{SaslListenerConfig, SaslSession};
use crate::security::tls::ServerTls;
use crate::security::{KafkaPrincipal, SecurityProtocol};

/// Responses a connection may have outstanding before it stops reading:
/// back-pressure on clients that pipeline faster than the broker answers.
const MAX_IN_FLIGHT: usize = 128;

/// Responses already answered go out together in one vectored write, up
/// to this many bytes or this many responses.
const WRITE_BATCH_BYTES: usize = 1024 * 1024;
const WRITE_BATCH_RESPONSES: usize = 64;

/// How long a connection whose SASL authentication failed stays open after
/// the failure was written, unless the client closes it first.
const FAILED_AUTHENTICATION_LINGER: Duration = Duration::from_secs(1);

/// How long a client on a TLS listener has to finish its handshake: one
/// that stalls (or speaks plaintext and waits) holds a connection slot
/// only this long.
const TLS_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

type Body = Result<api::Answered, anyhow::Error>;

enum Pending {
    Ready(i32, ApiKey, i16, Body),
    Running(i32, ApiKey, i16, JoinHandle<Body>),
    /// A SASL token after a v0 handshake: size-prefixed, no header.
    Raw(Bytes),
}

/// What every connection of one listener applies: the socket server's
/// limits, and the listener it came in on.
pub struct ConnectionSettings {
    /// The listener's name (`PLAINTEXT`, `INTERNAL`, ...).
    pub listener_name: Arc<str>,
    pub protocol: SecurityProtocol,
    /// `socket.request.max.bytes`
    pub max_request_bytes: usize,
    /// `connections.max.idle.ms`; `None` never closes an idle connection.
    pub max_idle: Option<Duration>,
    /// `queued.max.request.bytes`, shared by every connection.
    pub request_pool: Option<Arc<Semaphore>>,
    /// The SASL settings of a SASL_PLAINTEXT or SASL_SSL listener.
    pub sasl: Option<Arc<SaslListenerConfig>>,
    /// The TLS of an SSL or SASL_SSL listener.
    pub tls: Option<Arc<ServerTls>>,
    /// Whether this is a broker listener or the CONTROLLER listener, whose
    /// admin clients (KIP-919) see only the controller's APIs.
    pub endpoint_type: EndpointType,
}

pub async fn serve(
    stream: TcpStream,
    peer: SocketAddr,
    broker: Arc<BrokerContext>,
    settings: Arc<ConnectionSettings>,
    mut shutdown: watch::Receiver<bool>,
) {
    let _ = stream.set_nodelay(true);
    // The handshake runs here, in the connection's task, so that a slow
    // or hostile client never holds up accepting others.
    let (tls_principal, (read_half, write_half)) = match &settings.tls {
        None => (KafkaPrincipal::anonymous(), transport::split_plain(stream)),
        Some(tls) => {
            let handshake = tokio::select! {
                biased;
                _ = shutdown.changed() => return,
                handshake = tokio::time::timeout(
                    TLS_HANDSHAKE_TIMEOUT,
                    tls.acceptor().accept(transport::BufferedSocket::new(stream)),
                ) => handshake,
            };
            let stream = match handshake {
                Ok(Ok(stream)) => stream,
                // A peer that leaves before finishing its hello (a TCP
                // health check, the tools' reachability probe) did not fail
                // to authenticate: it never tried.
                Ok(Err(e)) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
                    tracing::debug!(%peer, listener = %settings.listener_name, "closed during the TLS handshake");
                    return;
                }
                Ok(Err(e)) => {
                    tracing::info!(%peer, listener = %settings.listener_name, error = %e, "failed authentication: TLS handshake failed");
                    return;
                }
                Err(_) => {
                    tracing::info!(%peer, listener = %settings.listener_name, "failed authentication: TLS handshake timed out");
                    return;
                }
            };
            let certificate = stream
                .get_ref()
                .1
                .peer_certificates()
                .and_then(|chain| chain.first());
            let Some(principal) = tls.principal(certificate) else {
                return;
            };
            tracing::debug!(%peer, listener = %settings.listener_name, %principal, "TLS connection");
            (principal, transport::split_tls(stream))
        }
    };
    let session = settings.sasl.clone().map(SaslSession::new);
    serve_split(
        Split {
            read_half,
            write_half,
            first: None,
            tls_principal,
            session,
        },
        peer,
        broker,
        settings,
        shutdown,
    )
    .await;
}

/// An admin client on the CONTROLLER listener (KIP-919), handed over by
/// the metadata quorum's server once it saw a Kafka request rather than a
/// quorum message. It counts against max.connections and
/// max.connections.per.ip as a client of the broker's listeners does;
/// quorum peers do not, so that no client load can cut the quorum off.
pub async fn serve_controller_client(
    client: HandedOver,
    broker: Arc<BrokerContext>,
    settings: Arc<ConnectionSettings>,
    shutdown: watch::Receiver<bool>,
) {
    let peer = client.peer;
    let slot = match broker.connections.admit(peer.ip()) {
        Ok(slot) => slot,
        Err(Refusal::PerIp) => {
            tracing::info!(%peer, listener = %settings.listener_name, "max.connections.per.ip reached for this address; closing new connection");
            return;
        }
        Err(Refusal::Total) => {
            tracing::warn!(%peer, listener = %settings.listener_name, "max.connections reached; closing new connection");
            return;
        }
    };
    let open = crate::metrics::network::listener(&settings.listener_name).opened();
    let (read_half, write_half) = transport::split_boxed(client.stream);
    serve_split(
        Split {
            read_half,
            write_half,
            first: Some(client.first),
            tls_principal: client.tls_principal,
            session: client.session,
        },
        peer,
        broker,
        settings,
        shutdown,
    )
    .await;
    drop((slot, open));
}

/// A connection once its transport is set up.
struct Split {
    read_half: transport::ReadSide,
    write_half: WriteSide,
    /// A frame read before the connection got here.
    first: Option<Bytes>,
    tls_principal: KafkaPrincipal,
    session: Option<SaslSession>,
}

async fn serve_split(
    split: Split,
    peer: SocketAddr,
    broker: Arc<BrokerContext>,
    settings: Arc<ConnectionSettings>,
    mut shutdown: watch::Receiver<bool>,
) {
    let Split {
        read_half,
        write_half,
        mut first,
        tls_principal,
        mut session,
    } = split;
    let activity = Activity::new();
    let client = ClientState::new();
    let mut reader = FrameReader::new(
        read_half,
        settings.max_request_bytes,
        settings.request_pool.clone(),
        activity.clone(),
    );
    let (tx, rx) = mpsc::channel::<Pending>(MAX_IN_FLIGHT);
    let mut writer = tokio::spawn(write_responses(write_half, rx, peer, activity.clone()));
    let idle = activity.idle(settings.max_idle);
    tokio::pin!(idle);

    let mut expired = false;
    loop {
        // Kafka's sasl.server.max.receive.size: an unauthenticated client
        // cannot make the broker read a large frame.
        if let Some(session) = &session {
            reader.set_max(match session.principal() {
                Some(_) => settings.max_request_bytes,
                None => session
                    .config()
                    .max_receive_size
                    .min(settings.max_request_bytes),
            });
        }
        let frame = match first.take() {
            Some(bytes) => Ok(Some(Frame {
                bytes,
                permit: None,
            })),
            None => tokio::select! {
                biased;
                _ = shutdown.changed() => break,
                _ = &mut idle => {
                    expired = true;
                    break;
                }
                frame = reader.next_frame() => frame,
            },
        };
        let frame = match frame {
            Ok(Some(frame)) => frame,
            Ok(None) => break,
            // A client that goes away without closing (killed, timed out)
            // is routine; a frame that breaks the protocol is not.
            // (A TLS client that closes without close_notify is the same.)
            Err(FrameError::Io(e))
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::ConnectionReset | std::io::ErrorKind::UnexpectedEof
                ) =>
            {
                tracing::debug!(%peer, "connection reset by the client");
                break;
            }
            Err(FrameError::TooLarge { size, max })
                if session.as_ref().is_some_and(|s| s.principal().is_none()) =>
            {
                tracing::warn!(%peer, size, max, "closing connection: a frame before SASL authentication is over sasl.server.max.receive.size");
                break;
            }
            // A TLS record header (handshake, TLS 1.x) read as a frame size.
            Err(FrameError::TooLarge { size, .. })
                if !settings.protocol.is_tls() && size >> 16 == 0x1603 =>
            {
                tracing::info!(%peer, listener = %settings.listener_name, "closing connection: a TLS handshake on a listener without TLS");
                break;
            }
            Err(e) => {
                tracing::warn!(%peer, error = %e, "closing connection: unreadable frame");
                break;
            }
        };
        let gate = match session.as_mut() {
            None => Gate::Pass(frame),
            Some(session) => authentication::gate(&broker, session, frame),
        };
        let frame = match gate {
            Gate::Pass(frame) => frame,
            Gate::Answer { answer, keep_open } => {
                let pending = match answer {
                    Answer::Kafka {
                        correlation_id,
                        key,
                        version,
                        body,
                    } => Pending::Ready(correlation_id, key, version, Ok(unmeasured(body))),
                    Answer::Raw(token) => Pending::Raw(token),
                };
                // A failed authentication's answer is written, then the
                // connection closes; both wait connection.failed.authentication.delay.ms
                // to slow down password guessing, as Kafka does.
                if !keep_open {
                    if let Some(session) = &session {
                        tokio::time::sleep(session.config().failed_authentication_delay).await;
                    }
                }
                if tx.send(pending).await.is_err() {
                    break;
                }
                if !keep_open {
                    // Some clients (kafka-python) lose a response that
                    // arrives together with the close: the client gets a
                    // moment to read it and hang up first.
                    let _ = tokio::time::timeout(FAILED_AUTHENTICATION_LINGER, reader.next_frame())
                        .await;
                    tracing::info!(%peer, "closing connection: SASL authentication failed");
                    break;
                }
                continue;
            }
            Gate::Close(reason) => {
                tracing::info!(%peer, %reason, "closing connection");
                break;
            }
        };
        // On SASL_SSL the SASL login names the principal, as in Kafka.
        let principal = match &session {
            Some(session) => session
                .principal()
                .cloned()
                .unwrap_or_else(KafkaPrincipal::anonymous),
            None => tls_principal.clone(),
        };
        // KIP-219: a throttled client's next request waits, unread beyond
        // this frame, until its throttle time is over; others are not held.
        if let Some(until) = client.mute.until() {
            tokio::select! {
                biased;
                _ = shutdown.changed() => break,
                _ = tokio::time::sleep_until(until.into()) => {}
            }
        }
        match dispatch(
            &broker, &settings, &principal, frame, peer, &activity, &client,
        )
        .await
        {
            Ok(Some(pending)) => {
                // A client that stops reading its responses fills the
                // queue; it is idle all the same.
                let sent = tokio::select! {
                    sent = tx.send(pending) => sent.is_ok(),
                    _ = &mut idle => {
                        expired = true;
                        false
                    }
                };
                if !sent {
                    break;
                }
            }
            Ok(None) => {}
            Err(reason) => {
                tracing::warn!(%peer, %reason, "closing connection");
                break;
            }
        }
    }
    drop(tx);
    broker.groups.share_connection_closed(client.id);
    // In-flight responses are written, unless the client stopped taking them.
    if !expired {
        tokio::select! {
            _ = &mut writer => return,
            _ = &mut idle => {}
        }
    }
    tracing::debug!(%peer, "closing idle connection (connections.max.idle.ms)");
    writer.abort();
}

/// What a connection keeps of its client from one request to the next.
struct ClientState {
    /// The connection's id (Kafka's connectionId): what share sessions are
    /// tied to.
    id: u64,
    /// What the client said it is in ApiVersions.
    software: api::ClientSoftware,
    /// Set while the client is throttled (KIP-219).
    mute: Arc<Mute>,
}

impl ClientState {
    fn new() -> ClientState {
        static NEXT_ID: AtomicU64 = AtomicU64::new(0);
        ClientState {
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            software: Default::default(),
            mute: Default::default(),
        }
    }
}

/// Decodes the header and starts the request. `Err` closes the connection,
/// as Kafka does for unknown API keys, unsupported versions of APIs other
/// than ApiVersions, and bodies the codec cannot read.
async fn dispatch(
    broker: &Arc<BrokerContext>,
    settings: &ConnectionSettings,
    principal: &KafkaPrincipal,
    frame: Frame,
    peer: SocketAddr,
    activity: &Arc<Activity>,
    client: &ClientState,
) -> Result<Option<Pending>, String> {
    // Kafka's request start: read off the socket, and (KIP-219) no longer
    // held back by its client's throttle.
    let received = Instant::now();
    let Frame {
        bytes: mut frame,
        permit,
    } = frame;
    if frame.len() < 8 {
        return Err(format!(
            "request of {} bytes is shorter than a request header",
            frame.len()
        ));
    }
    let raw_key = i16::from_be_bytes([frame[0], frame[1]]);
    let version = i16::from_be_bytes([frame[2], frame[3]]);
    let correlation_id = i32::from_be_bytes([frame[4], frame[5], frame[6], frame[7]]);
    let key = ApiKey::try_from(raw_key).map_err(|_| format!("unknown API key {raw_key}"))?;
    let Some(endpoint) = api::endpoint(key) else {
        return Err(format!("API {key:?} is not served by this broker"));
    };
    // Kafka's controller knows only its own APIs, and closes the
    // connection on any other.
    if settings.endpoint_type == EndpointType::Controller && !api::served_by_controllers(key) {
        return Err(format!(
            "API {key:?} is not served on a CONTROLLER listener"
        ));
    }
    if version < endpoint.versions.min || version > endpoint.versions.max {
        if key == ApiKey::ApiVersions {
            // KIP-511: answer at v0 with our ranges so the client can pick a version.
            let body = encode_body(
                &api::unsupported_version_response(settings.endpoint_type),
                0,
            )
            .map_err(|e| e.to_string())?;
            return Ok(Some(Pending::Ready(
                correlation_id,
                key,
                0,
                Ok(unmeasured(body)),
            )));
        }
        return Err(format!(
            "unsupported version {version} of {key:?} (supported {}..={})",
            endpoint.versions.min, endpoint.versions.max
        ));
    }
    let request_size = frame.len();
    let header_version = key.request_header_version(version);
    let header = RequestHeader::decode(&mut frame, header_version)
        .map_err(|e| format!("bad {key:?} v{version} request header: {e}"))?;
    // What a handler logs names the request it serves (Kafka's request
    // log fields). Disabled at the default level, a span costs one check.
    let span = tracing::debug_span!(
        "request",
        api = ?key,
        version,
        correlation_id,
        client_id = header.client_id.as_deref().unwrap_or(""),
        %peer,
        principal = %principal,
    );
    let (in_order, ordered) = match endpoint.concurrency {
        Concurrency::Pipelined => {
            let (in_order, ordered) = InOrder::pair();
            (in_order, Some(ordered))
        }
        Concurrency::InOrder | Concurrency::Concurrent => (InOrder::default(), None),
    };
    let ctx = RequestContext {
        header,
        api_version: version,
        peer,
        listener_name: settings.listener_name.clone(),
        endpoint_type: settings.endpoint_type,
        security_protocol: settings.protocol,
        principal: principal.clone(),
        client_software: client.software.clone(),
        request_size,
        mute: client.mute.clone(),
        in_order,
        connection_id: client.id,
    };
    tracing::trace!(parent: &span, "request");
    let future = endpoint
        .call(broker.clone(), ctx, frame, received)
        .map_err(|e| format!("bad {key:?} v{version} request body: {e}"))?
        .instrument(span);
    // The request's bytes stay counted in queued.max.request.bytes until
    // its handler is done with them.
    let in_progress: (Busy, Option<OwnedSemaphorePermit>) = (activity.busy(), permit);
    match endpoint.concurrency {
        Concurrency::Concurrent => Ok(Some(Pending::Running(
            correlation_id,
            key,
            version,
            spawn_handler(future, in_progress),
        ))),
        Concurrency::Pipelined => {
            // Run here until the ordered part is done; a handler that then
            // has nothing to wait for is answered at once, as in order,
            // and only one that waits gets a task of its own while the
            // next request is read.
            let mut future = Box::pin(future);
            let mut ordered = ordered.expect("a pipelined handler has its in-order signal");
            tokio::select! {
                biased;
                body = &mut future => {
                    drop(in_progress);
                    Ok(body
                        .map(api::Answered::to_send)
                        .transpose()
                        .map(|body| Pending::Ready(correlation_id, key, version, body)))
                }
                _ = &mut ordered => Ok(Some(Pending::Running(
                    correlation_id,
                    key,
                    version,
                    spawn_handler(future, in_progress),
                ))),
            }
        }
        Concurrency::InOrder => {
            let body = future.await;
            drop(in_progress);
            Ok(body
                .map(api::Answered::to_send)
                .transpose()
                .map(|body| Pending::Ready(correlation_id, key, version, body)))
        }
    }
}

/// Runs a handler beside its connection's later requests; its request's
/// bytes stay counted until it ends.
fn spawn_handler(
    future: impl std::future::Future<Output = Body> + Send + 'static,
    in_progress: (Busy, Option<OwnedSemaphorePermit>),
) -> JoinHandle<Body> {
    tokio::spawn(async move {
        let body = future.await;
        drop(in_progress);
        body
    })
}

/// A response the broker answers outside the handlers (SASL's gate, an
/// unsupported ApiVersions): no request metrics.
fn unmeasured(body: BytesMut) -> api::Answered {
    api::Answered {
        body: Some(vec![body.freeze()]),
        metrics: None,
    }
}

fn encode_body<M: Encodable>(message: &M, version: i16) -> anyhow::Result<BytesMut> {
    let mut out = BytesMut::with_capacity(message.compute_size(version)?);
    message.encode(&mut out, version)?;
    Ok(out)
}

/// Writes responses in request order. Those already answered when the
/// socket is free go out in one vectored write, each as its chunks (a
/// Fetch's records straight from the buffers they were read into); nothing
/// is buffered in between, so a quiet connection holds no write buffer.
async fn write_responses(
    mut out: WriteSide,
    mut rx: mpsc::Receiver<Pending>,
    peer: SocketAddr,
    activity: Arc<Activity>,
) {
    let mut next = rx.recv().await;
    while next.is_some() {
        let mut batch = Vec::new();
        let (mut batch_bytes, mut responses) = (0, 0);
        let mut measured = Vec::new();
        while let Some(pending) = next.take() {
            // Earlier answers are not held back behind a long poll.
            if let Pending::Running(_, _, _, handle) = &pending {
                if !handle.is_finished() && !batch.is_empty() {
                    next = Some(pending);
                    break;
                }
            }
            match framed(pending, peer).await {
                Ok(Some((prefix, body, metrics))) => {
                    batch_bytes += prefix.len() + body.iter().map(Bytes::len).sum::<usize>();
                    batch.push(prefix);
                    batch.extend(body);
                    responses += 1;
                    measured.extend(metrics);
                }
                Ok(None) => {}
                Err(()) => {
                    let _ = write_all(&mut out, &batch, &activity).await;
                    let _ = out.shutdown().await;
                    return;
                }
            }
            if batch_bytes < WRITE_BATCH_BYTES && responses < WRITE_BATCH_RESPONSES {
                next = rx.try_recv().ok();
            }
        }
        // Read only when some response in the batch is measured.
        let write_started = (!measured.is_empty()).then(Instant::now);
        if write_all(&mut out, &batch, &activity).await.is_err() {
            return;
        }
        if let Some(write_started) = write_started {
            let written = Instant::now();
            for metrics in measured {
                metrics.sent(write_started, written);
            }
        }
        if next.is_none() {
            next = rx.recv().await;
        }
    }
    let _ = out.shutdown().await;
}

/// A response as its size-and-header prefix, its body and its request's
/// metrics; `Ok(None)` for a request that gets no response, `Err` when the
/// connection must close.
async fn framed(pending: Pending, peer: SocketAddr) -> Result<Option<Framed>, ()> {
    let (correlation_id, key, version, body) = match pending {
        Pending::Raw(token) => {
            let size = Bytes::copy_from_slice(&(token.len() as i32).to_be_bytes());
            return Ok(Some((size, vec![token], None)));
        }
        Pending::Ready(c, k, v, body) => (c, k, v, body),
        Pending::Running(c, k, v, handle) => (
            c,
            k,
            v,
            handle
                .await
                .unwrap_or_else(|e| Err(anyhow::anyhow!("handler task failed: {e}"))),
        ),
    };
    let (body, metrics) = match body.map(api::Answered::to_send) {
        Ok(Some(api::Answered {
            body: Some(body),
            metrics,
        })) => (body, metrics),
        // to_send leaves only answers with a body.
        Ok(_) => return Ok(None),
        Err(e) => {
            tracing::error!(%peer, ?key, version, error = %e, "cannot build response; closing connection");
            return Err(());
        }
    };
    let header = ResponseHeader::default().with_correlation_id(correlation_id);
    let mut prefix = BytesMut::with_capacity(16);
    prefix.put_i32(0);
    if let Err(e) = header.encode(&mut prefix, key.response_header_version(version)) {
        tracing::error!(%peer, error = %e, "cannot encode response header");
        return Err(());
    }
    let size = (prefix.len() - 4 + body.iter().map(Bytes::len).sum::<usize>()) as i32;
    prefix[..4].copy_from_slice(&size.to_be_bytes());
    Ok(Some((prefix.freeze(), body, metrics)))
}

type Framed = (Bytes, Vec<Bytes>, Option<RequestTimer>);

async fn write_all(
    out: &mut WriteSide,
    chunks: &[Bytes],
    activity: &Activity,
) -> std::io::Result<()> {
    let mut slices: Vec<IoSlice> = chunks
        .iter()
        .filter(|c| !c.is_empty())
        .map(|c| IoSlice::new(c))
        .collect();
    let mut slices = &mut slices[..];
    while !slices.is_empty() {
        let written = out.write_vectored(slices).await?;
        if written == 0 {
            return Err(std::io::ErrorKind::WriteZero.into());
        }
        // A client taking a large response slowly is not idle.
        activity.stamp();
        IoSlice::advance_slices(&mut slices, written);
    }
    // TLS may hold the end of what it was given until flushed; for TCP
    // this does nothing.
    out.flush().await
}
