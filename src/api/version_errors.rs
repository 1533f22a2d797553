//! Errors as a client speaking an older version of an API knows them.
//! Kafka answers such clients with the error their version was written
//! against rather than one added later, which they would take for an
//! unknown error: PRODUCER_FENCED (90) came with KIP-588, and the
//! transactional APIs' versions from before it are answered
//! INVALID_PRODUCER_EPOCH (47), the fencing error they handle.

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::ApiKey;

/// `error` as version `version` of `api` reports it.
pub fn for_version(api: ApiKey, version: i16, error: ResponseError) -> ResponseError {
    match (api, error) {
        (ApiKey::InitProducerId, ResponseError::ProducerFenced) if version < 4 => {
            ResponseError::InvalidProducerEpoch
        }
        (
            ApiKey::AddPartitionsToTxn | ApiKey::AddOffsetsToTxn | ApiKey::EndTxn,
            ResponseError::ProducerFenced,
        ) if version < 2 => ResponseError::InvalidProducerEpoch,
        // Producers from before TxnOffsetCommit v2 (KAFKA-7296) fail on a
        // coordinator still loading instead of retrying.
        (ApiKey::TxnOffsetCommit, ResponseError::CoordinatorLoadInProgress) if version < 2 => {
            ResponseError::CoordinatorNotAvailable
        }
        _ => error,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn producer_fenced_is_invalid_producer_epoch_before_kip_588() {
        let fenced = ResponseError::ProducerFenced;
        for (api, first) in [
            (ApiKey::InitProducerId, 4),
            (ApiKey::AddPartitionsToTxn, 2),
            (ApiKey::AddOffsetsToTxn, 2),
            (ApiKey::EndTxn, 2),
        ] {
            for version in 0..first {
                assert_eq!(
                    for_version(api, version, fenced),
                    ResponseError::InvalidProducerEpoch,
                    "{api:?} v{version}"
                );
            }
            assert_eq!(for_version(api, first, fenced), fenced, "{api:?} v{first}");
        }
        assert_eq!(
            for_version(ApiKey::EndTxn, 0, ResponseError::InvalidTxnState),
            ResponseError::InvalidTxnState
        );
    }

    #[test]
    fn old_txn_offset_commits_see_a_loading_coordinator_as_unavailable() {
        let loading = ResponseError::CoordinatorLoadInProgress;
        assert_eq!(
            for_version(ApiKey::TxnOffsetCommit, 1, loading),
            ResponseError::CoordinatorNotAvailable
        );
        assert_eq!(for_version(ApiKey::TxnOffsetCommit, 2, loading), loading);
    }
}
