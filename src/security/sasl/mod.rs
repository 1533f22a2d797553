//! SASL authentication on the broker's side, as Kafka's
//! `SaslServerAuthenticator` runs it: a per-connection session that takes
//! the client's SaslHandshake (the mechanism) and its SaslAuthenticate
//! tokens, and ends with the connection's principal or a failure that
//! closes the connection. The connection layer owns the session and keeps
//! every other request out until it is authenticated.
//!
//! Mechanisms: PLAIN (users from the listener's JAAS config), SCRAM-SHA-256
//! and SCRAM-SHA-512 (credentials in the metadata image), OAUTHBEARER.
//! GSSAPI (Kerberos), Kafka's default, is not supported.

pub mod client;
pub mod jaas;
pub mod jwks;
pub mod oauthbearer;
pub mod scram;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use self::oauthbearer::{OAuthConfig, Validator};
use self::scram::{ScramCredential, ScramMechanism, ScramServer};
use crate::config::BrokerConfig;
use crate::security::KafkaPrincipal;

/// A mechanism Gregor serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mechanism {
    Plain,
    Scram(ScramMechanism),
    OAuthBearer,
}

impl Mechanism {
    pub fn name(self) -> &'static str {
        match self {
            Mechanism::Plain => "PLAIN",
            Mechanism::Scram(m) => m.name(),
            Mechanism::OAuthBearer => "OAUTHBEARER",
        }
    }

    pub fn from_name(name: &str) -> Option<Mechanism> {
        match name {
            "PLAIN" => Some(Mechanism::Plain),
            "OAUTHBEARER" => Some(Mechanism::OAuthBearer),
            other => ScramMechanism::from_name(other).map(Mechanism::Scram),
        }
    }
}

/// Why an exchange failed. `Message` is sent to the client as it is
/// (Kafka's SaslAuthenticationException); `Invalid` keeps its reason in
/// the broker's log and the client gets Kafka's generic message, which does
/// not tell an unknown user from a wrong password.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthError {
    Message(String),
    Invalid(String),
}

impl AuthError {
    pub fn invalid(reason: impl Into<String>) -> AuthError {
        AuthError::Invalid(reason.into())
    }
}

/// Compares secrets in time that does not depend on where they differ.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[derive(Debug, thiserror::Error)]
pub enum SaslConfigError {
    #[error("listener {listener}: sasl.enabled.mechanisms lists no mechanism Gregor supports (it has {configured:?}; GSSAPI is not supported): use PLAIN, SCRAM-SHA-256, SCRAM-SHA-512 or OAUTHBEARER")]
    NoMechanism {
        listener: String,
        configured: Vec<String>,
    },
    #[error("listener {listener}: {key}: {source}")]
    Jaas {
        listener: String,
        key: String,
        source: jaas::JaasError,
    },
    #[error("listener {listener}: PLAIN is enabled but no PlainLoginModule JAAS config lists its users (set listener.name.{lower}.plain.sasl.jaas.config)")]
    NoPlainUsers { listener: String, lower: String },
    #[error("listener {listener}: {key}: {reason}")]
    Invalid {
        listener: String,
        key: String,
        reason: String,
    },
}

/// One SASL listener's settings, read once at start-up.
pub struct SaslListenerConfig {
    /// Enabled and supported, in the configured order.
    pub mechanisms: Vec<Mechanism>,
    /// PLAIN's users and passwords (from PlainLoginModule's `user_<name>` options).
    plain_users: BTreeMap<String, String>,
    oauth: Option<OAuthConfig>,
    /// `connections.max.reauth.ms`; `None` when 0 (sessions never expire).
    pub max_reauth: Option<Duration>,
    /// `sasl.server.max.receive.size`: the largest frame before authentication.
    pub max_receive_size: usize,
    /// `connection.failed.authentication.delay.ms`
    pub failed_authentication_delay: Duration,
}

impl std::fmt::Debug for SaslListenerConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SaslListenerConfig")
            .field("mechanisms", &self.mechanisms)
            .field("plain_users", &self.plain_users.keys().collect::<Vec<_>>())
            .field("max_reauth", &self.max_reauth)
            .finish_non_exhaustive()
    }
}

/// The JAAS config for `mechanism` on `listener`: the listener's
/// mechanism-prefixed key (Kafka's `listener.name.<l>.<mechanism>.sasl.jaas.config`),
/// else the listener's or the broker-wide `sasl.jaas.config`.
fn jaas_config(
    config: &BrokerConfig,
    listener: &str,
    mechanism: Mechanism,
) -> Result<Option<jaas::JaasConfig>, SaslConfigError> {
    let scoped = format!(
        "listener.name.{}.{}.sasl.jaas.config",
        listener.to_ascii_lowercase(),
        mechanism.name().to_ascii_lowercase()
    );
    let (key, value) = match config.explicit(&scoped) {
        Some(v) => (scoped, v.to_string()),
        None => match config.listener_value(listener, "sasl.jaas.config") {
            Some(v) => ("sasl.jaas.config".to_string(), v),
            None => return Ok(None),
        },
    };
    jaas::parse(&value)
        .map(Some)
        .map_err(|source| SaslConfigError::Jaas {
            listener: listener.to_string(),
            key,
            source,
        })
}

impl SaslListenerConfig {
    pub fn load(
        config: &BrokerConfig,
        listener: &str,
    ) -> Result<SaslListenerConfig, SaslConfigError> {
        let value = |key: &str| config.listener_value(listener, key);
        let invalid = |key: &str, reason: String| SaslConfigError::Invalid {
            listener: listener.to_string(),
            key: key.to_string(),
            reason,
        };
        let configured: Vec<String> = value("sasl.enabled.mechanisms")
            .unwrap_or_default()
            .split(',')
            .map(|m| m.trim().to_string())
            .filter(|m| !m.is_empty())
            .collect();
        let mut mechanisms = Vec::new();
        for name in &configured {
            match Mechanism::from_name(name) {
                Some(m) if !mechanisms.contains(&m) => mechanisms.push(m),
                Some(_) => {}
                None => {
                    tracing::warn!(listener, mechanism = %name, "SASL mechanism not supported; not enabled")
                }
            }
        }
        if mechanisms.is_empty() {
            return Err(SaslConfigError::NoMechanism {
                listener: listener.to_string(),
                configured,
            });
        }
        let mut plain_users = BTreeMap::new();
        if mechanisms.contains(&Mechanism::Plain) {
            let users = jaas_config(config, listener, Mechanism::Plain)?
                .filter(|j| j.login_module.ends_with("PlainLoginModule"))
                .map(|j| j.plain_users())
                .unwrap_or_default();
            if users.is_empty() {
                return Err(SaslConfigError::NoPlainUsers {
                    listener: listener.to_string(),
                    lower: listener.to_ascii_lowercase(),
                });
            }
            plain_users = users;
        }
        let mut oauth = None;
        if mechanisms.contains(&Mechanism::OAuthBearer) {
            let secs = |key: &str| -> Result<Duration, SaslConfigError> {
                let v = value(key).unwrap_or_default();
                v.parse::<u64>()
                    .map(Duration::from_secs)
                    .map_err(|_| invalid(key, format!("'{v}' is not a number of seconds")))
            };
            let validator = match value("sasl.oauthbearer.jwks.endpoint.url") {
                Some(url) => {
                    let millis = |key: &str| -> Result<Duration, SaslConfigError> {
                        let v = value(key).unwrap_or_default();
                        v.parse::<u64>()
                            .ok()
                            .filter(|ms| *ms > 0)
                            .map(Duration::from_millis)
                            .ok_or_else(|| {
                                invalid(
                                    key,
                                    format!("'{v}' is not a positive number of milliseconds"),
                                )
                            })
                    };
                    let refresh = jwks::Refresh {
                        every: millis("sasl.oauthbearer.jwks.endpoint.refresh.ms")?,
                        backoff: millis("sasl.oauthbearer.jwks.endpoint.retry.backoff.ms")?,
                        backoff_max: millis("sasl.oauthbearer.jwks.endpoint.retry.backoff.max.ms")?,
                    };
                    let trusted = crate::security::tls::truststore_certificates(config, listener)
                        .map_err(
                        |crate::security::tls::TlsError::Config { reason, .. }| {
                            invalid("ssl.truststore.location", reason)
                        },
                    )?;
                    let key = "sasl.oauthbearer.jwks.endpoint.url";
                    let jwks =
                        jwks::Jwks::open(&url, trusted, refresh).map_err(|e| invalid(key, e))?;
                    Validator::Signed {
                        jwks: Arc::new(jwks),
                        audience: value("sasl.oauthbearer.expected.audience")
                            .unwrap_or_default()
                            .split(',')
                            .map(|a| a.trim().to_string())
                            .filter(|a| !a.is_empty())
                            .collect(),
                        issuer: value("sasl.oauthbearer.expected.issuer").filter(|i| !i.is_empty()),
                        clock_skew: secs("sasl.oauthbearer.clock.skew.seconds")?,
                        sub_claim: value("sasl.oauthbearer.sub.claim.name")
                            .unwrap_or_else(|| "sub".into()),
                    }
                }
                None => {
                    let options = jaas_config(config, listener, Mechanism::OAuthBearer)?
                        .map(|j| j.options)
                        .unwrap_or_default();
                    let skew_key = "unsecuredValidatorAllowableClockSkewMs";
                    let clock_skew = match options.get(skew_key) {
                        Some(ms) => Duration::from_millis(ms.parse().map_err(|_| {
                            invalid(
                                "oauthbearer.sasl.jaas.config",
                                format!("{skew_key} must be a number of milliseconds"),
                            )
                        })?),
                        None => Duration::ZERO,
                    };
                    Validator::Unsecured {
                        principal_claim: options
                            .get("unsecuredValidatorPrincipalClaimName")
                            .cloned()
                            .unwrap_or_else(|| "sub".into()),
                        scope_claim: options
                            .get("unsecuredValidatorScopeClaimName")
                            .cloned()
                            .unwrap_or_else(|| "scope".into()),
                        required_scope: options
                            .get("unsecuredValidatorRequiredScope")
                            .map(|s| {
                                s.split(' ')
                                    .filter(|s| !s.is_empty())
                                    .map(String::from)
                                    .collect()
                            })
                            .unwrap_or_default(),
                        clock_skew,
                    }
                }
            };
            oauth = Some(OAuthConfig { validator });
        }
        let reauth_ms = value("connections.max.reauth.ms")
            .unwrap_or_default()
            .parse::<u64>()
            .unwrap_or(0);
        let max_receive_size = value("sasl.server.max.receive.size")
            .unwrap_or_default()
            .parse::<usize>()
            .unwrap_or(524_288);
        Ok(SaslListenerConfig {
            mechanisms,
            plain_users,
            oauth,
            max_reauth: (reauth_ms > 0).then(|| Duration::from_millis(reauth_ms)),
            max_receive_size,
            failed_authentication_delay: Duration::from_millis(
                value("connection.failed.authentication.delay.ms")
                    .unwrap_or_default()
                    .parse()
                    .unwrap_or(100),
            ),
        })
    }

    /// The key set OAUTHBEARER tokens are checked against, if this listener
    /// has one; its `run` keeps it current.
    pub fn jwks(&self) -> Option<Arc<jwks::Jwks>> {
        match &self.oauth.as_ref()?.validator {
            Validator::Signed { jwks, .. } => Some(jwks.clone()),
            Validator::Unsecured { .. } => None,
        }
    }

    /// The SASL settings of `listener`, if it is a SASL one.
    pub fn for_listener(
        config: &BrokerConfig,
        listener: &crate::config::Listener,
    ) -> Result<Option<Arc<SaslListenerConfig>>, SaslConfigError> {
        if !listener.protocol.is_sasl() {
            return Ok(None);
        }
        SaslListenerConfig::load(config, &listener.name).map(|c| Some(Arc::new(c)))
    }

    pub fn mechanism_names(&self) -> Vec<&'static str> {
        self.mechanisms.iter().map(|m| m.name()).collect()
    }
}

enum Exchange {
    Plain,
    Scram(ScramServer),
    /// The token was refused with this message; the client acknowledges
    /// the error challenge before the exchange fails (RFC 7628 section 3.2.2).
    OAuth {
        refused: Option<String>,
    },
}

enum State {
    /// Waiting for SaslHandshake (ApiVersions may come first).
    Handshake,
    Authenticate {
        mechanism: Mechanism,
        exchange: Exchange,
        /// Handshake v0: tokens come as bare frames, without Kafka headers.
        raw: bool,
    },
    Authenticated,
}

/// What SaslHandshake gets.
#[derive(Debug, PartialEq, Eq)]
pub enum HandshakeOutcome {
    Accepted,
    /// Not enabled here: UNSUPPORTED_SASL_MECHANISM, then the connection closes.
    Unsupported,
    /// A re-authentication with another mechanism than the session's.
    MechanismChanged(String),
}

/// One SaslAuthenticate step's answer.
#[derive(Debug)]
pub struct AuthStep {
    pub token: Vec<u8>,
    /// KIP-368's session lifetime, sent once complete (0: no limit).
    pub session_lifetime_ms: i64,
}

/// One connection's authentication (Kafka's `SaslServerAuthenticator` with its `ReauthInfo`).
pub struct SaslSession {
    config: Arc<SaslListenerConfig>,
    state: State,
    principal: Option<KafkaPrincipal>,
    mechanism: Option<Mechanism>,
    expires_at: Option<Instant>,
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

impl SaslSession {
    pub fn new(config: Arc<SaslListenerConfig>) -> SaslSession {
        SaslSession {
            config,
            state: State::Handshake,
            principal: None,
            mechanism: None,
            expires_at: None,
        }
    }

    pub fn config(&self) -> &SaslListenerConfig {
        &self.config
    }

    /// The authenticated principal, once there is one.
    pub fn principal(&self) -> Option<&KafkaPrincipal> {
        self.principal.as_ref()
    }

    /// Whether a SaslHandshake now starts an authentication: before the
    /// first one, and (KIP-368) to re-authenticate a session that has a
    /// lifetime.
    pub fn expects_handshake(&self) -> bool {
        match self.state {
            State::Handshake => true,
            State::Authenticated => self.expires_at.is_some(),
            State::Authenticate { .. } => false,
        }
    }

    /// Whether the next SaslAuthenticate belongs to an exchange in progress.
    pub fn expects_token(&self) -> bool {
        matches!(self.state, State::Authenticate { raw: false, .. })
    }

    /// Whether the next frame is a bare token (after a v0 handshake).
    pub fn expects_raw_token(&self) -> bool {
        matches!(self.state, State::Authenticate { raw: true, .. })
    }

    /// Whether the session's lifetime (`connections.max.reauth.ms`, or its
    /// token's expiry) has passed: only a re-authentication may follow.
    pub fn expired(&self, now: Instant) -> bool {
        self.expires_at.is_some_and(|at| now >= at)
    }

    pub fn handshake(&mut self, mechanism: &str, version: i16) -> HandshakeOutcome {
        let Some(m) =
            Mechanism::from_name(mechanism).filter(|m| self.config.mechanisms.contains(m))
        else {
            return HandshakeOutcome::Unsupported;
        };
        if let Some(previous) = self
            .mechanism
            .filter(|p| self.principal.is_some() && *p != m)
        {
            return HandshakeOutcome::MechanismChanged(format!(
                "SASL mechanism '{}' requested by client is not supported for re-authentication of mechanism '{}'",
                m.name(),
                previous.name()
            ));
        }
        let exchange = match m {
            Mechanism::Plain => Exchange::Plain,
            Mechanism::Scram(s) => Exchange::Scram(ScramServer::new(s)),
            Mechanism::OAuthBearer => Exchange::OAuth { refused: None },
        };
        self.state = State::Authenticate {
            mechanism: m,
            exchange,
            raw: version == 0,
        };
        HandshakeOutcome::Accepted
    }

    /// Takes one client token. `Err` carries the message for the client;
    /// the connection closes after it.
    pub fn authenticate(
        &mut self,
        token: &[u8],
        scram: &dyn Fn(&str, ScramMechanism) -> Option<ScramCredential>,
    ) -> Result<AuthStep, String> {
        let reauthenticating = self.principal.is_some();
        let State::Authenticate {
            mechanism,
            exchange,
            ..
        } = &mut self.state
        else {
            return Err(
                "Unexpected SaslAuthenticate request: no SASL handshake in progress".into(),
            );
        };
        let mechanism = *mechanism;
        let generic =
            || {
                format!(
                "Authentication failed during {} due to invalid credentials with SASL mechanism {}",
                if reauthenticating { "re-authentication" } else { "authentication" },
                mechanism.name()
            )
            };
        let step = match exchange {
            Exchange::Plain => {
                plain(&self.config.plain_users, token).map(|user| (Vec::new(), Some((user, None))))
            }
            Exchange::Scram(server) => match server.evaluate(token, scram) {
                Ok(Ok(outcome)) => Ok((outcome.server_final, Some((outcome.username, None)))),
                Ok(Err(challenge)) => Ok((challenge, None)),
                Err(e) => Err(e),
            },
            Exchange::OAuth { refused } => {
                if let Some(message) = refused.take() {
                    Err(AuthError::Message(message))
                } else {
                    let oauth = self
                        .config
                        .oauth
                        .as_ref()
                        .expect("OAUTHBEARER is enabled with its config");
                    match oauthbearer::parse_initial_response(token) {
                        Err(e) => Err(e),
                        Ok((authzid, token)) => match oauth.validate(&token, now_ms()) {
                            Ok(valid) if !authzid.is_empty() && authzid != valid.principal => {
                                Err(AuthError::Message(format!(
                                    "Authentication failed: Client requested an authorization id ({authzid}) that is different from the token's principal name ({})",
                                    valid.principal
                                )))
                            }
                            Ok(valid) => Ok((Vec::new(), Some((valid.principal, Some(valid.expires_at_ms))))),
                            Err(reason) => {
                                tracing::info!(mechanism = "OAUTHBEARER", %reason, "token refused");
                                let status = r#"{"status":"invalid_token"}"#;
                                *refused = Some(format!("Authentication failed: {status}: {reason}"));
                                Ok((status.as_bytes().to_vec(), None))
                            }
                        },
                    }
                }
            }
        };
        let (token, done) = match step {
            Ok(step) => step,
            Err(AuthError::Message(m)) => {
                self.state = State::Handshake;
                return Err(m);
            }
            Err(AuthError::Invalid(reason)) => {
                tracing::info!(mechanism = mechanism.name(), %reason, "SASL authentication failed");
                self.state = State::Handshake;
                return Err(generic());
            }
        };
        let Some((user, token_expiry_ms)) = done else {
            return Ok(AuthStep {
                token,
                session_lifetime_ms: 0,
            });
        };
        let principal = KafkaPrincipal::user(&user);
        if let Some(previous) = &self.principal {
            if *previous != principal {
                self.state = State::Handshake;
                return Err(format!(
                    "Cannot change principals during re-authentication from {}.{}: {}.{}",
                    previous.principal_type,
                    previous.name,
                    principal.principal_type,
                    principal.name
                ));
            }
        }
        // KIP-368: the session lasts connections.max.reauth.ms, and no
        // longer than the credential (an OAUTHBEARER token) is valid.
        let max_reauth_ms = self.config.max_reauth.map(|max| max.as_millis() as i64);
        let until_expiry_ms = token_expiry_ms.map(|exp| (exp - now_ms()).max(0));
        let lifetime_ms = match (max_reauth_ms, until_expiry_ms) {
            (Some(max), Some(left)) => Some(max.min(left)),
            (max, left) => max.or(left),
        };
        self.expires_at = lifetime_ms.map(|ms| Instant::now() + Duration::from_millis(ms as u64));
        tracing::debug!(%principal, mechanism = mechanism.name(), reauthenticating, lifetime_ms, "SASL authentication complete");
        self.principal = Some(principal);
        self.mechanism = Some(mechanism);
        self.state = State::Authenticated;
        Ok(AuthStep {
            token,
            session_lifetime_ms: lifetime_ms.unwrap_or(0),
        })
    }
}

/// PLAIN (RFC 4616): `authzid NUL authcid NUL passwd`, as Kafka's `PlainSaslServer`.
fn plain(users: &BTreeMap<String, String>, token: &[u8]) -> Result<String, AuthError> {
    let parts: Vec<&[u8]> = token.split(|b| *b == 0).collect();
    if parts.len() != 3 {
        return Err(AuthError::Message(format!(
            "Invalid SASL/PLAIN response: expected 3 tokens, got {}",
            parts.len()
        )));
    }
    let text = |b: &[u8]| {
        String::from_utf8(b.to_vec())
            .map_err(|_| AuthError::Message("Invalid SASL/PLAIN response: not UTF-8".into()))
    };
    let authzid = text(parts[0])?;
    let username = text(parts[1])?;
    if username.is_empty() {
        return Err(AuthError::Message(
            "Authentication failed: username not specified".into(),
        ));
    }
    if parts[2].is_empty() {
        return Err(AuthError::Message(
            "Authentication failed: password not specified".into(),
        ));
    }
    // The same work whether or not the user exists.
    let expected = users.get(&username);
    let matches = constant_time_eq(expected.map_or(parts[2], |p| p.as_bytes()), parts[2])
        && expected.is_some();
    if !matches {
        return Err(AuthError::Message(
            "Authentication failed: Invalid username or password".into(),
        ));
    }
    if !authzid.is_empty() && authzid != username {
        return Err(AuthError::Message(
            "Authentication failed: Client requested an authorization id that is different from username".into(),
        ));
    }
    Ok(username)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_checks_the_user_list() {
        let users: BTreeMap<String, String> = [("alice".to_string(), "secret".to_string())].into();
        assert_eq!(plain(&users, b"\0alice\0secret").unwrap(), "alice");
        assert_eq!(plain(&users, b"alice\0alice\0secret").unwrap(), "alice");
        let wrong =
            AuthError::Message("Authentication failed: Invalid username or password".into());
        assert_eq!(plain(&users, b"\0alice\0nope").unwrap_err(), wrong);
        assert_eq!(plain(&users, b"\0bob\0secret").unwrap_err(), wrong);
        assert!(plain(&users, b"bob\0alice\0secret").is_err());
        assert!(plain(&users, b"\0alice").is_err());
    }

    #[test]
    fn constant_time_eq_compares() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"ab"));
    }
}
