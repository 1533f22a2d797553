//! Kafka's AlterPartitionManager: the one owner of the ISR changes this
//! broker asks for as a leader. A follower's fetch that caught up proposes
//! an expansion; the ISR expiry check, timed here every half
//! replica.lag.time.max.ms, proposes shrinks. Proposals are queued per
//! partition, one in flight each, and sent to the controller in batches;
//! the outcome is counted (IsrShrinksPerSec, IsrExpandsPerSec) and logged
//! here. A partition's ISR itself changes only when the metadata image
//! that records the change is applied. A refusal is handled as Kafka's
//! Partition handles it (see [`Answer`]): retried, dropped, or held until
//! the metadata brings the partition a newer partition epoch.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;

use kafka_protocol::error::ResponseError;
use parking_lot::Mutex;
use tokio::sync::{watch, Notify};

use super::controller::ineligibility;
use super::{Controller, ControllerError};
use crate::partition::{now_ms, ReplicaManager};
use crate::topic_partition::TopicPartition;

/// Which way a proposal moves the ISR: what is counted and logged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IsrChange {
    /// A follower caught up and joins.
    Expand,
    /// Followers fell behind and leave.
    Shrink,
}

/// Kafka's retry.backoff.ms default: how long a proposal the controller
/// could not take waits before it goes again.
const RETRY_BACKOFF: Duration = Duration::from_millis(100);

/// The ISR a leader asks the controller for, at the leader epoch and
/// partition epoch of the state it was worked out from (a newer state
/// refuses it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Proposal {
    pub leader_epoch: i32,
    pub partition_epoch: i32,
    pub isr: Vec<i32>,
    /// The replicas an expansion adds, with the broker epoch each fetched
    /// at (KIP-903): the controller refuses one registered again since.
    pub joining: Vec<(i32, i64)>,
    pub change: IsrChange,
}

/// What the broker does with the controller's answer to a proposal, as
/// Kafka's Partition.handleAlterPartitionError.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Answer {
    /// Accepted: the metadata brings the new ISR.
    Accepted,
    /// The controller did not take it (NOT_CONTROLLER: it has not caught
    /// up with the leader's epochs; or an unexpected error): sent again.
    Retry,
    /// Built on a state the controller has moved past (FENCED_LEADER_EPOCH,
    /// INVALID_UPDATE_VERSION, INVALID_REQUEST, UNKNOWN_TOPIC_OR_PARTITION),
    /// or made but with leadership moved off this broker as it completed a
    /// reassignment (NEW_LEADER_ELECTED): nothing more is proposed for the
    /// partition until the metadata brings it a newer partition epoch.
    AwaitMetadata,
    /// Refused with the state still current (INELIGIBLE_REPLICA, a fenced
    /// broker in the new ISR): the partition may propose again.
    Refused,
}

impl Answer {
    fn of(result: &Result<(), ControllerError>) -> Answer {
        let Err(e) = result else {
            return Answer::Accepted;
        };
        match e.code {
            ResponseError::FencedLeaderEpoch
            | ResponseError::InvalidUpdateVersion
            | ResponseError::InvalidRequest
            | ResponseError::UnknownTopicOrPartition
            | ResponseError::UnknownTopicId
            | ResponseError::NewLeaderElected => Answer::AwaitMetadata,
            ResponseError::IneligibleReplica | ResponseError::OperationNotAttempted => {
                Answer::Refused
            }
            _ => Answer::Retry,
        }
    }
}

/// The proposals not sent yet and those the controller has not answered,
/// at most one of each per partition.
#[derive(Debug, Default)]
struct ProposalQueue {
    queued: BTreeMap<TopicPartition, Proposal>,
    in_flight: HashMap<TopicPartition, Proposal>,
    /// Partitions whose proposal at this partition epoch was refused as
    /// stale: proposals at it or older are dropped.
    awaiting_metadata: HashMap<TopicPartition, i32>,
}

impl ProposalQueue {
    /// Queues `proposal`, replacing one queued for the partition: the
    /// newer one was worked out from newer state. One equal to the
    /// proposal in flight is dropped, as the answer to that one settles
    /// it; so is one from a state the controller already refused as
    /// stale. Returns whether it was queued.
    fn propose(&mut self, partition: TopicPartition, proposal: Proposal) -> bool {
        if self.in_flight.get(&partition) == Some(&proposal) {
            return false;
        }
        match self.awaiting_metadata.get(&partition) {
            Some(stale) if proposal.partition_epoch <= *stale => return false,
            Some(_) => {
                self.awaiting_metadata.remove(&partition);
            }
            None => {}
        }
        self.queued.insert(partition, proposal);
        true
    }

    /// The queued proposals of partitions with none in flight, now in flight.
    fn take_batch(&mut self) -> Vec<(TopicPartition, Proposal)> {
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

    /// The controller answered the partition's proposal: the next one for
    /// it may go. One to retry goes again unless a newer one was queued
    /// meanwhile. Returns whether one was queued again.
    fn answered(&mut self, partition: &TopicPartition, answer: Answer) -> bool {
        let Some(proposal) = self.in_flight.remove(partition) else {
            return false;
        };
        match answer {
            Answer::Retry if !self.queued.contains_key(partition) => {
                self.queued.insert(partition.clone(), proposal);
                true
            }
            Answer::AwaitMetadata => {
                self.queued.retain(|p, queued| {
                    p != partition || queued.partition_epoch > proposal.partition_epoch
                });
                self.awaiting_metadata
                    .insert(partition.clone(), proposal.partition_epoch);
                false
            }
            _ => false,
        }
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
    /// Asks for `partition` to have `proposal`'s ISR.
    pub fn propose(&self, partition: TopicPartition, proposal: Proposal) {
        if self.queue.lock().propose(partition, proposal) {
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
        let mut retry = false;
        loop {
            tokio::select! {
                _ = shutdown.changed() => break,
                _ = self.wake.notified() => {}
                _ = expiry.tick() => self.propose_shrinks(&replicas, lag_max_ms),
                _ = tokio::time::sleep(RETRY_BACKOFF), if retry => {}
            }
            retry = false;
            let batch = self.queue.lock().take_batch();
            let batch = self.drop_ineligible(&controller, batch);
            if batch.is_empty() {
                continue;
            }
            let sends = batch.iter().map(|(tp, proposal)| {
                controller.alter_partition(
                    &tp.topic,
                    tp.partition,
                    (proposal.leader_epoch, proposal.partition_epoch),
                    proposal.isr.clone(),
                    stated_epochs(&replicas, tp, proposal),
                )
            });
            // A controller that does not answer must not hold up the stop.
            let results = tokio::select! {
                _ = shutdown.changed() => break,
                results = futures::future::join_all(sends) => results,
            };
            let mut queue = self.queue.lock();
            for ((tp, proposal), result) in batch.iter().zip(results) {
                let answer = Answer::of(&result);
                retry |= queue.answered(tp, answer);
                let (topic, partition) = (&tp.topic, tp.partition);
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
                    (Err(e), _) if e.code == ResponseError::NewLeaderElected => {
                        tracing::info!(%topic, partition, ?isr, "ISR changed, completing a reassignment that took this broker off the replicas: {e}");
                    }
                    (Err(e), change) => {
                        tracing::debug!(%topic, partition, ?isr, ?change, ?answer, error = %e, "ISR change refused");
                    }
                }
            }
        }
    }

    /// Kafka's Partition.isReplicaIsrEligible: an expansion whose joining
    /// replica this broker's metadata shows fenced, unregistered, or
    /// registered again since the fetch that proposed it is not sent; it
    /// is settled as refused, so the follower's next fetch proposes again
    /// from the metadata then.
    fn drop_ineligible(
        &self,
        controller: &Controller,
        batch: Vec<(TopicPartition, Proposal)>,
    ) -> Vec<(TopicPartition, Proposal)> {
        if batch.iter().all(|(_, p)| p.joining.is_empty()) {
            return batch;
        }
        let image = controller.image();
        let mut queue = self.queue.lock();
        batch
            .into_iter()
            .filter(|(tp, proposal)| {
                let why = proposal
                    .joining
                    .iter()
                    .find_map(|(id, epoch)| ineligibility(&image, *id, *epoch));
                let Some(why) = why else {
                    return true;
                };
                queue.answered(tp, Answer::Refused);
                let (topic, partition) = (&tp.topic, tp.partition);
                tracing::debug!(%topic, partition, isr = ?proposal.isr, reason = %why, "ISR expansion not proposed: ineligible replica");
                false
            })
            .collect()
    }

    /// Kafka's ISR expiry: proposes to drop the followers that have not
    /// caught up for `lag_max_ms`.
    fn propose_shrinks(&self, replicas: &ReplicaManager, lag_max_ms: i64) {
        let now = now_ms();
        // Thousands of partitions alone in their ISR are passed over
        // without cloning or locking any of them.
        for p in replicas.partitions_where(|p| p.isr_can_shrink()) {
            let (leader_epoch, partition_epoch) = p.epochs();
            if let Some(isr) = p.shrunk_isr(now, lag_max_ms) {
                self.propose(
                    TopicPartition::new(&p.topic, p.index),
                    Proposal {
                        leader_epoch,
                        partition_epoch,
                        isr,
                        joining: Vec::new(),
                        change: IsrChange::Shrink,
                    },
                );
            }
        }
    }
}

/// The broker epochs a proposal states (Kafka's NewIsrWithEpochs): each
/// joining replica's at the fetch that proposed it, and every other
/// member's at its last fetch, so that a member registered again since (an
/// unclean restart) cannot stay in the ISR on its previous life.
fn stated_epochs(
    replicas: &ReplicaManager,
    tp: &TopicPartition,
    proposal: &Proposal,
) -> Vec<(i32, i64)> {
    let mut epochs = proposal.joining.clone();
    let staying: Vec<i32> = proposal
        .isr
        .iter()
        .copied()
        .filter(|id| !epochs.iter().any(|(joining, _)| joining == id))
        .collect();
    if let Some(p) = replicas.partition(&tp.topic, tp.partition) {
        epochs.extend(p.isr_broker_epochs(&staying));
    }
    epochs
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(partition: i32) -> TopicPartition {
        TopicPartition::new("t", partition)
    }

    fn shrink(isr: Vec<i32>) -> Proposal {
        Proposal {
            leader_epoch: 3,
            partition_epoch: 7,
            isr,
            joining: Vec::new(),
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
            partition_epoch: 7,
            isr: vec![1, 2, 3],
            joining: vec![(3, 12)],
            change: IsrChange::Expand,
        };
        assert!(queue.propose(key(0), expand.clone()));
        queue.propose(key(1), shrink(vec![1]));
        assert_eq!(queue.take_batch(), [(key(1), shrink(vec![1]))]);
        queue.answered(&key(0), Answer::Accepted);
        assert_eq!(queue.take_batch(), [(key(0), expand)]);
    }

    fn refusal(code: ResponseError) -> Answer {
        Answer::of(&Err(ControllerError::new(code, "refused")))
    }

    #[test]
    fn each_answer_is_handled_as_kafkas_partition_handles_it() {
        assert_eq!(Answer::of(&Ok(())), Answer::Accepted);
        for code in [ResponseError::NotController, ResponseError::RequestTimedOut] {
            assert_eq!(refusal(code), Answer::Retry, "{code:?}");
        }
        for code in [
            ResponseError::FencedLeaderEpoch,
            ResponseError::InvalidUpdateVersion,
            ResponseError::InvalidRequest,
            ResponseError::UnknownTopicOrPartition,
            ResponseError::NewLeaderElected,
        ] {
            assert_eq!(refusal(code), Answer::AwaitMetadata, "{code:?}");
        }
        assert_eq!(refusal(ResponseError::IneligibleReplica), Answer::Refused);
    }

    #[test]
    fn an_ineligible_replica_refusal_can_be_proposed_again_once_answered() {
        let mut queue = ProposalQueue::default();
        queue.propose(key(0), shrink(vec![1]));
        assert_eq!(queue.take_batch().len(), 1);
        assert!(!queue.answered(&key(0), Answer::Refused));
        assert!(queue.propose(key(0), shrink(vec![1])));
        assert_eq!(queue.take_batch(), [(key(0), shrink(vec![1]))]);
    }

    #[test]
    fn a_proposal_the_controller_could_not_take_goes_again_unless_a_newer_one_waits() {
        let mut queue = ProposalQueue::default();
        queue.propose(key(0), shrink(vec![1, 2]));
        queue.take_batch();
        assert!(queue.answered(&key(0), Answer::Retry));
        assert_eq!(queue.take_batch(), [(key(0), shrink(vec![1, 2]))]);
        queue.propose(key(0), shrink(vec![1]));
        assert!(!queue.answered(&key(0), Answer::Retry));
        assert_eq!(queue.take_batch(), [(key(0), shrink(vec![1]))]);
    }

    #[test]
    fn a_stale_refusal_holds_the_partition_until_a_newer_partition_epoch() {
        let mut queue = ProposalQueue::default();
        queue.propose(key(0), shrink(vec![1, 2]));
        queue.take_batch();
        // Queued meanwhile from the same stale state: dropped with it.
        queue.propose(key(0), shrink(vec![1]));
        assert!(!queue.answered(&key(0), Answer::AwaitMetadata));
        assert_eq!(queue.take_batch(), []);
        assert!(
            !queue.propose(key(0), shrink(vec![1])),
            "same partition epoch"
        );
        // Another partition is not held.
        assert!(queue.propose(key(1), shrink(vec![1])));
        let newer = Proposal {
            partition_epoch: 8,
            ..shrink(vec![1])
        };
        assert!(queue.propose(key(0), newer.clone()));
        assert_eq!(
            queue.take_batch(),
            [(key(0), newer), (key(1), shrink(vec![1]))]
        );
    }
}
