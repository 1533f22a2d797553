//! The cluster as `rpk cluster info` and kafka-broker-api-versions.sh show
//! it: its id, the brokers with their address and rack, and which one the
//! cluster names as its controller (Metadata, over this library's own
//! connection: librdkafka's metadata has neither racks nor the controller).

use kafka_protocol::messages::MetadataRequest;
use serde::Serialize;

use super::error::Result;
use super::wire::Connection;
use super::ClientSettings;

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ClusterDescription {
    pub cluster_id: Option<String>,
    /// -1 when the cluster names none.
    pub controller_id: i32,
    /// In id order.
    pub brokers: Vec<BrokerNode>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct BrokerNode {
    pub id: i32,
    pub host: String,
    pub port: i32,
    pub rack: Option<String>,
}

/// Asks any bootstrap server for the cluster's brokers.
pub async fn describe(settings: &ClientSettings) -> Result<ClusterDescription> {
    let mut connection = Connection::to_bootstrap(settings).await?;
    // Version 2 is the first with the cluster id (racks since 1).
    let metadata = connection
        .call(&MetadataRequest::default().with_topics(Some(Vec::new())), 2)
        .await?;
    let mut brokers: Vec<BrokerNode> = metadata
        .brokers
        .iter()
        .map(|b| BrokerNode {
            id: b.node_id.0,
            host: b.host.to_string(),
            port: b.port,
            rack: b.rack.as_ref().map(|r| r.to_string()),
        })
        .collect();
    brokers.sort_by_key(|b| b.id);
    Ok(ClusterDescription {
        cluster_id: metadata.cluster_id.map(|c| c.to_string()),
        controller_id: metadata.controller_id.0,
        brokers,
    })
}
