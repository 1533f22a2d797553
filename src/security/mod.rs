//! Who a request comes from and how it reached the broker: the listener's
//! security protocol and the principal its connection authenticated as.
//! Authentication (TLS, SASL) sets the principal once per connection;
//! authorisation reads it on every request.

pub mod acl;
pub mod authorizer;
pub mod sasl;
pub mod tls;

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

/// Kafka's `SecurityProtocol`: what a listener speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SecurityProtocol {
    Plaintext,
    Ssl,
    SaslPlaintext,
    SaslSsl,
}

impl SecurityProtocol {
    /// Whether connections are wrapped in TLS.
    pub fn is_tls(self) -> bool {
        matches!(self, SecurityProtocol::Ssl | SecurityProtocol::SaslSsl)
    }

    /// Whether clients must authenticate with SASL before anything else.
    pub fn is_sasl(self) -> bool {
        matches!(
            self,
            SecurityProtocol::SaslPlaintext | SecurityProtocol::SaslSsl
        )
    }

    pub fn name(self) -> &'static str {
        match self {
            SecurityProtocol::Plaintext => "PLAINTEXT",
            SecurityProtocol::Ssl => "SSL",
            SecurityProtocol::SaslPlaintext => "SASL_PLAINTEXT",
            SecurityProtocol::SaslSsl => "SASL_SSL",
        }
    }
}

impl fmt::Display for SecurityProtocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown security protocol '{0}': expected PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL")]
pub struct UnknownProtocol(pub String);

impl FromStr for SecurityProtocol {
    type Err = UnknownProtocol;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_uppercase().as_str() {
            "PLAINTEXT" => Ok(SecurityProtocol::Plaintext),
            "SSL" => Ok(SecurityProtocol::Ssl),
            "SASL_PLAINTEXT" => Ok(SecurityProtocol::SaslPlaintext),
            "SASL_SSL" => Ok(SecurityProtocol::SaslSsl),
            _ => Err(UnknownProtocol(s.trim().to_string())),
        }
    }
}

/// Kafka's `KafkaPrincipal`: a type (`User` for every built-in
/// authenticator) and a name, written `User:alice` in ACLs and
/// `super.users`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct KafkaPrincipal {
    pub principal_type: Arc<str>,
    pub name: Arc<str>,
}

impl KafkaPrincipal {
    pub const USER_TYPE: &'static str = "User";

    pub fn user(name: &str) -> KafkaPrincipal {
        KafkaPrincipal {
            principal_type: Arc::from(Self::USER_TYPE),
            name: Arc::from(name),
        }
    }

    /// The principal of a connection that did not authenticate: every
    /// PLAINTEXT client, and SSL clients that sent no certificate.
    pub fn anonymous() -> KafkaPrincipal {
        KafkaPrincipal::user("ANONYMOUS")
    }
}

impl fmt::Display for KafkaPrincipal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.principal_type, self.name)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid principal '{0}': expected Type:name, such as User:alice")]
pub struct InvalidPrincipal(pub String);

impl FromStr for KafkaPrincipal {
    type Err = InvalidPrincipal;

    /// As Kafka's `SecurityUtils.parseKafkaPrincipal`: split at the first colon.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        match s.split_once(':') {
            Some((kind, name)) if !kind.is_empty() && !name.is_empty() => Ok(KafkaPrincipal {
                principal_type: Arc::from(kind),
                name: Arc::from(name),
            }),
            _ => Err(InvalidPrincipal(s.to_string())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn principals_are_written_and_read_as_kafka_writes_them() {
        let p: KafkaPrincipal = "User:CN=alice,O=Acme".parse().unwrap();
        assert_eq!(&*p.principal_type, "User");
        assert_eq!(&*p.name, "CN=alice,O=Acme");
        assert_eq!(p.to_string(), "User:CN=alice,O=Acme");
        assert!("alice".parse::<KafkaPrincipal>().is_err());
        assert!("User:".parse::<KafkaPrincipal>().is_err());
        assert_eq!(KafkaPrincipal::anonymous().to_string(), "User:ANONYMOUS");
    }

    #[test]
    fn protocols_are_read_in_any_case() {
        assert_eq!(
            "sasl_ssl".parse::<SecurityProtocol>().unwrap(),
            SecurityProtocol::SaslSsl
        );
        assert!("TLS".parse::<SecurityProtocol>().is_err());
        assert!(SecurityProtocol::SaslSsl.is_tls() && SecurityProtocol::SaslSsl.is_sasl());
        assert!(!SecurityProtocol::Plaintext.is_tls());
    }
}
