//! The seam between share-partitions and the share coordinator that keeps
//! their state (Kafka's Persister): in process on this broker today, where
//! `__share_group_state` is led here. A share-partition leader on another
//! broker than the share coordinator needs a remote implementation (the
//! state APIs over the wire, as Kafka's PersisterStateManager sends them);
//! then these calls become asynchronous.

use kafka_protocol::error::ResponseError;

use super::partition::{PersistedBatch, RecordState, SharePartition};
use crate::share_coordinator::{
    ShareCoordinator, StateBatch, StateKey, ACKNOWLEDGED, ARCHIVED, AVAILABLE,
};

/// Where share-partitions read and write their durable state.
pub trait Persister: Send + Sync {
    /// The share-partition's state; `None` while it has none.
    fn read_state(&self, key: &StateKey) -> Result<Option<SharePartition>, ResponseError>;
    /// Writes the share-partition's start offset and records in flight.
    fn write_state(&self, key: &StateKey, sp: &SharePartition) -> Result<(), ResponseError>;
    fn delete_state(&self, key: &StateKey) -> Result<(), ResponseError>;
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

impl Persister for ShareCoordinator {
    fn read_state(&self, key: &StateKey) -> Result<Option<SharePartition>, ResponseError> {
        let state = self.read(key, -1)?;
        if state.start_offset < 0 {
            return Ok(None);
        }
        let batches: Vec<PersistedBatch> = state.batches.iter().map(from_wire).collect();
        Ok(Some(SharePartition::from_state(
            state.start_offset,
            state.state_epoch,
            &batches,
        )))
    }

    /// The whole in-flight state each time: laid over what was written
    /// before, it leaves the same state as the changed batches alone would.
    fn write_state(&self, key: &StateKey, sp: &SharePartition) -> Result<(), ResponseError> {
        let batches: Vec<StateBatch> = sp.persisted_batches().iter().map(to_wire).collect();
        self.write(key, sp.state_epoch(), -1, sp.start_offset(), &batches)
    }

    fn delete_state(&self, key: &StateKey) -> Result<(), ResponseError> {
        self.delete(key)
    }
}
