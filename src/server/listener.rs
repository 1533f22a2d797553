//! The listener owns accept, applies the broker's connection limits
//! (`server::limits`: `max.connections`, `max.connections.per.ip` and its
//! overrides, the creation rates of `max.connection.creation.rate` and of
//! `connection_creation_rate` quotas on client addresses) and shutdown: on
//! shutdown it stops accepting, tells every connection to stop reading,
//! and waits for their in-flight responses to be written.

use std::sync::Arc;

use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio_util::task::TaskTracker;

use super::connection::{self, ConnectionSettings};
use super::limits::{ConnectionLimits, Refusal};
use crate::api::BrokerContext;
use crate::quota::connection::ListenerRate;

pub struct Listener {
    pub(crate) listener: TcpListener,
    pub(crate) broker: Arc<BrokerContext>,
    pub(crate) settings: Arc<ConnectionSettings>,
    pub(crate) limits: Arc<ConnectionLimits>,
    pub(crate) connection_rate: Arc<ListenerRate>,
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
            let delay = self.limits.rates.accept_delay_ms(&self.connection_rate);
            if delay > 0 {
                connections.accept_throttled();
                tokio::select! {
                    biased;
                    _ = shutdown.changed() => break,
                    _ = tokio::time::sleep(std::time::Duration::from_millis(delay)) => {}
                }
            }
            let throttle = self.limits.rates.address_throttle_ms(
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
            let slot = match self.limits.admit(peer.ip()) {
                Ok(slot) => slot,
                Err(Refusal::PerIp) => {
                    tracing::info!(%peer, "max.connections.per.ip reached for this address; closing new connection");
                    continue;
                }
                Err(Refusal::Total) => {
                    tracing::warn!(%peer, "max.connections reached; closing new connection");
                    continue;
                }
            };
            let broker = self.broker.clone();
            let rx = shutdown.clone();
            let settings = self.settings.clone();
            let open = connections.opened();
            tracker.spawn(async move {
                connection::serve(stream, peer, broker, settings, rx).await;
                drop((slot, open));
            });
        }
        tracker.close();
        tracker.wait().await;
    }
}
