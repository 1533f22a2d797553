//! Replica placement, as Kafka's `AdminUtils` assignment: brokers are put in
//! a rack-alternated order, leaders round-robin over it from a random start,
//! and followers follow the leader at a shift that grows each time the
//! leaders wrap around, so replicas of consecutive partitions do not all land
//! on the same followers. A follower is taken only from a rack the partition
//! has no replica in yet, until every rack has one, so each partition spans
//! `min(replication factor, racks)` racks.
//!
//! Brokers without `broker.rack` count as one rack of their own, as in
//! KRaft's `StripedReplicaPlacer`, rather than being refused as the
//! ZooKeeper-era `AdminUtils` does ("Not all brokers have rack
//! information"): a rolling upgrade that adds racks keeps topic creation
//! working. When no broker sets a rack, or all set the same one, there is a
//! single rack and the placement is exactly Kafka's rack-unaware one.

use std::collections::{BTreeMap, BTreeSet};

use kafka_protocol::error::ResponseError;
use rand::Rng;

use super::controller::error::ControllerError;
use super::metadata::{BrokerRegistration, PartitionImage};

pub fn assign_replicas(
    brokers: &[&BrokerRegistration],
    partitions: i32,
    replication_factor: i16,
) -> Result<Vec<Vec<i32>>, ControllerError> {
    let n = brokers.len();
    let rf = replication_factor as usize;
    if rf > n {
        return Err(ControllerError::new(
            ResponseError::InvalidReplicationFactor,
            format!(
                "Unable to replicate the partition {rf} time(s): The target replication factor of {rf} cannot be reached because only {n} broker(s) are registered."
            ),
        ));
    }
    let mut rng = rand::rng();
    let start = rng.random_range(0..n);
    let shift = rng.random_range(0..n);
    Ok(place(brokers, partitions.max(0) as usize, rf, start, shift))
}

/// Broker ids with their racks, taking the lowest id of each rack in rack
/// order, then the next of each, and so on: neighbours are in different racks
/// while more than one rack has brokers left, which is what lets a plain
/// round-robin over the list spread both leaders and racks.
fn rack_alternated<'a>(brokers: &[&'a BrokerRegistration]) -> Vec<(i32, Option<&'a str>)> {
    let mut by_rack: BTreeMap<Option<&str>, Vec<i32>> = BTreeMap::new();
    for b in brokers {
        by_rack
            .entry(b.rack.as_deref())
            .or_default()
            .push(b.node_id);
    }
    for ids in by_rack.values_mut() {
        ids.sort_unstable();
    }
    let deepest = by_rack.values().map(Vec::len).max().unwrap_or(0);
    (0..deepest)
        .flat_map(|i| {
            by_rack
                .iter()
                .filter_map(move |(rack, ids)| ids.get(i).map(|&id| (id, *rack)))
        })
        .collect()
}

/// The placement for a given start broker and initial follower shift, which
/// [`assign_replicas`] draws at random; `rf` is at most the broker count.
fn place(
    brokers: &[&BrokerRegistration],
    partitions: usize,
    rf: usize,
    start: usize,
    mut shift: usize,
) -> Vec<Vec<i32>> {
    let arranged = rack_alternated(brokers);
    let n = arranged.len();
    let rack_count = arranged
        .iter()
        .map(|&(_, rack)| rack)
        .collect::<BTreeSet<_>>()
        .len();
    let mut out = Vec::with_capacity(partitions);
    for p in 0..partitions {
        if p > 0 && p % n == 0 {
            shift += 1;
        }
        let first = (p + start) % n;
        let (leader, leader_rack) = arranged[first];
        let mut replicas = vec![leader];
        let mut racks = BTreeSet::from([leader_rack]);
        // Scaling the shift by the rack count keeps the first candidate in
        // the rack after the leader's in the alternated order. Candidates
        // cycle through every other broker, and a rack without a replica has
        // only unused brokers, so each follower is found within n - 1 steps.
        let mut k = 0;
        while replicas.len() < rf {
            let (broker, rack) = arranged[(first + 1 + (shift * rack_count + k) % (n - 1)) % n];
            k += 1;
            let spreads = racks.len() == rack_count || !racks.contains(&rack);
            if spreads && !replicas.contains(&broker) {
                replicas.push(broker);
                racks.insert(rack);
            }
        }
        out.push(replicas);
    }
    out
}

/// Checks replica lists given explicitly by a client.
pub fn validate_manual(
    assignments: &[Vec<i32>],
    brokers: &BTreeMap<i32, BrokerRegistration>,
) -> Result<(), ControllerError> {
    let bad = |m: String| ControllerError::new(ResponseError::InvalidReplicaAssignment, m);
    let rf = assignments.first().map_or(0, Vec::len);
    for (p, replicas) in assignments.iter().enumerate() {
        if replicas.is_empty() {
            return Err(bad(format!("Partition {p} has no replicas.")));
        }
        if replicas.len() != rf {
            return Err(bad(
                "All partitions must have the same number of replicas.".into()
            ));
        }
        let mut seen = replicas.clone();
        seen.sort_unstable();
        seen.dedup();
        if seen.len() != replicas.len() {
            return Err(bad(format!("Partition {p} lists a broker more than once.")));
        }
        if let Some(missing) = replicas.iter().find(|id| !brokers.contains_key(id)) {
            return Err(bad(format!(
                "Broker {missing} in the assignment of partition {p} is not registered."
            )));
        }
    }
    Ok(())
}

/// Partitions on replica lists a client gave, checked as
/// [`validate_manual`]: as Kafka's controller, each partition's ISR is its
/// unfenced replicas (a broker in controlled shutdown is fenced), in the
/// order given, and the first of them leads; a partition all of whose
/// replicas are fenced is refused. Counting a fenced replica in the ISR
/// would make it leader, or hold back acks=all, until it came back.
pub fn manual_partitions(
    assignments: &[Vec<i32>],
    brokers: &BTreeMap<i32, BrokerRegistration>,
) -> Result<Vec<PartitionImage>, ControllerError> {
    validate_manual(assignments, brokers)?;
    assignments
        .iter()
        .enumerate()
        .map(|(p, replicas)| {
            let isr: Vec<i32> = replicas
                .iter()
                .copied()
                .filter(|id| brokers.get(id).is_some_and(|b| !b.fenced))
                .collect();
            let Some(&leader) = isr.first() else {
                return Err(ControllerError::new(
                    ResponseError::InvalidReplicaAssignment,
                    format!(
                        "All brokers specified in the manual partition assignment for \
                         partition {p} are fenced or in controlled shutdown."
                    ),
                ));
            };
            Ok(PartitionImage {
                leader,
                isr,
                ..PartitionImage::new(replicas.clone())
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn broker(node_id: i32, rack: Option<&str>) -> BrokerRegistration {
        BrokerRegistration {
            node_id,
            host: "127.0.0.1".into(),
            port: 9092,
            rack: rack.map(str::to_string),
            fenced: false,
            endpoints: Vec::new(),
            log_dirs: Vec::new(),
            epoch: 0,
        }
    }

    #[test]
    fn a_manual_assignment_leaves_fenced_replicas_out_of_the_isr_and_leadership() {
        let mut registry: BTreeMap<i32, BrokerRegistration> =
            brokers(3).into_iter().map(|b| (b.node_id, b)).collect();
        registry.get_mut(&3).unwrap().fenced = true;
        let partitions = manual_partitions(&[vec![3, 1, 2], vec![2, 3, 1]], &registry).unwrap();
        assert_eq!(
            partitions
                .iter()
                .map(|p| (p.replicas.clone(), p.leader, p.isr.clone()))
                .collect::<Vec<_>>(),
            [
                (vec![3, 1, 2], 1, vec![1, 2]),
                (vec![2, 3, 1], 2, vec![2, 1])
            ]
        );
        registry.get_mut(&1).unwrap().fenced = true;
        let refused = manual_partitions(&[vec![2, 3], vec![3, 1]], &registry).unwrap_err();
        assert_eq!(refused.code, ResponseError::InvalidReplicaAssignment);
        assert!(
            refused
                .message
                .contains("partition 1 are fenced or in controlled shutdown"),
            "{}",
            refused.message
        );
    }

    fn brokers(n: i32) -> Vec<BrokerRegistration> {
        (1..=n).map(|id| broker(id, None)).collect()
    }

    /// Brokers 1, 2, ... in the given racks.
    fn racked(racks: &[Option<&str>]) -> Vec<BrokerRegistration> {
        (1..)
            .zip(racks)
            .map(|(id, rack)| broker(id, *rack))
            .collect()
    }

    /// Checks, for every start broker and initial shift, that each of the
    /// `partitions` (a multiple of the broker count) has `rf` distinct
    /// replicas in `racks` distinct racks and every broker leads as many.
    fn assert_spread(b: &[BrokerRegistration], partitions: usize, rf: usize, racks: usize) {
        let refs: Vec<&BrokerRegistration> = b.iter().collect();
        let rack_of: BTreeMap<i32, Option<&str>> =
            b.iter().map(|b| (b.node_id, b.rack.as_deref())).collect();
        for start in 0..b.len() {
            for shift in 0..b.len() {
                let layout = place(&refs, partitions, rf, start, shift);
                assert_eq!(layout.len(), partitions);
                for replicas in &layout {
                    let distinct: BTreeSet<i32> = replicas.iter().copied().collect();
                    assert_eq!(distinct.len(), rf, "{layout:?}");
                    let spanned: BTreeSet<_> = replicas.iter().map(|id| rack_of[id]).collect();
                    assert_eq!(spanned.len(), racks, "{layout:?}");
                }
                for b in b {
                    let led = layout.iter().filter(|r| r[0] == b.node_id).count();
                    assert_eq!(led, partitions / refs.len(), "{layout:?}");
                }
            }
        }
    }

    #[test]
    fn rack_alternated_takes_one_broker_per_rack_in_turn() {
        // The example in Kafka's AdminUtils documentation, ids from 1.
        let b = racked(&[
            Some("rack1"),
            Some("rack3"),
            Some("rack3"),
            Some("rack2"),
            Some("rack2"),
            Some("rack1"),
        ]);
        let refs: Vec<&BrokerRegistration> = b.iter().collect();
        let order: Vec<i32> = rack_alternated(&refs).iter().map(|&(id, _)| id).collect();
        assert_eq!(order, vec![1, 4, 2, 6, 5, 3]);
        assert_eq!(
            place(&refs, 6, 3, 0, 0),
            vec![
                vec![1, 4, 2],
                vec![4, 2, 6],
                vec![2, 6, 5],
                vec![6, 5, 3],
                vec![5, 3, 1],
                vec![3, 1, 4],
            ]
        );
    }

    #[test]
    fn three_racks_of_two_put_three_replicas_in_three_racks() {
        let b = racked(&[
            Some("a"),
            Some("a"),
            Some("b"),
            Some("b"),
            Some("c"),
            Some("c"),
        ]);
        assert_spread(&b, 12, 3, 3);
        assert_spread(&b, 12, 2, 2);
    }

    #[test]
    fn two_racks_put_two_replicas_in_both() {
        assert_spread(
            &racked(&[Some("a"), Some("a"), Some("b"), Some("b")]),
            8,
            2,
            2,
        );
        assert_spread(
            &racked(&[Some("a"), Some("a"), Some("a"), Some("b")]),
            8,
            2,
            2,
        );
        assert_spread(
            &racked(&[Some("a"), Some("b"), Some("a"), Some("b")]),
            8,
            3,
            2,
        );
    }

    #[test]
    fn brokers_without_a_rack_count_as_one_rack() {
        assert_spread(&racked(&[None, None, Some("a"), Some("a")]), 8, 2, 2);
        assert_spread(&racked(&[None, Some("a"), Some("b")]), 6, 3, 3);
    }

    #[test]
    fn without_racks_placement_is_kafkas_rack_unaware_one() {
        let b = brokers(3);
        let refs: Vec<&BrokerRegistration> = b.iter().collect();
        assert_eq!(
            place(&refs, 6, 3, 0, 0),
            vec![
                vec![1, 2, 3],
                vec![2, 3, 1],
                vec![3, 1, 2],
                vec![1, 3, 2],
                vec![2, 1, 3],
                vec![3, 2, 1],
            ]
        );
        assert_spread(&b, 6, 3, 1);
        assert_spread(&brokers(5), 10, 2, 1);

        let same = racked(&[Some("a"); 5]);
        let same: Vec<&BrokerRegistration> = same.iter().collect();
        let none = brokers(5);
        let none: Vec<&BrokerRegistration> = none.iter().collect();
        for start in 0..5 {
            for shift in 0..5 {
                assert_eq!(
                    place(&same, 10, 3, start, shift),
                    place(&none, 10, 3, start, shift)
                );
            }
        }
    }

    #[test]
    fn spreads_leaders_and_never_repeats_a_broker() {
        let b = brokers(3);
        let refs: Vec<&BrokerRegistration> = b.iter().collect();
        let a = assign_replicas(&refs, 6, 3).unwrap();
        assert_eq!(a.len(), 6);
        for replicas in &a {
            let mut s = replicas.clone();
            s.sort();
            s.dedup();
            assert_eq!(s.len(), 3);
        }
        for id in 1..=3 {
            assert_eq!(a.iter().filter(|r| r[0] == id).count(), 2);
        }
    }

    #[test]
    fn too_high_a_replication_factor_is_refused() {
        let b = brokers(1);
        let refs: Vec<&BrokerRegistration> = b.iter().collect();
        let e = assign_replicas(&refs, 1, 3).unwrap_err();
        assert_eq!(e.code, ResponseError::InvalidReplicationFactor);
        assert_eq!(
            assign_replicas(&refs, 3, 1).unwrap(),
            vec![vec![1], vec![1], vec![1]]
        );
    }
}
