use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use tokio::sync::oneshot;

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::{ApiKey, RequestHeader};

use super::version_errors;
use crate::cluster::{
    Controller, ControllerError, HostedChanges, MetadataImage, NewTopic, TopicImage,
};
use crate::config::BrokerConfig;
use crate::coordinator_records::partition_for;
use crate::group::{GroupCoordinator, OFFSETS_TOPIC};
use crate::partition::ReplicaManager;
use crate::quota::replication::ReplicationQuotas;
use crate::quota::{MutationQuota, Mute, QuotaExceeded, QuotaManager, QuotaType};
use crate::security::acl::{AclOperation, ResourceType};
use crate::security::authorizer::{Authorization, Authorizer};
use crate::security::tls::ServerTls;
use crate::security::{KafkaPrincipal, SecurityProtocol};
use crate::share_coordinator::{ShareCoordinator, StateKey, SHARE_STATE_TOPIC};
use crate::transaction::{ProducerIdManager, TransactionCoordinator, TRANSACTION_STATE_TOPIC};

/// What every handler reaches: this broker's identity, the metadata image
/// (through the controller) and the partitions it hosts.
pub struct BrokerContext {
    pub node_id: i32,
    pub config: BrokerConfig,
    pub controller: Arc<Controller>,
    pub replicas: Arc<ReplicaManager>,
    pub groups: Arc<GroupCoordinator>,
    pub producer_ids: ProducerIdManager,
    pub transactions: Arc<TransactionCoordinator>,
    pub share_coordinator: Arc<ShareCoordinator>,
    /// The epoch of the last image this broker's partitions were brought in line with.
    pub applied_epoch: AtomicU64,
    /// Serialises [`BrokerContext::apply_metadata`], holding what it last
    /// applied (none before its first pass).
    pub metadata_apply: parking_lot::Mutex<Option<AppliedImage>>,
    pub authorizer: Authorizer,
    /// The TLS of each TLS client listener, reconfigured when dynamic
    /// configs change its keystore or truststore.
    pub listener_tls: Vec<(String, Arc<ServerTls>)>,
    /// `config` under the dynamic configs of the last image looked at.
    pub effective: parking_lot::Mutex<Arc<BrokerConfig>>,
    /// Client telemetry (KIP-714): instances and their pushed metrics.
    pub telemetry: crate::telemetry::ClientTelemetry,
    pub quotas: QuotaManager,
    /// Connection counts and creation rates, shared by every listener.
    pub connections: Arc<crate::server::limits::ConnectionLimits>,
    /// Replication throttles (KIP-73), shared with the replica fetchers.
    pub replication: Arc<ReplicationQuotas>,
    /// Where this broker, as a leader, proposes ISR changes.
    pub isr_changes: Arc<crate::cluster::alter_partition::AlterPartitionManager>,
    /// Consumers' fetch sessions (KIP-227).
    pub fetch_sessions: super::fetch_session::FetchSessions,
}

/// The image and broker configuration the hosted partitions were last
/// brought in line with: the next image applies only what differs.
pub struct AppliedImage {
    image: Arc<MetadataImage>,
    config: Arc<BrokerConfig>,
}

impl AppliedImage {
    /// What `image` under `config` changes of `node_id`'s partitions since
    /// this; none when the dynamic broker configs differ, as they can
    /// change every partition's log config: that takes a full pass.
    fn changes_to(
        &self,
        image: &MetadataImage,
        config: &BrokerConfig,
        node_id: i32,
    ) -> Option<HostedChanges> {
        (!self.reconfigures(config)).then(|| image.hosted_changes(&self.image, node_id, config))
    }

    /// Whether `config`'s dynamic broker configs differ from those this
    /// was applied under: listeners' TLS and the connection limits follow.
    fn reconfigures(&self, config: &BrokerConfig) -> bool {
        self.config.dynamic_layers() != config.dynamic_layers()
    }
}

impl BrokerContext {
    pub fn image(&self) -> Arc<MetadataImage> {
        self.controller.image()
    }

    /// Records `value` against the client's quota of `kind` (users by
    /// their principal's name, as Kafka) and mutes its connection for the
    /// throttle time, which the response then carries.
    pub fn throttle(&self, ctx: &RequestContext, kind: QuotaType, value: f64) -> i32 {
        let image = self.image();
        let ms = self.quotas.record(
            &image.client_quotas,
            kind,
            &ctx.principal.name,
            ctx.client_id(),
            value,
        );
        if ms > 0 {
            ctx.mute.extend(ms);
        }
        i32::try_from(ms).unwrap_or(i32::MAX)
    }

    /// The client's controller mutation quota over one request: strict
    /// from `strict_since` on (KIP-599), permissive before.
    pub fn mutation_quota(&self, ctx: &RequestContext, strict_since: i16) -> MutationQuota<'_> {
        self.quotas.mutation_quota(
            &self.image().client_quotas,
            &ctx.principal.name,
            ctx.client_id(),
            ctx.api_version >= strict_since,
        )
    }

    /// Takes `partitions` mutations from `quota`, or refuses them with
    /// THROTTLING_QUOTA_EXCEEDED as Kafka's controller does.
    pub fn take_mutations(
        quota: &mut MutationQuota<'_>,
        partitions: usize,
    ) -> Result<(), ControllerError> {
        quota
            .record(partitions as f64)
            .map_err(|QuotaExceeded { .. }| {
                ControllerError::new(
                    ResponseError::ThrottlingQuotaExceeded,
                    "The throttling quota has been exceeded.",
                )
            })
    }

    /// The throttle time `quota` gave, which the response carries; the
    /// connection is muted for it.
    pub fn mutation_throttle(&self, ctx: &RequestContext, quota: &MutationQuota<'_>) -> i32 {
        let ms = quota.finish();
        if ms > 0 {
            ctx.mute.extend(ms);
        }
        i32::try_from(ms).unwrap_or(i32::MAX)
    }

    /// What the request's principal may do from its host, decided
    /// against the ACLs of the current image.
    pub fn authorization(&self, ctx: &RequestContext) -> Authorization {
        let image = self.image();
        self.authorizer
            .session(image.epoch, &image.acls, &ctx.principal, ctx.peer.ip())
            .for_request(ctx.header.request_api_key)
    }

    /// Why an ACL API may not go on, as Kafka checks it: the principal
    /// lacks `op` on the cluster (checked first, so that an unauthorised
    /// client does not learn whether an authorizer is configured), or no
    /// authorizer is. `action` completes "... is needed to".
    pub fn acl_api_refusal(
        &self,
        ctx: &RequestContext,
        op: AclOperation,
        action: &str,
    ) -> Option<(ResponseError, String)> {
        if !self.allows_cluster(ctx, op) {
            return Some((
                ResponseError::ClusterAuthorizationFailed,
                format!("Cluster authorization failed: {op} on the cluster is needed to {action}."),
            ));
        }
        if !self.authorizer.enabled() {
            return Some((
                ResponseError::SecurityDisabled,
                "No Authorizer is configured.".to_string(),
            ));
        }
        None
    }

    /// Whether the request's principal may perform `op` on the cluster.
    pub fn allows_cluster(&self, ctx: &RequestContext, op: AclOperation) -> bool {
        self.authorization(ctx).allows_cluster(op)
    }

    /// Whether the request's principal may perform `op` on one resource.
    pub fn allows(
        &self,
        ctx: &RequestContext,
        op: AclOperation,
        resource_type: ResourceType,
        name: &str,
    ) -> bool {
        self.authorization(ctx).allows(op, resource_type, name)
    }

    /// Serves what other nodes change in the metadata until shutdown: each
    /// new image is applied to this broker's partitions.
    pub async fn follow_metadata(
        self: Arc<Self>,
        mut shutdown: tokio::sync::watch::Receiver<bool>,
    ) {
        let mut images = self.controller.subscribe();
        loop {
            tokio::select! {
                _ = shutdown.changed() => break,
                changed = images.changed() => {
                    if changed.is_err() {
                        break;
                    }
                    let ctx = self.clone();
                    let _ = tokio::task::spawn_blocking(move || ctx.apply_metadata()).await;
                }
            }
        }
    }

    /// Brings this broker's partitions in line with the latest image, so a
    /// handler that changed metadata answers only once the change is served.
    pub fn apply_metadata(&self) {
        // One at a time, each reading the image under the lock: a caller
        // holding an older image must never apply it after a newer one,
        // or it would close (and delete the directories of) partitions
        // the newer image just created.
        let mut applied = self.metadata_apply.lock();
        let image = self.image();
        let config = self.refresh_config(&image);
        // Compared with what was last applied rather than with the shared
        // cache, which a request (DescribeConfigs, CreateTopics) may have
        // refreshed from this very image already: then the cache shows no
        // change, and new certificates or connection limits were skipped.
        let reconfigure = applied
            .as_ref()
            .is_none_or(|before| before.reconfigures(&config));
        if reconfigure {
            self.reconfigure_tls(&config);
            if let Err(e) = self.connections.reconfigure(&config) {
                tracing::error!(error = %e, "cannot apply the dynamic connection limits; the previous ones stay");
            }
        }
        self.replication.update(&config, &image, self.node_id);
        // Only the topics that changed, unless the broker configs every
        // partition's log config derives from changed (or nothing was
        // applied yet): then the one full pass, O(partitions).
        let changes = applied
            .as_ref()
            .and_then(|before| before.changes_to(&image, &config, self.node_id));
        match changes {
            Some(mut changes) => {
                changes.retry_offline(&image, self.replicas.offline_keys(), self.node_id, &config);
                self.replicas
                    .apply_changes(&changes.changed, &changes.removed);
            }
            None => self
                .replicas
                .apply(&image.hosted_partitions(self.node_id, &config)),
        }
        *applied = Some(AppliedImage {
            image: image.clone(),
            config: config.clone(),
        });
        self.applied_epoch.fetch_max(image.epoch, Ordering::AcqRel);
        // Coordinators follow the leadership of their internal partitions.
        self.groups.sync_leadership();
        self.transactions.sync_leadership();
        self.share_coordinator.sync_leadership();
        self.groups.set_group_configs(&image.group_configs);
    }

    /// The broker configuration in force now: the static one under the
    /// current image's dynamic broker configs.
    pub fn effective_config(&self) -> Arc<BrokerConfig> {
        self.refresh_config(&self.image())
    }

    /// The configuration under `image`'s dynamic configs, rebuilt only
    /// when they differ from those last seen.
    fn refresh_config(&self, image: &MetadataImage) -> Arc<BrokerConfig> {
        let mut effective = self.effective.lock();
        let (default, broker) = effective.dynamic_layers();
        let empty = Default::default();
        let now_default = image.broker_configs.get("").unwrap_or(&empty);
        let now_broker = image
            .broker_configs
            .get(&self.node_id.to_string())
            .unwrap_or(&empty);
        if default != now_default || broker != now_broker {
            *effective = Arc::new(image.broker_config(self.node_id, &self.config));
        }
        effective.clone()
    }

    /// Rebuilds each TLS listener's configuration from `config`; one that
    /// does not load keeps its previous certificates, as Kafka keeps a
    /// listener's keystore when a dynamic update of it fails.
    fn reconfigure_tls(&self, config: &BrokerConfig) {
        for (listener, tls) in &self.listener_tls {
            if let Err(e) = tls.reconfigure(config) {
                tracing::error!(%listener, error = %e, "cannot apply the dynamic TLS configs; new connections keep the previous ones");
            }
        }
    }

    /// Whether this broker may answer for `group_id` now: NOT_COORDINATOR
    /// when another broker leads the group's `__consumer_offsets`
    /// partition (a client that found this broker before leadership moved
    /// looks again), COORDINATOR_LOAD_IN_PROGRESS while the partition's
    /// groups are being loaded here. Before the offsets topic exists every
    /// broker answers, as a single broker always has.
    pub fn check_group_coordinator(&self, group_id: &str) -> Result<(), ResponseError> {
        let index = partition_for(group_id, self.config.offsets_topic_num_partitions());
        let image = self.image();
        let Some(partition) = image.partition(OFFSETS_TOPIC, index) else {
            return Ok(());
        };
        if partition.leader != self.node_id || self.groups.load_failed(index) {
            return Err(ResponseError::NotCoordinator);
        }
        if !self.groups.is_loaded(index) {
            return Err(ResponseError::CoordinatorLoadInProgress);
        }
        Ok(())
    }

    /// Kafka's checks before a group API: `op` on the group
    /// (GROUP_AUTHORIZATION_FAILED, answered before anything about the
    /// group is revealed), then [`BrokerContext::check_group_coordinator`].
    pub fn check_group(
        &self,
        ctx: &RequestContext,
        op: AclOperation,
        group_id: &str,
    ) -> Result<(), ResponseError> {
        if !self.allows(ctx, op, ResourceType::Group, group_id) {
            return Err(ResponseError::GroupAuthorizationFailed);
        }
        self.check_group_coordinator(group_id)
    }

    /// Creates `__consumer_offsets` on first use, as Kafka does.
    pub async fn ensure_offsets_topic(&self) -> Result<(), ControllerError> {
        self.ensure_internal_topic(
            OFFSETS_TOPIC,
            self.config.offsets_topic_num_partitions(),
            self.config.offsets_topic_replication_factor(),
            self.config.offsets_topic_segment_bytes(),
        )
        .await
    }

    /// Creates `__transaction_state` on first use, as Kafka does.
    pub async fn ensure_transaction_topic(&self) -> Result<(), ControllerError> {
        self.ensure_internal_topic(
            TRANSACTION_STATE_TOPIC,
            self.config.transaction_state_log_num_partitions(),
            self.config.transaction_state_log_replication_factor(),
            self.config.transaction_state_log_segment_bytes(),
        )
        .await
    }

    /// Creates `__share_group_state` on first use, as Kafka does.
    pub async fn ensure_share_state_topic(&self) -> Result<(), ControllerError> {
        self.ensure_internal_topic(
            SHARE_STATE_TOPIC,
            self.config.share_coordinator_state_topic_num_partitions(),
            self.config
                .share_coordinator_state_topic_replication_factor(),
            self.config.share_coordinator_state_topic_segment_bytes(),
        )
        .await
    }

    /// Whether this broker is the share coordinator of `key` now:
    /// NOT_COORDINATOR when another broker leads its `__share_group_state`
    /// partition (or none exists, or its load failed),
    /// COORDINATOR_LOAD_IN_PROGRESS while it is being loaded here.
    pub fn check_share_coordinator(&self, key: &StateKey) -> Result<(), ResponseError> {
        let index = self.share_coordinator.partition_of(key);
        let image = self.image();
        let Some(partition) = image.partition(SHARE_STATE_TOPIC, index) else {
            return Err(ResponseError::NotCoordinator);
        };
        if partition.leader != self.node_id || self.share_coordinator.load_failed(index) {
            return Err(ResponseError::NotCoordinator);
        }
        if !self.share_coordinator.is_loaded(index) {
            return Err(ResponseError::CoordinatorLoadInProgress);
        }
        Ok(())
    }

    /// One share-partition's part of a share-group state API: refused
    /// without CLUSTER_ACTION (`allowed`) or unless this broker is the
    /// key's share coordinator, else `call` on the coordinator.
    pub fn share_state_call<R>(
        &self,
        allowed: bool,
        key: &StateKey,
        call: impl FnOnce(&ShareCoordinator) -> Result<R, ResponseError>,
    ) -> Result<R, ResponseError> {
        if !allowed {
            return Err(ResponseError::ClusterAuthorizationFailed);
        }
        self.check_share_coordinator(key)?;
        call(&self.share_coordinator)
    }

    /// A compacted internal topic, its replication capped at the brokers there are.
    async fn ensure_internal_topic(
        &self,
        name: &str,
        num_partitions: i32,
        replication_factor: i64,
        segment_bytes: i64,
    ) -> Result<(), ControllerError> {
        let image = self.image();
        if image.topic(name).is_some() {
            // The image can name the topic before this broker has opened
            // its partitions (another request created it a moment ago):
            // coordinators need them open before they answer.
            if self.applied_epoch.load(Ordering::Acquire) < image.epoch {
                self.apply_metadata();
            }
            return Ok(());
        }
        let brokers = self.image().brokers.len().max(1) as i64;
        let replication = replication_factor.min(brokers);
        let topic = NewTopic {
            name: name.to_string(),
            num_partitions,
            replication_factor: replication as i16,
            assignments: Vec::new(),
            configs: vec![
                ("cleanup.policy".into(), "compact".into()),
                ("segment.bytes".into(), segment_bytes.to_string()),
            ],
        };
        match self.create_topic(&topic).await {
            Err(e) if e.code != kafka_protocol::error::ResponseError::TopicAlreadyExists => Err(e),
            _ => Ok(()),
        }
    }

    /// Creates a topic and opens the partitions it puts here. When some
    /// cannot be opened (no file descriptor or disk space left), the topic
    /// is deleted again and the creation fails with KAFKA_STORAGE_ERROR:
    /// a topic served only in part would take produces into timeouts. Only
    /// this broker's partitions are checked; another broker that cannot
    /// open its share keeps those partitions offline.
    pub async fn create_topic(&self, topic: &NewTopic) -> Result<TopicImage, ControllerError> {
        let created = self.controller.create_topic(topic, false).await?;
        self.apply_metadata();
        let offline = self.replicas.offline_partitions(&created.name);
        let Some((_, reason)) = offline.first() else {
            return Ok(created);
        };
        let hosted = created
            .partitions
            .iter()
            .filter(|p| p.replicas.contains(&self.node_id))
            .count();
        let message = format!(
            "Broker {} cannot open {} of the {hosted} partitions of '{}' it hosts ({reason}); \
             the topic was not created.",
            self.node_id,
            offline.len(),
            created.name
        );
        tracing::error!(topic = %created.name, offline = offline.len(), hosted, %reason, "partitions of a new topic cannot be opened: deleting the topic");
        if let Err(e) = self.controller.delete_topic(&created.name).await {
            tracing::error!(topic = %created.name, error = %e, "cannot delete a topic whose partitions could not be opened");
        }
        self.apply_metadata();
        Err(ControllerError::new(
            ResponseError::KafkaStorageError,
            message,
        ))
    }
}

/// The parts of a request that are not its body: its header, and who
/// sent it over which listener.
#[derive(Debug, Clone)]
pub struct RequestContext {
    pub header: RequestHeader,
    pub api_version: i16,
    pub peer: SocketAddr,
    /// The listener the request came in on: Metadata and FindCoordinator
    /// answer with the brokers' endpoints on the same listener.
    pub listener_name: Arc<str>,
    /// A broker listener, or the CONTROLLER listener (KIP-919).
    pub endpoint_type: EndpointType,
    pub security_protocol: SecurityProtocol,
    /// Who the connection authenticated as (`User:ANONYMOUS` when it did not).
    pub principal: KafkaPrincipal,
    /// What the client said it is in ApiVersions, for its connection.
    pub client_software: ClientSoftware,
    /// The request's size on the wire, header included (what Kafka's
    /// produce quota counts).
    pub request_size: usize,
    /// The connection's mute: a throttled client's connection is not read
    /// from until it ends.
    pub mute: Arc<Mute>,
    /// Told when a pipelined handler has done its ordered part.
    pub in_order: InOrder,
    /// The connection's id, unique in this broker's run: share sessions
    /// are tied to it and go when it closes.
    pub connection_id: u64,
}

/// How a [`Concurrency::Pipelined`](super::Concurrency::Pipelined) handler
/// lets its connection go on to the next request: when the handler says
/// its ordered part is done, or else when it ends.
#[derive(Debug, Clone, Default)]
pub struct InOrder(Option<Arc<parking_lot::Mutex<Option<oneshot::Sender<()>>>>>);

impl InOrder {
    /// A pair: the handler's end, and what the connection awaits.
    pub fn pair() -> (InOrder, oneshot::Receiver<()>) {
        let (tx, rx) = oneshot::channel();
        (
            InOrder(Some(Arc::new(parking_lot::Mutex::new(Some(tx))))),
            rx,
        )
    }

    /// The ordered part is done; a no-op for handlers run otherwise.
    pub fn done(&self) {
        if let Some(tx) = self.0.as_ref().and_then(|tx| tx.lock().take()) {
            let _ = tx.send(());
        }
    }
}

/// Which kind of node's endpoint a connection reached, as DescribeCluster's
/// `EndpointType` names them: a broker listener, or the metadata quorum's
/// CONTROLLER listener, where admin clients (KIP-919) see the controller's
/// APIs only.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EndpointType {
    Broker,
    Controller,
}

/// The software name and version a client gives in ApiVersions (v3+),
/// kept for the rest of its connection (Kafka's ClientInformation).
#[derive(Clone, Debug, Default)]
pub struct ClientSoftware(Arc<parking_lot::Mutex<Option<(String, String)>>>);

impl ClientSoftware {
    pub fn set(&self, name: &str, version: &str) {
        *self.0.lock() = Some((name.to_string(), version.to_string()));
    }

    /// The name and version, Kafka's "unknown" for each until given.
    pub fn get(&self) -> (String, String) {
        self.0
            .lock()
            .clone()
            .unwrap_or_else(|| ("unknown".to_string(), "unknown".to_string()))
    }
}

impl RequestContext {
    pub fn client_id(&self) -> &str {
        self.header.client_id.as_deref().unwrap_or("")
    }

    /// The code of `error` (0 for none) as this request's API version
    /// knows it.
    pub fn error_code(&self, error: Option<ResponseError>) -> i16 {
        let Some(error) = error else {
            return 0;
        };
        match ApiKey::try_from(self.header.request_api_key) {
            Ok(api) => version_errors::for_version(api, self.api_version, error).code(),
            Err(()) => error.code(),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::cluster::PartitionImage;

    fn image() -> MetadataImage {
        let mut image = MetadataImage::default();
        image.insert_topic(TopicImage {
            name: "t".into(),
            id: uuid::Uuid::new_v4(),
            partitions: vec![PartitionImage::new(vec![1]), PartitionImage::new(vec![1])],
            config: Default::default(),
            internal: false,
        });
        image
    }

    #[test]
    fn a_broker_config_change_takes_the_full_pass() {
        let image = Arc::new(image());
        let config = Arc::new(BrokerConfig::default());
        let applied = AppliedImage {
            image: image.clone(),
            config: config.clone(),
        };
        let same = applied.changes_to(&image, &config, 1);
        assert_eq!(same, Some(HostedChanges::default()));
        let retention = BTreeMap::from([("log.retention.ms".to_string(), "1000".to_string())]);
        let changed = config.with_dynamic(Some(&retention), None);
        assert_eq!(applied.changes_to(&image, &changed, 1), None);
        let reloaded = config.with_dynamic(None, None);
        assert!(applied.changes_to(&image, &reloaded, 1).is_some());
    }

    /// TLS and connection limits follow a change of the dynamic configs
    /// since the last apply, however often the shared effective config
    /// was refreshed from the same image in between.
    #[test]
    fn dynamic_configs_reconfigure_against_what_was_last_applied() {
        let config = Arc::new(BrokerConfig::default());
        let applied = AppliedImage {
            image: Arc::new(image()),
            config: config.clone(),
        };
        assert!(!applied.reconfigures(&config));
        let limits = BTreeMap::from([("max.connections".to_string(), "10".to_string())]);
        let changed = config.with_dynamic(None, Some(&limits));
        assert!(applied.reconfigures(&changed));
        assert!(applied.reconfigures(&changed.with_dynamic(None, Some(&limits))));
    }
}
