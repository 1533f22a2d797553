//! The transactional APIs at every version a client may speak, over raw
//! frames (aiokafka sends v0): a fenced producer is told with the error
//! its version knows. Versions from before KIP-588 get
//! INVALID_PRODUCER_EPOCH (47), later ones PRODUCER_FENCED (90), at
//! Kafka's cut-offs; TxnOffsetCommit, which the group's log answers, gets
//! INVALID_PRODUCER_EPOCH at every version, as from Kafka.

use crate::harness;

use std::time::Duration;

use harness::{create_topic, wait_until, BrokerProcess, RawClient};
use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::add_partitions_to_txn_request::AddPartitionsToTxnTopic;
use kafka_protocol::messages::txn_offset_commit_request::{
    TxnOffsetCommitRequestPartition, TxnOffsetCommitRequestTopic,
};
use kafka_protocol::messages::{
    AddOffsetsToTxnRequest, AddPartitionsToTxnRequest, EndTxnRequest, FindCoordinatorRequest,
    GroupId, InitProducerIdRequest, ProducerId, TopicName, TransactionalId, TxnOffsetCommitRequest,
};
use kafka_protocol::protocol::StrBytes;

const BROKER: &[&str] = &[
    "offsets.topic.num.partitions=1",
    "transaction.state.log.num.partitions=1",
    "group.initial.rebalance.delay.ms=0",
];

const TXN: &str = "old-client";
const GROUP: &str = "old-client-group";
const TOPIC: &str = "old-versions";

const FENCED: i16 = 90;
const INVALID_EPOCH: i16 = 47;

fn txn_id() -> TransactionalId {
    TransactionalId(StrBytes::from_static_str(TXN))
}

/// Whether `code` says to ask again: the coordinator's topic or its
/// partition's load is still on the way.
fn retriable(code: i16) -> bool {
    [
        ResponseError::CoordinatorNotAvailable,
        ResponseError::CoordinatorLoadInProgress,
        ResponseError::NotCoordinator,
    ]
    .iter()
    .any(|e| e.code() == code)
}

/// InitProducerId at `version`, asked again while the coordinator comes up.
fn init(client: &mut RawClient, version: i16, expected: Option<(i64, i16)>) -> (i16, i64, i16) {
    init_as(client, TXN, version, expected)
}

fn init_as(
    client: &mut RawClient,
    transactional_id: &'static str,
    version: i16,
    expected: Option<(i64, i16)>,
) -> (i16, i64, i16) {
    let (id, epoch) = expected.unwrap_or((-1, -1));
    let request = InitProducerIdRequest::default()
        .with_transactional_id(Some(TransactionalId(StrBytes::from_static_str(
            transactional_id,
        ))))
        .with_transaction_timeout_ms(60_000)
        .with_producer_id(ProducerId(id))
        .with_producer_epoch(epoch);
    let mut answer = (0, -1, -1);
    assert!(
        wait_until(Duration::from_secs(15), || {
            let r = client
                .call(&request, version)
                .expect("InitProducerId answered");
            answer = (r.error_code, r.producer_id.0, r.producer_epoch);
            !retriable(r.error_code)
        }),
        "the transaction coordinator comes up"
    );
    answer
}

fn end_txn(client: &mut RawClient, version: i16, (id, epoch): (i64, i16)) -> i16 {
    client
        .call(
            &EndTxnRequest::default()
                .with_transactional_id(txn_id())
                .with_producer_id(ProducerId(id))
                .with_producer_epoch(epoch)
                .with_committed(true),
            version,
        )
        .expect("EndTxn answered")
        .error_code
}

fn add_partition(client: &mut RawClient, version: i16, (id, epoch): (i64, i16)) -> i16 {
    let response = client
        .call(
            &AddPartitionsToTxnRequest::default()
                .with_v3_and_below_transactional_id(txn_id())
                .with_v3_and_below_producer_id(ProducerId(id))
                .with_v3_and_below_producer_epoch(epoch)
                .with_v3_and_below_topics(vec![AddPartitionsToTxnTopic::default()
                    .with_name(TopicName(StrBytes::from_static_str(TOPIC)))
                    .with_partitions(vec![0])]),
            version,
        )
        .expect("AddPartitionsToTxn answered");
    response.results_by_topic_v3_and_below[0].results_by_partition[0].partition_error_code
}

fn add_offsets(client: &mut RawClient, version: i16, (id, epoch): (i64, i16)) -> i16 {
    client
        .call(
            &AddOffsetsToTxnRequest::default()
                .with_transactional_id(txn_id())
                .with_producer_id(ProducerId(id))
                .with_producer_epoch(epoch)
                .with_group_id(GroupId(StrBytes::from_static_str(GROUP))),
            version,
        )
        .expect("AddOffsetsToTxn answered")
        .error_code
}

/// TxnOffsetCommit at `version`, asked again while the group's partition loads.
fn commit_offset(client: &mut RawClient, version: i16, (id, epoch): (i64, i16)) -> i16 {
    let request = TxnOffsetCommitRequest::default()
        .with_transactional_id(txn_id())
        .with_group_id(GroupId(StrBytes::from_static_str(GROUP)))
        .with_producer_id(ProducerId(id))
        .with_producer_epoch(epoch)
        .with_topics(vec![TxnOffsetCommitRequestTopic::default()
            .with_name(TopicName(StrBytes::from_static_str(TOPIC)))
            .with_partitions(vec![TxnOffsetCommitRequestPartition::default()
                .with_partition_index(0)
                .with_committed_offset(1)])]);
    let mut code = 0;
    assert!(
        wait_until(Duration::from_secs(15), || {
            let r = client
                .call(&request, version)
                .expect("TxnOffsetCommit answered");
            code = r.topics[0].partitions[0].error_code;
            !retriable(code)
        }),
        "the group coordinator comes up"
    );
    code
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fenced_producer_gets_the_fencing_error_its_api_version_knows() {
    let broker = BrokerProcess::start(BROKER);
    create_topic(&broker.bootstrap(), TOPIC, 1, &[]).await;
    let mut client = RawClient::connect(broker.port);
    // As a client does first: this creates the coordinator's topic.
    let found = client
        .call(
            &FindCoordinatorRequest::default()
                .with_key(StrBytes::from_static_str(TXN))
                .with_key_type(1),
            1,
        )
        .expect("FindCoordinator answered");
    assert_eq!(found.error_code, 0);

    // An old client's transaction, with offsets, as aiokafka runs it (v0).
    let (code, id, old_epoch) = init(&mut client, 0, None);
    assert_eq!(code, 0);
    let old = (id, old_epoch);
    assert_eq!(add_partition(&mut client, 0, old), 0);
    assert_eq!(add_offsets(&mut client, 0, old), 0);
    assert_eq!(commit_offset(&mut client, 0, old), 0);

    // A second producer with the same id fences it, aborting its
    // transaction at a newer epoch, on the group's partition too.
    let (code, same_id, new_epoch) = init(&mut client, 0, None);
    assert_eq!((code, same_id), (0, id));
    assert!(new_epoch > old_epoch);

    let codes = |call: &mut dyn FnMut(i16) -> i16, versions: std::ops::RangeInclusive<i16>| {
        versions.map(call).collect::<Vec<i16>>()
    };
    assert_eq!(
        codes(&mut |v| end_txn(&mut client, v, old), 0..=4),
        [INVALID_EPOCH, INVALID_EPOCH, FENCED, FENCED, FENCED],
        "EndTxn v0-4"
    );
    assert_eq!(
        codes(&mut |v| add_partition(&mut client, v, old), 0..=3),
        [INVALID_EPOCH, INVALID_EPOCH, FENCED, FENCED],
        "AddPartitionsToTxn v0-3"
    );
    assert_eq!(
        codes(&mut |v| add_offsets(&mut client, v, old), 0..=4),
        [INVALID_EPOCH, INVALID_EPOCH, FENCED, FENCED, FENCED],
        "AddOffsetsToTxn v0-4"
    );
    // Versions 3 and up carry the id and epoch a producer re-initialising
    // holds (KIP-360), which the coordinator checks.
    assert_eq!(
        codes(&mut |v| init(&mut client, v, Some(old)).0, 3..=5),
        [INVALID_EPOCH, FENCED, FENCED],
        "InitProducerId v3-5"
    );
    assert_eq!(
        codes(&mut |v| commit_offset(&mut client, v, old), 0..=5),
        [INVALID_EPOCH; 6],
        "TxnOffsetCommit v0-5"
    );

    // The current producer is unaffected.
    let current = (id, new_epoch);
    assert_eq!(add_partition(&mut client, 0, current), 0);
    assert_eq!(end_txn(&mut client, 0, current), 0);
}

/// KIP-360: a producer re-initialising names the producer id and epoch it
/// holds. Its own epoch is bumped, a retry whose answer was lost gets the
/// same answer, another producer id is PRODUCER_FENCED (as from Kafka), and
/// an id the coordinator no longer knows (expired) starts afresh.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_re_initialising_producer_keeps_its_producer_id_and_a_retry_gets_the_same_answer() {
    let broker = BrokerProcess::start(BROKER);
    let mut client = RawClient::connect(broker.port);
    let found = client
        .call(
            &FindCoordinatorRequest::default()
                .with_key(StrBytes::from_static_str("reinit"))
                .with_key_type(1),
            1,
        )
        .expect("FindCoordinator answered");
    assert_eq!(found.error_code, 0);

    let (code, id, epoch) = init_as(&mut client, "reinit", 4, None);
    assert_eq!(code, 0);
    assert_eq!(
        init_as(&mut client, "reinit", 4, Some((id, epoch))),
        (0, id, epoch + 1),
        "its own epoch is bumped"
    );
    assert_eq!(
        init_as(&mut client, "reinit", 4, Some((id, epoch))),
        (0, id, epoch + 1),
        "a retry of that bump"
    );
    assert_eq!(
        init_as(&mut client, "reinit", 4, Some((id + 1_000, epoch + 1))).0,
        FENCED,
        "another producer id"
    );
    let (code, _, fresh_epoch) = init_as(&mut client, "reinit-expired", 4, Some((id + 1_000, 7)));
    assert_eq!(
        (code, fresh_epoch),
        (0, 0),
        "an id the coordinator does not know"
    );
}
