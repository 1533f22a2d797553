//! TLS for SSL and SASL_SSL listeners, with Kafka's `ssl.*` settings read
//! per listener (`listener.name.<l>.ssl.*` over the broker-wide value):
//! the keystore (PEM file, PKCS12 file, or inline PEM), the truststore
//! client certificates are checked against, `ssl.client.auth`, protocol
//! versions and cipher suites. The principal of an mTLS client is its
//! certificate's subject in RFC 2253 form, mapped by
//! `ssl.principal.mapping.rules` as Kafka's `SslPrincipalMapper` does.
//!
//! The keystore and truststore files are polled for changes; a change
//! builds a new server configuration for new connections, and a file that
//! no longer loads is logged while the previous configuration stays.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use rustls::server::WebPkiClientVerifier;
use rustls::{RootCertStore, ServerConfig, SupportedProtocolVersion};
use tokio::sync::watch;

use super::{KafkaPrincipal, SecurityProtocol};
use crate::config::BrokerConfig;

/// How often the keystore and truststore files are checked for changes.
pub const RELOAD_CHECK: Duration = Duration::from_secs(2);

#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("listener {listener}: {reason}")]
    Config { listener: String, reason: String },
}

fn config_error(listener: &str, reason: impl Into<String>) -> TlsError {
    TlsError::Config {
        listener: listener.to_string(),
        reason: reason.into(),
    }
}

/// `ssl.client.auth`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ClientAuth {
    None,
    Requested,
    Required,
}

/// What one listener's TLS is built from, read once from the config; the
/// files it names are read again on every reload. No `Debug`: it holds
/// passwords and may hold a private key.
#[derive(Clone)]
struct Settings {
    listener: String,
    keystore: Store,
    /// `ssl.key.password`: the passphrase of an encrypted PKCS#8 PEM key.
    key_password: Option<String>,
    truststore: Option<Store>,
    client_auth: ClientAuth,
    protocols: Vec<&'static SupportedProtocolVersion>,
    cipher_suites: Vec<String>,
}

/// A keystore or truststore: a file, or inline PEM.
#[derive(Clone, PartialEq)]
enum Store {
    File {
        /// The name of the config key the path came from, for errors.
        key: &'static str,
        path: PathBuf,
        kind: Option<StoreType>,
        password: Option<String>,
    },
    InlinePem {
        certificates: String,
        key: Option<String>,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum StoreType {
    Pem,
    Pkcs12,
}

impl Store {
    fn path(&self) -> Option<&Path> {
        match self {
            Store::File { path, .. } => Some(path),
            Store::InlinePem { .. } => None,
        }
    }
}

/// A store's type: PEM and PKCS12 as set; Kafka's default (JKS) reads
/// what the file holds, as Java reads a PKCS12 file as JKS's successor.
fn store_type(
    listener: &str,
    type_key: &str,
    explicit: Option<&str>,
) -> Result<Option<StoreType>, TlsError> {
    match explicit.map(str::to_ascii_uppercase).as_deref() {
        Some("PEM") => Ok(Some(StoreType::Pem)),
        Some("PKCS12") => Ok(Some(StoreType::Pkcs12)),
        Some("JKS") | None => Ok(None),
        Some(other) => Err(config_error(
            listener,
            format!("{type_key}={other} is not supported: use PEM or PKCS12"),
        )),
    }
}

/// A listener's truststore settings, if it has one.
fn read_truststore(config: &BrokerConfig, listener: &str) -> Result<Option<Store>, TlsError> {
    let get = |key: &str| {
        config
            .listener_value(listener, key)
            .filter(|v| !v.trim().is_empty())
    };
    let per_listener = format!(
        "listener.name.{}.ssl.truststore.type",
        listener.to_ascii_lowercase()
    );
    let explicit = config
        .explicit(&per_listener)
        .or_else(|| config.explicit("ssl.truststore.type"));
    let truststore_type = store_type(listener, "ssl.truststore.type", explicit)?;
    Ok(
        match (
            get("ssl.truststore.location"),
            get("ssl.truststore.certificates"),
        ) {
            (Some(_), Some(_)) => {
                return Err(config_error(
                    listener,
                    "set ssl.truststore.location or ssl.truststore.certificates, not both",
                ))
            }
            (Some(path), None) => Some(Store::File {
                key: "ssl.truststore.location",
                path: PathBuf::from(path),
                kind: truststore_type,
                password: get("ssl.truststore.password"),
            }),
            (None, Some(certificates)) => Some(Store::InlinePem {
                certificates,
                key: None,
            }),
            (None, None) => None,
        },
    )
}

/// The certificates a listener's truststore holds, if it has one: what
/// the broker trusts when it is a client on behalf of that listener (the
/// OAUTHBEARER JWKS endpoint).
pub fn truststore_certificates(
    config: &BrokerConfig,
    listener: &str,
) -> Result<Option<Vec<CertificateDer<'static>>>, TlsError> {
    read_truststore(config, listener)?
        .map(|store| store_certificates(listener, &store))
        .transpose()
}

impl Settings {
    /// Whether `other` names the same stores, passwords and options.
    fn same_as(&self, other: &Settings) -> bool {
        let versions = |s: &Settings| -> Vec<rustls::ProtocolVersion> {
            s.protocols.iter().map(|p| p.version).collect()
        };
        self.listener == other.listener
            && self.keystore == other.keystore
            && self.key_password == other.key_password
            && self.truststore == other.truststore
            && self.client_auth == other.client_auth
            && versions(self) == versions(other)
            && self.cipher_suites == other.cipher_suites
    }

    fn read(
        config: &BrokerConfig,
        listener: &str,
        protocol: SecurityProtocol,
    ) -> Result<Settings, TlsError> {
        let get = |key: &str| {
            config
                .listener_value(listener, key)
                .filter(|v| !v.trim().is_empty())
        };
        let explicit_type = |key: &str| {
            let per_listener = format!("listener.name.{}.{key}", listener.to_ascii_lowercase());
            config
                .explicit(&per_listener)
                .or_else(|| config.explicit(key))
                .map(str::to_string)
        };
        let keystore_type = store_type(
            listener,
            "ssl.keystore.type",
            explicit_type("ssl.keystore.type").as_deref(),
        )?;
        let keystore = match (
            get("ssl.keystore.location"),
            get("ssl.keystore.certificate.chain"),
        ) {
            (Some(_), Some(_)) => {
                return Err(config_error(
                    listener,
                    "set ssl.keystore.location or ssl.keystore.certificate.chain, not both",
                ))
            }
            (Some(path), None) => Store::File {
                key: "ssl.keystore.location",
                path: PathBuf::from(path),
                kind: keystore_type,
                password: get("ssl.keystore.password"),
            },
            (None, Some(chain)) => {
                if keystore_type != Some(StoreType::Pem) {
                    return Err(config_error(
                        listener,
                        "ssl.keystore.certificate.chain needs ssl.keystore.type=PEM",
                    ));
                }
                let key = get("ssl.keystore.key").ok_or_else(|| {
                    config_error(
                        listener,
                        "ssl.keystore.certificate.chain needs ssl.keystore.key",
                    )
                })?;
                Store::InlinePem {
                    certificates: chain,
                    key: Some(key),
                }
            }
            (None, None) => {
                return Err(config_error(
                    listener,
                    "an SSL listener needs a keystore: set ssl.keystore.location (or ssl.keystore.certificate.chain and ssl.keystore.key)",
                ))
            }
        };
        let truststore = read_truststore(config, listener)?;
        // KIP-684: on SASL_SSL the client authenticates with SASL, and only
        // a per-listener ssl.client.auth asks it for a certificate too.
        let client_auth = if protocol == SecurityProtocol::SaslSsl {
            let key = format!(
                "listener.name.{}.ssl.client.auth",
                listener.to_ascii_lowercase()
            );
            config.explicit(&key).map(str::to_string)
        } else {
            get("ssl.client.auth")
        };
        let client_auth = match client_auth.as_deref() {
            Some("required") => ClientAuth::Required,
            Some("requested") => ClientAuth::Requested,
            _ => ClientAuth::None,
        };
        if client_auth != ClientAuth::None && truststore.is_none() {
            return Err(config_error(
                listener,
                "ssl.client.auth asks for client certificates but no truststore is set to check them (ssl.truststore.location or ssl.truststore.certificates)",
            ));
        }
        let mut protocols = Vec::new();
        for name in get("ssl.enabled.protocols")
            .unwrap_or_default()
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
        {
            protocols.push(match name {
                "TLSv1.2" => &rustls::version::TLS12,
                "TLSv1.3" => &rustls::version::TLS13,
                other => {
                    return Err(config_error(
                        listener,
                        format!(
                            "ssl.enabled.protocols: {other} is not supported (TLSv1.2, TLSv1.3)"
                        ),
                    ))
                }
            });
        }
        if protocols.is_empty() {
            return Err(config_error(
                listener,
                "ssl.enabled.protocols enables no protocol",
            ));
        }
        let cipher_suites = get("ssl.cipher.suites")
            .unwrap_or_default()
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect();
        Ok(Settings {
            listener: listener.to_string(),
            keystore,
            key_password: get("ssl.key.password"),
            truststore,
            client_auth,
            protocols,
            cipher_suites,
        })
    }

    fn error(&self, reason: impl Into<String>) -> TlsError {
        config_error(&self.listener, reason)
    }

    /// The ring provider with only the cipher suites `ssl.cipher.suites`
    /// names, by their IANA names (which Java uses); all when it is empty.
    fn provider(&self) -> Result<Arc<CryptoProvider>, TlsError> {
        let mut provider = rustls::crypto::ring::default_provider();
        if !self.cipher_suites.is_empty() {
            let mut chosen = Vec::new();
            for name in &self.cipher_suites {
                let found = provider
                    .cipher_suites
                    .iter()
                    .find(|s| suite_name_matches(&format!("{:?}", s.suite()), name))
                    .ok_or_else(|| {
                        self.error(format!(
                            "ssl.cipher.suites: {name} is not supported (supported: {})",
                            provider
                                .cipher_suites
                                .iter()
                                .map(|s| iana_name(&format!("{:?}", s.suite())))
                                .collect::<Vec<_>>()
                                .join(", ")
                        ))
                    })?;
                chosen.push(*found);
            }
            provider.cipher_suites = chosen;
        }
        Ok(Arc::new(provider))
    }

    /// Reads the keystore and truststore and builds the server configuration.
    fn build(&self) -> Result<Arc<ServerConfig>, TlsError> {
        let provider = self.provider()?;
        let (chain, key) = self.load_keystore()?;
        let verifier = match (&self.truststore, self.client_auth) {
            (Some(store), auth) if auth != ClientAuth::None => {
                let roots = Arc::new(self.load_truststore(store)?);
                let builder = WebPkiClientVerifier::builder_with_provider(roots, provider.clone());
                let builder = if auth == ClientAuth::Requested {
                    builder.allow_unauthenticated()
                } else {
                    builder
                };
                builder
                    .build()
                    .map_err(|e| self.error(format!("cannot use the truststore: {e}")))?
            }
            _ => WebPkiClientVerifier::no_client_auth(),
        };
        let config = ServerConfig::builder_with_provider(provider)
            .with_protocol_versions(&self.protocols)
            .map_err(|e| {
                self.error(format!(
                    "ssl.enabled.protocols and ssl.cipher.suites do not fit: {e}"
                ))
            })?
            .with_client_cert_verifier(verifier)
            .with_single_cert(chain, key)
            .map_err(|e| self.error(format!("the keystore's key and certificate: {e}")))?;
        Ok(Arc::new(config))
    }

    /// The client side of the same material: the truststore checks the
    /// server, the keystore is this broker's certificate.
    fn build_client(&self, verify_hostname: bool) -> Result<Arc<rustls::ClientConfig>, TlsError> {
        let provider = self.provider()?;
        let store = self
            .truststore
            .as_ref()
            .ok_or_else(|| self.error("no truststore"))?;
        let roots = Arc::new(self.load_truststore(store)?);
        let verifier =
            rustls::client::WebPkiServerVerifier::builder_with_provider(roots, provider.clone())
                .build()
                .map_err(|e| self.error(format!("cannot use the truststore: {e}")))?;
        let (chain, key) = self.load_keystore()?;
        let builder = rustls::ClientConfig::builder_with_provider(provider)
            .with_protocol_versions(&self.protocols)
            .map_err(|e| {
                self.error(format!(
                    "ssl.enabled.protocols and ssl.cipher.suites do not fit: {e}"
                ))
            })?;
        let builder = if verify_hostname {
            builder.with_webpki_verifier(verifier)
        } else {
            builder
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(AnyHostName(verifier)))
        };
        let config = builder
            .with_client_auth_cert(chain, key)
            .map_err(|e| self.error(format!("the keystore's key and certificate: {e}")))?;
        Ok(Arc::new(config))
    }

    fn load_keystore(
        &self,
    ) -> Result<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>), TlsError> {
        match &self.keystore {
            Store::InlinePem { certificates, key } => {
                let chain = pem_certificates(certificates.as_bytes())
                    .map_err(|e| self.error(format!("ssl.keystore.certificate.chain: {e}")))?;
                let key = crate::pem_key::private_key(
                    key.as_deref().unwrap_or_default().as_bytes(),
                    self.key_password.as_deref(),
                )
                .map_err(|e| self.error(format!("ssl.keystore.key: {e}")))?;
                Ok((chain, key))
            }
            Store::File {
                key: config_key,
                path,
                kind,
                password,
            } => {
                let data = read_store(path)
                    .map_err(|e| self.error(format!("{config_key} {}: {e}", path.display())))?;
                let at = |e: String| self.error(format!("{config_key} {}: {e}", path.display()));
                match kind.unwrap_or_else(|| sniff(&data)) {
                    StoreType::Pem => {
                        let chain = pem_certificates(&data).map_err(at)?;
                        let key = crate::pem_key::private_key(&data, self.key_password.as_deref())
                            .map_err(at)?;
                        Ok((chain, key))
                    }
                    StoreType::Pkcs12 => {
                        let store = open_pkcs12(&data, password.as_deref()).map_err(at)?;
                        let (_, entry) = store
                            .private_key_chain()
                            .ok_or_else(|| at("holds no private key".into()))?;
                        let chain: Vec<CertificateDer<'static>> = entry
                            .chain()
                            .iter()
                            .map(|c| CertificateDer::from(c.as_der().to_vec()))
                            .collect();
                        if chain.is_empty() {
                            return Err(at("holds a key without a certificate".into()));
                        }
                        let key =
                            PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(entry.key().to_vec()));
                        Ok((chain, key))
                    }
                }
            }
        }
    }

    fn load_truststore(&self, store: &Store) -> Result<RootCertStore, TlsError> {
        load_roots(&self.listener, store)
    }

    /// The files a reload watches.
    fn files(&self) -> Vec<PathBuf> {
        [Some(&self.keystore), self.truststore.as_ref()]
            .into_iter()
            .flatten()
            .filter_map(Store::path)
            .map(Path::to_path_buf)
            .collect()
    }
}

fn store_certificates(
    listener: &str,
    store: &Store,
) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let certificates: Vec<CertificateDer<'static>> = match store {
        Store::InlinePem { certificates, .. } => pem_certificates(certificates.as_bytes())
            .map_err(|e| config_error(listener, format!("ssl.truststore.certificates: {e}")))?,
        Store::File {
            key,
            path,
            kind,
            password,
        } => {
            let at = |e: String| config_error(listener, format!("{key} {}: {e}", path.display()));
            let data = read_store(path).map_err(at)?;
            match kind.unwrap_or_else(|| sniff(&data)) {
                StoreType::Pem => pem_certificates(&data).map_err(at)?,
                StoreType::Pkcs12 => {
                    let store = open_pkcs12(&data, password.as_deref()).map_err(at)?;
                    store
                        .entries()
                        .flat_map(|(_, entry)| match entry {
                            p12_keystore::KeyStoreEntry::Certificate(c) => vec![c.clone()],
                            p12_keystore::KeyStoreEntry::PrivateKeyChain(k) => k.chain().to_vec(),
                        })
                        .map(|c| CertificateDer::from(c.as_der().to_vec()))
                        .collect()
                }
            }
        }
    };
    if certificates.is_empty() {
        return Err(config_error(
            listener,
            "the truststore holds no certificate",
        ));
    }
    Ok(certificates)
}

fn load_roots(listener: &str, store: &Store) -> Result<RootCertStore, TlsError> {
    let mut roots = RootCertStore::empty();
    for certificate in store_certificates(listener, store)? {
        roots
            .add(certificate)
            .map_err(|e| config_error(listener, format!("a truststore certificate: {e}")))?;
    }
    if roots.is_empty() {
        return Err(config_error(
            listener,
            "the truststore holds no certificate",
        ));
    }
    Ok(roots)
}

/// Whether rustls' name of a suite (`TLS13_AES_128_GCM_SHA256`,
/// `TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256`) is `name` in IANA's spelling.
fn suite_name_matches(rustls_name: &str, name: &str) -> bool {
    iana_name(rustls_name).eq_ignore_ascii_case(name.trim()) || rustls_name == name.trim()
}

fn iana_name(rustls_name: &str) -> String {
    match rustls_name.strip_prefix("TLS13_") {
        Some(rest) => format!("TLS_{rest}"),
        None => rustls_name.to_string(),
    }
}

fn read_store(path: &Path) -> Result<Vec<u8>, String> {
    std::fs::read(path).map_err(|e| e.to_string())
}

/// A store whose type was not set: PEM is text, PKCS12 DER; a Java
/// keystore (JKS) begins with 0xFEEDFEED and is refused by name.
fn sniff(data: &[u8]) -> StoreType {
    if data.starts_with(b"-----") || data.windows(11).any(|w| w == b"-----BEGIN ") {
        StoreType::Pem
    } else {
        StoreType::Pkcs12
    }
}

fn open_pkcs12(data: &[u8], password: Option<&str>) -> Result<p12_keystore::KeyStore, String> {
    if data.starts_with(&[0xFE, 0xED, 0xFE, 0xED]) {
        return Err("is a JKS keystore, which is not supported: convert it to PKCS12 (keytool -importkeystore -deststoretype PKCS12) or PEM".into());
    }
    p12_keystore::KeyStore::from_pkcs12(data, password.unwrap_or_default())
        .map_err(|e| format!("cannot open as PKCS12 (wrong password or not a keystore): {e}"))
}

fn pem_certificates(pem: &[u8]) -> Result<Vec<CertificateDer<'static>>, String> {
    let certificates = CertificateDer::pem_slice_iter(pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("unreadable PEM certificate: {e}"))?;
    if certificates.is_empty() {
        return Err("holds no PEM certificate".into());
    }
    Ok(certificates)
}

/// One listener's TLS: the current server configuration (replaced when
/// its files change) and the principal mapping.
pub struct ServerTls {
    /// Replaced by [`ServerTls::reconfigure`] (dynamic broker configs).
    settings: parking_lot::Mutex<Settings>,
    listener: String,
    protocol: SecurityProtocol,
    current: watch::Sender<Arc<ServerConfig>>,
    mapper: PrincipalMapper,
}

impl ServerTls {
    /// Reads the listener's settings and files; any error stops the broker.
    pub fn load(
        config: &BrokerConfig,
        listener: &str,
        protocol: SecurityProtocol,
    ) -> Result<ServerTls, TlsError> {
        let settings = Settings::read(config, listener, protocol)?;
        let mapper = PrincipalMapper::parse(
            &config
                .listener_value(listener, "ssl.principal.mapping.rules")
                .unwrap_or_else(|| "DEFAULT".into()),
        )
        .map_err(|e| config_error(listener, format!("ssl.principal.mapping.rules: {e}")))?;
        let built = settings.build()?;
        Ok(ServerTls {
            settings: parking_lot::Mutex::new(settings),
            listener: listener.to_string(),
            protocol,
            current: watch::channel(built).0,
            mapper,
        })
    }

    /// Checks that `config` gives `listener` a keystore and truststore
    /// that load, as Kafka validates a dynamic keystore update.
    pub fn check(
        config: &BrokerConfig,
        listener: &str,
        protocol: SecurityProtocol,
    ) -> Result<(), TlsError> {
        Settings::read(config, listener, protocol)?
            .build()
            .map(|_| ())
    }

    /// The listener this TLS serves, and its security protocol.
    pub fn listener(&self) -> (&str, SecurityProtocol) {
        (&self.listener, self.protocol)
    }

    /// Takes the listener's settings from `config` (dynamic broker
    /// configs changed): when they load, new connections get them and
    /// the files they name are the ones watched. Nothing changes when the
    /// settings are the same files and values as before.
    pub fn reconfigure(&self, config: &BrokerConfig) -> Result<(), TlsError> {
        let settings = Settings::read(config, &self.listener, self.protocol)?;
        let mut current = self.settings.lock();
        if settings.same_as(&current) {
            return Ok(());
        }
        let built = settings.build()?;
        *current = settings;
        self.current.send_replace(built);
        tracing::info!(listener = %self.listener, "applied dynamic TLS configs for new connections");
        Ok(())
    }

    /// An acceptor with the configuration new connections get now.
    pub fn acceptor(&self) -> tokio_rustls::TlsAcceptor {
        tokio_rustls::TlsAcceptor::from(self.current.borrow().clone())
    }

    /// The principal of a client that presented `certificate` (its leaf),
    /// or `None` if its subject matches no mapping rule, which Kafka
    /// treats as a failed authentication.
    pub fn principal(&self, certificate: Option<&CertificateDer<'_>>) -> Option<KafkaPrincipal> {
        let Some(certificate) = certificate else {
            return Some(KafkaPrincipal::anonymous());
        };
        let dn = match subject_dn(certificate) {
            Ok(dn) => dn,
            Err(e) => {
                tracing::warn!(listener = %self.listener, error = %e, "cannot read the client certificate's subject");
                return None;
            }
        };
        match self.mapper.map(&dn) {
            Some(name) => Some(KafkaPrincipal::user(&name)),
            None => {
                tracing::warn!(listener = %self.listener, subject = %dn, "no ssl.principal.mapping.rules rule applies to the client certificate");
                None
            }
        }
    }

    /// Polls the keystore and truststore files until shutdown; a change
    /// that loads replaces the configuration for new connections.
    pub async fn watch_files(self: Arc<Self>, mut shutdown: watch::Receiver<bool>) {
        let mut files = self.settings.lock().files();
        let mut seen = stamp(&files);
        loop {
            tokio::select! {
                _ = shutdown.changed() => return,
                _ = tokio::time::sleep(RELOAD_CHECK) => {}
            }
            // A dynamic reconfiguration may have named other files.
            let watched = self.settings.lock().files();
            if watched != files {
                files = watched;
                seen = stamp(&files);
                continue;
            }
            let now = stamp(&files);
            if now == seen {
                continue;
            }
            seen = now;
            let settings = self.settings.lock().clone();
            match tokio::task::spawn_blocking(move || settings.build()).await {
                Ok(Ok(config)) => {
                    self.current.send_replace(config);
                    tracing::info!(listener = %self.listener, "reloaded the TLS keystore and truststore for new connections");
                }
                Ok(Err(e)) => {
                    tracing::error!(error = %e, "cannot reload the TLS keystore or truststore; new connections keep the previous ones")
                }
                Err(e) => tracing::error!(error = %e, "TLS reload task failed"),
            }
        }
    }
}

/// The modification time and length of each file, to tell a change.
type Stamps = Vec<Option<(SystemTime, u64)>>;

fn stamp(files: &[PathBuf]) -> Stamps {
    files
        .iter()
        .map(|f| {
            std::fs::metadata(f)
                .ok()
                .and_then(|m| Some((m.modified().ok()?, m.len())))
        })
        .collect()
}

/// How this broker connects to another's TLS listener (replica fetchers,
/// transaction markers, the metadata quorum): the listener's truststore
/// checks the other broker, its keystore is this broker's certificate for
/// mTLS, and `ssl.endpoint.identification.algorithm=https` checks the
/// host name. Files that changed are read again at the next connection.
pub struct ClientTls {
    settings: Settings,
    verify_hostname: bool,
    current: parking_lot::Mutex<(Stamps, Arc<rustls::ClientConfig>)>,
}

impl ClientTls {
    pub fn load(
        config: &BrokerConfig,
        listener: &str,
        protocol: SecurityProtocol,
    ) -> Result<ClientTls, TlsError> {
        let settings = Settings::read(config, listener, protocol)?;
        if settings.truststore.is_none() {
            return Err(settings.error(
                "brokers connecting to each other over TLS need a truststore to check one another (ssl.truststore.location or ssl.truststore.certificates)",
            ));
        }
        let verify_hostname = config
            .listener_value(listener, "ssl.endpoint.identification.algorithm")
            .is_some_and(|v| v.trim().eq_ignore_ascii_case("https"));
        let stamps = stamp(&settings.files());
        let built = settings.build_client(verify_hostname)?;
        Ok(ClientTls {
            settings,
            verify_hostname,
            current: parking_lot::Mutex::new((stamps, built)),
        })
    }

    /// The configuration for a new connection: rebuilt if the files
    /// changed, the previous one if they no longer load.
    fn config(&self) -> Arc<rustls::ClientConfig> {
        let mut current = self.current.lock();
        let now = stamp(&self.settings.files());
        if now != current.0 {
            current.0 = now;
            match self.settings.build_client(self.verify_hostname) {
                Ok(config) => current.1 = config,
                Err(e) => {
                    tracing::error!(error = %e, "cannot reload the TLS keystore or truststore for connections to other brokers; keeping the previous ones")
                }
            }
        }
        current.1.clone()
    }

    /// Runs the TLS handshake with the broker at `host` over `tcp`.
    pub async fn connect(
        &self,
        tcp: tokio::net::TcpStream,
        host: &str,
    ) -> std::io::Result<tokio_rustls::client::TlsStream<tokio::net::TcpStream>> {
        let name = rustls::pki_types::ServerName::try_from(host.to_string())
            .map_err(|e| std::io::Error::other(format!("{host}: {e}")))?;
        tokio_rustls::TlsConnector::from(self.config())
            .connect(name, tcp)
            .await
    }
}

/// Checks a server's chain against the truststore but not its host name
/// (`ssl.endpoint.identification.algorithm` empty, as Kafka allows).
#[derive(Debug)]
struct AnyHostName(Arc<rustls::client::WebPkiServerVerifier>);

impl rustls::client::danger::ServerCertVerifier for AnyHostName {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &rustls::pki_types::ServerName<'_>,
        ocsp_response: &[u8],
        now: rustls::pki_types::UnixTime,
    ) -> Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        match self
            .0
            .verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
        {
            Err(rustls::Error::InvalidCertificate(rustls::CertificateError::NotValidForName))
            | Err(rustls::Error::InvalidCertificate(
                rustls::CertificateError::NotValidForNameContext { .. },
            )) => Ok(rustls::client::danger::ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.0.supported_verify_schemes()
    }
}

/// A certificate's subject as Java's `X500Principal.getName()` writes it
/// (RFC 2253): the last RDN first, `CN=alice,OU=eng,O=Acme`.
pub fn subject_dn(certificate: &[u8]) -> Result<String, String> {
    use x509_parser::der_parser::asn1_rs::ToDer;
    let (_, parsed) = x509_parser::parse_x509_certificate(certificate)
        .map_err(|e| format!("unreadable certificate: {e}"))?;
    let mut rdns = Vec::new();
    for rdn in parsed.subject().iter() {
        let mut avas = Vec::new();
        for ava in rdn.iter() {
            let oid = ava.attr_type().to_id_string();
            let keyword = match oid.as_str() {
                "2.5.4.3" => Some("CN"),
                "2.5.4.6" => Some("C"),
                "2.5.4.7" => Some("L"),
                "2.5.4.8" => Some("ST"),
                "2.5.4.10" => Some("O"),
                "2.5.4.11" => Some("OU"),
                "2.5.4.9" => Some("STREET"),
                "0.9.2342.19200300.100.1.25" => Some("DC"),
                "0.9.2342.19200300.100.1.1" => Some("UID"),
                _ => None,
            };
            match (keyword, ava.as_str()) {
                (Some(k), Ok(value)) => avas.push(format!("{k}={}", escape_rfc2253(value))),
                _ => {
                    let der = ava
                        .attr_value()
                        .to_der_vec()
                        .map_err(|e| format!("unreadable subject attribute {oid}: {e}"))?;
                    let hex: String = der.iter().map(|b| format!("{b:02x}")).collect();
                    avas.push(format!("{oid}=#{hex}"));
                }
            }
        }
        rdns.push(avas.join("+"));
    }
    rdns.reverse();
    Ok(rdns.join(","))
}

fn escape_rfc2253(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    let last = value.chars().count().saturating_sub(1);
    for (i, c) in value.chars().enumerate() {
        let special = matches!(c, ',' | '+' | '"' | '\\' | '<' | '>' | ';')
            || (i == 0 && (c == '#' || c == ' '))
            || (i == last && c == ' ');
        if special {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// `ssl.principal.mapping.rules`: rules tried in order, the first that
/// applies names the principal.
#[derive(Debug, Clone)]
pub struct PrincipalMapper {
    rules: Vec<Rule>,
}

#[derive(Debug, Clone)]
enum Rule {
    Default,
    Replace {
        /// The pattern anchored at both ends: a rule applies only when it
        /// matches the whole subject.
        whole: regex::Regex,
        pattern: regex::Regex,
        replacement: String,
        case: Option<Case>,
    },
}

#[derive(Debug, Clone, Copy)]
enum Case {
    Lower,
    Upper,
}

impl PrincipalMapper {
    /// Reads rules as Kafka writes them: `DEFAULT` or
    /// `RULE:pattern/replacement/[LU]`, separated by commas (a rule's
    /// pattern may hold commas; `\/` is a slash inside it).
    pub fn parse(rules: &str) -> Result<PrincipalMapper, String> {
        let mut parsed = Vec::new();
        let mut rest = rules.trim();
        while !rest.is_empty() {
            if let Some(after) = rest.strip_prefix("DEFAULT") {
                parsed.push(Rule::Default);
                rest = after.trim_start();
            } else if let Some(after) = rest.strip_prefix("RULE:") {
                let (pattern, after) = until_slash(after)
                    .ok_or_else(|| format!("'{rest}': expected RULE:pattern/replacement/"))?;
                let (replacement, after) = until_slash(after)
                    .ok_or_else(|| format!("'{rest}': expected RULE:pattern/replacement/"))?;
                let (case, after) = match after.chars().next() {
                    Some('L') => (Some(Case::Lower), &after[1..]),
                    Some('U') => (Some(Case::Upper), &after[1..]),
                    _ => (None, after),
                };
                let regex = |p: String| {
                    regex::Regex::new(&p).map_err(|e| format!("bad pattern '{pattern}': {e}"))
                };
                let group_count = regex(pattern.clone())?.captures_len() - 1;
                parsed.push(Rule::Replace {
                    whole: regex(format!("^(?:{pattern})$"))?,
                    pattern: regex(pattern.clone())?,
                    replacement: java_replacement(&replacement, group_count),
                    case,
                });
                // As Kafka, anything between a rule and the next comma is ignored.
                rest = after.find(',').map_or("", |i| &after[i..]);
            } else {
                let end = rest.find(',').unwrap_or(rest.len());
                if !rest[..end].trim().is_empty() {
                    return Err(format!("invalid rule '{}'", rest[..end].trim()));
                }
                rest = &rest[end..];
            }
            rest = rest.trim_start();
            if let Some(after) = rest.strip_prefix(',') {
                rest = after.trim_start();
            } else if !rest.is_empty() {
                return Err(format!("invalid rule text '{rest}'"));
            }
        }
        Ok(PrincipalMapper { rules: parsed })
    }

    /// The principal name for subject `dn`; `None` when no rule applies.
    pub fn map(&self, dn: &str) -> Option<String> {
        self.rules.iter().find_map(|rule| match rule {
            Rule::Default => Some(dn.to_string()),
            Rule::Replace {
                whole,
                pattern,
                replacement,
                case,
            } => {
                if !whole.is_match(dn) {
                    return None;
                }
                let name = pattern.replace_all(dn, replacement.as_str()).into_owned();
                Some(match case {
                    Some(Case::Lower) => name.to_lowercase(),
                    Some(Case::Upper) => name.to_uppercase(),
                    None => name,
                })
            }
        })
    }
}

/// Splits at the first slash not escaped by a backslash; the part before
/// keeps its escapes except `\/`, which becomes `/`.
fn until_slash(s: &str) -> Option<(String, &str)> {
    let mut out = String::new();
    let mut chars = s.char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some((_, '/')) => out.push('/'),
                Some((_, other)) => {
                    out.push('\\');
                    out.push(other);
                }
                None => out.push('\\'),
            },
            '/' => return Some((out, &s[i + 1..])),
            c => out.push(c),
        }
    }
    None
}

/// A Java `replaceAll` replacement (`$1`, `\$` for a dollar) in the
/// regex crate's syntax. As Kafka, a reference to a group the pattern
/// does not have drops trailing digits until it names one, else is text.
fn java_replacement(java: &str, groups: usize) -> String {
    let mut out = String::new();
    let mut chars = java.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some('$') => out.push_str("$$"),
                Some(other) => out.push(other),
                None => {}
            },
            '$' => {
                let mut digits = String::new();
                while let Some(d) = chars.peek().filter(|d| d.is_ascii_digit()) {
                    digits.push(*d);
                    chars.next();
                }
                if digits.is_empty() {
                    out.push_str("$$");
                    continue;
                }
                let mut used = digits.len();
                let mut group: usize = digits.parse().unwrap_or(usize::MAX);
                while group > groups && used > 1 {
                    used -= 1;
                    group = digits[..used].parse().unwrap_or(usize::MAX);
                }
                if group > groups {
                    out.push_str("$$");
                    out.push_str(&digits);
                } else {
                    out.push_str(&format!("${{{group}}}"));
                    out.push_str(&digits[used..]);
                }
            }
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mapped(rules: &str, dn: &str) -> Option<String> {
        PrincipalMapper::parse(rules).unwrap().map(dn)
    }

    #[test]
    fn principal_mapping_rules_behave_as_kafka_documents() {
        let dn = "CN=kafka-client,OU=ServiceUsers,O=Acme,C=US";
        assert_eq!(mapped("DEFAULT", dn).as_deref(), Some(dn));
        assert_eq!(
            mapped("RULE:^CN=(.*?),OU=ServiceUsers.*$/$1/", dn).as_deref(),
            Some("kafka-client")
        );
        assert_eq!(
            mapped("RULE:^CN=(.*?),OU=ServiceUsers.*$/$1/U, DEFAULT", dn).as_deref(),
            Some("KAFKA-CLIENT")
        );
        // A rule applies only when it matches the whole subject; the next one is tried.
        assert_eq!(
            mapped("RULE:^CN=(.*?),OU=Admins.*$/$1/, DEFAULT", dn).as_deref(),
            Some(dn)
        );
        assert_eq!(mapped("RULE:^CN=(.*?),OU=Admins.*$/$1/", dn), None);
        assert_eq!(
            mapped(
                "RULE:^CN=(.*?),OU=(.*?),O=(.*?),C=(.*?)$/$1@$3/L",
                "CN=Alice,OU=eng,O=ACME,C=US"
            )
            .as_deref(),
            Some("alice@acme")
        );
        // $4 with three groups is text; an escaped slash is part of the pattern.
        assert_eq!(
            mapped("RULE:^CN=(.*?),OU=(.*?),O=(.*?)$/$1$4/", "CN=a,OU=b,O=c").as_deref(),
            Some("a$4")
        );
        assert_eq!(
            mapped("RULE:^CN=(.*?)\\/x$/$1/", "CN=a/x").as_deref(),
            Some("a")
        );
        assert_eq!(
            mapped(
                "RULE:^.*[Cc][Nn]=([a-zA-Z0-9.]*).*$/$1/L",
                "OU=x,CN=Bob.Smith,O=y"
            )
            .as_deref(),
            Some("bob.smith")
        );
    }

    #[test]
    fn malformed_principal_mapping_rules_are_refused_as_kafka_refuses_them() {
        for bad in [
            "default",
            "DEFAUL",
            "DEFAULT/L",
            "RULE:CN=(.*?),OU=ServiceUsers.*/$1",
            "rule:^CN=(.*?),OU=ServiceUsers.*$/$1/",
            "RULE:^CN=(.*?/$1/",
        ] {
            assert!(PrincipalMapper::parse(bad).is_err(), "{bad} is refused");
        }
        for good in [
            "DEFAULT",
            "RULE:^CN=(.*?),OU=ServiceUsers.*$/$1/L, DEFAULT",
            "RULE:^CN=([^,ADEFLTU,]+)(,.*|$)/$1/",
            "RULE:^cn=(.?),ou=(.?),dc=(.?),dc=(.?)$/$1@$2/U",
        ] {
            assert!(PrincipalMapper::parse(good).is_ok(), "{good} is read");
        }
    }

    #[test]
    fn sasl_ssl_listeners_ask_for_certificates_only_when_told_per_listener() {
        let config = |extra: &[(&str, &str)]| {
            let mut set = vec![
                ("ssl.keystore.location".to_string(), "/k.pem".to_string()),
                ("ssl.truststore.location".to_string(), "/t.pem".to_string()),
                ("ssl.client.auth".to_string(), "required".to_string()),
            ];
            set.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
            BrokerConfig::load(None, &set).unwrap()
        };
        let auth = |c: &BrokerConfig, protocol| {
            Settings::read(c, "EXTERNAL", protocol).unwrap().client_auth
        };
        let broker_wide = config(&[]);
        assert_eq!(
            auth(&broker_wide, SecurityProtocol::Ssl),
            ClientAuth::Required
        );
        assert_eq!(
            auth(&broker_wide, SecurityProtocol::SaslSsl),
            ClientAuth::None
        );
        let per_listener = config(&[("listener.name.external.ssl.client.auth", "requested")]);
        assert_eq!(
            auth(&per_listener, SecurityProtocol::SaslSsl),
            ClientAuth::Requested
        );
    }

    #[test]
    fn cipher_suites_are_named_as_iana_and_java_name_them() {
        let settings = |suites: &str| {
            let c = BrokerConfig::load(
                None,
                &[
                    ("ssl.keystore.location".to_string(), "/k.pem".to_string()),
                    ("ssl.cipher.suites".to_string(), suites.to_string()),
                ],
            )
            .unwrap();
            Settings::read(&c, "SSL", SecurityProtocol::Ssl).unwrap()
        };
        let provider = settings("TLS_AES_128_GCM_SHA256, TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384")
            .provider()
            .unwrap();
        let names: Vec<String> = provider
            .cipher_suites
            .iter()
            .map(|s| iana_name(&format!("{:?}", s.suite())))
            .collect();
        assert_eq!(
            names,
            [
                "TLS_AES_128_GCM_SHA256",
                "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384"
            ]
        );
        let err = settings("TLS_RSA_WITH_RC4_128_MD5")
            .provider()
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("TLS_RSA_WITH_RC4_128_MD5 is not supported"),
            "{err}"
        );
    }

    #[test]
    fn a_certificate_subject_is_written_as_java_writes_it() {
        let mut params = rcgen::CertificateParams::new(vec!["localhost".into()]).unwrap();
        let mut dn = rcgen::DistinguishedName::new();
        dn.push(rcgen::DnType::CountryName, "US");
        dn.push(rcgen::DnType::OrganizationName, "Acme, Inc.");
        dn.push(rcgen::DnType::OrganizationalUnitName, "eng");
        dn.push(rcgen::DnType::CommonName, "alice");
        params.distinguished_name = dn;
        let key = rcgen::KeyPair::generate().unwrap();
        let cert = params.self_signed(&key).unwrap();
        assert_eq!(
            subject_dn(cert.der()).unwrap(),
            "CN=alice,OU=eng,O=Acme\\, Inc.,C=US"
        );
    }
}
