//! The metadata quorum as kafka-metadata-quorum.sh describes and changes
//! it: the leader, its epoch and high watermark, each voter's and
//! observer's progress through the metadata log, and voters added and
//! removed (KIP-853). librdkafka has none of these APIs, so they go
//! through this library's own Kafka-protocol connection; any broker
//! answers them (a broker asks the quorum's leader), and so does any
//! controller at its CONTROLLER listener (KIP-919).

use kafka_protocol::messages::describe_quorum_request::{PartitionData, TopicData};
use kafka_protocol::messages::describe_quorum_response::ReplicaState;
use kafka_protocol::messages::{
    AddRaftVoterRequest, DescribeClusterRequest, DescribeQuorumRequest, MetadataRequest,
    RemoveRaftVoterRequest, TopicName,
};
use kafka_protocol::protocol::StrBytes;
use serde::Serialize;

use super::error::{ClientError, Result};
use super::wire::Connection;
use super::ClientSettings;

/// The metadata log's name in KRaft's APIs.
const METADATA_TOPIC: &str = "__cluster_metadata";

/// DescribeCluster's endpoint type for controllers (KIP-919).
const CONTROLLER_ENDPOINTS: i8 = 2;

/// What `describe --status` shows.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct QuorumStatus {
    pub cluster_id: String,
    pub leader_id: i32,
    pub leader_epoch: i32,
    pub high_watermark: i64,
    /// The most entries a voter is behind the leader's log end.
    pub max_follower_lag: i64,
    /// How long ago, at most, a voter last had the leader's whole log (ms).
    pub max_follower_lag_time_ms: i64,
    pub current_voters: Vec<Voter>,
    pub current_observers: Vec<i32>,
    /// Every replica, for `describe --replication`.
    pub replicas: Vec<Replica>,
}

/// A voter and where its controller listeners are.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Voter {
    pub id: i32,
    pub endpoints: Vec<String>,
}

/// One replica's row of `describe --replication`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Replica {
    pub node_id: i32,
    pub log_end_offset: i64,
    /// Entries behind the leader's log end.
    pub lag: i64,
    /// Wall-clock ms, -1 when not known.
    pub last_fetch_timestamp: i64,
    pub last_caught_up_timestamp: i64,
    pub status: ReplicaRole,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum ReplicaRole {
    Leader,
    Follower,
    Observer,
}

impl std::fmt::Display for ReplicaRole {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            ReplicaRole::Leader => "Leader",
            ReplicaRole::Follower => "Follower",
            ReplicaRole::Observer => "Observer",
        })
    }
}

/// The cluster's id: from Metadata at a broker, from DescribeCluster at a
/// controller (which serves no Metadata).
async fn cluster_id(connection: &mut Connection, settings: &ClientSettings) -> Result<String> {
    if settings.to_controllers {
        let described = connection
            .call(
                &DescribeClusterRequest::default().with_endpoint_type(CONTROLLER_ENDPOINTS),
                1,
            )
            .await?;
        answered(
            "DescribeCluster",
            described.error_code,
            described.error_message,
        )?;
        return Ok(described.cluster_id.to_string());
    }
    let metadata = connection
        .call(&MetadataRequest::default().with_topics(Some(Vec::new())), 2)
        .await?;
    Ok(metadata
        .cluster_id
        .map(|c| c.to_string())
        .unwrap_or_default())
}

/// Asks the cluster for its metadata quorum.
pub async fn describe(settings: &ClientSettings) -> Result<QuorumStatus> {
    let mut connection = Connection::to_bootstrap(settings).await?;
    let cluster_id = cluster_id(&mut connection, settings).await?;
    let request = DescribeQuorumRequest::default().with_topics(vec![TopicData::default()
        .with_topic_name(TopicName(StrBytes::from_static_str(METADATA_TOPIC)))
        .with_partitions(vec![PartitionData::default().with_partition_index(0)])]);
    let response = connection.call(&request, 0).await?;
    let refused = |code: i16, message: Option<StrBytes>| ClientError::Protocol {
        context: "DescribeQuorum".to_string(),
        code,
        message: message.map(|m| m.to_string()),
    };
    if response.error_code != 0 {
        return Err(refused(response.error_code, response.error_message));
    }
    let partition = response
        .topics
        .into_iter()
        .flat_map(|t| t.partitions)
        .next()
        .ok_or_else(|| ClientError::Invalid("DescribeQuorum answered no partition".into()))?;
    if partition.error_code != 0 {
        return Err(refused(partition.error_code, partition.error_message));
    }
    let leader = partition.leader_id.0;
    let leader_end = partition
        .current_voters
        .iter()
        .find(|v| v.replica_id.0 == leader)
        .map_or(partition.high_watermark, |v| v.log_end_offset);
    let row = |r: &ReplicaState, status: ReplicaRole| Replica {
        node_id: r.replica_id.0,
        log_end_offset: r.log_end_offset,
        lag: (leader_end - r.log_end_offset).max(0),
        last_fetch_timestamp: r.last_fetch_timestamp,
        last_caught_up_timestamp: r.last_caught_up_timestamp,
        status,
    };
    let mut replicas: Vec<Replica> = partition
        .current_voters
        .iter()
        .map(|v| {
            let role = if v.replica_id.0 == leader {
                ReplicaRole::Leader
            } else {
                ReplicaRole::Follower
            };
            row(v, role)
        })
        .chain(
            partition
                .observers
                .iter()
                .map(|o| row(o, ReplicaRole::Observer)),
        )
        .collect();
    // The leader first, as kafka-metadata-quorum.sh lists them.
    replicas.sort_by_key(|r| (r.status != ReplicaRole::Leader, r.node_id));
    let voters: Vec<&Replica> = replicas
        .iter()
        .filter(|r| r.status != ReplicaRole::Observer)
        .collect();
    let max_follower_lag = voters.iter().map(|r| r.lag).max().unwrap_or(0);
    // As Kafka: the leader's caught-up time less the oldest voter's.
    let leader_caught_up = voters
        .iter()
        .find(|r| r.status == ReplicaRole::Leader)
        .map_or(-1, |r| r.last_caught_up_timestamp);
    let oldest = voters
        .iter()
        .map(|r| r.last_caught_up_timestamp)
        .min()
        .unwrap_or(-1);
    let max_follower_lag_time_ms = if leader_caught_up < 0 || oldest < 0 {
        -1
    } else {
        leader_caught_up - oldest
    };
    let current_voters = partition
        .current_voters
        .iter()
        .map(|v| Voter {
            id: v.replica_id.0,
            endpoints: response
                .nodes
                .iter()
                .filter(|n| n.node_id == v.replica_id)
                .flat_map(|n| &n.listeners)
                .map(|l| format!("{}://{}:{}", l.name.as_str(), l.host.as_str(), l.port))
                .collect(),
        })
        .collect();
    Ok(QuorumStatus {
        cluster_id,
        leader_id: leader,
        leader_epoch: partition.leader_epoch,
        high_watermark: partition.high_watermark,
        max_follower_lag,
        max_follower_lag_time_ms,
        current_voters,
        current_observers: partition.observers.iter().map(|o| o.replica_id.0).collect(),
        replicas,
    })
}

/// Makes the observer `id` a voter of the metadata quorum (AddRaftVoter).
pub async fn add_voter(settings: &ClientSettings, id: i32) -> Result<()> {
    let mut connection = Connection::to_bootstrap(settings).await?;
    let request = AddRaftVoterRequest::default()
        .with_cluster_id(None)
        .with_voter_id(id)
        .with_timeout_ms(connection.timeout_ms());
    let response = connection.call(&request, 0).await?;
    answered("AddRaftVoter", response.error_code, response.error_message)
}

/// Makes the voter `id` an observer of the metadata quorum (RemoveRaftVoter).
pub async fn remove_voter(settings: &ClientSettings, id: i32) -> Result<()> {
    let mut connection = Connection::to_bootstrap(settings).await?;
    let request = RemoveRaftVoterRequest::default()
        .with_cluster_id(None)
        .with_voter_id(id);
    let response = connection.call(&request, 0).await?;
    answered(
        "RemoveRaftVoter",
        response.error_code,
        response.error_message,
    )
}

fn answered(api: &str, code: i16, message: Option<StrBytes>) -> Result<()> {
    if code == 0 {
        return Ok(());
    }
    Err(ClientError::Protocol {
        context: api.to_string(),
        code,
        message: message.map(|m| m.to_string()),
    })
}
