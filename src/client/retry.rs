//! How the tools' own protocol client retries a group request whose
//! coordinator is loading, unavailable or has moved, as Kafka's admin
//! client does: again after `retry.backoff.ms` (100 ms), doubling up to
//! `retry.backoff.max.ms` (1 s) with 20% jitter (KIP-580), until the
//! command's timeout. Each attempt finds the coordinator anew, so
//! NOT_COORDINATOR is answered by asking where the group went; a partition
//! whose leader moved is looked up again the same way. An OffsetCommit
//! from outside the group is also sent again while the group rebalances
//! (REBALANCE_IN_PROGRESS), as AlterConsumerGroupOffsets is.

use std::time::Duration;

use kafka_protocol::error::ResponseError;
use rand::Rng;
use rdkafka::types::RDKafkaErrorCode;
use tokio::time::Instant;

use super::error::ClientError;

const BACKOFF: Duration = Duration::from_millis(100);
const MAX_BACKOFF: Duration = Duration::from_millis(1000);
const JITTER: f64 = 0.2;

/// Whether `error` says the group's coordinator cannot answer yet or is
/// elsewhere: a later attempt, after finding the coordinator again, may
/// succeed.
pub fn coordinator_moving(error: &ClientError) -> bool {
    let ClientError::Protocol { code, .. } = error else {
        return false;
    };
    [
        ResponseError::CoordinatorLoadInProgress,
        ResponseError::CoordinatorNotAvailable,
        ResponseError::NotCoordinator,
    ]
    .iter()
    .any(|e| e.code() == *code)
}

/// Whether `error` says a partition's leader moved or is being elected:
/// a later attempt, after reading the leaders again, may succeed.
pub fn leader_moving(error: &ClientError) -> bool {
    let ClientError::Protocol { code, .. } = error else {
        return false;
    };
    [
        ResponseError::NotLeaderOrFollower,
        ResponseError::LeaderNotAvailable,
        ResponseError::FencedLeaderEpoch,
        ResponseError::UnknownLeaderEpoch,
    ]
    .iter()
    .any(|e| e.code() == *code)
}

/// Whether `error` says the group is rebalancing, from either client: a
/// commit from outside the group may pass once the rebalance has emptied
/// it, so Kafka's admin client commits again (AlterConsumerGroupOffsets).
pub fn rebalancing(error: &ClientError) -> bool {
    match error {
        ClientError::Protocol { code, .. } => *code == ResponseError::RebalanceInProgress.code(),
        ClientError::Broker { code, .. } => *code == RDKafkaErrorCode::RebalanceInProgress,
        _ => false,
    }
}

/// Whether an OffsetCommit from outside the group may pass later: the
/// coordinator is moving, or the group is rebalancing.
pub fn commit_retriable(error: &ClientError) -> bool {
    coordinator_moving(error) || rebalancing(error)
}

/// The waits between the attempts of one command.
pub struct Backoff {
    deadline: Instant,
    attempts: u32,
}

impl Backoff {
    /// Attempts until `deadline`.
    pub fn until(deadline: Instant) -> Backoff {
        Backoff {
            deadline,
            attempts: 0,
        }
    }

    /// The wait before the next attempt, jitter included.
    fn next_wait(&self) -> Duration {
        let exponential = BACKOFF
            .saturating_mul(2u32.saturating_pow(self.attempts))
            .min(MAX_BACKOFF);
        let jitter = rand::rng().random_range(1.0 - JITTER..=1.0 + JITTER);
        exponential.mul_f64(jitter)
    }

    /// Waits before another attempt: false, at once, when the wait would
    /// end past the deadline (the caller gives up with the last error).
    pub async fn wait(&mut self) -> bool {
        let wait = self.next_wait();
        if Instant::now() + wait >= self.deadline {
            return false;
        }
        tokio::time::sleep(wait).await;
        self.attempts = self.attempts.saturating_add(1);
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn protocol(error: ResponseError) -> ClientError {
        ClientError::Protocol {
            context: "describe".into(),
            code: error.code(),
            message: None,
        }
    }

    #[test]
    fn only_a_loading_missing_or_moved_coordinator_is_retried() {
        assert!(coordinator_moving(&protocol(
            ResponseError::CoordinatorLoadInProgress
        )));
        assert!(coordinator_moving(&protocol(
            ResponseError::CoordinatorNotAvailable
        )));
        assert!(coordinator_moving(&protocol(ResponseError::NotCoordinator)));
        assert!(!coordinator_moving(&protocol(
            ResponseError::GroupIdNotFound
        )));
        assert!(!coordinator_moving(&protocol(ResponseError::NonEmptyGroup)));
        assert!(!coordinator_moving(&ClientError::Invalid("x".into())));
        assert!(!coordinator_moving(&protocol(
            ResponseError::NotLeaderOrFollower
        )));
    }

    #[test]
    fn a_rebalance_is_told_from_either_client() {
        assert!(rebalancing(&protocol(ResponseError::RebalanceInProgress)));
        assert!(rebalancing(&ClientError::Broker {
            context: "commit".into(),
            code: RDKafkaErrorCode::RebalanceInProgress,
            message: None,
        }));
        assert!(!rebalancing(&protocol(ResponseError::UnknownMemberId)));
        assert!(!coordinator_moving(&protocol(
            ResponseError::RebalanceInProgress
        )));
    }

    #[test]
    fn only_commits_wait_out_a_rebalance() {
        let rebalance = protocol(ResponseError::RebalanceInProgress);
        assert!(!coordinator_moving(&rebalance));
        assert!(commit_retriable(&rebalance));
        assert!(commit_retriable(&protocol(ResponseError::NotCoordinator)));
        assert!(!commit_retriable(&protocol(ResponseError::UnknownMemberId)));
    }

    #[test]
    fn a_leader_moving_is_told_from_other_partition_errors() {
        assert!(leader_moving(&protocol(ResponseError::NotLeaderOrFollower)));
        assert!(leader_moving(&protocol(ResponseError::LeaderNotAvailable)));
        assert!(!leader_moving(&protocol(ResponseError::NotCoordinator)));
        assert!(!leader_moving(&protocol(
            ResponseError::UnknownTopicOrPartition
        )));
    }

    #[test]
    fn waits_double_to_a_second_with_a_fifth_of_jitter() {
        let mut backoff = Backoff::until(Instant::now() + Duration::from_secs(60));
        let mut waits = Vec::new();
        for _ in 0..6 {
            waits.push(backoff.next_wait().as_millis());
            backoff.attempts += 1;
        }
        let bounds = [(80, 120), (160, 240), (320, 480), (640, 960), (800, 1200)];
        for (wait, (low, high)) in waits.iter().zip(bounds.iter().chain([&(800, 1200)])) {
            assert!((*low..=*high).contains(wait), "{waits:?}");
        }
    }

    #[tokio::test]
    async fn no_wait_ends_past_the_deadline() {
        // The first wait (at most 120 ms) fits; the second (at least
        // 160 ms, after at least 80) does not, and is not waited.
        let mut backoff = Backoff::until(Instant::now() + Duration::from_millis(130));
        assert!(backoff.wait().await);
        let before = Instant::now();
        assert!(!backoff.wait().await);
        assert!(before.elapsed() < Duration::from_millis(20));
    }
}
