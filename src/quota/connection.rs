//! Connection creation rate quotas (KIP-612): how fast new connections may
//! arrive, broker-wide and per listener (`max.connection.creation.rate`,
//! where the listener waits before serving the next one) and per client
//! address (`connection_creation_rate` on an `ip` entity or the default
//! `ip`, where a connection over the rate is held without being read and
//! then closed, so that a client in a reconnect loop slows down instead of
//! crowding out the others).

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use parking_lot::Mutex;

use super::{ClientQuotas, EntityName, QuotaWindow, Rate, CONNECTION_CREATION_RATE};

/// Kafka's value for "no limit" (`Int.MaxValue`), in configs and quotas.
const UNLIMITED: f64 = i32::MAX as f64;

/// Address sensors not recorded for this long are dropped, as Kafka expires
/// its per-IP connection rate sensors after an hour.
const SENSOR_EXPIRY_MS: u64 = 3_600_000;

/// One connection rate measured against a bound.
struct RateSensor {
    rate: Rate,
    last_ms: u64,
}

impl RateSensor {
    fn new(now_ms: u64) -> RateSensor {
        RateSensor {
            rate: Rate::new(now_ms),
            last_ms: now_ms,
        }
    }

    /// Records one connection and the wait that brings the rate back to
    /// `bound`, at most one quota window (Kafka's maxThrottleTimeMs).
    fn record(&mut self, window: QuotaWindow, bound: f64, now_ms: u64) -> u64 {
        self.last_ms = now_ms;
        self.rate
            .record_and_throttle(window, bound, 1.0, now_ms)
            .min(window.window_ms)
    }

    /// Takes back a connection that was refused, so that it does not count
    /// against the rate it was refused by.
    fn unrecord(&mut self, window: QuotaWindow, now_ms: u64) {
        self.rate.record(window, -1.0, now_ms);
    }
}

/// A rate bound that dynamic configs change while connections arrive.
struct Bound(AtomicU64);

impl Bound {
    fn new(rate: i64) -> Bound {
        Bound(AtomicU64::new((rate as f64).to_bits()))
    }

    fn set(&self, rate: i64) {
        self.0.store((rate as f64).to_bits(), Ordering::Relaxed);
    }

    /// The bound, or none when it is Kafka's "unlimited".
    fn get(&self) -> Option<f64> {
        Some(f64::from_bits(self.0.load(Ordering::Relaxed))).filter(|b| *b < UNLIMITED)
    }
}

/// The broker's connection creation rates: one broker-wide and one per
/// client address. Shared by every listener, as Kafka's ConnectionQuotas.
pub struct ConnectionQuotas {
    window: QuotaWindow,
    epoch: Instant,
    broker_bound: Bound,
    broker: Mutex<RateSensor>,
    addresses: Mutex<HashMap<IpAddr, RateSensor>>,
}

/// One listener's own creation rate (`listener.name.<l>.max.connection.
/// creation.rate`, else the broker's value).
pub struct ListenerRate {
    bound: Bound,
    /// The inter-broker listener of a broker with several listeners is not
    /// held to the broker-wide rate, so that clients cannot starve
    /// replication (Kafka's protected listener).
    protected: bool,
    sensor: Mutex<RateSensor>,
}

impl ListenerRate {
    pub fn set_rate(&self, rate: i64) {
        self.bound.set(rate);
    }
}

impl ConnectionQuotas {
    /// `broker_rate` is `max.connection.creation.rate` (connections per
    /// second).
    pub fn new(window: QuotaWindow, broker_rate: i64) -> ConnectionQuotas {
        ConnectionQuotas {
            window,
            epoch: Instant::now(),
            broker_bound: Bound::new(broker_rate),
            broker: Mutex::new(RateSensor::new(0)),
            addresses: Mutex::new(HashMap::new()),
        }
    }

    fn now_ms(&self) -> u64 {
        self.epoch.elapsed().as_millis() as u64
    }

    /// Sets the broker-wide `max.connection.creation.rate`.
    pub fn set_broker_rate(&self, rate: i64) {
        self.broker_bound.set(rate);
    }

    /// A listener's rate; `rate` is its `max.connection.creation.rate`.
    pub fn listener(&self, rate: i64, protected: bool) -> ListenerRate {
        ListenerRate {
            bound: Bound::new(rate),
            protected,
            sensor: Mutex::new(RateSensor::new(self.now_ms())),
        }
    }

    /// Records a new connection on `listener` and says how long the
    /// listener must wait before serving it: the longer of the broker-wide
    /// and the listener's waits (Kafka's waitForConnectionSlot).
    pub fn accept_delay_ms(&self, listener: &ListenerRate) -> u64 {
        let now = self.now_ms();
        let broker = match self.broker_bound.get() {
            Some(bound) if !listener.protected => {
                self.broker.lock().record(self.window, bound, now)
            }
            _ => 0,
        };
        let own = match listener.bound.get() {
            Some(bound) => listener.sensor.lock().record(self.window, bound, now),
            None => 0,
        };
        broker.max(own)
    }

    /// Records a new connection from `ip` against its address quota, and
    /// says how long to hold it before closing it when it is over (the
    /// connection is then not counted: Kafka's ConnectionThrottledException).
    pub fn address_throttle_ms(
        &self,
        quotas: &ClientQuotas,
        ip: IpAddr,
        listener: &ListenerRate,
    ) -> Option<u64> {
        let bound = ip_quota(quotas, ip)?;
        let now = self.now_ms();
        let mut addresses = self.addresses.lock();
        if addresses.len() > 1024 {
            addresses.retain(|_, s| now.saturating_sub(s.last_ms) < SENSOR_EXPIRY_MS);
        }
        let sensor = addresses.entry(ip).or_insert_with(|| RateSensor::new(now));
        let throttle = sensor.record(self.window, bound, now);
        if throttle == 0 {
            return None;
        }
        sensor.unrecord(self.window, now);
        drop(addresses);
        // The refused connection leaves the broker and listener rates too.
        if !listener.protected && self.broker_bound.get().is_some() {
            self.broker.lock().unrecord(self.window, now);
        }
        if listener.bound.get().is_some() {
            listener.sensor.lock().unrecord(self.window, now);
        }
        Some(throttle)
    }
}

/// The `connection_creation_rate` that applies to `ip`: its own entity's,
/// else the default `ip` entity's; none when neither sets one (Kafka's
/// connectionRateForIp, whose default is unlimited).
pub fn ip_quota(quotas: &ClientQuotas, ip: IpAddr) -> Option<f64> {
    let ip = ip.to_canonical();
    let mut default = None;
    for (entity, values) in quotas {
        let Some(name) = &entity.ip else { continue };
        let Some(&rate) = values.get(CONNECTION_CREATION_RATE) else {
            continue;
        };
        match name {
            EntityName::Named(n) if n.parse::<IpAddr>().is_ok_and(|a| a.to_canonical() == ip) => {
                return Some(rate).filter(|r| *r < UNLIMITED);
            }
            EntityName::Default => default = Some(rate),
            EntityName::Named(_) => {}
        }
    }
    default.filter(|r| *r < UNLIMITED)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::quota::QuotaEntity;
    use std::collections::BTreeMap;

    const WINDOW: QuotaWindow = QuotaWindow::KAFKA_DEFAULT;

    fn ip_entity(name: EntityName) -> QuotaEntity {
        QuotaEntity {
            ip: Some(name),
            ..QuotaEntity::default()
        }
    }

    fn quotas(entries: &[(EntityName, f64)]) -> ClientQuotas {
        entries
            .iter()
            .map(|(name, rate)| {
                (
                    ip_entity(name.clone()),
                    BTreeMap::from([(CONNECTION_CREATION_RATE.to_string(), *rate)]),
                )
            })
            .collect()
    }

    #[test]
    fn an_address_takes_its_own_quota_before_the_default() {
        let q = quotas(&[
            (EntityName::Named("10.0.0.1".into()), 5.0),
            (EntityName::Default, 2.0),
        ]);
        assert_eq!(ip_quota(&q, "10.0.0.1".parse().unwrap()), Some(5.0));
        assert_eq!(ip_quota(&q, "10.0.0.2".parse().unwrap()), Some(2.0));
        // A v4 client of a dual-stack listener is matched by its v4 address.
        assert_eq!(ip_quota(&q, "::ffff:10.0.0.1".parse().unwrap()), Some(5.0));
        assert_eq!(
            ip_quota(&ClientQuotas::new(), "10.0.0.1".parse().unwrap()),
            None
        );
    }

    #[test]
    fn connections_over_an_address_quota_are_throttled_and_not_counted() {
        let quotas = quotas(&[(EntityName::Default, 2.0)]);
        let limits = ConnectionQuotas::new(WINDOW, i32::MAX as i64);
        let listener = limits.listener(i32::MAX as i64, false);
        let ip: IpAddr = "10.0.0.7".parse().unwrap();
        // 2 per second over an 11-second span: 22 arrive before the first wait.
        let admitted = (0..40)
            .take_while(|_| limits.address_throttle_ms(&quotas, ip, &listener).is_none())
            .count();
        assert!((20..=23).contains(&admitted), "{admitted} admitted");
        let throttle = limits.address_throttle_ms(&quotas, ip, &listener).unwrap();
        assert!(throttle > 0 && throttle <= WINDOW.window_ms, "{throttle}");
        // Refused connections were taken back out: the rate stays at its bound.
        let other: IpAddr = "10.0.0.8".parse().unwrap();
        assert!(limits
            .address_throttle_ms(&quotas, other, &listener)
            .is_none());
    }

    #[test]
    fn the_broker_rate_delays_unprotected_listeners_only() {
        let limits = ConnectionQuotas::new(WINDOW, 1);
        let clients = limits.listener(i32::MAX as i64, false);
        let replication = limits.listener(i32::MAX as i64, true);
        let delayed = (0..30)
            .map(|_| limits.accept_delay_ms(&clients))
            .filter(|d| *d > 0)
            .count();
        assert!(delayed > 0);
        assert!((0..30).all(|_| limits.accept_delay_ms(&replication) == 0));
    }

    #[test]
    fn a_listener_rate_applies_without_a_broker_rate() {
        let limits = ConnectionQuotas::new(WINDOW, i32::MAX as i64);
        let slow = limits.listener(1, false);
        let delays: Vec<u64> = (0..30).map(|_| limits.accept_delay_ms(&slow)).collect();
        assert!(delays.iter().any(|d| *d > 0));
        assert!(delays.iter().all(|d| *d <= WINDOW.window_ms));
    }
}
