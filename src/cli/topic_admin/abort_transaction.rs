//! `topic-admin abort-transaction`: kafka-transactions.sh abort.

use crate::client::{producers, ClientSettings, Result};

/// The transaction to abort: found by the offset it starts at, or named.
pub enum Transaction {
    StartingAt(i64),
    Producer {
        id: i64,
        epoch: i16,
        coordinator_epoch: i32,
    },
}

/// Writes an ABORT marker for the transaction to the partition's leader
/// and says so.
pub async fn run(
    settings: &ClientSettings,
    topic: &str,
    partition: i32,
    transaction: Transaction,
) -> Result<String> {
    let (producer_id, producer_epoch, coordinator_epoch) = match transaction {
        Transaction::StartingAt(offset) => {
            let p = producers::open_transaction_at(settings, topic, partition, offset).await?;
            // As Kafka's tool: an epoch the partition does not know counts as 0.
            (
                p.producer_id,
                p.producer_epoch as i16,
                p.latest_coordinator_epoch.max(0),
            )
        }
        Transaction::Producer {
            id,
            epoch,
            coordinator_epoch,
        } => (id, epoch, coordinator_epoch),
    };
    producers::abort_transaction(
        settings,
        topic,
        partition,
        producer_id,
        producer_epoch,
        coordinator_epoch,
    )
    .await?;
    Ok(format!(
        "Aborted the transaction of producer {producer_id} (epoch {producer_epoch}) in {topic}-{partition}.\n"
    ))
}
