//! The first contact with a cluster, through librdkafka, saying why it
//! failed. librdkafka's calls only say "broker transport failure" once
//! the timeout has passed; the reason (an untrusted certificate, failed
//! authentication) goes to its log, which this reads.

use std::time::{Duration, Instant};

use parking_lot::Mutex;
use rdkafka::client::ClientContext;
use rdkafka::config::RDKafkaLogLevel;
use rdkafka::metadata::Metadata;
use rdkafka::producer::{BaseProducer, DeliveryResult, Producer as _, ProducerContext};

use super::config::ClientSettings;
use super::error::{ClientError, Result};

/// librdkafka's last connection failure, from its log.
#[derive(Default)]
struct Failures {
    last: Mutex<Option<String>>,
}

impl ClientContext for Failures {
    fn log(&self, level: RDKafkaLogLevel, facility: &str, message: &str) {
        let error = matches!(
            level,
            RDKafkaLogLevel::Emerg
                | RDKafkaLogLevel::Alert
                | RDKafkaLogLevel::Critical
                | RDKafkaLogLevel::Error
        );
        if error && facility == "FAIL" {
            // Which librdkafka thread saw it says nothing to the user.
            let message = match message.split_once("]: ") {
                Some((thread, rest)) if thread.starts_with("[thrd:") => rest,
                _ => message,
            };
            *self.last.lock() = Some(message.to_string());
        }
    }
}

/// The client sends nothing, so it has no deliveries to report.
impl ProducerContext for Failures {
    type DeliveryOpaque = ();

    fn delivery(&self, _: &DeliveryResult<'_>, _: ()) {}
}

/// Whether a connection failure is one that retrying cannot cure: the
/// TLS handshake refused or authentication failed. These are
/// configuration mistakes, where waiting out the timeout only hides the
/// reason.
pub fn is_lasting(message: &str) -> bool {
    [
        "SSL handshake failed",
        "certificate verify failed",
        "SASL authentication error",
        "Authentication failed",
    ]
    .iter()
    .any(|sign| message.contains(sign))
}

/// The first metadata request may take longer than this on a large
/// cluster; each further attempt waits twice as long.
const FIRST_ATTEMPT: Duration = Duration::from_millis(250);

/// Waits up to the settings' timeout for the cluster's metadata (every
/// topic's), and returns it. Fails at
/// once, with librdkafka's reason, on a lasting failure. Blocking.
pub fn reach(settings: &ClientSettings) -> Result<Metadata> {
    // Looking the cluster up must never create a topic.
    let client: BaseProducer<Failures> = settings
        .clone()
        .with_defaults([("allow.auto.create.topics", "false")])
        .rdkafka()
        .create_with_context(Failures::default())
        .map_err(ClientError::kafka("cannot create a client"))?;
    let deadline = Instant::now() + settings.timeout;
    let mut attempt = FIRST_ATTEMPT;
    loop {
        let wait = attempt.min(deadline.saturating_duration_since(Instant::now()));
        let fetched = client.client().fetch_metadata(None, wait);
        // Hands the log lines queued meanwhile to `Failures`.
        client.poll(Duration::ZERO);
        let cause = match fetched {
            Ok(metadata) => return Ok(metadata),
            Err(cause) => cause,
        };
        let last: Option<String> = client.context().last.lock().clone();
        match last {
            Some(reason) if is_lasting(&reason) => {
                return Err(ClientError::Refused {
                    bootstrap: settings.bootstrap.clone(),
                    reason,
                })
            }
            _ if Instant::now() < deadline => attempt *= 2,
            _ => return Err(ClientError::unreachable(settings)(cause)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn certificate_and_authentication_failures_are_lasting() {
        assert!(is_lasting(
            "ssl://127.0.0.1:9093/bootstrap: SSL handshake failed: error:0A000086:SSL \
             routines::certificate verify failed (after 3ms in state SSL_HANDSHAKE)"
        ));
        assert!(is_lasting(
            "sasl_plaintext://127.0.0.1:9092/bootstrap: SASL authentication error: \
             Authentication failed: Invalid username or password (after 2ms in state AUTH_REQ)"
        ));
        assert!(!is_lasting(
            "127.0.0.1:9092/bootstrap: Connect to ipv4#127.0.0.1:9092 failed: Connection refused \
             (after 0ms in state CONNECT)"
        ));
        assert!(!is_lasting(
            "ssl://127.0.0.1:9093/1: Disconnected (after 5000ms in state UP)"
        ));
    }
}
