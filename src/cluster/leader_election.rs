//! Leader elections asked for by an operator (Kafka's ElectLeaders) and
//! the active controller's preferred leader balancing
//! (`auto.leader.rebalance.enable`).

use std::collections::{BTreeMap, BTreeSet};

use kafka_protocol::error::ResponseError;
use serde::{Deserialize, Serialize};

use super::controller::error::ControllerError;
use super::metadata::{MetadataImage, PartitionImage};
use crate::topic_partition::TopicPartition;

/// ElectLeaders' election types, by their wire values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ElectionType {
    /// Give leadership to the first replica, when it is alive and in sync.
    Preferred,
    /// Give a leaderless partition any live replica, in sync or not.
    Unclean,
}

impl ElectionType {
    pub fn from_wire(value: i8) -> Option<ElectionType> {
        match value {
            0 => Some(ElectionType::Preferred),
            1 => Some(ElectionType::Unclean),
            _ => None,
        }
    }
}

/// Runs one election on `p`, with `live` the unfenced brokers; a new
/// leader comes with a new leader epoch.
pub fn elect(
    p: &mut PartitionImage,
    election: ElectionType,
    live: &BTreeSet<i32>,
) -> Result<(), ControllerError> {
    match election {
        ElectionType::Preferred => {
            let preferred = p.replicas.first().copied().unwrap_or(-1);
            if p.leader == preferred {
                return Err(ControllerError::new(
                    ResponseError::ElectionNotNeeded,
                    "The preferred replica already leads.",
                ));
            }
            if !live.contains(&preferred) || !p.isr.contains(&preferred) {
                return Err(ControllerError::new(
                    ResponseError::PreferredLeaderNotAvailable,
                    format!("The preferred replica {preferred} is not alive and in sync."),
                ));
            }
            p.leader = preferred;
        }
        ElectionType::Unclean => {
            if p.leader != -1 {
                return Err(ControllerError::new(
                    ResponseError::ElectionNotNeeded,
                    "The partition has a leader.",
                ));
            }
            let in_sync = p
                .replicas
                .iter()
                .copied()
                .find(|r| live.contains(r) && p.isr.contains(r));
            let leader = match in_sync {
                Some(r) => r,
                None => {
                    let any = p.replicas.iter().copied().find(|r| live.contains(r));
                    let r = any.ok_or_else(|| {
                        ControllerError::new(
                            ResponseError::EligibleLeadersNotAvailable,
                            "No replica of the partition is alive.",
                        )
                    })?;
                    // Whatever the old ISR held beyond this replica's log is lost.
                    p.isr = vec![r];
                    r
                }
            };
            p.leader = leader;
        }
    }
    p.leader_epoch += 1;
    Ok(())
}

/// The partitions whose preferred replica could lead but does not, when
/// that preferred broker leads too few of its partitions: more than
/// `imbalance_percentage` of the partitions it prefers are led elsewhere
/// (Kafka's leader.imbalance.per.broker.percentage).
pub fn imbalanced(
    image: &MetadataImage,
    live: &BTreeSet<i32>,
    imbalance_percentage: i64,
) -> Vec<TopicPartition> {
    // Per preferred broker: (partitions it prefers, ones it could lead but does not).
    let mut by_broker: BTreeMap<i32, (usize, Vec<TopicPartition>)> = BTreeMap::new();
    for topic in image.topics.values() {
        for (index, p) in topic.partitions.iter().enumerate() {
            let Some(&preferred) = p.replicas.first() else {
                continue;
            };
            let entry = by_broker.entry(preferred).or_default();
            entry.0 += 1;
            // A partition being reassigned gets its leader when the move ends.
            if p.leader != preferred
                && !p.reassigning()
                && live.contains(&preferred)
                && p.isr.contains(&preferred)
            {
                entry.1.push(TopicPartition::new(&topic.name, index as i32));
            }
        }
    }
    by_broker
        .into_values()
        .filter(|(total, moved)| (moved.len() * 100) as i64 > imbalance_percentage * *total as i64)
        .flat_map(|(_, moved)| moved)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn partition(replicas: &[i32], leader: i32, isr: &[i32]) -> PartitionImage {
        let mut p = PartitionImage::new(replicas.to_vec());
        p.leader = leader;
        p.isr = isr.to_vec();
        p
    }

    fn live(ids: &[i32]) -> BTreeSet<i32> {
        ids.iter().copied().collect()
    }

    #[test]
    fn preferred_election_moves_leadership_to_the_first_replica_in_sync() {
        let mut p = partition(&[1, 2, 3], 2, &[1, 2, 3]);
        elect(&mut p, ElectionType::Preferred, &live(&[1, 2, 3])).unwrap();
        assert_eq!((p.leader, p.leader_epoch), (1, 1));
        let again = elect(&mut p, ElectionType::Preferred, &live(&[1, 2, 3]));
        assert_eq!(again.unwrap_err().code, ResponseError::ElectionNotNeeded);

        let mut lagging = partition(&[1, 2, 3], 2, &[2, 3]);
        let e = elect(&mut lagging, ElectionType::Preferred, &live(&[1, 2, 3])).unwrap_err();
        assert_eq!(e.code, ResponseError::PreferredLeaderNotAvailable);
        assert_eq!((lagging.leader, lagging.leader_epoch), (2, 0));
    }

    #[test]
    fn unclean_election_prefers_the_isr_and_otherwise_takes_any_live_replica() {
        let mut offline = partition(&[1, 2, 3], -1, &[1]);
        elect(&mut offline, ElectionType::Unclean, &live(&[2, 3])).unwrap();
        assert_eq!((offline.leader, offline.isr.clone()), (2, vec![2]));

        let mut led = partition(&[1, 2], 1, &[1, 2]);
        let e = elect(&mut led, ElectionType::Unclean, &live(&[1, 2])).unwrap_err();
        assert_eq!(e.code, ResponseError::ElectionNotNeeded);

        let mut dead = partition(&[1, 2], -1, &[1]);
        let e = elect(&mut dead, ElectionType::Unclean, &live(&[3])).unwrap_err();
        assert_eq!(e.code, ResponseError::EligibleLeadersNotAvailable);
    }

    #[test]
    fn only_brokers_past_the_imbalance_threshold_get_their_leadership_back() {
        let mut image = MetadataImage::default();
        let topic = |name: &str, partitions: Vec<PartitionImage>| super::super::TopicImage {
            name: name.into(),
            id: uuid::Uuid::new_v4(),
            partitions,
            config: Default::default(),
            internal: false,
        };
        // Broker 1 prefers 4 partitions and leads 2; broker 2 prefers 10 and leads 9.
        let mut partitions = Vec::new();
        for i in 0..4 {
            partitions.push(partition(&[1, 2], if i < 2 { 1 } else { 2 }, &[1, 2]));
        }
        for i in 0..10 {
            partitions.push(partition(&[2, 1], if i < 9 { 2 } else { 1 }, &[1, 2]));
        }
        image.insert_topic(topic("t", partitions));
        let moves = imbalanced(&image, &live(&[1, 2]), 10);
        assert_eq!(
            moves,
            [TopicPartition::new("t", 2), TopicPartition::new("t", 3)]
        );
        assert_eq!(imbalanced(&image, &live(&[1, 2]), 50).len(), 0);
    }
}
