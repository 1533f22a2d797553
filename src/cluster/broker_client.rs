//! A Kafka-protocol client from one broker to another (follower fetches,
//! transaction markers): requests framed and encoded by `kafka-protocol`,
//! one at a time on one connection. On a SASL listener the connection
//! logs in first, and again before its session's lifetime runs out
//! (KIP-368).

use std::io::ErrorKind;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::{BufMut, Bytes, BytesMut};
use kafka_protocol::messages::{SaslAuthenticateRequest, SaslHandshakeRequest};
use kafka_protocol::protocol::{Request, StrBytes};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::security::sasl::client::SaslClientConfig;
use crate::security::tls::ClientTls;
use crate::wire_format::{decode_response, request_frame};

const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);

/// How long a request waits for its response, as Kafka's
/// `replica.socket.timeout.ms` and `request.timeout.ms` (30 s): a peer that
/// stops answering fails the call rather than holding its caller.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// How much of a response's buffer is reserved ahead of its bytes: the
/// buffer grows as they arrive, never to a size the peer merely claims.
const READ_RESERVE: usize = 1 << 20;

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
    sasl: Option<Arc<SaslClientConfig>>,
    /// When to log in again, before the broker's session lifetime ends.
    reauthenticate_at: Option<Instant>,
}

impl BrokerConnection {
    /// Connects to the broker at `addr` on the inter-broker listener,
    /// through TLS when that listener has it, and logs in when it is a
    /// SASL one.
    pub async fn open(
        addr: &str,
        client_id: &str,
        tls: Option<&ClientTls>,
        sasl: Option<Arc<SaslClientConfig>>,
    ) -> std::io::Result<BrokerConnection> {
        let mut connection = BrokerConnection {
            stream: connect(addr, tls).await?,
            correlation_id: 0,
            client_id: StrBytes::from_string(client_id.to_string()),
            sasl,
            reauthenticate_at: None,
        };
        connection.authenticate().await?;
        Ok(connection)
    }

    /// Logs in on `stream`, a connection to a SASL listener that speaks
    /// another protocol once authenticated (the metadata quorum's), and
    /// hands it back with the time by which its session must be renewed.
    pub async fn login(
        stream: Box<dyn Stream>,
        client_id: &str,
        sasl: Arc<SaslClientConfig>,
    ) -> std::io::Result<(Box<dyn Stream>, Option<Instant>)> {
        let mut connection = BrokerConnection {
            stream,
            correlation_id: 0,
            client_id: StrBytes::from_string(client_id.to_string()),
            sasl: Some(sasl),
            reauthenticate_at: None,
        };
        connection.authenticate().await?;
        Ok((connection.stream, connection.reauthenticate_at))
    }

    /// Logs in with SaslHandshake v1 and SaslAuthenticate v2, if the
    /// listener is a SASL one.
    async fn authenticate(&mut self) -> std::io::Result<()> {
        let Some(sasl) = self.sasl.clone() else {
            return Ok(());
        };
        let failed = |message: String| std::io::Error::other(message);
        let mechanism = sasl.mechanism.name();
        let handshake = self
            .round_trip(
                &SaslHandshakeRequest::default()
                    .with_mechanism(StrBytes::from_static_str(mechanism)),
                1,
            )
            .await?;
        if handshake.error_code != 0 {
            return Err(failed(format!(
                "the broker does not take SASL mechanism {mechanism} (error {}; it has {:?})",
                handshake.error_code, handshake.mechanisms
            )));
        }
        let started = Instant::now();
        let mut exchange = sasl.start();
        let mut token = exchange.first();
        loop {
            let response = self
                .round_trip(
                    &SaslAuthenticateRequest::default().with_auth_bytes(Bytes::from(token)),
                    2,
                )
                .await?;
            if response.error_code != 0 {
                return Err(failed(format!(
                    "SASL {mechanism} authentication failed: {}",
                    response.error_message.as_deref().unwrap_or("no message")
                )));
            }
            match exchange.next(&response.auth_bytes).map_err(failed)? {
                Some(next) => token = next,
                None => {
                    // Renewed at 85% of the lifetime, as librdkafka does at 90%.
                    self.reauthenticate_at = u64::try_from(response.session_lifetime_ms)
                        .ok()
                        .filter(|ms| *ms > 0)
                        .map(|ms| started + Duration::from_millis(ms * 85 / 100));
                    return Ok(());
                }
            }
        }
    }

    /// Sends `request` at `version` and reads its response.
    pub async fn call<R: Request>(
        &mut self,
        request: &R,
        version: i16,
    ) -> std::io::Result<R::Response> {
        if self
            .reauthenticate_at
            .is_some_and(|at| Instant::now() >= at)
        {
            self.authenticate().await?;
        }
        tokio::time::timeout(REQUEST_TIMEOUT, self.round_trip(request, version))
            .await
            .map_err(|_| {
                std::io::Error::new(
                    ErrorKind::TimedOut,
                    format!("no response within {} s", REQUEST_TIMEOUT.as_secs()),
                )
            })?
    }

    async fn round_trip<R: Request>(
        &mut self,
        request: &R,
        version: i16,
    ) -> std::io::Result<R::Response> {
        self.correlation_id = self.correlation_id.wrapping_add(1);
        let frame = request_frame(request, version, self.correlation_id, &self.client_id)
            .map_err(std::io::Error::other)?;
        self.stream.write_all(&frame).await?;
        self.stream.flush().await?;
        let response = read_response(&mut self.stream).await?;
        decode_response::<R>(response, version, self.correlation_id).map_err(std::io::Error::other)
    }
}

/// A response's body: its size, then that many bytes read into spare
/// capacity. A follower's Fetch responses carry up to
/// replica.fetch.max.bytes per partition; zeroing each buffer for the
/// read to overwrite was two thirds of a follower's instructions.
async fn read_response<S: AsyncRead + Unpin + ?Sized>(stream: &mut S) -> std::io::Result<Bytes> {
    let len = stream.read_i32().await?;
    let len = usize::try_from(len).map_err(|_| {
        std::io::Error::new(
            ErrorKind::InvalidData,
            format!("the broker sent a response of {len} bytes"),
        )
    })?;
    let mut body = BytesMut::with_capacity(len.min(READ_RESERVE));
    while body.len() < len {
        let room = len - body.len();
        body.reserve(room.min(READ_RESERVE));
        if stream.read_buf(&mut (&mut body).limit(room)).await? == 0 {
            return Err(std::io::Error::new(
                ErrorKind::UnexpectedEof,
                format!(
                    "the broker closed the connection {} bytes into a response of {len}",
                    body.len()
                ),
            ));
        }
    }
    Ok(body.freeze())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(body: &[u8]) -> Vec<u8> {
        let mut out = (body.len() as i32).to_be_bytes().to_vec();
        out.extend_from_slice(body);
        out
    }

    #[tokio::test]
    async fn a_response_arriving_in_pieces_is_read_whole_and_no_further() {
        // A pipe of 5 bytes: every read is short.
        let (mut client, mut server) = tokio::io::duplex(5);
        let first: Vec<u8> = (0..=255u8).cycle().take(1000).collect();
        let written = {
            let first = first.clone();
            tokio::spawn(async move {
                server.write_all(&frame(&first)).await.unwrap();
                server.write_all(&frame(b"next")).await.unwrap();
                server.write_all(&frame(b"")).await.unwrap();
            })
        };
        assert_eq!(read_response(&mut client).await.unwrap(), first);
        assert_eq!(read_response(&mut client).await.unwrap(), &b"next"[..]);
        assert!(read_response(&mut client).await.unwrap().is_empty());
        written.await.unwrap();
    }

    /// Hands out a claimed size and then bytes one read at a time,
    /// recording the most room any read was offered.
    struct Claiming {
        bytes: Vec<u8>,
        most_room: usize,
    }

    impl AsyncRead for Claiming {
        fn poll_read(
            mut self: std::pin::Pin<&mut Self>,
            _: &mut std::task::Context<'_>,
            buf: &mut tokio::io::ReadBuf<'_>,
        ) -> std::task::Poll<std::io::Result<()>> {
            self.most_room = self.most_room.max(buf.remaining());
            let n = self.bytes.len().min(buf.remaining()).min(4096);
            let taken: Vec<u8> = self.bytes.drain(..n).collect();
            buf.put_slice(&taken);
            std::task::Poll::Ready(Ok(()))
        }
    }

    #[tokio::test]
    async fn the_buffer_grows_with_the_bytes_not_with_the_size_claimed() {
        let mut peer = Claiming {
            bytes: [&i32::MAX.to_be_bytes()[..], &[7u8; 10_000]].concat(),
            most_room: 0,
        };
        let e = read_response(&mut peer).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::UnexpectedEof);
        assert!(peer.most_room <= 2 * READ_RESERVE, "{}", peer.most_room);
    }

    #[tokio::test]
    async fn a_response_cut_short_or_of_negative_size_is_an_error() {
        let mut cut = &frame(b"twelve bytes")[..10];
        let e = read_response(&mut cut).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::UnexpectedEof);
        assert!(
            e.to_string().contains("6 bytes into a response of 12"),
            "{e}"
        );
        let mut negative = &(-1i32).to_be_bytes()[..];
        let e = read_response(&mut negative).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidData);
    }
}
