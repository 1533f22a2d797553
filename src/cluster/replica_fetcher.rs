//! Followers pull from leaders, as Kafka's ReplicaFetcherThread does: one
//! task per leader broker fetches every partition this broker follows
//! there, with its replica id, from its log end offset, and appends what
//! comes back as the leader wrote it. Before fetching at a new leader epoch
//! a follower asks the leader where its log ends for the follower's latest
//! epoch (OffsetForLeaderEpoch) and truncates a divergent tail there, so
//! records the new leader never had are removed and committed ones never
//! are.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::fetch_request::{FetchPartition, FetchTopic};
use kafka_protocol::messages::offset_for_leader_epoch_request::{
    OffsetForLeaderPartition, OffsetForLeaderTopic,
};
use kafka_protocol::messages::{BrokerId, FetchRequest, OffsetForLeaderEpochRequest, TopicName};
use kafka_protocol::protocol::StrBytes;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::broker_client::BrokerConnection;
use super::metadata::MetadataImage;
use crate::partition::{now_ms, Partition, ReplicaManager};
use crate::quota::replication::ReplicationQuotas;
use crate::security::sasl::client::SaslClientConfig;
use crate::security::tls::ClientTls;

const FETCH_VERSION: i16 = 12;
const OFFSET_FOR_LEADER_EPOCH_VERSION: i16 = 4;
const RETRY: Duration = Duration::from_millis(200);

/// How followers fetch (Kafka's replica.fetch.* properties).
#[derive(Clone)]
pub struct FetcherConfig {
    pub node_id: i32,
    pub max_wait_ms: i32,
    pub partition_max_bytes: i32,
    /// How to log in to leaders on a SASL listener.
    pub sasl: Option<Arc<SaslClientConfig>>,
    /// The replication throttles; the follower one applies here.
    pub quotas: Arc<ReplicationQuotas>,
}

/// The partitions this broker follows, by leader.
fn followed(replicas: &ReplicaManager, node_id: i32) -> BTreeMap<i32, Vec<Arc<Partition>>> {
    let mut by_leader: BTreeMap<i32, Vec<Arc<Partition>>> = BTreeMap::new();
    // Asked every second and every fetch round: the partitions led here
    // are not even cloned.
    let follows = |leader: i32| leader >= 0 && leader != node_id;
    for p in replicas.partitions_where(|p| follows(p.leader_id())) {
        // Read again: leadership may have moved since the pick.
        let leader = p.leader_id();
        if follows(leader) {
            by_leader.entry(leader).or_default().push(p);
        }
    }
    by_leader
}

/// Keeps one fetcher task per leader this broker follows partitions of,
/// connecting over TLS with `tls` when the inter-broker listener has it.
pub async fn run(
    replicas: Arc<ReplicaManager>,
    mut images: watch::Receiver<Arc<MetadataImage>>,
    config: FetcherConfig,
    tls: Option<Arc<ClientTls>>,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut tasks: HashMap<i32, JoinHandle<()>> = HashMap::new();
    loop {
        tasks.retain(|_, t| !t.is_finished());
        for leader in followed(&replicas, config.node_id).into_keys() {
            tasks.entry(leader).or_insert_with(|| {
                tokio::spawn(fetch_from(
                    leader,
                    replicas.clone(),
                    images.clone(),
                    config.clone(),
                    tls.clone(),
                    shutdown.clone(),
                ))
            });
        }
        tokio::select! {
            _ = shutdown.changed() => break,
            _ = images.changed() => {}
            _ = tokio::time::sleep(Duration::from_secs(1)) => {}
        }
    }
    for (_, task) in tasks {
        let _ = task.await;
    }
}

type Key = (String, i32);

/// Fetches from one leader until this broker follows nothing there.
async fn fetch_from(
    leader: i32,
    replicas: Arc<ReplicaManager>,
    images: watch::Receiver<Arc<MetadataImage>>,
    config: FetcherConfig,
    tls: Option<Arc<ClientTls>>,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut connection: Option<BrokerConnection> = None;
    // The leader epoch each partition's log was reconciled at.
    let mut reconciled: HashMap<Key, i32> = HashMap::new();
    loop {
        if *shutdown.borrow() {
            return;
        }
        let Some(mut partitions) = followed(&replicas, config.node_id).remove(&leader) else {
            return;
        };
        // A full log dir refuses appends until space is freed: fetching its
        // partitions would only spin on records that cannot be written. As
        // Kafka, only those wait; the broker's other dirs keep replicating.
        partitions.retain(|p| !p.is_disk_full());
        if partitions.is_empty() {
            pause(&mut shutdown).await;
            continue;
        }
        let addr = images
            .borrow()
            .brokers
            .get(&leader)
            .map(|b| format!("{}:{}", b.host, b.port));
        let conn = match (&mut connection, addr) {
            (Some(c), _) => c,
            (None, Some(addr)) => match BrokerConnection::open(
                &addr,
                &format!("gregor-replica-fetcher-{}", config.node_id),
                tls.as_deref(),
                config.sasl.clone(),
            )
            .await
            {
                Ok(c) => connection.insert(c),
                Err(e) => {
                    tracing::debug!(leader, %addr, error = %e, "cannot reach the leader");
                    pause(&mut shutdown).await;
                    continue;
                }
            },
            (None, None) => {
                pause(&mut shutdown).await;
                continue;
            }
        };
        let round = async {
            reconcile(conn, &partitions, &mut reconciled, config.node_id).await?;
            fetch(conn, &replicas, &partitions, &mut reconciled, &config).await
        };
        let outcome = tokio::select! {
            _ = shutdown.changed() => return,
            r = round => r,
        };
        if let Err(e) = outcome {
            tracing::debug!(leader, error = %e, "fetch from the leader failed; reconnecting");
            connection = None;
            pause(&mut shutdown).await;
        }
    }
}

async fn pause(shutdown: &mut watch::Receiver<bool>) {
    tokio::select! {
        _ = shutdown.changed() => {}
        _ = tokio::time::sleep(RETRY) => {}
    }
}

/// The partition a response entry names.
fn named<'a>(
    partitions: &'a [Arc<Partition>],
    topic: &TopicName,
    index: i32,
) -> Option<&'a Arc<Partition>> {
    partitions
        .iter()
        .find(|p| p.topic == topic.0.as_str() && p.index == index)
}

fn key(p: &Partition) -> Key {
    (p.topic.clone(), p.index)
}

/// Truncates each partition not yet reconciled at its current leader epoch
/// to where the leader's log ends for the follower's latest epoch.
async fn reconcile(
    conn: &mut BrokerConnection,
    partitions: &[Arc<Partition>],
    reconciled: &mut HashMap<Key, i32>,
    node_id: i32,
) -> std::io::Result<()> {
    let pending: Vec<Arc<Partition>> = partitions
        .iter()
        .filter(|p| reconciled.get(&key(p)) != Some(&p.leader_epoch()))
        .cloned()
        .collect();
    if pending.is_empty() {
        return Ok(());
    }
    let mut topics: BTreeMap<String, Vec<OffsetForLeaderPartition>> = BTreeMap::new();
    for p in &pending {
        topics.entry(p.topic.clone()).or_default().push(
            OffsetForLeaderPartition::default()
                .with_partition(p.index)
                .with_current_leader_epoch(p.leader_epoch())
                .with_leader_epoch(p.latest_epoch().unwrap_or(-1)),
        );
    }
    let request = OffsetForLeaderEpochRequest::default()
        .with_replica_id(BrokerId(node_id))
        .with_topics(
            topics
                .into_iter()
                .map(|(topic, partitions)| {
                    OffsetForLeaderTopic::default()
                        .with_topic(TopicName(StrBytes::from_string(topic)))
                        .with_partitions(partitions)
                })
                .collect(),
        );
    let response = conn.call(&request, OFFSET_FOR_LEADER_EPOCH_VERSION).await?;
    for topic in response.topics {
        for r in topic.partitions {
            let Some(p) = named(&pending, &topic.topic, r.partition) else {
                continue;
            };
            if r.error_code != 0 {
                continue;
            }
            // An empty log has nothing to reconcile; a leader that knows
            // nothing of the epoch (-1) leaves the follower its high
            // watermark, as in Kafka.
            if p.latest_epoch().is_some() && r.end_offset < p.log_end_offset() {
                let to = if r.end_offset < 0 {
                    p.high_watermark()
                } else {
                    r.end_offset
                }
                .max(p.log_start_offset());
                tracing::info!(topic = %p.topic, partition = p.index, from = p.log_end_offset(), to, "truncating a divergent tail");
                if let Err(e) = p.truncate_to(to) {
                    tracing::error!(topic = %p.topic, partition = p.index, error = %e, "cannot truncate");
                    continue;
                }
            }
            reconciled.insert(key(p), p.leader_epoch());
        }
    }
    Ok(())
}

/// One fetch of every reconciled partition, appended as the leader sent it.
async fn fetch(
    conn: &mut BrokerConnection,
    replicas: &ReplicaManager,
    partitions: &[Arc<Partition>],
    reconciled: &mut HashMap<Key, i32>,
    config: &FetcherConfig,
) -> std::io::Result<()> {
    let quota = &config.quotas.follower;
    let over_quota = quota.is_quota_exceeded();
    // Kafka's shouldFollowerThrottle: while the follower throttle is
    // exceeded, throttled partitions this replica is not in the ISR of
    // are left out of the fetch.
    let held_back =
        |p: &Partition| quota.is_throttled(&p.topic, p.index) && !p.isr().contains(&config.node_id);
    let mut topics: BTreeMap<String, Vec<FetchPartition>> = BTreeMap::new();
    for p in partitions
        .iter()
        .filter(|p| reconciled.get(&key(p)) == Some(&p.leader_epoch()))
        .filter(|p| !(over_quota && held_back(p)))
    {
        topics.entry(p.topic.clone()).or_default().push(
            FetchPartition::default()
                .with_partition(p.index)
                .with_current_leader_epoch(p.leader_epoch())
                .with_fetch_offset(p.log_end_offset())
                .with_log_start_offset(p.log_start_offset())
                .with_partition_max_bytes(config.partition_max_bytes),
        );
    }
    if topics.is_empty() {
        tokio::time::sleep(RETRY).await;
        return Ok(());
    }
    let request = FetchRequest::default()
        .with_replica_id(BrokerId(config.node_id))
        .with_max_wait_ms(config.max_wait_ms)
        .with_min_bytes(1)
        .with_max_bytes(i32::MAX)
        .with_session_epoch(-1)
        .with_topics(
            topics
                .into_iter()
                .map(|(topic, partitions)| {
                    FetchTopic::default()
                        .with_topic(TopicName(StrBytes::from_string(topic)))
                        .with_partitions(partitions)
                })
                .collect(),
        );
    let response = conn.call(&request, FETCH_VERSION).await?;
    for topic in response.responses {
        for data in topic.partitions {
            let Some(p) = named(partitions, &topic.topic, data.partition_index) else {
                continue;
            };
            // A replica removed (its directory deleted) while the fetch was
            // out has nothing to append to.
            let hosted = replicas
                .partition(&p.topic, p.index)
                .is_some_and(|now| Arc::ptr_eq(&now, p));
            if !hosted {
                continue;
            }
            match ResponseError::try_from_code(data.error_code) {
                None => {
                    let records = data.records.unwrap_or_default();
                    if quota.is_throttled(&p.topic, p.index) {
                        quota.record(records.len());
                    }
                    if let Err(e) = p.append_as_follower(&records, data.high_watermark, now_ms()) {
                        tracing::warn!(topic = %p.topic, partition = p.index, error = %e, "cannot append fetched records");
                        reconciled.remove(&key(p));
                    }
                    replicas.flush_in_background(p);
                }
                Some(ResponseError::OffsetOutOfRange)
                    if p.log_end_offset() < data.log_start_offset =>
                {
                    if let Err(e) = p.truncate_fully_and_start_at(data.log_start_offset) {
                        tracing::error!(topic = %p.topic, partition = p.index, error = %e, "cannot restart the log at the leader's log start");
                    }
                }
                Some(e) => {
                    tracing::debug!(topic = %p.topic, partition = p.index, error = %e, "leader refused a fetch");
                    reconciled.remove(&key(p));
                }
            }
        }
    }
    Ok(())
}
