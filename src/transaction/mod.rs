//! Producer identity for idempotent (and, later, transactional) producers:
//! where producer ids come from. Kafka keeps this beside its
//! TransactionCoordinator.

mod producer_ids;

pub use producer_ids::ProducerIdManager;
