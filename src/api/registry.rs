//! The table of registered APIs, erased to one shape so the server can
//! dispatch by API key.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures::future::BoxFuture;
use kafka_protocol::messages::ApiKey;
use kafka_protocol::protocol::{Decodable, Request, VersionRange};

use super::throttle_time::ThrottleTime;
use super::{
    add_offsets_to_txn, add_partitions_to_txn, alter_configs, alter_partition_reassignments,
    alter_user_scram_credentials, api_versions, consumer_group_describe, consumer_group_heartbeat,
    create_acls, create_partitions, create_topics, delete_acls, delete_groups, delete_records,
    delete_topics, describe_acls, describe_cluster, describe_configs, describe_groups,
    describe_log_dirs, describe_transactions, describe_user_scram_credentials, elect_leaders,
    end_txn, fetch, find_coordinator, heartbeat, incremental_alter_configs, init_producer_id,
    join_group, leave_group, list_groups, list_offsets, list_partition_reassignments,
    list_transactions, metadata, offset_commit, offset_delete, offset_fetch,
    offset_for_leader_epoch, produce, sasl_authenticate, sasl_handshake, sync_group,
    txn_offset_commit, write_txn_markers,
};
use super::{
    add_raft_voter, alter_client_quotas, alter_replica_log_dirs, describe_client_quotas,
    describe_producers, describe_quorum, describe_topic_partitions, remove_raft_voter,
    update_features,
};
use super::{
    alter_share_group_offsets, delete_share_group_offsets, describe_share_group_offsets,
    share_acknowledge, share_fetch, share_group_describe, share_group_heartbeat,
};
use super::{context::RequestContext, BrokerContext, Concurrency, Handler};
use super::{
    delete_share_group_state, initialize_share_group_state, read_share_group_state,
    read_share_group_state_summary, write_share_group_state,
};
use super::{get_telemetry_subscriptions, list_config_resources, push_telemetry};
use crate::metrics::requests::{is_follower_fetch, measure_remote, RequestTimer};
use crate::quota::QuotaType;

/// A handled request: its encoded response body, in chunks to be written
/// one after the other (`None` when the API sends none), and its metrics,
/// recorded once the response is written.
pub struct Answered {
    pub body: Option<Vec<Bytes>>,
    pub metrics: Option<RequestTimer>,
}

impl Answered {
    /// Itself while it has a response to send; for a request that gets
    /// none (Produce with acks=0) `None`, its metrics recorded as done now,
    /// since no send will finish them.
    pub fn to_send(self) -> Option<Answered> {
        if self.body.is_none() {
            if let Some(metrics) = self.metrics {
                metrics.unanswered();
            }
            return None;
        }
        Some(self)
    }
}

/// The handled request, or why its response could not be encoded.
pub type HandlerFuture = BoxFuture<'static, Result<Answered, anyhow::Error>>;

type Call =
    fn(Arc<BrokerContext>, RequestContext, Bytes, Instant) -> Result<HandlerFuture, anyhow::Error>;

/// One registered API.
pub struct Endpoint {
    pub key: ApiKey,
    pub versions: VersionRange,
    pub concurrency: Concurrency,
    call: Call,
}

impl Endpoint {
    /// Decodes `body` at the request's version and starts the handler.
    /// `received` is when the request was read off the socket.
    /// A body the codec cannot read is an error: the connection is closed.
    pub fn call(
        &self,
        broker: Arc<BrokerContext>,
        ctx: RequestContext,
        body: Bytes,
        received: Instant,
    ) -> Result<HandlerFuture, anyhow::Error> {
        (self.call)(broker, ctx, body, received)
    }
}

fn call<H: Handler>(
    broker: Arc<BrokerContext>,
    ctx: RequestContext,
    mut body: Bytes,
    received: Instant,
) -> Result<HandlerFuture, anyhow::Error> {
    let version = ctx.api_version;
    let request = <H::Request as Decodable>::decode(&mut body, version)?;
    let respond = H::expects_response(&request);
    let mut metrics = RequestTimer::start(
        <H::Request as Request>::KEY,
        &request,
        received,
        ctx.request_size,
    );
    // Kafka exempts replication from the request quota, as the response
    // types without a throttle time are.
    let metered = !broker.image().client_quotas.is_empty() && !is_follower_fetch(&request);
    Ok(Box::pin(async move {
        let handle = async {
            if !metered {
                return H::handle(broker, ctx, request).await;
            }
            let (quota_broker, quota_ctx) = (broker.clone(), ctx.clone());
            let (mut response, busy) = timed(H::handle(broker, ctx, request)).await;
            if let Some(throttle) = response.throttle_time_ms() {
                // Kafka's request_percentage: the handler's time as a
                // percentage of one thread for a second.
                let share = busy.as_secs_f64() * 100.0;
                let ms = quota_broker.throttle(&quota_ctx, QuotaType::Request, share);
                *throttle = (*throttle).max(ms);
            }
            response
        };
        // Without an endpoint to serve them nothing is measured.
        let (mut response, remote) = match metrics.as_mut() {
            Some(m) => {
                m.dequeued();
                measure_remote(handle).await
            }
            None => (handle.await, Duration::ZERO),
        };
        let body = if respond {
            let shared = H::shared_bytes(&response);
            Some(super::body::encode(&response, version, shared)?)
        } else {
            None
        };
        if let Some(m) = metrics.as_mut() {
            let throttle = response.throttle_time_ms().map_or(0, |t| *t);
            m.handled(remote, throttle, &response);
        }
        Ok(Answered { body, metrics })
    }))
}

/// Runs `handler`, measuring the time spent in its polls: the time it
/// kept a runtime thread busy, as Kafka counts a request's time on its
/// handler threads, and not the time it waited (for replicas' acks,
/// a long poll, the disk in a blocking task).
async fn timed<F: Future>(handler: F) -> (F::Output, Duration) {
    let mut handler = std::pin::pin!(handler);
    let mut busy = Duration::ZERO;
    let output = std::future::poll_fn(|cx| {
        let started = Instant::now();
        let poll = handler.as_mut().poll(cx);
        busy += started.elapsed();
        poll
    })
    .await;
    (output, busy)
}

fn entry<H: Handler>() -> Endpoint {
    Endpoint {
        key: ApiKey::try_from(<H::Request as Request>::KEY)
            .expect("the codec's own request types have known keys"),
        versions: H::VERSIONS,
        concurrency: H::CONCURRENCY,
        call: call::<H>,
    }
}

static ENDPOINTS: std::sync::LazyLock<Vec<Endpoint>> = std::sync::LazyLock::new(|| {
    vec![
        entry::<produce::Produce>(),
        entry::<fetch::Fetch>(),
        entry::<list_offsets::ListOffsets>(),
        entry::<metadata::Metadata>(),
        entry::<api_versions::ApiVersions>(),
        entry::<create_topics::CreateTopics>(),
        entry::<delete_topics::DeleteTopics>(),
        entry::<delete_records::DeleteRecords>(),
        entry::<offset_for_leader_epoch::OffsetForLeaderEpoch>(),
        entry::<describe_configs::DescribeConfigs>(),
        entry::<alter_configs::AlterConfigs>(),
        entry::<describe_log_dirs::DescribeLogDirs>(),
        entry::<alter_replica_log_dirs::AlterReplicaLogDirs>(),
        entry::<create_partitions::CreatePartitions>(),
        entry::<incremental_alter_configs::IncrementalAlterConfigs>(),
        entry::<describe_cluster::DescribeCluster>(),
        entry::<find_coordinator::FindCoordinator>(),
        entry::<join_group::JoinGroup>(),
        entry::<sync_group::SyncGroup>(),
        entry::<heartbeat::Heartbeat>(),
        entry::<leave_group::LeaveGroup>(),
        entry::<offset_commit::OffsetCommit>(),
        entry::<offset_fetch::OffsetFetch>(),
        entry::<list_groups::ListGroups>(),
        entry::<describe_groups::DescribeGroups>(),
        entry::<delete_groups::DeleteGroups>(),
        entry::<offset_delete::OffsetDelete>(),
        entry::<consumer_group_heartbeat::ConsumerGroupHeartbeat>(),
        entry::<consumer_group_describe::ConsumerGroupDescribe>(),
        entry::<init_producer_id::InitProducerId>(),
        entry::<add_partitions_to_txn::AddPartitionsToTxn>(),
        entry::<add_offsets_to_txn::AddOffsetsToTxn>(),
        entry::<txn_offset_commit::TxnOffsetCommit>(),
        entry::<end_txn::EndTxn>(),
        entry::<describe_transactions::DescribeTransactions>(),
        entry::<list_transactions::ListTransactions>(),
        entry::<write_txn_markers::WriteTxnMarkers>(),
        entry::<alter_partition_reassignments::AlterPartitionReassignments>(),
        entry::<list_partition_reassignments::ListPartitionReassignments>(),
        entry::<elect_leaders::ElectLeaders>(),
        entry::<describe_acls::DescribeAcls>(),
        entry::<create_acls::CreateAcls>(),
        entry::<delete_acls::DeleteAcls>(),
        entry::<sasl_handshake::SaslHandshake>(),
        entry::<sasl_authenticate::SaslAuthenticate>(),
        entry::<describe_user_scram_credentials::DescribeUserScramCredentials>(),
        entry::<alter_user_scram_credentials::AlterUserScramCredentials>(),
        entry::<describe_producers::DescribeProducers>(),
        entry::<describe_topic_partitions::DescribeTopicPartitions>(),
        entry::<describe_quorum::DescribeQuorum>(),
        entry::<update_features::UpdateFeatures>(),
        entry::<add_raft_voter::AddRaftVoter>(),
        entry::<remove_raft_voter::RemoveRaftVoter>(),
        entry::<get_telemetry_subscriptions::GetTelemetrySubscriptions>(),
        entry::<push_telemetry::PushTelemetry>(),
        entry::<list_config_resources::ListConfigResources>(),
        entry::<describe_client_quotas::DescribeClientQuotas>(),
        entry::<alter_client_quotas::AlterClientQuotas>(),
        entry::<share_group_heartbeat::ShareGroupHeartbeat>(),
        entry::<share_group_describe::ShareGroupDescribe>(),
        entry::<share_fetch::ShareFetch>(),
        entry::<share_acknowledge::ShareAcknowledge>(),
        entry::<initialize_share_group_state::InitializeShareGroupState>(),
        entry::<read_share_group_state::ReadShareGroupState>(),
        entry::<write_share_group_state::WriteShareGroupState>(),
        entry::<delete_share_group_state::DeleteShareGroupState>(),
        entry::<read_share_group_state_summary::ReadShareGroupStateSummary>(),
        entry::<describe_share_group_offsets::DescribeShareGroupOffsets>(),
        entry::<alter_share_group_offsets::AlterShareGroupOffsets>(),
        entry::<delete_share_group_offsets::DeleteShareGroupOffsets>(),
    ]
});

/// The registered APIs Kafka's controller serves to clients too (its
/// ControllerApis; KIP-919's admin clients on a CONTROLLER listener).
/// Producing, fetching, groups and transactions stay with the brokers.
const SERVED_BY_CONTROLLERS: &[ApiKey] = &[
    ApiKey::ApiVersions,
    ApiKey::SaslHandshake,
    ApiKey::SaslAuthenticate,
    ApiKey::DescribeCluster,
    ApiKey::DescribeQuorum,
    ApiKey::AddRaftVoter,
    ApiKey::RemoveRaftVoter,
    ApiKey::UpdateFeatures,
    ApiKey::CreateTopics,
    ApiKey::DeleteTopics,
    ApiKey::CreatePartitions,
    ApiKey::DescribeConfigs,
    ApiKey::AlterConfigs,
    ApiKey::IncrementalAlterConfigs,
    ApiKey::CreateAcls,
    ApiKey::DescribeAcls,
    ApiKey::DeleteAcls,
    ApiKey::AlterUserScramCredentials,
    ApiKey::AlterClientQuotas,
    ApiKey::AlterPartitionReassignments,
    ApiKey::ListPartitionReassignments,
    ApiKey::ElectLeaders,
];

/// Every registered API.
pub fn endpoints() -> &'static [Endpoint] {
    &ENDPOINTS
}

/// Whether an admin client on a CONTROLLER listener may send `key`.
pub fn served_by_controllers(key: ApiKey) -> bool {
    SERVED_BY_CONTROLLERS.contains(&key)
}

pub fn endpoint(key: ApiKey) -> Option<&'static Endpoint> {
    ENDPOINTS.iter().find(|e| e.key == key)
}
