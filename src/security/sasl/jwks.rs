//! The key set an OAUTHBEARER listener checks token signatures against,
//! from `sasl.oauthbearer.jwks.endpoint.url`, kept current as Kafka's
//! `RefreshingHttpsJwks` keeps it: an https:// (or, as Kafka allows,
//! http://) endpoint is fetched at start (the broker does not start
//! without it) and every
//! `sasl.oauthbearer.jwks.endpoint.refresh.ms`, and at once when a token
//! names a key id the set lacks, at most once a minute per key id. A
//! token with an unknown key id is refused meanwhile, as Kafka refuses it;
//! the client's retry finds the new key. A file:// key set is read again
//! when the file changes.
//!
//! The https endpoint is trusted by the listener's truststore when it has
//! one (`ssl.truststore.*`, per listener as usual), else by the Mozilla
//! roots webpki-roots carries, as a JVM trusts its own default store.

use std::collections::VecDeque;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use jsonwebtoken::jwk::JwkSet;
use parking_lot::{Mutex, RwLock};
use rustls::pki_types::CertificateDer;
use tokio::sync::{watch, Notify};

/// How long a refresh asked for by an unknown key id holds off another for
/// the same id (Kafka's `MISSING_KEY_ID_CACHE_IN_FLIGHT_MS`).
const MISSING_KEY_ID_HOLD_OFF: Duration = Duration::from_secs(60);
/// How many unknown key ids are remembered; the oldest is forgotten first.
const MISSING_KEY_IDS: usize = 16;
/// Longer key ids never cause a refresh: they are not worth remembering.
const MAX_KEY_ID_LENGTH: usize = 1000;
/// The largest key set read from the endpoint.
const MAX_JWKS_BYTES: u64 = 1 << 20;
/// How long one request to the endpoint may take, connection included.
const FETCH_TIMEOUT: Duration = Duration::from_secs(10);
/// How often a file:// key set is checked for changes.
const FILE_CHECK: Duration = Duration::from_secs(2);

/// How often and how patiently an http(s):// endpoint is read.
#[derive(Debug, Clone, Copy)]
pub struct Refresh {
    /// `sasl.oauthbearer.jwks.endpoint.refresh.ms`.
    pub every: Duration,
    /// `sasl.oauthbearer.jwks.endpoint.retry.backoff.ms`, doubled after
    /// each failure up to `retry.backoff.max.ms`.
    pub backoff: Duration,
    pub backoff_max: Duration,
}

enum Source {
    File(PathBuf),
    Http { url: String, agent: ureq::Agent },
}

pub struct Jwks {
    source: Source,
    refresh: Refresh,
    keys: RwLock<Arc<JwkSet>>,
    /// Unknown key ids and when a refresh they ask for may next be run.
    missing: Mutex<VecDeque<(String, Instant)>>,
    /// Set with `wake` when an unknown key id asks for a refresh, so that
    /// a file is read again even if it looks unchanged.
    asked: AtomicBool,
    wake: Notify,
}

impl Jwks {
    /// Reads the key set at `url` once. `trusted` is the listener's
    /// truststore, if it has one.
    pub fn open(
        url: &str,
        trusted: Option<Vec<CertificateDer<'static>>>,
        refresh: Refresh,
    ) -> Result<Jwks, String> {
        let source = if let Some(path) = url.strip_prefix("file://") {
            Source::File(PathBuf::from(path))
        } else if url.starts_with("https://") {
            Source::Http {
                url: url.to_string(),
                agent: agent(Some(trusted)),
            }
        } else if url.starts_with("http://") {
            // Kafka reads a plain http:// key set too (trivup's token
            // endpoint serves one for librdkafka's OIDC tests); the keys are
            // public, but whoever can alter them in transit can forge tokens.
            Source::Http {
                url: url.to_string(),
                agent: agent(None),
            }
        } else {
            return Err(format!(
                "'{url}': only https://, http:// and file:// URLs are supported"
            ));
        };
        let jwks = Jwks {
            source,
            refresh,
            keys: RwLock::new(Arc::new(JwkSet { keys: Vec::new() })),
            missing: Mutex::new(VecDeque::new()),
            asked: AtomicBool::new(false),
            wake: Notify::new(),
        };
        jwks.replace(jwks.fetch()?);
        Ok(jwks)
    }

    /// The key set as last read.
    pub fn keys(&self) -> Arc<JwkSet> {
        self.keys.read().clone()
    }

    /// A token named `kid`, which the key set lacks: asks for a refresh
    /// unless one was asked for that id within the last minute. Whether a
    /// refresh was asked for.
    pub fn key_missing(&self, kid: &str) -> bool {
        if kid.len() > MAX_KEY_ID_LENGTH {
            return false;
        }
        let now = Instant::now();
        let mut missing = self.missing.lock();
        if let Some(i) = missing.iter().position(|(id, _)| id == kid) {
            if missing[i].1 > now {
                return false;
            }
            missing.remove(i);
        }
        if missing.len() == MISSING_KEY_IDS {
            missing.pop_front();
        }
        missing.push_back((kid.to_string(), now + MISSING_KEY_ID_HOLD_OFF));
        self.asked.store(true, Ordering::Relaxed);
        self.wake.notify_one();
        true
    }

    /// Keeps the key set current until shutdown.
    pub async fn run(self: Arc<Self>, mut shutdown: watch::Receiver<bool>) {
        let mut stamp = self.file_stamp();
        let mut backoff = self.refresh.backoff;
        let mut wait = self.regular_wait();
        loop {
            tokio::select! {
                _ = shutdown.changed() => return,
                _ = tokio::time::sleep(wait) => {}
                _ = self.wake.notified() => {}
            }
            let asked = self.asked.swap(false, Ordering::Relaxed);
            if let Source::File(_) = self.source {
                let now = self.file_stamp();
                if now == stamp && !asked {
                    continue;
                }
                stamp = now;
            }
            let this = self.clone();
            let fetched = tokio::task::spawn_blocking(move || this.fetch())
                .await
                .unwrap_or_else(|e| Err(format!("the refresh task failed: {e}")));
            match fetched {
                Ok(keys) => {
                    tracing::info!(url = %self.location(), keys = keys.keys.len(), "OAUTHBEARER JWKS refreshed");
                    self.replace(keys);
                    backoff = self.refresh.backoff;
                    wait = self.regular_wait();
                }
                Err(error) => {
                    tracing::warn!(url = %self.location(), %error, "OAUTHBEARER JWKS refresh failed; the previous keys stay");
                    wait = backoff.min(self.regular_wait());
                    backoff = (backoff * 2).min(self.refresh.backoff_max);
                }
            }
        }
    }

    fn regular_wait(&self) -> Duration {
        match self.source {
            Source::File(_) => FILE_CHECK,
            Source::Http { .. } => self.refresh.every,
        }
    }

    fn file_stamp(&self) -> Option<(std::time::SystemTime, u64)> {
        match &self.source {
            Source::File(path) => std::fs::metadata(path)
                .ok()
                .and_then(|m| Some((m.modified().ok()?, m.len()))),
            Source::Http { .. } => None,
        }
    }

    fn location(&self) -> &str {
        match &self.source {
            Source::File(path) => path.to_str().unwrap_or("(file)"),
            Source::Http { url, .. } => url,
        }
    }

    fn replace(&self, keys: JwkSet) {
        self.missing.lock().retain(|(id, _)| {
            !keys
                .keys
                .iter()
                .any(|k| k.common.key_id.as_deref() == Some(id.as_str()))
        });
        *self.keys.write() = Arc::new(keys);
    }

    /// Reads the key set (blocking).
    fn fetch(&self) -> Result<JwkSet, String> {
        let text = match &self.source {
            Source::File(path) => std::fs::read_to_string(path)
                .map_err(|e| format!("cannot read {}: {e}", path.display()))?,
            Source::Http { url, agent } => agent
                .get(url)
                .call()
                .and_then(|mut response| {
                    response
                        .body_mut()
                        .with_config()
                        .limit(MAX_JWKS_BYTES)
                        .read_to_string()
                })
                .map_err(|e| format!("cannot read {url}: {e}"))?,
        };
        serde_json::from_str(&text).map_err(|e| format!("{} is not a JWKS: {e}", self.location()))
    }
}

/// With `tls`, an https-only client trusting the listener's truststore,
/// or webpki-roots without one; without, a plain http client.
fn agent(tls: Option<Option<Vec<CertificateDer<'static>>>>) -> ureq::Agent {
    let Some(trusted) = tls else {
        return ureq::Agent::config_builder()
            .timeout_global(Some(FETCH_TIMEOUT))
            .build()
            .into();
    };
    let roots = match trusted {
        Some(certificates) => ureq::tls::RootCerts::Specific(Arc::new(
            certificates
                .iter()
                .map(|c| ureq::tls::Certificate::from_der(c.as_ref()).to_owned())
                .collect(),
        )),
        None => ureq::tls::RootCerts::WebPki,
    };
    ureq::Agent::config_builder()
        .https_only(true)
        .timeout_global(Some(FETCH_TIMEOUT))
        .tls_config(ureq::tls::TlsConfig::builder().root_certs(roots).build())
        .build()
        .into()
}
