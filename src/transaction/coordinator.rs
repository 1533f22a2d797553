//! The transaction coordinator, as Kafka's `TransactionCoordinator`: it
//! owns each transactional id's producer id, epoch and open transaction,
//! keeps them durable in `__transaction_state`, and ends transactions by
//! writing commit or abort markers to every partition they touched.
//!
//! A transaction moves Empty -> Ongoing (AddPartitionsToTxn) ->
//! PrepareCommit/PrepareAbort (EndTxn, written before any marker) ->
//! CompleteCommit/CompleteAbort (after the markers). A state record is
//! written before the change is acknowledged, so a restart resumes from the
//! last one: a transaction found in a Prepare state has its markers written
//! again (the Prepare record names every partition, so after a restart some
//! may get a second marker, as in Kafka), an open one times out. Within a
//! run, a partition leaves the transaction once its marker is written, so
//! a retry after a failed marker writes only the markers still missing.
//!
//! Design differs from Kafka: markers are written by this broker straight
//! into the partitions it hosts before EndTxn is answered (Kafka answers
//! after the Prepare record and sends WriteTxnMarkers to partition leaders);
//! markers for partitions led elsewhere go out as WriteTxnMarkers from a
//! task of their own, which EndTxn waits for, as the coordinator's calls
//! run on blocking threads and never wait on the network; every
//! transactional id shares one lock.

use std::cell::Cell;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, Weak};

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::write_txn_markers_request::{
    WritableTxnMarker, WritableTxnMarkerTopic,
};
use kafka_protocol::messages::{ProducerId, TopicName, WriteTxnMarkersRequest};
use kafka_protocol::protocol::StrBytes;
use parking_lot::{Mutex, MutexGuard};
use tokio::sync::watch;

use super::metadata::{TransactionMetadata, TxnState};
use super::state_log::{self, TRANSACTION_STATE_TOPIC};
use crate::cluster::broker_client::BrokerConnection;
use crate::cluster::MetadataImage;
use crate::coordinator_records::{leadership_change, partition_for, replay_partition, LoadError};
use crate::group::{GroupCoordinator, OFFSETS_TOPIC};
use crate::partition::{now_ms, ReplicaManager};
use crate::security::sasl::client::SaslClientConfig;
use crate::security::tls::ClientTls;
use crate::topic_partition::TopicPartition;

pub struct TransactionConfig {
    pub node_id: i32,
    pub state_log_partitions: i32,
    pub max_timeout_ms: i32,
    pub id_expiration_ms: i64,
    /// How to log in to partition leaders on a SASL listener.
    pub sasl: Option<Arc<SaslClientConfig>>,
    /// TLS to other brokers, when the inter-broker listener has it.
    pub inter_broker_tls: Option<Arc<ClientTls>>,
}

/// A transactional id and its state, as DescribeTransactions reports it.
pub type TransactionDescription = (String, Result<TransactionMetadata, ResponseError>);

/// What InitProducerId came to.
#[derive(Debug, PartialEq, Eq)]
pub enum InitProducerIdOutcome {
    /// The producer id and epoch to answer.
    Initialised(i64, i16),
    /// The id needs a new producer id, which comes from the controller:
    /// call again with one.
    NeedsProducerId,
}

/// Where writing a transaction's markers got to.
enum MarkerProgress {
    /// Every marker is written and the Complete state recorded.
    Completed(TransactionMetadata),
    /// Markers for partitions led elsewhere are on their way; the id stays
    /// in its Prepare state, and among those completing, until they land.
    AwaitingLeaders(TransactionMetadata),
}

/// The markers of one transaction that other brokers write.
struct RemoteMarkers {
    transactional_id: String,
    meta: TransactionMetadata,
    commit: bool,
    coordinator_epoch: i32,
    /// Partitions by topic, by their leader's address.
    by_leader: BTreeMap<String, BTreeMap<String, Vec<i32>>>,
    /// Why some partition led here could not take its marker.
    failed: Option<ResponseError>,
}

pub struct TransactionCoordinator {
    config: TransactionConfig,
    replicas: Arc<ReplicaManager>,
    /// Told when a transaction that committed offsets ends.
    groups: Arc<GroupCoordinator>,
    /// Where the leaders of a transaction's partitions are, for markers
    /// this broker cannot write itself.
    images: watch::Receiver<Arc<MetadataImage>>,
    transactions: Mutex<HashMap<String, TransactionMetadata>>,
    /// The `__transaction_state` partitions whose ids are loaded here.
    led: Mutex<BTreeSet<i32>>,
    /// Partitions this broker leads whose log could not be read: their ids
    /// are not served (locked after `led`).
    failed: Mutex<BTreeSet<i32>>,
    /// Ids whose markers are being written: nobody else completes them
    /// meanwhile. Each sender is dropped when its writing is over, which is
    /// what a waiting EndTxn watches for.
    completing: Mutex<HashMap<String, watch::Sender<()>>>,
    /// This coordinator, for the tasks that send markers to other brokers.
    me: Weak<TransactionCoordinator>,
    runtime: tokio::runtime::Handle,
}

/// The transactional ids, locked.
type Transactions<'a> = MutexGuard<'a, HashMap<String, TransactionMetadata>>;

/// Has the leader at `addr` write the markers of `meta`'s transaction to
/// its partitions (Kafka's WriteTxnMarkers); the partitions it wrote them
/// to.
async fn send_markers(
    addr: &str,
    tls: Option<&ClientTls>,
    sasl: Option<Arc<SaslClientConfig>>,
    meta: &TransactionMetadata,
    commit: bool,
    coordinator_epoch: i32,
    topics: BTreeMap<String, Vec<i32>>,
) -> Result<Vec<TopicPartition>, ResponseError> {
    let marker = WritableTxnMarker::default()
        .with_producer_id(ProducerId(meta.producer_id))
        .with_producer_epoch(meta.producer_epoch)
        .with_transaction_result(commit)
        .with_coordinator_epoch(coordinator_epoch)
        .with_topics(
            topics
                .into_iter()
                .map(|(topic, partitions)| {
                    WritableTxnMarkerTopic::default()
                        .with_name(TopicName(StrBytes::from_string(topic)))
                        .with_partition_indexes(partitions)
                })
                .collect(),
        );
    let request = WriteTxnMarkersRequest::default().with_markers(vec![marker]);
    let call = async {
        let mut connection =
            BrokerConnection::open(addr, "gregor-transaction-coordinator", tls, sasl).await?;
        connection.call(&request, 1).await
    };
    let response = call
        .await
        .map_err(|_| ResponseError::CoordinatorNotAvailable)?;
    let mut written = Vec::new();
    for topic in response.markers.iter().flat_map(|m| &m.topics) {
        for p in &topic.partitions {
            match ResponseError::try_from_code(p.error_code) {
                None => written.push(TopicPartition::new(
                    topic.name.0.to_string(),
                    p.partition_index,
                )),
                Some(e) => tracing::warn!(
                    %addr,
                    topic = %topic.name.0.as_str(),
                    partition = p.partition_index,
                    error = %e,
                    "transaction marker not written"
                ),
            }
        }
    }
    Ok(written)
}

impl TransactionCoordinator {
    /// Made on the runtime, where the tasks sending markers to other
    /// brokers will run.
    pub fn new(
        config: TransactionConfig,
        replicas: Arc<ReplicaManager>,
        groups: Arc<GroupCoordinator>,
        images: watch::Receiver<Arc<MetadataImage>>,
    ) -> Arc<TransactionCoordinator> {
        Arc::new_cyclic(|me| TransactionCoordinator {
            config,
            replicas,
            groups,
            images,
            transactions: Mutex::new(HashMap::new()),
            led: Mutex::new(BTreeSet::new()),
            failed: Mutex::new(BTreeSet::new()),
            completing: Mutex::new(HashMap::new()),
            me: me.clone(),
            runtime: tokio::runtime::Handle::current(),
        })
    }

    fn state_partition(&self, transactional_id: &str) -> i32 {
        partition_for(transactional_id, self.config.state_log_partitions)
    }

    /// Whether this broker coordinates `transactional_id`: it leads the
    /// id's `__transaction_state` partition and could read its log (an id
    /// it could not load is not served as a new one, which would give it a
    /// new producer id without fencing the old).
    pub fn check_coordinator(&self, transactional_id: &str) -> Result<(), ResponseError> {
        if self
            .failed
            .lock()
            .contains(&self.state_partition(transactional_id))
        {
            return Err(ResponseError::NotCoordinator);
        }
        self.replicas
            .leader_partition(
                TRANSACTION_STATE_TOPIC,
                self.state_partition(transactional_id),
            )
            .map(|_| ())
            .map_err(|e| match e {
                ResponseError::NotLeaderOrFollower => ResponseError::NotCoordinator,
                _ => ResponseError::CoordinatorNotAvailable,
            })
    }

    /// Writes the id's state (or its tombstone) before anything is answered.
    fn persist(
        &self,
        transactional_id: &str,
        meta: Option<&TransactionMetadata>,
    ) -> Result<(), ResponseError> {
        let batch = state_log::state_batch(transactional_id, meta, now_ms()).map_err(|e| {
            tracing::error!(transactional_id, error = %e, "cannot encode transaction state");
            ResponseError::UnknownServerError
        })?;
        self.replicas
            .append_records(
                TRANSACTION_STATE_TOPIC,
                self.state_partition(transactional_id),
                &batch,
            )
            .map(|_| ())
            .map_err(|e| match e {
                ResponseError::NotLeaderOrFollower => ResponseError::NotCoordinator,
                ResponseError::UnknownTopicOrPartition => ResponseError::CoordinatorNotAvailable,
                other => other,
            })
    }

    /// InitProducerId for a transactional id: the id's producer id with its
    /// epoch bumped, which fences every earlier producer of the same id. A
    /// transaction such a producer left open is aborted first. `expected`
    /// is the producer id and epoch a producer re-initialising holds
    /// (KIP-360). An id that needs a new producer id gets `NeedsProducerId`
    /// unless `fresh_producer_id` gives one: allocating it asks the
    /// controller, which this blocking call does not wait for.
    pub fn init_producer_id(
        &self,
        transactional_id: &str,
        timeout_ms: i32,
        expected: Option<(i64, i16)>,
        fresh_producer_id: Option<i64>,
    ) -> Result<InitProducerIdOutcome, ResponseError> {
        let fresh = Cell::new(fresh_producer_id);
        let needed = Cell::new(false);
        let allocate = || {
            fresh.take().ok_or_else(|| {
                needed.set(true);
                ResponseError::UnknownServerError
            })
        };
        match self.init_producer_id_with(transactional_id, timeout_ms, expected, allocate) {
            Ok((id, epoch)) => Ok(InitProducerIdOutcome::Initialised(id, epoch)),
            Err(_) if needed.get() => Ok(InitProducerIdOutcome::NeedsProducerId),
            Err(e) => Err(e),
        }
    }

    fn init_producer_id_with(
        &self,
        transactional_id: &str,
        timeout_ms: i32,
        expected: Option<(i64, i16)>,
        allocate: impl Fn() -> Result<i64, ResponseError>,
    ) -> Result<(i64, i16), ResponseError> {
        if timeout_ms <= 0 || timeout_ms > self.config.max_timeout_ms {
            return Err(ResponseError::InvalidTransactionTimeout);
        }
        self.check_coordinator(transactional_id)?;
        let mut txns = self.transactions.lock();
        let mut meta = match txns.get(transactional_id) {
            Some(meta) => meta.clone(),
            None => TransactionMetadata::new(allocate()?, timeout_ms, now_ms()),
        };
        meta.check_expected_producer(expected)?;
        if meta.is_ending() {
            meta = self
                .complete(&mut txns, transactional_id, meta)
                .map_err(|_| ResponseError::ConcurrentTransactions)?;
            // Markers still on their way to other leaders: the client
            // retries, as it does against Kafka while markers are written.
            if meta.is_ending() {
                return Err(ResponseError::ConcurrentTransactions);
            }
        }
        if meta.state == TxnState::Ongoing {
            tracing::info!(
                transactional_id,
                producer_id = meta.producer_id,
                "aborting the transaction a fenced producer left open"
            );
            let fenced = meta.prepare_fence_producer_epoch();
            meta = self.end(&mut txns, transactional_id, fenced, false)?;
            if meta.is_ending() {
                return Err(ResponseError::ConcurrentTransactions);
            }
        }
        let meta = meta.prepare_init_producer_id(timeout_ms, now_ms(), expected, allocate)?;
        self.persist(transactional_id, Some(&meta))?;
        let answer = (meta.producer_id, meta.producer_epoch);
        txns.insert(transactional_id.to_string(), meta);
        Ok(answer)
    }

    /// AddPartitionsToTxn (and AddOffsetsToTxn, whose partition is the
    /// group's `__consumer_offsets` one): the partitions join the open
    /// transaction, which begins here if none is open.
    pub fn add_partitions(
        &self,
        transactional_id: &str,
        producer_id: i64,
        producer_epoch: i16,
        partitions: &[TopicPartition],
    ) -> Result<(), ResponseError> {
        self.check_coordinator(transactional_id)?;
        let mut txns = self.transactions.lock();
        let Some(meta) = txns
            .get(transactional_id)
            .ok_or(ResponseError::InvalidProducerIdMapping)?
            .prepare_add_partitions(producer_id, producer_epoch, partitions, now_ms())?
        else {
            return Ok(());
        };
        self.persist(transactional_id, Some(&meta))?;
        txns.insert(transactional_id.to_string(), meta);
        Ok(())
    }

    /// The broker-side check of KIP-890: whether each partition is in the
    /// producer's open transaction.
    pub fn verify_partitions(
        &self,
        transactional_id: &str,
        producer_id: i64,
        producer_epoch: i16,
        partitions: &[TopicPartition],
    ) -> Result<Vec<bool>, ResponseError> {
        self.check_coordinator(transactional_id)?;
        let txns = self.transactions.lock();
        let meta = txns
            .get(transactional_id)
            .ok_or(ResponseError::InvalidProducerIdMapping)?;
        meta.check_producer(producer_id, producer_epoch)?;
        Ok(partitions
            .iter()
            .map(|p| meta.state == TxnState::Ongoing && meta.partitions.contains(p))
            .collect())
    }

    /// EndTxn: commits or aborts the open transaction. A retry of an end
    /// that already completed is answered as it was.
    pub fn end_txn(
        &self,
        transactional_id: &str,
        producer_id: i64,
        producer_epoch: i16,
        commit: bool,
    ) -> Result<(), ResponseError> {
        self.check_coordinator(transactional_id)?;
        let mut txns = self.transactions.lock();
        let prepared = txns
            .get(transactional_id)
            .ok_or(ResponseError::InvalidProducerIdMapping)?
            .prepare_end(producer_id, producer_epoch, commit, now_ms())?;
        match prepared {
            Some(prepared) => self
                .prepare_and_complete(&mut txns, transactional_id, prepared)
                .map(|_| ()),
            None => Ok(()),
        }
    }

    /// Ends the open transaction of `meta`: see `prepare_and_complete`.
    fn end(
        &self,
        txns: &mut Transactions<'_>,
        transactional_id: &str,
        meta: TransactionMetadata,
        commit: bool,
    ) -> Result<TransactionMetadata, ResponseError> {
        let prepared = meta.prepare_abort_or_commit(commit, now_ms());
        self.prepare_and_complete(txns, transactional_id, prepared)
    }

    /// Prepare, markers, complete. Once the Prepare record is written the
    /// outcome is decided: should a marker fail, the id stays in its
    /// Prepare state and the periodic pass writes the markers again.
    fn prepare_and_complete(
        &self,
        txns: &mut Transactions<'_>,
        transactional_id: &str,
        meta: TransactionMetadata,
    ) -> Result<TransactionMetadata, ResponseError> {
        self.persist(transactional_id, Some(&meta))?;
        txns.insert(transactional_id.to_string(), meta.clone());
        match self.complete(txns, transactional_id, meta.clone()) {
            Ok(completed) => Ok(completed),
            Err(e) => {
                tracing::warn!(transactional_id, error = %e, "transaction decided but not yet ended; will retry");
                Ok(meta)
            }
        }
    }

    /// Writes the markers of a transaction in a Prepare state, then its
    /// Complete state; CONCURRENT_TRANSACTIONS while another call is at it.
    /// Markers that other brokers write are sent from a task: the id is
    /// answered in its Prepare state meanwhile, and `completion` tells when
    /// they have landed.
    fn complete(
        &self,
        txns: &mut Transactions<'_>,
        transactional_id: &str,
        meta: TransactionMetadata,
    ) -> Result<TransactionMetadata, ResponseError> {
        {
            let mut completing = self.completing.lock();
            if completing.contains_key(transactional_id) {
                return Err(ResponseError::ConcurrentTransactions);
            }
            completing.insert(transactional_id.to_string(), watch::Sender::new(()));
        }
        let progress = self.write_markers(txns, transactional_id, meta);
        match progress {
            Ok(MarkerProgress::AwaitingLeaders(meta)) => Ok(meta),
            Ok(MarkerProgress::Completed(meta)) => {
                self.completing.lock().remove(transactional_id);
                Ok(meta)
            }
            Err(e) => {
                self.completing.lock().remove(transactional_id);
                Err(e)
            }
        }
    }

    /// Until the markers being written for `transactional_id` have landed
    /// (or failed): the receiver's `changed` returns then. `None` when none
    /// are being written.
    pub fn completion(&self, transactional_id: &str) -> Option<watch::Receiver<()>> {
        self.completing
            .lock()
            .get(transactional_id)
            .map(watch::Sender::subscribe)
    }

    /// Writes the markers still missing (a partition leaves `meta` once
    /// its marker is written, so a retry writes only the others) into the
    /// partitions led here, hands those led elsewhere to a task, and once
    /// none is left records the Complete state.
    fn write_markers(
        &self,
        txns: &mut Transactions<'_>,
        transactional_id: &str,
        mut meta: TransactionMetadata,
    ) -> Result<MarkerProgress, ResponseError> {
        let commit = meta.state == TxnState::PrepareCommit;
        let coordinator_epoch = self
            .replicas
            .partition(
                TRANSACTION_STATE_TOPIC,
                self.state_partition(transactional_id),
            )
            .map_or(0, |p| p.leader_epoch());
        let mut failed = None;
        let mut by_leader: BTreeMap<String, BTreeMap<String, Vec<i32>>> = BTreeMap::new();
        let pending: Vec<TopicPartition> = meta.partitions.iter().cloned().collect();
        for tp in pending {
            let (topic, partition) = (tp.topic.as_str(), tp.partition);
            let written = self.replicas.write_txn_marker(
                topic,
                partition,
                meta.producer_id,
                meta.producer_epoch,
                commit,
                coordinator_epoch,
            );
            match written {
                Ok(_) => {
                    if topic == OFFSETS_TOPIC {
                        self.groups
                            .complete_transaction(partition, meta.producer_id, commit);
                    }
                    meta.partitions.remove(&tp);
                }
                Err(
                    ResponseError::UnknownTopicOrPartition | ResponseError::NotLeaderOrFollower,
                ) => {
                    let image = self.images.borrow().clone();
                    // A partition deleted since it joined has nothing to end.
                    let Some(p) = image.partition(topic, partition) else {
                        meta.partitions.remove(&tp);
                        continue;
                    };
                    match image.brokers.get(&p.leader) {
                        Some(b) if p.leader != self.config.node_id => by_leader
                            .entry(format!("{}:{}", b.host, b.port))
                            .or_default()
                            .entry(topic.to_string())
                            .or_default()
                            .push(partition),
                        _ => {
                            tracing::warn!(
                                transactional_id,
                                topic,
                                partition,
                                "no leader to write a transaction marker to"
                            );
                            failed = Some(ResponseError::NotLeaderOrFollower);
                        }
                    }
                }
                Err(e) => {
                    tracing::warn!(transactional_id, topic, partition, error = %e, "cannot write transaction marker");
                    failed = Some(e);
                }
            }
        }
        if !by_leader.is_empty() {
            let remote = RemoteMarkers {
                transactional_id: transactional_id.to_string(),
                meta: meta.clone(),
                commit,
                coordinator_epoch,
                by_leader,
                failed,
            };
            txns.insert(transactional_id.to_string(), meta.clone());
            if let Some(me) = self.me.upgrade() {
                self.runtime.spawn(me.send_remote_markers(remote));
            }
            return Ok(MarkerProgress::AwaitingLeaders(meta));
        }
        self.record_markers_written(txns, transactional_id, meta, failed)
            .map(MarkerProgress::Completed)
    }

    /// Sends the markers other brokers write, then records the outcome as
    /// `write_markers` would have, and lets the id be completed again.
    async fn send_remote_markers(self: Arc<Self>, remote: RemoteMarkers) {
        let RemoteMarkers {
            transactional_id,
            mut meta,
            commit,
            coordinator_epoch,
            by_leader,
            mut failed,
        } = remote;
        let asked: usize = by_leader
            .values()
            .flat_map(|t| t.values())
            .map(Vec::len)
            .sum();
        let mut written = Vec::new();
        for (addr, topics) in by_leader {
            match send_markers(
                &addr,
                self.config.inter_broker_tls.as_deref(),
                self.config.sasl.clone(),
                &meta,
                commit,
                coordinator_epoch,
                topics,
            )
            .await
            {
                Ok(w) => written.extend(w),
                Err(e) => {
                    tracing::warn!(transactional_id, %addr, error = %e, "cannot have transaction markers written");
                    failed = Some(e);
                }
            }
        }
        if written.len() < asked {
            failed.get_or_insert(ResponseError::NotLeaderOrFollower);
        }
        for p in &written {
            meta.partitions.remove(p);
        }
        // Recording appends to `__transaction_state`: off the runtime's
        // threads, as every other call of the coordinator.
        let coordinator = self.clone();
        let recorded = tokio::task::spawn_blocking(move || {
            let mut txns = coordinator.transactions.lock();
            // The id may have moved on meanwhile (this broker lost its
            // state partition, say): what is recorded now stands.
            let unchanged = txns.get(&transactional_id).is_some_and(|now| {
                (now.producer_id, now.producer_epoch, now.state)
                    == (meta.producer_id, meta.producer_epoch, meta.state)
            });
            let recorded = if unchanged {
                coordinator
                    .record_markers_written(&mut txns, &transactional_id, meta, failed)
                    .map(|_| ())
            } else {
                Err(ResponseError::ConcurrentTransactions)
            };
            drop(txns);
            coordinator.completing.lock().remove(&transactional_id);
            recorded.map_err(|e| (transactional_id, e))
        })
        .await;
        match recorded {
            Ok(Ok(())) => {}
            Ok(Err((transactional_id, e))) => {
                tracing::warn!(transactional_id, error = %e, "transaction decided but not yet ended; will retry");
            }
            Err(e) => tracing::error!(error = %e, "recording transaction markers failed"),
        }
    }

    /// After the markers: the Complete state once every partition has its
    /// marker; otherwise the id stays in its Prepare state with the
    /// partitions still missing one, for the periodic pass to retry.
    fn record_markers_written(
        &self,
        txns: &mut Transactions<'_>,
        transactional_id: &str,
        meta: TransactionMetadata,
        failed: Option<ResponseError>,
    ) -> Result<TransactionMetadata, ResponseError> {
        if let Some(e) = failed {
            txns.insert(transactional_id.to_string(), meta);
            return Err(e);
        }
        let meta = meta.prepare_complete(now_ms());
        self.persist(transactional_id, Some(&meta))?;
        txns.insert(transactional_id.to_string(), meta.clone());
        Ok(meta)
    }

    /// The periodic pass: aborts transactions open longer than their
    /// transaction.timeout.ms (bumping the epoch, so the producer that left
    /// them is fenced), finishes ends whose markers failed, and forgets ids
    /// idle for transactional.id.expiration.ms.
    pub fn abort_timed_out_transactions(&self) {
        let now = now_ms();
        let mut txns = self.transactions.lock();
        let due: Vec<String> = txns
            .iter()
            .filter(|(_, m)| m.is_ending() || m.timed_out(now))
            .map(|(id, _)| id.clone())
            .collect();
        for id in due {
            // An earlier end in this pass may have let the lock go.
            let Some(meta) = txns.get(&id).cloned() else {
                continue;
            };
            let ended = if meta.is_ending() {
                self.complete(&mut txns, &id, meta)
            } else {
                tracing::info!(transactional_id = %id, producer_id = meta.producer_id, timeout_ms = meta.timeout_ms, "aborting a timed-out transaction");
                let fenced = meta.prepare_fence_producer_epoch();
                self.end(&mut txns, &id, fenced, false)
            };
            if let Err(e) = ended {
                tracing::warn!(transactional_id = %id, error = %e, "cannot end transaction");
            }
        }
        let expired: Vec<String> = txns
            .iter()
            .filter(|(_, m)| m.expired(now, self.config.id_expiration_ms))
            .map(|(id, _)| id.clone())
            .collect();
        for id in expired {
            match self.persist(&id, None) {
                Ok(()) => {
                    txns.remove(&id);
                    tracing::info!(transactional_id = %id, "expired transactional id");
                }
                Err(e) => {
                    tracing::warn!(transactional_id = %id, error = %e, "cannot expire transactional id")
                }
            }
        }
    }

    /// DescribeTransactions.
    pub fn describe(&self, ids: &[String]) -> Vec<TransactionDescription> {
        let txns = self.transactions.lock();
        ids.iter()
            .map(|id| {
                let found = self.check_coordinator(id).and_then(|()| {
                    txns.get(id)
                        .cloned()
                        .ok_or(ResponseError::TransactionalIdNotFound)
                });
                (id.clone(), found)
            })
            .collect()
    }

    /// ListTransactions: every id with its producer id and state, as
    /// `filter` admits them.
    pub fn list(
        &self,
        filter: impl Fn(&str, &TransactionMetadata) -> bool,
    ) -> Vec<(String, i64, TxnState)> {
        let txns = self.transactions.lock();
        let mut out: Vec<(String, i64, TxnState)> = txns
            .iter()
            .filter(|(id, m)| filter(id, m))
            .map(|(id, m)| (id.clone(), m.producer_id, m.state))
            .collect();
        out.sort_by(|a, b| a.0.cmp(&b.0));
        out
    }

    /// Loads the transactional ids of the `__transaction_state` partitions
    /// this broker has come to lead (all it leads at start-up, before it
    /// serves; one whose leadership moved here, from the log it
    /// replicated), finishing ends a crash or a move left half done, and
    /// forgets those of the partitions it no longer leads. A partition
    /// whose log cannot be read stays unloaded (its ids answer
    /// NOT_COORDINATOR) until this broker comes to lead it anew or restarts.
    pub fn sync_leadership(&self) {
        let partitions = self.config.state_log_partitions;
        let led_now = self
            .replicas
            .led_partitions(TRANSACTION_STATE_TOPIC, partitions);
        let mut led = self.led.lock();
        let mut failed = self.failed.lock();
        let Some((gained, lost)) = leadership_change(&led, &mut failed, &led_now) else {
            return;
        };
        led.retain(|index| !lost.contains(index));
        let mut loaded = HashMap::new();
        for index in gained {
            match self.load_partition(index) {
                Ok(ids) => {
                    loaded.extend(ids);
                    led.insert(index);
                }
                Err(e) => {
                    tracing::error!(error = %e, "the transactional ids of this {TRANSACTION_STATE_TOPIC} partition are not served (NOT_COORDINATOR) until it loads, when this broker comes to lead it again or restarts");
                    failed.insert(index);
                }
            }
        }
        drop(failed);
        drop(led);
        if !loaded.is_empty() {
            tracing::info!(transactional_ids = loaded.len(), "loaded transaction state");
        }
        let ending: Vec<String> = loaded
            .iter()
            .filter(|(_, m)| m.is_ending())
            .map(|(id, _)| id.clone())
            .collect();
        let mut txns = self.transactions.lock();
        txns.retain(|id, _| !lost.contains(&self.state_partition(id)));
        txns.extend(loaded);
        for id in ending {
            let Some(meta) = txns.get(&id).cloned() else {
                continue;
            };
            if let Err(e) = self.complete(&mut txns, &id, meta) {
                tracing::warn!(transactional_id = %id, error = %e, "cannot end transaction after a restart or move");
            }
        }
    }

    /// The ids `__transaction_state` partition `index` holds.
    fn load_partition(
        &self,
        index: i32,
    ) -> Result<HashMap<String, TransactionMetadata>, LoadError> {
        let mut ids = HashMap::new();
        let Some(partition) = self.replicas.partition(TRANSACTION_STATE_TOPIC, index) else {
            return Ok(ids);
        };
        replay_partition(&partition, |record| {
            match state_log::replay(record)? {
                Some((id, Some(meta))) => {
                    ids.insert(id, meta);
                }
                Some((id, None)) => {
                    ids.remove(&id);
                }
                None => {}
            }
            Ok(())
        })?;
        Ok(ids)
    }
}
