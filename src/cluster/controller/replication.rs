//! Topics and partitions in the image: creation, deletion, more
//! partitions, ISR changes, reassignments and elections, as Kafka's
//! ReplicationControlManager owns them.

use kafka_protocol::error::ResponseError;

use super::error::{unknown_topic, ControllerError};
use crate::cluster::assignment;
use crate::cluster::metadata::{BrokerRegistration, MetadataImage, PartitionImage};

pub(super) fn partition_mut<'a>(
    image: &'a mut MetadataImage,
    topic: &str,
    partition: i32,
) -> Option<&'a mut PartitionImage> {
    let index = usize::try_from(partition).ok()?;
    image.topic_mut(topic)?.partitions.get_mut(index)
}

/// Adds partitions to `name` in `image`, with explicit replicas or placed as Kafka places them.
pub(super) fn plan_partitions(
    image: &mut MetadataImage,
    name: &str,
    count: i32,
    assignments: Option<Vec<Vec<i32>>>,
) -> Result<(), ControllerError> {
    let registry = image.brokers.clone();
    let topic = image.topic_mut(name).ok_or_else(|| unknown_topic(name))?;
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
    let new_partitions = match assignments {
        Some(a) => {
            if a.len() != added {
                return Err(ControllerError::new(
                    ResponseError::InvalidReplicaAssignment,
                    format!(
                        "Increasing the number of partitions by {added} but {} assignments provided.",
                        a.len()
                    ),
                ));
            }
            assignment::manual_partitions(&a, &registry)?
        }
        None => {
            let rf = topic.partitions.first().map_or(1, |p| p.replicas.len()) as i16;
            let brokers: Vec<&BrokerRegistration> =
                registry.values().filter(|b| !b.fenced).collect();
            assignment::assign_replicas(&brokers, added as i32, rf)?
                .into_iter()
                .map(PartitionImage::new)
                .collect()
        }
    };
    topic.partitions.extend(new_partitions);
    Ok(())
}

/// Kafka's controller refuses to create more partitions than this in one
/// operation; without a bound, a request for i32::MAX partitions would try to
/// build billions of entries and exhaust memory.
pub const MAX_PARTITIONS_PER_OPERATION: i32 = 10_000;

pub(super) fn check_batch_size(partitions: i32) -> Result<i32, ControllerError> {
    if partitions > MAX_PARTITIONS_PER_OPERATION {
        return Err(ControllerError::new(
            ResponseError::PolicyViolation,
            "Unable to perform excessively large batch operation.",
        ));
    }
    Ok(partitions)
}
