//! The connection limits every listener of a broker shares:
//! `max.connections`, `max.connections.per.ip` and its overrides, and the
//! connection creation rates. They are taken from the configuration at
//! start and again whenever dynamic broker configs change them, as Kafka's
//! DynamicListenerConfig reconfigures its ConnectionQuotas without a
//! restart. A lowered limit applies to new connections; open ones stay.

use std::collections::HashMap;
use std::net::{IpAddr, ToSocketAddrs};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use parking_lot::{Mutex, RwLock};

use crate::config::{BrokerConfig, ConfigError};
use crate::quota::connection::{ConnectionQuotas, ListenerRate};

#[derive(Debug, thiserror::Error)]
pub enum LimitsError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("cannot resolve {host} in max.connections.per.ip.overrides: {source}")]
    Resolve {
        host: String,
        source: std::io::Error,
    },
}

/// Why a new connection was closed at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// `max.connections.per.ip` or the address's override.
    PerIp,
    /// `max.connections`.
    Total,
}

pub struct ConnectionLimits {
    max_connections: AtomicUsize,
    open: AtomicUsize,
    per_ip_default: AtomicUsize,
    per_ip_overrides: RwLock<HashMap<IpAddr, usize>>,
    per_ip_open: Mutex<HashMap<IpAddr, usize>>,
    pub rates: ConnectionQuotas,
    /// Each listener's own creation rate, by listener name.
    listeners: Mutex<Vec<(String, Arc<ListenerRate>)>>,
}

impl ConnectionLimits {
    /// Limits as `config` sets them; host names in the per-IP overrides
    /// are resolved here (a blocking lookup).
    pub fn new(config: &BrokerConfig) -> Result<ConnectionLimits, LimitsError> {
        let limits = ConnectionLimits {
            max_connections: AtomicUsize::new(usize::MAX),
            open: AtomicUsize::new(0),
            per_ip_default: AtomicUsize::new(usize::MAX),
            per_ip_overrides: RwLock::new(HashMap::new()),
            per_ip_open: Mutex::new(HashMap::new()),
            rates: ConnectionQuotas::new(
                config.quota_window(),
                config.max_connection_creation_rate(None),
            ),
            listeners: Mutex::new(Vec::new()),
        };
        limits.reconfigure(config)?;
        Ok(limits)
    }

    /// Takes the limits of `config`. Nothing changes when the overrides do
    /// not parse or a host in them does not resolve.
    pub fn reconfigure(&self, config: &BrokerConfig) -> Result<(), LimitsError> {
        let overrides = resolve_overrides(&config.max_connections_per_ip_overrides()?)?;
        *self.per_ip_overrides.write() = overrides;
        self.per_ip_default
            .store(config.max_connections_per_ip(), Ordering::Relaxed);
        self.max_connections
            .store(config.max_connections(), Ordering::Relaxed);
        self.rates
            .set_broker_rate(config.max_connection_creation_rate(None));
        for (name, rate) in self.listeners.lock().iter() {
            rate.set_rate(config.max_connection_creation_rate(Some(name)));
        }
        Ok(())
    }

    /// The creation rate of the listener `name`, kept in line with
    /// `config` from now on.
    pub fn listener(
        &self,
        name: &str,
        config: &BrokerConfig,
        protected: bool,
    ) -> Arc<ListenerRate> {
        let rate = Arc::new(
            self.rates
                .listener(config.max_connection_creation_rate(Some(name)), protected),
        );
        self.listeners.lock().push((name.to_string(), rate.clone()));
        rate
    }

    /// A place for one more connection from `ip`, or why there is none.
    pub fn admit(self: &Arc<Self>, ip: IpAddr) -> Result<ConnectionSlot, Refusal> {
        // A v4 client of a dual-stack listener shows up as ::ffff:a.b.c.d.
        let ip = ip.to_canonical();
        let limit = self
            .per_ip_overrides
            .read()
            .get(&ip)
            .copied()
            .unwrap_or_else(|| self.per_ip_default.load(Ordering::Relaxed));
        {
            let mut open = self.per_ip_open.lock();
            let count = open.entry(ip).or_insert(0);
            if *count >= limit {
                if *count == 0 {
                    open.remove(&ip);
                }
                return Err(Refusal::PerIp);
            }
            *count += 1;
        }
        let max = self.max_connections.load(Ordering::Relaxed);
        let admitted = self
            .open
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < max).then_some(n + 1)
            })
            .is_ok();
        if !admitted {
            self.release_ip(ip);
            return Err(Refusal::Total);
        }
        Ok(ConnectionSlot {
            limits: self.clone(),
            ip,
        })
    }

    fn release_ip(&self, ip: IpAddr) {
        let mut open = self.per_ip_open.lock();
        if let Some(count) = open.get_mut(&ip) {
            *count -= 1;
            if *count == 0 {
                open.remove(&ip);
            }
        }
    }
}

/// `max.connections.per.ip.overrides` name hosts or addresses, as Kafka
/// takes them; each address of a host gets its limit.
fn resolve_overrides(overrides: &[(String, usize)]) -> Result<HashMap<IpAddr, usize>, LimitsError> {
    let mut resolved = HashMap::new();
    for (host, limit) in overrides {
        let addrs =
            (host.as_str(), 0)
                .to_socket_addrs()
                .map_err(|source| LimitsError::Resolve {
                    host: host.clone(),
                    source,
                })?;
        for addr in addrs {
            resolved.insert(addr.ip().to_canonical(), *limit);
        }
    }
    Ok(resolved)
}

/// One open connection, counted against the broker and its address until
/// dropped.
pub struct ConnectionSlot {
    limits: Arc<ConnectionLimits>,
    ip: IpAddr,
}

impl Drop for ConnectionSlot {
    fn drop(&mut self) {
        self.limits.open.fetch_sub(1, Ordering::AcqRel);
        self.limits.release_ip(self.ip);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(pairs: &[(&str, &str)]) -> BrokerConfig {
        let overrides: Vec<(String, String)> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        BrokerConfig::load(None, &overrides).unwrap()
    }

    #[test]
    fn lowered_limits_apply_to_new_connections_and_raised_ones_admit_again() {
        let limits = Arc::new(ConnectionLimits::new(&config(&[("max.connections", "2")])).unwrap());
        let ip: IpAddr = "10.0.0.1".parse().unwrap();
        let a = limits.admit(ip).unwrap();
        let _b = limits.admit(ip).unwrap();
        assert_eq!(limits.admit(ip).err(), Some(Refusal::Total));
        limits
            .reconfigure(&config(&[
                ("max.connections", "3"),
                ("max.connections.per.ip", "2"),
            ]))
            .unwrap();
        assert_eq!(limits.admit(ip).err(), Some(Refusal::PerIp));
        drop(a);
        let _c = limits.admit(ip).unwrap();
        limits
            .reconfigure(&config(&[
                ("max.connections", "3"),
                ("max.connections.per.ip", "2"),
                ("max.connections.per.ip.overrides", "10.0.0.1:3"),
            ]))
            .unwrap();
        let _d = limits.admit(ip).unwrap();
        assert_eq!(
            limits.admit("10.0.0.2".parse().unwrap()).err(),
            Some(Refusal::Total)
        );
    }

    #[test]
    fn an_override_that_does_not_resolve_changes_nothing() {
        let limits = ConnectionLimits::new(&config(&[("max.connections.per.ip", "5")])).unwrap();
        let bad = config(&[
            ("max.connections.per.ip", "1"),
            ("max.connections.per.ip.overrides", "no-such-host.invalid:3"),
        ]);
        assert!(matches!(
            limits.reconfigure(&bad),
            Err(LimitsError::Resolve { .. })
        ));
        assert_eq!(limits.per_ip_default.load(Ordering::Relaxed), 5);
    }
}
