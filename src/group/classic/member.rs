//! A member of a classic group, as the coordinator sees it.

use std::time::{Duration, Instant};

use bytes::Bytes;
use tokio::sync::oneshot;

/// What a JoinGroup call gets back once the join phase completes.
#[derive(Debug, Clone)]
pub struct JoinResult {
    pub error: Option<kafka_protocol::error::ResponseError>,
    pub generation_id: i32,
    pub protocol_type: Option<String>,
    pub protocol_name: Option<String>,
    pub leader_id: String,
    pub member_id: String,
    /// Every member's subscription metadata, sent to the leader only.
    pub members: Vec<(String, Option<String>, Bytes)>,
}

/// What a SyncGroup call gets back: the member's assignment.
pub type SyncResult = Result<Bytes, kafka_protocol::error::ResponseError>;

pub struct ClassicGroupMember {
    pub member_id: String,
    pub group_instance_id: Option<String>,
    pub client_id: String,
    pub client_host: String,
    pub session_timeout_ms: i32,
    pub rebalance_timeout_ms: i32,
    pub protocol_type: String,
    /// Supported protocols in the member's order of preference, with metadata.
    pub protocols: Vec<(String, Bytes)>,
    pub assignment: Bytes,
    pub last_heartbeat: Instant,
    pub join_waiter: Option<oneshot::Sender<JoinResult>>,
    pub sync_waiter: Option<oneshot::Sender<SyncResult>>,
}

impl ClassicGroupMember {
    pub fn supports(&self, protocol: &str) -> bool {
        self.protocols.iter().any(|(p, _)| p == protocol)
    }

    pub fn metadata_for(&self, protocol: &str) -> Bytes {
        self.protocols
            .iter()
            .find(|(p, _)| p == protocol)
            .map(|(_, m)| m.clone())
            .unwrap_or_default()
    }

    pub fn is_awaiting_join(&self) -> bool {
        self.join_waiter.is_some()
    }

    /// Answers the member's JoinGroup, if one waits; the answer restarts
    /// its session, as a heartbeat does.
    pub fn answer_join(&mut self, result: JoinResult) {
        if let Some(w) = self.join_waiter.take() {
            let _ = w.send(result);
            self.last_heartbeat = Instant::now();
        }
    }

    /// Answers the member's SyncGroup, if one waits; the answer restarts
    /// its session, as a heartbeat does.
    pub fn answer_sync(&mut self, result: SyncResult) {
        if let Some(w) = self.sync_waiter.take() {
            let _ = w.send(result);
            self.last_heartbeat = Instant::now();
        }
    }

    /// How long the session has left at `now`, None once it has lapsed
    /// without a heartbeat (Kafka's heartbeat deadline: last heartbeat plus
    /// session timeout). A member waiting in JoinGroup or SyncGroup is kept
    /// alive by that call: its session restarts when the call is answered,
    /// so it has at least a whole session left meanwhile.
    pub fn session_left(&self, now: Instant) -> Option<Duration> {
        let session = Duration::from_millis(self.session_timeout_ms.max(0) as u64);
        if self.is_awaiting_join() || self.sync_waiter.is_some() {
            return Some(session);
        }
        let deadline = self.last_heartbeat + session;
        (deadline > now).then(|| deadline - now)
    }
}
