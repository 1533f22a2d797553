//! A Kafka-protocol client from one broker to another (follower fetches,
//! transaction markers): requests framed and encoded by `kafka-protocol`,
//! one at a time on one connection.

use std::time::Duration;

use kafka_protocol::protocol::{Request, StrBytes};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::security::tls::ClientTls;
use crate::wire_format::{decode_response, request_frame};

const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);

/// A connection to another broker, plain or TLS.
pub trait Stream: AsyncRead + AsyncWrite + Unpin + Send + Sync {}

impl<T: AsyncRead + AsyncWrite + Unpin + Send + Sync> Stream for T {}

/// Connects to `addr` (host:port), through TLS when `tls` is given; the
/// connection and the handshake each get [`CONNECT_TIMEOUT`].
pub async fn connect(addr: &str, tls: Option<&ClientTls>) -> std::io::Result<Box<dyn Stream>> {
    let tcp = tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect(addr))
        .await
        .map_err(|_| std::io::Error::other("connect timed out"))??;
    tcp.set_nodelay(true)?;
    let Some(tls) = tls else {
        return Ok(Box::new(tcp));
    };
    let host = addr
        .rsplit_once(':')
        .map_or(addr, |(host, _)| host)
        .trim_start_matches('[')
        .trim_end_matches(']');
    let stream = tokio::time::timeout(CONNECT_TIMEOUT, tls.connect(tcp, host))
        .await
        .map_err(|_| std::io::Error::other("TLS handshake timed out"))?
        .map_err(|e| std::io::Error::new(e.kind(), format!("TLS handshake with {addr}: {e}")))?;
    Ok(Box::new(stream))
}

/// A Kafka-protocol connection to another broker.
pub struct BrokerConnection {
    stream: Box<dyn Stream>,
    correlation_id: i32,
    client_id: StrBytes,
}

impl BrokerConnection {
    /// Connects to the broker at `addr` on the inter-broker listener,
    /// through TLS when that listener has it.
    pub async fn open(
        addr: &str,
        client_id: &str,
        tls: Option<&ClientTls>,
    ) -> std::io::Result<BrokerConnection> {
        Ok(BrokerConnection {
            stream: connect(addr, tls).await?,
            correlation_id: 0,
            client_id: StrBytes::from_string(client_id.to_string()),
        })
    }

    /// Sends `request` at `version` and reads its response.
    pub async fn call<R: Request>(
        &mut self,
        request: &R,
        version: i16,
    ) -> std::io::Result<R::Response> {
        self.correlation_id = self.correlation_id.wrapping_add(1);
        let frame = request_frame(request, version, self.correlation_id, &self.client_id)
            .map_err(std::io::Error::other)?;
        self.stream.write_all(&frame).await?;
        self.stream.flush().await?;
        let len = self.stream.read_i32().await?;
        let mut response = vec![0u8; usize::try_from(len).map_err(std::io::Error::other)?];
        self.stream.read_exact(&mut response).await?;
        decode_response::<R>(response.into(), version, self.correlation_id)
            .map_err(std::io::Error::other)
    }
}
