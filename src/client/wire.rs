//! The tools' own Kafka-protocol connection, for admin APIs librdkafka does
//! not offer (partition reassignments, the cluster-wide default broker
//! configs): requests encoded by
//! `kafka-protocol`, at the highest version both ends support (from
//! ApiVersions), sent to the active controller as Kafka's admin client
//! sends them. Broker code has its own client; the tools never share the
//! broker's modules, so that they stay usable against any cluster.

use std::collections::HashMap;
use std::time::Duration;

use bytes::Bytes;
use kafka_protocol::messages::{ApiKey, ApiVersionsRequest, MetadataRequest};
use kafka_protocol::protocol::{Request, StrBytes};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::config::ClientSettings;
use super::error::{ClientError, Result};
use crate::wire_format::{decode_response, request_frame};

/// Larger answers are taken for a stream that is not Kafka's protocol.
const MAX_RESPONSE_BYTES: usize = 100 * 1024 * 1024;

/// One connection to one broker; requests go one at a time.
pub struct Connection {
    stream: TcpStream,
    address: String,
    correlation_id: i32,
    client_id: StrBytes,
    timeout: Duration,
    /// API key -> (min, max) version the broker serves.
    versions: HashMap<i16, (i16, i16)>,
}

/// The last value the user gave a librdkafka property, if any.
fn property<'a>(settings: &'a ClientSettings, key: &str) -> Option<&'a str> {
    settings
        .properties
        .iter()
        .rev()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
}

impl Connection {
    /// A connection to the cluster's active controller, found through the
    /// first bootstrap server that answers. A cluster that names no
    /// controller gets the bootstrap connection: KRaft brokers forward
    /// controller requests themselves.
    pub async fn to_controller(settings: &ClientSettings) -> Result<Connection> {
        if let Some(protocol) = property(settings, "security.protocol") {
            if !protocol.eq_ignore_ascii_case("plaintext") {
                return Err(ClientError::Invalid(format!(
                    "security.protocol={protocol} is not supported here: partition \
                     reassignments and broker defaults are sent without librdkafka, \
                     over PLAINTEXT only"
                )));
            }
        }
        let mut bootstrap = Connection::to_bootstrap(settings).await?;
        let metadata = bootstrap
            .call(&MetadataRequest::default().with_topics(Some(Vec::new())), 1)
            .await?;
        let controller = metadata
            .brokers
            .iter()
            .find(|b| b.node_id == metadata.controller_id)
            .map(|b| format!("{}:{}", b.host.as_str(), b.port));
        match controller {
            Some(address) if address != bootstrap.address => {
                Connection::open(&address, settings).await
            }
            _ => Ok(bootstrap),
        }
    }

    async fn to_bootstrap(settings: &ClientSettings) -> Result<Connection> {
        let servers = property(settings, "bootstrap.servers").unwrap_or(&settings.bootstrap);
        let mut failure = None;
        for server in servers.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            // librdkafka also takes PLAINTEXT://host:port.
            let address = server.rsplit("://").next().unwrap_or(server);
            match Connection::open(address, settings).await {
                Ok(connection) => return Ok(connection),
                Err(e) => failure = Some(e),
            }
        }
        Err(failure
            .unwrap_or_else(|| ClientError::Invalid(format!("no bootstrap server in '{servers}'"))))
    }

    /// Connects and asks which versions of each API the broker serves.
    async fn open(address: &str, settings: &ClientSettings) -> Result<Connection> {
        let unreachable = |cause: String| ClientError::Wire {
            context: format!(
                "cannot reach the cluster at {address} within {}s",
                settings.timeout.as_secs()
            ),
            cause,
        };
        let stream = tokio::time::timeout(settings.timeout, TcpStream::connect(address))
            .await
            .map_err(|_| unreachable("connection timed out".to_string()))?
            .map_err(|e| unreachable(e.to_string()))?;
        stream
            .set_nodelay(true)
            .map_err(|e| unreachable(e.to_string()))?;
        let client_id = property(settings, "client.id").unwrap_or("gregor-admin");
        let mut connection = Connection {
            stream,
            address: address.to_string(),
            correlation_id: 0,
            client_id: StrBytes::from_string(client_id.to_string()),
            timeout: settings.timeout,
            versions: HashMap::new(),
        };
        // v0: every broker answers it, and it lists every API's range.
        let response = connection
            .exchange(&ApiVersionsRequest::default(), 0)
            .await?;
        if response.error_code != 0 {
            return Err(ClientError::Protocol {
                context: format!("ApiVersions at {address}"),
                code: response.error_code,
                message: None,
            });
        }
        connection.versions = response
            .api_keys
            .iter()
            .map(|k| (k.api_key, (k.min_version, k.max_version)))
            .collect();
        Ok(connection)
    }

    /// How long a request may take on the broker: the settings' timeout,
    /// which each call also waits a little longer than.
    pub fn timeout_ms(&self) -> i32 {
        self.timeout.as_millis().min(i32::MAX as u128) as i32
    }

    /// Sends `request` at the highest version both sides support, which
    /// must be at least `min_version` (the first with the fields used).
    pub async fn call<R: Request>(&mut self, request: &R, min_version: i16) -> Result<R::Response> {
        let version = match self.versions.get(&R::KEY) {
            Some(&(min, max)) => {
                let version = max.min(R::VERSIONS.max);
                (version >= min.max(min_version)).then_some(version)
            }
            None => None,
        };
        let Some(version) = version else {
            return Err(ClientError::Invalid(format!(
                "the broker at {} does not serve {} at version {min_version} or later, \
                 which this tool needs",
                self.address,
                api_name::<R>()
            )));
        };
        self.exchange(request, version).await
    }

    async fn exchange<R: Request>(&mut self, request: &R, version: i16) -> Result<R::Response> {
        let context = format!("{} to {}", api_name::<R>(), self.address);
        let wire = |cause: String| ClientError::Wire {
            context: context.clone(),
            cause,
        };
        let wait = self.timeout + Duration::from_secs(5);
        tokio::time::timeout(wait, self.round_trip(request, version))
            .await
            .map_err(|_| wire(format!("no answer within {}s", wait.as_secs())))?
            .map_err(wire)
    }

    async fn round_trip<R: Request>(
        &mut self,
        request: &R,
        version: i16,
    ) -> std::result::Result<R::Response, String> {
        self.correlation_id = self.correlation_id.wrapping_add(1);
        let frame = request_frame(request, version, self.correlation_id, &self.client_id)?;
        self.stream
            .write_all(&frame)
            .await
            .map_err(|e| e.to_string())?;
        let len = self.stream.read_i32().await.map_err(|e| e.to_string())?;
        let len = usize::try_from(len)
            .ok()
            .filter(|l| *l <= MAX_RESPONSE_BYTES)
            .ok_or_else(|| format!("an answer of {len} bytes is not Kafka's protocol"))?;
        let mut response = vec![0u8; len];
        self.stream
            .read_exact(&mut response)
            .await
            .map_err(|e| e.to_string())?;
        decode_response::<R>(Bytes::from(response), version, self.correlation_id)
    }
}

fn api_name<R: Request>() -> String {
    ApiKey::try_from(R::KEY)
        .map(|k| format!("{k:?}"))
        .unwrap_or_else(|_| format!("API {}", R::KEY))
}
