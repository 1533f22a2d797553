//! One handler module per Kafka API. Each decodes nothing by hand: the
//! `kafka-protocol` codec turns the frame into a typed request, the handler
//! calls the domain layer and builds the typed response. ApiVersions is
//! derived from the handlers registered in [`registry`], so the broker never
//! advertises an API it does not serve.

mod add_offsets_to_txn;
mod add_partitions_to_txn;
mod add_raft_voter;
mod alter_client_quotas;
mod alter_configs;
mod alter_partition_reassignments;
mod alter_replica_log_dirs;
mod alter_share_group_offsets;
mod alter_user_scram_credentials;
mod api_versions;
mod body;
mod client_metrics_config;
mod config_resource;
mod consumer_group_describe;
mod consumer_group_heartbeat;
mod context;
mod create_acls;
mod create_partitions;
mod create_topics;
mod delete_acls;
mod delete_groups;
mod delete_records;
mod delete_share_group_offsets;
mod delete_share_group_state;
mod delete_topics;
mod describe_acls;
mod describe_client_quotas;
mod describe_cluster;
mod describe_configs;
mod describe_groups;
mod describe_log_dirs;
mod describe_producers;
mod describe_quorum;
mod describe_share_group_offsets;
mod describe_topic_partitions;
mod describe_transactions;
mod describe_user_scram_credentials;
mod elect_leaders;
mod end_txn;
mod error_codes;
mod fetch;
pub(crate) mod fetch_session;
mod find_coordinator;
mod get_telemetry_subscriptions;
mod group_config;
mod heartbeat;
mod incremental_alter_configs;
mod init_producer_id;
mod initialize_share_group_state;
mod join_group;
mod leave_group;
mod list_config_resources;
mod list_groups;
mod list_offsets;
mod list_partition_reassignments;
mod list_transactions;
mod metadata;
mod offset_commit;
mod offset_delete;
mod offset_fetch;
mod offset_for_leader_epoch;
mod produce;
mod push_telemetry;
mod read_share_group_state;
mod read_share_group_state_summary;
mod registry;
mod remove_raft_voter;
pub mod sasl_authenticate;
pub mod sasl_handshake;
mod share_acknowledge;
mod share_fetch;
mod share_group_describe;
mod share_group_heartbeat;
mod sync_group;
mod throttle_time;
mod txn_offset_commit;
mod update_features;
mod version_errors;
mod write_share_group_state;
mod write_txn_markers;

pub use api_versions::unsupported_version_response;
pub use context::{BrokerContext, ClientSoftware, EndpointType, InOrder, RequestContext};
pub use error_codes::ErrorCodes;
pub use registry::{endpoint, endpoints, served_by_controllers, Answered, Endpoint, HandlerFuture};

use std::future::Future;
use std::sync::Arc;

use kafka_protocol::protocol::{Request, VersionRange};

/// A Kafka API served by this broker. Its response reports its error
/// codes to the request metrics ([`ErrorCodes`]) and carries its
/// throttle time where it has one.
/// When a connection's later requests may start while one runs. Their
/// responses go out in request order whichever it is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Concurrency {
    /// Once it is answered: what most handlers need, so that a client's
    /// requests take effect in the order it sent them.
    InOrder,
    /// At once: handlers that may wait and whose effects do not depend
    /// on order (Fetch's long poll, a JoinGroup waiting for the rebalance).
    Concurrent,
    /// Once it has done its ordered part and says so
    /// ([`RequestContext::in_order`]): Produce, whose appends keep the
    /// connection's order while its waits for replication or an fsync
    /// overlap the next requests' appends (which then share that fsync).
    Pipelined,
}

pub trait Handler: Send + Sync + 'static {
    type Request: Request<Response: throttle_time::ThrottleTime + ErrorCodes> + Send + 'static;

    /// Versions served; every version the codec knows unless a handler narrows it.
    const VERSIONS: VersionRange = <Self::Request as kafka_protocol::protocol::Message>::VERSIONS;

    /// When later requests on the same connection may start.
    const CONCURRENCY: Concurrency = Concurrency::InOrder;

    /// Kafka sends no response at all to some requests (Produce with acks=0).
    fn expects_response(_request: &Self::Request) -> bool {
        true
    }

    /// Byte fields of `response` to send from where they are rather than
    /// copy into its encoded body ([`body::encode`]): Fetch's records.
    fn shared_bytes(_response: &<Self::Request as Request>::Response) -> Vec<bytes::Bytes> {
        Vec::new()
    }

    fn handle(
        broker: Arc<BrokerContext>,
        ctx: RequestContext,
        request: Self::Request,
    ) -> impl Future<Output = <Self::Request as Request>::Response> + Send;
}
