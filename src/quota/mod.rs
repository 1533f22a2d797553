//! Kafka's client quotas: what they are set on (users, client ids, both,
//! and their defaults), which one applies to a request (the eight levels
//! of Kafka's ClientQuotaManager), and the sensors that measure each
//! client against it and say how long to throttle it.
//!
//! Quotas live in the metadata image (Kafka's ClientQuotaRecords), so every
//! broker applies the same ones; each broker measures its own traffic, as
//! Kafka's quotas are per broker.

pub mod connection;
pub mod rate;
pub mod replication;

use std::collections::{BTreeMap, HashMap};
use std::time::Instant;

use serde::{Deserialize, Serialize};

pub use rate::{QuotaWindow, Rate, TokenBucket};

/// Bytes per second a producer may send (Produce request sizes).
pub const PRODUCER_BYTE_RATE: &str = "producer_byte_rate";
/// Bytes per second a consumer may fetch (Fetch response sizes).
pub const CONSUMER_BYTE_RATE: &str = "consumer_byte_rate";
/// Percentage of one request handler's time a client may use.
pub const REQUEST_PERCENTAGE: &str = "request_percentage";
/// Partitions per second a client may create or delete.
pub const CONTROLLER_MUTATION_RATE: &str = "controller_mutation_rate";
/// New connections per second from one address (KIP-612), on `ip` entities.
pub const CONNECTION_CREATION_RATE: &str = "connection_creation_rate";

/// The keys a user or client-id entity takes, and whether each is a LONG
/// (Kafka's QuotaConfig.userAndClientQuotaConfigs).
const KEYS: &[(&str, bool)] = &[
    (PRODUCER_BYTE_RATE, true),
    (CONSUMER_BYTE_RATE, true),
    (REQUEST_PERCENTAGE, false),
    (CONTROLLER_MUTATION_RATE, false),
];

/// Kafka's entity types.
pub const USER: &str = "user";
pub const CLIENT_ID: &str = "client-id";
pub const IP: &str = "ip";

/// One part of an entity: a name, or the default for every name.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum EntityName {
    Default,
    Named(String),
}

impl EntityName {
    /// As the protocol carries it: the default is null.
    pub fn from_wire(name: Option<&str>) -> EntityName {
        match name {
            None => EntityName::Default,
            Some(n) => EntityName::Named(n.to_string()),
        }
    }

    pub fn to_wire(&self) -> Option<&str> {
        match self {
            EntityName::Default => None,
            EntityName::Named(n) => Some(n),
        }
    }
}

/// What a quota is set on (Kafka's ClientQuotaEntity): a user, a client
/// id, or a client id of a user, each a name or the default; or, alone, a
/// client address or the default address.
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct QuotaEntity {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<EntityName>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<EntityName>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ip: Option<EntityName>,
}

/// Changes to quotas: per entity, each key set to a value or (None) removed.
pub type QuotaChanges = Vec<(QuotaEntity, Vec<(String, Option<f64>)>)>;

/// Every quota by entity, then key.
pub type ClientQuotas = BTreeMap<QuotaEntity, BTreeMap<String, f64>>;

/// Stores `ClientQuotas` as a list of pairs, since JSON keys are strings.
pub mod as_pairs {
    use super::*;
    use serde::{Deserializer, Serializer};

    pub fn serialize<S: Serializer>(quotas: &ClientQuotas, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(quotas.iter())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<ClientQuotas, D::Error> {
        let pairs = Vec::<(QuotaEntity, BTreeMap<String, f64>)>::deserialize(d)?;
        Ok(pairs.into_iter().collect())
    }
}

/// A refused entity or value: INVALID_REQUEST with this message.
pub type Invalid = String;

/// Reads an entity from (type, name) pairs as AlterClientQuotas and
/// Kafka's controller do.
pub fn entity<'a>(
    parts: impl IntoIterator<Item = (&'a str, Option<&'a str>)>,
) -> Result<QuotaEntity, Invalid> {
    let mut entity = QuotaEntity::default();
    for (kind, name) in parts {
        let slot = match kind {
            USER => &mut entity.user,
            CLIENT_ID => &mut entity.client_id,
            IP => &mut entity.ip,
            other => return Err(format!("Unhandled client quota entity type: {other}")),
        };
        if name == Some("") {
            return Err(format!("Empty {kind} not supported"));
        }
        if slot.is_some() {
            return Err(format!("Duplicate {kind} in client quota entity"));
        }
        *slot = Some(EntityName::from_wire(name));
    }
    if let Some(ip) = &entity.ip {
        if entity.user.is_some() || entity.client_id.is_some() {
            return Err("Invalid quota entity combination, IP entity should not be combined with User or ClientId".into());
        }
        // Kafka also takes a host name it can resolve; an address is what
        // connections are matched by, so only addresses are taken here.
        if let EntityName::Named(name) = ip {
            if name.parse::<std::net::IpAddr>().is_err() {
                return Err(format!("{name} is not a valid IP or resolvable host."));
            }
        }
        return Ok(entity);
    }
    if entity.user.is_none() && entity.client_id.is_none() {
        return Err("Invalid empty client quota entity".into());
    }
    Ok(entity)
}

/// Checks one quota of `entity` as Kafka's controller does
/// (validateQuotaKeyValue): an address takes only
/// `connection_creation_rate`, an INT; users and client ids take the rest.
pub fn check_value(entity: &QuotaEntity, key: &str, value: f64) -> Result<(), Invalid> {
    let ip_keys: &[(&str, bool)] = &[(CONNECTION_CREATION_RATE, true)];
    let keys = if entity.ip.is_some() { ip_keys } else { KEYS };
    let Some((_, integral)) = keys.iter().find(|(k, _)| *k == key) else {
        return Err(format!("Invalid configuration key {key}"));
    };
    if value.is_nan() || value <= 0.0 {
        return Err(format!("Quota {key} must be greater than 0"));
    }
    if entity.ip.is_some() && value > i32::MAX as f64 {
        return Err(format!("Proposed value for {key} is too large for an INT."));
    }
    if *integral && value > i64::MAX as f64 {
        return Err(format!("Proposed value for {key} is too large for a LONG."));
    }
    Ok(())
}

/// The quota kinds a broker enforces, each with its own sensors.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum QuotaType {
    Produce,
    Fetch,
    Request,
    ControllerMutation,
}

impl QuotaType {
    pub const ALL: [QuotaType; 4] = [
        QuotaType::Produce,
        QuotaType::Fetch,
        QuotaType::Request,
        QuotaType::ControllerMutation,
    ];

    pub fn key(self) -> &'static str {
        match self {
            QuotaType::Produce => PRODUCER_BYTE_RATE,
            QuotaType::Fetch => CONSUMER_BYTE_RATE,
            QuotaType::Request => REQUEST_PERCENTAGE,
            QuotaType::ControllerMutation => CONTROLLER_MUTATION_RATE,
        }
    }
}

/// Whom a sensor measures, as Kafka's quota metric tags: a quota set on a
/// user alone is shared by all its client ids (client id empty), one on a
/// client id alone by every user of it (user empty), and a default gives
/// each name its own sensor.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SensorKey {
    pub user: String,
    pub client_id: String,
}

/// The quota on `key` that applies to `user` connecting as `client_id`,
/// and the sensor it is measured with: the first of Kafka's eight levels
/// that sets it, from /config/users/<user>/clients/<client-id> down to
/// /config/clients/<default>.
pub fn resolve(
    quotas: &ClientQuotas,
    user: &str,
    client_id: &str,
    key: &str,
) -> Option<(f64, SensorKey)> {
    use EntityName::{Default, Named};
    let u = || Named(user.to_string());
    let c = || Named(client_id.to_string());
    let levels = [
        (Some(u()), Some(c()), true, true),
        (Some(u()), Some(Default), true, true),
        (Some(u()), None, true, false),
        (Some(Default), Some(c()), true, true),
        (Some(Default), Some(Default), true, true),
        (Some(Default), None, true, false),
        (None, Some(c()), false, true),
        (None, Some(Default), false, true),
    ];
    levels
        .into_iter()
        .find_map(|(user_part, client_part, by_user, by_client)| {
            let entity = QuotaEntity {
                user: user_part,
                client_id: client_part,
                ip: None,
            };
            let value = *quotas.get(&entity)?.get(key)?;
            Some((
                value,
                SensorKey {
                    user: if by_user { user.into() } else { String::new() },
                    client_id: if by_client {
                        client_id.into()
                    } else {
                        String::new()
                    },
                },
            ))
        })
}

/// When a throttled connection may be read from again (KIP-219's muted
/// channel): the connection stops reading requests until then, so the
/// client's later requests wait in its socket, not in the broker.
#[derive(Debug, Default)]
pub struct Mute(parking_lot::Mutex<Option<Instant>>);

impl Mute {
    /// Mutes the connection for `ms` from now, unless it is muted longer.
    pub fn extend(&self, ms: u64) {
        let until = Instant::now() + std::time::Duration::from_millis(ms);
        let mut muted = self.0.lock();
        if muted.is_none_or(|u| u < until) {
            *muted = Some(until);
        }
    }

    /// The end of the mute, while there is one.
    pub fn until(&self) -> Option<Instant> {
        let mut muted = self.0.lock();
        match *muted {
            Some(u) if u > Instant::now() => Some(u),
            _ => {
                *muted = None;
                None
            }
        }
    }
}

struct Sensor {
    /// What the client used per second: bytes, handler time, mutations.
    rate: Rate,
    /// The throttle times it was given (Kafka's throttle-time sensor).
    throttles: Rate,
    /// The controller mutation quota's credits (KIP-599).
    tokens: TokenBucket,
    /// The quota when last recorded, for the metrics.
    bound: f64,
    last_ms: u64,
}

impl Sensor {
    fn new(now_ms: u64) -> Sensor {
        Sensor {
            rate: Rate::new(now_ms),
            throttles: Rate::new(now_ms),
            tokens: TokenBucket::new(),
            bound: 0.0,
            last_ms: now_ms,
        }
    }
}

/// One sensor's figures for the metrics endpoint, as Kafka's quota
/// metrics show them (tagged by user and client-id).
#[derive(Debug, Clone)]
pub struct SensorSnapshot {
    pub kind: QuotaType,
    pub key: SensorKey,
    /// Per second: bytes, percent of a thread, or partition mutations.
    pub rate: f64,
    /// The mean throttle time given, in milliseconds.
    pub throttle_time_ms: f64,
    /// Controller mutations only: the credits left in the bucket.
    pub tokens: f64,
    pub quota: f64,
}

/// Sensors not recorded for this long are dropped (Kafka expires quota
/// sensors after an hour of inactivity).
const SENSOR_EXPIRY_MS: u64 = 3_600_000;

/// Measures clients against their quotas; one per broker.
pub struct QuotaManager {
    window: QuotaWindow,
    epoch: Instant,
    sensors: parking_lot::Mutex<HashMap<(QuotaType, SensorKey), Sensor>>,
}

impl QuotaManager {
    pub fn new(window: QuotaWindow) -> QuotaManager {
        QuotaManager {
            window,
            epoch: Instant::now(),
            sensors: parking_lot::Mutex::new(HashMap::new()),
        }
    }

    fn now_ms(&self) -> u64 {
        self.epoch.elapsed().as_millis() as u64
    }

    /// Runs `f` on the client's sensor of `kind` (made if new), stamped now.
    fn with_sensor<T>(
        &self,
        kind: QuotaType,
        key: SensorKey,
        bound: f64,
        f: impl FnOnce(&mut Sensor, u64) -> T,
    ) -> T {
        let now = self.now_ms();
        let mut sensors = self.sensors.lock();
        if sensors.len() > 1024 {
            sensors.retain(|_, s| now.saturating_sub(s.last_ms) < SENSOR_EXPIRY_MS);
        }
        let sensor = sensors
            .entry((kind, key))
            .or_insert_with(|| Sensor::new(now));
        sensor.last_ms = now;
        sensor.bound = bound;
        f(sensor, now)
    }

    /// Records `value` against the quota of `kind` that applies to the
    /// client, and returns how long it is throttled for in milliseconds
    /// (0 when it has no quota or is within it). The request quota
    /// throttles for at most one window, as Kafka's
    /// ClientRequestQuotaManager does: handler time is bursty, and a
    /// client is not to wait the whole span for one slow request.
    pub fn record(
        &self,
        quotas: &ClientQuotas,
        kind: QuotaType,
        user: &str,
        client_id: &str,
        value: f64,
    ) -> u64 {
        if quotas.is_empty() {
            return 0;
        }
        let Some((bound, key)) = resolve(quotas, user, client_id, kind.key()) else {
            return 0;
        };
        let window = self.window;
        self.with_sensor(kind, key, bound, |sensor, now| {
            let mut ms = sensor.rate.record_and_throttle(window, bound, value, now);
            if kind == QuotaType::Request {
                ms = ms.min(window.window_ms);
            }
            if ms > 0 {
                sensor.throttles.record(window, ms as f64, now);
            }
            ms
        })
    }

    /// The controller mutation quota of one CreateTopics, CreatePartitions
    /// or DeleteTopics request: strict (KIP-599's new versions) or
    /// permissive, unbounded when no quota applies to the client.
    pub fn mutation_quota(
        &self,
        quotas: &ClientQuotas,
        user: &str,
        client_id: &str,
        strict: bool,
    ) -> MutationQuota<'_> {
        MutationQuota {
            manager: self,
            target: resolve(quotas, user, client_id, CONTROLLER_MUTATION_RATE),
            strict,
            last_throttle: None,
        }
    }

    /// Every live sensor's figures, for the metrics endpoint.
    pub fn snapshot(&self) -> Vec<SensorSnapshot> {
        let now = self.now_ms();
        let window = self.window;
        let mut sensors = self.sensors.lock();
        sensors
            .iter_mut()
            .filter(|(_, s)| now.saturating_sub(s.last_ms) < SENSOR_EXPIRY_MS)
            .map(|((kind, key), s)| SensorSnapshot {
                kind: *kind,
                key: key.clone(),
                rate: s.rate.measure(window, now),
                throttle_time_ms: s.throttles.average(window, now),
                tokens: if *kind == QuotaType::ControllerMutation {
                    s.tokens.measure(window, s.bound, now)
                } else {
                    0.0
                },
                quota: s.bound,
            })
            .collect()
    }
}

/// THROTTLING_QUOTA_EXCEEDED: a strict controller mutation quota refused
/// a mutation; the client is to wait this long before trying again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QuotaExceeded {
    pub throttle_time_ms: u64,
}

/// A client's controller mutation quota over one request (Kafka's
/// ControllerMutationQuota). Strict refuses a mutation while the bucket is
/// overdrawn, but takes one that overdraws it; permissive takes every
/// mutation and throttles the client once the bucket is overdrawn.
pub struct MutationQuota<'a> {
    manager: &'a QuotaManager,
    target: Option<(f64, SensorKey)>,
    strict: bool,
    /// The last throttle time and when it was given.
    last_throttle: Option<(u64, Instant)>,
}

impl MutationQuota<'_> {
    /// Whether a quota applies (else `record` takes everything for free).
    pub fn is_bounded(&self) -> bool {
        self.target.is_some()
    }

    /// Takes `partitions` mutations from the bucket.
    pub fn record(&mut self, partitions: f64) -> Result<(), QuotaExceeded> {
        let Some((bound, key)) = self.target.clone() else {
            return Ok(());
        };
        let window = self.manager.window;
        let strict = self.strict;
        let throttle =
            self.manager
                .with_sensor(QuotaType::ControllerMutation, key, bound, |sensor, now| {
                    let before = sensor.tokens.measure(window, bound, now);
                    if strict && before < 0.0 {
                        return Some(TokenBucket::throttle_ms(before, bound));
                    }
                    sensor.tokens.record(window, bound, partitions, now);
                    sensor.rate.record(window, partitions, now);
                    let after = sensor.tokens.measure(window, bound, now);
                    (!strict && after < 0.0).then(|| TokenBucket::throttle_ms(after, bound))
                });
        let Some(ms) = throttle else {
            return Ok(());
        };
        self.last_throttle = Some((ms, Instant::now()));
        if strict {
            Err(QuotaExceeded {
                throttle_time_ms: ms,
            })
        } else {
            Ok(())
        }
    }

    /// The throttle time the response carries: the last one given, less
    /// the time since (the request may have taken a while after).
    pub fn throttle_time_ms(&self) -> u64 {
        self.last_throttle.map_or(0, |(ms, at)| {
            ms.saturating_sub(at.elapsed().as_millis() as u64)
        })
    }

    /// Records the throttle time on the client's sensor (its
    /// throttle-time metric) and returns it.
    pub fn finish(&self) -> u64 {
        let ms = self.throttle_time_ms();
        if let (true, Some((bound, key))) = (ms > 0, &self.target) {
            let window = self.manager.window;
            self.manager.with_sensor(
                QuotaType::ControllerMutation,
                key.clone(),
                *bound,
                |sensor, now| sensor.throttles.record(window, ms as f64, now),
            );
        }
        ms
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(
        quotas: &mut ClientQuotas,
        user: Option<EntityName>,
        client: Option<EntityName>,
        v: f64,
    ) {
        quotas
            .entry(QuotaEntity {
                user,
                client_id: client,
                ip: None,
            })
            .or_default()
            .insert(PRODUCER_BYTE_RATE.into(), v);
    }

    #[test]
    fn the_eight_levels_apply_in_kafkas_order() {
        use EntityName::{Default, Named};
        let n = |s: &str| Some(Named(s.into()));
        let mut quotas = ClientQuotas::new();
        let levels: [(Option<EntityName>, Option<EntityName>); 8] = [
            (n("alice"), n("app")),
            (n("alice"), Some(Default)),
            (n("alice"), None),
            (Some(Default), n("app")),
            (Some(Default), Some(Default)),
            (Some(Default), None),
            (None, n("app")),
            (None, Some(Default)),
        ];
        for (i, (u, c)) in levels.iter().enumerate() {
            set(&mut quotas, u.clone(), c.clone(), (i + 1) as f64);
        }
        // Removing the levels one by one from the top walks down them.
        for (i, (u, c)) in levels.iter().enumerate() {
            let (value, _) = resolve(&quotas, "alice", "app", PRODUCER_BYTE_RATE).unwrap();
            assert_eq!(value, (i + 1) as f64);
            quotas.remove(&QuotaEntity {
                user: u.clone(),
                client_id: c.clone(),
                ip: None,
            });
        }
        assert!(resolve(&quotas, "alice", "app", PRODUCER_BYTE_RATE).is_none());
    }

    #[test]
    fn sensors_are_shared_as_kafkas_metric_tags_say() {
        use EntityName::{Default, Named};
        let mut quotas = ClientQuotas::new();
        set(&mut quotas, Some(Named("alice".into())), None, 10.0);
        set(&mut quotas, None, Some(Default), 20.0);
        let (_, alice) = resolve(&quotas, "alice", "a", PRODUCER_BYTE_RATE).unwrap();
        let (_, alice_b) = resolve(&quotas, "alice", "b", PRODUCER_BYTE_RATE).unwrap();
        assert_eq!(alice, alice_b, "a user quota is shared by its client ids");
        let (v, bob) = resolve(&quotas, "bob", "a", PRODUCER_BYTE_RATE).unwrap();
        let (_, bob_b) = resolve(&quotas, "bob", "b", PRODUCER_BYTE_RATE).unwrap();
        assert_eq!(v, 20.0);
        assert_ne!(
            bob, bob_b,
            "the client default gives each client id its own"
        );
        assert_eq!(bob.user, "");
    }

    #[test]
    fn entities_and_values_are_checked_as_kafka() {
        assert!(entity([(USER, Some("a")), (CLIENT_ID, None)]).is_ok());
        let refused = |parts: Vec<(&'static str, Option<&'static str>)>| entity(parts).unwrap_err();
        assert_eq!(refused(vec![]), "Invalid empty client quota entity");
        assert!(refused(vec![("group", Some("g"))]).contains("Unhandled"));
        assert!(refused(vec![(USER, Some("a")), (USER, Some("b"))]).contains("Duplicate"));
        assert!(refused(vec![(IP, Some("1.2.3.4")), (USER, None)]).contains("combination"));
        assert!(refused(vec![(CLIENT_ID, Some(""))]).contains("Empty"));
        let user = entity([(USER, Some("a"))]).unwrap();
        assert!(check_value(&user, PRODUCER_BYTE_RATE, 1024.0).is_ok());
        assert_eq!(
            check_value(&user, "bogus", 1.0).unwrap_err(),
            "Invalid configuration key bogus"
        );
        assert!(check_value(&user, CONSUMER_BYTE_RATE, -1.0)
            .unwrap_err()
            .contains("greater than 0"));
    }

    #[test]
    fn an_address_takes_only_the_connection_creation_rate() {
        let refused = |parts: Vec<(&'static str, Option<&'static str>)>| entity(parts).unwrap_err();
        assert_eq!(
            refused(vec![(IP, Some("not-an-address"))]),
            "not-an-address is not a valid IP or resolvable host."
        );
        let address = entity([(IP, Some("10.1.2.3"))]).unwrap();
        assert_eq!(address.ip, Some(EntityName::Named("10.1.2.3".into())));
        assert!(entity([(IP, Some("::1"))]).is_ok());
        let default = entity([(IP, None)]).unwrap();
        assert_eq!(default.ip, Some(EntityName::Default));
        assert!(check_value(&address, CONNECTION_CREATION_RATE, 10.0).is_ok());
        assert_eq!(
            check_value(&address, PRODUCER_BYTE_RATE, 10.0).unwrap_err(),
            "Invalid configuration key producer_byte_rate"
        );
        assert!(check_value(&address, CONNECTION_CREATION_RATE, 3e9)
            .unwrap_err()
            .contains("too large for an INT"));
        let user = entity([(USER, Some("a"))]).unwrap();
        assert!(check_value(&user, CONNECTION_CREATION_RATE, 10.0).is_err());
    }

    #[test]
    fn a_client_over_its_quota_is_throttled_and_others_are_not() {
        let mut quotas = ClientQuotas::new();
        set(
            &mut quotas,
            None,
            Some(EntityName::Named("slow".into())),
            1000.0,
        );
        let manager = QuotaManager::new(QuotaWindow {
            samples: 11,
            window_ms: 1000,
        });
        let throttled = manager.record(&quotas, QuotaType::Produce, "ANONYMOUS", "slow", 1e6);
        assert!(throttled > 0);
        let free = manager.record(&quotas, QuotaType::Produce, "ANONYMOUS", "fast", 1e6);
        assert_eq!(free, 0);
        assert_eq!(manager.sensors.lock().len(), 1);
    }

    fn mutation_quotas(rate: f64) -> ClientQuotas {
        let mut quotas = ClientQuotas::new();
        quotas
            .entry(QuotaEntity {
                client_id: Some(EntityName::Named("admin".into())),
                ..QuotaEntity::default()
            })
            .or_default()
            .insert(CONTROLLER_MUTATION_RATE.into(), rate);
        quotas
    }

    /// Two windows of one second: a burst of two mutations per unit of rate.
    const SMALL: QuotaWindow = QuotaWindow {
        samples: 2,
        window_ms: 1000,
    };

    #[test]
    fn a_strict_mutation_quota_takes_one_overdraft_then_refuses() {
        let quotas = mutation_quotas(1.0);
        let manager = QuotaManager::new(SMALL);
        let mut quota = manager.mutation_quota(&quotas, "ANONYMOUS", "admin", true);
        assert!(quota.is_bounded());
        // Two credits: the first topic of two partitions fits, the second
        // overdraws the bucket and is still taken, the third is refused.
        assert_eq!(quota.record(2.0), Ok(()));
        assert_eq!(quota.record(2.0), Ok(()));
        let refused = quota.record(2.0).unwrap_err();
        assert!(
            (1900..=2000).contains(&refused.throttle_time_ms),
            "{refused:?}"
        );
        assert!(quota.throttle_time_ms() > 0);
        assert!(quota.finish() > 0);
        let other = manager.mutation_quota(&quotas, "ANONYMOUS", "someone", true);
        assert!(!other.is_bounded());
    }

    #[test]
    fn a_permissive_mutation_quota_takes_all_and_throttles() {
        let quotas = mutation_quotas(1.0);
        let manager = QuotaManager::new(SMALL);
        let mut quota = manager.mutation_quota(&quotas, "ANONYMOUS", "admin", false);
        assert_eq!(quota.record(10.0), Ok(()));
        // Eight credits overdrawn at one per second.
        let throttle = quota.throttle_time_ms();
        assert!((7900..=8000).contains(&throttle), "{throttle}");
        let snapshot = manager.snapshot();
        assert_eq!(snapshot.len(), 1);
        assert!(snapshot[0].tokens < -7.0, "{snapshot:?}");
    }

    #[test]
    fn the_request_quota_throttles_for_at_most_a_window() {
        let mut quotas = ClientQuotas::new();
        quotas
            .entry(QuotaEntity {
                client_id: Some(EntityName::Named("busy".into())),
                ..QuotaEntity::default()
            })
            .or_default()
            .insert(REQUEST_PERCENTAGE.into(), 0.001);
        let manager = QuotaManager::new(SMALL);
        let ms = manager.record(&quotas, QuotaType::Request, "ANONYMOUS", "busy", 50.0);
        assert_eq!(ms, 1000);
        let snapshot = manager.snapshot();
        assert_eq!(snapshot[0].throttle_time_ms, 1000.0);
    }
}
