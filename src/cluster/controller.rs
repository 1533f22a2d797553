//! The controller: the only writer of the metadata image. Every change is
//! validated here, persisted, then published to the brokers' watchers, as a
//! KRaft controller appends records that brokers then apply.
//!
//! Today the quorum is this one node and the image is persisted as a
//! snapshot file written atomically; the Raft log replaces that file when
//! the cluster lands, behind the same methods.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use kafka_protocol::error::ResponseError;
use parking_lot::Mutex;
use tokio::sync::watch;
use uuid::Uuid;

use super::metadata::{BrokerRegistration, MetadataImage, PartitionImage, TopicImage};
use super::{assignment, topic_name};
use crate::config::{BrokerConfig, ConfigError, TopicConfig};

/// A refused metadata change: the Kafka error code and a message for the client.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code}: {message}")]
pub struct ControllerError {
    pub code: ResponseError,
    pub message: String,
}

impl ControllerError {
    pub fn new(code: ResponseError, message: impl Into<String>) -> Self {
        ControllerError {
            code,
            message: message.into(),
        }
    }
}

impl From<ConfigError> for ControllerError {
    fn from(e: ConfigError) -> Self {
        ControllerError::new(ResponseError::InvalidConfig, e.to_string())
    }
}

/// Why the metadata could not be loaded at start-up.
#[derive(Debug, thiserror::Error)]
pub enum MetadataLoadError {
    #[error("cannot read cluster metadata {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cluster metadata {path} is corrupt: {source}")]
    Corrupt {
        path: PathBuf,
        source: serde_json::Error,
    },
}

/// A topic to create, as CreateTopics states it (-1 means the broker default).
#[derive(Debug, Clone)]
pub struct NewTopic {
    pub name: String,
    pub num_partitions: i32,
    pub replication_factor: i16,
    /// Explicit replica lists per partition, if the client gave them.
    pub assignments: Vec<Vec<i32>>,
    pub configs: Vec<(String, String)>,
}

pub struct Controller {
    image_path: PathBuf,
    image: Mutex<MetadataImage>,
    publisher: watch::Sender<Arc<MetadataImage>>,
    broker_config: BrokerConfig,
}

const IMAGE_FILE: &str = "cluster-metadata.json";

impl Controller {
    /// Loads the persisted image from `data_dir` (or starts a new cluster) and
    /// registers this broker.
    pub fn open(
        data_dir: &Path,
        broker_config: BrokerConfig,
        me: BrokerRegistration,
    ) -> Result<Controller, MetadataLoadError> {
        let image_path = data_dir.join(IMAGE_FILE);
        let mut image = match std::fs::read(&image_path) {
            Ok(bytes) => serde_json::from_slice::<MetadataImage>(&bytes).map_err(|source| {
                MetadataLoadError::Corrupt {
                    path: image_path.clone(),
                    source,
                }
            })?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => MetadataImage {
                cluster_id: new_cluster_id(),
                ..MetadataImage::default()
            },
            Err(source) => {
                return Err(MetadataLoadError::Io {
                    path: image_path,
                    source,
                })
            }
        };
        image.controller_id = me.node_id;
        image.brokers.insert(me.node_id, me);
        image.epoch += 1;
        let (publisher, _) = watch::channel(Arc::new(image.clone()));
        let controller = Controller {
            image_path,
            image: Mutex::new(image),
            publisher,
            broker_config,
        };
        controller
            .persist(&controller.image.lock())
            .map_err(|source| MetadataLoadError::Io {
                path: controller.image_path.clone(),
                source,
            })?;
        Ok(controller)
    }

    pub fn image(&self) -> Arc<MetadataImage> {
        self.publisher.borrow().clone()
    }

    pub fn subscribe(&self) -> watch::Receiver<Arc<MetadataImage>> {
        self.publisher.subscribe()
    }

    pub fn broker_config(&self) -> &BrokerConfig {
        &self.broker_config
    }

    /// Applies `change` to a copy of the image; persists and publishes it only if the change succeeds.
    fn commit<T>(
        &self,
        change: impl FnOnce(&mut MetadataImage) -> Result<T, ControllerError>,
    ) -> Result<T, ControllerError> {
        let mut guard = self.image.lock();
        let mut next = guard.clone();
        let out = change(&mut next)?;
        next.epoch += 1;
        self.persist(&next).map_err(|e| {
            ControllerError::new(
                ResponseError::KafkaStorageError,
                format!("cannot persist cluster metadata: {e}"),
            )
        })?;
        *guard = next.clone();
        self.publisher.send_replace(Arc::new(next));
        Ok(out)
    }

    fn persist(&self, image: &MetadataImage) -> std::io::Result<()> {
        let tmp = self.image_path.with_extension("json.tmp");
        let bytes = serde_json::to_vec_pretty(image).map_err(std::io::Error::other)?;
        {
            let mut f = std::fs::File::create(&tmp)?;
            f.write_all(&bytes)?;
            f.sync_all()?;
        }
        std::fs::rename(&tmp, &self.image_path)?;
        if let Some(dir) = self.image_path.parent() {
            std::fs::File::open(dir)?.sync_all()?;
        }
        Ok(())
    }

    /// Validates a topic creation against the current image without changing it.
    fn plan_topic(
        &self,
        image: &MetadataImage,
        t: &NewTopic,
    ) -> Result<TopicImage, ControllerError> {
        topic_name::validate(&t.name)
            .map_err(|m| ControllerError::new(ResponseError::InvalidTopicException, m))?;
        if image.topics.contains_key(&t.name) {
            return Err(ControllerError::new(
                ResponseError::TopicAlreadyExists,
                format!("Topic '{}' already exists.", t.name),
            ));
        }
        if let Some(other) = image
            .topics
            .keys()
            .find(|o| topic_name::collides(&t.name, o))
        {
            return Err(ControllerError::new(
                ResponseError::InvalidTopicException,
                format!("Topic '{}' collides with existing topic: {other}", t.name),
            ));
        }
        let config = TopicConfig::from_overrides(t.configs.iter().cloned())?;
        let brokers: Vec<&BrokerRegistration> = image.brokers.values().collect();
        let assignment = if !t.assignments.is_empty() {
            if t.num_partitions != -1 || t.replication_factor != -1 {
                return Err(ControllerError::new(
                    ResponseError::InvalidRequest,
                    "Both numPartitions or replicationFactor and replicasAssignments were set.",
                ));
            }
            check_batch_size(i32::try_from(t.assignments.len()).unwrap_or(i32::MAX))?;
            assignment::validate_manual(&t.assignments, &image.brokers)?;
            t.assignments.clone()
        } else {
            let partitions = match t.num_partitions {
                -1 => self.broker_config.num_partitions(),
                n if n <= 0 => {
                    return Err(ControllerError::new(
                        ResponseError::InvalidPartitions,
                        "Number of partitions must be larger than 0.",
                    ))
                }
                n => check_batch_size(n)?,
            };
            let rf = match t.replication_factor {
                -1 => self.broker_config.default_replication_factor(),
                n if n <= 0 => {
                    return Err(ControllerError::new(
                        ResponseError::InvalidReplicationFactor,
                        "Replication factor must be larger than 0.",
                    ))
                }
                n => n,
            };
            assignment::assign_replicas(&brokers, partitions, rf)?
        };
        Ok(TopicImage {
            name: t.name.clone(),
            id: Uuid::new_v4(),
            partitions: assignment
                .into_iter()
                .map(|replicas| PartitionImage {
                    leader: replicas.first().copied().unwrap_or(-1),
                    isr: replicas.clone(),
                    replicas,
                    leader_epoch: 0,
                })
                .collect(),
            config,
            internal: topic_name::is_internal(&t.name),
        })
    }

    /// Creates one topic (or, with `validate_only`, only checks it could be).
    pub fn create_topic(
        &self,
        topic: &NewTopic,
        validate_only: bool,
    ) -> Result<TopicImage, ControllerError> {
        if validate_only {
            let image = self.image.lock();
            return self.plan_topic(&image, topic);
        }
        self.commit(|image| {
            let planned = self.plan_topic(image, topic)?;
            image.topics.insert(planned.name.clone(), planned.clone());
            Ok(planned)
        })
    }

    pub fn delete_topic(&self, name: &str) -> Result<Uuid, ControllerError> {
        if !self.broker_config.delete_topic_enable() {
            return Err(ControllerError::new(
                ResponseError::TopicDeletionDisabled,
                "Topic deletion is disabled (delete.topic.enable=false).",
            ));
        }
        self.commit(|image| {
            image
                .topics
                .remove(name)
                .map(|t| t.id)
                .ok_or_else(|| unknown_topic(name))
        })
    }

    /// Reserves `count` producer ids for a broker to hand out (Kafka's
    /// AllocateProducerIds); returns the first. The reservation is durable
    /// before any id in it is used.
    pub fn allocate_producer_ids(&self, count: i64) -> Result<i64, ControllerError> {
        self.commit(|image| {
            let first = image.next_producer_id;
            image.next_producer_id = first.checked_add(count).ok_or_else(|| {
                ControllerError::new(
                    ResponseError::UnknownServerError,
                    "producer ids are exhausted",
                )
            })?;
            Ok(first)
        })
    }

    /// Grows a topic to `count` partitions.
    pub fn create_partitions(
        &self,
        name: &str,
        count: i32,
        assignments: Option<Vec<Vec<i32>>>,
        validate_only: bool,
    ) -> Result<(), ControllerError> {
        let plan = |image: &mut MetadataImage| {
            let brokers: Vec<BrokerRegistration> = image.brokers.values().cloned().collect();
            let topic = image
                .topics
                .get_mut(name)
                .ok_or_else(|| unknown_topic(name))?;
            let current = topic.partitions.len() as i32;
            if count < current {
                return Err(ControllerError::new(
                    ResponseError::InvalidPartitions,
                    format!("Topic currently has {current} partitions, which is higher than the requested {count}."),
                ));
            }
            if count == current {
                return Err(ControllerError::new(
                    ResponseError::InvalidPartitions,
                    format!("Topic already has {current} partitions."),
                ));
            }
            let added = check_batch_size(count - current)? as usize;
            let new_replicas = match assignments.clone() {
                Some(a) => {
                    if a.len() != added {
                        return Err(ControllerError::new(
                            ResponseError::InvalidReplicaAssignment,
                            format!("Increasing the number of partitions by {added} but {} assignments provided.", a.len()),
                        ));
                    }
                    let registry = brokers.iter().map(|b| (b.node_id, b.clone())).collect();
                    assignment::validate_manual(&a, &registry)?;
                    a
                }
                None => {
                    let rf = topic.partitions.first().map_or(1, |p| p.replicas.len()) as i16;
                    let refs: Vec<&BrokerRegistration> = brokers.iter().collect();
                    assignment::assign_replicas(&refs, added as i32, rf)?
                }
            };
            topic
                .partitions
                .extend(new_replicas.into_iter().map(|replicas| PartitionImage {
                    leader: replicas.first().copied().unwrap_or(-1),
                    isr: replicas.clone(),
                    replicas,
                    leader_epoch: 0,
                }));
            Ok(())
        };
        if validate_only {
            let mut scratch = self.image.lock().clone();
            return plan(&mut scratch);
        }
        self.commit(plan)
    }

    /// Replaces a topic's config overrides with `config` (already validated by the caller's edits).
    pub fn set_topic_config(
        &self,
        name: &str,
        config: TopicConfig,
        validate_only: bool,
    ) -> Result<(), ControllerError> {
        if validate_only {
            return self
                .image
                .lock()
                .topics
                .get(name)
                .map(|_| ())
                .ok_or_else(|| unknown_topic(name));
        }
        self.commit(|image| {
            let topic = image
                .topics
                .get_mut(name)
                .ok_or_else(|| unknown_topic(name))?;
            topic.config = config;
            Ok(())
        })
    }
}

/// Kafka's controller refuses to create more partitions than this in one
/// operation; without a bound, a request for i32::MAX partitions would try to
/// build billions of entries and exhaust memory.
pub const MAX_PARTITIONS_PER_OPERATION: i32 = 10_000;

fn check_batch_size(partitions: i32) -> Result<i32, ControllerError> {
    if partitions > MAX_PARTITIONS_PER_OPERATION {
        return Err(ControllerError::new(
            ResponseError::PolicyViolation,
            "Unable to perform excessively large batch operation.",
        ));
    }
    Ok(partitions)
}

pub fn unknown_topic(name: &str) -> ControllerError {
    ControllerError::new(
        ResponseError::UnknownTopicOrPartition,
        format!("This server does not host this topic-partition: {name}"),
    )
}

/// Kafka's cluster ids are 16 random bytes in URL-safe base64 without padding.
fn new_cluster_id() -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(Uuid::new_v4().as_bytes())
}
