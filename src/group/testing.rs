//! A coordinator without a broker process for the group modules' unit
//! tests: a replica manager on a temporary directory hosting the one
//! `__consumer_offsets` partition, led here, so that what the coordinator
//! writes goes through the same appends and replays as in a broker.

use std::sync::Arc;

use bytes::Bytes;
use kafka_protocol::error::ResponseError;
use tempfile::TempDir;

use super::{GroupConfig, GroupCoordinator, JoinRequest, JoinResult, OFFSETS_TOPIC};
use crate::partition::{DataDirLock, PartitionState, ReplicaManager};

/// Session timeouts the tests' members ask for: long enough that no timer
/// fires during a test, so that only the tests move time on.
pub const SESSION_MS: i32 = 30_000;
pub const SHORT_SESSION_MS: i32 = 10_000;

pub struct Harness {
    pub coordinator: Arc<GroupCoordinator>,
    _dir: TempDir,
}

impl Harness {
    /// No initial rebalance delay, so that a join phase completes as soon
    /// as every member has joined.
    pub fn new() -> Harness {
        let dir = tempfile::tempdir().expect("temporary directory");
        let lock = DataDirLock::acquire(dir.path()).expect("lock the data directory");
        let replicas = ReplicaManager::open(vec![lock], 1).expect("open the replica manager");
        replicas.apply(&[PartitionState {
            topic: OFFSETS_TOPIC.to_string(),
            topic_id: uuid::Uuid::new_v4(),
            index: 0,
            replicas: vec![1],
            isr: vec![1],
            leader: 1,
            leader_epoch: 0,
            partition_epoch: 0,
            log_config: crate::config::LogConfig::default(),
            min_insync_replicas: 1,
        }]);
        let config = GroupConfig {
            initial_rebalance_delay_ms: 0,
            min_session_timeout_ms: 6_000,
            max_session_timeout_ms: 300_000,
            offsets_topic_partitions: 1,
            offsets_retention_ms: 7 * 24 * 3600 * 1000,
            consumer_heartbeat_interval_ms: 5_000,
            consumer_session_timeout_ms: 45_000,
            share: crate::group::ShareConfig {
                heartbeat_interval_ms: 5_000,
                session_timeout_ms: 45_000,
                record_lock_duration_ms: 30_000,
                delivery_count_limit: 5,
                partition_max_record_locks: 2_000,
                max_share_sessions: 2_000,
                max_size: 200,
            },
        };
        let coordinator = GroupCoordinator::new(config, Arc::new(replicas));
        coordinator.sync_leadership();
        assert!(coordinator.is_loaded(0), "the offsets partition loads");
        Harness {
            coordinator,
            _dir: dir,
        }
    }
}

/// A consumer's JoinGroup, as librdkafka and the Java client send it
/// (JoinGroup v4+: a member without an id first asks for one).
pub fn join_request(member_id: &str, instance: Option<&str>, session_ms: i32) -> JoinRequest {
    JoinRequest {
        group_id: "g".to_string(),
        member_id: member_id.to_string(),
        group_instance_id: instance.map(str::to_string),
        client_id: "client".to_string(),
        client_host: "/127.0.0.1".to_string(),
        session_timeout_ms: session_ms,
        rebalance_timeout_ms: 60_000,
        protocol_type: "consumer".to_string(),
        protocols: vec![("range".to_string(), Bytes::from_static(b"subscription"))],
        require_known_member_id: true,
    }
}

/// A new dynamic member's id, handed out with MEMBER_ID_REQUIRED (KIP-394).
pub async fn member_id(coordinator: &GroupCoordinator) -> String {
    let answer: JoinResult = coordinator
        .join_group(join_request("", None, SESSION_MS))
        .await;
    assert_eq!(answer.error, Some(ResponseError::MemberIdRequired));
    answer.member_id
}
