//! Followers pull from leaders, as Kafka's ReplicaFetcherThread does:
//! `num.replica.fetchers` tasks per leader broker (Kafka's fetcher threads)
//! fetch the partitions this broker follows there, each its share by
//! Kafka's hash of topic and partition (`fetcher_id`), with its replica id, from its log end offset, and appends what
//! comes back as the leader wrote it. Before fetching at a new leader epoch
//! a follower asks the leader where its log ends for the follower's latest
//! epoch (OffsetForLeaderEpoch) and truncates a divergent tail there, so
//! records the new leader never had are removed and committed ones never
//! are.
//!
//! Each task keeps a fetch session (KIP-227) and a connection of its own
//! with its leader, as Kafka's
//! FetchSessionHandler does: the first Fetch names every partition and
//! opens it; the next ones name only the partitions whose fetch offset,
//! leader epoch or log start moved, and those no longer followed there.
//! A leader that lost the session (a restart, an eviction) refuses the
//! next one and the follower starts again with a full fetch.
//!
//! Fetches name topics by id (Fetch v13+), as the metadata image has them,
//! so a topic deleted and created again under its name is never mistaken
//! for the old one; and carry this broker's id with the broker epoch the
//! controller registered it at (v15's ReplicaState, KIP-903), so a leader
//! never adds a broker to an ISR on a fetch from before its last restart.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::fetch_request::{
    FetchPartition, FetchTopic, ForgottenTopic, ReplicaState,
};
use kafka_protocol::messages::offset_for_leader_epoch_request::{
    OffsetForLeaderPartition, OffsetForLeaderTopic,
};
use kafka_protocol::messages::{BrokerId, FetchRequest, OffsetForLeaderEpochRequest, TopicName};
use kafka_protocol::protocol::StrBytes;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use uuid::Uuid;

use super::broker_client::BrokerConnection;
use super::metadata::MetadataImage;
use crate::partition::{now_ms, Partition, ReplicaManager};
use crate::quota::replication::ReplicationQuotas;
use crate::security::sasl::client::SaslClientConfig;
use crate::security::tls::ClientTls;
use crate::topic_partition::TopicPartition;

const FETCH_VERSION: i16 = 15;
const OFFSET_FOR_LEADER_EPOCH_VERSION: i16 = 4;
const RETRY: Duration = Duration::from_millis(200);

/// How followers fetch (Kafka's replica.fetch.* properties).
#[derive(Clone)]
pub struct FetcherConfig {
    pub node_id: i32,
    /// Tasks per leader (num.replica.fetchers).
    pub fetchers: usize,
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

/// Which of `fetchers` tasks per leader fetches `topic`'s `partition`:
/// Kafka's `AbstractFetcherManager.getFetcherId`, `Utils.abs(31 *
/// topic.hashCode + partition) % numFetchers` with Java's String hashCode,
/// so partitions spread over the fetchers as they do on a Kafka follower.
fn fetcher_id(topic: &str, partition: i32, fetchers: usize) -> usize {
    let hash = topic.encode_utf16().fold(0i32, |h, unit| {
        h.wrapping_mul(31).wrapping_add(i32::from(unit))
    });
    // Utils.abs: the sign bit masked off, so i32::MIN maps to 0.
    let abs = 31i32.wrapping_mul(hash).wrapping_add(partition) & 0x7fff_ffff;
    abs as usize % fetchers.max(1)
}

/// Keeps `config.fetchers` fetcher tasks per leader this broker follows
/// partitions of (each started once it has partitions to fetch),
/// connecting over TLS with `tls` when the inter-broker listener has it.
pub async fn run(
    replicas: Arc<ReplicaManager>,
    mut images: watch::Receiver<Arc<MetadataImage>>,
    config: FetcherConfig,
    tls: Option<Arc<ClientTls>>,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut tasks: HashMap<(i32, usize), JoinHandle<()>> = HashMap::new();
    loop {
        tasks.retain(|_, t| !t.is_finished());
        for (leader, partitions) in followed(&replicas, config.node_id) {
            for p in partitions {
                let fetcher = fetcher_id(&p.topic, p.index, config.fetchers);
                tasks.entry((leader, fetcher)).or_insert_with(|| {
                    tokio::spawn(fetch_from(
                        leader,
                        fetcher,
                        replicas.clone(),
                        images.clone(),
                        config.clone(),
                        tls.clone(),
                        shutdown.clone(),
                    ))
                });
            }
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

/// Fetches `fetcher`'s share of the partitions followed at `leader` until
/// that share is empty.
async fn fetch_from(
    leader: i32,
    fetcher: usize,
    replicas: Arc<ReplicaManager>,
    images: watch::Receiver<Arc<MetadataImage>>,
    config: FetcherConfig,
    tls: Option<Arc<ClientTls>>,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut connection: Option<BrokerConnection> = None;
    // The leader epoch each partition's log was reconciled at.
    let mut reconciled: HashMap<TopicPartition, i32> = HashMap::new();
    let mut session = FetchSession::default();
    loop {
        if *shutdown.borrow() {
            return;
        }
        let Some(mut partitions) = followed(&replicas, config.node_id).remove(&leader) else {
            return;
        };
        partitions.retain(|p| fetcher_id(&p.topic, p.index, config.fetchers) == fetcher);
        if partitions.is_empty() {
            return;
        }
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
                &format!("gregor-replica-fetcher-{}-{fetcher}", config.node_id),
                tls.as_deref(),
                config.sasl.clone(),
            )
            .await
            {
                Ok(c) => connection.insert(c),
                Err(e) => {
                    tracing::debug!(leader, fetcher, %addr, error = %e, "cannot reach the leader");
                    pause(&mut shutdown).await;
                    continue;
                }
            },
            (None, None) => {
                pause(&mut shutdown).await;
                continue;
            }
        };
        // The epoch of this broker's registration; read each round, so a
        // fetch never carries one older than the image it was planned from.
        let broker_epoch = images
            .borrow()
            .brokers
            .get(&config.node_id)
            .map_or(-1, |me| me.epoch);
        let round = async {
            reconcile(conn, &partitions, &mut reconciled, config.node_id).await?;
            let me = (config.node_id, broker_epoch);
            fetch(
                conn,
                &replicas,
                &partitions,
                &mut reconciled,
                &mut session,
                (&config, me),
            )
            .await
        };
        let outcome = tokio::select! {
            _ = shutdown.changed() => return,
            r = round => r,
        };
        if let Err(e) = outcome {
            tracing::debug!(leader, fetcher, error = %e, "fetch from the leader failed; reconnecting");
            connection = None;
            session.lost();
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

fn key(p: &Partition) -> TopicPartition {
    TopicPartition::new(p.topic.clone(), p.index)
}

/// Truncates each partition not yet reconciled at its current leader epoch
/// to where the leader's log ends for the follower's latest epoch.
async fn reconcile(
    conn: &mut BrokerConnection,
    partitions: &[Arc<Partition>],
    reconciled: &mut HashMap<TopicPartition, i32>,
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

/// Where a follower fetches a partition from: what a Fetch names of it
/// besides its index (partition max bytes is the same for all).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Position {
    /// The topic's id: a topic created again under its name is another.
    topic_id: Uuid,
    fetch_offset: i64,
    leader_epoch: i32,
    log_start_offset: i64,
}

/// The epoch of a Fetch that opens a session: a full fetch.
const INITIAL_EPOCH: i32 = 0;

/// The follower's side of its fetch session with one leader, as Kafka's
/// FetchSessionHandler keeps it.
#[derive(Default, Debug)]
struct FetchSession {
    /// The leader's id for the session; 0 while there is none.
    id: i32,
    /// The epoch the next Fetch carries; [`INITIAL_EPOCH`] for a full one.
    epoch: i32,
    /// Each partition as the leader's session holds it: as last sent.
    partitions: HashMap<TopicPartition, Position>,
}

/// One Fetch's session fields and what it names.
#[derive(Debug, PartialEq, Eq)]
struct Plan {
    session_id: i32,
    epoch: i32,
    /// The partitions to name, by topic name and id.
    send: BTreeMap<(String, Uuid), Vec<(i32, Position)>>,
    /// The partitions to drop from the session, by topic name and id.
    forget: BTreeMap<(String, Uuid), Vec<i32>>,
}

impl FetchSession {
    /// The next Fetch of `next`, every partition to fetch now: all of them
    /// when the session is to be (re)opened, otherwise those added or moved
    /// since the last, and the ones left out to forget.
    fn build(&mut self, next: HashMap<TopicPartition, Position>) -> Plan {
        let mut send: BTreeMap<(String, Uuid), Vec<(i32, Position)>> = BTreeMap::new();
        let mut forget: BTreeMap<(String, Uuid), Vec<i32>> = BTreeMap::new();
        let topic = |tp: &TopicPartition, at: &Position| (tp.topic.clone(), at.topic_id);
        if self.epoch == INITIAL_EPOCH {
            for (tp, at) in &next {
                send.entry(topic(tp, at))
                    .or_default()
                    .push((tp.partition, *at));
            }
        } else {
            for (tp, at) in &next {
                let before = self.partitions.get(tp);
                if before != Some(at) {
                    send.entry(topic(tp, at))
                        .or_default()
                        .push((tp.partition, *at));
                }
                // The name's topic was created again: the leader's session
                // holds the old one's partition under its id until told.
                if let Some(old) = before.filter(|old| old.topic_id != at.topic_id) {
                    forget.entry(topic(tp, old)).or_default().push(tp.partition);
                }
            }
            for (tp, old) in &self.partitions {
                if !next.contains_key(tp) {
                    forget.entry(topic(tp, old)).or_default().push(tp.partition);
                }
            }
        }
        // Sorted so that requests (and tests) do not depend on hash order.
        send.values_mut()
            .for_each(|p| p.sort_unstable_by_key(|(i, _)| *i));
        forget.values_mut().for_each(|p| p.sort_unstable());
        self.partitions = next;
        Plan {
            session_id: self.id,
            epoch: self.epoch,
            send,
            forget,
        }
    }

    /// Takes the leader's answer to the Fetch last built: its top-level
    /// error and session id. Without an error a full fetch opened session
    /// `session_id` (0: the leader had no room, and the next fetch is full
    /// again) and an incremental one moves the epoch on. A session the
    /// leader no longer has is opened anew; any other error closes it and
    /// opens another (Kafka's nextCloseExisting).
    fn answered(&mut self, error: Option<ResponseError>, session_id: i32) {
        match error {
            None if session_id == 0 => *self = FetchSession::default(),
            None if self.epoch == INITIAL_EPOCH => {
                self.id = session_id;
                self.epoch = 1;
            }
            None => self.epoch = next_epoch(self.epoch),
            Some(ResponseError::FetchSessionIdNotFound) => *self = FetchSession::default(),
            Some(_) => self.epoch = INITIAL_EPOCH,
        }
    }

    /// The Fetch got no answer: what the leader's session holds is unknown,
    /// so the next fetch is a full one closing it.
    fn lost(&mut self) {
        self.epoch = INITIAL_EPOCH;
    }
}

/// Kafka's FetchMetadata.nextEpoch: 1, 2, ... wrapping to 1.
fn next_epoch(epoch: i32) -> i32 {
    if epoch == i32::MAX {
        1
    } else {
        epoch + 1
    }
}

/// The Fetch a plan makes, from broker `me`: (id, broker epoch).
fn fetch_request(plan: Plan, config: &FetcherConfig, (id, epoch): (i32, i64)) -> FetchRequest {
    let topics = plan
        .send
        .into_iter()
        .map(|((_, topic_id), partitions)| {
            let partitions = partitions
                .into_iter()
                .map(|(index, at)| {
                    FetchPartition::default()
                        .with_partition(index)
                        .with_current_leader_epoch(at.leader_epoch)
                        .with_fetch_offset(at.fetch_offset)
                        .with_log_start_offset(at.log_start_offset)
                        .with_partition_max_bytes(config.partition_max_bytes)
                })
                .collect();
            FetchTopic::default()
                .with_topic_id(topic_id)
                .with_partitions(partitions)
        })
        .collect();
    let forgotten = plan
        .forget
        .into_iter()
        .map(|((_, topic_id), partitions)| {
            ForgottenTopic::default()
                .with_topic_id(topic_id)
                .with_partitions(partitions)
        })
        .collect();
    let me = ReplicaState::default()
        .with_replica_id(BrokerId(id))
        .with_replica_epoch(epoch);
    FetchRequest::default()
        .with_replica_state(me)
        .with_max_wait_ms(config.max_wait_ms)
        .with_min_bytes(1)
        .with_max_bytes(i32::MAX)
        .with_session_id(plan.session_id)
        .with_session_epoch(plan.epoch)
        .with_topics(topics)
        .with_forgotten_topics_data(forgotten)
}

/// One fetch of every reconciled partition, appended as the leader sent it.
async fn fetch(
    conn: &mut BrokerConnection,
    replicas: &ReplicaManager,
    partitions: &[Arc<Partition>],
    reconciled: &mut HashMap<TopicPartition, i32>,
    session: &mut FetchSession,
    (config, me): (&FetcherConfig, (i32, i64)),
) -> std::io::Result<()> {
    let quota = &config.quotas.follower;
    let over_quota = quota.is_quota_exceeded();
    // Kafka's shouldFollowerThrottle: while the follower throttle is
    // exceeded, throttled partitions this replica is not in the ISR of
    // are left out of the fetch.
    let held_back =
        |p: &Partition| quota.is_throttled(&p.topic, p.index) && !p.isr().contains(&config.node_id);
    let next: HashMap<TopicPartition, Position> = partitions
        .iter()
        .filter(|p| reconciled.get(&key(p)) == Some(&p.leader_epoch()))
        .filter(|p| !(over_quota && held_back(p)))
        .map(|p| {
            let at = Position {
                topic_id: p.topic_id,
                fetch_offset: p.log_end_offset(),
                leader_epoch: p.leader_epoch(),
                log_start_offset: p.log_start_offset(),
            };
            (key(p), at)
        })
        .collect();
    if next.is_empty() {
        // Nothing sent: the leader's session still holds what was last sent.
        tokio::time::sleep(RETRY).await;
        return Ok(());
    }
    let request = fetch_request(session.build(next), config, me);
    let response = conn.call(&request, FETCH_VERSION).await?;
    let error = ResponseError::try_from_code(response.error_code);
    session.answered(error, response.session_id);
    if let Some(e) = error {
        tracing::debug!(error = %e, "the leader refused a fetch; fetching in full next");
        // A lost session is retried at once, in full; anything else after
        // a pause.
        if e != ResponseError::FetchSessionIdNotFound
            && e != ResponseError::InvalidFetchSessionEpoch
        {
            tokio::time::sleep(RETRY).await;
        }
        return Ok(());
    }
    // Built for the first partition answered: an incremental answer is
    // often empty, a full one may name thousands.
    let mut by_id: Option<HashMap<(Uuid, i32), &Arc<Partition>>> = None;
    let mut back_off = false;
    for topic in response.responses {
        for data in topic.partitions {
            let by_id = by_id.get_or_insert_with(|| {
                partitions
                    .iter()
                    .map(|p| ((p.topic_id, p.index), p))
                    .collect()
            });
            let Some(&p) = by_id.get(&(topic.topic_id, data.partition_index)) else {
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
                // As Kafka's fetcher: the leader's metadata and this
                // broker's disagree on the topic's id; each round plans
                // from the image anew, so the next, after a pause, asks
                // by the id the metadata has then.
                Some(e @ (ResponseError::UnknownTopicId | ResponseError::InconsistentTopicId)) => {
                    tracing::debug!(topic = %p.topic, partition = p.index, error = %e, "the leader does not know the topic by this id yet");
                    reconciled.remove(&key(p));
                    back_off = true;
                }
                Some(e) => {
                    tracing::debug!(topic = %p.topic, partition = p.index, error = %e, "leader refused a fetch");
                    reconciled.remove(&key(p));
                }
            }
        }
    }
    if back_off {
        tokio::time::sleep(RETRY).await;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::fetch_session::{FetchContext, FetchSessions};
    use crate::quota::QuotaWindow;

    /// The id the tests' topic `name` has: one per first letter.
    fn id(name: &str) -> Uuid {
        Uuid::from_u128(u128::from(name.as_bytes()[0]))
    }

    fn at(topic: &str, fetch_offset: i64) -> Position {
        Position {
            topic_id: id(topic),
            fetch_offset,
            leader_epoch: 3,
            log_start_offset: 0,
        }
    }

    fn next(partitions: &[(&str, i32, i64)]) -> HashMap<TopicPartition, Position> {
        partitions
            .iter()
            .map(|&(t, i, o)| (TopicPartition::new(t, i), at(t, o)))
            .collect()
    }

    /// (topic, index, fetch offset) of every partition a plan names.
    fn sent(plan: &Plan) -> Vec<(&str, i32, i64)> {
        plan.send
            .iter()
            .flat_map(|(t, ps)| {
                ps.iter()
                    .map(move |(i, a)| (t.0.as_str(), *i, a.fetch_offset))
            })
            .collect()
    }

    fn forgotten(plan: &Plan) -> Vec<(&str, i32)> {
        plan.forget
            .iter()
            .flat_map(|(t, ps)| ps.iter().map(move |i| (t.0.as_str(), *i)))
            .collect()
    }

    #[test]
    fn partitions_spread_over_fetchers_as_kafka_hashes_them() {
        // Java: "orders".hashCode() == -1008770331; Utils.abs(31 * that + p) % 3.
        assert_eq!(
            (0..4)
                .map(|p| fetcher_id("orders", p, 3))
                .collect::<Vec<_>>(),
            vec![0, 1, 2, 0]
        );
        assert_eq!(fetcher_id("orders", 7, 1), 0);
        // Neighbouring partitions never share one of two fetchers.
        assert_ne!(fetcher_id("t", 0, 2), fetcher_id("t", 1, 2));
    }

    #[test]
    fn a_session_opens_in_full_then_names_only_what_moved_or_left() {
        let mut session = FetchSession::default();
        let full = session.build(next(&[("a", 0, 0), ("a", 1, 0), ("b", 0, 7)]));
        assert_eq!((full.session_id, full.epoch), (0, INITIAL_EPOCH));
        assert_eq!(sent(&full), vec![("a", 0, 0), ("a", 1, 0), ("b", 0, 7)]);
        session.answered(None, 42);

        // Only a-0 fetched records: only it is named.
        let inc = session.build(next(&[("a", 0, 5), ("a", 1, 0), ("b", 0, 7)]));
        assert_eq!((inc.session_id, inc.epoch), (42, 1));
        assert_eq!(sent(&inc), vec![("a", 0, 5)]);
        assert!(inc.forget.is_empty());
        session.answered(None, 42);

        // Nothing moved: an empty request that still long-polls the session.
        let idle = session.build(next(&[("a", 0, 5), ("a", 1, 0), ("b", 0, 7)]));
        assert_eq!(
            (idle.epoch, sent(&idle), forgotten(&idle)),
            (2, vec![], vec![])
        );
        session.answered(None, 42);

        // Leadership moved: b-0 is followed elsewhere now, c-0 here; a new
        // leader epoch is news too.
        let mut moved = next(&[("a", 0, 5), ("a", 1, 0), ("c", 0, 0)]);
        moved
            .get_mut(&TopicPartition::new("a", 1))
            .unwrap()
            .leader_epoch = 4;
        let changed = session.build(moved);
        assert_eq!(changed.epoch, 3);
        assert_eq!(sent(&changed), vec![("a", 1, 0), ("c", 0, 0)]);
        assert_eq!(forgotten(&changed), vec![("b", 0)]);
    }

    #[test]
    fn a_topic_created_again_under_its_name_is_fetched_by_its_new_id_and_the_old_forgotten() {
        let mut session = FetchSession::default();
        session.build(next(&[("a", 0, 5)]));
        session.answered(None, 42);
        let mut again = next(&[("a", 0, 0)]);
        let new_id = Uuid::from_u128(99);
        again
            .get_mut(&TopicPartition::new("a", 0))
            .unwrap()
            .topic_id = new_id;
        let plan = session.build(again);
        let sent_ids: Vec<Uuid> = plan.send.keys().map(|k| k.1).collect();
        let forgotten_ids: Vec<Uuid> = plan.forget.keys().map(|k| k.1).collect();
        assert_eq!(sent_ids, vec![new_id]);
        assert_eq!(forgotten_ids, vec![id("a")]);
    }

    #[test]
    fn a_lost_or_refused_session_starts_again_with_a_full_fetch() {
        let partitions = [("a", 0, 5), ("a", 1, 0)];
        let opened = || {
            let mut session = FetchSession::default();
            session.build(next(&partitions));
            session.answered(None, 42);
            session.build(next(&partitions));
            session
        };

        // The leader restarted: it knows no session 42; a new one is opened.
        let mut session = opened();
        session.answered(Some(ResponseError::FetchSessionIdNotFound), 0);
        let full = session.build(next(&partitions));
        assert_eq!((full.session_id, full.epoch), (0, INITIAL_EPOCH));
        assert_eq!(sent(&full).len(), 2);

        // A wrong epoch, or a request that got no answer: session 42 is
        // closed by a full fetch naming it.
        for refuse in [
            |s: &mut FetchSession| s.answered(Some(ResponseError::InvalidFetchSessionEpoch), 0),
            |s: &mut FetchSession| s.lost(),
        ] {
            let mut session = opened();
            refuse(&mut session);
            let full = session.build(next(&partitions));
            assert_eq!((full.session_id, full.epoch), (42, INITIAL_EPOCH));
            assert_eq!(sent(&full).len(), 2);
        }

        // A leader without room for a session answers 0: every fetch is full.
        let mut session = FetchSession::default();
        session.build(next(&partitions));
        session.answered(None, 0);
        let again = session.build(next(&partitions));
        assert_eq!(
            (again.session_id, again.epoch, sent(&again).len()),
            (0, 0, 2)
        );
    }

    #[test]
    fn epochs_wrap_to_one() {
        let mut session = FetchSession {
            id: 42,
            epoch: i32::MAX,
            partitions: HashMap::new(),
        };
        session.answered(None, 42);
        assert_eq!(session.epoch, 1);
    }

    /// The follower's plans against the leader's session cache: after
    /// every exchange the leader reads exactly the partitions the follower
    /// fetches, at the follower's positions.
    #[test]
    fn the_leaders_session_holds_what_the_follower_fetches() {
        let config = FetcherConfig {
            node_id: 2,
            fetchers: 1,
            max_wait_ms: 500,
            partition_max_bytes: 1 << 20,
            sasl: None,
            quotas: Arc::new(ReplicationQuotas::new(QuotaWindow {
                samples: 11,
                window_ms: 1000,
            })),
        };
        let leader = FetchSessions::new(10);
        let mut follower = FetchSession::default();
        let rounds = [
            vec![("a", 0, 0), ("a", 1, 0), ("b", 0, 0)],
            vec![("a", 0, 10), ("a", 1, 0), ("b", 0, 0)],
            vec![("a", 0, 10), ("a", 1, 4), ("b", 0, 0)],
            vec![("a", 0, 10), ("b", 0, 2), ("c", 3, 0)],
            vec![("a", 0, 10), ("b", 0, 2), ("c", 3, 0)],
            vec![("c", 3, 9)],
        ];
        let name = |topic_id: Uuid| {
            ["a", "b", "c"]
                .into_iter()
                .find(|t| id(t) == topic_id)
                .unwrap()
                .to_string()
        };
        for (round, wanted) in rounds.iter().enumerate() {
            let request = fetch_request(follower.build(next(wanted)), &config, (2, 17));
            assert_eq!(
                (request.replica_id.0, request.replica_state.replica_id.0),
                (-1, 2),
                "v15 names the follower in its replica state only"
            );
            assert_eq!(request.replica_state.replica_epoch, 17);
            let (context, from_session) = leader
                .open(
                    request.session_id,
                    request.session_epoch,
                    &request.topics,
                    &request.forgotten_topics_data,
                )
                .unwrap_or_else(|e| panic!("round {round}: {e:?}"));
            let read: Vec<(String, i32, i64)> = match from_session {
                // A full fetch reads the request.
                None => request
                    .topics
                    .iter()
                    .flat_map(|t| {
                        t.partitions
                            .iter()
                            .map(|p| (name(t.topic_id), p.partition, p.fetch_offset))
                    })
                    .collect(),
                Some(asked) => asked
                    .iter()
                    .flat_map(|(t, ps)| ps.iter().map(|w| (name(t.id), w.0, w.1)))
                    .collect(),
            };
            let mut read = read;
            read.sort();
            let mut expected: Vec<(String, i32, i64)> = wanted
                .iter()
                .map(|&(t, i, o)| (t.to_string(), i, o))
                .collect();
            expected.sort();
            assert_eq!(read, expected, "round {round}");
            assert_eq!(
                matches!(context, FetchContext::Incremental { .. }),
                round > 0,
                "round {round}: {context:?}"
            );
            follower.answered(None, context.session_id());
        }
    }
}
