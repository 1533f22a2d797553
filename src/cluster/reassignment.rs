//! Partition reassignment, as KRaft's controller runs it: the partition
//! first carries the union of its old and new replicas (the new ones
//! listed as adding, the old ones as removing); the leader brings the
//! adding replicas into the ISR as they catch up; once every target
//! replica is in the ISR the partition drops the removing ones, moving its
//! leadership to a target replica if its leader was one of them.

use std::collections::BTreeSet;

use kafka_protocol::error::ResponseError;

use super::controller::error::ControllerError;
use super::metadata::PartitionImage;

impl PartitionImage {
    pub fn reassigning(&self) -> bool {
        !self.adding_replicas.is_empty() || !self.removing_replicas.is_empty()
    }

    /// The replicas before the reassignment in progress, if any, began.
    fn original_replicas(&self) -> Vec<i32> {
        self.replicas
            .iter()
            .copied()
            .filter(|r| !self.adding_replicas.contains(r))
            .collect()
    }
}

/// Starts moving `p` onto `target` (replacing a reassignment in progress),
/// then completes it at once if the target replicas are all in the ISR
/// already. Every target broker must be registered (`registered`); with
/// `keep_replication_factor` the target has as many replicas as now.
pub fn start(
    p: &mut PartitionImage,
    target: &[i32],
    keep_replication_factor: bool,
    registered: &BTreeSet<i32>,
    live: &BTreeSet<i32>,
) -> Result<(), ControllerError> {
    let bad = |m: String| ControllerError::new(ResponseError::InvalidReplicaAssignment, m);
    if target.is_empty() {
        return Err(bad("The replica list is empty.".into()));
    }
    let original = p.original_replicas();
    if keep_replication_factor && target.len() != original.len() {
        return Err(ControllerError::new(
            ResponseError::InvalidReplicationFactor,
            format!(
                "The replica list {target:?} changes the replication factor from {}, which the request does not allow.",
                original.len()
            ),
        ));
    }
    let distinct: BTreeSet<i32> = target.iter().copied().collect();
    if distinct.len() != target.len() {
        return Err(bad(format!("The replica list {target:?} has duplicates.")));
    }
    if let Some(unknown) = target.iter().find(|r| !registered.contains(r)) {
        return Err(bad(format!(
            "The replica list {target:?} names broker {unknown}, which is not registered."
        )));
    }
    let mut replicas = target.to_vec();
    replicas.extend(original.iter().copied().filter(|r| !distinct.contains(r)));
    p.adding_replicas = target
        .iter()
        .copied()
        .filter(|r| !original.contains(r))
        .collect();
    p.removing_replicas = original
        .iter()
        .copied()
        .filter(|r| !distinct.contains(r))
        .collect();
    // Replicas added by an abandoned reassignment leave the ISR with it.
    p.isr.retain(|r| replicas.contains(r));
    p.replicas = replicas;
    maybe_complete(p, live);
    Ok(())
}

/// Puts `p` back on the replicas it had before the reassignment in progress.
pub fn cancel(p: &mut PartitionImage, live: &BTreeSet<i32>) -> Result<(), ControllerError> {
    if !p.reassigning() {
        return Err(ControllerError::new(
            ResponseError::NoReassignmentInProgress,
            "No reassignment is in progress for this partition.",
        ));
    }
    let original = p.original_replicas();
    p.adding_replicas.clear();
    p.removing_replicas.clear();
    p.isr.retain(|r| original.contains(r));
    p.replicas = original;
    settle_leader(p, live);
    Ok(())
}

/// Finishes `p`'s reassignment once every target replica is in the ISR;
/// returns whether it did.
pub fn maybe_complete(p: &mut PartitionImage, live: &BTreeSet<i32>) -> bool {
    if !p.reassigning() {
        return false;
    }
    let target: Vec<i32> = p
        .replicas
        .iter()
        .copied()
        .filter(|r| !p.removing_replicas.contains(r))
        .collect();
    if !target.iter().all(|r| p.isr.contains(r)) {
        return false;
    }
    p.adding_replicas.clear();
    p.removing_replicas.clear();
    p.isr.retain(|r| target.contains(r));
    p.replicas = target;
    settle_leader(p, live);
    true
}

/// A leader that is no longer a replica hands over to the first live ISR
/// member, at a new leader epoch.
fn settle_leader(p: &mut PartitionImage, live: &BTreeSet<i32>) {
    if p.leader == -1 || p.replicas.contains(&p.leader) {
        return;
    }
    p.leader = p
        .replicas
        .iter()
        .copied()
        .find(|r| p.isr.contains(r) && live.contains(r))
        .unwrap_or(-1);
    p.leader_epoch += 1;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn partition(replicas: &[i32], leader: i32) -> PartitionImage {
        let mut p = PartitionImage::new(replicas.to_vec());
        p.leader = leader;
        p
    }

    fn brokers(ids: &[i32]) -> BTreeSet<i32> {
        ids.iter().copied().collect()
    }

    #[test]
    fn a_move_adds_first_and_removes_once_the_new_replicas_are_in_sync() {
        let all = brokers(&[1, 2, 3, 4]);
        let mut p = partition(&[1, 2, 3], 1);
        start(&mut p, &[2, 3, 4], false, &all, &all).unwrap();
        assert_eq!(p.replicas, vec![2, 3, 4, 1]);
        assert_eq!(
            (p.adding_replicas.clone(), p.removing_replicas.clone()),
            (vec![4], vec![1])
        );
        assert!(!maybe_complete(&mut p, &all), "4 is not in the ISR yet");

        p.isr = vec![1, 2, 3, 4];
        assert!(maybe_complete(&mut p, &all));
        assert_eq!(p.replicas, vec![2, 3, 4]);
        assert_eq!(p.isr, vec![2, 3, 4]);
        assert!(!p.reassigning());
        assert_eq!(
            (p.leader, p.leader_epoch),
            (2, 1),
            "1 left: 2 leads at a new epoch"
        );
    }

    #[test]
    fn a_shrink_completes_at_once_and_a_kept_leader_keeps_its_epoch() {
        let all = brokers(&[1, 2, 3]);
        let mut p = partition(&[1, 2, 3], 1);
        start(&mut p, &[1, 2], false, &all, &all).unwrap();
        assert_eq!(
            (p.replicas.clone(), p.isr.clone()),
            (vec![1, 2], vec![1, 2])
        );
        assert!(!p.reassigning());
        assert_eq!((p.leader, p.leader_epoch), (1, 0));
    }

    #[test]
    fn a_cancel_restores_the_original_replicas() {
        let all = brokers(&[1, 2, 3, 4, 5]);
        let mut p = partition(&[1, 2, 3], 1);
        start(&mut p, &[3, 4, 5], false, &all, &all).unwrap();
        p.isr.push(4);
        cancel(&mut p, &all).unwrap();
        // As in KRaft, the original replicas keep their place in the merged
        // list (target first), and the leader stays.
        assert_eq!(
            (p.replicas.clone(), p.isr.clone()),
            (vec![3, 1, 2], vec![1, 2, 3])
        );
        assert_eq!((p.leader, p.leader_epoch), (1, 0));
        assert_eq!(
            cancel(&mut p, &all).unwrap_err().code,
            ResponseError::NoReassignmentInProgress
        );
    }

    #[test]
    fn a_new_target_replaces_the_one_in_progress() {
        let all = brokers(&[1, 2, 3, 4, 5]);
        let mut p = partition(&[1, 2, 3], 1);
        start(&mut p, &[1, 2, 4], false, &all, &all).unwrap();
        start(&mut p, &[1, 2, 5], false, &all, &all).unwrap();
        assert_eq!(p.replicas, vec![1, 2, 5, 3]);
        assert_eq!(
            (p.adding_replicas.clone(), p.removing_replicas.clone()),
            (vec![5], vec![3])
        );
    }

    #[test]
    fn bad_targets_are_refused() {
        let all = brokers(&[1, 2, 3]);
        let mut p = partition(&[1, 2], 1);
        for target in [vec![], vec![1, 1], vec![1, 9]] {
            let e = start(&mut p, &target, false, &all, &all).unwrap_err();
            assert_eq!(
                e.code,
                ResponseError::InvalidReplicaAssignment,
                "{target:?}"
            );
        }
        let e = start(&mut p, &[1, 2, 3], true, &all, &all).unwrap_err();
        assert_eq!(e.code, ResponseError::InvalidReplicationFactor);
        assert_eq!(p, partition(&[1, 2], 1), "a refused target changes nothing");
    }
}
