//! The metrics endpoint (`metrics.listener`): OpenMetrics text on
//! `/metrics`, with series named after Kafka's MBeans (docs/metrics.md
//! maps them), and `/health` for orchestrators. Over `https://` it takes
//! its TLS as a listener named METRICS would (`listener.name.metrics.ssl.*`
//! over `ssl.*`), reloaded when the files change.
//!
//! Counters on the request paths are process-wide atomics, as Kafka keeps
//! its Yammer metrics in one default registry: a partition holds its
//! topic's handle, a listener its own, a request indexes a fixed array by
//! API key. Everything that describes state (partition counts, log sizes,
//! groups, consumer lag) is computed from the broker's own structures when
//! scraped, so serving requests pays nothing for it. Without an endpoint
//! the request paths skip their counting.

mod clients;
mod collect;
mod histogram;
pub mod isr;
pub mod log_flush;
pub mod network;
mod quotas;
pub mod requests;
pub mod topics;

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicU8, Ordering};
use std::sync::{Arc, OnceLock};

use bytes::Bytes;
use http_body_util::Full;
use hyper::{Method, Request, Response, StatusCode};
use prometheus_client::registry::Registry;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::api::BrokerContext;
use crate::cluster::Controller;
use crate::config::BrokerConfig;
use crate::security::tls::{ServerTls, TlsError};
use crate::security::SecurityProtocol;

pub use topics::{topic, TopicHandle};

/// The listener name the endpoint's TLS settings are looked up under, as
/// for any Kafka listener: `listener.name.metrics.ssl.*`, else `ssl.*`.
const TLS_LISTENER: &str = "METRICS";

/// Whether an endpoint serves the figures: without one the request paths
/// skip their counting (one relaxed load).
static ENABLED: AtomicBool = AtomicBool::new(false);

fn enabled() -> bool {
    ENABLED.load(Ordering::Relaxed)
}

/// Classic groups' completed rebalances (a generation with members).
pub static CLASSIC_REBALANCES: AtomicU64 = AtomicU64::new(0);
/// Consumer groups' group epoch bumps (KIP-848 rebalances).
pub static CONSUMER_REBALANCES: AtomicU64 = AtomicU64::new(0);

/// How OpenMetrics text ends.
const EOF: &str = "# EOF\n";

const OPENMETRICS: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

#[derive(Debug, thiserror::Error)]
pub enum MetricsError {
    #[error("invalid metrics.listener '{0}': expected http://host:port or https://host:port")]
    Listener(String),
    #[error("metrics.listener over https: {0}")]
    Tls(#[from] TlsError),
    #[error("cannot listen on {addr} (metrics.listener): {source}")]
    Bind {
        addr: String,
        source: std::io::Error,
    },
}

const LOADING: u8 = 0;
const SERVING: u8 = 1;
const STOPPING: u8 = 2;

/// What the endpoint reports from: where the broker is in its life, and
/// its parts once they exist.
pub struct Exporter {
    node_id: i32,
    phase: AtomicU8,
    controller: OnceLock<Arc<Controller>>,
    context: OnceLock<Arc<BrokerContext>>,
}

impl Exporter {
    fn context(&self) -> Option<Arc<BrokerContext>> {
        self.context.get().cloned()
    }

    /// `Ok` once the broker serves, else why not.
    pub fn health(&self) -> Result<(), String> {
        let leader = |c: &Controller| c.raft().metrics().borrow().current_leader;
        match self.phase.load(Ordering::Acquire) {
            STOPPING => return Err("shutting down".into()),
            LOADING => {
                return Err(match self.controller.get() {
                    Some(c) if leader(c).is_none() => {
                        "no quorum: loading, the metadata quorum has no leader".into()
                    }
                    Some(_) => "loading: registering with the controller".into(),
                    None => "loading: recovering logs".into(),
                })
            }
            _ => {}
        }
        let Some(ctx) = self.context.get() else {
            return Err("loading".into());
        };
        if leader(&ctx.controller).is_none() {
            return Err("no quorum: the metadata quorum has no leader".into());
        }
        match ctx.image().brokers.get(&self.node_id) {
            None => Err("not registered with the controller".into()),
            Some(b) if b.fenced => Err("fenced: the controller fenced this broker".into()),
            Some(_) => Ok(()),
        }
    }
}

/// The endpoint, or nothing when `metrics.listener` is not set. The
/// broker tells it how far it has come; dropping it stops serving.
pub struct Metrics {
    exporter: Arc<Exporter>,
    server: Option<(SocketAddr, JoinHandle<()>)>,
    tls: Option<Arc<ServerTls>>,
}

impl Metrics {
    /// Binds `metrics.listener` before anything slow, so `/health` answers
    /// (503, loading) while the logs recover and the quorum forms.
    pub async fn start(config: &BrokerConfig) -> Result<Metrics, MetricsError> {
        let exporter = Arc::new(Exporter {
            node_id: config.node_id(),
            phase: AtomicU8::new(LOADING),
            controller: OnceLock::new(),
            context: OnceLock::new(),
        });
        let Some(value) = config
            .explicit("metrics.listener")
            .filter(|v| !v.is_empty())
        else {
            return Ok(Metrics {
                exporter,
                server: None,
                tls: None,
            });
        };
        let (addr, https) = listener_addr(value)?;
        // Read before the port is taken: a bad keystore stops the start.
        let tls = if https {
            Some(Arc::new(ServerTls::load(
                config,
                TLS_LISTENER,
                SecurityProtocol::Ssl,
            )?))
        } else {
            None
        };
        ENABLED.store(true, Ordering::Relaxed);
        let bind = |source| MetricsError::Bind {
            addr: addr.to_string(),
            source,
        };
        let listener = TcpListener::bind(addr).await.map_err(bind)?;
        let local = listener.local_addr().map_err(bind)?;
        let mut registry = Registry::default();
        registry.register_collector(Box::new(exporter.clone()));
        let shared = Arc::new((registry, exporter.clone()));
        let served_tls = tls.clone();
        let server = tokio::spawn(async move {
            match served_tls {
                Some(tls) => {
                    // The reload loop ends with this task, which Drop aborts.
                    let (_running, running) = watch::channel(false);
                    tokio::join!(
                        serve(listener, shared, Some(tls.clone())),
                        tls.watch_files(running)
                    );
                }
                None => serve(listener, shared, None).await,
            }
        });
        tracing::info!(addr = %local, https, "metrics endpoint listening");
        Ok(Metrics {
            exporter,
            server: Some((local, server)),
            tls,
        })
    }

    /// The endpoint's TLS under its listener name, when it serves https:
    /// the broker applies dynamic `ssl.*` configs to it as to a listener's.
    pub fn tls(&self) -> Option<(String, Arc<ServerTls>)> {
        let tls = self.tls.clone()?;
        Some((TLS_LISTENER.to_string(), tls))
    }

    /// Where the endpoint listens, if it does.
    pub fn local_addr(&self) -> Option<SocketAddr> {
        self.server.as_ref().map(|(addr, _)| *addr)
    }

    pub fn controller_started(&self, controller: &Arc<Controller>) {
        let _ = self.exporter.controller.set(controller.clone());
    }

    pub fn serving(&self, context: &Arc<BrokerContext>) {
        let _ = self.exporter.context.set(context.clone());
        self.exporter.phase.store(SERVING, Ordering::Release);
    }

    pub fn stopping(&self) {
        self.exporter.phase.store(STOPPING, Ordering::Release);
    }
}

impl Drop for Metrics {
    fn drop(&mut self) {
        if let Some((_, server)) = &self.server {
            server.abort();
        }
    }
}

/// The host:port of an `http://host:port` or `https://host:port`
/// listener, and whether it is https.
fn listener_addr(value: &str) -> Result<(&str, bool), MetricsError> {
    let (addr, https) = match value.strip_prefix("https://") {
        Some(addr) => (addr, true),
        None => (value.strip_prefix("http://").unwrap_or(""), false),
    };
    addr.rsplit_once(':')
        .is_some_and(|(host, port)| !host.is_empty() && port.parse::<u16>().is_ok())
        .then_some((addr, https))
        .ok_or_else(|| MetricsError::Listener(value.to_string()))
}

type Shared = Arc<(Registry, Arc<Exporter>)>;

async fn serve(listener: TcpListener, shared: Shared, tls: Option<Arc<ServerTls>>) {
    loop {
        let Ok((stream, peer)) = listener.accept().await else {
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            continue;
        };
        let shared = shared.clone();
        // Taken at accept, so a reloaded certificate serves new scrapes.
        let acceptor = tls.as_ref().map(|tls| tls.acceptor());
        tokio::spawn(async move {
            match acceptor {
                None => serve_connection(stream, shared).await,
                Some(acceptor) => match acceptor.accept(stream).await {
                    Ok(stream) => serve_connection(stream, shared).await,
                    Err(e) => {
                        tracing::debug!(%peer, error = %e, "metrics endpoint: TLS handshake failed")
                    }
                },
            }
        });
    }
}

async fn serve_connection<S>(stream: S, shared: Shared)
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let service = hyper::service::service_fn(move |request| {
        let shared = shared.clone();
        async move { Ok::<_, Infallible>(respond(request, shared).await) }
    });
    let _ = hyper::server::conn::http1::Builder::new()
        .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
        .await;
}

async fn respond<B>(request: Request<B>, shared: Shared) -> Response<Full<Bytes>> {
    let reply = |status: StatusCode, content_type: &str, body: String| {
        Response::builder()
            .status(status)
            .header(hyper::header::CONTENT_TYPE, content_type)
            .body(Full::new(Bytes::from(body)))
            .expect("a static status and header make a valid response")
    };
    if request.method() != Method::GET && request.method() != Method::HEAD {
        return reply(
            StatusCode::METHOD_NOT_ALLOWED,
            "text/plain",
            "GET only\n".into(),
        );
    }
    match request.uri().path() {
        "/metrics" => {
            // Scraping reads locks and files: off the async workers.
            let text = tokio::task::spawn_blocking(move || {
                let mut out = String::new();
                prometheus_client::encoding::text::encode(&mut out, &shared.0)?;
                // The per-partition families go last, before the end
                // marker, written without the registry's encoder.
                if let Some(context) = shared.1.context() {
                    let body = out.len() - out.ends_with(EOF) as usize * EOF.len();
                    out.truncate(body);
                    collect::partition_logs(&mut out, &context)?;
                    out.push_str(EOF);
                }
                Ok::<_, std::fmt::Error>(out)
            })
            .await;
            match text {
                Ok(Ok(text)) => reply(StatusCode::OK, OPENMETRICS, text),
                _ => reply(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "text/plain",
                    "cannot encode the metrics\n".into(),
                ),
            }
        }
        "/health" => match shared.1.health() {
            Ok(()) => reply(StatusCode::OK, "text/plain", "ok\n".into()),
            Err(reason) => reply(
                StatusCode::SERVICE_UNAVAILABLE,
                "text/plain",
                format!("{reason}\n"),
            ),
        },
        _ => reply(
            StatusCode::NOT_FOUND,
            "text/plain",
            "not found: /metrics and /health are served\n".into(),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listener_is_http_or_https_host_and_port() {
        assert_eq!(
            listener_addr("http://0.0.0.0:9308").unwrap(),
            ("0.0.0.0:9308", false)
        );
        assert_eq!(
            listener_addr("http://[::]:9308").unwrap(),
            ("[::]:9308", false)
        );
        assert_eq!(listener_addr("https://h:9308").unwrap(), ("h:9308", true));
        for bad in [
            "0.0.0.0:9308",
            "ftp://h:9308",
            "https://h",
            "http://h",
            "http://:9308",
            "http://h:99999",
        ] {
            assert!(listener_addr(bad).is_err(), "{bad}");
        }
    }
}
