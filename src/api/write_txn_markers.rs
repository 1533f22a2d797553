//! WriteTxnMarkers: a transaction coordinator on another broker has this
//! broker, as the leader of some of a transaction's partitions, write the
//! commit or abort markers there (and apply the offsets the transaction
//! committed, for `__consumer_offsets` partitions).

use std::sync::Arc;

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::write_txn_markers_response::{
    WritableTxnMarkerPartitionResult, WritableTxnMarkerResult, WritableTxnMarkerTopicResult,
};
use kafka_protocol::messages::{WriteTxnMarkersRequest, WriteTxnMarkersResponse};

use super::{BrokerContext, Handler, RequestContext};
use crate::group::OFFSETS_TOPIC;
use crate::security::acl::AclOperation;

pub struct WriteTxnMarkers;

impl Handler for WriteTxnMarkers {
    type Request = WriteTxnMarkersRequest;

    async fn handle(
        broker: Arc<BrokerContext>,
        ctx: RequestContext,
        request: WriteTxnMarkersRequest,
    ) -> WriteTxnMarkersResponse {
        // Only transaction coordinators (other brokers) write markers.
        let allowed = broker.allows_cluster(&ctx, AclOperation::ClusterAction);
        if !allowed {
            tracing::info!(principal = %ctx.principal, peer = %ctx.peer, "WriteTxnMarkers refused: the brokers' principal needs CLUSTER_ACTION on the cluster (or to be in super.users)");
        }
        let markers = request
            .markers
            .iter()
            .map(|m| {
                let topics = m
                    .topics
                    .iter()
                    .map(|t| {
                        let partitions = t
                            .partition_indexes
                            .iter()
                            .map(|p| {
                                if !allowed {
                                    return WritableTxnMarkerPartitionResult::default()
                                        .with_partition_index(*p)
                                        .with_error_code(
                                            ResponseError::ClusterAuthorizationFailed.code(),
                                        );
                                }
                                let written = broker.replicas.write_txn_marker(
                                    &t.name.0,
                                    *p,
                                    m.producer_id.0,
                                    m.producer_epoch,
                                    m.transaction_result,
                                    m.coordinator_epoch,
                                );
                                if written.is_ok() && t.name.0.as_str() == OFFSETS_TOPIC {
                                    broker.groups.complete_transaction(
                                        *p,
                                        m.producer_id.0,
                                        m.transaction_result,
                                    );
                                }
                                WritableTxnMarkerPartitionResult::default()
                                    .with_partition_index(*p)
                                    .with_error_code(written.err().map_or(0, |e| e.code()))
                            })
                            .collect();
                        WritableTxnMarkerTopicResult::default()
                            .with_name(t.name.clone())
                            .with_partitions(partitions)
                    })
                    .collect();
                WritableTxnMarkerResult::default()
                    .with_producer_id(m.producer_id)
                    .with_topics(topics)
            })
            .collect();
        WriteTxnMarkersResponse::default().with_markers(markers)
    }
}
