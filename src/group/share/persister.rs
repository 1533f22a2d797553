//! The seam between share-partitions and the share coordinator that keeps
//! their state (Kafka's Persister). [`StatePersister`] is Kafka's
//! DefaultStatePersister: for each share-partition it finds the share
//! coordinator of "group:topicId:partition" (the leader of its
//! `__share_group_state` partition, as FindCoordinator key type 2 answers),
//! calls it in process when that is this broker and over the
//! broker-to-broker client otherwise (Read/Write/DeleteShareGroupState and
//! ReadShareGroupStateSummary, as Kafka's PersisterStateManager), and retries NOT_COORDINATOR,
//! COORDINATOR_LOAD_IN_PROGRESS and unreachable coordinators with backoff
//! against a fresh lookup, while that leadership moves.

use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use futures::future::BoxFuture;
use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::{
    delete_share_group_state_request, read_share_group_state_request,
    read_share_group_state_summary_request, write_share_group_state_request,
    DeleteShareGroupStateRequest, ReadShareGroupStateRequest, ReadShareGroupStateSummaryRequest,
    WriteShareGroupStateRequest,
};
use kafka_protocol::protocol::{Request, StrBytes};
use tokio::sync::watch;

use super::partition::{PersistedBatch, RecordState, SharePartition};
use crate::cluster::broker_client::BrokerConnection;
use crate::cluster::MetadataImage;
use crate::security::sasl::client::SaslClientConfig;
use crate::security::tls::ClientTls;
use crate::share_coordinator::{
    ShareCoordinator, ShareState, StateBatch, StateKey, ACKNOWLEDGED, ARCHIVED, AVAILABLE,
    SHARE_STATE_TOPIC,
};

/// What one write of a share-partition's state carries: the whole
/// in-flight state each time, which laid over what was written before
/// leaves the same state as the changed batches alone would.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PersistedState {
    pub state_epoch: i32,
    /// The partition's leader epoch the writer leads it at.
    pub leader_epoch: i32,
    pub start_offset: i64,
    pub batches: Vec<PersistedBatch>,
}

impl PersistedState {
    pub fn of(sp: &SharePartition) -> PersistedState {
        PersistedState {
            state_epoch: sp.state_epoch(),
            leader_epoch: sp.leader_epoch(),
            start_offset: sp.start_offset(),
            batches: sp.persisted_batches(),
        }
    }
}

/// A share-partition's durable state without its batches, as
/// ReadShareGroupStateSummary answers it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StateSummary {
    pub state_epoch: i32,
    pub leader_epoch: i32,
    pub start_offset: i64,
}

/// Where share-partitions read and write their durable state.
pub trait Persister: Send + Sync {
    /// The share-partition's state, read by its leader at `leader_epoch`
    /// (which fences older leaders' writes from then on); `None` while it
    /// has none.
    fn read_state<'a>(
        &'a self,
        key: &'a StateKey,
        leader_epoch: i32,
    ) -> BoxFuture<'a, Result<Option<SharePartition>, ResponseError>>;
    fn write_state<'a>(
        &'a self,
        key: &'a StateKey,
        state: &'a PersistedState,
    ) -> BoxFuture<'a, Result<(), ResponseError>>;
    fn delete_state<'a>(&'a self, key: &'a StateKey) -> BoxFuture<'a, Result<(), ResponseError>>;
    /// The share-partition's start offset and epochs (Kafka's
    /// Persister.readSummary), read without fencing any leader; `None`
    /// while it has no state.
    fn read_summary<'a>(
        &'a self,
        key: &'a StateKey,
    ) -> BoxFuture<'a, Result<Option<StateSummary>, ResponseError>>;
}

fn to_wire(b: &PersistedBatch) -> StateBatch {
    StateBatch {
        first_offset: b.first,
        last_offset: b.last,
        delivery_state: match b.state {
            RecordState::Available | RecordState::Acquired => AVAILABLE,
            RecordState::Acknowledged => ACKNOWLEDGED,
            RecordState::Archived => ARCHIVED,
        },
        delivery_count: b.delivery_count,
    }
}

fn from_wire(b: &StateBatch) -> PersistedBatch {
    PersistedBatch {
        first: b.first_offset,
        last: b.last_offset,
        state: match b.delivery_state {
            ACKNOWLEDGED => RecordState::Acknowledged,
            ARCHIVED => RecordState::Archived,
            _ => RecordState::Available,
        },
        delivery_count: b.delivery_count,
    }
}

/// The share-partition a read state stands for, `None` when uninitialized.
fn share_partition(state: &ShareState) -> Option<SharePartition> {
    if state.start_offset < 0 {
        return None;
    }
    let batches: Vec<PersistedBatch> = state.batches.iter().map(from_wire).collect();
    Some(SharePartition::from_state(
        state.start_offset,
        state.state_epoch,
        &batches,
    ))
}

/// How long a call keeps retrying a share coordinator that moves or
/// loads: a leader's failover (the broker session timeout, then the
/// load) fits, and the client's request timeout (30 s) is not reached.
const RETRY_FOR: Duration = Duration::from_secs(15);
const FIRST_BACKOFF: Duration = Duration::from_millis(50);
const MAX_BACKOFF: Duration = Duration::from_secs(1);

/// Where a key's share coordinator is.
enum Coordinator {
    Here,
    Remote { node: i32, addr: String },
}

/// Errors that a fresh lookup of the coordinator may cure.
fn retriable(e: &ResponseError) -> bool {
    matches!(
        e,
        ResponseError::NotCoordinator
            | ResponseError::CoordinatorLoadInProgress
            | ResponseError::CoordinatorNotAvailable
    )
}

/// One connection per share coordinator, one call at a time on it.
type Connections = HashMap<i32, Arc<tokio::sync::Mutex<Option<BrokerConnection>>>>;

/// Kafka's DefaultStatePersister (see the module header).
pub struct StatePersister {
    node_id: i32,
    local: Arc<ShareCoordinator>,
    images: watch::Receiver<Arc<MetadataImage>>,
    tls: Option<Arc<ClientTls>>,
    sasl: Option<Arc<SaslClientConfig>>,
    connections: parking_lot::Mutex<Connections>,
}

impl StatePersister {
    pub fn new(
        node_id: i32,
        local: Arc<ShareCoordinator>,
        images: watch::Receiver<Arc<MetadataImage>>,
        tls: Option<Arc<ClientTls>>,
        sasl: Option<Arc<SaslClientConfig>>,
    ) -> StatePersister {
        StatePersister {
            node_id,
            local,
            images,
            tls,
            sasl,
            connections: Default::default(),
        }
    }

    fn coordinator(&self, key: &StateKey) -> Result<Coordinator, ResponseError> {
        let image = self.images.borrow().clone();
        let leader = image
            .partition(SHARE_STATE_TOPIC, self.local.partition_of(key))
            .map(|p| p.leader)
            .ok_or(ResponseError::CoordinatorNotAvailable)?;
        if leader == self.node_id {
            return Ok(Coordinator::Here);
        }
        let broker = image
            .brokers
            .get(&leader)
            .ok_or(ResponseError::CoordinatorNotAvailable)?;
        Ok(Coordinator::Remote {
            node: leader,
            addr: format!("{}:{}", broker.host, broker.port),
        })
    }

    /// `once` against the key's coordinator, looked up afresh for each
    /// retry of an error [`retriable`] cures.
    async fn retrying<T, F, Fut>(&self, key: &StateKey, mut once: F) -> Result<T, ResponseError>
    where
        F: FnMut(Coordinator) -> Fut,
        Fut: Future<Output = Result<T, ResponseError>>,
    {
        let deadline = tokio::time::Instant::now() + RETRY_FOR;
        let mut backoff = FIRST_BACKOFF;
        loop {
            let result = match self.coordinator(key) {
                Ok(c) => once(c).await,
                Err(e) => Err(e),
            };
            match result {
                Err(e) if retriable(&e) && tokio::time::Instant::now() + backoff < deadline => {
                    tracing::debug!(key = key.coordinator_key(), error = ?e, "share coordinator not reached; retrying");
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(MAX_BACKOFF);
                }
                r => return r,
            }
        }
    }

    /// `request` to the share coordinator `node` at `addr`; a connection
    /// that fails is dropped, and the call is COORDINATOR_NOT_AVAILABLE.
    async fn call<R: Request>(
        &self,
        node: i32,
        addr: &str,
        request: &R,
    ) -> Result<R::Response, ResponseError> {
        let slot = self.connections.lock().entry(node).or_default().clone();
        let mut slot = slot.lock().await;
        let unreachable = |e: std::io::Error| {
            tracing::debug!(node, %addr, error = %e, "cannot reach the share coordinator");
            ResponseError::CoordinatorNotAvailable
        };
        let connection = match slot.as_mut() {
            Some(c) => c,
            None => slot.insert(
                BrokerConnection::open(
                    addr,
                    "gregor-share-persister",
                    self.tls.as_deref(),
                    self.sasl.clone(),
                )
                .await
                .map_err(unreachable)?,
            ),
        };
        match connection.call(request, 0).await {
            Ok(response) => Ok(response),
            Err(e) => {
                *slot = None;
                Err(unreachable(e))
            }
        }
    }

    async fn read(&self, key: &StateKey, leader_epoch: i32) -> Result<ShareState, ResponseError> {
        self.retrying(key, |c| async move {
            let (node, addr) = match c {
                // The leader epoch it records is written too.
                Coordinator::Here => {
                    let state = self.local.read(key, leader_epoch)?;
                    self.local.replicated(key).await?;
                    return Ok(state);
                }
                Coordinator::Remote { node, addr } => (node, addr),
            };
            let request = ReadShareGroupStateRequest::default()
                .with_group_id(StrBytes::from_string(key.group_id.clone()))
                .with_topics(vec![
                    read_share_group_state_request::ReadStateData::default()
                        .with_topic_id(key.topic_id)
                        .with_partitions(vec![
                            read_share_group_state_request::PartitionData::default()
                                .with_partition(key.partition)
                                .with_leader_epoch(leader_epoch),
                        ]),
                ]);
            let response = self.call(node, &addr, &request).await?;
            let p = response
                .results
                .iter()
                .flat_map(|t| &t.partitions)
                .find(|p| p.partition == key.partition)
                .ok_or(ResponseError::UnknownServerError)?;
            if let Some(e) = ResponseError::try_from_code(p.error_code) {
                return Err(e);
            }
            Ok(ShareState {
                state_epoch: p.state_epoch,
                leader_epoch,
                start_offset: p.start_offset,
                batches: p
                    .state_batches
                    .iter()
                    .map(|b| StateBatch {
                        first_offset: b.first_offset,
                        last_offset: b.last_offset,
                        delivery_state: b.delivery_state,
                        delivery_count: b.delivery_count,
                    })
                    .collect(),
            })
        })
        .await
    }

    async fn write(&self, key: &StateKey, state: &PersistedState) -> Result<(), ResponseError> {
        let batches: Vec<StateBatch> = state.batches.iter().map(to_wire).collect();
        let batches = &batches;
        self.retrying(key, |c| async move {
            let (node, addr) = match c {
                Coordinator::Here => {
                    self.local.write(
                        key,
                        state.state_epoch,
                        state.leader_epoch,
                        state.start_offset,
                        batches,
                    )?;
                    return self.local.replicated(key).await;
                }
                Coordinator::Remote { node, addr } => (node, addr),
            };
            let wire = batches
                .iter()
                .map(|b| {
                    write_share_group_state_request::StateBatch::default()
                        .with_first_offset(b.first_offset)
                        .with_last_offset(b.last_offset)
                        .with_delivery_state(b.delivery_state)
                        .with_delivery_count(b.delivery_count)
                })
                .collect();
            let request = WriteShareGroupStateRequest::default()
                .with_group_id(StrBytes::from_string(key.group_id.clone()))
                .with_topics(vec![
                    write_share_group_state_request::WriteStateData::default()
                        .with_topic_id(key.topic_id)
                        .with_partitions(vec![
                            write_share_group_state_request::PartitionData::default()
                                .with_partition(key.partition)
                                .with_state_epoch(state.state_epoch)
                                .with_leader_epoch(state.leader_epoch)
                                .with_start_offset(state.start_offset)
                                .with_state_batches(wire),
                        ]),
                ]);
            let response = self.call(node, &addr, &request).await?;
            let answered = response.results.iter().flat_map(|t| &t.partitions);
            partition_outcome(answered.map(|p| (p.partition, p.error_code)), key.partition)
        })
        .await
    }

    async fn delete(&self, key: &StateKey) -> Result<(), ResponseError> {
        self.retrying(key, |c| async move {
            let (node, addr) = match c {
                Coordinator::Here => {
                    self.local.delete(key)?;
                    return self.local.replicated(key).await;
                }
                Coordinator::Remote { node, addr } => (node, addr),
            };
            let request = DeleteShareGroupStateRequest::default()
                .with_group_id(StrBytes::from_string(key.group_id.clone()))
                .with_topics(vec![
                    delete_share_group_state_request::DeleteStateData::default()
                        .with_topic_id(key.topic_id)
                        .with_partitions(vec![
                            delete_share_group_state_request::PartitionData::default()
                                .with_partition(key.partition),
                        ]),
                ]);
            let response = self.call(node, &addr, &request).await?;
            let answered = response.results.iter().flat_map(|t| &t.partitions);
            partition_outcome(answered.map(|p| (p.partition, p.error_code)), key.partition)
        })
        .await
    }
}

impl StatePersister {
    async fn summary(&self, key: &StateKey) -> Result<Option<StateSummary>, ResponseError> {
        // Leader epoch -1: a reader that leads nothing, fenced by none and
        // fencing none.
        const NO_LEADER: i32 = -1;
        let state = self
            .retrying(key, |c| async move {
                let (node, addr) = match c {
                    Coordinator::Here => {
                        let s = self.local.summary(key, NO_LEADER)?;
                        return Ok((s.state_epoch, s.leader_epoch, s.start_offset));
                    }
                    Coordinator::Remote { node, addr } => (node, addr),
                };
                let request = ReadShareGroupStateSummaryRequest::default()
                    .with_group_id(StrBytes::from_string(key.group_id.clone()))
                    .with_topics(vec![
                        read_share_group_state_summary_request::ReadStateSummaryData::default()
                            .with_topic_id(key.topic_id)
                            .with_partitions(vec![
                                read_share_group_state_summary_request::PartitionData::default()
                                    .with_partition(key.partition)
                                    .with_leader_epoch(NO_LEADER),
                            ]),
                    ]);
                let response = self.call(node, &addr, &request).await?;
                let p = response
                    .results
                    .iter()
                    .flat_map(|t| &t.partitions)
                    .find(|p| p.partition == key.partition)
                    .ok_or(ResponseError::UnknownServerError)?;
                if let Some(e) = ResponseError::try_from_code(p.error_code) {
                    return Err(e);
                }
                Ok((p.state_epoch, p.leader_epoch, p.start_offset))
            })
            .await?;
        let (state_epoch, leader_epoch, start_offset) = state;
        Ok((start_offset >= 0).then_some(StateSummary {
            state_epoch,
            leader_epoch,
            start_offset,
        }))
    }
}

/// What the share coordinator answered for `partition`, of the
/// (partition, error code) pairs of its response.
fn partition_outcome(
    answered: impl IntoIterator<Item = (i32, i16)>,
    partition: i32,
) -> Result<(), ResponseError> {
    let (_, code) = answered
        .into_iter()
        .find(|(p, _)| *p == partition)
        .ok_or(ResponseError::UnknownServerError)?;
    ResponseError::try_from_code(code).map_or(Ok(()), Err)
}

impl Persister for StatePersister {
    fn read_state<'a>(
        &'a self,
        key: &'a StateKey,
        leader_epoch: i32,
    ) -> BoxFuture<'a, Result<Option<SharePartition>, ResponseError>> {
        Box::pin(async move { Ok(share_partition(&self.read(key, leader_epoch).await?)) })
    }

    fn write_state<'a>(
        &'a self,
        key: &'a StateKey,
        state: &'a PersistedState,
    ) -> BoxFuture<'a, Result<(), ResponseError>> {
        Box::pin(self.write(key, state))
    }

    fn delete_state<'a>(&'a self, key: &'a StateKey) -> BoxFuture<'a, Result<(), ResponseError>> {
        Box::pin(self.delete(key))
    }

    fn read_summary<'a>(
        &'a self,
        key: &'a StateKey,
    ) -> BoxFuture<'a, Result<Option<StateSummary>, ResponseError>> {
        Box::pin(self.summary(key))
    }
}
