//! A Kafka-protocol client from one broker to another (follower fetches,
//! transaction markers): requests framed and encoded by `kafka-protocol`,
//! one at a time on one connection.

use std::time::Duration;

use bytes::{Buf, BufMut, BytesMut};
use kafka_protocol::messages::{ApiKey, RequestHeader, ResponseHeader};
use kafka_protocol::protocol::{Decodable, Encodable, Request, StrBytes};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);

/// A Kafka-protocol connection to another broker.
pub struct BrokerConnection {
    stream: TcpStream,
    correlation_id: i32,
    client_id: StrBytes,
}

impl BrokerConnection {
    pub async fn open(addr: &str, client_id: &str) -> std::io::Result<BrokerConnection> {
        let stream = tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect(addr))
            .await
            .map_err(|_| std::io::Error::other("connect timed out"))??;
        stream.set_nodelay(true)?;
        Ok(BrokerConnection {
            stream,
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
        let codec = |e: anyhow::Error| std::io::Error::other(e.to_string());
        self.correlation_id = self.correlation_id.wrapping_add(1);
        let header = RequestHeader::default()
            .with_request_api_key(R::KEY)
            .with_request_api_version(version)
            .with_correlation_id(self.correlation_id)
            .with_client_id(Some(self.client_id.clone()));
        let mut body = BytesMut::new();
        header
            .encode(&mut body, R::header_version(version))
            .map_err(codec)?;
        request.encode(&mut body, version).map_err(codec)?;
        let mut frame = BytesMut::with_capacity(4 + body.len());
        frame.put_i32(body.len() as i32);
        frame.extend_from_slice(&body);
        self.stream.write_all(&frame).await?;
        let len = self.stream.read_i32().await?;
        let mut response = vec![0u8; usize::try_from(len).map_err(std::io::Error::other)?];
        self.stream.read_exact(&mut response).await?;
        let mut response = bytes::Bytes::from(response);
        let response_header_version = ApiKey::try_from(R::KEY)
            .map_err(|_| std::io::Error::other("unknown api key"))?
            .response_header_version(version);
        let header =
            ResponseHeader::decode(&mut response, response_header_version).map_err(codec)?;
        if header.correlation_id != self.correlation_id {
            return Err(std::io::Error::other("response out of order"));
        }
        let decoded = R::Response::decode(&mut response, version).map_err(codec)?;
        if response.has_remaining() {
            tracing::debug!(
                remaining = response.remaining(),
                "leader sent trailing bytes"
            );
        }
        Ok(decoded)
    }
}
