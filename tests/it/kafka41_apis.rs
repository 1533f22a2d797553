//! The client-facing APIs of Kafka 4.1 that librdkafka does not send,
//! through the raw wire client: DescribeProducers (KIP-664) from the
//! partition leaders' producer state, and DescribeTopicPartitions
//! (KIP-966) paging through topics with its cursor, DescribeQuorum's ACL
//! check, and the features ApiVersions advertises and UpdateFeatures
//! changes, and ListConfigResources (KIP-1142) listing each config
//! resource type, each with Kafka's error codes.

use crate::harness;

use std::time::Duration;

use harness::{
    create_topic, producer, record_batch, start_cluster, wait_until, BrokerProcess, RawClient,
    NO_PRODUCER,
};
use kafka_protocol::messages::create_acls_request::AclCreation;
use kafka_protocol::messages::describe_producers_request::TopicRequest;
use kafka_protocol::messages::describe_producers_response::PartitionResponse;
use kafka_protocol::messages::describe_topic_partitions_request::{
    Cursor, TopicRequest as NamedTopic,
};
use kafka_protocol::messages::*;
use kafka_protocol::protocol::StrBytes;
use rdkafka::admin::{AdminOptions, NewTopic, TopicReplication};
use rdkafka::producer::{FutureRecord, Producer};

const AUTHORIZER: &[&str] = &[
    "authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer",
    "allow.everyone.if.no.acl.found=true",
];

const NOT_LEADER_OR_FOLLOWER: i16 = 6;
const UNKNOWN_TOPIC_OR_PARTITION: i16 = 3;
const INVALID_TOPIC_EXCEPTION: i16 = 17;
const TOPIC_AUTHORIZATION_FAILED: i16 = 29;
const CLUSTER_AUTHORIZATION_FAILED: i16 = 31;
const INVALID_REQUEST: i16 = 42;

fn s(v: &str) -> StrBytes {
    StrBytes::from_string(v.to_string())
}

fn name(v: &str) -> TopicName {
    TopicName(s(v))
}

const TOPIC: i8 = 2;
const CLUSTER: i8 = 4;

/// Denies `operation` (Kafka's wire code) on one resource to everyone.
fn deny(port: u16, resource_type: i8, name: &str, operation: i8) {
    let creation = AclCreation::default()
        .with_resource_type(resource_type)
        .with_resource_name(s(name))
        .with_resource_pattern_type(3)
        .with_principal(s("User:*"))
        .with_host(s("*"))
        .with_operation(operation)
        .with_permission_type(2);
    let response = RawClient::connect(port)
        .call(
            &CreateAclsRequest::default().with_creations(vec![creation]),
            3,
        )
        .expect("CreateAcls answered");
    assert_eq!(response.results[0].error_code, 0);
}

fn describe_producers(port: u16, topic: &str, partitions: &[i32]) -> Vec<PartitionResponse> {
    let request = DescribeProducersRequest::default().with_topics(vec![TopicRequest::default()
        .with_name(name(topic))
        .with_partition_indexes(partitions.to_vec())]);
    let mut response = RawClient::connect(port)
        .call(&request, 0)
        .expect("DescribeProducers answered");
    assert_eq!(response.topics.len(), 1);
    response.topics.remove(0).partitions
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn describe_producers_shows_each_leaders_producer_state() {
    let brokers = start_cluster(2, AUTHORIZER);
    let bs = brokers[0].bootstrap();
    let topic = NewTopic::new("producers", 2, TopicReplication::Fixed(2));
    let created = harness::admin(&bs)
        .create_topics([&topic], &AdminOptions::new())
        .await
        .expect("CreateTopics");
    assert!(created.iter().all(Result::is_ok), "{created:?}");

    let idempotent = producer(&bs, &[("enable.idempotence", "true")]);
    for partition in [0, 1] {
        for i in 0..3 {
            let value = format!("v{i}");
            idempotent
                .send(
                    FutureRecord::<(), _>::to("producers")
                        .partition(partition)
                        .payload(&value),
                    Duration::from_secs(15),
                )
                .await
                .expect("idempotent send");
        }
    }
    // A transaction left open on partition 1, after the three records there.
    let transactional = producer(&bs, &[("transactional.id", "open-txn")]);
    transactional
        .init_transactions(Duration::from_secs(15))
        .expect("init_transactions");
    transactional.begin_transaction().expect("begin");
    transactional
        .send(
            FutureRecord::<(), _>::to("producers")
                .partition(1)
                .payload("in txn"),
            Duration::from_secs(15),
        )
        .await
        .expect("transactional send");

    // Exactly one broker leads each partition; the other answers
    // NOT_LEADER_OR_FOLLOWER.
    let mut led = Vec::new();
    for partition in [0, 1] {
        let answers: Vec<PartitionResponse> = brokers
            .iter()
            .map(|b| describe_producers(b.port, "producers", &[partition]).remove(0))
            .collect();
        let codes: Vec<i16> = answers.iter().map(|a| a.error_code).collect();
        assert!(
            codes == [0, NOT_LEADER_OR_FOLLOWER] || codes == [NOT_LEADER_OR_FOLLOWER, 0],
            "partition {partition}: {codes:?}"
        );
        led.push(answers.into_iter().find(|a| a.error_code == 0).unwrap());
    }
    let state = |p: &PartitionResponse| -> Vec<(i32, i32, i64)> {
        p.active_producers
            .iter()
            .map(|a| {
                assert!(a.last_timestamp > 0 || a.last_sequence == -1);
                (
                    a.producer_epoch,
                    a.last_sequence,
                    a.current_txn_start_offset,
                )
            })
            .collect()
    };
    assert_eq!(state(&led[0]), [(0, 2, -1)]);
    let mut on_one = state(&led[1]);
    on_one.sort_unstable();
    assert_eq!(on_one, [(0, 0, 3), (0, 2, -1)]);
    let idempotent_id = led[0].active_producers[0].producer_id;
    assert!(led[1]
        .active_producers
        .iter()
        .any(|a| a.producer_id == idempotent_id && a.current_txn_start_offset == -1));

    let port = brokers[0].port;
    let codes = |topic: &str, partitions: &[i32]| -> Vec<i16> {
        describe_producers(port, topic, partitions)
            .iter()
            .map(|p| p.error_code)
            .collect()
    };
    assert_eq!(codes("producers", &[7]), [UNKNOWN_TOPIC_OR_PARTITION]);
    assert_eq!(codes("missing", &[0]), [UNKNOWN_TOPIC_OR_PARTITION]);

    // READ on the topic is needed; refused before its existence shows.
    deny(port, TOPIC, "producers", 3);
    deny(port, TOPIC, "missing", 3);
    assert!(wait_until(Duration::from_secs(10), || {
        codes("producers", &[0, 1]) == [TOPIC_AUTHORIZATION_FAILED; 2]
            && codes("missing", &[0]) == [TOPIC_AUTHORIZATION_FAILED]
    }));
    transactional
        .abort_transaction(Duration::from_secs(15))
        .expect("abort");
}

fn describe_topics(
    client: &mut RawClient,
    topics: &[&str],
    limit: i32,
    cursor: Option<(&str, i32)>,
) -> DescribeTopicPartitionsResponse {
    let request = DescribeTopicPartitionsRequest::default()
        .with_topics(
            topics
                .iter()
                .map(|t| NamedTopic::default().with_name(name(t)))
                .collect(),
        )
        .with_response_partition_limit(limit)
        .with_cursor(cursor.map(|(t, p)| {
            Cursor::default()
                .with_topic_name(name(t))
                .with_partition_index(p)
        }));
    client
        .call(&request, 0)
        .expect("DescribeTopicPartitions answered")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn describe_topic_partitions_pages_with_a_cursor() {
    let broker = BrokerProcess::start(AUTHORIZER);
    let bs = broker.bootstrap();
    for (topic, partitions) in [
        ("a-topic", 3),
        ("b-topic", 2),
        ("c-topic", 1),
        ("hidden", 1),
    ] {
        create_topic(&bs, topic, partitions, &[]).await;
    }
    deny(broker.port, TOPIC, "hidden", 8);
    let mut client = RawClient::connect(broker.port);

    // Every topic, two partitions a page, in name order; what the
    // principal may not describe is left out.
    assert!(wait_until(Duration::from_secs(10), || {
        let all = describe_topics(&mut client, &[], 100, None);
        all.topics.iter().all(|t| t.name != Some(name("hidden")))
    }));
    let mut seen = Vec::new();
    let mut cursor: Option<(String, i32)> = None;
    let mut pages = 0;
    loop {
        let page = describe_topics(
            &mut client,
            &[],
            2,
            cursor.as_ref().map(|(t, p)| (t.as_str(), *p)),
        );
        pages += 1;
        let partitions: usize = page.topics.iter().map(|t| t.partitions.len()).sum();
        assert!(partitions <= 2, "page {pages} holds {partitions}");
        for t in &page.topics {
            assert_eq!(t.error_code, 0);
            assert!(!t.topic_id.is_nil());
            for p in &t.partitions {
                assert_eq!(p.leader_id.0, 1);
                assert_eq!(p.eligible_leader_replicas, Some(Vec::new()));
                assert_eq!(p.last_known_elr, Some(Vec::new()));
                assert!(p.offline_replicas.is_empty());
                seen.push((t.name.clone().unwrap().0.to_string(), p.partition_index));
            }
        }
        match page.next_cursor {
            Some(c) => cursor = Some((c.topic_name.0.to_string(), c.partition_index)),
            None => break,
        }
    }
    let expected: Vec<(String, i32)> = [
        ("a-topic", 0),
        ("a-topic", 1),
        ("a-topic", 2),
        ("b-topic", 0),
        ("b-topic", 1),
        ("c-topic", 0),
    ]
    .iter()
    .map(|(t, p)| (t.to_string(), *p))
    .collect();
    assert_eq!(seen, expected);
    assert_eq!(pages, 3);

    // Named topics: unknown, invalid and refused ones with their codes,
    // the refused one after the rest.
    let named = describe_topics(
        &mut client,
        &["hidden", "no-such", "c-topic", "bad/name"],
        100,
        None,
    );
    let outcome: Vec<(String, i16, usize)> = named
        .topics
        .iter()
        .map(|t| {
            (
                t.name.clone().unwrap().0.to_string(),
                t.error_code,
                t.partitions.len(),
            )
        })
        .collect();
    assert_eq!(
        outcome,
        [
            ("bad/name".to_string(), INVALID_TOPIC_EXCEPTION, 0),
            ("c-topic".to_string(), 0, 1),
            ("no-such".to_string(), UNKNOWN_TOPIC_OR_PARTITION, 0),
            ("hidden".to_string(), TOPIC_AUTHORIZATION_FAILED, 0),
        ]
    );

    // A cursor outside the named topics, or at a negative partition, is INVALID_REQUEST.
    for cursor in [("b-topic", 0), ("a-topic", -1)] {
        let refused = describe_topics(&mut client, &["a-topic"], 100, Some(cursor));
        assert_eq!(refused.topics.len(), 1);
        assert_eq!(refused.topics[0].error_code, INVALID_REQUEST);
    }

    // DescribeQuorum needs DESCRIBE on the cluster.
    let quorum = DescribeQuorumRequest::default().with_topics(vec![
        describe_quorum_request::TopicData::default()
            .with_topic_name(name("__cluster_metadata"))
            .with_partitions(vec![describe_quorum_request::PartitionData::default()]),
    ]);
    let described = client.call(&quorum, 2).expect("DescribeQuorum answered");
    assert_eq!(described.error_code, 0);
    let partition = &described.topics[0].partitions[0];
    assert_eq!((partition.error_code, partition.leader_id.0), (0, 1));
    assert_eq!(partition.current_voters.len(), 1);
    assert_eq!(described.nodes.len(), 1);
    deny(broker.port, CLUSTER, "kafka-cluster", 8);
    assert!(wait_until(Duration::from_secs(10), || {
        client
            .call(&quorum, 2)
            .expect("DescribeQuorum answered")
            .error_code
            == CLUSTER_AUTHORIZATION_FAILED
    }));
}

fn update(
    client: &mut RawClient,
    updates: &[(&str, i16, i8)],
    validate_only: bool,
    version: i16,
) -> UpdateFeaturesResponse {
    use kafka_protocol::messages::update_features_request::FeatureUpdateKey;
    let request = UpdateFeaturesRequest::default()
        .with_timeout_ms(10_000)
        .with_validate_only(validate_only)
        .with_feature_updates(
            updates
                .iter()
                .map(|(f, level, upgrade)| {
                    let key = FeatureUpdateKey::default()
                        .with_feature(s(f))
                        .with_max_version_level(*level);
                    if version == 0 {
                        key.with_allow_downgrade(*upgrade != 1)
                    } else {
                        key.with_upgrade_type(*upgrade)
                    }
                })
                .collect(),
        );
    client
        .call(&request, version)
        .expect("UpdateFeatures answered")
}

/// Share groups (KIP-932) are off on a new cluster, as in Kafka 4.1: the
/// share APIs answer UNSUPPORTED_VERSION until `share.version` 1 is
/// finalized, and are served from then on.
#[test]
fn share_groups_are_served_once_share_version_is_finalized() {
    const UNSUPPORTED_VERSION: i16 = 35;
    const UNKNOWN_MEMBER_ID: i16 = 25;
    const SHARE_SESSION_NOT_FOUND: i16 = 122;
    let broker = BrokerProcess::start(&[]);
    let mut client = RawClient::connect(broker.port);
    let join = ShareGroupHeartbeatRequest::default()
        .with_group_id(GroupId(s("sg")))
        .with_member_id(s("member-1"))
        .with_member_epoch(0)
        .with_subscribed_topic_names(Some(vec![name("t")]));
    let heartbeat = |client: &mut RawClient, request: &ShareGroupHeartbeatRequest| {
        client
            .call(request, 1)
            .expect("ShareGroupHeartbeat answered")
    };
    assert_eq!(
        heartbeat(&mut client, &join).error_code,
        UNSUPPORTED_VERSION
    );
    let fetch = ShareFetchRequest::default()
        .with_group_id(Some(GroupId(s("sg"))))
        .with_member_id(Some(s("member-1")))
        .with_share_session_epoch(3);
    let fetched = client.call(&fetch, 1).expect("ShareFetch answered");
    assert_eq!(fetched.error_code, UNSUPPORTED_VERSION);

    let upgraded = update(&mut client, &[("share.version", 1, 1)], false, 1);
    assert_eq!(upgraded.error_code, 0, "{:?}", upgraded.error_message);
    assert!(
        wait_until(Duration::from_secs(10), || {
            heartbeat(&mut client, &join).error_code == 0
        }),
        "share groups are served once share.version is 1"
    );
    let joined = heartbeat(&mut client, &join);
    assert!(joined.member_epoch > 0);
    let unknown = join
        .clone()
        .with_member_id(s("nobody"))
        .with_member_epoch(1);
    assert_eq!(
        heartbeat(&mut client, &unknown).error_code,
        UNKNOWN_MEMBER_ID
    );
    // A session epoch other than 0 names a session that was never opened.
    let fetched = client.call(&fetch, 1).expect("ShareFetch answered");
    assert_eq!(fetched.error_code, SHARE_SESSION_NOT_FOUND);
    let described = client
        .call(
            &ShareGroupDescribeRequest::default().with_group_ids(vec![GroupId(s("sg"))]),
            1,
        )
        .expect("ShareGroupDescribe answered");
    let group = &described.groups[0];
    assert_eq!(group.error_code, 0);
    assert_eq!(group.group_state.as_str(), "Stable");
    assert_eq!(group.members.len(), 1);
    assert_eq!(group.members[0].member_id.as_str(), "member-1");
}

/// One ShareFetch of member-1 in share group sg, acknowledging `acks`
/// (first, last, types) of partition 0 of `topic_id`.
fn share_fetch(
    client: &mut RawClient,
    topic_id: uuid::Uuid,
    epoch: i32,
    acks: &[(i64, i64, Vec<i8>)],
) -> ShareFetchResponse {
    share_fetch_as(client, "member-1", topic_id, epoch, acks)
}

/// One ShareFetch of `member` in share group sg.
fn share_fetch_as(
    client: &mut RawClient,
    member: &str,
    topic_id: uuid::Uuid,
    epoch: i32,
    acks: &[(i64, i64, Vec<i8>)],
) -> ShareFetchResponse {
    use kafka_protocol::messages::share_fetch_request::{
        AcknowledgementBatch, FetchPartition, FetchTopic,
    };
    let batches = acks
        .iter()
        .map(|(first, last, types)| {
            AcknowledgementBatch::default()
                .with_first_offset(*first)
                .with_last_offset(*last)
                .with_acknowledge_types(types.clone())
        })
        .collect();
    let request = ShareFetchRequest::default()
        .with_group_id(Some(GroupId(s("sg"))))
        .with_member_id(Some(s(member)))
        .with_share_session_epoch(epoch)
        .with_max_wait_ms(0)
        .with_min_bytes(1)
        .with_max_bytes(1 << 20)
        .with_max_records(100)
        .with_batch_size(100)
        .with_topics(vec![FetchTopic::default()
            .with_topic_id(topic_id)
            .with_partitions(vec![FetchPartition::default()
                .with_partition_index(0)
                .with_acknowledgement_batches(batches)])]);
    client.call(&request, 1).expect("ShareFetch answered")
}

/// One ShareAcknowledge of member-1 in share group sg.
fn share_acknowledge(
    client: &mut RawClient,
    topic_id: uuid::Uuid,
    epoch: i32,
    acks: &[(i64, i64, Vec<i8>)],
) -> ShareAcknowledgeResponse {
    use kafka_protocol::messages::share_acknowledge_request::{
        AcknowledgePartition, AcknowledgeTopic, AcknowledgementBatch,
    };
    let batches = acks
        .iter()
        .map(|(first, last, types)| {
            AcknowledgementBatch::default()
                .with_first_offset(*first)
                .with_last_offset(*last)
                .with_acknowledge_types(types.clone())
        })
        .collect();
    let request = ShareAcknowledgeRequest::default()
        .with_group_id(Some(GroupId(s("sg"))))
        .with_member_id(Some(s("member-1")))
        .with_share_session_epoch(epoch)
        .with_topics(vec![AcknowledgeTopic::default()
            .with_topic_id(topic_id)
            .with_partitions(vec![AcknowledgePartition::default()
                .with_partition_index(0)
                .with_acknowledgement_batches(batches)])]);
    client.call(&request, 1).expect("ShareAcknowledge answered")
}

/// ShareFetch acquires and ShareAcknowledge acknowledges in a share
/// session, and their refusals carry Kafka's error codes: a wrong session
/// epoch, acknowledgements in a session's opening request, an offset not
/// acquired (the partition's whole acknowledgement refused), an unknown
/// acknowledge type, a closed session.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn share_sessions_acquire_acknowledge_and_refuse_with_kafkas_codes() {
    const INVALID_RECORD_STATE: i16 = 121;
    const SHARE_SESSION_NOT_FOUND: i16 = 122;
    const INVALID_SHARE_SESSION_EPOCH: i16 = 123;
    const ACCEPT: i8 = 1;
    let broker = BrokerProcess::start(&["group.share.enable=true"]);
    create_topic(&broker.bootstrap(), "q", 1, &[]).await;
    let mut client = RawClient::connect(broker.port);
    let metadata = client
        .call(
            &MetadataRequest::default().with_topics(Some(vec![
                metadata_request::MetadataRequestTopic::default().with_name(Some(name("q"))),
            ])),
            12,
        )
        .expect("Metadata answered");
    let topic_id = metadata.topics[0].topic_id;

    // The session opens; the share-partition starts at the (empty) log's end.
    let opened = share_fetch(&mut client, topic_id, 0, &[]);
    assert_eq!(opened.error_code, 0);
    assert_eq!(opened.responses[0].partitions[0].partition_index, 0);
    assert!(opened.responses[0].partitions[0]
        .acquired_records
        .is_empty());
    let produce = ProduceRequest::default()
        .with_acks(-1)
        .with_timeout_ms(5000)
        .with_topic_data(vec![produce_request::TopicProduceData::default()
            .with_name(name("q"))
            .with_partition_data(vec![
                produce_request::PartitionProduceData::default()
                    .with_index(0)
                    .with_records(Some(record_batch(&["a", "b", "c"], NO_PRODUCER))),
            ])]);
    let produced = client.call(&produce, 9).expect("Produce answered");
    assert_eq!(produced.responses[0].partition_responses[0].error_code, 0);

    let fetched = share_fetch(&mut client, topic_id, 1, &[]);
    assert_eq!(fetched.error_code, 0);
    assert!(fetched.acquisition_lock_timeout_ms > 0);
    let partition = &fetched.responses[0].partitions[0];
    let acquired: Vec<(i64, i64, i16)> = partition
        .acquired_records
        .iter()
        .map(|a| (a.first_offset, a.last_offset, a.delivery_count))
        .collect();
    assert_eq!(acquired, [(0, 2, 1)]);
    assert!(partition.records.as_ref().is_some_and(|r| !r.is_empty()));

    assert_eq!(
        share_fetch(&mut client, topic_id, 5, &[]).error_code,
        INVALID_SHARE_SESSION_EPOCH
    );
    assert_eq!(
        share_fetch(&mut client, topic_id, 0, &[(0, 0, vec![ACCEPT])]).error_code,
        INVALID_REQUEST
    );
    // Offset 7 was never acquired: nothing of the partition's acknowledgement applies.
    let refused = share_fetch(
        &mut client,
        topic_id,
        2,
        &[(0, 0, vec![ACCEPT]), (7, 7, vec![ACCEPT])],
    );
    assert_eq!(refused.error_code, 0);
    assert_eq!(
        refused.responses[0].partitions[0].acknowledge_error_code,
        INVALID_RECORD_STATE
    );
    assert_eq!(
        share_acknowledge(&mut client, topic_id, 0, &[]).error_code,
        INVALID_SHARE_SESSION_EPOCH
    );
    let unknown_type = share_acknowledge(&mut client, topic_id, 3, &[(0, 0, vec![9])]);
    assert_eq!(
        unknown_type.responses[0].partitions[0].error_code,
        INVALID_REQUEST
    );
    let accepted = share_acknowledge(&mut client, topic_id, 4, &[(0, 2, vec![ACCEPT])]);
    assert_eq!(accepted.error_code, 0);
    assert_eq!(accepted.responses[0].partitions[0].error_code, 0);
    // Accepted records are never acquired again.
    let nothing = share_fetch(&mut client, topic_id, 5, &[]);
    assert!(nothing
        .responses
        .iter()
        .flat_map(|t| &t.partitions)
        .all(|p| p.acquired_records.is_empty()));
    assert_eq!(
        share_acknowledge(&mut client, topic_id, -1, &[]).error_code,
        0
    );
    assert_eq!(
        share_fetch(&mut client, topic_id, 7, &[]).error_code,
        SHARE_SESSION_NOT_FOUND
    );
}

#[test]
fn features_are_advertised_and_updated_with_kafkas_checks() {
    const INVALID_UPDATE_VERSION: i16 = 95;
    let broker = BrokerProcess::start(AUTHORIZER);
    let mut client = RawClient::connect(broker.port);
    let versions = |client: &mut RawClient, version: i16| {
        client
            .call(
                &ApiVersionsRequest::default()
                    .with_client_software_name(s("gregor-test"))
                    .with_client_software_version(s("1.0")),
                version,
            )
            .expect("ApiVersions answered")
    };
    let answer = versions(&mut client, 4);
    let supported: Vec<(String, i16, i16)> = answer
        .supported_features
        .iter()
        .map(|f| (f.name.to_string(), f.min_version, f.max_version))
        .collect();
    assert_eq!(
        supported,
        [
            ("metadata.version".to_string(), 7, 27),
            ("kraft.version".to_string(), 1, 1),
            ("group.version".to_string(), 1, 1),
            ("share.version".to_string(), 0, 1)
        ]
    );
    let finalized: Vec<(String, i16, i16)> = answer
        .finalized_features
        .iter()
        .map(|f| (f.name.to_string(), f.min_version_level, f.max_version_level))
        .collect();
    assert_eq!(
        finalized,
        [
            ("group.version".to_string(), 1, 1),
            ("kraft.version".to_string(), 1, 1),
            ("metadata.version".to_string(), 27, 27)
        ]
    );
    assert!(answer.finalized_features_epoch >= 0);
    assert!(versions(&mut client, 2).supported_features.is_empty());

    // The levels in force are accepted, for real and as a dry run.
    for validate_only in [true, false] {
        let ok = update(
            &mut client,
            &[("group.version", 1, 1), ("metadata.version", 27, 1)],
            validate_only,
            2,
        );
        assert_eq!(ok.error_code, 0, "{:?}", ok.error_message);
    }
    // Kafka's refusals, all or nothing.
    for (updates, version, expected) in [
        (
            vec![("transaction.version", 2, 1)],
            2,
            "supports versions 0-0",
        ),
        (vec![("group.version", 0, 2)], 1, "supports versions 1-1"),
        (vec![("group.version", 0, 1)], 0, "supports versions 1-1"),
        (
            vec![("metadata.version", 20, 1)],
            2,
            "without setting the upgrade type",
        ),
        (
            vec![("metadata.version", 20, 2)],
            2,
            "might delete metadata",
        ),
        (vec![("group.version", 1, 9)], 2, "upgrade type"),
        (
            vec![("group.version", 1, 1), ("no.such.version", 1, 1)],
            1,
            "supports versions 0-0",
        ),
    ] {
        let refused = update(&mut client, &updates, false, version);
        assert_eq!(refused.error_code, INVALID_UPDATE_VERSION, "{updates:?}");
        let message = refused.error_message.clone().unwrap().to_string();
        assert!(message.contains(expected), "{message}");
        if version <= 1 {
            assert_eq!(refused.results.len(), updates.len());
            assert!(refused
                .results
                .iter()
                .all(|r| r.error_code == INVALID_UPDATE_VERSION));
        }
    }
    let twice = update(
        &mut client,
        &[("group.version", 1, 1), ("group.version", 1, 1)],
        false,
        2,
    );
    assert_eq!(twice.error_code, INVALID_REQUEST);

    // ALTER on the cluster is needed.
    deny(broker.port, CLUSTER, "kafka-cluster", 7);
    assert!(wait_until(Duration::from_secs(10), || {
        update(&mut client, &[("group.version", 1, 1)], true, 2).error_code
            == CLUSTER_AUTHORIZATION_FAILED
    }));
}

// ConfigResource types.
const BROKER: i8 = 4;
const BROKER_LOGGER: i8 = 8;
const CLIENT_METRICS: i8 = 16;
const GROUP: i8 = 32;

/// A raw ListConfigResources: its error code and (type, name) of every
/// resource listed, sorted.
fn list_config_resources(port: u16, types: &[i8], version: i16) -> (i16, Vec<(i8, String)>) {
    let request = ListConfigResourcesRequest::default().with_resource_types(types.to_vec());
    let response = RawClient::connect(port)
        .call(&request, version)
        .expect("ListConfigResources answered");
    let mut listed: Vec<(i8, String)> = response
        .config_resources
        .iter()
        .map(|r| (r.resource_type, r.resource_name.to_string()))
        .collect();
    listed.sort();
    (response.error_code, listed)
}

/// Creates client metrics subscription `name` through IncrementalAlterConfigs.
fn subscribe(port: u16, name: &str) {
    use kafka_protocol::messages::incremental_alter_configs_request::{
        AlterConfigsResource, AlterableConfig,
    };
    let request = IncrementalAlterConfigsRequest::default().with_resources(vec![
        AlterConfigsResource::default()
            .with_resource_type(CLIENT_METRICS)
            .with_resource_name(s(name))
            .with_configs(vec![AlterableConfig::default()
                .with_name(s("metrics"))
                .with_config_operation(0)
                .with_value(Some(s("org.apache.kafka.producer.")))]),
    ]);
    let response = RawClient::connect(port)
        .call(&request, 1)
        .expect("IncrementalAlterConfigs answered");
    assert_eq!(response.responses[0].error_code, 0);
}

/// Commits offset 1 of partition 0 of `topic` for `group`, outside any generation.
fn commit(port: u16, group: &str, topic: &str) {
    use kafka_protocol::messages::offset_commit_request::{
        OffsetCommitRequestPartition, OffsetCommitRequestTopic,
    };
    let request = OffsetCommitRequest::default()
        .with_group_id(GroupId(s(group)))
        .with_generation_id_or_member_epoch(-1)
        .with_topics(vec![OffsetCommitRequestTopic::default()
            .with_name(name(topic))
            .with_partitions(vec![OffsetCommitRequestPartition::default()
                .with_partition_index(0)
                .with_committed_offset(1)])]);
    let response = RawClient::connect(port)
        .call(&request, 8)
        .expect("OffsetCommit answered");
    assert_eq!(response.topics[0].partitions[0].error_code, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_config_resources_lists_each_type_kafka_lists() {
    const UNSUPPORTED_VERSION: i16 = 35;
    let broker = BrokerProcess::start(&[]);
    let port = broker.port;
    create_topic(&broker.bootstrap(), "t", 1, &[]).await;
    subscribe(port, "producers");
    commit(port, "g", "t");

    // v0 (KIP-1000's ListClientMetricsResources): only subscriptions.
    assert_eq!(
        list_config_resources(port, &[], 0),
        (0, vec![(CLIENT_METRICS, "producers".to_string())])
    );

    // Every topic the cluster has, internal ones too, as Metadata lists them.
    let metadata = RawClient::connect(port)
        .call(&MetadataRequest::default().with_topics(None), 12)
        .expect("Metadata answered");
    let mut topics: Vec<(i8, String)> = metadata
        .topics
        .iter()
        .map(|t| (TOPIC, t.name.as_ref().unwrap().to_string()))
        .collect();
    topics.sort();
    assert!(topics.contains(&(TOPIC, "t".to_string())));
    assert_eq!(
        list_config_resources(port, &[TOPIC], 1),
        (0, topics.clone())
    );

    let mut every = topics;
    every.extend([
        (BROKER, "1".to_string()),
        (BROKER_LOGGER, "1".to_string()),
        (CLIENT_METRICS, "producers".to_string()),
        (GROUP, "g".to_string()),
    ]);
    every.sort();
    assert_eq!(list_config_resources(port, &[], 1), (0, every));

    // A type it cannot list refuses the whole request.
    assert_eq!(
        list_config_resources(port, &[TOPIC, 1], 1),
        (UNSUPPORTED_VERSION, vec![])
    );
}

#[test]
fn list_config_resources_needs_describe_configs_on_the_cluster() {
    let broker = BrokerProcess::start(AUTHORIZER);
    subscribe(broker.port, "producers");
    assert_eq!(
        list_config_resources(broker.port, &[], 1).0,
        0,
        "open while no ACL names the cluster"
    );
    const DESCRIBE_CONFIGS: i8 = 10;
    deny(broker.port, CLUSTER, "kafka-cluster", DESCRIBE_CONFIGS);
    for version in [0, 1] {
        assert_eq!(
            list_config_resources(broker.port, &[], version),
            (CLUSTER_AUTHORIZATION_FAILED, vec![])
        );
    }
}

/// The topic id of `topic`, from Metadata.
fn topic_id_of(client: &mut RawClient, topic: &str) -> uuid::Uuid {
    let metadata = client
        .call(
            &MetadataRequest::default().with_topics(Some(vec![
                metadata_request::MetadataRequestTopic::default().with_name(Some(name(topic))),
            ])),
            12,
        )
        .expect("Metadata answered");
    metadata.topics[0].topic_id
}

/// The offsets acquired in a ShareFetch answer.
fn acquired_offsets(fetched: &ShareFetchResponse) -> Vec<(i64, i16)> {
    fetched
        .responses
        .iter()
        .flat_map(|t| &t.partitions)
        .flat_map(|p| &p.acquired_records)
        .flat_map(|a| (a.first_offset..=a.last_offset).map(move |o| (o, a.delivery_count)))
        .collect()
}

/// A share-partition's state outlives its broker (`__share_group_state`):
/// after a kill -9 and a restart, records accepted or rejected before are
/// never delivered again, and records that were only acquired come back
/// with their delivery counted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn share_partition_state_survives_a_broker_restart() {
    const ACCEPT: i8 = 1;
    const REJECT: i8 = 3;
    let mut broker = BrokerProcess::start(&[
        "group.share.enable=true",
        "share.coordinator.state.topic.num.partitions=3",
        // A snapshot every other write: replay reads a snapshot and updates.
        "share.coordinator.snapshot.update.records.per.snapshot=2",
    ]);
    create_topic(&broker.bootstrap(), "q", 1, &[]).await;
    let mut client = RawClient::connect(broker.port);
    let topic_id = topic_id_of(&mut client, "q");
    // The share-partition starts at the empty log's end, offset 0.
    assert_eq!(share_fetch(&mut client, topic_id, 0, &[]).error_code, 0);
    let produce = ProduceRequest::default()
        .with_acks(-1)
        .with_timeout_ms(5000)
        .with_topic_data(vec![produce_request::TopicProduceData::default()
            .with_name(name("q"))
            .with_partition_data(vec![
                produce_request::PartitionProduceData::default()
                    .with_index(0)
                    .with_records(Some(record_batch(
                        &["a", "b", "c", "d", "e", "f"],
                        NO_PRODUCER,
                    ))),
            ])]);
    let produced = client.call(&produce, 9).expect("Produce answered");
    assert_eq!(produced.responses[0].partition_responses[0].error_code, 0);
    let fetched = share_fetch(&mut client, topic_id, 1, &[]);
    assert_eq!(
        acquired_offsets(&fetched),
        (0..6).map(|o| (o, 1)).collect::<Vec<_>>()
    );
    // Three writes: 0-1 accepted, 3 rejected, 5 accepted; 2 and 4 stay acquired.
    for (epoch, (first, last, kind)) in [(0, 1, ACCEPT), (3, 3, REJECT), (5, 5, ACCEPT)]
        .into_iter()
        .enumerate()
    {
        let acked = share_acknowledge(
            &mut client,
            topic_id,
            epoch as i32 + 2,
            &[(first, last, vec![kind])],
        );
        assert_eq!(acked.error_code, 0);
        assert_eq!(acked.responses[0].partitions[0].error_code, 0);
    }

    broker.kill9();
    broker.restart();
    let mut client = RawClient::connect(broker.port);
    let mut redelivered = Vec::new();
    for epoch in 0..50 {
        let fetched = share_fetch(&mut client, topic_id, epoch, &[]);
        assert_eq!(fetched.error_code, 0);
        redelivered.extend(acquired_offsets(&fetched));
        if redelivered.len() >= 2 {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(
        redelivered,
        [(2, 2), (4, 2)],
        "only the records not acknowledged come back, delivered a second time"
    );

    // The share coordinator answers for the state on the wire too.
    let summary = client
        .call(
            &ReadShareGroupStateSummaryRequest::default()
                .with_group_id(s("sg"))
                .with_topics(vec![
                    read_share_group_state_summary_request::ReadStateSummaryData::default()
                        .with_topic_id(topic_id)
                        .with_partitions(vec![
                            read_share_group_state_summary_request::PartitionData::default()
                                .with_partition(0)
                                .with_leader_epoch(-1),
                        ]),
                ]),
            0,
        )
        .expect("ReadShareGroupStateSummary answered");
    let p = &summary.results[0].partitions[0];
    assert_eq!((p.error_code, p.start_offset), (0, 2));
}

/// A state batch: (first offset, last offset, delivery state, delivery count).
type Batch = (i64, i64, i8, i16);

/// Reads `sg`'s state of partition `partition` of `topic_id`: (error
/// code, state epoch, start offset, batches).
fn read_state(
    client: &mut RawClient,
    topic_id: uuid::Uuid,
    partition: i32,
) -> (i16, i32, i64, Vec<Batch>) {
    use kafka_protocol::messages::read_share_group_state_request::{PartitionData, ReadStateData};
    let read = client
        .call(
            &ReadShareGroupStateRequest::default()
                .with_group_id(s("sg"))
                .with_topics(vec![ReadStateData::default()
                    .with_topic_id(topic_id)
                    .with_partitions(vec![PartitionData::default()
                        .with_partition(partition)
                        .with_leader_epoch(-1)])]),
            0,
        )
        .expect("ReadShareGroupState answered");
    let p = &read.results[0].partitions[0];
    let batches = p
        .state_batches
        .iter()
        .map(|b| {
            (
                b.first_offset,
                b.last_offset,
                b.delivery_state,
                b.delivery_count,
            )
        })
        .collect();
    (p.error_code, p.state_epoch, p.start_offset, batches)
}

fn write_state(
    client: &mut RawClient,
    topic_id: uuid::Uuid,
    state_epoch: i32,
    start_offset: i64,
    batches: &[Batch],
) -> i16 {
    use kafka_protocol::messages::write_share_group_state_request::{
        PartitionData, StateBatch, WriteStateData,
    };
    let batches = batches
        .iter()
        .map(|&(first, last, state, count)| {
            StateBatch::default()
                .with_first_offset(first)
                .with_last_offset(last)
                .with_delivery_state(state)
                .with_delivery_count(count)
        })
        .collect();
    let written = client
        .call(
            &WriteShareGroupStateRequest::default()
                .with_group_id(s("sg"))
                .with_topics(vec![WriteStateData::default()
                    .with_topic_id(topic_id)
                    .with_partitions(vec![PartitionData::default()
                        .with_partition(0)
                        .with_state_epoch(state_epoch)
                        .with_leader_epoch(-1)
                        .with_start_offset(start_offset)
                        .with_state_batches(batches)])]),
            0,
        )
        .expect("WriteShareGroupState answered");
    written.results[0].partitions[0].error_code
}

/// The five share-group state APIs on the wire, with Kafka's refusals:
/// NOT_COORDINATOR before `__share_group_state` exists, FENCED_STATE_EPOCH
/// for a write under an older state epoch, INVALID_REQUEST for a batch
/// that does not read; FindCoordinator's SHARE key finds this broker.
#[test]
fn share_group_state_apis_keep_and_fence_state() {
    const NOT_COORDINATOR: i16 = 16;
    const FENCED_STATE_EPOCH: i16 = 124;
    const ACKNOWLEDGED: i8 = 2;
    const AVAILABLE: i8 = 0;
    let broker = BrokerProcess::start(&[
        "group.share.enable=true",
        "share.coordinator.state.topic.num.partitions=2",
    ]);
    let mut client = RawClient::connect(broker.port);
    let topic_id = uuid::Uuid::new_v4();
    assert_eq!(read_state(&mut client, topic_id, 0).0, NOT_COORDINATOR);

    let key = format!(
        "sg:{}:0",
        base64::Engine::encode(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD,
            topic_id.as_bytes()
        )
    );
    let found = client
        .call(
            &FindCoordinatorRequest::default()
                .with_key_type(2)
                .with_coordinator_keys(vec![s(&key), s("not-a-share-key")]),
            4,
        )
        .expect("FindCoordinator answered");
    assert_eq!(found.coordinators[0].error_code, 0);
    assert_eq!(found.coordinators[0].port, i32::from(broker.port));
    assert_eq!(found.coordinators[1].error_code, INVALID_REQUEST);

    // Nothing written yet: uninitialized, start offset -1.
    assert_eq!(read_state(&mut client, topic_id, 0), (0, 0, -1, vec![]));
    let initialized = client
        .call(
            &InitializeShareGroupStateRequest::default()
                .with_group_id(s("sg"))
                .with_topics(vec![
                    initialize_share_group_state_request::InitializeStateData::default()
                        .with_topic_id(topic_id)
                        .with_partitions(vec![
                            initialize_share_group_state_request::PartitionData::default()
                                .with_partition(0)
                                .with_state_epoch(1)
                                .with_start_offset(10),
                        ]),
                ]),
            0,
        )
        .expect("InitializeShareGroupState answered");
    assert_eq!(initialized.results[0].partitions[0].error_code, 0);
    assert_eq!(read_state(&mut client, topic_id, 0), (0, 1, 10, vec![]));

    assert_eq!(
        write_state(&mut client, topic_id, 0, 12, &[]),
        FENCED_STATE_EPOCH
    );
    assert_eq!(
        write_state(&mut client, topic_id, 1, -1, &[(12, 10, AVAILABLE, 1)]),
        INVALID_REQUEST
    );
    assert_eq!(
        write_state(
            &mut client,
            topic_id,
            1,
            -1,
            &[(10, 14, AVAILABLE, 1), (11, 12, ACKNOWLEDGED, 1)]
        ),
        0
    );
    assert_eq!(write_state(&mut client, topic_id, 1, 11, &[]), 0);
    assert_eq!(
        read_state(&mut client, topic_id, 0),
        (
            0,
            1,
            11,
            vec![(11, 12, ACKNOWLEDGED, 1), (13, 14, AVAILABLE, 1)]
        )
    );

    let deleted = client
        .call(
            &DeleteShareGroupStateRequest::default()
                .with_group_id(s("sg"))
                .with_topics(vec![
                    delete_share_group_state_request::DeleteStateData::default()
                        .with_topic_id(topic_id)
                        .with_partitions(vec![
                            delete_share_group_state_request::PartitionData::default()
                                .with_partition(0),
                        ]),
                ]),
            0,
        )
        .expect("DeleteShareGroupState answered");
    assert_eq!(deleted.results[0].partitions[0].error_code, 0);
    assert_eq!(read_state(&mut client, topic_id, 0), (0, 0, -1, vec![]));
}

/// A connection that closes takes its share sessions with it, and what
/// their member held is given back at once rather than at the end of its
/// acquisition locks (Kafka's ShareSessionCache on disconnect).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_closed_connection_gives_back_what_its_share_session_held() {
    let broker = BrokerProcess::start(&[
        "group.share.enable=true",
        "group.share.record.lock.duration.ms=60000",
    ]);
    create_topic(&broker.bootstrap(), "q", 1, &[]).await;
    let mut first = RawClient::connect(broker.port);
    let topic_id = topic_id_of(&mut first, "q");
    assert_eq!(share_fetch(&mut first, topic_id, 0, &[]).error_code, 0);
    let produce = ProduceRequest::default()
        .with_acks(-1)
        .with_timeout_ms(5000)
        .with_topic_data(vec![produce_request::TopicProduceData::default()
            .with_name(name("q"))
            .with_partition_data(vec![
                produce_request::PartitionProduceData::default()
                    .with_index(0)
                    .with_records(Some(record_batch(&["a", "b", "c"], NO_PRODUCER))),
            ])]);
    let produced = first.call(&produce, 9).expect("Produce answered");
    assert_eq!(produced.responses[0].partition_responses[0].error_code, 0);
    let held = acquired_offsets(&share_fetch(&mut first, topic_id, 1, &[]));
    assert_eq!(held, [(0, 1), (1, 1), (2, 1)]);
    drop(first);

    let mut second = RawClient::connect(broker.port);
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    let mut epoch = 0;
    let mut got = Vec::new();
    while got.len() < 3 {
        assert!(
            std::time::Instant::now() < deadline,
            "the records held by the closed connection's member came back: {got:?}"
        );
        let fetched = share_fetch_as(&mut second, "member-2", topic_id, epoch, &[]);
        assert_eq!(fetched.error_code, 0);
        got.extend(acquired_offsets(&fetched));
        epoch += 1;
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(got, [(0, 2), (1, 2), (2, 2)]);
}
