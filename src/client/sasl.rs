//! The client side of SASL PLAIN and SCRAM-SHA-256/512 (RFC 5802, 7677)
//! for the tools' own Kafka-protocol connection (`wire`): the messages a
//! client sends and the checks it makes on the broker's, with no I/O.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use hmac::{Hmac, Mac};
use rand::distr::{Alphanumeric, SampleString};
use sha2::{Digest, Sha256, Sha512};

use super::error::{ClientError, Result};

/// The mechanisms the tools' own connection speaks, by librdkafka's names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mechanism {
    Plain,
    ScramSha256,
    ScramSha512,
}

impl Mechanism {
    pub fn name(self) -> &'static str {
        match self {
            Mechanism::Plain => "PLAIN",
            Mechanism::ScramSha256 => "SCRAM-SHA-256",
            Mechanism::ScramSha512 => "SCRAM-SHA-512",
        }
    }

    pub fn from_name(name: &str) -> Option<Mechanism> {
        [
            Mechanism::Plain,
            Mechanism::ScramSha256,
            Mechanism::ScramSha512,
        ]
        .into_iter()
        .find(|m| m.name().eq_ignore_ascii_case(name.trim()))
    }
}

fn failed(why: impl Into<String>) -> ClientError {
    ClientError::Invalid(format!("SASL authentication failed: {}", why.into()))
}

/// PLAIN's one message (RFC 4616), with no authorization identity.
pub fn plain_message(username: &str, password: &str) -> Vec<u8> {
    format!("\0{username}\0{password}").into_bytes()
}

fn hmac(mechanism: Mechanism, key: &[u8], data: &[u8]) -> Result<Vec<u8>> {
    let bad_key = |e: hmac::digest::InvalidLength| failed(format!("HMAC key: {e}"));
    Ok(match mechanism {
        Mechanism::ScramSha512 => {
            let mut mac = Hmac::<Sha512>::new_from_slice(key).map_err(bad_key)?;
            mac.update(data);
            mac.finalize().into_bytes().to_vec()
        }
        _ => {
            let mut mac = Hmac::<Sha256>::new_from_slice(key).map_err(bad_key)?;
            mac.update(data);
            mac.finalize().into_bytes().to_vec()
        }
    })
}

fn hash(mechanism: Mechanism, data: &[u8]) -> Vec<u8> {
    match mechanism {
        Mechanism::ScramSha512 => Sha512::digest(data).to_vec(),
        _ => Sha256::digest(data).to_vec(),
    }
}

fn salted_password(mechanism: Mechanism, password: &str, salt: &[u8], iterations: u32) -> Vec<u8> {
    match mechanism {
        Mechanism::ScramSha512 => {
            let mut out = vec![0u8; 64];
            pbkdf2::pbkdf2_hmac::<Sha512>(password.as_bytes(), salt, iterations, &mut out);
            out
        }
        _ => {
            let mut out = vec![0u8; 32];
            pbkdf2::pbkdf2_hmac::<Sha256>(password.as_bytes(), salt, iterations, &mut out);
            out
        }
    }
}

/// A SCRAM exchange in progress: the client's first message is sent; the
/// server's first answer gives the final message; the server's final
/// answer proves it knew the credential.
pub struct Scram {
    mechanism: Mechanism,
    password: String,
    nonce: String,
    client_first_bare: String,
    server_signature: Option<Vec<u8>>,
}

impl Scram {
    /// Starts an exchange for `username` with a fresh random nonce.
    pub fn new(mechanism: Mechanism, username: &str, password: &str) -> Scram {
        let nonce = Alphanumeric.sample_string(&mut rand::rng(), 32);
        Scram::with_nonce(mechanism, username, password, &nonce)
    }

    fn with_nonce(mechanism: Mechanism, username: &str, password: &str, nonce: &str) -> Scram {
        // RFC 5802 5.1: '=' and ',' in a name are escaped.
        let name = username.replace('=', "=3D").replace(',', "=2C");
        Scram {
            mechanism,
            password: password.to_string(),
            nonce: nonce.to_string(),
            client_first_bare: format!("n={name},r={nonce}"),
            server_signature: None,
        }
    }

    /// The client-first message: no channel binding, no authorization id.
    pub fn client_first(&self) -> Vec<u8> {
        format!("n,,{}", self.client_first_bare).into_bytes()
    }

    /// The client-final message answering `server_first`.
    pub fn client_final(&mut self, server_first: &[u8]) -> Result<Vec<u8>> {
        let server_first = std::str::from_utf8(server_first)
            .map_err(|_| failed("the server's first SCRAM message is not UTF-8"))?;
        let field = |key: &str| {
            server_first
                .split(',')
                .find_map(|f| f.strip_prefix(key).and_then(|v| v.strip_prefix('=')))
                .ok_or_else(|| {
                    failed(format!(
                        "the server's first SCRAM message has no '{key}': {server_first}"
                    ))
                })
        };
        let server_nonce = field("r")?;
        if !server_nonce.starts_with(&self.nonce) || server_nonce.len() == self.nonce.len() {
            return Err(failed(
                "the server's SCRAM nonce does not extend the client's",
            ));
        }
        let salt = STANDARD
            .decode(field("s")?)
            .map_err(|_| failed("the server's SCRAM salt is not base64"))?;
        let iterations: u32 =
            field("i")?.parse().ok().filter(|i| *i > 0).ok_or_else(|| {
                failed("the server's SCRAM iteration count is not a positive number")
            })?;
        let m = self.mechanism;
        let salted = salted_password(m, &self.password, &salt, iterations);
        let client_key = hmac(m, &salted, b"Client Key")?;
        let stored_key = hash(m, &client_key);
        let without_proof = format!("c=biws,r={server_nonce}");
        let auth_message = format!("{},{server_first},{without_proof}", self.client_first_bare);
        let client_signature = hmac(m, &stored_key, auth_message.as_bytes())?;
        let proof: Vec<u8> = client_key
            .iter()
            .zip(&client_signature)
            .map(|(k, s)| k ^ s)
            .collect();
        let server_key = hmac(m, &salted, b"Server Key")?;
        self.server_signature = Some(hmac(m, &server_key, auth_message.as_bytes())?);
        Ok(format!("{without_proof},p={}", STANDARD.encode(proof)).into_bytes())
    }

    /// Checks the server-final message: the server's signature, or the
    /// error it reports.
    pub fn verify_server_final(&self, server_final: &[u8]) -> Result<()> {
        let text = String::from_utf8_lossy(server_final);
        if let Some(error) = text.strip_prefix("e=") {
            return Err(failed(error.to_string()));
        }
        let signature = text
            .strip_prefix("v=")
            .and_then(|v| STANDARD.decode(v).ok())
            .ok_or_else(|| failed(format!("unexpected final SCRAM message '{text}'")))?;
        if Some(&signature) != self.server_signature.as_ref() {
            return Err(failed(
                "the server's SCRAM signature is wrong: it does not know this credential",
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 7677 section 3's example exchange.
    #[test]
    fn scram_sha_256_matches_the_rfc_example() {
        let mut scram = Scram::with_nonce(
            Mechanism::ScramSha256,
            "user",
            "pencil",
            "rOprNGfwEbeRWgbNEkqO",
        );
        assert_eq!(scram.client_first(), b"n,,n=user,r=rOprNGfwEbeRWgbNEkqO");
        let server_first = b"r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,\
                             s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096";
        assert_eq!(
            String::from_utf8(scram.client_final(server_first).unwrap()).unwrap(),
            "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,\
             p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ="
        );
        scram
            .verify_server_final(b"v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=")
            .unwrap();
        let forged = scram
            .verify_server_final(b"v=AAAATRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=")
            .unwrap_err();
        assert!(
            forged.to_string().contains("signature is wrong"),
            "{forged}"
        );
        let refused = scram.verify_server_final(b"e=invalid-proof").unwrap_err();
        assert!(refused.to_string().contains("invalid-proof"), "{refused}");
    }

    #[test]
    fn a_server_nonce_that_does_not_extend_ours_is_refused() {
        let mut scram = Scram::with_nonce(Mechanism::ScramSha512, "a,b=c", "pw", "abc");
        assert_eq!(scram.client_first(), b"n,,n=a=2Cb=3Dc,r=abc");
        for bad in [
            &b"r=xyz123,s=AAAA,i=4096"[..],
            b"r=abc,s=AAAA,i=4096",
            b"r=abcd,s=AAAA",
        ] {
            assert!(
                scram.client_final(bad).is_err(),
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
        assert!(scram.client_final(b"r=abcd,s=AAAA,i=4096").is_ok());
    }

    #[test]
    fn plain_is_nul_separated() {
        assert_eq!(plain_message("alice", "s3cret"), b"\0alice\0s3cret");
        assert_eq!(
            Mechanism::from_name("scram-sha-512"),
            Some(Mechanism::ScramSha512)
        );
        assert_eq!(Mechanism::from_name("GSSAPI"), None);
    }
}
