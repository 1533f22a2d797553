//! PEM private keys, encrypted or not: what the broker's PEM keystores
//! and the tools' own TLS connection (`client::wire`, librdkafka's
//! `ssl.key.location` with `ssl.key.password`) both read.

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};

/// The private key of a PEM keystore or key file. As Kafka's PEM keystores, an
/// encrypted key is PKCS#8 (`ENCRYPTED PRIVATE KEY`, PBES2 as
/// `openssl pkcs8 -topk8` writes it) opened with `ssl.key.password`; an
/// unencrypted key is used as it is.
pub fn private_key(pem: &[u8], password: Option<&str>) -> Result<PrivateKeyDer<'static>, String> {
    const ENCRYPTED: &str = "ENCRYPTED PRIVATE KEY";
    if pem.windows(9).any(|w| w == b"DEK-Info:") {
        return Err("the private key is encrypted in OpenSSL's legacy format (DEK-Info), which Kafka does not read either: convert it to encrypted PKCS#8 (openssl pkcs8 -topk8 -v2 aes-256-cbc)".into());
    }
    if !pem
        .windows(ENCRYPTED.len())
        .any(|w| w == ENCRYPTED.as_bytes())
    {
        return PrivateKeyDer::from_pem_slice(pem)
            .map_err(|e| format!("no usable PEM private key: {e}"));
    }
    let password =
        password.ok_or("the private key is encrypted: set ssl.key.password to its passphrase")?;
    let text = std::str::from_utf8(pem).map_err(|_| "PEM that is not text")?;
    let begin = format!("-----BEGIN {ENCRYPTED}-----");
    let end = format!("-----END {ENCRYPTED}-----");
    let start = text
        .find(&begin)
        .ok_or("no BEGIN line for the encrypted private key")?;
    let stop = text[start..]
        .find(&end)
        .map(|i| start + i + end.len())
        .ok_or("no END line for the encrypted private key")?;
    let (_, document) = pkcs8::Document::from_pem(&text[start..stop])
        .map_err(|e| format!("unreadable encrypted private key: {e}"))?;
    let encrypted = pkcs8::EncryptedPrivateKeyInfo::try_from(document.as_bytes())
        .map_err(|e| format!("unreadable encrypted private key: {e}"))?;
    let key = encrypted.decrypt(password).map_err(|e| {
        format!("cannot decrypt the private key with ssl.key.password (wrong password or an unsupported cipher): {e}")
    })?;
    Ok(PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(
        key.as_bytes().to_vec(),
    )))
}
