//! The listener owns accept, the connection limit (`max.connections`) and
//! shutdown: on shutdown it stops accepting, tells every connection to stop
//! reading, and waits for their in-flight responses to be written.

use std::sync::Arc;

use tokio::net::TcpListener;
use tokio::sync::{watch, Semaphore};
use tokio_util::task::TaskTracker;

use super::connection;
use crate::api::BrokerContext;

pub struct Listener {
    pub(crate) listener: TcpListener,
    pub(crate) broker: Arc<BrokerContext>,
    pub(crate) max_request_bytes: usize,
    pub(crate) limit: Arc<Semaphore>,
}

impl Listener {
    pub async fn run(self, mut shutdown: watch::Receiver<bool>) {
        let tracker = TaskTracker::new();
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
            let Ok(permit) = self.limit.clone().try_acquire_owned() else {
                tracing::warn!(%peer, "max.connections reached; closing new connection");
                drop(stream);
                continue;
            };
            let broker = self.broker.clone();
            let rx = shutdown.clone();
            let max = self.max_request_bytes;
            tracker.spawn(async move {
                connection::serve(stream, peer, broker, max, rx).await;
                drop(permit);
            });
        }
        tracker.close();
        tracker.wait().await;
    }
}
