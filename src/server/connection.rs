//! One client connection: read frames, dispatch by API key, write responses
//! in request order. Requests run in arrival order, except read-only ones
//! marked concurrent (Fetch's long poll), which run in their own task while
//! later requests proceed; the writer still answers strictly in order.

use std::net::SocketAddr;
use std::sync::Arc;

use bytes::{Buf, Bytes, BytesMut};
use kafka_protocol::messages::{ApiKey, RequestHeader, ResponseHeader};
use kafka_protocol::protocol::{Decodable, Encodable};
use tokio::io::{AsyncWriteExt, BufReader, BufWriter};
use tokio::net::TcpStream;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

use super::frame::{read_frame, FrameError};
use crate::api::{self, BrokerContext, RequestContext};

/// Responses a connection may have outstanding before it stops reading:
/// back-pressure on clients that pipeline faster than the broker answers.
const MAX_IN_FLIGHT: usize = 128;

type Body = Result<Option<BytesMut>, anyhow::Error>;

enum Pending {
    Ready(i32, ApiKey, i16, Body),
    Running(i32, ApiKey, i16, JoinHandle<Body>),
}

pub async fn serve(
    stream: TcpStream,
    peer: SocketAddr,
    broker: Arc<BrokerContext>,
    max_request_bytes: usize,
    mut shutdown: watch::Receiver<bool>,
) {
    let _ = stream.set_nodelay(true);
    let (read_half, write_half) = stream.into_split();
    let mut reader = BufReader::with_capacity(64 * 1024, read_half);
    let (tx, rx) = mpsc::channel::<Pending>(MAX_IN_FLIGHT);
    let writer = tokio::spawn(write_responses(
        BufWriter::with_capacity(64 * 1024, write_half),
        rx,
        peer,
    ));

    loop {
        let frame = tokio::select! {
            biased;
            _ = shutdown.changed() => break,
            frame = read_frame(&mut reader, max_request_bytes) => frame,
        };
        let frame = match frame {
            Ok(Some(frame)) => frame,
            Ok(None) => break,
            // A client that goes away without closing (killed, timed out)
            // is routine; a frame that breaks the protocol is not.
            Err(FrameError::Io(e)) if e.kind() == std::io::ErrorKind::ConnectionReset => {
                tracing::debug!(%peer, "connection reset by the client");
                break;
            }
            Err(e) => {
                tracing::warn!(%peer, error = %e, "closing connection: unreadable frame");
                break;
            }
        };
        match dispatch(&broker, frame, peer).await {
            Ok(Some(pending)) => {
                if tx.send(pending).await.is_err() {
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
    let _ = writer.await;
}

/// Decodes the header and starts the request. `Err` closes the connection,
/// as Kafka does for unknown API keys, unsupported versions of APIs other
/// than ApiVersions, and bodies the codec cannot read.
async fn dispatch(
    broker: &Arc<BrokerContext>,
    mut frame: Bytes,
    peer: SocketAddr,
) -> Result<Option<Pending>, String> {
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
    if version < endpoint.versions.min || version > endpoint.versions.max {
        if key == ApiKey::ApiVersions {
            // KIP-511: answer at v0 with our ranges so the client can pick a version.
            let body =
                encode_body(&api::unsupported_version_response(), 0).map_err(|e| e.to_string())?;
            return Ok(Some(Pending::Ready(correlation_id, key, 0, Ok(Some(body)))));
        }
        return Err(format!(
            "unsupported version {version} of {key:?} (supported {}..={})",
            endpoint.versions.min, endpoint.versions.max
        ));
    }
    let header_version = key.request_header_version(version);
    let header = RequestHeader::decode(&mut frame, header_version)
        .map_err(|e| format!("bad {key:?} v{version} request header: {e}"))?;
    let ctx = RequestContext {
        header,
        api_version: version,
        peer,
    };
    tracing::trace!(%peer, ?key, version, correlation_id, "request");
    let future = endpoint
        .call(broker.clone(), ctx, frame)
        .map_err(|e| format!("bad {key:?} v{version} request body: {e}"))?;
    if endpoint.concurrent {
        Ok(Some(Pending::Running(
            correlation_id,
            key,
            version,
            tokio::spawn(future),
        )))
    } else {
        match future.await {
            Ok(None) => Ok(None),
            body => Ok(Some(Pending::Ready(correlation_id, key, version, body))),
        }
    }
}

fn encode_body<M: Encodable>(message: &M, version: i16) -> anyhow::Result<BytesMut> {
    let mut out = BytesMut::with_capacity(message.compute_size(version)?);
    message.encode(&mut out, version)?;
    Ok(out)
}

async fn write_responses(
    mut out: BufWriter<tokio::net::tcp::OwnedWriteHalf>,
    mut rx: mpsc::Receiver<Pending>,
    peer: SocketAddr,
) {
    while let Some(pending) = rx.recv().await {
        let (correlation_id, key, version, body) = match pending {
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
        let body = match body {
            Ok(Some(body)) => body,
            Ok(None) => continue,
            Err(e) => {
                tracing::error!(%peer, ?key, version, error = %e, "cannot build response; closing connection");
                break;
            }
        };
        let header = ResponseHeader::default().with_correlation_id(correlation_id);
        let header = match encode_body(&header, key.response_header_version(version)) {
            Ok(h) => h,
            Err(e) => {
                tracing::error!(%peer, error = %e, "cannot encode response header");
                break;
            }
        };
        let size = (header.len() + body.len()) as i32;
        let written = async {
            out.write_all(&size.to_be_bytes()).await?;
            out.write_all(header.chunk()).await?;
            out.write_all(body.chunk()).await
        };
        if written.await.is_err() {
            break;
        }
        if rx.is_empty() && out.flush().await.is_err() {
            break;
        }
    }
    let _ = out.flush().await;
    let _ = out.shutdown().await;
}
