//! One transactional id's state at the coordinator, as Kafka's
//! `TransactionMetadata` keeps it, and its transitions: each `prepare_*`
//! checks a request against the state and returns the state to write,
//! without writing it (Kafka's prepareTransitionTo), so that the
//! coordinator does the I/O and the rules are tested alone.

use std::collections::BTreeSet;

use kafka_protocol::error::ResponseError;

use crate::topic_partition::TopicPartition;

/// Kafka's transaction states, with the codes `__transaction_state` stores.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TxnState {
    Empty,
    Ongoing,
    PrepareCommit,
    PrepareAbort,
    CompleteCommit,
    CompleteAbort,
    Dead,
    PrepareEpochFence,
}

impl TxnState {
    pub fn code(self) -> i8 {
        match self {
            TxnState::Empty => 0,
            TxnState::Ongoing => 1,
            TxnState::PrepareCommit => 2,
            TxnState::PrepareAbort => 3,
            TxnState::CompleteCommit => 4,
            TxnState::CompleteAbort => 5,
            TxnState::Dead => 6,
            TxnState::PrepareEpochFence => 7,
        }
    }

    pub fn from_code(code: i8) -> Option<TxnState> {
        Some(match code {
            0 => TxnState::Empty,
            1 => TxnState::Ongoing,
            2 => TxnState::PrepareCommit,
            3 => TxnState::PrepareAbort,
            4 => TxnState::CompleteCommit,
            5 => TxnState::CompleteAbort,
            6 => TxnState::Dead,
            7 => TxnState::PrepareEpochFence,
            _ => return None,
        })
    }

    /// The name DescribeTransactions and ListTransactions report.
    pub fn name(self) -> &'static str {
        match self {
            TxnState::Empty => "Empty",
            TxnState::Ongoing => "Ongoing",
            TxnState::PrepareCommit => "PrepareCommit",
            TxnState::PrepareAbort => "PrepareAbort",
            TxnState::CompleteCommit => "CompleteCommit",
            TxnState::CompleteAbort => "CompleteAbort",
            TxnState::Dead => "Dead",
            TxnState::PrepareEpochFence => "PrepareEpochFence",
        }
    }

    pub const ALL: [TxnState; 8] = [
        TxnState::Empty,
        TxnState::Ongoing,
        TxnState::PrepareCommit,
        TxnState::PrepareAbort,
        TxnState::CompleteCommit,
        TxnState::CompleteAbort,
        TxnState::Dead,
        TxnState::PrepareEpochFence,
    ];
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransactionMetadata {
    pub producer_id: i64,
    pub producer_epoch: i16,
    pub timeout_ms: i32,
    pub state: TxnState,
    /// The partitions the open (or ending) transaction has written to.
    pub partitions: BTreeSet<TopicPartition>,
    /// When the open transaction began; -1 when none is open.
    pub start_ms: i64,
    pub last_update_ms: i64,
    /// The producer id and epoch the last InitProducerId moved on from when
    /// the producer named them (KIP-360); -1 otherwise. A retry of that
    /// request, whose answer was lost, names them again and gets the same
    /// answer instead of PRODUCER_FENCED. In memory only, as Kafka's
    /// lastProducerEpoch: a coordinator that loads the id starts without.
    pub last_producer_id: i64,
    pub last_producer_epoch: i16,
}

/// The highest epoch handed out: past it InitProducerId gives a new
/// producer id, and a fence bump stops at it.
const MAX_EPOCH: i16 = i16::MAX - 1;

impl TransactionMetadata {
    /// A transactional id first seen: InitProducerId bumps its epoch to 0.
    pub fn new(producer_id: i64, timeout_ms: i32, now_ms: i64) -> TransactionMetadata {
        TransactionMetadata {
            producer_id,
            producer_epoch: -1,
            timeout_ms,
            state: TxnState::Empty,
            partitions: BTreeSet::new(),
            start_ms: -1,
            last_update_ms: now_ms,
            last_producer_id: -1,
            last_producer_epoch: -1,
        }
    }

    /// Whether the transaction is between its Prepare record and its markers.
    pub fn is_ending(&self) -> bool {
        matches!(self.state, TxnState::PrepareCommit | TxnState::PrepareAbort)
    }

    /// Whether the open transaction has outlived its transaction.timeout.ms.
    pub fn timed_out(&self, now_ms: i64) -> bool {
        self.state == TxnState::Ongoing
            && now_ms.saturating_sub(self.start_ms) >= i64::from(self.timeout_ms)
    }

    /// Whether the id, idle with no transaction open or ending, has been
    /// idle for transactional.id.expiration.ms.
    pub fn expired(&self, now_ms: i64, expiration_ms: i64) -> bool {
        matches!(
            self.state,
            TxnState::Empty | TxnState::CompleteCommit | TxnState::CompleteAbort
        ) && now_ms.saturating_sub(self.last_update_ms) >= expiration_ms
    }

    /// A producer naming itself must be the id's current one: another
    /// producer id is INVALID_PRODUCER_ID_MAPPING, another epoch (an older
    /// producer of the same id) PRODUCER_FENCED.
    pub fn check_producer(
        &self,
        producer_id: i64,
        producer_epoch: i16,
    ) -> Result<(), ResponseError> {
        if self.producer_id != producer_id {
            Err(ResponseError::InvalidProducerIdMapping)
        } else if self.producer_epoch != producer_epoch {
            Err(ResponseError::ProducerFenced)
        } else {
            Ok(())
        }
    }

    /// AddPartitionsToTxn: the state with `partitions` in the open
    /// transaction, which begins if none is open; `None` when they all
    /// are already in it. CONCURRENT_TRANSACTIONS while one is ending.
    pub fn prepare_add_partitions(
        &self,
        producer_id: i64,
        producer_epoch: i16,
        partitions: &[TopicPartition],
        now_ms: i64,
    ) -> Result<Option<TransactionMetadata>, ResponseError> {
        self.check_producer(producer_id, producer_epoch)?;
        if self.is_ending() {
            return Err(ResponseError::ConcurrentTransactions);
        }
        let known = partitions.iter().all(|p| self.partitions.contains(p));
        if self.state == TxnState::Ongoing && known {
            return Ok(None);
        }
        let mut next = self.clone();
        if next.state != TxnState::Ongoing {
            next.state = TxnState::Ongoing;
            next.start_ms = now_ms;
        }
        next.partitions.extend(partitions.iter().cloned());
        next.last_update_ms = now_ms;
        Ok(Some(next))
    }

    /// EndTxn: the Prepare state of the open transaction's end; `None` for
    /// a retry of an end that completed. As in Kafka: a retry of an end
    /// whose markers are still being written is CONCURRENT_TRANSACTIONS;
    /// no transaction open, or the opposite end of one ending or ended,
    /// INVALID_TXN_STATE.
    pub fn prepare_end(
        &self,
        producer_id: i64,
        producer_epoch: i16,
        commit: bool,
        now_ms: i64,
    ) -> Result<Option<TransactionMetadata>, ResponseError> {
        self.check_producer(producer_id, producer_epoch)?;
        match (self.state, commit) {
            (TxnState::Ongoing, _) => Ok(Some(self.prepare_abort_or_commit(commit, now_ms))),
            (TxnState::CompleteCommit, true) | (TxnState::CompleteAbort, false) => Ok(None),
            (TxnState::PrepareCommit, true) | (TxnState::PrepareAbort, false) => {
                Err(ResponseError::ConcurrentTransactions)
            }
            _ => Err(ResponseError::InvalidTxnState),
        }
    }

    /// Ongoing to PrepareCommit or PrepareAbort: the outcome is decided
    /// once this is written.
    pub fn prepare_abort_or_commit(&self, commit: bool, now_ms: i64) -> TransactionMetadata {
        let mut next = self.clone();
        next.state = if commit {
            TxnState::PrepareCommit
        } else {
            TxnState::PrepareAbort
        };
        next.last_update_ms = now_ms;
        next
    }

    /// The open transaction of a producer being fenced (a new one of the
    /// same id, or its transaction timed out) with the epoch bumped, so
    /// that the abort markers fence the old producer from the partitions.
    pub fn prepare_fence_producer_epoch(&self) -> TransactionMetadata {
        let mut next = self.clone();
        next.producer_epoch = next.producer_epoch.saturating_add(1).min(MAX_EPOCH);
        next.last_producer_epoch = -1;
        next
    }

    /// PrepareCommit or PrepareAbort to its Complete state, once every
    /// marker is written.
    pub fn prepare_complete(&self, now_ms: i64) -> TransactionMetadata {
        let mut next = self.clone();
        next.state = if self.state == TxnState::PrepareCommit {
            TxnState::CompleteCommit
        } else {
            TxnState::CompleteAbort
        };
        next.start_ms = -1;
        next.last_update_ms = now_ms;
        next
    }

    /// InitProducerId from a producer naming the producer id and epoch it
    /// holds (KIP-360): PRODUCER_FENCED unless the id is new (no epoch
    /// yet, e.g. it expired while the producer was idle), the producer id
    /// is the current one, or it is the one the epochs ran out on and this
    /// retries the rotation away from it.
    pub fn check_expected_producer(
        &self,
        expected: Option<(i64, i16)>,
    ) -> Result<(), ResponseError> {
        let Some((producer_id, epoch)) = expected else {
            return Ok(());
        };
        let valid = self.producer_epoch == -1
            || producer_id == self.producer_id
            || (producer_id == self.last_producer_id && epoch >= MAX_EPOCH);
        if valid {
            Ok(())
        } else {
            Err(ResponseError::ProducerFenced)
        }
    }

    /// InitProducerId, once no transaction is open or ending: the epoch
    /// bumped (fencing every earlier producer of the id), or a new producer
    /// id from `allocate` at epoch 0 once the epochs are used up. With the
    /// producer's `expected` epoch (KIP-360) only that epoch is bumped; the
    /// epoch the last bump moved on from is a retry and gets the same
    /// answer again; any other is PRODUCER_FENCED.
    pub fn prepare_init_producer_id(
        &self,
        timeout_ms: i32,
        now_ms: i64,
        expected: Option<(i64, i16)>,
        allocate: impl FnOnce() -> Result<i64, ResponseError>,
    ) -> Result<TransactionMetadata, ResponseError> {
        self.check_expected_producer(expected)?;
        let expected_epoch = expected.map(|(_, epoch)| epoch);
        let mut next = self.clone();
        if next.producer_epoch >= MAX_EPOCH
            && expected_epoch.is_none_or(|e| e == self.producer_epoch)
        {
            next.producer_id = allocate()?;
            next.producer_epoch = 0;
            next.last_producer_id = self.producer_id;
            next.last_producer_epoch = if expected.is_some() {
                self.producer_epoch
            } else {
                -1
            };
        } else {
            let retry = match expected_epoch {
                None => {
                    next.last_producer_epoch = -1;
                    false
                }
                Some(e) if self.producer_epoch == -1 || e == self.producer_epoch => {
                    next.last_producer_epoch = self.producer_epoch;
                    false
                }
                Some(e) if e == self.last_producer_epoch => true,
                Some(_) => return Err(ResponseError::ProducerFenced),
            };
            if !retry {
                next.producer_epoch += 1;
            }
        }
        next.state = TxnState::Empty;
        next.partitions.clear();
        next.start_ms = -1;
        next.timeout_ms = timeout_ms;
        next.last_update_ms = now_ms;
        Ok(next)
    }
}

#[cfg(test)]
mod tests;
