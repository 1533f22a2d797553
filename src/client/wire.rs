//! The tools' own Kafka-protocol connection, for admin APIs librdkafka does
//! not offer (partition reassignments, the cluster-wide default broker
//! configs): requests encoded by
//! `kafka-protocol`, at the highest version both ends support (from
//! ApiVersions), sent to the active controller as Kafka's admin client
//! sends them. Broker code has its own client; the tools never share the
//! broker's modules, so that they stay usable against any cluster.
//!
//! It reads the same librdkafka properties as the rest of the tools:
//! `security.protocol` SSL and SASL_SSL over rustls (`ssl.ca.location` or
//! `ssl.ca.pem`, a client certificate from `ssl.certificate.location` /
//! `ssl.key.location` or their `.pem` forms,
//! `ssl.endpoint.identification.algorithm`,
//! `enable.ssl.certificate.verification`), and SASL_PLAINTEXT / SASL_SSL
//! with `sasl.mechanism` PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use bytes::{BufMut, Bytes, BytesMut};
use kafka_protocol::messages::{
    ApiKey, ApiVersionsRequest, MetadataRequest, SaslAuthenticateRequest, SaslHandshakeRequest,
};
use kafka_protocol::protocol::{Request, StrBytes};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;

use super::config::ClientSettings;
use super::error::{ClientError, Result};
use super::sasl::{plain_message, Mechanism, Scram};
use crate::wire_format::{decode_response, request_frame};

/// Larger answers are taken for a stream that is not Kafka's protocol.
const MAX_RESPONSE_BYTES: usize = 100 * 1024 * 1024;

/// A byte stream to a broker: TCP, or TLS over TCP.
pub(crate) trait Stream: AsyncRead + AsyncWrite + Unpin + Send {}

impl<T: AsyncRead + AsyncWrite + Unpin + Send> Stream for T {}

/// A connection's halves once split (`Connection::into_split`).
pub(crate) type ReadSide = tokio::io::ReadHalf<Box<dyn Stream>>;
pub(crate) type WriteSide = tokio::io::WriteHalf<Box<dyn Stream>>;

/// One connection to one broker; requests go one at a time.
pub struct Connection {
    stream: Box<dyn Stream>,
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

    /// A connection to the leader of one partition, found through the
    /// first bootstrap server that answers (Kafka's admin client sends
    /// DescribeProducers there).
    pub async fn to_leader(
        settings: &ClientSettings,
        topic: &str,
        partition: i32,
    ) -> Result<Connection> {
        let mut bootstrap = Connection::to_bootstrap(settings).await?;
        // Asking about a topic must not create it.
        let wanted = kafka_protocol::messages::metadata_request::MetadataRequestTopic::default()
            .with_name(Some(kafka_protocol::messages::TopicName(
                StrBytes::from_string(topic.to_string()),
            )));
        let request = MetadataRequest::default()
            .with_allow_auto_topic_creation(false)
            .with_topics(Some(vec![wanted]));
        let metadata = bootstrap.call(&request, 4).await?;
        let found = metadata
            .topics
            .iter()
            .find(|t| t.name.as_ref().is_some_and(|n| n.as_str() == topic));
        if let Some(t) = found.filter(|t| t.error_code != 0) {
            return Err(ClientError::Protocol {
                context: format!("Metadata for {topic}"),
                code: t.error_code,
                message: None,
            });
        }
        let leader = found
            .and_then(|t| t.partitions.iter().find(|p| p.partition_index == partition))
            .map(|p| p.leader_id)
            .ok_or_else(|| ClientError::Invalid(format!("{topic} has no partition {partition}")))?;
        let address = metadata
            .brokers
            .iter()
            .find(|b| b.node_id == leader)
            .map(|b| format!("{}:{}", b.host.as_str(), b.port))
            .ok_or_else(|| {
                ClientError::Invalid(format!("{topic}-{partition} has no leader now"))
            })?;
        if address == bootstrap.address {
            return Ok(bootstrap);
        }
        Connection::open(&address, settings).await
    }

    /// The cluster's brokers, `(node id, HOST:PORT)` by node id, as the
    /// first bootstrap server that answers lists them.
    pub async fn brokers(settings: &ClientSettings) -> Result<Vec<(i32, String)>> {
        Connection::to_bootstrap(settings)
            .await?
            .list_brokers()
            .await
    }

    /// The cluster's brokers, `(node id, HOST:PORT)` by node id, as this
    /// connection's broker lists them.
    pub async fn list_brokers(&mut self) -> Result<Vec<(i32, String)>> {
        let metadata = self
            .call(&MetadataRequest::default().with_topics(Some(Vec::new())), 1)
            .await?;
        let mut brokers: Vec<(i32, String)> = metadata
            .brokers
            .iter()
            .map(|b| (b.node_id.0, format!("{}:{}", b.host.as_str(), b.port)))
            .collect();
        brokers.sort_unstable();
        Ok(brokers)
    }

    /// A connection to the broker at `address` (HOST:PORT).
    pub async fn to_address(settings: &ClientSettings, address: &str) -> Result<Connection> {
        Connection::open(address, settings).await
    }

    /// A connection to the first bootstrap server that answers.
    pub async fn to_bootstrap(settings: &ClientSettings) -> Result<Connection> {
        let servers = if settings.to_controllers {
            &settings.bootstrap
        } else {
            property(settings, "bootstrap.servers").unwrap_or(&settings.bootstrap)
        };
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
        let unreachable = |cause: String| ClientError::Disconnected {
            context: format!(
                "cannot reach the cluster at {address} within {}s",
                settings.timeout.as_secs()
            ),
            cause,
        };
        let security = Security::from_settings(settings)?;
        let tcp = tokio::time::timeout(settings.timeout, TcpStream::connect(address))
            .await
            .map_err(|_| unreachable("connection timed out".to_string()))?
            .map_err(|e| unreachable(e.to_string()))?;
        tcp.set_nodelay(true)
            .map_err(|e| unreachable(e.to_string()))?;
        let stream: Box<dyn Stream> = match &security.tls {
            None => Box::new(tcp),
            Some(tls) => {
                let handshake = tls.connect(address, tcp);
                Box::new(
                    tokio::time::timeout(settings.timeout, handshake)
                        .await
                        .map_err(|_| unreachable("the TLS handshake timed out".to_string()))??,
                )
            }
        };
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
        if let Some(sasl) = &security.sasl {
            connection.authenticate(sasl).await?;
        }
        Ok(connection)
    }

    /// SaslHandshake (v1, so that the exchange goes in SaslAuthenticate
    /// requests) and the mechanism's messages.
    async fn authenticate(&mut self, sasl: &SaslSettings) -> Result<()> {
        let mechanism = sasl.mechanism.name();
        let handshake = self
            .call(
                &SaslHandshakeRequest::default()
                    .with_mechanism(StrBytes::from_static_str(mechanism)),
                1,
            )
            .await?;
        if handshake.error_code != 0 {
            let enabled: Vec<&str> = handshake.mechanisms.iter().map(|m| m.as_str()).collect();
            return Err(ClientError::Protocol {
                context: format!("SASL {mechanism} at {}", self.address),
                code: handshake.error_code,
                message: Some(format!("the broker offers {}", enabled.join(", "))),
            });
        }
        match sasl.mechanism {
            Mechanism::Plain => {
                self.sasl_step(plain_message(&sasl.username, &sasl.password))
                    .await?;
            }
            Mechanism::ScramSha256 | Mechanism::ScramSha512 => {
                let mut scram = Scram::new(sasl.mechanism, &sasl.username, &sasl.password);
                let server_first = self.sasl_step(scram.client_first()).await?;
                let server_final = self.sasl_step(scram.client_final(&server_first)?).await?;
                scram.verify_server_final(&server_final)?;
            }
        }
        Ok(())
    }

    /// One SaslAuthenticate round: our message, the broker's answer.
    async fn sasl_step(&mut self, message: Vec<u8>) -> Result<Bytes> {
        let response = self
            .call(
                &SaslAuthenticateRequest::default().with_auth_bytes(Bytes::from(message)),
                0,
            )
            .await?;
        if response.error_code != 0 {
            return Err(ClientError::Protocol {
                context: format!("SASL authentication at {}", self.address),
                code: response.error_code,
                message: response.error_message.map(|m| m.to_string()),
            });
        }
        Ok(response.auth_bytes)
    }

    /// How long a request may take on the broker: the settings' timeout,
    /// which each call also waits a little longer than.
    pub fn timeout_ms(&self) -> i32 {
        self.timeout.as_millis().min(i32::MAX as u128) as i32
    }

    /// HOST:PORT of the broker at the other end.
    pub fn address(&self) -> &str {
        &self.address
    }

    /// The client.id requests on this connection carry.
    pub(crate) fn client_id(&self) -> &StrBytes {
        &self.client_id
    }

    /// The two directions of the stream, for a caller that keeps several
    /// requests in flight (perf-test's own producer) where `call` sends
    /// one at a time; correlation ids are then the caller's.
    pub(crate) fn into_split(self) -> (ReadSide, WriteSide) {
        tokio::io::split(self.stream)
    }

    /// The version `call` sends `R` at: the highest both sides support,
    /// which must be at least `min_version` (the first with the fields
    /// used). Callers filling fields only some versions have ask first.
    pub fn version<R: Request>(&self, min_version: i16) -> Result<i16> {
        let version = match self.versions.get(&R::KEY) {
            Some(&(min, max)) => {
                let version = max.min(R::VERSIONS.max);
                (version >= min.max(min_version)).then_some(version)
            }
            None => None,
        };
        version.ok_or_else(|| {
            ClientError::Invalid(format!(
                "the broker at {} does not serve {} at version {min_version} or later, \
                 which this tool needs",
                self.address,
                api_name::<R>()
            ))
        })
    }

    /// Sends `request` at the highest version both sides support, which
    /// must be at least `min_version` (the first with the fields used).
    pub async fn call<R: Request>(&mut self, request: &R, min_version: i16) -> Result<R::Response> {
        let version = self.version::<R>(min_version)?;
        self.exchange(request, version).await
    }

    async fn exchange<R: Request>(&mut self, request: &R, version: i16) -> Result<R::Response> {
        let context = format!("{} to {}", api_name::<R>(), self.address);
        let wait = self.timeout + Duration::from_secs(5);
        match tokio::time::timeout(wait, self.round_trip(request, version)).await {
            Err(_) => Err(ClientError::Disconnected {
                context,
                cause: format!("no answer within {}s", wait.as_secs()),
            }),
            Ok(Err(Failure::Io(cause))) => Err(ClientError::Disconnected { context, cause }),
            Ok(Err(Failure::Garbled(cause))) => Err(ClientError::Wire { context, cause }),
            Ok(Ok(response)) => Ok(response),
        }
    }

    async fn round_trip<R: Request>(
        &mut self,
        request: &R,
        version: i16,
    ) -> std::result::Result<R::Response, Failure> {
        self.correlation_id = self.correlation_id.wrapping_add(1);
        let frame = request_frame(request, version, self.correlation_id, &self.client_id)
            .map_err(Failure::Garbled)?;
        let io = |e: std::io::Error| Failure::Io(e.to_string());
        self.stream.write_all(&frame).await.map_err(io)?;
        let len = self.stream.read_i32().await.map_err(io)?;
        let len = usize::try_from(len)
            .ok()
            .filter(|l| *l <= MAX_RESPONSE_BYTES)
            .ok_or_else(|| {
                Failure::Garbled(format!("an answer of {len} bytes is not Kafka's protocol"))
            })?;
        // Read into spare capacity: zeroing a buffer of up to fetch.max.bytes
        // for the read to overwrite cost a consumer more than counting the
        // records in it.
        let mut response = BytesMut::with_capacity(len);
        while response.len() < len {
            let room = len - response.len();
            if self
                .stream
                .read_buf(&mut (&mut response).limit(room))
                .await
                .map_err(io)?
                == 0
            {
                return Err(Failure::Io(format!(
                    "the broker closed the connection {} bytes into an answer of {len}",
                    response.len()
                )));
            }
        }
        decode_response::<R>(response.freeze(), version, self.correlation_id)
            .map_err(Failure::Garbled)
    }
}

/// Why a round trip failed: the connection (the broker went away or is
/// too slow, which passes), or what went over it (which does not).
enum Failure {
    Io(String),
    Garbled(String),
}

fn api_name<R: Request>() -> String {
    ApiKey::try_from(R::KEY)
        .map(|k| format!("{k:?}"))
        .unwrap_or_else(|_| format!("API {}", R::KEY))
}

/// Whether this connection can honour the settings' security properties
/// (librdkafka can honour more: GSSAPI, OAUTHBEARER, encrypted keys).
pub fn supports(settings: &ClientSettings) -> bool {
    Security::from_settings(settings).is_ok()
}

/// What the librdkafka security properties ask of a connection.
struct Security {
    tls: Option<Tls>,
    sasl: Option<SaslSettings>,
}

struct SaslSettings {
    mechanism: Mechanism,
    username: String,
    password: String,
}

impl Security {
    fn from_settings(settings: &ClientSettings) -> Result<Security> {
        let protocol = property(settings, "security.protocol")
            .unwrap_or("plaintext")
            .to_ascii_lowercase();
        let (tls, sasl) = match protocol.as_str() {
            "plaintext" => (false, false),
            "ssl" => (true, false),
            "sasl_plaintext" => (false, true),
            "sasl_ssl" => (true, true),
            other => {
                return Err(ClientError::Invalid(format!(
                "security.protocol={other} is not one of plaintext, ssl, sasl_plaintext, sasl_ssl"
            )))
            }
        };
        let sasl = if sasl {
            // librdkafka's default mechanism is GSSAPI, which needs Kerberos.
            let name = property(settings, "sasl.mechanism")
                .or_else(|| property(settings, "sasl.mechanisms"))
                .unwrap_or("GSSAPI");
            let mechanism = Mechanism::from_name(name).ok_or_else(|| {
                ClientError::Invalid(format!(
                    "sasl.mechanism={name} is not supported by this tool's own connection \
                     (PLAIN, SCRAM-SHA-256 and SCRAM-SHA-512 are)"
                ))
            })?;
            let get = |key: &str| {
                property(settings, key).map(str::to_string).ok_or_else(|| {
                    ClientError::Invalid(format!("sasl.mechanism={name} needs {key}"))
                })
            };
            Some(SaslSettings {
                mechanism,
                username: get("sasl.username")?,
                password: get("sasl.password")?,
            })
        } else {
            None
        };
        let tls = if tls {
            Some(Tls::from_settings(settings)?)
        } else {
            None
        };
        Ok(Security { tls, sasl })
    }
}

/// A TLS client as librdkafka's ssl.* properties describe it.
struct Tls {
    config: Arc<rustls::ClientConfig>,
}

fn tls_error(why: impl std::fmt::Display) -> ClientError {
    ClientError::Invalid(format!("TLS settings: {why}"))
}

/// PEM text from an inline `*.pem` property or the file a `*.location`
/// property names.
fn pem(settings: &ClientSettings, inline: &str, location: &str) -> Result<Option<Vec<u8>>> {
    if let Some(text) = property(settings, inline) {
        return Ok(Some(text.as_bytes().to_vec()));
    }
    match property(settings, location) {
        Some(path) => std::fs::read(Path::new(path))
            .map(Some)
            .map_err(|cause| ClientError::Io {
                path: format!("{path} ({location})"),
                cause,
            }),
        None => Ok(None),
    }
}

impl Tls {
    fn from_settings(settings: &ClientSettings) -> Result<Tls> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let verify = property(settings, "enable.ssl.certificate.verification")
            .is_none_or(|v| !v.eq_ignore_ascii_case("false"));
        let check_name = property(settings, "ssl.endpoint.identification.algorithm")
            .is_none_or(|v| !v.eq_ignore_ascii_case("none"));
        let mut roots = rustls::RootCertStore::empty();
        match pem(settings, "ssl.ca.pem", "ssl.ca.location")? {
            Some(bytes) => {
                for cert in CertificateDer::pem_slice_iter(&bytes) {
                    let cert = cert.map_err(|e| tls_error(format!("the CA certificates: {e}")))?;
                    roots
                        .add(cert)
                        .map_err(|e| tls_error(format!("a CA certificate: {e}")))?;
                }
                if roots.is_empty() {
                    return Err(tls_error("no certificate in ssl.ca.location"));
                }
            }
            None if verify => {
                return Err(tls_error(
                    "ssl.ca.location (or ssl.ca.pem) is needed: this tool's own connection does \
                     not read the system's CA store",
                ))
            }
            None => {}
        }
        let builder = rustls::ClientConfig::builder_with_provider(Arc::clone(&provider))
            .with_safe_default_protocol_versions()
            .map_err(tls_error)?;
        let builder = if verify && check_name {
            builder.with_root_certificates(roots)
        } else {
            let verifier: Arc<dyn ServerCertVerifier> = if verify {
                Arc::new(AnyName(
                    rustls::client::WebPkiServerVerifier::builder_with_provider(
                        Arc::new(roots),
                        Arc::clone(&provider),
                    )
                    .build()
                    .map_err(tls_error)?,
                ))
            } else {
                Arc::new(Unverified(Arc::clone(&provider)))
            };
            builder
                .dangerous()
                .with_custom_certificate_verifier(verifier)
        };
        let certificate = pem(settings, "ssl.certificate.pem", "ssl.certificate.location")?;
        let key = pem(settings, "ssl.key.pem", "ssl.key.location")?;
        let config = match (certificate, key) {
            (Some(certificate), Some(key)) => {
                let chain = CertificateDer::pem_slice_iter(&certificate)
                    .collect::<std::result::Result<Vec<_>, _>>()
                    .map_err(|e| tls_error(format!("ssl.certificate.location: {e}")))?;
                // An encrypted PKCS#8 key opens with ssl.key.password,
                // as the broker's PEM keystores do.
                let key = crate::pem_key::private_key(&key, property(settings, "ssl.key.password"))
                    .map_err(|e| tls_error(format!("ssl.key.location: {e}")))?;
                builder
                    .with_client_auth_cert(chain, key)
                    .map_err(tls_error)?
            }
            (None, None) => builder.with_no_client_auth(),
            _ => {
                return Err(tls_error(
                    "a client certificate needs both ssl.certificate.location and ssl.key.location",
                ))
            }
        };
        Ok(Tls {
            config: Arc::new(config),
        })
    }

    /// The TLS handshake over `tcp`, naming the host of `address`.
    async fn connect(
        &self,
        address: &str,
        tcp: TcpStream,
    ) -> Result<tokio_rustls::client::TlsStream<TcpStream>> {
        let host = address
            .rsplit_once(':')
            .map_or(address, |(host, _)| host)
            .trim_start_matches('[')
            .trim_end_matches(']');
        let name = ServerName::try_from(host.to_string())
            .map_err(|e| tls_error(format!("'{host}' is not a server name: {e}")))?;
        tokio_rustls::TlsConnector::from(Arc::clone(&self.config))
            .connect(name, tcp)
            .await
            .map_err(|e| ClientError::Wire {
                context: format!("TLS handshake with {address}"),
                cause: e.to_string(),
            })
    }
}

/// Checks the chain as usual but not the name in it
/// (ssl.endpoint.identification.algorithm=none).
#[derive(Debug)]
struct AnyName(Arc<rustls::client::WebPkiServerVerifier>);

impl ServerCertVerifier for AnyName {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> std::result::Result<ServerCertVerified, rustls::Error> {
        match self
            .0
            .verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
        {
            Err(rustls::Error::InvalidCertificate(rustls::CertificateError::NotValidForName))
            | Err(rustls::Error::InvalidCertificate(
                rustls::CertificateError::NotValidForNameContext { .. },
            )) => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.supported_verify_schemes()
    }
}

/// Accepts any certificate (enable.ssl.certificate.verification=false), as
/// librdkafka does when told to; the handshake's signatures still count.
#[derive(Debug)]
struct Unverified(Arc<CryptoProvider>);

impl ServerCertVerifier for Unverified {
    fn verify_server_cert(
        &self,
        _: &CertificateDer<'_>,
        _: &[CertificateDer<'_>],
        _: &ServerName<'_>,
        _: &[u8],
        _: UnixTime,
    ) -> std::result::Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rcgen::{BasicConstraints, Certificate, CertificateParams, IsCa, KeyPair};
    use rustls::pki_types::PrivateKeyDer;
    use tokio::net::TcpListener;

    struct Ca {
        cert: Certificate,
        key: KeyPair,
    }

    fn ca(name: &str) -> Ca {
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, name);
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        let key = KeyPair::generate().unwrap();
        Ca {
            cert: params.self_signed(&key).unwrap(),
            key,
        }
    }

    /// A certificate for `names` signed by `ca`: (PEM certificate, PEM key).
    fn leaf(ca: &Ca, names: &[&str]) -> (String, String) {
        let names: Vec<String> = names.iter().map(|n| n.to_string()).collect();
        let key = KeyPair::generate().unwrap();
        let cert = CertificateParams::new(names)
            .unwrap()
            .signed_by(&key, &ca.cert, &ca.key)
            .unwrap();
        (cert.pem(), key.serialize_pem())
    }

    /// A TLS server on 127.0.0.1 that says "hello" to each client it
    /// accepts; with `client_ca`, only to clients with a certificate it signed.
    async fn server(cert: &(String, String), client_ca: Option<&Ca>) -> u16 {
        let chain = vec![CertificateDer::from_pem_slice(cert.0.as_bytes()).unwrap()];
        let key = PrivateKeyDer::from_pem_slice(cert.1.as_bytes()).unwrap();
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let builder = rustls::ServerConfig::builder_with_provider(Arc::clone(&provider))
            .with_safe_default_protocol_versions()
            .unwrap();
        let builder = match client_ca {
            Some(ca) => {
                let mut roots = rustls::RootCertStore::empty();
                roots.add(ca.cert.der().clone()).unwrap();
                builder.with_client_cert_verifier(
                    rustls::server::WebPkiClientVerifier::builder_with_provider(
                        Arc::new(roots),
                        provider,
                    )
                    .build()
                    .unwrap(),
                )
            }
            None => builder.with_no_client_auth(),
        };
        let config = Arc::new(builder.with_single_cert(chain, key).unwrap());
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        tokio::spawn(async move {
            while let Ok((tcp, _)) = listener.accept().await {
                let acceptor = tokio_rustls::TlsAcceptor::from(Arc::clone(&config));
                tokio::spawn(async move {
                    if let Ok(mut tls) = acceptor.accept(tcp).await {
                        let _ = tls.write_all(b"hello").await;
                        let _ = tls.shutdown().await;
                    }
                });
            }
        });
        port
    }

    fn settings(properties: &[(&str, &str)]) -> ClientSettings {
        properties
            .iter()
            .fold(ClientSettings::new("127.0.0.1:1"), |s, (k, v)| {
                s.set(*k, *v)
            })
    }

    /// Connects with `properties` and reads the server's greeting.
    async fn greeting(port: u16, properties: &[(&str, &str)]) -> Result<String> {
        let security = Security::from_settings(&settings(properties))?;
        let tls = security.tls.expect("a TLS protocol");
        let address = format!("127.0.0.1:{port}");
        let tcp = TcpStream::connect(&address).await.unwrap();
        let mut stream = tls.connect(&address, tcp).await?;
        let mut text = String::new();
        stream
            .read_to_string(&mut text)
            .await
            .map_err(|e| ClientError::Wire {
                context: "read".to_string(),
                cause: e.to_string(),
            })?;
        Ok(text)
    }

    fn write(dir: &Path, name: &str, text: &str) -> String {
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap();
        path.to_str().unwrap().to_string()
    }

    #[tokio::test]
    async fn tls_trusts_the_given_ca_and_checks_the_name() {
        let dir = tempfile::tempdir().unwrap();
        let ours = ca("our CA");
        let ca_file = write(dir.path(), "ca.pem", &ours.cert.pem());
        let port = server(&leaf(&ours, &["127.0.0.1"]), None).await;
        let trusted = [("security.protocol", "SSL"), ("ssl.ca.location", &ca_file)];
        assert_eq!(greeting(port, &trusted).await.unwrap(), "hello");

        let elsewhere = server(&leaf(&ours, &["broker.example"]), None).await;
        let wrong_name = greeting(elsewhere, &trusted).await.unwrap_err().to_string();
        assert!(
            wrong_name.contains("TLS handshake with 127.0.0.1"),
            "{wrong_name}"
        );
        assert!(wrong_name.contains("not valid for name"), "{wrong_name}");
        let no_name_check = [
            ("security.protocol", "ssl"),
            ("ssl.ca.pem", &ours.cert.pem()),
            ("ssl.endpoint.identification.algorithm", "none"),
        ];
        assert_eq!(greeting(elsewhere, &no_name_check).await.unwrap(), "hello");

        let theirs = ca("their CA");
        let stranger = server(&leaf(&theirs, &["127.0.0.1"]), None).await;
        let untrusted = greeting(stranger, &trusted).await.unwrap_err().to_string();
        assert!(untrusted.contains("UnknownIssuer"), "{untrusted}");
        let unverified = [
            ("security.protocol", "SSL"),
            ("enable.ssl.certificate.verification", "false"),
        ];
        assert_eq!(greeting(stranger, &unverified).await.unwrap(), "hello");
    }

    #[tokio::test]
    async fn tls_presents_the_client_certificate_a_server_requires() {
        let dir = tempfile::tempdir().unwrap();
        let ours = ca("our CA");
        let ca_file = write(dir.path(), "ca.pem", &ours.cert.pem());
        let port = server(&leaf(&ours, &["127.0.0.1"]), Some(&ours)).await;
        let (cert, key) = leaf(&ours, &["client"]);
        let cert_file = write(dir.path(), "client.pem", &cert);
        let key_file = write(dir.path(), "client.key", &key);
        let with_certificate = [
            ("security.protocol", "SSL"),
            ("ssl.ca.location", ca_file.as_str()),
            ("ssl.certificate.location", cert_file.as_str()),
            ("ssl.key.location", key_file.as_str()),
        ];
        assert_eq!(greeting(port, &with_certificate).await.unwrap(), "hello");
        let without = [("security.protocol", "SSL"), ("ssl.ca.location", &ca_file)];
        assert!(
            greeting(port, &without).await.is_err(),
            "the server wants a certificate"
        );
    }

    #[test]
    fn settings_it_cannot_honour_are_refused_in_a_line() {
        let refused = |properties: &[(&str, &str)], why: &str| {
            let e = Security::from_settings(&settings(properties))
                .err()
                .unwrap_or_else(|| panic!("{properties:?} accepted"))
                .to_string();
            assert!(e.contains(why), "{e}");
            assert_eq!(e.lines().count(), 1);
        };
        refused(&[("security.protocol", "SSL")], "ssl.ca.location");
        refused(&[("security.protocol", "TLS")], "is not one of");
        refused(
            &[("security.protocol", "SASL_PLAINTEXT")],
            "sasl.mechanism=GSSAPI",
        );
        refused(
            &[
                ("security.protocol", "sasl_plaintext"),
                ("sasl.mechanism", "PLAIN"),
            ],
            "needs sasl.username",
        );
        refused(
            &[
                ("security.protocol", "SSL"),
                ("ssl.ca.location", "/nonexistent/ca.pem"),
            ],
            "/nonexistent/ca.pem",
        );
        let plain = Security::from_settings(&settings(&[])).unwrap();
        assert!(plain.tls.is_none() && plain.sasl.is_none());
        let sasl = Security::from_settings(&settings(&[
            ("security.protocol", "SASL_SSL"),
            ("ssl.ca.pem", &ca("a CA").cert.pem()),
            ("sasl.mechanisms", "SCRAM-SHA-512"),
            ("sasl.username", "u"),
            ("sasl.password", "p"),
        ]))
        .unwrap();
        assert!(sasl.tls.is_some());
        assert_eq!(sasl.sasl.unwrap().mechanism, Mechanism::ScramSha512);
    }
}
