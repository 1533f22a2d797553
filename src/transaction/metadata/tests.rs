//! The transaction state machine without a coordinator or a log: each
//! request's transition and the error Kafka gives where the state does not
//! allow it, as Kafka's TransactionMetadataTest and
//! TransactionCoordinatorTest check them.

use kafka_protocol::error::ResponseError;

use super::{TransactionMetadata, TxnState, MAX_EPOCH};
use crate::topic_partition::TopicPartition;

const PID: i64 = 7;
const TIMEOUT_MS: i32 = 60_000;

fn tp(topic: &str, partition: i32) -> TopicPartition {
    TopicPartition::new(topic, partition)
}

fn no_allocation() -> Result<i64, ResponseError> {
    panic!("the epoch was not used up: no new producer id")
}

/// A producer at epoch 0 after its first InitProducerId.
fn initialised() -> TransactionMetadata {
    TransactionMetadata::new(PID, TIMEOUT_MS, 0)
        .prepare_init_producer_id(TIMEOUT_MS, 0, None, no_allocation)
        .unwrap()
}

/// The producer's transaction open on t-0 since `start`.
fn ongoing(start: i64) -> TransactionMetadata {
    initialised()
        .prepare_add_partitions(PID, 0, &[tp("t", 0)], start)
        .unwrap()
        .expect("a transaction begins")
}

fn in_state(state: TxnState) -> TransactionMetadata {
    TransactionMetadata {
        state,
        ..ongoing(1_000)
    }
}

#[test]
fn init_producer_id_bumps_the_epoch_and_rotates_the_producer_id_when_epochs_run_out() {
    let first = initialised();
    assert_eq!((first.producer_id, first.producer_epoch), (PID, 0));
    assert_eq!(first.state, TxnState::Empty);

    let again = ongoing(1_000)
        .prepare_init_producer_id(30_000, 2_000, None, no_allocation)
        .unwrap();
    assert_eq!((again.producer_id, again.producer_epoch), (PID, 1));
    assert_eq!(again.state, TxnState::Empty);
    assert!(again.partitions.is_empty());
    assert_eq!(
        (again.start_ms, again.timeout_ms, again.last_update_ms),
        (-1, 30_000, 2_000)
    );

    let exhausted = TransactionMetadata {
        producer_epoch: MAX_EPOCH,
        ..first.clone()
    };
    let rotated = exhausted
        .prepare_init_producer_id(TIMEOUT_MS, 0, None, || Ok(8))
        .unwrap();
    assert_eq!((rotated.producer_id, rotated.producer_epoch), (8, 0));
    assert_eq!(
        exhausted.prepare_init_producer_id(TIMEOUT_MS, 0, None, || Err(
            ResponseError::CoordinatorLoadInProgress
        )),
        Err(ResponseError::CoordinatorLoadInProgress),
        "no producer id to rotate to"
    );
}

#[test]
fn a_producer_is_checked_by_producer_id_and_epoch() {
    let meta = ongoing(1_000)
        .prepare_init_producer_id(TIMEOUT_MS, 0, None, no_allocation)
        .unwrap();
    assert_eq!(meta.check_producer(PID, 1), Ok(()));
    assert_eq!(
        meta.check_producer(PID, 0),
        Err(ResponseError::ProducerFenced)
    );
    assert_eq!(
        meta.check_producer(PID + 1, 1),
        Err(ResponseError::InvalidProducerIdMapping)
    );
}

/// KIP-360, as Kafka's TransactionCoordinator checks a re-initialising
/// producer's id and epoch.
#[test]
fn a_re_initialising_producer_bumps_its_own_epoch_and_a_retry_gets_the_same_answer() {
    let init = |meta: &TransactionMetadata, expected: Option<(i64, i16)>| {
        meta.prepare_init_producer_id(TIMEOUT_MS, 0, expected, || Ok(PID + 100))
            .map(|m| (m.producer_id, m.producer_epoch))
    };
    let at_3 = TransactionMetadata {
        producer_epoch: 3,
        ..initialised()
    };
    assert_eq!(
        init(&at_3, Some((PID, 3))),
        Ok((PID, 4)),
        "its own epoch is bumped"
    );
    let bumped = at_3
        .prepare_init_producer_id(TIMEOUT_MS, 0, Some((PID, 3)), no_allocation)
        .unwrap();
    assert_eq!(
        init(&bumped, Some((PID, 3))),
        Ok((PID, 4)),
        "a retry of that bump"
    );
    assert_eq!(init(&bumped, Some((PID, 4))), Ok((PID, 5)));
    assert_eq!(
        init(&bumped, Some((PID, 2))),
        Err(ResponseError::ProducerFenced),
        "an older epoch"
    );
    assert_eq!(
        init(&bumped, Some((PID + 1, 4))),
        Err(ResponseError::ProducerFenced),
        "another producer id"
    );
    let fenced = bumped
        .prepare_init_producer_id(TIMEOUT_MS, 0, None, no_allocation)
        .unwrap();
    assert_eq!(
        init(&fenced, Some((PID, 4))),
        Err(ResponseError::ProducerFenced),
        "a producer fenced by a new one of the same id is not a retry"
    );

    let expired = TransactionMetadata::new(PID, TIMEOUT_MS, 0);
    assert_eq!(
        init(&expired, Some((PID - 5, 9))),
        Ok((PID, 0)),
        "an id the coordinator no longer knows takes the producer back with a new producer id"
    );

    let exhausted = TransactionMetadata {
        producer_epoch: MAX_EPOCH,
        ..initialised()
    };
    let rotated = exhausted
        .prepare_init_producer_id(TIMEOUT_MS, 0, Some((PID, MAX_EPOCH)), || Ok(PID + 100))
        .unwrap();
    assert_eq!(
        (rotated.producer_id, rotated.producer_epoch),
        (PID + 100, 0)
    );
    assert_eq!(
        init(&rotated, Some((PID, MAX_EPOCH))),
        Ok((PID + 100, 0)),
        "a retry of the rotation"
    );
    assert_eq!(
        init(&rotated, Some((PID, MAX_EPOCH - 1))),
        Err(ResponseError::ProducerFenced)
    );
}

#[test]
fn add_partitions_begins_or_extends_the_transaction_in_each_state() {
    // Empty: the transaction begins at `now`.
    let begun = ongoing(1_000);
    assert_eq!(begun.state, TxnState::Ongoing);
    assert_eq!((begun.start_ms, begun.last_update_ms), (1_000, 1_000));

    // Ongoing: a known partition changes nothing; a new one joins, and the
    // transaction keeps its start.
    assert_eq!(
        begun.prepare_add_partitions(PID, 0, &[tp("t", 0)], 2_000),
        Ok(None)
    );
    let grown = begun
        .prepare_add_partitions(PID, 0, &[tp("t", 0), tp("u", 3)], 2_000)
        .unwrap()
        .expect("u-3 joins");
    assert_eq!(grown.partitions, [tp("t", 0), tp("u", 3)].into());
    assert_eq!((grown.start_ms, grown.last_update_ms), (1_000, 2_000));

    // Complete: the next transaction begins.
    for ended in [TxnState::CompleteCommit, TxnState::CompleteAbort] {
        let next = TransactionMetadata {
            state: ended,
            partitions: Default::default(),
            start_ms: -1,
            ..begun.clone()
        }
        .prepare_add_partitions(PID, 0, &[tp("t", 1)], 5_000)
        .unwrap()
        .expect("a new transaction");
        assert_eq!((next.state, next.start_ms), (TxnState::Ongoing, 5_000));
        assert_eq!(next.partitions, [tp("t", 1)].into());
    }

    // Ending: the client retries once the markers are written.
    for ending in [TxnState::PrepareCommit, TxnState::PrepareAbort] {
        assert_eq!(
            in_state(ending).prepare_add_partitions(PID, 0, &[tp("t", 1)], 5_000),
            Err(ResponseError::ConcurrentTransactions)
        );
    }

    // Another producer of the id, or an older one.
    assert_eq!(
        begun.prepare_add_partitions(PID, 1, &[tp("t", 1)], 5_000),
        Err(ResponseError::ProducerFenced)
    );
    assert_eq!(
        begun.prepare_add_partitions(PID + 1, 0, &[tp("t", 1)], 5_000),
        Err(ResponseError::InvalidProducerIdMapping)
    );
}

#[test]
fn end_txn_goes_through_prepare_to_complete() {
    for (commit, prepare, complete) in [
        (true, TxnState::PrepareCommit, TxnState::CompleteCommit),
        (false, TxnState::PrepareAbort, TxnState::CompleteAbort),
    ] {
        let prepared = ongoing(1_000)
            .prepare_end(PID, 0, commit, 3_000)
            .unwrap()
            .expect("the open transaction ends");
        assert_eq!((prepared.state, prepared.last_update_ms), (prepare, 3_000));
        assert!(prepared.is_ending());
        assert_eq!(
            prepared.partitions,
            [tp("t", 0)].into(),
            "the markers go there"
        );

        let completed = prepared.prepare_complete(4_000);
        assert_eq!(completed.state, complete);
        assert_eq!((completed.start_ms, completed.last_update_ms), (-1, 4_000));
        assert_eq!(completed.producer_epoch, 0, "an end keeps the producer");
    }
}

#[test]
fn end_txn_in_the_wrong_state_gets_kafkas_error() {
    let cases = [
        // A retry of an end that completed is answered as it was.
        (TxnState::CompleteCommit, true, Ok(None)),
        (TxnState::CompleteAbort, false, Ok(None)),
        // A retry while the markers are being written.
        (
            TxnState::PrepareCommit,
            true,
            Err(ResponseError::ConcurrentTransactions),
        ),
        (
            TxnState::PrepareAbort,
            false,
            Err(ResponseError::ConcurrentTransactions),
        ),
        // The opposite end of one ending or ended, or no transaction at all.
        (
            TxnState::PrepareCommit,
            false,
            Err(ResponseError::InvalidTxnState),
        ),
        (
            TxnState::PrepareAbort,
            true,
            Err(ResponseError::InvalidTxnState),
        ),
        (
            TxnState::CompleteCommit,
            false,
            Err(ResponseError::InvalidTxnState),
        ),
        (
            TxnState::CompleteAbort,
            true,
            Err(ResponseError::InvalidTxnState),
        ),
        (TxnState::Empty, true, Err(ResponseError::InvalidTxnState)),
        (TxnState::Empty, false, Err(ResponseError::InvalidTxnState)),
    ];
    for (state, commit, expected) in cases {
        assert_eq!(
            in_state(state).prepare_end(PID, 0, commit, 3_000),
            expected,
            "EndTxn(commit = {commit}) in {state:?}"
        );
    }
    assert_eq!(
        ongoing(1_000).prepare_end(PID, 1, true, 3_000),
        Err(ResponseError::ProducerFenced)
    );
    assert_eq!(
        ongoing(1_000).prepare_end(PID + 1, 0, true, 3_000),
        Err(ResponseError::InvalidProducerIdMapping)
    );
}

#[test]
fn a_timed_out_transaction_is_aborted_at_a_bumped_epoch_that_fences_its_producer() {
    let open = ongoing(1_000);
    let timeout = i64::from(TIMEOUT_MS);
    assert!(!open.timed_out(1_000 + timeout - 1));
    assert!(open.timed_out(1_000 + timeout));
    for state in [
        TxnState::Empty,
        TxnState::PrepareCommit,
        TxnState::CompleteAbort,
    ] {
        assert!(
            !in_state(state).timed_out(i64::MAX),
            "{state:?} has nothing open"
        );
    }

    let aborting = open
        .prepare_fence_producer_epoch()
        .prepare_abort_or_commit(false, 1_000 + timeout);
    assert_eq!(
        (aborting.state, aborting.producer_epoch),
        (TxnState::PrepareAbort, 1)
    );
    assert_eq!(
        aborting.prepare_end(PID, 0, true, 1_000 + timeout),
        Err(ResponseError::ProducerFenced),
        "the producer that left it open is fenced"
    );
    assert_eq!(
        aborting.prepare_complete(1_000 + timeout).state,
        TxnState::CompleteAbort
    );

    let at_the_top = TransactionMetadata {
        producer_epoch: MAX_EPOCH,
        ..open
    };
    assert_eq!(
        at_the_top.prepare_fence_producer_epoch().producer_epoch,
        MAX_EPOCH
    );
}

#[test]
fn only_an_idle_id_expires() {
    const EXPIRATION_MS: i64 = 1_000;
    for state in [
        TxnState::Empty,
        TxnState::CompleteCommit,
        TxnState::CompleteAbort,
    ] {
        let idle = TransactionMetadata {
            last_update_ms: 5_000,
            ..in_state(state)
        };
        assert!(!idle.expired(5_999, EXPIRATION_MS), "{state:?}");
        assert!(idle.expired(6_000, EXPIRATION_MS), "{state:?}");
    }
    for state in [
        TxnState::Ongoing,
        TxnState::PrepareCommit,
        TxnState::PrepareAbort,
    ] {
        assert!(
            !in_state(state).expired(i64::MAX, EXPIRATION_MS),
            "{state:?}"
        );
    }
}
