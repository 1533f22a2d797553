//! Starting and stopping a broker: bind the listener, load the metadata
//! image, open the logs it assigns here, serve, start the background tasks
//! their owners define (ISR changes, heartbeats, log timers, ...), and on
//! shutdown drain connections and close logs cleanly.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::AtomicU64;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::{watch, Semaphore};
use tokio::task::JoinHandle;

use crate::api::{BrokerContext, EndpointType};
use crate::cluster::broker_lifecycle;
use crate::cluster::quorum::network::{
    self, ControllerClients, ForwardHandler, PeerAuthorizer, PeerLogin, QuorumSasl, QuorumServices,
};
use crate::cluster::replica_fetcher::{self, FetcherConfig};
use crate::cluster::{
    BrokerEndpoint, BrokerRegistration, Controller, ControllerError, MetadataLoadError,
    UserScramAlteration,
};
use crate::config::{BrokerConfig, LoadError};
use crate::group::{GroupConfig, GroupCoordinator, ShareConfig, StatePersister};
use crate::metrics::{Metrics, MetricsError};
use crate::partition::{spawn_periodic, DataDirLock, ReplicaManager, StartupError};
use crate::security::acl::AclOperation;
use crate::security::authorizer::Authorizer;
use crate::security::sasl::client::SaslClientConfig;
use crate::security::sasl::scram::{
    parse_bootstrap, BootstrapCredential, ScramCredential, ScramLookup, ScramMechanism,
};
use crate::security::sasl::{SaslConfigError, SaslListenerConfig};
use crate::security::tls::{ClientTls, ServerTls, TlsError};
use crate::server::limits::{ConnectionLimits, LimitsError};
use crate::server::{ConnectionSettings, Listener};
use crate::share_coordinator::{ShareCoordinator, ShareCoordinatorConfig};
use crate::transaction::{TransactionConfig, TransactionCoordinator};

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Config(#[from] LoadError),
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: String,
        source: std::io::Error,
    },
    #[error(transparent)]
    Metadata(#[from] MetadataLoadError),
    #[error(transparent)]
    Metrics(#[from] MetricsError),
    #[error(transparent)]
    Storage(#[from] StartupError),
    #[error(transparent)]
    Sasl(#[from] SaslConfigError),
    #[error("invalid gregor.scram.bootstrap.credentials: {0}")]
    ScramBootstrap(String),
    #[error("cannot create the bootstrap SCRAM credentials: {0}")]
    ScramBootstrapWrite(ControllerError),
    #[error(transparent)]
    Tls(#[from] TlsError),
    #[error("advertised listener {0} is not in listeners")]
    Advertised(String),
    #[error(transparent)]
    ConnectionLimits(#[from] LimitsError),
}

/// How this broker logs in to the others, which it reaches on the
/// inter-broker listener: none on a listener without SASL. Left at Kafka's default
/// (GSSAPI, which Gregor lacks), `sasl.mechanism.inter.broker.protocol`
/// only gets a warning, so that a single broker starts without it.
fn inter_broker_sasl(
    config: &BrokerConfig,
    listener: &crate::config::Listener,
) -> Result<Option<Arc<SaslClientConfig>>, StartError> {
    if !listener.protocol.is_sasl() {
        return Ok(None);
    }
    match SaslClientConfig::inter_broker(config, &listener.name) {
        Ok(login) => Ok(Some(Arc::new(login))),
        Err(e)
            if config
                .explicit("sasl.mechanism.inter.broker.protocol")
                .is_none() =>
        {
            tracing::warn!(error = %e, "no SASL login for other brokers: replication from them will fail until sasl.mechanism.inter.broker.protocol and its JAAS login are set");
            Ok(None)
        }
        Err(e) => Err(e.into()),
    }
}

/// Where the quorum's listener finds SCRAM credentials: the metadata
/// image's, and for a user it has none for, those of
/// `gregor.scram.bootstrap.credentials`. As Kafka's controllers take SCRAM
/// only from credentials bootstrapped with the metadata log, peers can log
/// in before the quorum has a leader to write them.
fn quorum_scram(
    controller: Arc<Controller>,
    bootstrap: &[BootstrapCredential],
) -> Arc<ScramLookup> {
    let bootstrap: HashMap<(String, ScramMechanism), ScramCredential> = bootstrap
        .iter()
        .map(|c| {
            (
                (c.user.clone(), c.mechanism),
                ScramCredential::from_password(c.mechanism, &c.password, c.iterations),
            )
        })
        .collect();
    Arc::new(move |user: &str, mechanism| {
        controller
            .image()
            .scram_credential(user, mechanism)
            .cloned()
            .or_else(|| bootstrap.get(&(user.to_string(), mechanism)).cloned())
    })
}

/// Creates the SCRAM credentials of `gregor.scram.bootstrap.credentials`
/// that the metadata does not have yet (Kafka's `kafka-storage format
/// --add-scram`), so that a first admin can log in; credentials altered
/// since are left as they are.
async fn bootstrap_scram_credentials(
    controller: &Controller,
    wanted: Vec<BootstrapCredential>,
) -> Result<(), StartError> {
    let image = controller.image();
    let missing: Vec<UserScramAlteration> = wanted
        .into_iter()
        .filter(|c| image.scram_credential(&c.user, c.mechanism).is_none())
        .map(|c| UserScramAlteration {
            upsertions: vec![(
                c.mechanism,
                ScramCredential::from_password(c.mechanism, &c.password, c.iterations),
            )],
            user: c.user,
            deletions: Vec::new(),
        })
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    controller
        .alter_user_scram_credentials(missing, true)
        .await
        .map_err(StartError::ScramBootstrapWrite)?;
    Ok(())
}

/// A client listener bound, before it serves.
struct BoundListener {
    config: crate::config::Listener,
    tcp: TcpListener,
    local_addr: SocketAddr,
    tls: Option<Arc<ServerTls>>,
    sasl: Option<Arc<SaslListenerConfig>>,
}

/// How often group members' sessions are checked for expiry.
const SESSION_CHECK: Duration = Duration::from_millis(200);

/// A running broker; dropping it without `shutdown` leaves the logs to be recovered.
pub struct Broker {
    context: Arc<BrokerContext>,
    local_addr: SocketAddr,
    listener_addrs: Vec<(String, SocketAddr)>,
    shutdown: watch::Sender<bool>,
    servers: Vec<JoinHandle<()>>,
    background: Vec<JoinHandle<()>>,
    metrics: Metrics,
    /// Held while the broker runs, when metadata.log.dir is none of log.dirs.
    _metadata_dir_lock: Option<DataDirLock>,
}

impl Broker {
    pub async fn start(config: BrokerConfig) -> Result<Broker, StartError> {
        // Before anything reads or writes the directory (the logs' recovery,
        // the metadata log under it), and before the port is taken, so that
        // a second broker on the same directory says why it cannot start.
        let log_dirs = config.log_dirs();
        let locks = DataDirLock::acquire_all(&log_dirs)?;
        let data_dir = config.metadata_log_dir();
        // A metadata.log.dir of its own is locked as the log dirs are.
        let metadata_dir_lock = if locks.iter().any(|lock| lock.holds(&data_dir)) {
            None
        } else {
            Some(DataDirLock::acquire(&data_dir)?)
        };
        raise_open_file_limit();
        let metrics = Metrics::start(&config).await?;
        // SASL settings are checked before anything starts.
        let inter_broker_sasl = inter_broker_sasl(&config, &config.inter_broker_listener()?)?;
        let scram_bootstrap = config
            .explicit("gregor.scram.bootstrap.credentials")
            .map(parse_bootstrap)
            .transpose()
            .map_err(StartError::ScramBootstrap)?
            .unwrap_or_default();
        // A SASL CONTROLLER listener authenticates the quorum's peers with
        // the broker's mechanisms, and this node logs in to them.
        let quorum_sasl = match config.controller_listener()? {
            Some(l) if l.protocol.is_sasl() => Some((
                Arc::new(SaslListenerConfig::load(&config, &l.name)?),
                Arc::new(SaslClientConfig::controller(&config, &l.name)?),
            )),
            _ => None,
        };
        let mut bound = Vec::new();
        for listener in config.listeners()? {
            let sasl = SaslListenerConfig::for_listener(&config, &listener)?;
            // TLS material is read before the port is taken: a bad
            // keystore stops the start with one line naming it.
            let tls = if listener.protocol.is_tls() {
                Some(Arc::new(ServerTls::load(
                    &config,
                    &listener.name,
                    listener.protocol,
                )?))
            } else {
                None
            };
            let bind_host = if listener.host.is_empty() {
                "0.0.0.0".to_string()
            } else {
                listener.host.clone()
            };
            let addr = format!("{bind_host}:{}", listener.port);
            let tcp = TcpListener::bind(&addr)
                .await
                .map_err(|source| StartError::Bind {
                    addr: addr.clone(),
                    source,
                })?;
            let local_addr = tcp
                .local_addr()
                .map_err(|source| StartError::Bind { addr, source })?;
            bound.push(BoundListener {
                config: listener,
                tcp,
                local_addr,
                tls,
                sasl,
            });
        }
        let local_addr = bound[0].local_addr;

        let mut endpoints = Vec::new();
        for advertised in config.advertised_listeners()? {
            let listener = bound
                .iter()
                .find(|b| b.config.name.eq_ignore_ascii_case(&advertised.name))
                .ok_or_else(|| StartError::Advertised(advertised.name.clone()))?;
            let host = match advertised.host.as_str() {
                "" | "0.0.0.0" | "::" => "localhost".to_string(),
                h => h.to_string(),
            };
            // Port 0 binds an ephemeral port; clients must be told the real one.
            let port = if advertised.port == 0 {
                listener.local_addr.port()
            } else {
                advertised.port
            };
            endpoints.push(BrokerEndpoint {
                listener: listener.config.name.clone(),
                host,
                port,
            });
        }
        let inter_broker = config.inter_broker_listener()?;
        let (host, port) = endpoints
            .iter()
            .find(|e| e.listener.eq_ignore_ascii_case(&inter_broker.name))
            .map(|e| (e.host.clone(), e.port))
            .ok_or_else(|| StartError::Advertised(inter_broker.name.clone()))?;

        // Before the logs are opened (recovery may take long), so that bad
        // TLS material stops the start at once. The CONTROLLER listener's
        // TLS serves the quorum's peers and connects to them.
        let controller_listener = config.controller_listener()?;
        let (quorum_server_tls, quorum_client_tls) = match &controller_listener {
            Some(l) if l.protocol.is_tls() => (
                Some(Arc::new(ServerTls::load(&config, &l.name, l.protocol)?)),
                Some(Arc::new(ClientTls::load(&config, &l.name, l.protocol)?)),
            ),
            _ => (None, None),
        };
        // A broker alone (no controller.quorum.voters) never connects to
        // another, and needs no truststore to check one.
        let has_peers = config.controller_quorum_voters()?.is_some();
        let inter_broker_tls = if inter_broker.protocol.is_tls() && has_peers {
            Some(Arc::new(ClientTls::load(
                &config,
                &inter_broker.name,
                inter_broker.protocol,
            )?))
        } else {
            None
        };
        let replicas = Arc::new(
            ReplicaManager::open(locks, config.node_id())?
                .with_recovery_threads(config.num_recovery_threads_per_data_dir()),
        );
        let me = BrokerRegistration {
            node_id: config.node_id(),
            host,
            port,
            rack: config.rack(),
            fenced: false,
            endpoints,
            log_dirs: replicas.directory_ids(),
            // The controller gives it one as it registers.
            epoch: 0,
        };
        let (shutdown, shutdown_rx) = watch::channel(false);
        let peer_login = PeerLogin {
            tls: quorum_client_tls,
            sasl: quorum_sasl.as_ref().map(|(_, login)| login.clone()),
            refusal: Default::default(),
        };
        let controller = Arc::new(Controller::start(&data_dir, config.clone(), peer_login).await?);
        metrics.controller_started(&controller);
        let mut background = Vec::new();
        let mut quorum_addr = None;
        let controller_clients = ControllerClients::default();
        // What admin clients on the CONTROLLER listener are served with
        // once the broker is up: its name, protocol and SASL.
        let controller_client_listener = controller_listener.as_ref().map(|l| {
            (
                l.name.clone(),
                l.protocol,
                quorum_sasl
                    .as_ref()
                    .map(|(listener_config, _)| listener_config.clone()),
            )
        });
        if let Some(endpoint) = controller_listener {
            let addr = format!("{}:{}", endpoint.host, endpoint.port);
            let quorum_listener =
                TcpListener::bind(&addr)
                    .await
                    .map_err(|source| StartError::Bind {
                        addr: addr.clone(),
                        source,
                    })?;
            // Port 0 binds an ephemeral port: peers must be told the real one.
            let bound = quorum_listener
                .local_addr()
                .map_err(|source| StartError::Bind { addr, source })?;
            quorum_addr = Some(format!("{}:{}", endpoint.host, bound.port()));
            let forwarded = controller.clone();
            let forward: ForwardHandler = Arc::new(move |command| {
                let controller = forwarded.clone();
                Box::pin(async move { controller.handle_forwarded(command).await })
            });
            if let Some(tls) = &quorum_server_tls {
                background.push(tokio::spawn(tls.clone().watch_files(shutdown_rx.clone())));
            }
            let sasl = quorum_sasl.map(|(listener_config, _)| QuorumSasl {
                config: listener_config,
                scram: quorum_scram(controller.clone(), &scram_bootstrap),
            });
            let authorizer = Authorizer::new(config.authorizer_settings());
            let registered = controller.clone();
            let images = controller.clone();
            let authorize: PeerAuthorizer = Arc::new(move |principal, ip| {
                if !authorizer.enabled() {
                    return true;
                }
                let image = images.image();
                authorizer
                    .session(image.epoch, &image.acls, principal, ip)
                    .allows_cluster(AclOperation::ClusterAction)
            });
            background.push(tokio::spawn(network::serve(
                quorum_listener,
                quorum_server_tls,
                sasl,
                QuorumServices {
                    raft: controller.raft(),
                    forward,
                    authorize,
                    clients: controller_clients.clone(),
                    registrations: Arc::new(move |id| registered.registered_epoch(id)),
                },
                shutdown_rx.clone(),
            )));
        }
        controller.register(&data_dir, me, quorum_addr).await?;
        bootstrap_scram_credentials(&controller, scram_bootstrap).await?;
        let image = controller.image();
        replicas.claim_log_dirs(&image.cluster_id)?;
        // Logs open with the dynamic broker configs already in the quorum.
        let effective = image.broker_config(config.node_id(), &config);
        replicas.apply(&image.hosted_partitions(config.node_id(), &effective));
        let applied_epoch = image.epoch;
        let groups = GroupCoordinator::new(
            GroupConfig {
                initial_rebalance_delay_ms: config.group_initial_rebalance_delay_ms(),
                min_session_timeout_ms: config.group_min_session_timeout_ms(),
                max_session_timeout_ms: config.group_max_session_timeout_ms(),
                offsets_topic_partitions: config.offsets_topic_num_partitions(),
                offsets_retention_ms: config.offsets_retention_ms(),
                consumer_heartbeat_interval_ms: config.group_consumer_heartbeat_interval_ms(),
                consumer_session_timeout_ms: config.group_consumer_session_timeout_ms(),
                share: ShareConfig {
                    heartbeat_interval_ms: config.group_share_heartbeat_interval_ms(),
                    session_timeout_ms: config.group_share_session_timeout_ms(),
                    record_lock_duration_ms: config.group_share_record_lock_duration_ms(),
                    delivery_count_limit: config.group_share_delivery_count_limit(),
                    partition_max_record_locks: config.group_share_partition_max_record_locks(),
                    max_share_sessions: config.group_share_max_share_sessions(),
                    max_size: config.group_share_max_size(),
                },
            },
            replicas.clone(),
        );
        groups.sync_leadership();
        let transactions = TransactionCoordinator::new(
            TransactionConfig {
                node_id: config.node_id(),
                state_log_partitions: config.transaction_state_log_num_partitions(),
                max_timeout_ms: config.transaction_max_timeout_ms(),
                id_expiration_ms: config.transactional_id_expiration_ms(),
                sasl: inter_broker_sasl.clone(),
                inter_broker_tls: inter_broker_tls.clone(),
            },
            replicas.clone(),
            groups.clone(),
            controller.subscribe(),
        );
        transactions.sync_leadership();
        let share_coordinator = Arc::new(ShareCoordinator::new(
            ShareCoordinatorConfig {
                state_topic_partitions: config.share_coordinator_state_topic_num_partitions(),
                updates_per_snapshot: config
                    .share_coordinator_snapshot_update_records_per_snapshot(),
            },
            replicas.clone(),
        ));
        share_coordinator.sync_leadership();
        // Share-partitions led here keep their state with the share
        // coordinator of each, here or on another broker.
        groups.set_share_persister(Arc::new(StatePersister::new(
            config.node_id(),
            share_coordinator.clone(),
            controller.subscribe(),
            inter_broker_tls.clone(),
            inter_broker_sasl.clone(),
        )));
        let limits_config = config.clone();
        let connections =
            tokio::task::spawn_blocking(move || ConnectionLimits::new(&limits_config))
                .await
                .expect("reading the connection limits does not panic")
                .map(Arc::new)?;
        let context = Arc::new(BrokerContext {
            node_id: config.node_id(),
            config: config.clone(),
            controller,
            replicas,
            groups,
            producer_ids: Default::default(),
            transactions,
            share_coordinator,
            applied_epoch: AtomicU64::new(applied_epoch),
            metadata_apply: parking_lot::Mutex::new(None),
            authorizer: Authorizer::new(config.authorizer_settings()),
            listener_tls: bound
                .iter()
                .filter_map(|b| Some((b.config.name.clone(), b.tls.clone()?)))
                .chain(metrics.tls())
                .collect(),
            effective: parking_lot::Mutex::new(Arc::new(config.clone())),
            telemetry: crate::telemetry::ClientTelemetry::new(config.telemetry_max_bytes()),
            quotas: crate::quota::QuotaManager::new(config.quota_window()),
            connections,
            replication: Arc::new(crate::quota::replication::ReplicationQuotas::new(
                config.replication_quota_window(),
            )),
            isr_changes: Default::default(),
            fetch_sessions: crate::api::fetch_session::FetchSessions::new(
                config.max_incremental_fetch_session_cache_slots(),
            ),
        });
        // Listeners serve the dynamic TLS configs in the quorum from the
        // first connection (the effective config starts out static).
        let ctx = context.clone();
        let _ = tokio::task::spawn_blocking(move || ctx.apply_metadata()).await;
        // Kafka's dynamic connection limits and cleaner backoff read here
        // take the quorum's values at start; changed later, they apply at
        // the next start.
        let started = context.effective_config();

        // Kafka's dynamic connection limits: taken from the quorum's
        // values here, and again whenever they change (apply_metadata).
        let ctx = context.clone();
        let limits_config = started.clone();
        tokio::task::spawn_blocking(move || ctx.connections.reconfigure(&limits_config))
            .await
            .expect("the connection limits' reconfiguration does not panic")
            .map_err(StartError::from)?;
        let inter_broker_name = config.inter_broker_listener()?.name;
        let listener_count = bound.len();
        let request_pool = config
            .queued_max_request_bytes()
            .map(|bytes| Arc::new(Semaphore::new(bytes.min(Semaphore::MAX_PERMITS))));
        if let Some((name, protocol, sasl)) = controller_client_listener {
            let settings = Arc::new(ConnectionSettings {
                listener_name: Arc::from(name.as_str()),
                protocol,
                max_request_bytes: config.socket_request_max_bytes(),
                max_idle: config.connections_max_idle(),
                request_pool: request_pool.clone(),
                sasl,
                // The quorum's server did the handshake.
                tls: None,
                endpoint_type: EndpointType::Controller,
            });
            let broker = context.clone();
            let shutdown = shutdown_rx.clone();
            let max_request_bytes = settings.max_request_bytes;
            controller_clients.set(
                Arc::new(move |client| {
                    Box::pin(crate::server::serve_controller_client(
                        client,
                        broker.clone(),
                        settings.clone(),
                        shutdown.clone(),
                    ))
                }),
                max_request_bytes,
            );
        }
        let mut servers = Vec::new();
        let mut listener_addrs = Vec::new();
        for b in bound {
            listener_addrs.push((b.config.name.clone(), b.local_addr));
            if let Some(tls) = &b.tls {
                background.push(tokio::spawn(tls.clone().watch_files(shutdown_rx.clone())));
            }
            if let Some(jwks) = b.sasl.as_ref().and_then(|s| s.jwks()) {
                background.push(tokio::spawn(jwks.run(shutdown_rx.clone())));
            }
            let listener = Listener {
                listener: b.tcp,
                broker: context.clone(),
                settings: Arc::new(ConnectionSettings {
                    listener_name: Arc::from(b.config.name.as_str()),
                    protocol: b.config.protocol,
                    max_request_bytes: config.socket_request_max_bytes(),
                    max_idle: config.connections_max_idle(),
                    request_pool: request_pool.clone(),
                    tls: b.tls,
                    sasl: b.sasl,
                    endpoint_type: EndpointType::Broker,
                }),
                connection_rate: context.connections.listener(
                    &b.config.name,
                    &context.effective_config(),
                    listener_count > 1 && b.config.name.eq_ignore_ascii_case(&inter_broker_name),
                ),
                limits: context.connections.clone(),
            };
            servers.push(tokio::spawn(listener.run(shutdown_rx.clone())));
        }
        background.push(tokio::spawn(
            context.clone().follow_metadata(shutdown_rx.clone()),
        ));
        background.push(tokio::spawn(replica_fetcher::run(
            context.replicas.clone(),
            context.controller.subscribe(),
            FetcherConfig {
                node_id: config.node_id(),
                fetchers: config.num_replica_fetchers(),
                max_wait_ms: config.replica_fetch_wait_max_ms(),
                partition_max_bytes: config.replica_fetch_max_bytes(),
                sasl: inter_broker_sasl.clone(),
                quotas: context.replication.clone(),
            },
            inter_broker_tls,
            shutdown_rx.clone(),
        )));
        background.push(tokio::spawn(context.isr_changes.clone().run(
            context.controller.clone(),
            context.replicas.clone(),
            config.replica_lag_time_max_ms(),
            shutdown_rx.clone(),
        )));
        if config.auto_leader_rebalance_enable() {
            background.push(tokio::spawn(broker_lifecycle::balance_leaders(
                context.controller.clone(),
                config.leader_imbalance_check_interval(),
                shutdown_rx.clone(),
            )));
        }
        background.push(tokio::spawn(broker_lifecycle::run(
            context.controller.clone(),
            context.replicas.clone(),
            config.clone(),
            shutdown_rx.clone(),
        )));
        background.extend(context.replicas.spawn_timers(&started, shutdown_rx.clone()));
        background.extend([
            spawn_periodic(context.clone(), shutdown_rx.clone(), SESSION_CHECK, |ctx| {
                ctx.groups.expire_sessions()
            }),
            spawn_periodic(
                context.clone(),
                shutdown_rx.clone(),
                Duration::from_millis(config.offsets_retention_check_interval_ms()),
                |ctx| ctx.groups.expire_offsets(),
            ),
            spawn_periodic(
                context.clone(),
                shutdown_rx,
                Duration::from_millis(
                    config.transaction_abort_timed_out_transaction_cleanup_interval_ms(),
                ),
                |ctx| ctx.transactions.abort_timed_out_transactions(),
            ),
        ]);
        metrics.serving(&context);
        tracing::info!(node_id = config.node_id(), %local_addr, ?log_dirs, metadata_log_dir = %data_dir.display(), "broker started");
        Ok(Broker {
            context,
            local_addr,
            listener_addrs,
            shutdown,
            servers,
            background,
            metrics,
            _metadata_dir_lock: metadata_dir_lock,
        })
    }

    /// Where the first client listener is bound.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Every client listener's name and bound address, in `listeners` order.
    pub fn listener_addrs(&self) -> &[(String, SocketAddr)] {
        &self.listener_addrs
    }

    /// Where the metrics endpoint listens, when `metrics.listener` is set.
    pub fn metrics_addr(&self) -> Option<SocketAddr> {
        self.metrics.local_addr()
    }

    pub fn context(&self) -> &Arc<BrokerContext> {
        &self.context
    }

    /// Resolves, with the reason, when the broker can no longer run: the
    /// metadata quorum refused this node (its CLUSTER_ACTION was taken
    /// away), which KRaft treats as fatal too.
    pub async fn fatal(&self) -> String {
        self.context.controller.refused().await
    }

    /// Stops accepting, lets connections finish their in-flight requests,
    /// then flushes every log and marks the shutdown clean.
    pub async fn shutdown(self) {
        self.metrics.stopping();
        self.context
            .controller
            .controlled_shutdown(CONTROLLED_SHUTDOWN_TIMEOUT)
            .await;
        let _ = self.shutdown.send(true);
        for server in self.servers {
            let _ = server.await;
        }
        for task in self.background {
            let _ = task.await;
        }
        let context = self.context;
        context.controller.shutdown().await;
        let _ = tokio::task::spawn_blocking(move || context.replicas.shutdown()).await;
        tracing::info!("broker stopped cleanly");
    }
}

/// Raises the soft RLIMIT_NOFILE to the hard limit, as the JVM does for
/// Kafka: each partition holds a descriptor and each connection one, and
/// distributions' soft default (1024) runs out long before the hard one.
fn raise_open_file_limit() {
    use rustix::process::{getrlimit, setrlimit, Resource, Rlimit};
    let limit = getrlimit(Resource::Nofile);
    let (Some(soft), Some(hard)) = (limit.current, limit.maximum) else {
        tracing::info!(soft = ?limit.current, hard = ?limit.maximum, "open file limit (unlimited is left as it is)");
        return;
    };
    if soft >= hard {
        tracing::info!(soft, hard, "open file limit");
        return;
    }
    let raised = Rlimit {
        current: Some(hard),
        maximum: Some(hard),
    };
    match setrlimit(Resource::Nofile, raised) {
        Ok(()) => tracing::info!(
            from = soft,
            to = hard,
            "raised the open file limit to the hard limit"
        ),
        Err(e) => tracing::warn!(soft, hard, error = %e, "cannot raise the open file limit"),
    }
}

/// How long a stopping broker waits for its leaderships to move before it
/// stops anyway.
const CONTROLLED_SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(10);
