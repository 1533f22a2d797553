//! The metadata image as the Raft state machine: committed records are
//! applied in log order and every applied change is published to the
//! broker's watchers. A snapshot is the whole image as JSON, kept in
//! `snapshot.json` beside the log so that the log before it can be purged;
//! opening loads it, and the committed entries after it are applied again
//! before the broker serves.

use std::io::Cursor;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::Arc;

use openraft::storage::{RaftStateMachine, Snapshot};
use openraft::{
    EntryPayload, LogId, RaftSnapshotBuilder, SnapshotMeta, StorageError, StorageIOError,
    StoredMembership,
};
use parking_lot::Mutex;
use serde::{Deserialize, Serialize};
use tokio::sync::watch;

use super::records::{self, MetadataRecord};
use super::{Entry, Node, NodeId, TypeConfig};
use crate::cluster::metadata::MetadataImage;

const SNAPSHOT_FILE: &str = "snapshot.json";

#[derive(Clone, Serialize, Deserialize)]
struct StoredSnapshot {
    meta: SnapshotMeta<NodeId, Node>,
    image: MetadataImage,
}

struct Inner {
    dir: PathBuf,
    /// Shared with the callers of `image()`: applying a change copies it
    /// only while one of them still holds it, and that copy shares the
    /// topics (see `cluster::metadata`).
    image: Arc<MetadataImage>,
    last_applied: Option<LogId<NodeId>>,
    last_membership: StoredMembership<NodeId, Node>,
    snapshot: Option<StoredSnapshot>,
}

#[derive(Clone)]
pub struct StateMachine {
    inner: Arc<Mutex<Inner>>,
    publisher: watch::Sender<Arc<MetadataImage>>,
    /// The active controller's id, which the published image carries.
    leader: Arc<AtomicI32>,
}

fn io_error(e: impl std::fmt::Display) -> std::io::Error {
    std::io::Error::other(e.to_string())
}

impl StateMachine {
    /// Loads the last snapshot from `dir`, if any, and publishes its image.
    pub fn open(
        dir: &Path,
        publisher: watch::Sender<Arc<MetadataImage>>,
        leader: Arc<AtomicI32>,
    ) -> std::io::Result<StateMachine> {
        let snapshot: Option<StoredSnapshot> = match std::fs::read(dir.join(SNAPSHOT_FILE)) {
            Ok(bytes) => Some(serde_json::from_slice(&bytes).map_err(io_error)?),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => return Err(e),
        };
        let (image, last_applied, last_membership) = match &snapshot {
            Some(s) => (
                Arc::new(s.image.clone()),
                s.meta.last_log_id,
                s.meta.last_membership.clone(),
            ),
            None => (
                Arc::new(MetadataImage::default()),
                None,
                StoredMembership::default(),
            ),
        };
        let machine = StateMachine {
            inner: Arc::new(Mutex::new(Inner {
                dir: dir.to_path_buf(),
                image,
                last_applied,
                last_membership,
                snapshot,
            })),
            publisher,
            leader,
        };
        machine.republish();
        Ok(machine)
    }

    /// Publishes the image again, as when the active controller changed.
    pub fn republish(&self) {
        let inner = self.inner.lock();
        self.publish(&inner.image);
    }

    pub fn image(&self) -> Arc<MetadataImage> {
        self.inner.lock().image.clone()
    }

    /// Reads the applied image in place, for the periodic checks (heartbeats,
    /// silent brokers) that look at a few fields. `read` runs under the
    /// state machine's lock: keep it short.
    pub fn read_image<R>(&self, read: impl FnOnce(&MetadataImage) -> R) -> R {
        read(&self.inner.lock().image)
    }

    fn publish(&self, image: &MetadataImage) {
        // Cheap: the copy shares every topic with the applied image.
        let mut published = image.clone();
        published.controller_id = self.leader.load(Ordering::Acquire);
        self.publisher.send_replace(Arc::new(published));
    }

    fn store(dir: &Path, snapshot: &StoredSnapshot) -> std::io::Result<()> {
        let path = dir.join(SNAPSHOT_FILE);
        let tmp = path.with_extension("tmp");
        std::fs::write(&tmp, serde_json::to_vec(snapshot).map_err(io_error)?)?;
        std::fs::File::open(&tmp)?.sync_all()?;
        std::fs::rename(&tmp, &path)?;
        std::fs::File::open(dir)?.sync_all()
    }
}

impl RaftSnapshotBuilder<TypeConfig> for StateMachine {
    async fn build_snapshot(&mut self) -> Result<Snapshot<TypeConfig>, StorageError<NodeId>> {
        let mut inner = self.inner.lock();
        let snapshot = StoredSnapshot {
            meta: SnapshotMeta {
                last_log_id: inner.last_applied,
                last_membership: inner.last_membership.clone(),
                snapshot_id: format!(
                    "{}-{}",
                    inner.last_applied.map_or(0, |l| l.index),
                    inner.image.epoch
                ),
            },
            image: MetadataImage::clone(&inner.image),
        };
        Self::store(&inner.dir, &snapshot)
            .map_err(|e| StorageIOError::write_snapshot(Some(snapshot.meta.signature()), &e))?;
        let bytes = serde_json::to_vec(&snapshot.image)
            .map_err(|e| StorageIOError::write_snapshot(Some(snapshot.meta.signature()), &e))?;
        let meta = snapshot.meta.clone();
        inner.snapshot = Some(snapshot);
        Ok(Snapshot {
            meta,
            snapshot: Box::new(Cursor::new(bytes)),
        })
    }
}

impl RaftStateMachine<TypeConfig> for StateMachine {
    type SnapshotBuilder = StateMachine;

    async fn applied_state(
        &mut self,
    ) -> Result<(Option<LogId<NodeId>>, StoredMembership<NodeId, Node>), StorageError<NodeId>> {
        let inner = self.inner.lock();
        Ok((inner.last_applied, inner.last_membership.clone()))
    }

    async fn apply<I>(&mut self, entries: I) -> Result<Vec<()>, StorageError<NodeId>>
    where
        I: IntoIterator<Item = Entry> + Send,
        I::IntoIter: Send,
    {
        let mut inner = self.inner.lock();
        let inner = &mut *inner;
        let mut responses = Vec::new();
        let mut changed = false;
        for entry in entries {
            inner.last_applied = Some(entry.log_id);
            match entry.payload {
                EntryPayload::Blank => {}
                EntryPayload::Normal(batch) => {
                    let image = Arc::make_mut(&mut inner.image);
                    for record in batch {
                        records::apply(image, record);
                    }
                    image.epoch += 1;
                    changed = true;
                }
                EntryPayload::Membership(m) => {
                    inner.last_membership = StoredMembership::new(Some(entry.log_id), m);
                }
            }
            responses.push(());
        }
        if changed {
            self.publish(&inner.image);
        }
        Ok(responses)
    }

    async fn get_snapshot_builder(&mut self) -> Self::SnapshotBuilder {
        self.clone()
    }

    async fn begin_receiving_snapshot(
        &mut self,
    ) -> Result<Box<Cursor<Vec<u8>>>, StorageError<NodeId>> {
        Ok(Box::new(Cursor::new(Vec::new())))
    }

    async fn install_snapshot(
        &mut self,
        meta: &SnapshotMeta<NodeId, Node>,
        snapshot: Box<Cursor<Vec<u8>>>,
    ) -> Result<(), StorageError<NodeId>> {
        let image: MetadataImage = serde_json::from_slice(snapshot.get_ref())
            .map_err(|e| StorageIOError::read_snapshot(Some(meta.signature()), &e))?;
        let stored = StoredSnapshot {
            meta: meta.clone(),
            image: image.clone(),
        };
        let mut inner = self.inner.lock();
        Self::store(&inner.dir, &stored)
            .map_err(|e| StorageIOError::write_snapshot(Some(meta.signature()), &e))?;
        inner.image = Arc::new(image);
        inner.last_applied = meta.last_log_id;
        inner.last_membership = meta.last_membership.clone();
        inner.snapshot = Some(stored);
        self.publish(&inner.image);
        Ok(())
    }

    async fn get_current_snapshot(
        &mut self,
    ) -> Result<Option<Snapshot<TypeConfig>>, StorageError<NodeId>> {
        let inner = self.inner.lock();
        let Some(s) = &inner.snapshot else {
            return Ok(None);
        };
        let bytes = serde_json::to_vec(&s.image)
            .map_err(|e| StorageIOError::read_snapshot(Some(s.meta.signature()), &e))?;
        Ok(Some(Snapshot {
            meta: s.meta.clone(),
            snapshot: Box::new(Cursor::new(bytes)),
        }))
    }
}

/// What one Raft entry carries: the records of one metadata change.
pub type MetadataBatch = Vec<MetadataRecord>;
