//! The group coordinator, cut as Kafka cuts its own (GroupMetadataManager,
//! ClassicGroup, ConsumerGroup, OffsetMetadataManager): one file owns the
//! coordinator itself, one module each group type, one the committed offsets.
//!
//! - `coordinator.rs`: the coordinator's state, routing of requests that
//!   span group types (ListGroups, DeleteGroups), loading groups from
//!   `__consumer_offsets` as this broker comes to lead its partitions.
//! - `classic/`: the classic protocol (JoinGroup, SyncGroup, Heartbeat,
//!   LeaveGroup): the group state machine, rebalance completion, session expiry.
//! - `consumer/`: the KIP-848 consumer protocol (ConsumerGroupHeartbeat):
//!   target assignment, reconciliation, member epochs, session expiry.
//! - `offsets/`: committed offsets: OffsetCommit, TxnOffsetCommit,
//!   OffsetFetch, OffsetDelete, retention.
//! - `share/`: KIP-932 share groups (ShareGroupHeartbeat, ShareFetch,
//!   ShareAcknowledge): membership, share-partitions, share sessions.
//! - `records.rs`: the records of `__consumer_offsets` and their replay.
//!
//! One lock guards all groups: group operations are rare next to produce and
//! fetch, and a single lock keeps the state machine easy to reason about.
//! Calls that must wait (JoinGroup until the join phase completes, SyncGroup
//! until the leader's assignment arrives) register a oneshot sender under the
//! lock and await it outside.

mod classic;
mod consumer;
mod coordinator;
mod offsets;
mod records;
mod share;
#[cfg(test)]
mod testing;

pub use classic::{GroupDescription, GroupState, JoinRequest, JoinResult, SyncResult};
pub use consumer::{
    ConsumerGroupDescription, ConsumerHeartbeat, ConsumerHeartbeatResult,
    ConsumerMemberDescription, TopicIdPartition,
};
pub use coordinator::{GroupConfig, GroupCoordinator, GroupsOverview};
pub use offsets::CommittedOffset;
pub use records::{describe_record as describe_offsets_record, partition_for, OFFSETS_TOPIC};
pub use share::{
    log_batches, mark_aborted, AckBatch, AckType, Acquired, AutoOffsetReset, Opened,
    SessionPartition, ShareConfig, ShareGroupDescription, ShareHeartbeat, ShareHeartbeatResult,
    StatePersister, StateSummary, FINAL_EPOCH, INITIAL_EPOCH,
};
