//! Certificates for TLS tests, made with rcgen: a CA, and certificates it
//! signs for 127.0.0.1 and localhost.

use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, IsCa, KeyPair, SerialNumber,
};

/// A certificate authority that signs the broker's and clients' certificates.
pub struct Ca {
    pub cert: rcgen::Certificate,
    key: KeyPair,
}

/// A certificate and its key, as PEM.
pub struct Issued {
    pub cert_pem: String,
    pub key_pem: String,
    pub cert_der: Vec<u8>,
    pub key_der: Vec<u8>,
}

impl Ca {
    pub fn new(name: &str) -> Ca {
        let key = KeyPair::generate().unwrap();
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.distinguished_name = DistinguishedName::new();
        params.distinguished_name.push(DnType::CommonName, name);
        let cert = params.self_signed(&key).unwrap();
        Ca { cert, key }
    }

    pub fn pem(&self) -> String {
        self.cert.pem()
    }

    /// A certificate for 127.0.0.1 and localhost, with `subject` as
    /// (type, value) pairs in encoding order and `serial`.
    pub fn issue(&self, subject: &[(DnType, &str)], serial: u64) -> Issued {
        let key = KeyPair::generate().unwrap();
        let mut params =
            CertificateParams::new(vec!["localhost".to_string(), "127.0.0.1".to_string()]).unwrap();
        let mut dn = DistinguishedName::new();
        for (kind, value) in subject {
            dn.push(kind.clone(), *value);
        }
        params.distinguished_name = dn;
        params.serial_number = Some(SerialNumber::from(serial));
        let cert = params.signed_by(&key, &self.cert, &self.key).unwrap();
        Issued {
            cert_pem: cert.pem(),
            key_pem: key.serialize_pem(),
            cert_der: cert.der().to_vec(),
            key_der: key.serialize_der(),
        }
    }
}

/// Writes `contents` to `dir/name` and returns the path.
pub fn write(dir: &Path, name: &str, contents: impl AsRef<[u8]>) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, contents).unwrap();
    path
}

/// Replaces `path` at once (as a certificate renewal tool would), so
/// that no reload sees half a file.
pub fn replace(path: &Path, contents: impl AsRef<[u8]>) {
    let tmp = path.with_extension("new");
    std::fs::write(&tmp, contents).unwrap();
    std::fs::rename(&tmp, path).unwrap();
}

/// A PEM keystore (certificate chain then key) in one file,
/// `dir/keystore.pem`.
pub fn pem_keystore(dir: &Path, issued: &Issued) -> PathBuf {
    write(
        dir,
        "keystore.pem",
        format!("{}{}", issued.cert_pem, issued.key_pem),
    )
}

/// A rustls client trusting `ca`, with `identity` as its certificate.
pub fn tls_client(ca: &Ca, identity: Option<&Issued>) -> Arc<rustls::ClientConfig> {
    tls_client_of(ca, identity, rustls::DEFAULT_VERSIONS)
}

/// [`tls_client`] speaking only `versions`.
pub fn tls_client_of(
    ca: &Ca,
    identity: Option<&Issued>,
    versions: &[&'static rustls::SupportedProtocolVersion],
) -> Arc<rustls::ClientConfig> {
    let mut roots = rustls::RootCertStore::empty();
    roots.add(ca.cert.der().clone()).unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(versions)
        .unwrap()
        .with_root_certificates(roots);
    let config = match identity {
        Some(id) => builder
            .with_client_auth_cert(
                vec![id.cert_der.clone().into()],
                rustls::pki_types::PrivateKeyDer::Pkcs8(id.key_der.clone().into()),
            )
            .unwrap(),
        None => builder.with_no_client_auth(),
    };
    Arc::new(config)
}

pub type TlsConn = rustls::StreamOwned<rustls::ClientConnection, TcpStream>;

/// A raw TLS connection to `port` on 127.0.0.1, handshake done; an error
/// if the server refuses the handshake.
pub fn tls_connect(port: u16, config: Arc<rustls::ClientConfig>) -> std::io::Result<TlsConn> {
    let tcp = TcpStream::connect(("127.0.0.1", port))?;
    tcp.set_read_timeout(Some(Duration::from_secs(10)))?;
    let name = rustls::pki_types::ServerName::try_from("127.0.0.1").unwrap();
    let conn = rustls::ClientConnection::new(config, name).map_err(std::io::Error::other)?;
    let mut stream = rustls::StreamOwned::new(conn, tcp);
    while stream.conn.is_handshaking() {
        stream.conn.complete_io(&mut stream.sock)?;
    }
    Ok(stream)
}

/// The serial number of the certificate the server presented.
pub fn served_serial(stream: &TlsConn) -> u64 {
    let der = &stream.conn.peer_certificates().expect("server certificate")[0];
    let (_, cert) = x509_parser::parse_x509_certificate(der).unwrap();
    cert.raw_serial()
        .iter()
        .fold(0u64, |n, b| (n << 8) | u64::from(*b))
}
