//! A Kafka-protocol client from one broker to another (follower fetches,
//! transaction markers): requests framed and encoded by `kafka-protocol`,
//! one at a time on one connection.

use std::time::Duration;

use kafka_protocol::protocol::{Request, StrBytes};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::wire_format::{decode_response, request_frame};

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
        self.correlation_id = self.correlation_id.wrapping_add(1);
        let frame = request_frame(request, version, self.correlation_id, &self.client_id)
            .map_err(std::io::Error::other)?;
        self.stream.write_all(&frame).await?;
        let len = self.stream.read_i32().await?;
        let mut response = vec![0u8; usize::try_from(len).map_err(std::io::Error::other)?];
        self.stream.read_exact(&mut response).await?;
        decode_response::<R>(response.into(), version, self.correlation_id)
            .map_err(std::io::Error::other)
    }
}
