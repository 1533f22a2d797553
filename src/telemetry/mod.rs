//! Client telemetry (KIP-714), as Kafka's ClientMetricsManager: clients
//! ask which metrics the operator's subscriptions want of them
//! (GetTelemetrySubscriptions) and push them at the interval asked
//! (PushTelemetry). The broker keeps, per client instance, what it was
//! told and the latest values it pushed, for the metrics endpoint.
//!
//! Design differs from Kafka: the broker asks for cumulative values
//! (`delta_temporality` false) rather than deltas, since it shows each
//! client's latest values rather than handing them to an exporter plugin.

pub mod otlp;
pub mod subscription;

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use base64::Engine;
use kafka_protocol::error::ResponseError;
use parking_lot::Mutex;
use uuid::Uuid;

pub use otlp::Sample;
use subscription::{ClientSelector, Requested, Subscription};

/// Kafka's bound on the client instances a broker keeps (CACHE_MAX_SIZE).
const MAX_INSTANCES: usize = 16_384;
/// An instance not heard from for this many push intervals is forgotten
/// (Kafka's cache expiry), but never sooner than [`MIN_EXPIRY_MS`].
const EXPIRY_INTERVALS: i64 = 3;
const MIN_EXPIRY_MS: i64 = 60_000;
/// A pushed payload may inflate to this many times `telemetry.max.bytes`.
const MAX_INFLATION: usize = 10;

/// Compression types a client may push with: every codec Kafka has
/// (gzip, snappy, lz4, zstd), as Kafka offers them; uncompressed is always accepted.
pub const ACCEPTED_COMPRESSION: [i8; 4] = [1, 2, 3, 4];

/// Kafka's text for a client instance id (its base64 Uuid string).
pub fn instance_id_text(id: Uuid) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(id.as_bytes())
}

/// A refused telemetry request: Kafka's code and message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TelemetryError {
    pub code: ResponseError,
    pub message: String,
}

fn refuse(code: ResponseError, message: String) -> TelemetryError {
    TelemetryError { code, message }
}

/// What GetTelemetrySubscriptions answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subscribed {
    pub client_instance_id: Uuid,
    pub subscription_id: i32,
    pub push_interval_ms: i32,
    pub requested_metrics: Vec<String>,
    pub telemetry_max_bytes: i32,
}

/// A PushTelemetry request's content.
pub struct Push<'a> {
    pub client_instance_id: Uuid,
    pub subscription_id: i32,
    pub terminating: bool,
    pub compression_type: i8,
    pub metrics: &'a [u8],
}

/// One client instance's latest pushed values, for the metrics endpoint.
pub struct ClientMetrics {
    pub client_instance_id: String,
    pub client_id: String,
    pub samples: Arc<Vec<Sample>>,
}

struct Instance {
    selector: ClientSelector,
    requested: Requested,
    subscription_id: i32,
    last_get_ms: i64,
    last_push_ms: i64,
    last_seen_ms: i64,
    /// The last refusal, which lets a client that has to start over ask
    /// again at once.
    last_error: Option<ResponseError>,
    terminating: bool,
    samples: Arc<Vec<Sample>>,
}

impl Instance {
    fn new(selector: ClientSelector, requested: Requested, id: Uuid, now_ms: i64) -> Self {
        Instance {
            subscription_id: subscription_id(&requested, id),
            selector,
            requested,
            last_get_ms: 0,
            last_push_ms: 0,
            last_seen_ms: now_ms,
            last_error: None,
            terminating: false,
            samples: Arc::default(),
        }
    }

    fn expiry_ms(&self) -> i64 {
        (EXPIRY_INTERVALS * i64::from(self.requested.interval_ms)).max(MIN_EXPIRY_MS)
    }

    /// Kafka: a client may ask again once an interval has passed since it
    /// last asked or pushed.
    fn may_get(&mut self, now_ms: i64) -> bool {
        let last = self.last_get_ms.max(self.last_push_ms);
        let ok = now_ms - last >= i64::from(self.requested.interval_ms);
        if ok {
            self.last_get_ms = now_ms;
        }
        ok
    }

    /// Kafka: the first push after asking is taken at once, later ones an
    /// interval after the last.
    fn may_push(&mut self, now_ms: i64) -> bool {
        let ok = self.last_get_ms > self.last_push_ms
            || now_ms - self.last_get_ms.max(self.last_push_ms)
                >= i64::from(self.requested.interval_ms);
        if ok {
            self.last_push_ms = now_ms;
        }
        ok
    }
}

/// Identifies what a client was asked for: a new id whenever the
/// subscriptions selecting it change, so its pushes under the old one are
/// told UNKNOWN_SUBSCRIPTION_ID and it asks again.
fn subscription_id(requested: &Requested, id: Uuid) -> i32 {
    let mut hasher = crc32fast::Hasher::new();
    for m in &requested.metrics {
        hasher.update(m.as_bytes());
        hasher.update(b",");
    }
    hasher.update(&requested.interval_ms.to_be_bytes());
    hasher.update(id.as_bytes());
    hasher.finalize() as i32
}

struct State {
    /// The parsed subscriptions of the image at this epoch.
    subscriptions: (u64, Arc<Vec<Subscription>>),
    instances: HashMap<Uuid, Instance>,
    last_sweep_ms: i64,
}

/// The broker's client telemetry: instances and their latest metrics.
pub struct ClientTelemetry {
    max_bytes: usize,
    state: Mutex<State>,
}

impl ClientTelemetry {
    pub fn new(max_bytes: usize) -> Self {
        ClientTelemetry {
            max_bytes,
            state: Mutex::new(State {
                subscriptions: (u64::MAX, Arc::default()),
                instances: HashMap::new(),
                last_sweep_ms: 0,
            }),
        }
    }

    /// GetTelemetrySubscriptions: a client sending the zero id gets a new
    /// one. `subscriptions` are the image's, at `epoch`.
    pub fn subscriptions(
        &self,
        client_instance_id: Uuid,
        selector: impl FnOnce(Uuid) -> ClientSelector,
        image: (u64, &BTreeMap<String, BTreeMap<String, String>>),
        now_ms: i64,
    ) -> Result<Subscribed, TelemetryError> {
        let mut state = self.state.lock();
        let id = if client_instance_id.is_nil() {
            loop {
                let id = Uuid::new_v4();
                if !state.instances.contains_key(&id) {
                    break id;
                }
            }
        } else {
            client_instance_id
        };
        let instance = state.instance(id, selector, image, now_ms);
        let ask_again_allowed = matches!(
            instance.last_error,
            Some(ResponseError::UnknownSubscriptionId | ResponseError::UnsupportedCompressionType)
        );
        if !instance.may_get(now_ms) && !ask_again_allowed {
            instance.last_error = Some(ResponseError::ThrottlingQuotaExceeded);
            return Err(refuse(
                ResponseError::ThrottlingQuotaExceeded,
                format!(
                    "The request from the client [{}] arrived before the next push interval time",
                    instance_id_text(id)
                ),
            ));
        }
        if ask_again_allowed {
            instance.last_get_ms = now_ms;
        }
        instance.last_error = None;
        Ok(Subscribed {
            client_instance_id: id,
            subscription_id: instance.subscription_id,
            push_interval_ms: instance.requested.interval_ms,
            requested_metrics: instance.requested.metrics.clone(),
            telemetry_max_bytes: i32::try_from(self.max_bytes).unwrap_or(i32::MAX),
        })
    }

    /// PushTelemetry, checked in Kafka's order: a known instance that has
    /// not terminated, its current subscription, the interval, the
    /// compression type, the size; then the metrics are decoded and kept.
    pub fn push(
        &self,
        push: Push<'_>,
        selector: impl FnOnce(Uuid) -> ClientSelector,
        image: (u64, &BTreeMap<String, BTreeMap<String, String>>),
        now_ms: i64,
    ) -> Result<(), TelemetryError> {
        let id = push.client_instance_id;
        let text = instance_id_text(id);
        if id.is_nil() {
            return Err(refuse(
                ResponseError::InvalidRequest,
                format!("Invalid request from the client [{text}], missing client instance id"),
            ));
        }
        let mut state = self.state.lock();
        let instance = state.instance(id, selector, image, now_ms);
        let outcome = self.check_and_take(instance, &push, &text, now_ms);
        instance.last_error = outcome.as_ref().err().map(|e| e.code);
        outcome
    }

    fn check_and_take(
        &self,
        instance: &mut Instance,
        push: &Push<'_>,
        text: &str,
        now_ms: i64,
    ) -> Result<(), TelemetryError> {
        if instance.terminating {
            return Err(refuse(
                ResponseError::InvalidRequest,
                format!("Client {text} sent the previous request with state terminated, ignoring the request"),
            ));
        }
        if push.subscription_id != instance.subscription_id {
            return Err(refuse(
                ResponseError::UnknownSubscriptionId,
                format!("Unknown client subscription id for the client: {text}"),
            ));
        }
        if !instance.may_push(now_ms) && !push.terminating {
            return Err(refuse(
                ResponseError::ThrottlingQuotaExceeded,
                format!(
                    "Request from the client [{text}] arrived before the next push interval time"
                ),
            ));
        }
        if push.compression_type != 0 && !ACCEPTED_COMPRESSION.contains(&push.compression_type) {
            return Err(refuse(
                ResponseError::UnsupportedCompressionType,
                format!(
                    "Unknown compression type {} from the client [{text}]",
                    push.compression_type
                ),
            ));
        }
        if push.metrics.len() > self.max_bytes {
            return Err(refuse(
                ResponseError::TelemetryTooLarge,
                format!(
                    "Telemetry request from [{text}] is larger than the maximum allowed size [{}]",
                    self.max_bytes
                ),
            ));
        }
        instance.terminating = push.terminating;
        if push.metrics.is_empty() {
            return Ok(());
        }
        let bad = |what: String| {
            refuse(
                ResponseError::InvalidRequest,
                format!("Metrics pushed by the client [{text}] cannot be read: {what}"),
            )
        };
        let codec = crate::log::Codec::of(i16::from(push.compression_type))
            .map_err(|e| bad(e.to_string()))?;
        let cap = (self.max_bytes * MAX_INFLATION) as u64;
        let payload =
            crate::log::inflate(codec, push.metrics, cap).map_err(|e| bad(e.to_string()))?;
        let samples = otlp::decode(&payload).map_err(|e| bad(e.to_string()))?;
        instance.samples = Arc::new(samples);
        Ok(())
    }

    /// The latest metrics of every instance kept, instances that stopped
    /// pushing forgotten first.
    pub fn snapshot(&self, now_ms: i64) -> Vec<ClientMetrics> {
        let mut state = self.state.lock();
        state.sweep(now_ms);
        let mut out: Vec<ClientMetrics> = state
            .instances
            .iter()
            .filter(|(_, i)| !i.samples.is_empty())
            .map(|(id, i)| ClientMetrics {
                client_instance_id: instance_id_text(*id),
                client_id: i.selector.client_id.clone(),
                samples: i.samples.clone(),
            })
            .collect();
        out.sort_by(|a, b| a.client_instance_id.cmp(&b.client_instance_id));
        out
    }
}

impl State {
    /// The instance `id`, created or brought up to date with the current
    /// subscriptions (a change starts it afresh, as Kafka replaces its
    /// cached instance).
    fn instance(
        &mut self,
        id: Uuid,
        selector: impl FnOnce(Uuid) -> ClientSelector,
        (epoch, configs): (u64, &BTreeMap<String, BTreeMap<String, String>>),
        now_ms: i64,
    ) -> &mut Instance {
        if self.subscriptions.0 != epoch {
            // Stored subscriptions were checked when set.
            let parsed = configs
                .iter()
                .filter_map(|(name, c)| Subscription::parse(name, c).ok())
                .collect();
            self.subscriptions = (epoch, Arc::new(parsed));
        }
        if now_ms - self.last_sweep_ms >= 1000 {
            self.sweep(now_ms);
        }
        if !self.instances.contains_key(&id) && self.instances.len() >= MAX_INSTANCES {
            if let Some(oldest) = self
                .instances
                .iter()
                .min_by_key(|(_, i)| i.last_seen_ms)
                .map(|(k, _)| *k)
            {
                self.instances.remove(&oldest);
            }
        }
        let subscriptions = self.subscriptions.1.clone();
        let instance = self.instances.entry(id).or_insert_with(|| {
            let selector = selector(id);
            let requested = subscription::requested(subscriptions.iter(), &selector);
            Instance::new(selector, requested, id, now_ms)
        });
        let requested = subscription::requested(subscriptions.iter(), &instance.selector);
        if requested != instance.requested {
            let samples = std::mem::take(&mut instance.samples);
            *instance = Instance::new(instance.selector.clone(), requested, id, now_ms);
            instance.samples = samples;
        }
        instance.last_seen_ms = now_ms;
        instance
    }

    fn sweep(&mut self, now_ms: i64) {
        self.last_sweep_ms = now_ms;
        self.instances
            .retain(|_, i| now_ms - i.last_seen_ms < i.expiry_ms());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn selector(id: Uuid) -> ClientSelector {
        ClientSelector {
            client_instance_id: instance_id_text(id),
            client_id: "p".into(),
            client_software_name: "librdkafka".into(),
            client_software_version: "2.12.0".into(),
            client_source_address: "127.0.0.1".into(),
            client_source_port: "1".into(),
        }
    }

    fn subs(interval: &str) -> BTreeMap<String, BTreeMap<String, String>> {
        let mut c = BTreeMap::new();
        c.insert("metrics".to_string(), "org.apache.kafka.".to_string());
        c.insert("interval.ms".to_string(), interval.to_string());
        BTreeMap::from([("s".to_string(), c)])
    }

    #[test]
    fn push_cycle_as_kafka() {
        let t = ClientTelemetry::new(100);
        let configs = subs("1000");
        let got = t
            .subscriptions(Uuid::nil(), selector, (1, &configs), 10_000)
            .unwrap();
        assert!(!got.client_instance_id.is_nil());
        assert_eq!(got.push_interval_ms, 1000);
        let push = |sub: i32, terminating: bool, bytes: &'static [u8], at: i64| {
            t.push(
                Push {
                    client_instance_id: got.client_instance_id,
                    subscription_id: sub,
                    terminating,
                    compression_type: 0,
                    metrics: bytes,
                },
                selector,
                (1, &configs),
                at,
            )
            .map_err(|e| e.code)
        };
        let sub = got.subscription_id;
        assert_eq!(
            push(sub + 1, false, b"", 10_001),
            Err(ResponseError::UnknownSubscriptionId)
        );
        assert_eq!(push(sub, false, b"", 10_002), Ok(()));
        assert_eq!(
            push(sub, false, b"", 10_500),
            Err(ResponseError::ThrottlingQuotaExceeded)
        );
        assert_eq!(
            push(sub, false, &[0; 101], 11_600),
            Err(ResponseError::TelemetryTooLarge)
        );
        assert_eq!(push(sub, true, b"", 11_700), Ok(()));
        assert_eq!(
            push(sub, true, b"", 13_000),
            Err(ResponseError::InvalidRequest)
        );
        // Asking again within the interval is refused.
        let again = t.subscriptions(got.client_instance_id, selector, (1, &configs), 11_800);
        assert_eq!(
            again.unwrap_err().code,
            ResponseError::ThrottlingQuotaExceeded
        );
        // A changed subscription gives a new id.
        let changed = subs("2000");
        let fresh = t
            .subscriptions(got.client_instance_id, selector, (2, &changed), 11_900)
            .unwrap();
        assert_ne!(fresh.subscription_id, sub);
        assert_eq!(fresh.push_interval_ms, 2000);
    }
}
