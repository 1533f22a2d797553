//! Producer ids, handed out from blocks the controller reserves, as Kafka's
//! RPCProducerIdManager does: one durable metadata change per block rather
//! than per producer, and no id ever given twice.

use tokio::sync::Mutex;

use crate::cluster::{Controller, ControllerError};

/// Kafka's block size (ProducerIdsBlock.PRODUCER_ID_BLOCK_SIZE).
const BLOCK_SIZE: i64 = 1000;

#[derive(Default)]
pub struct ProducerIdManager {
    /// The next id to give and the end of the current block.
    block: Mutex<(i64, i64)>,
}

impl ProducerIdManager {
    pub async fn generate(&self, controller: &Controller) -> Result<i64, ControllerError> {
        let mut block = self.block.lock().await;
        if block.0 >= block.1 {
            let first = controller.allocate_producer_ids(BLOCK_SIZE).await?;
            *block = (first, first + BLOCK_SIZE);
        }
        let id = block.0;
        block.0 += 1;
        Ok(id)
    }
}
