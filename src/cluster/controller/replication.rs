//! Topics and partitions in the image: creation, deletion, more
//! partitions, ISR changes, reassignments and elections, as Kafka's
//! ReplicationControlManager owns them.

use std::collections::BTreeSet;

use kafka_protocol::error::ResponseError;
use uuid::Uuid;

use super::brokers::{ineligibility, live_brokers};
use super::command::{NewTopic, Reassignment, Refusal};
use super::error::{unknown_topic, ControllerError};
use crate::cluster::leader_election::{self, ElectionType};
use crate::cluster::metadata::{BrokerRegistration, MetadataImage, PartitionImage, TopicImage};
use crate::cluster::{assignment, reassignment, topic_name};
use crate::config::TopicConfig;
use crate::topic_partition::TopicPartition;

/// What a topic created without a partition count or replication factor
/// (-1) gets: the broker's num.partitions and default.replication.factor.
#[derive(Debug, Clone, Copy)]
pub(super) struct TopicDefaults {
    pub num_partitions: i32,
    pub replication_factor: i16,
}

/// Validates a topic creation against the image without changing it.
pub(super) fn plan_topic(
    image: &MetadataImage,
    t: &NewTopic,
    defaults: TopicDefaults,
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
    let brokers: Vec<&BrokerRegistration> = image.brokers.values().filter(|b| !b.fenced).collect();
    let assignment = if !t.assignments.is_empty() {
        if t.num_partitions != -1 || t.replication_factor != -1 {
            return Err(ControllerError::new(
                ResponseError::InvalidRequest,
                "Both numPartitions or replicationFactor and replicasAssignments were set.",
            ));
        }
        check_batch_size(i32::try_from(t.assignments.len()).unwrap_or(i32::MAX))?;
        assignment::manual_partitions(&t.assignments, &image.brokers)?
    } else {
        let partitions = match t.num_partitions {
            -1 => defaults.num_partitions,
            n if n <= 0 => {
                return Err(ControllerError::new(
                    ResponseError::InvalidPartitions,
                    "Number of partitions must be larger than 0.",
                ))
            }
            n => check_batch_size(n)?,
        };
        let rf = match t.replication_factor {
            -1 => defaults.replication_factor,
            n if n <= 0 => {
                return Err(ControllerError::new(
                    ResponseError::InvalidReplicationFactor,
                    "Replication factor must be larger than 0.",
                ))
            }
            n => n,
        };
        assignment::assign_replicas(&brokers, partitions, rf)?
            .into_iter()
            .map(PartitionImage::new)
            .collect()
    };
    Ok(TopicImage {
        name: t.name.clone(),
        id: Uuid::new_v4(),
        partitions: assignment,
        config,
        internal: topic_name::is_internal(&t.name),
    })
}

/// Kafka's CreateTopics for one topic: the topic as created.
pub(super) fn create_topic(
    image: &mut MetadataImage,
    t: &NewTopic,
    defaults: TopicDefaults,
) -> Result<TopicImage, ControllerError> {
    let planned = plan_topic(image, t, defaults)?;
    image.insert_topic(planned.clone());
    Ok(planned)
}

/// Kafka's DeleteTopics for one topic: the deleted topic's id.
pub(super) fn delete_topic(image: &mut MetadataImage, name: &str) -> Result<Uuid, ControllerError> {
    image
        .topics
        .remove(name)
        .map(|t| t.id)
        .ok_or_else(|| unknown_topic(name))
}

/// The ISR an AlterPartition asks for, and the broker epoch each member
/// the leader knows one of fetched at.
pub(super) struct NewIsr {
    pub isr: Vec<i32>,
    pub epochs: Vec<(i32, i64)>,
}

/// What an accepted AlterPartition did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum IsrAltered {
    /// The ISR changed under the same leader.
    Isr,
    /// The new ISR completed a reassignment that took the sender off the
    /// replicas, and this broker leads now (-1: none): Kafka writes the
    /// change and answers NEW_LEADER_ELECTED, so that the old leader waits
    /// for the metadata rather than propose again.
    NewLeader(i32),
}

/// Kafka's AlterPartition: the leader of `topic`-`partition`, at its
/// current leader epoch and partition epoch, replaces the ISR; a
/// reassignment waiting on that ISR completes. Refusals in Kafka's order
/// (ReplicationControlManager's validation): an epoch newer than the
/// controller's means this controller has fallen behind (NOT_CONTROLLER,
/// the leader retries); an older leader epoch is FENCED_LEADER_EPOCH; a
/// sender that does not lead is INVALID_REQUEST; an older partition epoch
/// (the ISR changed since the proposal was worked out) is
/// INVALID_UPDATE_VERSION; an ISR naming a replica that is not registered,
/// is fenced, or is stated at a broker epoch not its current
/// registration's (joining or staying) is INELIGIBLE_REPLICA.
/// `partition_epoch` is None from a node that predates partition epochs,
/// checked on the leader epoch alone as then.
pub(super) fn alter_partition(
    image: &mut MetadataImage,
    topic: &str,
    partition: i32,
    leader: i32,
    (leader_epoch, partition_epoch): (i32, Option<i32>),
    NewIsr { isr, epochs }: NewIsr,
) -> Result<IsrAltered, ControllerError> {
    let live = live_brokers(&image.brokers);
    // A fenced broker (a stopped one is fenced by its controlled shutdown)
    // must not come back into an ISR on a leader's stale view of it, nor a
    // broker restarted (on a wiped disk, say) on the strength of a fetch
    // from its previous registration (KIP-903). Members without a stated
    // broker epoch are checked without one.
    let ineligible: Vec<String> = isr
        .iter()
        .filter_map(|r| {
            let epoch = epochs
                .iter()
                .find(|(id, _)| id == r)
                .map_or(-1, |(_, epoch)| *epoch);
            ineligibility(image, *r, epoch)
        })
        .collect();
    let p = partition_mut(image, topic, partition).ok_or_else(|| {
        ControllerError::new(
            ResponseError::UnknownTopicOrPartition,
            format!("{topic}-{partition} does not exist."),
        )
    })?;
    let refuse = |code, message: String| Err(ControllerError::new(code, message));
    let newer_partition_epoch = partition_epoch.is_some_and(|e| e > p.partition_epoch);
    if leader_epoch > p.leader_epoch || newer_partition_epoch {
        return refuse(
            ResponseError::NotController,
            format!(
                "{topic}-{partition} is at leader epoch {} and partition epoch {} here, older \
                 than the proposal's {leader_epoch} and {partition_epoch:?}.",
                p.leader_epoch, p.partition_epoch
            ),
        );
    }
    if leader_epoch < p.leader_epoch {
        return refuse(
            ResponseError::FencedLeaderEpoch,
            format!(
                "{topic}-{partition} is at leader epoch {}, not {leader_epoch}.",
                p.leader_epoch
            ),
        );
    }
    if p.leader != leader {
        return refuse(
            ResponseError::InvalidRequest,
            format!("{topic}-{partition} is led by {}, not {leader}.", p.leader),
        );
    }
    if partition_epoch.is_some_and(|e| e < p.partition_epoch) {
        return refuse(
            ResponseError::InvalidUpdateVersion,
            format!(
                "{topic}-{partition} is at partition epoch {}, not {partition_epoch:?}.",
                p.partition_epoch
            ),
        );
    }
    if !isr.contains(&leader) || isr.iter().any(|r| !p.replicas.contains(r)) {
        return refuse(
            ResponseError::InvalidRequest,
            format!(
                "ISR {isr:?} is not the leader and some of replicas {:?}.",
                p.replicas
            ),
        );
    }
    if !ineligible.is_empty() {
        return refuse(
            ResponseError::IneligibleReplica,
            format!(
                "{topic}-{partition}: ISR {isr:?} is ineligible: {}.",
                ineligible.join("; ")
            ),
        );
    }
    p.isr = isr;
    reassignment::maybe_complete(p, &live);
    Ok(if p.leader == leader {
        IsrAltered::Isr
    } else {
        IsrAltered::NewLeader(p.leader)
    })
}

/// Kafka's AlterPartitionReassignments: per move, in order, None when
/// started (or cancelled), else the refusal.
pub(super) fn alter_reassignments(
    image: &mut MetadataImage,
    moves: Vec<Reassignment>,
) -> Vec<Option<Refusal>> {
    let registered: BTreeSet<i32> = image.brokers.keys().copied().collect();
    let live = live_brokers(&image.brokers);
    moves
        .into_iter()
        .map(|m| {
            let p = partition_mut(image, &m.topic, m.partition).ok_or_else(|| {
                ControllerError::new(
                    ResponseError::UnknownTopicOrPartition,
                    format!("{}-{} does not exist.", m.topic, m.partition),
                )
            });
            let done = p.and_then(|p| match &m.target {
                Some(target) => {
                    reassignment::start(p, target, m.keep_replication_factor, &registered, &live)
                }
                None => reassignment::cancel(p, &live),
            });
            done.err().map(|e| (e.code.code(), e.message))
        })
        .collect()
}

/// Kafka's ElectLeaders on the named partitions or (None) on all; an
/// election on all leaves out the partitions that needed none.
pub(super) fn elect_leaders(
    image: &mut MetadataImage,
    election: ElectionType,
    partitions: Option<Vec<TopicPartition>>,
) -> Vec<(String, i32, Option<Refusal>)> {
    let live = live_brokers(&image.brokers);
    let every = partitions.is_none();
    let wanted = partitions.unwrap_or_else(|| {
        image
            .topics
            .values()
            .flat_map(|t| (0..t.partitions.len() as i32).map(|i| TopicPartition::new(&t.name, i)))
            .collect()
    });
    wanted
        .into_iter()
        .filter_map(|TopicPartition { topic, partition }| {
            let result = match partition_mut(image, &topic, partition) {
                Some(p) => leader_election::elect(p, election, &live),
                None => Err(ControllerError::new(
                    ResponseError::UnknownTopicOrPartition,
                    format!("{topic}-{partition} does not exist."),
                )),
            };
            match result {
                Err(e) if every && e.code == ResponseError::ElectionNotNeeded => None,
                r => Some((
                    topic,
                    partition,
                    r.err().map(|e| (e.code.code(), e.message)),
                )),
            }
        })
        .collect()
}

fn partition_mut<'a>(
    image: &'a mut MetadataImage,
    topic: &str,
    partition: i32,
) -> Option<&'a mut PartitionImage> {
    let index = usize::try_from(partition).ok()?;
    image.topic_mut(topic)?.partitions.get_mut(index)
}

/// Adds partitions to `name` in `image`, with explicit replicas or placed as Kafka places them.
pub(super) fn create_partitions(
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

fn check_batch_size(partitions: i32) -> Result<i32, ControllerError> {
    if partitions > MAX_PARTITIONS_PER_OPERATION {
        return Err(ControllerError::new(
            ResponseError::PolicyViolation,
            "Unable to perform excessively large batch operation.",
        ));
    }
    Ok(partitions)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster::controller::command::ControllerCommand;
    use crate::cluster::controller::test_support::{add_topic, broker, cluster, partition};

    /// An ISR change that names no broker epochs, as older nodes send.
    fn only(isr: Vec<i32>) -> NewIsr {
        NewIsr {
            isr,
            epochs: Vec::new(),
        }
    }

    const DEFAULTS: TopicDefaults = TopicDefaults {
        num_partitions: 3,
        replication_factor: 2,
    };

    fn new_topic(name: &str, partitions: i32, replication_factor: i16) -> NewTopic {
        NewTopic {
            name: name.into(),
            num_partitions: partitions,
            replication_factor,
            assignments: Vec::new(),
            configs: Vec::new(),
        }
    }

    fn code<T: std::fmt::Debug>(result: Result<T, ControllerError>) -> ResponseError {
        result.expect_err("the change should be refused").code
    }

    #[test]
    fn create_topic_places_replicas_on_live_brokers_only() {
        let mut image = cluster(&[1, 2, 3]);
        image.brokers.get_mut(&3).unwrap().fenced = true;
        let topic = create_topic(&mut image, &new_topic("orders", 6, 2), DEFAULTS).unwrap();
        assert_eq!(topic.partitions.len(), 6);
        for p in &topic.partitions {
            let mut replicas = p.replicas.clone();
            replicas.sort();
            assert_eq!(replicas, vec![1, 2], "fenced broker 3 got a replica");
            assert_eq!(p.isr, p.replicas);
            assert_eq!((p.leader, p.leader_epoch), (p.replicas[0], 0));
        }
        let leaders: BTreeSet<i32> = topic.partitions.iter().map(|p| p.leader).collect();
        assert_eq!(leaders, BTreeSet::from([1, 2]), "leaders are spread");
        assert_eq!(image.topic("orders"), Some(&topic));
    }

    #[test]
    fn create_topic_puts_each_partitions_replicas_in_different_racks() {
        let mut image = cluster(&[]);
        for (id, rack) in [(1, "a"), (2, "a"), (3, "b"), (4, "b")] {
            image.brokers.insert(id, broker(id, Some(rack)));
        }
        let topic = create_topic(&mut image, &new_topic("racked", 8, 2), DEFAULTS).unwrap();
        for p in &topic.partitions {
            let racks: BTreeSet<_> = p
                .replicas
                .iter()
                .map(|r| image.brokers[r].rack.clone())
                .collect();
            assert_eq!(racks.len(), 2, "{:?} is in one rack", p.replicas);
        }
    }

    #[test]
    fn create_topic_without_counts_takes_the_broker_defaults() {
        let mut image = cluster(&[1, 2, 3]);
        let topic = create_topic(&mut image, &new_topic("defaults", -1, -1), DEFAULTS).unwrap();
        assert_eq!(topic.partitions.len(), 3);
        assert!(topic.partitions.iter().all(|p| p.replicas.len() == 2));
    }

    #[test]
    fn create_topic_refusals_leave_the_image_alone() {
        let mut image = cluster(&[1, 2]);
        add_topic(&mut image, "taken", &[&[1]]);
        add_topic(&mut image, "a.b", &[&[1]]);
        let before = image.clone();
        let exists = create_topic(&mut image, &new_topic("taken", 1, 1), DEFAULTS);
        assert_eq!(code(exists), ResponseError::TopicAlreadyExists);
        let too_many = create_topic(&mut image, &new_topic("wide", 1, 3), DEFAULTS);
        assert_eq!(code(too_many), ResponseError::InvalidReplicationFactor);
        let collides = create_topic(&mut image, &new_topic("a_b", 1, 1), DEFAULTS);
        assert_eq!(code(collides), ResponseError::InvalidTopicException);
        assert_eq!(image, before);
    }

    #[test]
    fn delete_topic_answers_its_id_once() {
        let mut image = cluster(&[1]);
        add_topic(&mut image, "gone", &[&[1]]);
        let id = image.topic("gone").unwrap().id;
        assert_eq!(delete_topic(&mut image, "gone"), Ok(id));
        assert!(image.topic("gone").is_none());
        let again = delete_topic(&mut image, "gone");
        assert_eq!(code(again), ResponseError::UnknownTopicOrPartition);
    }

    #[test]
    fn create_partitions_keeps_the_replication_factor_and_refuses_shrinking() {
        let mut image = cluster(&[1, 2, 3]);
        add_topic(&mut image, "grow", &[&[1, 2]]);
        create_partitions(&mut image, "grow", 4, None).unwrap();
        let topic = image.topic("grow").unwrap();
        assert_eq!(topic.partitions.len(), 4);
        assert!(topic.partitions.iter().all(|p| p.replicas.len() == 2));
        for (count, error) in [
            (2, ResponseError::InvalidPartitions),
            (4, ResponseError::InvalidPartitions),
        ] {
            let refused = create_partitions(&mut image, "grow", count, None);
            assert_eq!(code(refused), error, "to {count} partitions");
        }
        let unknown = create_partitions(&mut image, "nope", 2, None);
        assert_eq!(code(unknown), ResponseError::UnknownTopicOrPartition);
    }

    /// An image where broker 1 leads "t"-0 (replicas 1, 2, 3) at leader
    /// epoch 5 and partition epoch 7.
    fn led_at_epochs() -> MetadataImage {
        let mut image = cluster(&[1, 2, 3]);
        add_topic(&mut image, "t", &[&[1, 2, 3]]);
        let p = &mut image.topic_mut("t").unwrap().partitions[0];
        (p.leader_epoch, p.partition_epoch) = (5, 7);
        image
    }

    #[test]
    fn alter_partition_from_a_stale_leader_epoch_is_fenced() {
        let mut image = led_at_epochs();
        let stale = alter_partition(&mut image, "t", 0, 1, (4, Some(7)), only(vec![1, 2]));
        assert_eq!(code(stale), ResponseError::FencedLeaderEpoch);
        assert_eq!(partition(&image, "t", 0).isr, vec![1, 2, 3]);
    }

    #[test]
    fn alter_partition_from_a_broker_that_does_not_lead_is_an_invalid_request() {
        let mut image = led_at_epochs();
        let not_leader = alter_partition(&mut image, "t", 0, 2, (5, Some(7)), only(vec![2]));
        assert_eq!(code(not_leader), ResponseError::InvalidRequest);
        assert_eq!(partition(&image, "t", 0).isr, vec![1, 2, 3]);
    }

    #[test]
    fn alter_partition_at_a_stale_partition_epoch_is_an_invalid_update_version() {
        let mut image = led_at_epochs();
        let stale = alter_partition(&mut image, "t", 0, 1, (5, Some(6)), only(vec![1, 2]));
        assert_eq!(code(stale), ResponseError::InvalidUpdateVersion);
        assert_eq!(partition(&image, "t", 0).isr, vec![1, 2, 3]);
        alter_partition(&mut image, "t", 0, 1, (5, Some(7)), only(vec![1, 2])).unwrap();
        assert_eq!(partition(&image, "t", 0).isr, vec![1, 2]);
    }

    #[test]
    fn alter_partition_at_epochs_newer_than_the_controllers_is_not_controller() {
        let mut image = led_at_epochs();
        for epochs in [(6, Some(7)), (5, Some(8))] {
            let ahead = alter_partition(&mut image, "t", 0, 1, epochs, only(vec![1, 2]));
            assert_eq!(code(ahead), ResponseError::NotController, "{epochs:?}");
        }
        assert_eq!(partition(&image, "t", 0).isr, vec![1, 2, 3]);
    }

    #[test]
    fn alter_partition_refuses_a_fenced_or_unregistered_broker_in_the_isr() {
        let mut image = led_at_epochs();
        image.brokers.get_mut(&2).unwrap().fenced = true;
        let fenced = alter_partition(&mut image, "t", 0, 1, (5, Some(7)), only(vec![1, 2, 3]));
        assert_eq!(code(fenced), ResponseError::IneligibleReplica);
        image.brokers.remove(&2);
        let unregistered = alter_partition(&mut image, "t", 0, 1, (5, Some(7)), only(vec![1, 2]));
        assert_eq!(code(unregistered), ResponseError::IneligibleReplica);
        assert_eq!(partition(&image, "t", 0).isr, vec![1, 2, 3]);
    }

    #[test]
    fn alter_partition_refuses_a_replica_joining_at_a_stale_broker_epoch() {
        let mut image = led_at_epochs();
        image.topic_mut("t").unwrap().partitions[0].isr = vec![1];
        // Broker 2 restarted on a wiped disk: registered again at 41, while
        // the leader saw a fetch it made at 40 before it stopped.
        image.brokers.get_mut(&2).unwrap().epoch = 41;
        let joining = |epoch| NewIsr {
            isr: vec![1, 2],
            epochs: vec![(2, epoch)],
        };
        let stale = alter_partition(&mut image, "t", 0, 1, (5, Some(7)), joining(40));
        assert_eq!(code(stale), ResponseError::IneligibleReplica);
        assert_eq!(partition(&image, "t", 0).isr, vec![1]);
        alter_partition(&mut image, "t", 0, 1, (5, Some(7)), joining(41)).unwrap();
        assert_eq!(partition(&image, "t", 0).isr, vec![1, 2]);
    }

    #[test]
    fn alter_partition_refuses_a_member_staying_on_a_broker_epoch_it_registered_past() {
        let mut image = led_at_epochs();
        // Broker 2 stays in the ISR while 3 leaves, but it registered
        // again at 41 since the fetch the leader last saw from it.
        image.brokers.get_mut(&2).unwrap().epoch = 41;
        let shrink = |epoch| NewIsr {
            isr: vec![1, 2],
            epochs: vec![(2, epoch)],
        };
        let stale = alter_partition(&mut image, "t", 0, 1, (5, Some(7)), shrink(40));
        assert_eq!(code(stale), ResponseError::IneligibleReplica);
        assert_eq!(partition(&image, "t", 0).isr, vec![1, 2, 3]);
        alter_partition(&mut image, "t", 0, 1, (5, Some(7)), shrink(41)).unwrap();
        assert_eq!(partition(&image, "t", 0).isr, vec![1, 2]);
    }

    #[test]
    fn alter_partition_from_a_node_without_partition_epochs_checks_the_leader_epoch_alone() {
        let mut image = led_at_epochs();
        let stale = alter_partition(&mut image, "t", 0, 1, (4, None), only(vec![1, 2]));
        assert_eq!(code(stale), ResponseError::FencedLeaderEpoch);
        alter_partition(&mut image, "t", 0, 1, (5, None), only(vec![1, 2])).unwrap();
        assert_eq!(partition(&image, "t", 0).isr, vec![1, 2]);
        let old: ControllerCommand = serde_json::from_str(
            r#"{"AlterPartition":{"topic":"t","partition":0,"leader":1,"leader_epoch":5,"isr":[1]}}"#,
        )
        .unwrap();
        assert!(matches!(
            old,
            ControllerCommand::AlterPartition {
                partition_epoch: None,
                ref isr_epochs,
                ..
            } if isr_epochs.is_empty()
        ));
    }

    #[test]
    fn alter_partition_shrinks_and_expands_the_isr_at_the_same_leader_epoch() {
        let mut image = cluster(&[1, 2, 3]);
        add_topic(&mut image, "t", &[&[1, 2, 3]]);
        let shrunk = alter_partition(&mut image, "t", 0, 1, (0, Some(0)), only(vec![1, 3]));
        assert_eq!(shrunk.unwrap(), IsrAltered::Isr);
        let p = partition(&image, "t", 0);
        assert_eq!((p.isr, p.leader, p.leader_epoch), (vec![1, 3], 1, 0));
        alter_partition(&mut image, "t", 0, 1, (0, Some(0)), only(vec![1, 3, 2])).unwrap();
        assert_eq!(partition(&image, "t", 0).isr, vec![1, 3, 2]);
    }

    #[test]
    fn alter_partition_refuses_an_isr_without_the_leader_or_beyond_the_replicas() {
        let mut image = cluster(&[1, 2, 3, 4]);
        add_topic(&mut image, "t", &[&[1, 2, 3]]);
        for isr in [vec![2, 3], vec![1, 4]] {
            let refused = alter_partition(&mut image, "t", 0, 1, (0, Some(0)), only(isr.clone()));
            assert_eq!(code(refused), ResponseError::InvalidRequest, "ISR {isr:?}");
        }
        let missing = alter_partition(&mut image, "t", 1, 1, (0, Some(0)), only(vec![1]));
        assert_eq!(code(missing), ResponseError::UnknownTopicOrPartition);
    }

    fn reassign(topic: &str, target: Option<Vec<i32>>) -> Reassignment {
        Reassignment {
            topic: topic.into(),
            partition: 0,
            target,
            keep_replication_factor: false,
        }
    }

    #[test]
    fn reassignment_adds_the_target_then_drops_the_rest_once_in_sync() {
        let mut image = cluster(&[1, 2, 3]);
        add_topic(&mut image, "moving", &[&[1, 2]]);
        let results = alter_reassignments(&mut image, vec![reassign("moving", Some(vec![2, 3]))]);
        assert_eq!(results, vec![None]);
        let p = partition(&image, "moving", 0);
        assert_eq!(p.replicas, vec![2, 3, 1]);
        assert_eq!((p.adding_replicas, p.removing_replicas), (vec![3], vec![1]));
        assert_eq!((p.leader, p.isr), (1, vec![1, 2]));

        // The leader reports the new replica caught up: the move completes,
        // and leadership leaves the removed replica at a new epoch; the old
        // leader is told so (NEW_LEADER_ELECTED) along with the change.
        let altered = alter_partition(
            &mut image,
            "moving",
            0,
            1,
            (0, Some(0)),
            only(vec![1, 2, 3]),
        );
        assert_eq!(altered.unwrap(), IsrAltered::NewLeader(2));
        let p = partition(&image, "moving", 0);
        assert_eq!(p.replicas, vec![2, 3]);
        assert_eq!(p.isr, vec![2, 3]);
        assert_eq!((p.leader, p.leader_epoch), (2, 1));
        assert!(!p.reassigning());
    }

    #[test]
    fn reassignment_cancelled_goes_back_to_the_original_replicas() {
        let mut image = cluster(&[1, 2, 3]);
        add_topic(&mut image, "back", &[&[1, 2]]);
        alter_reassignments(&mut image, vec![reassign("back", Some(vec![3, 2]))]);
        assert!(partition(&image, "back", 0).reassigning());
        let results = alter_reassignments(&mut image, vec![reassign("back", None)]);
        assert_eq!(results, vec![None]);
        let p = partition(&image, "back", 0);
        assert!(!p.reassigning());
        // The original replicas, in their order in the merged list (the
        // target's first): broker 2 is preferred now.
        assert_eq!((p.replicas, p.isr), (vec![2, 1], vec![1, 2]));
    }

    #[test]
    fn reassignment_refusals_are_per_partition() {
        let mut image = cluster(&[1, 2]);
        add_topic(&mut image, "t", &[&[1]]);
        let results = alter_reassignments(
            &mut image,
            vec![
                reassign("t", Some(vec![9])),
                reassign("missing", Some(vec![1])),
                reassign("t", Some(vec![2])),
            ],
        );
        let codes: Vec<Option<i16>> = results.iter().map(|r| r.as_ref().map(|r| r.0)).collect();
        assert_eq!(
            codes,
            vec![
                Some(ResponseError::InvalidReplicaAssignment.code()),
                Some(ResponseError::UnknownTopicOrPartition.code()),
                None,
            ]
        );
    }

    #[test]
    fn preferred_election_on_all_partitions_leaves_out_those_that_need_none() {
        let mut image = cluster(&[1, 2]);
        add_topic(&mut image, "t", &[&[1, 2], &[2, 1]]);
        {
            let p = &mut image.topic_mut("t").unwrap().partitions[0];
            p.leader = 2;
            p.leader_epoch = 1;
        }
        let results = elect_leaders(&mut image, ElectionType::Preferred, None);
        assert_eq!(results, vec![("t".to_string(), 0, None)]);
        let p = partition(&image, "t", 0);
        assert_eq!((p.leader, p.leader_epoch), (1, 2));
        assert!(elect_leaders(&mut image, ElectionType::Preferred, None).is_empty());
    }

    /// `image` after `change`, with partition epochs bumped as the active
    /// controller bumps them after every change.
    fn after(image: &MetadataImage, change: impl FnOnce(&mut MetadataImage)) -> MetadataImage {
        let mut next = image.clone();
        change(&mut next);
        next.bump_partition_epochs(image);
        next
    }

    fn epochs(image: &MetadataImage) -> Vec<i32> {
        image.topics["t"]
            .partitions
            .iter()
            .map(|p| p.partition_epoch)
            .collect()
    }

    #[test]
    fn an_isr_change_bumps_the_partition_epoch_once() {
        let mut image = cluster(&[1, 2, 3]);
        add_topic(&mut image, "t", &[&[1, 2, 3], &[2, 3, 1]]);
        let next = after(&image, |i| {
            alter_partition(i, "t", 0, 1, (0, Some(0)), only(vec![1, 2])).unwrap();
        });
        assert_eq!(epochs(&next), vec![1, 0]);
        assert_eq!(partition(&next, "t", 0).leader_epoch, 0);
        let again = after(&next, |i| {
            alter_partition(i, "t", 0, 1, (0, Some(1)), only(vec![1, 2, 3])).unwrap();
        });
        assert_eq!(epochs(&again), vec![2, 0]);
    }

    #[test]
    fn a_leader_change_bumps_the_partition_epoch_once() {
        let mut image = cluster(&[1, 2, 3]);
        add_topic(&mut image, "t", &[&[1, 2, 3], &[2, 3, 1]]);
        // Broker 1 leads partition 0 (leader and ISR change) and follows
        // in partition 1 (its ISR shrinks): each bumps once.
        let next = after(&image, |i| super::super::brokers::fence(i, 1, false));
        assert_eq!(epochs(&next), vec![1, 1]);
        let p = partition(&next, "t", 0);
        assert_eq!((p.leader, p.leader_epoch), (2, 1));
    }

    #[test]
    fn an_election_bumps_the_partition_epoch_once() {
        let mut image = cluster(&[1, 2, 3]);
        add_topic(&mut image, "t", &[&[1, 2, 3], &[2, 3, 1]]);
        image.topic_mut("t").unwrap().partitions[0].leader = 2;
        let next = after(&image, |i| {
            let results = elect_leaders(i, ElectionType::Preferred, None);
            assert_eq!(results, vec![("t".to_string(), 0, None)]);
        });
        assert_eq!(epochs(&next), vec![1, 0]);
    }

    #[test]
    fn a_reassignment_bumps_the_partition_epoch_when_it_starts_and_completes() {
        let mut image = cluster(&[1, 2, 3, 4]);
        add_topic(&mut image, "t", &[&[1, 2, 3], &[2, 3, 1]]);
        let started = after(&image, |i| {
            let moves = vec![Reassignment {
                topic: "t".into(),
                partition: 0,
                target: Some(vec![2, 3, 4]),
                keep_replication_factor: false,
            }];
            assert_eq!(alter_reassignments(i, moves), vec![None]);
        });
        assert_eq!(epochs(&started), vec![1, 0]);
        assert!(partition(&started, "t", 0).reassigning());
        // The new replica joins the ISR: the reassignment completes in the
        // same change, which still bumps the epoch once.
        let done = after(&started, |i| {
            alter_partition(i, "t", 0, 1, (0, Some(1)), only(vec![1, 2, 3, 4])).unwrap();
        });
        assert_eq!(epochs(&done), vec![2, 0]);
        assert_eq!(partition(&done, "t", 0).replicas, vec![2, 3, 4]);
    }

    #[test]
    fn a_change_that_leaves_a_partition_as_it_was_keeps_its_epoch() {
        let mut image = cluster(&[1, 2, 3]);
        add_topic(&mut image, "t", &[&[1, 2, 3]]);
        let next = after(&image, |i| {
            alter_partition(i, "t", 0, 1, (0, Some(0)), only(vec![1, 2, 3])).unwrap();
            create_partitions(i, "t", 2, None).unwrap();
        });
        assert_eq!(epochs(&next), vec![0, 0]);
    }

    #[test]
    fn a_partition_recorded_without_an_epoch_reads_as_epoch_zero() {
        let old = r#"{"replicas":[1,2],"isr":[1,2],"leader":1,"leader_epoch":3}"#;
        let p: PartitionImage = serde_json::from_str(old).unwrap();
        assert_eq!((p.leader_epoch, p.partition_epoch), (3, 0));
    }
}
