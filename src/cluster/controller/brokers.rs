//! Brokers in the image: registration, heartbeats, fencing (silent
//! brokers, controlled shutdown, offline log directories), as Kafka's
//! ClusterControlManager owns them, with the leadership moves fencing
//! causes.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::{Duration, Instant};

use kafka_protocol::error::ResponseError;
use uuid::Uuid;

use super::error::ControllerError;
use crate::cluster::features;
use crate::cluster::metadata::{BrokerRegistration, MetadataImage, PartitionImage};
use crate::topic_partition::TopicPartition;

/// Kafka's BrokerRegistration: the first broker ever registered gives the
/// cluster its id and bootstrap feature levels; a broker registered again
/// leads the offline partitions whose last ISR member it is. Each
/// registration gets a new broker epoch (KIP-903): `epoch` (the index the
/// change is written at or before, as Kafka uses its registration record's
/// offset), and always above the broker's previous registration's.
///
/// A broker registering again without having been fenced stopped without
/// its controlled shutdown (killed, say), and its disk may have lost what
/// it held: as Kafka's handling of an unclean shutdown (KIP-966), its
/// leaderships move and it leaves every ISR first, to rejoin each by
/// catching up under its new epoch.
pub(super) fn register(
    image: &mut MetadataImage,
    mut me: BrokerRegistration,
    epoch: i64,
    unclean: bool,
) -> Result<(), ControllerError> {
    if image.cluster_id.is_empty() {
        image.cluster_id = new_cluster_id();
        image.features = features::bootstrap();
    }
    me.check_log_dirs(&image.brokers)
        .map_err(|e| ControllerError::new(ResponseError::InvalidRegistration, e))?;
    let id = me.node_id;
    if image.brokers.get(&id).is_some_and(|before| !before.fenced) {
        fence(image, id, unclean);
    }
    me.epoch = image
        .brokers
        .get(&id)
        .map_or(epoch, |before| epoch.max(before.epoch + 1));
    image.brokers.insert(id, me);
    lead_leaderless(image, id);
    Ok(())
}

/// Kafka's BrokerHeartbeat from a fenced broker: it is let back in, and
/// leads the offline partitions whose last ISR member it is.
pub(super) fn heartbeat(image: &mut MetadataImage, id: i32) {
    if let Some(b) = image.brokers.get_mut(&id) {
        b.fenced = false;
        lead_leaderless(image, id);
    }
}

/// A broker's replicas in failed log directories (KIP-858): their
/// leaderships move as if the broker were fenced, and it leaves their ISRs.
pub(super) fn offline_replicas(
    image: &mut MetadataImage,
    broker: i32,
    partitions: &[TopicPartition],
    unclean: bool,
) {
    let live = live_brokers(&image.brokers);
    for tp in partitions {
        let p = image
            .topic_mut(&tp.topic)
            .and_then(|t| t.partitions.get_mut(tp.partition as usize));
        if let Some(p) = p {
            move_off(p, broker, &live, unclean);
        }
    }
}

/// Kafka's ISR eligibility (KIP-903): why broker `id`, fetching at broker
/// epoch `epoch` (-1: a fetch that carried none), may not join an ISR:
/// not registered, fenced (a controlled shutdown fences too), or fetching
/// from a registration older than its current one, as a broker restarted
/// on a wiped disk would be when a fetch of its previous life arrives late.
pub fn ineligibility(image: &MetadataImage, id: i32, epoch: i64) -> Option<String> {
    match image.brokers.get(&id) {
        None => Some(format!("broker {id} is not registered")),
        Some(b) if b.fenced => Some(format!("broker {id} is fenced")),
        Some(b) if epoch >= 0 && epoch != b.epoch => Some(format!(
            "broker {id} fetched at broker epoch {epoch}, but is registered at {}",
            b.epoch
        )),
        Some(_) => None,
    }
}

pub(super) fn live_brokers(brokers: &BTreeMap<i32, BrokerRegistration>) -> BTreeSet<i32> {
    brokers
        .values()
        .filter(|b| !b.fenced)
        .map(|b| b.node_id)
        .collect()
}

/// Moves `id`'s leaderships to the first live member of each ISR (any live
/// replica with unclean leader election; none otherwise, leaving the
/// partition offline with `id` kept as its last ISR member) at a new
/// leader epoch, and takes `id` out of every other ISR.
pub(super) fn fence(image: &mut MetadataImage, id: i32, unclean: bool) {
    let Some(broker) = image.brokers.get_mut(&id) else {
        return;
    };
    broker.fenced = true;
    let live = live_brokers(&image.brokers);
    let touched = |p: &PartitionImage| p.leader == id || (p.isr.len() > 1 && p.isr.contains(&id));
    image.change_partitions(touched, |p| move_off(p, id, &live, unclean));
}

/// Moves `p`'s leadership off `id` (to the first `live` ISR member, or with
/// `unclean` any live replica, else none) at a new leader epoch, or takes
/// `id` out of its ISR when it does not lead.
fn move_off(p: &mut PartitionImage, id: i32, live: &BTreeSet<i32>, unclean: bool) {
    if p.leader == id {
        let others: Vec<i32> = p.isr.iter().copied().filter(|r| *r != id).collect();
        let next = others
            .iter()
            .copied()
            .find(|r| live.contains(r))
            .or_else(|| {
                unclean
                    .then(|| {
                        p.replicas
                            .iter()
                            .copied()
                            .find(|r| *r != id && live.contains(r))
                    })
                    .flatten()
            });
        match next {
            Some(leader) => {
                p.leader = leader;
                p.isr = if others.contains(&leader) {
                    others
                } else {
                    vec![leader]
                };
            }
            None => p.leader = -1,
        }
        p.leader_epoch += 1;
    } else if p.isr.len() > 1 && p.isr.contains(&id) {
        p.isr.retain(|r| *r != id);
    }
}

/// A broker back (registered again or heartbeating after being fenced)
/// leads the offline partitions whose last ISR member it is.
fn lead_leaderless(image: &mut MetadataImage, id: i32) {
    image.change_partitions(
        |p| p.leader == -1 && p.isr.contains(&id),
        |p| {
            p.leader = id;
            p.leader_epoch += 1;
        },
    );
}

/// The `live` brokers not heard from for longer than `session_timeout`.
/// A broker the controller has no time for yet (it just became active)
/// starts its session now rather than being fenced at once.
pub(super) fn silent_brokers(
    live: &[i32],
    heartbeats: &mut HashMap<i32, Instant>,
    now: Instant,
    session_timeout: Duration,
) -> Vec<i32> {
    live.iter()
        .copied()
        .filter(|id| now.duration_since(*heartbeats.entry(*id).or_insert(now)) > session_timeout)
        .collect()
}

/// Kafka's cluster ids are 16 random bytes in URL-safe base64 without padding.
fn new_cluster_id() -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(Uuid::new_v4().as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster::controller::test_support::{add_topic, broker, cluster, partition};

    #[test]
    fn the_first_registration_forms_the_cluster() {
        let mut image = MetadataImage::default();
        register(&mut image, broker(1, None), 10, false).unwrap();
        let cluster_id = image.cluster_id.clone();
        assert_eq!(cluster_id.len(), 22, "16 bytes in unpadded base64");
        assert_eq!(image.features, features::bootstrap());
        register(&mut image, broker(2, None), 12, false).unwrap();
        assert_eq!(image.cluster_id, cluster_id, "the cluster keeps its id");
        assert_eq!(
            image.brokers.keys().copied().collect::<Vec<_>>(),
            vec![1, 2]
        );
    }

    #[test]
    fn fencing_moves_leaderships_to_the_isr_and_shrinks_every_isr() {
        let mut image = cluster(&[1, 2, 3]);
        add_topic(&mut image, "t", &[&[1, 2, 3], &[2, 1, 3], &[3, 2]]);
        fence(&mut image, 1, false);
        assert!(image.brokers[&1].fenced);
        let led = partition(&image, "t", 0);
        assert_eq!((led.leader, led.leader_epoch, led.isr), (2, 1, vec![2, 3]));
        let followed = partition(&image, "t", 1);
        assert_eq!(
            (followed.leader, followed.leader_epoch, followed.isr),
            (2, 0, vec![2, 3]),
            "a follower leaves the ISR without a new leader epoch"
        );
        let untouched = partition(&image, "t", 2);
        assert_eq!((untouched.leader_epoch, untouched.isr), (0, vec![3, 2]));
    }

    #[test]
    fn fencing_the_last_isr_member_elects_out_of_sync_only_when_unclean_is_allowed() {
        let mut image = cluster(&[1, 2]);
        add_topic(&mut image, "t", &[&[1, 2]]);
        image.topic_mut("t").unwrap().partitions[0].isr = vec![1];
        let mut unclean = image.clone();

        fence(&mut image, 1, false);
        let p = partition(&image, "t", 0);
        assert_eq!(
            (p.leader, p.leader_epoch, p.isr),
            (-1, 1, vec![1]),
            "offline, keeping its last ISR member"
        );

        fence(&mut unclean, 1, true);
        let p = partition(&unclean, "t", 0);
        assert_eq!((p.leader, p.leader_epoch, p.isr), (2, 1, vec![2]));
    }

    #[test]
    fn a_heartbeat_unfences_and_the_broker_leads_what_it_was_last_in_sync_for() {
        let mut image = cluster(&[1, 2]);
        add_topic(&mut image, "t", &[&[1, 2]]);
        image.topic_mut("t").unwrap().partitions[0].isr = vec![1];
        fence(&mut image, 1, false);
        heartbeat(&mut image, 1);
        assert!(!image.brokers[&1].fenced);
        let p = partition(&image, "t", 0);
        assert_eq!((p.leader, p.leader_epoch, p.isr), (1, 2, vec![1]));
        // A heartbeat from a broker never registered changes nothing.
        let before = image.clone();
        heartbeat(&mut image, 7);
        assert_eq!(image, before);
    }

    #[test]
    fn registering_again_after_fencing_leads_offline_partitions() {
        let mut image = cluster(&[1, 2]);
        add_topic(&mut image, "t", &[&[1, 2]]);
        image.topic_mut("t").unwrap().partitions[0].isr = vec![1];
        fence(&mut image, 1, false);
        register(&mut image, broker(1, None), 10, false).unwrap();
        assert_eq!(partition(&image, "t", 0).leader, 1);
    }

    #[test]
    fn a_broker_registering_again_unfenced_leaves_every_isr_first() {
        let mut image = cluster(&[1, 2, 3]);
        add_topic(&mut image, "t", &[&[1, 2, 3], &[2, 1, 3]]);
        // Killed and back within its session: never fenced.
        register(&mut image, broker(1, None), 10, false).unwrap();
        let led = partition(&image, "t", 0);
        assert_eq!((led.leader, led.leader_epoch, led.isr), (2, 1, vec![2, 3]));
        assert_eq!(partition(&image, "t", 1).isr, vec![2, 3]);
        assert!(!image.brokers[&1].fenced);
        // Back after a controlled shutdown (fenced): nothing more moves.
        fence(&mut image, 2, false);
        let before = image.clone();
        register(&mut image, broker(2, None), 11, false).unwrap();
        assert_eq!(image.topics, before.topics);
    }

    #[test]
    fn every_registration_gets_a_broker_epoch_above_the_last() {
        let mut image = MetadataImage::default();
        register(&mut image, broker(1, None), 10, false).unwrap();
        assert_eq!(image.brokers[&1].epoch, 10);
        assert_eq!(ineligibility(&image, 1, 10), None);
        // A restart registers again: the fetches of its previous life no
        // longer make it eligible, even from an index that did not move.
        register(&mut image, broker(1, None), 10, false).unwrap();
        assert_eq!(image.brokers[&1].epoch, 11);
        assert!(ineligibility(&image, 1, 10).is_some());
        assert_eq!(ineligibility(&image, 1, 11), None);
        assert_eq!(
            ineligibility(&image, 1, -1),
            None,
            "a fetch without an epoch"
        );
        fence(&mut image, 1, false);
        assert!(ineligibility(&image, 1, 11).is_some(), "fenced");
        assert!(ineligibility(&image, 2, -1).is_some(), "not registered");
    }

    #[test]
    fn offline_replicas_move_only_the_partitions_named() {
        let mut image = cluster(&[1, 2]);
        add_topic(&mut image, "t", &[&[1, 2], &[1, 2]]);
        offline_replicas(
            &mut image,
            1,
            &[TopicPartition::new("t", 1), TopicPartition::new("gone", 0)],
            false,
        );
        assert!(!image.brokers[&1].fenced);
        assert_eq!(partition(&image, "t", 0).leader, 1);
        let moved = partition(&image, "t", 1);
        assert_eq!(
            (moved.leader, moved.leader_epoch, moved.isr),
            (2, 1, vec![2])
        );
    }

    #[test]
    fn silent_brokers_are_the_live_ones_past_their_session() {
        let session = Duration::from_secs(9);
        let now = Instant::now() + Duration::from_secs(60);
        let mut heartbeats = HashMap::from([
            (1, now - Duration::from_secs(10)),
            (2, now - Duration::from_secs(3)),
            (4, now - Duration::from_secs(30)),
        ]);
        // 4 is fenced already (not live); 3 was never heard from.
        let silent = silent_brokers(&[1, 2, 3], &mut heartbeats, now, session);
        assert_eq!(silent, vec![1]);
        assert_eq!(
            heartbeats.get(&3),
            Some(&now),
            "an unknown broker's session starts now"
        );
        let later = now + Duration::from_secs(10);
        let mut silent = silent_brokers(&[1, 2, 3], &mut heartbeats, later, session);
        silent.sort();
        assert_eq!(silent, vec![1, 2, 3]);
    }
}
