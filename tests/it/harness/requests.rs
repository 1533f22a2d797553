//! Request bodies of every API the broker serves, encoded at every version
//! the codec knows: the defaults (empty arrays, null strings) and populated
//! ones (nested arrays, strings, tagged fields, record batches in every
//! compression), as seeds for hostile and fuzzed input.

use bytes::{Bytes, BytesMut};
use kafka_protocol::indexmap::IndexMap;
use kafka_protocol::messages::*;
use kafka_protocol::protocol::{Encodable, Message, Request, StrBytes};
use kafka_protocol::records::{
    Compression, Record, RecordBatchEncoder, RecordEncodeOptions, TimestampType,
};

/// (API, version, encoded body).
pub type Body = (ApiKey, i16, Vec<u8>);

/// Encodes `request` at every version its type has, skipping the versions
/// that cannot carry a field it sets.
fn at_every_version<R: Encodable + Message + Request>(request: &R, out: &mut Vec<Body>) {
    let key = ApiKey::try_from(R::KEY).expect("a known API key");
    for version in R::VERSIONS.min..=R::VERSIONS.max {
        let mut body = BytesMut::new();
        if request.encode(&mut body, version).is_ok() {
            out.push((key, version, body.to_vec()));
        }
    }
}

/// The default request of every API the broker serves, at every version.
pub fn default_bodies() -> Vec<Body> {
    let mut out = Vec::new();
    macro_rules! bodies {
        ($($ty:ty),* $(,)?) => {$( at_every_version(&<$ty>::default(), &mut out); )*};
    }
    bodies!(
        AddOffsetsToTxnRequest,
        AddPartitionsToTxnRequest,
        AddRaftVoterRequest,
        AlterClientQuotasRequest,
        AlterConfigsRequest,
        AlterPartitionReassignmentsRequest,
        AlterReplicaLogDirsRequest,
        AlterUserScramCredentialsRequest,
        ApiVersionsRequest,
        ConsumerGroupDescribeRequest,
        ConsumerGroupHeartbeatRequest,
        CreateAclsRequest,
        CreatePartitionsRequest,
        CreateTopicsRequest,
        DeleteAclsRequest,
        DeleteGroupsRequest,
        DeleteRecordsRequest,
        DeleteTopicsRequest,
        DescribeAclsRequest,
        DescribeClientQuotasRequest,
        DescribeClusterRequest,
        DescribeConfigsRequest,
        DescribeGroupsRequest,
        DescribeLogDirsRequest,
        DescribeProducersRequest,
        DescribeQuorumRequest,
        DescribeTopicPartitionsRequest,
        DescribeTransactionsRequest,
        DescribeUserScramCredentialsRequest,
        ElectLeadersRequest,
        EndTxnRequest,
        FetchRequest,
        FindCoordinatorRequest,
        GetTelemetrySubscriptionsRequest,
        HeartbeatRequest,
        IncrementalAlterConfigsRequest,
        InitProducerIdRequest,
        JoinGroupRequest,
        LeaveGroupRequest,
        ListConfigResourcesRequest,
        ListGroupsRequest,
        ListOffsetsRequest,
        ListPartitionReassignmentsRequest,
        ListTransactionsRequest,
        MetadataRequest,
        OffsetCommitRequest,
        OffsetDeleteRequest,
        OffsetFetchRequest,
        OffsetForLeaderEpochRequest,
        SaslAuthenticateRequest,
        SaslHandshakeRequest,
        ShareAcknowledgeRequest,
        DescribeShareGroupOffsetsRequest,
        AlterShareGroupOffsetsRequest,
        DeleteShareGroupOffsetsRequest,
        ShareFetchRequest,
        ShareGroupDescribeRequest,
        ShareGroupHeartbeatRequest,
        InitializeShareGroupStateRequest,
        ReadShareGroupStateRequest,
        WriteShareGroupStateRequest,
        DeleteShareGroupStateRequest,
        ReadShareGroupStateSummaryRequest,
        ProduceRequest,
        PushTelemetryRequest,
        RemoveRaftVoterRequest,
        SyncGroupRequest,
        TxnOffsetCommitRequest,
        UpdateFeaturesRequest,
        WriteTxnMarkersRequest,
    );
    out
}

fn s(v: &str) -> StrBytes {
    StrBytes::from_string(v.to_string())
}

fn topic(v: &str) -> TopicName {
    TopicName(s(v))
}

fn group(v: &str) -> GroupId {
    GroupId(s(v))
}

fn txn(v: &str) -> TransactionalId {
    TransactionalId(s(v))
}

fn id() -> uuid::Uuid {
    uuid::Uuid::from_u128(0x0123_4567_89ab_cdef_0123_4567_89ab_cdef)
}

/// A tagged field no version defines, which flexible versions must skip.
fn tagged() -> std::collections::BTreeMap<i32, Bytes> {
    [(99, Bytes::from_static(b"tag"))].into()
}

/// One magic-2 batch of three records with keys, values and headers.
// Only the decoder fuzzer, a test binary of its own, uses it.
#[allow(dead_code)]
pub fn sample_batch(compression: Compression) -> Bytes {
    let records: Vec<Record> = (0..3)
        .map(|i| Record {
            transactional: false,
            control: false,
            delete_horizon: false,
            partition_leader_epoch: -1,
            producer_id: 7,
            producer_epoch: 1,
            timestamp_type: TimestampType::Creation,
            offset: i,
            sequence: i as i32,
            timestamp: 1_700_000_000_000 + i,
            key: Some(Bytes::from(format!("key-{i}"))),
            value: Some(Bytes::from(format!("value {i} ").repeat(20))),
            headers: IndexMap::from([(s("h"), Some(Bytes::from_static(b"header value")))]),
        })
        .collect::<Vec<_>>();
    encode_batch(&records, compression)
}

/// `records` as one magic-2 batch (or more, where the encoder splits).
pub fn encode_batch(records: &[Record], compression: Compression) -> Bytes {
    let mut buf = BytesMut::new();
    RecordBatchEncoder::encode(
        &mut buf,
        records,
        &RecordEncodeOptions {
            version: 2,
            compression,
        },
    )
    .expect("encode a record batch");
    buf.freeze()
}

// Only the decoder fuzzer, a test binary of its own, uses it.
#[allow(dead_code)]
pub const COMPRESSIONS: [Compression; 5] = [
    Compression::None,
    Compression::Gzip,
    Compression::Snappy,
    Compression::Lz4,
    Compression::Zstd,
];

/// Requests of every API with their arrays, strings and maps filled in,
/// at every version that can carry what they set. Where versions replaced
/// one field by another (topic names by topic ids, one group by a list of
/// groups), there is one request for each.
// Only the decoder fuzzer, a test binary of its own, uses it.
#[allow(dead_code)]
pub fn populated_bodies() -> Vec<Body> {
    let mut out = Vec::new();
    let o = &mut out;

    for compression in COMPRESSIONS {
        let partitions = |records: Bytes| {
            vec![
                produce_request::PartitionProduceData::default()
                    .with_index(0)
                    .with_records(Some(records.clone())),
                produce_request::PartitionProduceData::default()
                    .with_index(3)
                    .with_records(Some(records)),
            ]
        };
        let batch = sample_batch(compression);
        let request = |topic_data| {
            ProduceRequest::default()
                .with_acks(-1)
                .with_timeout_ms(30_000)
                .with_topic_data(topic_data)
        };
        at_every_version(
            &request(vec![produce_request::TopicProduceData::default()
                .with_name(topic("orders"))
                .with_partition_data(partitions(batch.clone()))])
            .with_transactional_id(Some(txn("tx-1"))),
            o,
        );
        at_every_version(
            &request(vec![produce_request::TopicProduceData::default()
                .with_topic_id(id())
                .with_partition_data(partitions(batch))]),
            o,
        );
    }

    let fetch_partitions = vec![
        fetch_request::FetchPartition::default()
            .with_partition(0)
            .with_current_leader_epoch(3)
            .with_fetch_offset(42)
            .with_last_fetched_epoch(2)
            .with_log_start_offset(1)
            .with_partition_max_bytes(1 << 20),
        fetch_request::FetchPartition::default()
            .with_partition(1)
            .with_fetch_offset(7)
            .with_partition_max_bytes(4096),
    ];
    let fetch = FetchRequest::default()
        .with_replica_id(BrokerId(-1))
        .with_max_wait_ms(500)
        .with_min_bytes(1)
        .with_max_bytes(50 << 20)
        .with_isolation_level(1)
        .with_session_id(5)
        .with_session_epoch(2);
    at_every_version(
        &fetch
            .clone()
            .with_topics(vec![fetch_request::FetchTopic::default()
                .with_topic(topic("orders"))
                .with_partitions(fetch_partitions.clone())])
            .with_forgotten_topics_data(vec![fetch_request::ForgottenTopic::default()
                .with_topic(topic("old"))
                .with_partitions(vec![0, 1, 2])])
            .with_rack_id(s("rack-a")),
        o,
    );
    at_every_version(
        &fetch
            .with_topics(vec![fetch_request::FetchTopic::default()
                .with_topic_id(id())
                .with_partitions(fetch_partitions)])
            .with_forgotten_topics_data(vec![fetch_request::ForgottenTopic::default()
                .with_topic_id(id())
                .with_partitions(vec![4])])
            .with_rack_id(s("rack-a"))
            .with_unknown_tagged_fields(tagged()),
        o,
    );

    at_every_version(
        &ListOffsetsRequest::default()
            .with_replica_id(BrokerId(-1))
            .with_isolation_level(1)
            .with_topics(vec![list_offsets_request::ListOffsetsTopic::default()
                .with_name(topic("orders"))
                .with_partitions(vec![
                    list_offsets_request::ListOffsetsPartition::default()
                        .with_partition_index(0)
                        .with_current_leader_epoch(1)
                        .with_timestamp(-1),
                    list_offsets_request::ListOffsetsPartition::default()
                        .with_partition_index(2)
                        .with_timestamp(1_700_000_000_000),
                ])]),
        o,
    );

    for topics in [
        Some(vec![
            metadata_request::MetadataRequestTopic::default().with_name(Some(topic("orders"))),
            metadata_request::MetadataRequestTopic::default().with_name(Some(topic("events"))),
        ]),
        Some(vec![metadata_request::MetadataRequestTopic::default()
            .with_topic_id(id())
            .with_name(None)]),
        None,
    ] {
        at_every_version(
            &MetadataRequest::default()
                .with_topics(topics)
                .with_allow_auto_topic_creation(true)
                .with_include_topic_authorized_operations(true),
            o,
        );
    }

    let commit_partitions = vec![
        offset_commit_request::OffsetCommitRequestPartition::default()
            .with_partition_index(0)
            .with_committed_offset(100)
            .with_committed_leader_epoch(2)
            .with_committed_metadata(Some(s("checkpoint"))),
        offset_commit_request::OffsetCommitRequestPartition::default()
            .with_partition_index(1)
            .with_committed_offset(5),
    ];
    let commit = OffsetCommitRequest::default()
        .with_group_id(group("readers"))
        .with_generation_id_or_member_epoch(4)
        .with_member_id(s("member-1"));
    at_every_version(
        &commit
            .clone()
            .with_group_instance_id(Some(s("instance-1")))
            .with_topics(vec![
                offset_commit_request::OffsetCommitRequestTopic::default()
                    .with_name(topic("orders"))
                    .with_partitions(commit_partitions.clone()),
            ]),
        o,
    );
    at_every_version(
        &commit.with_topics(vec![
            offset_commit_request::OffsetCommitRequestTopic::default()
                .with_topic_id(id())
                .with_partitions(commit_partitions),
        ]),
        o,
    );

    at_every_version(
        &OffsetFetchRequest::default()
            .with_group_id(group("readers"))
            .with_topics(Some(vec![
                offset_fetch_request::OffsetFetchRequestTopic::default()
                    .with_name(topic("orders"))
                    .with_partition_indexes(vec![0, 1, 2]),
            ]))
            .with_require_stable(true),
        o,
    );
    for (name, topic_id) in [(topic("orders"), uuid::Uuid::nil()), (topic(""), id())] {
        at_every_version(
            &OffsetFetchRequest::default()
                .with_groups(vec![
                    offset_fetch_request::OffsetFetchRequestGroup::default()
                        .with_group_id(group("readers"))
                        .with_member_id(Some(s("member-1")))
                        .with_member_epoch(3)
                        .with_topics(Some(vec![
                            offset_fetch_request::OffsetFetchRequestTopics::default()
                                .with_name(name)
                                .with_topic_id(topic_id)
                                .with_partition_indexes(vec![0, 5]),
                        ])),
                    offset_fetch_request::OffsetFetchRequestGroup::default()
                        .with_group_id(group("others"))
                        .with_topics(None),
                ])
                .with_require_stable(true),
            o,
        );
    }

    for (key, key_type) in [("readers", 0), ("tx-1", 1)] {
        at_every_version(
            &FindCoordinatorRequest::default()
                .with_key(s(key))
                .with_key_type(key_type),
            o,
        );
        at_every_version(
            &FindCoordinatorRequest::default()
                .with_key_type(key_type)
                .with_coordinator_keys(vec![s(key), s("second")]),
            o,
        );
    }

    at_every_version(
        &JoinGroupRequest::default()
            .with_group_id(group("readers"))
            .with_session_timeout_ms(10_000)
            .with_rebalance_timeout_ms(30_000)
            .with_member_id(s("member-1"))
            .with_group_instance_id(Some(s("instance-1")))
            .with_protocol_type(s("consumer"))
            .with_protocols(vec![
                join_group_request::JoinGroupRequestProtocol::default()
                    .with_name(s("range"))
                    .with_metadata(Bytes::from_static(
                        b"\x00\x01\x00\x00\x00\x01\x00\x06orders\xff\xff\xff\xff",
                    )),
                join_group_request::JoinGroupRequestProtocol::default()
                    .with_name(s("roundrobin"))
                    .with_metadata(Bytes::from_static(b"\x00\x00")),
            ])
            .with_reason(Some(s("rebalance"))),
        o,
    );
    at_every_version(
        &SyncGroupRequest::default()
            .with_group_id(group("readers"))
            .with_generation_id(4)
            .with_member_id(s("member-1"))
            .with_group_instance_id(Some(s("instance-1")))
            .with_protocol_type(Some(s("consumer")))
            .with_protocol_name(Some(s("range")))
            .with_assignments(vec![
                sync_group_request::SyncGroupRequestAssignment::default()
                    .with_member_id(s("member-1"))
                    .with_assignment(Bytes::from_static(
                        b"\x00\x01\x00\x00\x00\x01\x00\x06orders\x00\x00\x00\x01\x00\x00\x00\x00",
                    )),
                sync_group_request::SyncGroupRequestAssignment::default()
                    .with_member_id(s("member-2")),
            ]),
        o,
    );
    at_every_version(
        &HeartbeatRequest::default()
            .with_group_id(group("readers"))
            .with_generation_id(4)
            .with_member_id(s("member-1"))
            .with_group_instance_id(Some(s("instance-1"))),
        o,
    );
    at_every_version(
        &LeaveGroupRequest::default()
            .with_group_id(group("readers"))
            .with_member_id(s("member-1")),
        o,
    );
    at_every_version(
        &LeaveGroupRequest::default()
            .with_group_id(group("readers"))
            .with_members(vec![
                leave_group_request::MemberIdentity::default()
                    .with_member_id(s("member-1"))
                    .with_group_instance_id(Some(s("instance-1")))
                    .with_reason(Some(s("shutting down"))),
                leave_group_request::MemberIdentity::default().with_member_id(s("member-2")),
            ]),
        o,
    );
    at_every_version(
        &DescribeGroupsRequest::default()
            .with_groups(vec![group("readers"), group("others")])
            .with_include_authorized_operations(true),
        o,
    );
    at_every_version(
        &ListGroupsRequest::default()
            .with_states_filter(vec![s("Stable"), s("Empty")])
            .with_types_filter(vec![s("classic")]),
        o,
    );
    at_every_version(
        &DeleteGroupsRequest::default().with_groups_names(vec![group("readers"), group("x")]),
        o,
    );
    at_every_version(
        &OffsetDeleteRequest::default()
            .with_group_id(group("readers"))
            .with_topics(vec![
                offset_delete_request::OffsetDeleteRequestTopic::default()
                    .with_name(topic("orders"))
                    .with_partitions(vec![
                        offset_delete_request::OffsetDeleteRequestPartition::default()
                            .with_partition_index(0),
                        offset_delete_request::OffsetDeleteRequestPartition::default()
                            .with_partition_index(1),
                    ]),
            ]),
        o,
    );
    at_every_version(
        &ConsumerGroupHeartbeatRequest::default()
            .with_group_id(group("readers"))
            .with_member_id(s("member-1"))
            .with_member_epoch(0)
            .with_instance_id(Some(s("instance-1")))
            .with_rack_id(Some(s("rack-a")))
            .with_rebalance_timeout_ms(30_000)
            .with_subscribed_topic_names(Some(vec![topic("orders"), topic("events")]))
            .with_server_assignor(Some(s("uniform")))
            .with_topic_partitions(Some(vec![
                consumer_group_heartbeat_request::TopicPartitions::default()
                    .with_topic_id(id())
                    .with_partitions(vec![0, 1]),
            ])),
        o,
    );
    at_every_version(
        &ConsumerGroupHeartbeatRequest::default()
            .with_group_id(group("readers"))
            .with_member_epoch(-1)
            .with_subscribed_topic_regex(Some(s("ord.*"))),
        o,
    );
    at_every_version(
        &ConsumerGroupDescribeRequest::default()
            .with_group_ids(vec![group("readers")])
            .with_include_authorized_operations(true),
        o,
    );
    at_every_version(
        &ShareGroupHeartbeatRequest::default()
            .with_group_id(group("queue"))
            .with_member_id(s("member-1"))
            .with_member_epoch(0)
            .with_rack_id(Some(s("rack-a")))
            .with_subscribed_topic_names(Some(vec![topic("orders")])),
        o,
    );
    at_every_version(
        &ShareGroupDescribeRequest::default()
            .with_group_ids(vec![group("queue")])
            .with_include_authorized_operations(true),
        o,
    );
    at_every_version(
        &ShareFetchRequest::default()
            .with_group_id(Some(group("queue")))
            .with_member_id(Some(s("member-1")))
            .with_share_session_epoch(2)
            .with_max_wait_ms(500)
            .with_min_bytes(1)
            .with_max_bytes(1 << 20)
            .with_max_records(500)
            .with_batch_size(500)
            .with_topics(vec![share_fetch_request::FetchTopic::default()
                .with_topic_id(id())
                .with_partitions(vec![
                    share_fetch_request::FetchPartition::default()
                        .with_partition_index(0)
                        .with_acknowledgement_batches(vec![
                            share_fetch_request::AcknowledgementBatch::default()
                                .with_first_offset(10)
                                .with_last_offset(12)
                                .with_acknowledge_types(vec![1, 2, 3]),
                        ]),
                ])])
            .with_forgotten_topics_data(vec![share_fetch_request::ForgottenTopic::default()
                .with_topic_id(id())
                .with_partitions(vec![1])]),
        o,
    );
    at_every_version(
        &ShareAcknowledgeRequest::default()
            .with_group_id(Some(group("queue")))
            .with_member_id(Some(s("member-1")))
            .with_share_session_epoch(-1)
            .with_topics(vec![share_acknowledge_request::AcknowledgeTopic::default()
                .with_topic_id(id())
                .with_partitions(vec![
                    share_acknowledge_request::AcknowledgePartition::default()
                        .with_partition_index(0)
                        .with_acknowledgement_batches(vec![
                            share_acknowledge_request::AcknowledgementBatch::default()
                                .with_first_offset(0)
                                .with_last_offset(4)
                                .with_acknowledge_types(vec![1]),
                        ]),
                ])]),
        o,
    );
    at_every_version(
        &WriteShareGroupStateRequest::default()
            .with_group_id(s("queue"))
            .with_topics(vec![
                write_share_group_state_request::WriteStateData::default()
                    .with_topic_id(id())
                    .with_partitions(vec![
                        write_share_group_state_request::PartitionData::default()
                            .with_partition(0)
                            .with_state_epoch(1)
                            .with_leader_epoch(3)
                            .with_start_offset(10)
                            .with_state_batches(vec![
                                write_share_group_state_request::StateBatch::default()
                                    .with_first_offset(10)
                                    .with_last_offset(12)
                                    .with_delivery_state(2)
                                    .with_delivery_count(1),
                            ]),
                    ]),
            ]),
        o,
    );
    at_every_version(
        &DescribeShareGroupOffsetsRequest::default().with_groups(vec![
            describe_share_group_offsets_request::DescribeShareGroupOffsetsRequestGroup::default()
                .with_group_id(group("queue"))
                .with_topics(Some(vec![
                    describe_share_group_offsets_request::DescribeShareGroupOffsetsRequestTopic::default()
                        .with_topic_name(topic("orders"))
                        .with_partitions(vec![0, 1]),
                ])),
            describe_share_group_offsets_request::DescribeShareGroupOffsetsRequestGroup::default()
                .with_group_id(group("all")),
        ]),
        o,
    );
    at_every_version(
        &AlterShareGroupOffsetsRequest::default()
            .with_group_id(group("queue"))
            .with_topics(vec![
                alter_share_group_offsets_request::AlterShareGroupOffsetsRequestTopic::default()
                    .with_topic_name(topic("orders"))
                    .with_partitions(vec![
                        alter_share_group_offsets_request::AlterShareGroupOffsetsRequestPartition::default()
                            .with_partition_index(0)
                            .with_start_offset(42),
                    ]),
            ]),
        o,
    );
    at_every_version(
        &DeleteShareGroupOffsetsRequest::default()
            .with_group_id(group("queue"))
            .with_topics(vec![
                delete_share_group_offsets_request::DeleteShareGroupOffsetsRequestTopic::default()
                    .with_topic_name(topic("orders")),
            ]),
        o,
    );

    at_every_version(
        &CreateTopicsRequest::default()
            .with_timeout_ms(30_000)
            .with_validate_only(true)
            .with_topics(vec![
                create_topics_request::CreatableTopic::default()
                    .with_name(topic("orders"))
                    .with_num_partitions(3)
                    .with_replication_factor(2)
                    .with_configs(vec![
                        create_topics_request::CreatableTopicConfig::default()
                            .with_name(s("cleanup.policy"))
                            .with_value(Some(s("compact"))),
                        create_topics_request::CreatableTopicConfig::default()
                            .with_name(s("retention.ms"))
                            .with_value(None),
                    ]),
                create_topics_request::CreatableTopic::default()
                    .with_name(topic("placed"))
                    .with_num_partitions(-1)
                    .with_replication_factor(-1)
                    .with_assignments(vec![
                        create_topics_request::CreatableReplicaAssignment::default()
                            .with_partition_index(0)
                            .with_broker_ids(vec![BrokerId(1), BrokerId(2)]),
                        create_topics_request::CreatableReplicaAssignment::default()
                            .with_partition_index(1)
                            .with_broker_ids(vec![BrokerId(2), BrokerId(3)]),
                    ]),
            ]),
        o,
    );
    at_every_version(
        &DeleteTopicsRequest::default()
            .with_topic_names(vec![topic("orders"), topic("events")])
            .with_timeout_ms(30_000),
        o,
    );
    at_every_version(
        &DeleteTopicsRequest::default()
            .with_topics(vec![
                delete_topics_request::DeleteTopicState::default().with_name(Some(topic("orders"))),
                delete_topics_request::DeleteTopicState::default()
                    .with_name(None)
                    .with_topic_id(id()),
            ])
            .with_timeout_ms(30_000),
        o,
    );
    at_every_version(
        &DeleteRecordsRequest::default()
            .with_timeout_ms(30_000)
            .with_topics(vec![delete_records_request::DeleteRecordsTopic::default()
                .with_name(topic("orders"))
                .with_partitions(vec![
                    delete_records_request::DeleteRecordsPartition::default()
                        .with_partition_index(0)
                        .with_offset(10),
                    delete_records_request::DeleteRecordsPartition::default()
                        .with_partition_index(1)
                        .with_offset(-1),
                ])]),
        o,
    );
    at_every_version(
        &CreatePartitionsRequest::default()
            .with_timeout_ms(30_000)
            .with_topics(vec![
                create_partitions_request::CreatePartitionsTopic::default()
                    .with_name(topic("orders"))
                    .with_count(6)
                    .with_assignments(Some(vec![
                        create_partitions_request::CreatePartitionsAssignment::default()
                            .with_broker_ids(vec![BrokerId(1), BrokerId(2)]),
                    ])),
                create_partitions_request::CreatePartitionsTopic::default()
                    .with_name(topic("events"))
                    .with_count(2)
                    .with_assignments(None),
            ]),
        o,
    );
    at_every_version(
        &DescribeConfigsRequest::default()
            .with_resources(vec![
                describe_configs_request::DescribeConfigsResource::default()
                    .with_resource_type(2)
                    .with_resource_name(s("orders"))
                    .with_configuration_keys(Some(vec![s("retention.ms"), s("cleanup.policy")])),
                describe_configs_request::DescribeConfigsResource::default()
                    .with_resource_type(4)
                    .with_resource_name(s("1"))
                    .with_configuration_keys(None),
            ])
            .with_include_synonyms(true)
            .with_include_documentation(true),
        o,
    );
    at_every_version(
        &AlterConfigsRequest::default().with_resources(vec![
            alter_configs_request::AlterConfigsResource::default()
                .with_resource_type(2)
                .with_resource_name(s("orders"))
                .with_configs(vec![
                    alter_configs_request::AlterableConfig::default()
                        .with_name(s("retention.ms"))
                        .with_value(Some(s("1000"))),
                    alter_configs_request::AlterableConfig::default()
                        .with_name(s("segment.bytes"))
                        .with_value(None),
                ]),
        ]),
        o,
    );
    at_every_version(
        &IncrementalAlterConfigsRequest::default().with_resources(vec![
            incremental_alter_configs_request::AlterConfigsResource::default()
                .with_resource_type(2)
                .with_resource_name(s("orders"))
                .with_configs(vec![
                    incremental_alter_configs_request::AlterableConfig::default()
                        .with_name(s("retention.ms"))
                        .with_config_operation(0)
                        .with_value(Some(s("1000"))),
                    incremental_alter_configs_request::AlterableConfig::default()
                        .with_name(s("cleanup.policy"))
                        .with_config_operation(2)
                        .with_value(Some(s("compact"))),
                ]),
        ]),
        o,
    );
    at_every_version(
        &DescribeLogDirsRequest::default().with_topics(Some(vec![
            describe_log_dirs_request::DescribableLogDirTopic::default()
                .with_topic(topic("orders"))
                .with_partitions(vec![0, 1]),
        ])),
        o,
    );
    at_every_version(
        &AlterReplicaLogDirsRequest::default().with_dirs(vec![
            alter_replica_log_dirs_request::AlterReplicaLogDir::default()
                .with_path(s("/var/lib/kafka/data-2"))
                .with_topics(vec![
                    alter_replica_log_dirs_request::AlterReplicaLogDirTopic::default()
                        .with_name(topic("orders"))
                        .with_partitions(vec![0, 1]),
                ]),
        ]),
        o,
    );
    at_every_version(
        &DescribeClusterRequest::default()
            .with_include_cluster_authorized_operations(true)
            .with_endpoint_type(1),
        o,
    );
    at_every_version(
        &ApiVersionsRequest::default()
            .with_client_software_name(s("librdkafka"))
            .with_client_software_version(s("2.10.0")),
        o,
    );
    at_every_version(
        &OffsetForLeaderEpochRequest::default()
            .with_replica_id(BrokerId(-1))
            .with_topics(vec![
                offset_for_leader_epoch_request::OffsetForLeaderTopic::default()
                    .with_topic(topic("orders"))
                    .with_partitions(vec![
                        offset_for_leader_epoch_request::OffsetForLeaderPartition::default()
                            .with_partition(0)
                            .with_current_leader_epoch(3)
                            .with_leader_epoch(2),
                    ]),
            ]),
        o,
    );
    at_every_version(
        &ElectLeadersRequest::default()
            .with_election_type(1)
            .with_timeout_ms(30_000)
            .with_topic_partitions(Some(vec![elect_leaders_request::TopicPartitions::default(
            )
            .with_topic(topic("orders"))
            .with_partitions(vec![0, 1, 2])])),
        o,
    );
    at_every_version(
        &AlterPartitionReassignmentsRequest::default()
            .with_timeout_ms(30_000)
            .with_topics(vec![
                alter_partition_reassignments_request::ReassignableTopic::default()
                    .with_name(topic("orders"))
                    .with_partitions(vec![
                        alter_partition_reassignments_request::ReassignablePartition::default()
                            .with_partition_index(0)
                            .with_replicas(Some(vec![BrokerId(1), BrokerId(2)])),
                        alter_partition_reassignments_request::ReassignablePartition::default()
                            .with_partition_index(1)
                            .with_replicas(None),
                    ]),
            ]),
        o,
    );
    at_every_version(
        &ListPartitionReassignmentsRequest::default()
            .with_timeout_ms(30_000)
            .with_topics(Some(vec![
                list_partition_reassignments_request::ListPartitionReassignmentsTopics::default()
                    .with_name(topic("orders"))
                    .with_partition_indexes(vec![0, 1]),
            ])),
        o,
    );

    at_every_version(
        &InitProducerIdRequest::default()
            .with_transactional_id(Some(txn("tx-1")))
            .with_transaction_timeout_ms(60_000)
            .with_producer_id(ProducerId(7))
            .with_producer_epoch(1),
        o,
    );
    at_every_version(
        &AddPartitionsToTxnRequest::default()
            .with_v3_and_below_transactional_id(txn("tx-1"))
            .with_v3_and_below_producer_id(ProducerId(7))
            .with_v3_and_below_producer_epoch(1)
            .with_v3_and_below_topics(vec![
                add_partitions_to_txn_request::AddPartitionsToTxnTopic::default()
                    .with_name(topic("orders"))
                    .with_partitions(vec![0, 1]),
            ]),
        o,
    );
    at_every_version(
        &AddPartitionsToTxnRequest::default().with_transactions(vec![
            add_partitions_to_txn_request::AddPartitionsToTxnTransaction::default()
                .with_transactional_id(txn("tx-1"))
                .with_producer_id(ProducerId(7))
                .with_producer_epoch(1)
                .with_verify_only(true)
                .with_topics(vec![
                    add_partitions_to_txn_request::AddPartitionsToTxnTopic::default()
                        .with_name(topic("orders"))
                        .with_partitions(vec![2]),
                ]),
        ]),
        o,
    );
    at_every_version(
        &AddOffsetsToTxnRequest::default()
            .with_transactional_id(txn("tx-1"))
            .with_producer_id(ProducerId(7))
            .with_producer_epoch(1)
            .with_group_id(group("readers")),
        o,
    );
    at_every_version(
        &TxnOffsetCommitRequest::default()
            .with_transactional_id(txn("tx-1"))
            .with_group_id(group("readers"))
            .with_producer_id(ProducerId(7))
            .with_producer_epoch(1)
            .with_generation_id(4)
            .with_member_id(s("member-1"))
            .with_group_instance_id(Some(s("instance-1")))
            .with_topics(vec![
                txn_offset_commit_request::TxnOffsetCommitRequestTopic::default()
                    .with_name(topic("orders"))
                    .with_partitions(vec![
                        txn_offset_commit_request::TxnOffsetCommitRequestPartition::default()
                            .with_partition_index(0)
                            .with_committed_offset(100)
                            .with_committed_leader_epoch(2)
                            .with_committed_metadata(Some(s("m"))),
                    ]),
            ]),
        o,
    );
    at_every_version(
        &EndTxnRequest::default()
            .with_transactional_id(txn("tx-1"))
            .with_producer_id(ProducerId(7))
            .with_producer_epoch(1)
            .with_committed(true),
        o,
    );
    at_every_version(
        &WriteTxnMarkersRequest::default().with_markers(vec![
            write_txn_markers_request::WritableTxnMarker::default()
                .with_producer_id(ProducerId(7))
                .with_producer_epoch(1)
                .with_transaction_result(true)
                .with_coordinator_epoch(3)
                .with_topics(vec![
                    write_txn_markers_request::WritableTxnMarkerTopic::default()
                        .with_name(topic("orders"))
                        .with_partition_indexes(vec![0, 1]),
                ]),
        ]),
        o,
    );
    at_every_version(
        &DescribeTransactionsRequest::default()
            .with_transactional_ids(vec![txn("tx-1"), txn("tx-2")]),
        o,
    );
    at_every_version(
        &ListTransactionsRequest::default()
            .with_state_filters(vec![s("Ongoing")])
            .with_producer_id_filters(vec![ProducerId(7)])
            .with_duration_filter(60_000)
            .with_transactional_id_pattern(Some(s("tx-.*"))),
        o,
    );
    out
}
