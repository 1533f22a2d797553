//! SCRAM-SHA-256 and SCRAM-SHA-512 (RFC 5802, RFC 7677) as Kafka's
//! `ScramSaslServer` runs them. The broker keeps only what RFC 5802 calls
//! the stored key and server key, with the salt and iteration count: never
//! a password.

use std::sync::Arc;

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::{Sha256, Sha512};

use super::{constant_time_eq, AuthError};

/// Kafka's `ScramMechanism`, with its wire codes (KIP-554).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum ScramMechanism {
    Sha256,
    Sha512,
}

impl ScramMechanism {
    pub const ALL: [ScramMechanism; 2] = [ScramMechanism::Sha256, ScramMechanism::Sha512];

    pub fn name(self) -> &'static str {
        match self {
            ScramMechanism::Sha256 => "SCRAM-SHA-256",
            ScramMechanism::Sha512 => "SCRAM-SHA-512",
        }
    }

    pub fn from_name(name: &str) -> Option<ScramMechanism> {
        Self::ALL.into_iter().find(|m| m.name() == name)
    }

    /// The type byte of DescribeUserScramCredentials / AlterUserScramCredentials.
    pub fn code(self) -> i8 {
        match self {
            ScramMechanism::Sha256 => 1,
            ScramMechanism::Sha512 => 2,
        }
    }

    pub fn from_code(code: i8) -> Option<ScramMechanism> {
        Self::ALL.into_iter().find(|m| m.code() == code)
    }

    /// Kafka's bounds on the iteration count.
    pub const MIN_ITERATIONS: i32 = 4096;
    pub const MAX_ITERATIONS: i32 = 16384;

    fn hmac(self, key: &[u8], data: &[u8]) -> Vec<u8> {
        match self {
            ScramMechanism::Sha256 => {
                let mut mac =
                    Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes keys of any length");
                mac.update(data);
                mac.finalize().into_bytes().to_vec()
            }
            ScramMechanism::Sha512 => {
                let mut mac =
                    Hmac::<Sha512>::new_from_slice(key).expect("HMAC takes keys of any length");
                mac.update(data);
                mac.finalize().into_bytes().to_vec()
            }
        }
    }

    fn hash(self, data: &[u8]) -> Vec<u8> {
        use sha2::Digest;
        match self {
            ScramMechanism::Sha256 => Sha256::digest(data).to_vec(),
            ScramMechanism::Sha512 => Sha512::digest(data).to_vec(),
        }
    }

    /// RFC 5802's Hi(): PBKDF2 with this mechanism's HMAC.
    pub fn salted_password(self, password: &[u8], salt: &[u8], iterations: u32) -> Vec<u8> {
        match self {
            ScramMechanism::Sha256 => {
                pbkdf2::pbkdf2_hmac_array::<Sha256, 32>(password, salt, iterations).to_vec()
            }
            ScramMechanism::Sha512 => {
                pbkdf2::pbkdf2_hmac_array::<Sha512, 64>(password, salt, iterations).to_vec()
            }
        }
    }
}

/// What the broker keeps of one user's SCRAM password (Kafka's `ScramCredential`).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScramCredential {
    #[serde(with = "base64_bytes")]
    pub salt: Vec<u8>,
    #[serde(with = "base64_bytes")]
    pub stored_key: Vec<u8>,
    #[serde(with = "base64_bytes")]
    pub server_key: Vec<u8>,
    pub iterations: i32,
}

impl std::fmt::Debug for ScramCredential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ScramCredential")
            .field("iterations", &self.iterations)
            .finish_non_exhaustive()
    }
}

impl ScramCredential {
    /// From the salted password an AlterUserScramCredentials client sends.
    pub fn from_salted_password(
        mechanism: ScramMechanism,
        salt: &[u8],
        salted_password: &[u8],
        iterations: i32,
    ) -> ScramCredential {
        let client_key = mechanism.hmac(salted_password, b"Client Key");
        ScramCredential {
            salt: salt.to_vec(),
            stored_key: mechanism.hash(&client_key),
            server_key: mechanism.hmac(salted_password, b"Server Key"),
            iterations,
        }
    }

    /// From a password, with a fresh random salt (bootstrap credentials).
    pub fn from_password(
        mechanism: ScramMechanism,
        password: &str,
        iterations: i32,
    ) -> ScramCredential {
        let salt: [u8; 32] = rand::random();
        let salted = mechanism.salted_password(password.as_bytes(), &salt, iterations as u32);
        ScramCredential::from_salted_password(mechanism, &salt, &salted, iterations)
    }
}

mod base64_bytes {
    use base64::engine::general_purpose::STANDARD as B64;
    use base64::Engine;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&B64.encode(bytes))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let s = String::deserialize(d)?;
        B64.decode(s).map_err(serde::de::Error::custom)
    }
}

/// One credential of `gregor.scram.bootstrap.credentials`. Its `Debug`
/// leaves the password out.
pub struct BootstrapCredential {
    pub user: String,
    pub mechanism: ScramMechanism,
    pub password: String,
    pub iterations: i32,
}

impl std::fmt::Debug for BootstrapCredential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BootstrapCredential")
            .field("user", &self.user)
            .field("mechanism", &self.mechanism)
            .field("iterations", &self.iterations)
            .finish_non_exhaustive()
    }
}

/// Reads `SCRAM-SHA-256=[name=admin,password=admin-secret];...`, the
/// syntax of Kafka's `kafka-storage format --add-scram` (values may be
/// double-quoted; `iterations` defaults to 4096).
pub fn parse_bootstrap(value: &str) -> Result<Vec<BootstrapCredential>, String> {
    let mut out = Vec::new();
    for entry in value.split(';').map(str::trim).filter(|e| !e.is_empty()) {
        let (mechanism, rest) = entry
            .split_once('=')
            .ok_or("expected MECHANISM=[name=...,password=...]")?;
        let mechanism = ScramMechanism::from_name(mechanism.trim()).ok_or_else(|| {
            format!(
                "unknown SCRAM mechanism '{}': expected SCRAM-SHA-256 or SCRAM-SHA-512",
                mechanism.trim()
            )
        })?;
        let inner = rest
            .trim()
            .strip_prefix('[')
            .and_then(|r| r.strip_suffix(']'))
            .ok_or("expected the credential's settings in [...]")?;
        let (mut user, mut password, mut iterations) = (None, None, ScramMechanism::MIN_ITERATIONS);
        let mut chars = inner.chars().peekable();
        while chars.peek().is_some() {
            let key: String = chars.by_ref().take_while(|c| *c != '=').collect();
            let mut value = String::new();
            if chars.peek() == Some(&'"') {
                chars.next();
                value = chars.by_ref().take_while(|c| *c != '"').collect();
                if chars.peek().is_some_and(|c| *c != ',') {
                    return Err(format!(
                        "expected ',' after the quoted value of '{}'",
                        key.trim()
                    ));
                }
                chars.next();
            } else {
                value.extend(chars.by_ref().take_while(|c| *c != ','));
            }
            match key.trim() {
                "name" => user = Some(value),
                "password" => password = Some(value),
                "iterations" => {
                    iterations = value
                        .trim()
                        .parse()
                        .ok()
                        .filter(|i| {
                            (ScramMechanism::MIN_ITERATIONS..=ScramMechanism::MAX_ITERATIONS)
                                .contains(i)
                        })
                        .ok_or_else(|| {
                            format!(
                                "iterations must be a number from {} to {}",
                                ScramMechanism::MIN_ITERATIONS,
                                ScramMechanism::MAX_ITERATIONS
                            )
                        })?
                }
                other => {
                    return Err(format!(
                        "unknown setting '{other}' (expected name, password, iterations)"
                    ))
                }
            }
        }
        out.push(BootstrapCredential {
            user: user
                .filter(|u| !u.is_empty())
                .ok_or("a credential needs a name")?,
            mechanism,
            password: password
                .filter(|p| !p.is_empty())
                .ok_or("a credential needs a password")?,
            iterations,
        });
    }
    Ok(out)
}

/// RFC 5802's `saslname`: `=2C` and `=3D` stand for `,` and `=`.
fn decode_saslname(name: &str) -> Result<String, AuthError> {
    let mut out = String::new();
    let mut rest = name;
    while let Some(i) = rest.find('=') {
        out.push_str(&rest[..i]);
        match rest.get(i..i + 3) {
            Some("=2C") => out.push(','),
            Some("=3D") => out.push('='),
            _ => {
                return Err(AuthError::invalid(
                    "invalid username encoding in SCRAM message",
                ))
            }
        }
        rest = &rest[i + 3..];
    }
    out.push_str(rest);
    Ok(out)
}

enum State {
    ClientFirst,
    ClientFinal(Box<Exchange>),
    Done,
}

struct Exchange {
    username: String,
    credential: ScramCredential,
    client_first_bare: String,
    server_first: String,
    nonce: String,
    gs2_header: String,
}

/// One connection's SCRAM exchange, on the broker's side.
pub struct ScramServer {
    mechanism: ScramMechanism,
    state: State,
    server_nonce: String,
}

/// What a finished exchange established.
#[derive(Debug)]
pub struct ScramOutcome {
    pub username: String,
    pub server_final: Vec<u8>,
}

impl ScramServer {
    pub fn new(mechanism: ScramMechanism) -> ScramServer {
        let random: [u8; 24] = rand::random();
        ScramServer::with_nonce(mechanism, B64.encode(random))
    }

    fn with_nonce(mechanism: ScramMechanism, server_nonce: String) -> ScramServer {
        ScramServer {
            mechanism,
            state: State::ClientFirst,
            server_nonce,
        }
    }

    /// Takes the client's next message. `Ok(Err(challenge))` asks for
    /// another; `Ok(Ok(outcome))` ends the exchange.
    pub fn evaluate(
        &mut self,
        message: &[u8],
        lookup: &dyn Fn(&str, ScramMechanism) -> Option<ScramCredential>,
    ) -> Result<Result<ScramOutcome, Vec<u8>>, AuthError> {
        let message = std::str::from_utf8(message)
            .map_err(|_| AuthError::invalid("SCRAM message is not UTF-8"))?;
        match std::mem::replace(&mut self.state, State::Done) {
            State::ClientFirst => {
                let exchange = self.client_first(message, lookup)?;
                let challenge = exchange.server_first.clone().into_bytes();
                self.state = State::ClientFinal(Box::new(exchange));
                Ok(Err(challenge))
            }
            State::ClientFinal(exchange) => self.client_final(message, &exchange).map(Ok),
            State::Done => Err(AuthError::invalid("SCRAM exchange already finished")),
        }
    }

    fn client_first(
        &self,
        message: &str,
        lookup: &dyn Fn(&str, ScramMechanism) -> Option<ScramCredential>,
    ) -> Result<Exchange, AuthError> {
        let bad = || AuthError::invalid("invalid SCRAM client-first message");
        // gs2-header: channel binding flag (Kafka takes only "n"), then an optional authzid.
        let rest = message.strip_prefix("n,").ok_or_else(bad)?;
        let (authzid, bare) = rest.split_once(',').ok_or_else(bad)?;
        let gs2_header = format!("n,{authzid},");
        let mut username = None;
        let mut nonce = None;
        for attr in bare.split(',') {
            if let Some(v) = attr.strip_prefix("n=") {
                username = Some(decode_saslname(v)?);
            } else if let Some(v) = attr.strip_prefix("r=") {
                nonce = Some(v.to_string());
            } else if attr.starts_with("m=") {
                return Err(AuthError::invalid(
                    "SCRAM mandatory extensions are not supported",
                ));
            }
        }
        let username = username.filter(|u| !u.is_empty()).ok_or_else(bad)?;
        let client_nonce = nonce.filter(|n| !n.is_empty()).ok_or_else(bad)?;
        if let Some(authzid) = authzid.strip_prefix("a=") {
            if !authzid.is_empty() && decode_saslname(authzid)? != username {
                return Err(AuthError::Message(
                    "Authentication failed: Client requested an authorization id that is different from username".into(),
                ));
            }
        } else if !authzid.is_empty() {
            return Err(bad());
        }
        let credential = lookup(&username, self.mechanism)
            .ok_or_else(|| AuthError::invalid("unknown SCRAM user"))?;
        let nonce = format!("{client_nonce}{}", self.server_nonce);
        let server_first = format!(
            "r={nonce},s={},i={}",
            B64.encode(&credential.salt),
            credential.iterations
        );
        Ok(Exchange {
            username,
            credential,
            client_first_bare: bare.to_string(),
            server_first,
            nonce,
            gs2_header,
        })
    }

    fn client_final(&self, message: &str, ex: &Exchange) -> Result<ScramOutcome, AuthError> {
        let bad = || AuthError::invalid("invalid SCRAM client-final message");
        let (without_proof, proof) = message.rsplit_once(",p=").ok_or_else(bad)?;
        let mut channel_binding = None;
        let mut nonce = None;
        for attr in without_proof.split(',') {
            if let Some(v) = attr.strip_prefix("c=") {
                channel_binding = Some(v);
            } else if let Some(v) = attr.strip_prefix("r=") {
                nonce = Some(v);
            }
        }
        if nonce != Some(ex.nonce.as_str()) {
            return Err(AuthError::invalid(
                "invalid client nonce in the final client message",
            ));
        }
        if channel_binding != Some(B64.encode(&ex.gs2_header).as_str()) {
            return Err(AuthError::invalid("invalid channel binding"));
        }
        let proof = B64.decode(proof).map_err(|_| bad())?;
        let auth_message = format!(
            "{},{},{without_proof}",
            ex.client_first_bare, ex.server_first
        );
        let m = self.mechanism;
        let client_signature = m.hmac(&ex.credential.stored_key, auth_message.as_bytes());
        if proof.len() != client_signature.len() {
            return Err(AuthError::invalid("invalid client proof"));
        }
        let client_key: Vec<u8> = proof
            .iter()
            .zip(&client_signature)
            .map(|(a, b)| a ^ b)
            .collect();
        if !constant_time_eq(&m.hash(&client_key), &ex.credential.stored_key) {
            return Err(AuthError::invalid("invalid client proof"));
        }
        let server_signature = m.hmac(&ex.credential.server_key, auth_message.as_bytes());
        Ok(ScramOutcome {
            username: ex.username.clone(),
            server_final: format!("v={}", B64.encode(server_signature)).into_bytes(),
        })
    }
}

/// RFC 5802's `saslname` of a user name.
fn encode_saslname(name: &str) -> String {
    name.replace('=', "=3D").replace(',', "=2C")
}

/// The client's side of an exchange (a broker logging in to another).
pub struct ScramClient {
    mechanism: ScramMechanism,
    username: String,
    password: String,
    client_nonce: String,
    /// The server signature the last message must carry, once computed.
    expected_server_signature: Option<Vec<u8>>,
    remembered: Option<Arc<SaltedPassword>>,
}

/// The salted password of a client's last login, by salt and iteration
/// count: a login that repeats (a broker reconnecting to its peers) skips
/// the key derivation, which is meant to be slow.
#[derive(Default)]
pub struct SaltedPassword(parking_lot::Mutex<Option<Salted>>);

struct Salted {
    salt: Vec<u8>,
    iterations: u32,
    password: Vec<u8>,
}

/// Where a SCRAM server finds a user's credential.
pub type ScramLookup = dyn Fn(&str, ScramMechanism) -> Option<ScramCredential> + Send + Sync;

impl SaltedPassword {
    fn get_or_derive(
        &self,
        mechanism: ScramMechanism,
        password: &[u8],
        salt: &[u8],
        iterations: u32,
    ) -> Vec<u8> {
        if let Some(last) = &*self.0.lock() {
            if last.salt == salt && last.iterations == iterations {
                return last.password.clone();
            }
        }
        let salted = mechanism.salted_password(password, salt, iterations);
        *self.0.lock() = Some(Salted {
            salt: salt.to_vec(),
            iterations,
            password: salted.clone(),
        });
        salted
    }
}

impl ScramClient {
    pub fn new(mechanism: ScramMechanism, username: &str, password: &str) -> ScramClient {
        let random: [u8; 24] = rand::random();
        ScramClient::with_nonce(mechanism, username, password, B64.encode(random))
    }

    fn with_nonce(
        mechanism: ScramMechanism,
        username: &str,
        password: &str,
        client_nonce: String,
    ) -> ScramClient {
        ScramClient {
            mechanism,
            username: username.to_string(),
            password: password.to_string(),
            client_nonce,
            expected_server_signature: None,
            remembered: None,
        }
    }

    /// Keeps the salted password in `remembered` for the next login.
    pub fn remembering(mut self, remembered: Arc<SaltedPassword>) -> ScramClient {
        self.remembered = Some(remembered);
        self
    }

    fn client_first_bare(&self) -> String {
        format!(
            "n={},r={}",
            encode_saslname(&self.username),
            self.client_nonce
        )
    }

    pub fn client_first(&self) -> Vec<u8> {
        format!("n,,{}", self.client_first_bare()).into_bytes()
    }

    /// The client-final message answering the server-first one.
    pub fn client_final(&mut self, server_first: &[u8]) -> Result<Vec<u8>, String> {
        let server_first = std::str::from_utf8(server_first)
            .map_err(|_| "the SCRAM server-first message is not UTF-8".to_string())?;
        let attr = |name: &str| {
            server_first
                .split(',')
                .find_map(|a| a.strip_prefix(name))
                .ok_or_else(|| format!("the SCRAM server-first message has no {name}"))
        };
        let nonce = attr("r=")?;
        if !nonce.starts_with(&self.client_nonce) {
            return Err("the server's SCRAM nonce does not extend the client's".into());
        }
        let salt = B64
            .decode(attr("s=")?)
            .map_err(|_| "the SCRAM salt is not base64".to_string())?;
        let iterations: u32 = attr("i=")?
            .parse()
            .map_err(|_| "the SCRAM iteration count is not a number".to_string())?;
        if iterations < ScramMechanism::MIN_ITERATIONS as u32 {
            return Err(format!(
                "the server asked for {iterations} SCRAM iterations, fewer than {}",
                ScramMechanism::MIN_ITERATIONS
            ));
        }
        let m = self.mechanism;
        let salted = match &self.remembered {
            Some(r) => r.get_or_derive(m, self.password.as_bytes(), &salt, iterations),
            None => m.salted_password(self.password.as_bytes(), &salt, iterations),
        };
        let client_key = m.hmac(&salted, b"Client Key");
        let stored_key = m.hash(&client_key);
        let without_proof = format!("c={},r={nonce}", B64.encode("n,,"));
        let auth_message = format!(
            "{},{server_first},{without_proof}",
            self.client_first_bare()
        );
        let signature = m.hmac(&stored_key, auth_message.as_bytes());
        let proof: Vec<u8> = client_key
            .iter()
            .zip(&signature)
            .map(|(a, b)| a ^ b)
            .collect();
        let server_key = m.hmac(&salted, b"Server Key");
        self.expected_server_signature = Some(m.hmac(&server_key, auth_message.as_bytes()));
        Ok(format!("{without_proof},p={}", B64.encode(proof)).into_bytes())
    }

    /// Checks the server-final message: the server knew the credential too.
    pub fn verify_server_final(&self, server_final: &[u8]) -> Result<(), String> {
        let text = String::from_utf8_lossy(server_final);
        if let Some(error) = text.strip_prefix("e=") {
            return Err(format!("SCRAM authentication failed: {error}"));
        }
        let signature = text
            .strip_prefix("v=")
            .and_then(|v| B64.decode(v).ok())
            .ok_or("invalid SCRAM server-final message")?;
        match &self.expected_server_signature {
            Some(expected) if constant_time_eq(expected, &signature) => Ok(()),
            _ => Err("the SCRAM server signature does not match".into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 7677 section 3: user "user", password "pencil".
    #[test]
    fn rfc7677_exchange() {
        let m = ScramMechanism::Sha256;
        let salt = B64.decode("W22ZaJ0SNY7soEsUEjb6gQ==").unwrap();
        let salted = m.salted_password(b"pencil", &salt, 4096);
        let credential = ScramCredential::from_salted_password(m, &salt, &salted, 4096);
        let mut server = ScramServer::with_nonce(m, "%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0".into());
        let lookup = |user: &str, mech: ScramMechanism| {
            (user == "user" && mech == m).then(|| credential.clone())
        };
        let first = server
            .evaluate(b"n,,n=user,r=rOprNGfwEbeRWgbNEkqO", &lookup)
            .unwrap()
            .err()
            .unwrap();
        assert_eq!(
            String::from_utf8(first).unwrap(),
            "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096"
        );
        let outcome = server
            .evaluate(
                b"c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=",
                &lookup,
            )
            .unwrap()
            .ok()
            .unwrap();
        assert_eq!(outcome.username, "user");
        assert_eq!(
            String::from_utf8(outcome.server_final).unwrap(),
            "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4="
        );
    }

    #[test]
    fn rfc7677_client_side_and_a_round_trip() {
        let mut client = ScramClient::with_nonce(
            ScramMechanism::Sha256,
            "user",
            "pencil",
            "rOprNGfwEbeRWgbNEkqO".into(),
        );
        assert_eq!(client.client_first(), b"n,,n=user,r=rOprNGfwEbeRWgbNEkqO");
        let last = client
            .client_final(b"r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096")
            .unwrap();
        assert_eq!(
            String::from_utf8(last).unwrap(),
            "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ="
        );
        client
            .verify_server_final(b"v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=")
            .unwrap();
        assert!(client.verify_server_final(b"v=AAAA").is_err());

        for m in ScramMechanism::ALL {
            let credential = ScramCredential::from_password(m, "s3cret", 4096);
            let lookup =
                |user: &str, _: ScramMechanism| (user == "a,b").then(|| credential.clone());
            let mut server = ScramServer::new(m);
            let mut client = ScramClient::new(m, "a,b", "s3cret");
            let first = server
                .evaluate(&client.client_first(), &lookup)
                .unwrap()
                .unwrap_err();
            let last = client.client_final(&first).unwrap();
            let outcome = server.evaluate(&last, &lookup).unwrap().unwrap();
            assert_eq!(outcome.username, "a,b");
            client.verify_server_final(&outcome.server_final).unwrap();
        }
    }

    #[test]
    fn a_wrong_proof_and_an_unknown_user_are_refused() {
        let m = ScramMechanism::Sha256;
        let salt = B64.decode("W22ZaJ0SNY7soEsUEjb6gQ==").unwrap();
        let salted = m.salted_password(b"not-pencil", &salt, 4096);
        let credential = ScramCredential::from_salted_password(m, &salt, &salted, 4096);
        let lookup = |user: &str, _: ScramMechanism| (user == "user").then(|| credential.clone());
        let mut server = ScramServer::with_nonce(m, "%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0".into());
        server
            .evaluate(b"n,,n=user,r=rOprNGfwEbeRWgbNEkqO", &lookup)
            .unwrap()
            .unwrap_err();
        assert!(server
            .evaluate(
                b"c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=",
                &lookup,
            )
            .is_err());
        let mut server = ScramServer::new(m);
        assert!(server.evaluate(b"n,,n=nobody,r=abc", &lookup).is_err());
        let mut server = ScramServer::new(m);
        assert!(server.evaluate(b"n,a=other,n=user,r=abc", &lookup).is_err());
    }

    #[test]
    fn bootstrap_credentials_are_read_in_add_scram_syntax() {
        let read = parse_bootstrap(
            r#"SCRAM-SHA-256=[name=admin,password=admin-secret]; SCRAM-SHA-512=[name="bob",password="a,b]c",iterations=8192]"#,
        )
        .unwrap();
        assert_eq!(read.len(), 2);
        assert_eq!(
            (read[0].user.as_str(), read[0].password.as_str()),
            ("admin", "admin-secret")
        );
        assert_eq!(read[0].iterations, 4096);
        assert_eq!(read[1].mechanism, ScramMechanism::Sha512);
        assert_eq!(
            (read[1].user.as_str(), read[1].password.as_str()),
            ("bob", "a,b]c")
        );
        assert_eq!(read[1].iterations, 8192);
        assert!(!format!("{read:?}").contains("admin-secret"));
        for bad in [
            "SCRAM-SHA-1=[name=a,password=b]",
            "SCRAM-SHA-256=[name=a]",
            "SCRAM-SHA-256=[password=b]",
            "SCRAM-SHA-256=name=a,password=b",
            "SCRAM-SHA-256=[name=a,password=b,iterations=10]",
            "SCRAM-SHA-256=[name=a,pass=b]",
        ] {
            assert!(parse_bootstrap(bad).is_err(), "{bad} was accepted");
        }
    }

    #[test]
    fn saslnames_are_decoded() {
        assert_eq!(decode_saslname("a=2Cb=3Dc").unwrap(), "a,b=c");
        assert!(decode_saslname("a=2").is_err());
    }
}
