//! The listener owns accept, the connection limits (`max.connections`,
//! `max.connections.per.ip` and its overrides), the connection creation
//! rates (`max.connection.creation.rate`, and `connection_creation_rate`
//! quotas on client addresses) and shutdown: on shutdown it stops
//! accepting, tells every connection to stop reading, and waits for their
//! in-flight responses to be written.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Arc;

use parking_lot::Mutex;
use tokio::net::TcpListener;
use tokio::sync::{watch, Semaphore};
use tokio_util::task::TaskTracker;

use super::connection::{self, ConnectionSettings};
use crate::api::BrokerContext;
use crate::quota::connection::{ConnectionQuotas, ListenerRate};

pub struct Listener {
    pub(crate) listener: TcpListener,
    pub(crate) broker: Arc<BrokerContext>,
    pub(crate) settings: Arc<ConnectionSettings>,
    pub(crate) limit: Arc<Semaphore>,
    pub(crate) per_ip: Arc<PerIpLimit>,
    pub(crate) connection_rate: ListenerRate,
    pub(crate) connection_rates: Arc<ConnectionQuotas>,
}

impl Listener {
    pub async fn run(self, mut shutdown: watch::Receiver<bool>) {
        let tracker = TaskTracker::new();
        let connections = crate::metrics::network::listener(&self.settings.listener_name);
        loop {
            let accepted = tokio::select! {
                biased;
                _ = shutdown.changed() => break,
                accepted = self.listener.accept() => accepted,
            };
            let (stream, peer) = match accepted {
                Ok(a) => a,
                Err(e) => {
                    // Out of file descriptors and the like: back off rather than spin.
                    tracing::error!(error = %e, "accept failed");
                    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                    continue;
                }
            };
            // Over the creation rate, the listener waits before serving
            // this connection and accepting the next (Kafka's acceptor
            // blocks the same way).
            let delay = self.connection_rates.accept_delay_ms(&self.connection_rate);
            if delay > 0 {
                connections.accept_throttled();
                tokio::select! {
                    biased;
                    _ = shutdown.changed() => break,
                    _ = tokio::time::sleep(std::time::Duration::from_millis(delay)) => {}
                }
            }
            let throttle = self.connection_rates.address_throttle_ms(
                &self.broker.image().client_quotas,
                peer.ip(),
                &self.connection_rate,
            );
            if let Some(throttle) = throttle {
                // Closed only after the wait, unread, so that a client
                // reconnecting in a loop is slowed down to its quota.
                tracing::debug!(%peer, throttle_ms = throttle, "connection_creation_rate exceeded for this address; closing new connection after the throttle");
                connections.ip_throttled();
                tracker.spawn(async move {
                    tokio::time::sleep(std::time::Duration::from_millis(throttle)).await;
                    drop(stream);
                });
                continue;
            }
            let Some(ip_slot) = self.per_ip.admit(peer.ip()) else {
                tracing::info!(%peer, "max.connections.per.ip reached for this address; closing new connection");
                drop(stream);
                continue;
            };
            let Ok(permit) = self.limit.clone().try_acquire_owned() else {
                tracing::warn!(%peer, "max.connections reached; closing new connection");
                drop(stream);
                continue;
            };
            let broker = self.broker.clone();
            let rx = shutdown.clone();
            let settings = self.settings.clone();
            let open = connections.opened();
            tracker.spawn(async move {
                connection::serve(stream, peer, broker, settings, rx).await;
                drop((permit, ip_slot, open));
            });
        }
        tracker.close();
        tracker.wait().await;
    }
}

/// Connections per client address, against `max.connections.per.ip` and
/// the per-address overrides.
pub struct PerIpLimit {
    default: usize,
    overrides: HashMap<IpAddr, usize>,
    open: Mutex<HashMap<IpAddr, usize>>,
}

impl PerIpLimit {
    /// `overrides` name hosts or addresses, as Kafka takes them; a host
    /// name is resolved once, here, and each of its addresses gets its limit.
    pub async fn resolve(
        default: usize,
        overrides: &[(String, usize)],
    ) -> Result<PerIpLimit, (String, std::io::Error)> {
        let mut resolved = HashMap::new();
        for (host, limit) in overrides {
            let addrs = tokio::net::lookup_host((host.as_str(), 0))
                .await
                .map_err(|e| (host.clone(), e))?;
            for addr in addrs {
                resolved.insert(addr.ip().to_canonical(), *limit);
            }
        }
        Ok(PerIpLimit {
            default,
            overrides: resolved,
            open: Mutex::new(HashMap::new()),
        })
    }

    /// A place for one more connection from `ip`, or `None` at its limit.
    fn admit(self: &Arc<Self>, ip: IpAddr) -> Option<IpSlot> {
        // A v4 client of a dual-stack listener shows up as ::ffff:a.b.c.d.
        let ip = ip.to_canonical();
        let limit = self.overrides.get(&ip).copied().unwrap_or(self.default);
        let mut open = self.open.lock();
        let count = open.entry(ip).or_insert(0);
        if *count >= limit {
            if *count == 0 {
                open.remove(&ip);
            }
            return None;
        }
        *count += 1;
        Some(IpSlot {
            limits: self.clone(),
            ip,
        })
    }
}

/// One open connection counted against its address.
struct IpSlot {
    limits: Arc<PerIpLimit>,
    ip: IpAddr,
}

impl Drop for IpSlot {
    fn drop(&mut self) {
        let mut open = self.limits.open.lock();
        if let Some(count) = open.get_mut(&self.ip) {
            *count -= 1;
            if *count == 0 {
                open.remove(&self.ip);
            }
        }
    }
}
