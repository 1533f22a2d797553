//! AddPartitionsToTxn: partitions join a producer's open transaction.
//! Versions 0-3 are the producer's form (one transaction); 4 and up are the
//! batched broker form, which may only verify that partitions are already in
//! their transactions (KIP-890).

use std::sync::Arc;

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::add_partitions_to_txn_request::AddPartitionsToTxnTopic;
use kafka_protocol::messages::add_partitions_to_txn_response::{
    AddPartitionsToTxnPartitionResult, AddPartitionsToTxnResult, AddPartitionsToTxnTopicResult,
};
use kafka_protocol::messages::{AddPartitionsToTxnRequest, AddPartitionsToTxnResponse, TopicName};
use kafka_protocol::protocol::StrBytes;

use super::{BrokerContext, Handler, RequestContext};
use crate::cluster::topic_name;
use crate::security::acl::{AclOperation, ResourceType};
use crate::security::authorizer::Authorization;
use crate::topic_partition::TopicPartition;

pub struct AddPartitionsToTxn;

/// The Produce-side check of one transaction: every partition gets the
/// same code unless some do not exist or (with `auth`, the producer's form)
/// may not be written, which then fail alone and the rest are not
/// attempted, as in Kafka.
fn add(
    broker: &BrokerContext,
    ctx: &RequestContext,
    auth: Option<&Authorization>,
    transactional_id: &str,
    (producer_id, producer_epoch): (i64, i16),
    topics: &[AddPartitionsToTxnTopic],
    verify_only: bool,
) -> Vec<AddPartitionsToTxnTopicResult> {
    let image = broker.image();
    let wanted: Vec<TopicPartition> = topics
        .iter()
        .flat_map(|t| {
            t.partitions
                .iter()
                .map(|p| TopicPartition::new(t.name.0.to_string(), *p))
        })
        .collect();
    let problems: Vec<Option<ResponseError>> = wanted
        .iter()
        .map(|TopicPartition { topic, partition }| {
            // Kafka leaves internal topics out of the producer's authorised
            // ones whatever the ACLs: no transaction writes to them.
            if auth.is_some_and(|a| {
                topic_name::is_internal(topic)
                    || !a.allows(AclOperation::Write, ResourceType::Topic, topic)
            }) {
                Some(ResponseError::TopicAuthorizationFailed)
            } else if !image
                .topic(topic)
                .is_some_and(|t| *partition >= 0 && (*partition as usize) < t.partitions.len())
            {
                Some(ResponseError::UnknownTopicOrPartition)
            } else {
                None
            }
        })
        .collect();
    drop(image);
    let codes: Vec<i16> = if problems.iter().any(Option::is_some) {
        problems
            .iter()
            .map(|p| p.unwrap_or(ResponseError::OperationNotAttempted).code())
            .collect()
    } else if verify_only {
        match broker.transactions.verify_partitions(
            transactional_id,
            producer_id,
            producer_epoch,
            &wanted,
        ) {
            Ok(found) => found
                .into_iter()
                .map(|ok| {
                    if ok {
                        0
                    } else {
                        ResponseError::InvalidTxnState.code()
                    }
                })
                .collect(),
            Err(e) => vec![ctx.error_code(Some(e)); wanted.len()],
        }
    } else {
        let added = broker.transactions.add_partitions(
            transactional_id,
            producer_id,
            producer_epoch,
            &wanted,
        );
        let code = ctx.error_code(added.err());
        vec![code; wanted.len()]
    };
    let mut results: Vec<AddPartitionsToTxnTopicResult> = Vec::new();
    for (TopicPartition { topic, partition }, code) in wanted.into_iter().zip(codes) {
        let result = AddPartitionsToTxnPartitionResult::default()
            .with_partition_index(partition)
            .with_partition_error_code(code);
        match results.iter_mut().find(|r| r.name.0.as_str() == topic) {
            Some(r) => r.results_by_partition.push(result),
            None => results.push(
                AddPartitionsToTxnTopicResult::default()
                    .with_name(TopicName(StrBytes::from_string(topic)))
                    .with_results_by_partition(vec![result]),
            ),
        }
    }
    results
}

impl Handler for AddPartitionsToTxn {
    type Request = AddPartitionsToTxnRequest;

    async fn handle(
        broker: Arc<BrokerContext>,
        ctx: RequestContext,
        request: AddPartitionsToTxnRequest,
    ) -> AddPartitionsToTxnResponse {
        let auth = broker.authorization(&ctx);
        if ctx.api_version <= 3 {
            // As Kafka: WRITE on the transactional id, else every
            // partition answers TRANSACTIONAL_ID_AUTHORIZATION_FAILED.
            let transactional_id = &request.v3_and_below_transactional_id.0;
            if !auth.allows(
                AclOperation::Write,
                ResourceType::TransactionalId,
                transactional_id,
            ) {
                let refused = ResponseError::TransactionalIdAuthorizationFailed.code();
                let results = request
                    .v3_and_below_topics
                    .iter()
                    .map(|t| {
                        AddPartitionsToTxnTopicResult::default()
                            .with_name(t.name.clone())
                            .with_results_by_partition(
                                t.partitions
                                    .iter()
                                    .map(|p| {
                                        AddPartitionsToTxnPartitionResult::default()
                                            .with_partition_index(*p)
                                            .with_partition_error_code(refused)
                                    })
                                    .collect(),
                            )
                    })
                    .collect();
                return AddPartitionsToTxnResponse::default()
                    .with_results_by_topic_v3_and_below(results);
            }
            let results = add(
                &broker,
                &ctx,
                Some(&auth),
                transactional_id,
                (
                    request.v3_and_below_producer_id.0,
                    request.v3_and_below_producer_epoch,
                ),
                &request.v3_and_below_topics,
                false,
            );
            return AddPartitionsToTxnResponse::default()
                .with_results_by_topic_v3_and_below(results);
        }
        // The batched form is the brokers' own (KIP-890): CLUSTER_ACTION.
        if !auth.allows_cluster(AclOperation::ClusterAction) {
            return AddPartitionsToTxnResponse::default()
                .with_error_code(ResponseError::ClusterAuthorizationFailed.code());
        }
        let results = request
            .transactions
            .iter()
            .map(|t| {
                AddPartitionsToTxnResult::default()
                    .with_transactional_id(t.transactional_id.clone())
                    .with_topic_results(add(
                        &broker,
                        &ctx,
                        None,
                        &t.transactional_id.0,
                        (t.producer_id.0, t.producer_epoch),
                        &t.topics,
                        t.verify_only,
                    ))
            })
            .collect();
        AddPartitionsToTxnResponse::default().with_results_by_transaction(results)
    }
}
