//! Brokers in the image: registration, heartbeats, fencing (silent
//! brokers, controlled shutdown, offline log directories), as Kafka's
//! ClusterControlManager owns them, with the leadership moves fencing
//! causes.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::{Duration, Instant};

use uuid::Uuid;

use crate::cluster::metadata::{BrokerRegistration, MetadataImage, PartitionImage};

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
pub(super) fn move_off(p: &mut PartitionImage, id: i32, live: &BTreeSet<i32>, unclean: bool) {
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
pub(super) fn lead_leaderless(image: &mut MetadataImage, id: i32) {
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
pub(super) fn new_cluster_id() -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(Uuid::new_v4().as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

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
