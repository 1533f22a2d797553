//! Transactions, as Kafka's `TransactionCoordinator` runs them: producer
//! ids for idempotent and transactional producers, each transactional id's
//! state in `__transaction_state`, and the markers that end transactions in
//! the partitions they wrote to. The partition side (open transactions,
//! the last stable offset, aborted-transaction indexes) lives in the log.

mod coordinator;
mod metadata;
mod producer_ids;
mod state_log;

pub use coordinator::{
    InitProducerIdOutcome, TransactionConfig, TransactionCoordinator, TransactionDescription,
};
pub use metadata::{TransactionMetadata, TxnState};
pub use producer_ids::ProducerIdManager;
pub use state_log::{describe_record as describe_transaction_record, TRANSACTION_STATE_TOPIC};
