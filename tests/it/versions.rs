//! Every API the broker advertises answers at every version it advertises:
//! an empty request for each, and a realistic one (a real topic, records,
//! a committed offset) for the APIs clients lean on. Old versions matter:
//! kafkajs asks ListOffsets at v3 and Sarama most APIs at versions from
//! Kafka 2.x, and a response field that a version cannot carry must never
//! make the broker drop the connection.

use crate::harness;

use harness::{create_topic, record_batch, BrokerProcess, RawClient, NO_PRODUCER};
use kafka_protocol::messages::create_topics_request::CreatableTopic;
use kafka_protocol::messages::describe_configs_request::DescribeConfigsResource;
use kafka_protocol::messages::fetch_request::{FetchPartition, FetchTopic};
use kafka_protocol::messages::metadata_request::MetadataRequestTopic;
use kafka_protocol::messages::offset_commit_request::{
    OffsetCommitRequestPartition, OffsetCommitRequestTopic,
};
use kafka_protocol::messages::offset_fetch_request::{
    OffsetFetchRequestGroup, OffsetFetchRequestTopic, OffsetFetchRequestTopics,
};
use kafka_protocol::messages::produce_request::{PartitionProduceData, TopicProduceData};
use kafka_protocol::messages::*;
use kafka_protocol::protocol::{Message, Request, StrBytes};
use uuid::Uuid;

const TOPIC: &str = "swept";

fn name(s: &str) -> TopicName {
    TopicName(StrBytes::from_string(s.to_string()))
}

/// The versions of `R` the broker advertises.
fn advertised<R: Request>(client: &mut RawClient) -> std::ops::RangeInclusive<i16> {
    let versions = client
        .call(&ApiVersionsRequest::default(), 0)
        .expect("ApiVersions answered");
    let key = versions
        .api_keys
        .iter()
        .find(|k| k.api_key == R::KEY)
        .unwrap_or_else(|| panic!("API key {} is not advertised", R::KEY));
    key.min_version..=key.max_version
}

/// Sends `request(version)` at every advertised version; each must be answered.
fn sweep<R: Request>(
    client: &mut RawClient,
    mut request: impl FnMut(i16) -> R,
    mut check: impl FnMut(i16, R::Response),
) {
    for version in advertised::<R>(client) {
        let response = client.call(&request(version), version).unwrap_or_else(|| {
            panic!(
                "API key {} v{version}: the broker closed the connection",
                R::KEY
            )
        });
        check(version, response);
    }
}

fn empty<R: Request + Default>(client: &mut RawClient) {
    sweep(client, |_| R::default(), |_, _| {});
}

#[tokio::test]
async fn every_api_answers_an_empty_request_at_every_version() {
    let broker = BrokerProcess::start(&[]);
    let mut c = RawClient::connect(broker.port);
    empty::<MetadataRequest>(&mut c);
    empty::<FetchRequest>(&mut c);
    empty::<ListOffsetsRequest>(&mut c);
    empty::<ApiVersionsRequest>(&mut c);
    empty::<CreateTopicsRequest>(&mut c);
    empty::<DeleteTopicsRequest>(&mut c);
    empty::<DeleteRecordsRequest>(&mut c);
    empty::<OffsetForLeaderEpochRequest>(&mut c);
    empty::<DescribeConfigsRequest>(&mut c);
    empty::<AlterConfigsRequest>(&mut c);
    empty::<DescribeLogDirsRequest>(&mut c);
    empty::<AlterReplicaLogDirsRequest>(&mut c);
    empty::<CreatePartitionsRequest>(&mut c);
    empty::<IncrementalAlterConfigsRequest>(&mut c);
    empty::<DescribeClusterRequest>(&mut c);
    empty::<FindCoordinatorRequest>(&mut c);
    empty::<JoinGroupRequest>(&mut c);
    empty::<SyncGroupRequest>(&mut c);
    empty::<HeartbeatRequest>(&mut c);
    empty::<LeaveGroupRequest>(&mut c);
    empty::<OffsetCommitRequest>(&mut c);
    empty::<OffsetFetchRequest>(&mut c);
    empty::<ListGroupsRequest>(&mut c);
    empty::<DescribeGroupsRequest>(&mut c);
    empty::<DeleteGroupsRequest>(&mut c);
    empty::<OffsetDeleteRequest>(&mut c);
    empty::<ConsumerGroupHeartbeatRequest>(&mut c);
    empty::<ConsumerGroupDescribeRequest>(&mut c);
    empty::<InitProducerIdRequest>(&mut c);
    empty::<AddPartitionsToTxnRequest>(&mut c);
    empty::<AddOffsetsToTxnRequest>(&mut c);
    empty::<TxnOffsetCommitRequest>(&mut c);
    empty::<EndTxnRequest>(&mut c);
    empty::<DescribeTransactionsRequest>(&mut c);
    empty::<ListTransactionsRequest>(&mut c);
    empty::<WriteTxnMarkersRequest>(&mut c);
    empty::<DescribeProducersRequest>(&mut c);
    empty::<DescribeTopicPartitionsRequest>(&mut c);
    empty::<DescribeQuorumRequest>(&mut c);
    empty::<UpdateFeaturesRequest>(&mut c);
    empty::<AddRaftVoterRequest>(&mut c);
    empty::<RemoveRaftVoterRequest>(&mut c);
    empty::<GetTelemetrySubscriptionsRequest>(&mut c);
    empty::<PushTelemetryRequest>(&mut c);
    empty::<ListConfigResourcesRequest>(&mut c);
    empty::<ShareGroupHeartbeatRequest>(&mut c);
    empty::<ShareGroupDescribeRequest>(&mut c);
    empty::<ShareFetchRequest>(&mut c);
    empty::<ShareAcknowledgeRequest>(&mut c);
    empty::<InitializeShareGroupStateRequest>(&mut c);
    empty::<ReadShareGroupStateRequest>(&mut c);
    empty::<WriteShareGroupStateRequest>(&mut c);
    empty::<DeleteShareGroupStateRequest>(&mut c);
    empty::<ReadShareGroupStateSummaryRequest>(&mut c);
    empty::<DescribeShareGroupOffsetsRequest>(&mut c);
    empty::<AlterShareGroupOffsetsRequest>(&mut c);
    empty::<DeleteShareGroupOffsetsRequest>(&mut c);
    // acks=0 has no response; ask for one.
    sweep(
        &mut c,
        |_| ProduceRequest::default().with_acks(1),
        |_, _| {},
    );
}

#[tokio::test]
async fn the_data_path_answers_at_every_version() {
    let broker = BrokerProcess::start(&[]);
    create_topic(&broker.bootstrap(), TOPIC, 1, &[]).await;
    let mut c = RawClient::connect(broker.port);
    let metadata = c
        .call(
            &MetadataRequest::default().with_topics(Some(vec![
                MetadataRequestTopic::default().with_name(Some(name(TOPIC)))
            ])),
            12,
        )
        .expect("metadata");
    let topic_id: Uuid = metadata.topics[0].topic_id;

    let mut produced = 0;
    sweep(
        &mut c,
        |v| {
            let data = TopicProduceData::default().with_partition_data(vec![
                PartitionProduceData::default()
                    .with_index(0)
                    .with_records(Some(record_batch(&["swept"], NO_PRODUCER))),
            ]);
            let data = if v >= 13 {
                data.with_topic_id(topic_id)
            } else {
                data.with_name(name(TOPIC))
            };
            ProduceRequest::default()
                .with_acks(-1)
                .with_timeout_ms(5000)
                .with_topic_data(vec![data])
        },
        |v, r| {
            let p = &r.responses[0].partition_responses[0];
            assert_eq!((p.error_code, p.base_offset), (0, produced), "Produce v{v}");
            produced += 1;
        },
    );

    sweep(
        &mut c,
        |v| {
            let topic = FetchTopic::default().with_partitions(vec![FetchPartition::default()
                .with_partition(0)
                .with_fetch_offset(1)
                .with_partition_max_bytes(1 << 20)]);
            let topic = if v >= 13 {
                topic.with_topic_id(topic_id)
            } else {
                topic.with_topic(name(TOPIC))
            };
            FetchRequest::default()
                .with_replica_id(BrokerId(-1))
                .with_max_wait_ms(0)
                .with_max_bytes(1 << 20)
                .with_topics(vec![topic])
        },
        |v, r| {
            let p = &r.responses[0].partitions[0];
            assert_eq!(p.error_code, 0, "Fetch v{v}");
            assert_eq!(p.high_watermark, produced, "Fetch v{v}");
            assert!(
                p.records.as_ref().is_some_and(|r| !r.is_empty()),
                "Fetch v{v}"
            );
        },
    );

    sweep(
        &mut c,
        |_| {
            MetadataRequest::default().with_topics(Some(vec![
                MetadataRequestTopic::default().with_name(Some(name(TOPIC)))
            ]))
        },
        |v, r| {
            assert_eq!(r.topics[0].error_code, 0, "Metadata v{v}");
            assert_eq!(r.topics[0].partitions[0].leader_id.0, 1, "Metadata v{v}");
        },
    );

    sweep(
        &mut c,
        |v| {
            let topic = OffsetCommitRequestTopic::default().with_partitions(vec![
                OffsetCommitRequestPartition::default()
                    .with_partition_index(0)
                    .with_committed_offset(i64::from(v))
                    .with_committed_metadata(Some(StrBytes::from_static_str("swept"))),
            ]);
            let topic = if v >= 10 {
                topic.with_topic_id(topic_id)
            } else {
                topic.with_name(name(TOPIC))
            };
            OffsetCommitRequest::default()
                .with_group_id(GroupId(StrBytes::from_static_str("sweeper")))
                .with_generation_id_or_member_epoch(-1)
                .with_topics(vec![topic])
        },
        |v, r| {
            assert_eq!(r.topics[0].partitions[0].error_code, 0, "OffsetCommit v{v}");
        },
    );
    let last_commit = i64::from(*advertised::<OffsetCommitRequest>(&mut c).end());

    sweep(
        &mut c,
        |v| {
            let group = GroupId(StrBytes::from_static_str("sweeper"));
            if v >= 8 {
                let topic = OffsetFetchRequestTopics::default().with_partition_indexes(vec![0]);
                let topic = if v >= 10 {
                    topic.with_topic_id(topic_id)
                } else {
                    topic.with_name(name(TOPIC))
                };
                OffsetFetchRequest::default().with_groups(vec![OffsetFetchRequestGroup::default()
                    .with_group_id(group)
                    .with_topics(Some(vec![topic]))])
            } else {
                OffsetFetchRequest::default()
                    .with_group_id(group)
                    .with_topics(Some(vec![OffsetFetchRequestTopic::default()
                        .with_name(name(TOPIC))
                        .with_partition_indexes(vec![0])]))
            }
        },
        |v, r| {
            let (code, offset) = if v >= 8 {
                let p = &r.groups[0].topics[0].partitions[0];
                (p.error_code, p.committed_offset)
            } else {
                let p = &r.topics[0].partitions[0];
                (p.error_code, p.committed_offset)
            };
            assert_eq!((code, offset), (0, last_commit), "OffsetFetch v{v}");
        },
    );

    sweep(
        &mut c,
        |v| {
            CreateTopicsRequest::default()
                .with_timeout_ms(5000)
                .with_topics(vec![CreatableTopic::default()
                    .with_name(name(&format!("created-v{v}")))
                    .with_num_partitions(1)
                    .with_replication_factor(1)])
        },
        |v, r| assert_eq!(r.topics[0].error_code, 0, "CreateTopics v{v}"),
    );

    sweep(
        &mut c,
        |_| {
            DescribeConfigsRequest::default().with_resources(vec![
                DescribeConfigsResource::default()
                    .with_resource_type(2)
                    .with_resource_name(StrBytes::from_static_str(TOPIC))
                    .with_configuration_keys(None),
            ])
        },
        |v, r| {
            assert_eq!(r.results[0].error_code, 0, "DescribeConfigs v{v}");
            assert!(!r.results[0].configs.is_empty(), "DescribeConfigs v{v}");
        },
    );

    // The codec's own version ranges bound what is swept.
    assert!(advertised::<ProduceRequest>(&mut c).end() <= &ProduceRequest::VERSIONS.max);
}
