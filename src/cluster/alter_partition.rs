//! Kafka's AlterPartitionManager: the one owner of the ISR changes this
//! broker asks for as a leader. A follower's fetch that caught up proposes
//! an expansion; the ISR expiry check, timed here every half
//! replica.lag.time.max.ms, proposes shrinks. Proposals are queued per
//! partition, one in flight each, and sent to the controller in batches;
//! the outcome is counted (IsrShrinksPerSec, IsrExpandsPerSec) and logged
//! here. A partition's ISR itself changes only when the metadata image
//! that records the change is applied.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use tokio::sync::{watch, Notify};

use super::Controller;
use crate::partition::{now_ms, ReplicaManager};

/// Which way a proposal moves the ISR: what is counted and logged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IsrChange {
    /// A follower caught up and joins.
    Expand,
    /// Followers fell behind and leave.
    Shrink,
}

/// The ISR a leader asks the controller for, at the leader epoch it was
/// worked out under (a newer epoch refuses it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Proposal {
    pub leader_epoch: i32,
    pub isr: Vec<i32>,
    pub change: IsrChange,
}

type PartitionKey = (String, i32);

/// The proposals not sent yet and those the controller has not answered,
/// at most one of each per partition.
#[derive(Debug, Default)]
struct ProposalQueue {
    queued: BTreeMap<PartitionKey, Proposal>,
    in_flight: HashMap<PartitionKey, Proposal>,
}

impl ProposalQueue {
    /// Queues `proposal`, replacing one queued for the partition: the
    /// newer one was worked out from newer state. One equal to the
    /// proposal in flight is dropped, as the answer to that one settles
    /// it. Returns whether it was queued.
    fn propose(&mut self, partition: PartitionKey, proposal: Proposal) -> bool {
        if self.in_flight.get(&partition) == Some(&proposal) {
            return false;
        }
        self.queued.insert(partition, proposal);
        true
    }

    /// The queued proposals of partitions with none in flight, now in flight.
    fn take_batch(&mut self) -> Vec<(PartitionKey, Proposal)> {
        let (ready, waiting): (BTreeMap<_, _>, BTreeMap<_, _>) = std::mem::take(&mut self.queued)
            .into_iter()
            .partition(|(partition, _)| !self.in_flight.contains_key(partition));
        self.queued = waiting;
        ready
            .into_iter()
            .inspect(|(partition, proposal)| {
                self.in_flight.insert(partition.clone(), proposal.clone());
            })
            .collect()
    }

    /// The controller answered the partition's proposal, accepted or not:
    /// the next one for it may go. A refused change is not retried as it
    /// was; the partition proposes again from its state at the time.
    fn answered(&mut self, partition: &PartitionKey) {
        self.in_flight.remove(partition);
    }
}

/// Takes ISR proposals from anywhere in the broker; [`AlterPartitionManager::run`]
/// sends them.
#[derive(Debug, Default)]
pub struct AlterPartitionManager {
    queue: Mutex<ProposalQueue>,
    wake: Notify,
}

impl AlterPartitionManager {
    /// Asks for `partition` of `topic` to have `proposal`'s ISR.
    pub fn propose(&self, topic: &str, partition: i32, proposal: Proposal) {
        if self
            .queue
            .lock()
            .propose((topic.to_string(), partition), proposal)
        {
            self.wake.notify_one();
        }
    }

    /// Sends the proposals to the controller until shutdown, and every half
    /// `lag_max_ms` (replica.lag.time.max.ms) proposes the shrinks of the
    /// partitions this broker leads whose followers fell behind.
    pub async fn run(
        self: Arc<Self>,
        controller: Arc<Controller>,
        replicas: Arc<ReplicaManager>,
        lag_max_ms: i64,
        mut shutdown: watch::Receiver<bool>,
    ) {
        let period = Duration::from_millis((lag_max_ms / 2).max(100) as u64);
        let mut expiry = tokio::time::interval(period);
        expiry.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        expiry.tick().await;
        loop {
            tokio::select! {
                _ = shutdown.changed() => break,
                _ = self.wake.notified() => {}
                _ = expiry.tick() => self.propose_shrinks(&replicas, lag_max_ms),
            }
            let batch = self.queue.lock().take_batch();
            if batch.is_empty() {
                continue;
            }
            let sends = batch.iter().map(|((topic, partition), proposal)| {
                controller.alter_partition(
                    topic,
                    *partition,
                    proposal.leader_epoch,
                    proposal.isr.clone(),
                )
            });
            // A controller that does not answer must not hold up the stop.
            let results = tokio::select! {
                _ = shutdown.changed() => break,
                results = futures::future::join_all(sends) => results,
            };
            let mut queue = self.queue.lock();
            for (((topic, partition), proposal), result) in batch.iter().zip(results) {
                queue.answered(&(topic.clone(), *partition));
                let isr = &proposal.isr;
                match (result, proposal.change) {
                    (Ok(()), IsrChange::Shrink) => {
                        crate::metrics::isr::shrunk();
                        tracing::warn!(%topic, partition, ?isr, "follower fell behind: ISR shrunk");
                    }
                    (Ok(()), IsrChange::Expand) => {
                        crate::metrics::isr::expanded();
                        tracing::info!(%topic, partition, ?isr, "follower caught up: ISR expanded");
                    }
                    (Err(e), change) => {
                        tracing::debug!(%topic, partition, ?isr, ?change, error = %e, "ISR change refused");
                    }
                }
            }
        }
    }

    /// Kafka's ISR expiry: proposes to drop the followers that have not
    /// caught up for `lag_max_ms`.
    fn propose_shrinks(&self, replicas: &ReplicaManager, lag_max_ms: i64) {
        let now = now_ms();
        // Thousands of partitions alone in their ISR are passed over
        // without cloning or locking any of them.
        for p in replicas.partitions_where(|p| p.isr_can_shrink()) {
            if let Some(isr) = p.shrunk_isr(now, lag_max_ms) {
                self.propose(
                    &p.topic,
                    p.index,
                    Proposal {
                        leader_epoch: p.leader_epoch(),
                        isr,
                        change: IsrChange::Shrink,
                    },
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(partition: i32) -> PartitionKey {
        ("t".to_string(), partition)
    }

    fn shrink(isr: Vec<i32>) -> Proposal {
        Proposal {
            leader_epoch: 3,
            isr,
            change: IsrChange::Shrink,
        }
    }

    #[test]
    fn a_newer_proposal_replaces_a_queued_one_and_all_partitions_go_in_one_batch() {
        let mut queue = ProposalQueue::default();
        assert!(queue.propose(key(0), shrink(vec![1, 2])));
        assert!(queue.propose(key(0), shrink(vec![1])));
        assert!(queue.propose(key(1), shrink(vec![1, 3])));
        assert_eq!(
            queue.take_batch(),
            [(key(0), shrink(vec![1])), (key(1), shrink(vec![1, 3]))]
        );
        assert_eq!(queue.take_batch(), [], "nothing is sent twice");
    }

    #[test]
    fn one_proposal_per_partition_is_in_flight_and_the_next_waits_for_its_answer() {
        let mut queue = ProposalQueue::default();
        queue.propose(key(0), shrink(vec![1, 2]));
        assert_eq!(queue.take_batch(), [(key(0), shrink(vec![1, 2]))]);
        // The same again settles nothing the answer will not.
        assert!(!queue.propose(key(0), shrink(vec![1, 2])));
        // Another change, and another partition's, are queued; only the
        // other partition's goes while the first waits for its answer.
        let expand = Proposal {
            leader_epoch: 3,
            isr: vec![1, 2, 3],
            change: IsrChange::Expand,
        };
        assert!(queue.propose(key(0), expand.clone()));
        queue.propose(key(1), shrink(vec![1]));
        assert_eq!(queue.take_batch(), [(key(1), shrink(vec![1]))]);
        queue.answered(&key(0));
        assert_eq!(queue.take_batch(), [(key(0), expand)]);
    }

    #[test]
    fn a_refused_proposal_can_be_proposed_again_once_answered() {
        let mut queue = ProposalQueue::default();
        queue.propose(key(0), shrink(vec![1]));
        assert_eq!(queue.take_batch().len(), 1);
        // Refused (say, a stale leader epoch): the partition's next check
        // proposes the same change, and it goes.
        queue.answered(&key(0));
        assert!(queue.propose(key(0), shrink(vec![1])));
        assert_eq!(queue.take_batch(), [(key(0), shrink(vec![1]))]);
    }
}
