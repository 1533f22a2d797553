//! The broker as a SASL client of other brokers (replica fetches,
//! transaction markers) and of the quorum's controllers when their
//! listener is a SASL one: `sasl.mechanism.inter.broker.protocol` or
//! `sasl.mechanism.controller.protocol` with the login of the listener's
//! JAAS config (`username`/`password` of PlainLoginModule or
//! ScramLoginModule, `unsecuredLoginStringClaim_sub` of
//! OAuthBearerLoginModule), as a Kafka broker logs in.

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;

use super::scram::{SaltedPassword, ScramClient};
use super::{jaas_config, Mechanism, SaslConfigError};
use crate::config::BrokerConfig;

/// How this broker logs in to the others.
pub struct SaslClientConfig {
    pub mechanism: Mechanism,
    login: Login,
    salted: Arc<SaltedPassword>,
}

enum Login {
    Password {
        username: String,
        password: String,
    },
    /// An unsecured OAUTHBEARER token for this subject (Kafka's
    /// OAuthBearerUnsecuredLoginCallbackHandler).
    UnsecuredToken {
        subject: String,
    },
}

impl std::fmt::Debug for SaslClientConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SaslClientConfig")
            .field("mechanism", &self.mechanism)
            .finish_non_exhaustive()
    }
}

impl SaslClientConfig {
    /// The login for brokers' SASL listener `listener`.
    pub fn inter_broker(
        config: &BrokerConfig,
        listener: &str,
    ) -> Result<SaslClientConfig, SaslConfigError> {
        SaslClientConfig::login(
            config,
            listener,
            "sasl.mechanism.inter.broker.protocol",
            "between brokers",
        )
    }

    /// The login for the controllers' SASL CONTROLLER listener `listener`
    /// (`sasl.mechanism.controller.protocol`, as Kafka's KRaft nodes log in
    /// to the quorum).
    pub fn controller(
        config: &BrokerConfig,
        listener: &str,
    ) -> Result<SaslClientConfig, SaslConfigError> {
        SaslClientConfig::login(
            config,
            listener,
            "sasl.mechanism.controller.protocol",
            "on the metadata quorum",
        )
    }

    fn login(
        config: &BrokerConfig,
        listener: &str,
        key: &str,
        between: &str,
    ) -> Result<SaslClientConfig, SaslConfigError> {
        let invalid = |reason: String| SaslConfigError::Invalid {
            listener: listener.to_string(),
            key: key.to_string(),
            reason,
        };
        let name = config.get(key).unwrap_or_default();
        let mechanism = Mechanism::from_name(&name).ok_or_else(|| {
            let default = if name == "GSSAPI" {
                " (Kafka's default)"
            } else {
                ""
            };
            invalid(format!(
                "'{name}'{default} is not supported {between}: use PLAIN, SCRAM-SHA-256, SCRAM-SHA-512 or OAUTHBEARER"
            ))
        })?;
        let enabled = config
            .listener_value(listener, "sasl.enabled.mechanisms")
            .unwrap_or_default();
        if !enabled.split(',').any(|m| m.trim() == name) {
            return Err(invalid(format!(
                "{name} must be one of the listener's sasl.enabled.mechanisms ({enabled})"
            )));
        }
        let options = jaas_config(config, listener, mechanism)?
            .map(|j| j.options)
            .unwrap_or_default();
        let jaas_key = format!(
            "listener.name.{}.{}.sasl.jaas.config",
            listener.to_ascii_lowercase(),
            mechanism.name().to_ascii_lowercase()
        );
        let option = |name: &str| {
            options
                .get(name)
                .cloned()
                .ok_or_else(|| SaslConfigError::Invalid {
                    listener: listener.to_string(),
                    key: jaas_key.clone(),
                    reason: format!(
                        "{key} is {}: the JAAS config needs {name}",
                        mechanism.name()
                    ),
                })
        };
        let login = match mechanism {
            Mechanism::OAuthBearer => Login::UnsecuredToken {
                subject: option("unsecuredLoginStringClaim_sub")?,
            },
            _ => Login::Password {
                username: option("username")?,
                password: option("password")?,
            },
        };
        Ok(SaslClientConfig {
            mechanism,
            login,
            salted: Arc::default(),
        })
    }

    pub fn start(&self) -> SaslClientExchange<'_> {
        SaslClientExchange {
            config: self,
            scram: match (&self.mechanism, &self.login) {
                (Mechanism::Scram(m), Login::Password { username, password }) => {
                    Some(ScramClient::new(*m, username, password).remembering(self.salted.clone()))
                }
                _ => None,
            },
            step: 0,
        }
    }
}

/// One login in progress.
pub struct SaslClientExchange<'a> {
    config: &'a SaslClientConfig,
    scram: Option<ScramClient>,
    step: u32,
}

impl SaslClientExchange<'_> {
    /// The first token.
    pub fn first(&mut self) -> Vec<u8> {
        self.step = 1;
        if let Some(scram) = &self.scram {
            return scram.client_first();
        }
        match &self.config.login {
            Login::Password { username, password } => {
                format!("\0{username}\0{password}").into_bytes()
            }
            Login::UnsecuredToken { subject } => {
                let now = SystemTime::now()
                    .duration_since(UNIX_EPOCH)
                    .map(|d| d.as_secs())
                    .unwrap_or(0);
                let claims = serde_json::json!({ "sub": subject, "iat": now, "exp": now + 3600 });
                let token = format!(
                    "{}.{}.",
                    URL_SAFE_NO_PAD.encode(r#"{"alg":"none"}"#),
                    URL_SAFE_NO_PAD.encode(claims.to_string())
                );
                format!("n,,\u{1}auth=Bearer {token}\u{1}\u{1}").into_bytes()
            }
        }
    }

    /// The answer to the server's token; `None` once logged in.
    pub fn next(&mut self, server: &[u8]) -> Result<Option<Vec<u8>>, String> {
        self.step += 1;
        match (&mut self.scram, self.step) {
            (Some(scram), 2) => scram.client_final(server).map(Some),
            (Some(scram), _) => scram.verify_server_final(server).map(|()| None),
            (None, _) if server.is_empty() => Ok(None),
            (None, _) => Err(format!(
                "the broker refused the token: {}",
                String::from_utf8_lossy(server)
            )),
        }
    }
}
