//! Bad input on the wire: oversized and garbage frames, unknown APIs and
//! versions, corrupt batches, invalid names, oversized messages. Each gets a
//! Kafka error code or a closed connection, and the broker keeps serving.

use crate::harness;

use std::net::TcpStream;
use std::time::Duration;

use bytes::Bytes;
use harness::{
    consume, create_topic, producer, record_batch, BrokerProcess, RawClient, NO_PRODUCER,
};
use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::metadata_request::MetadataRequestTopic;
use kafka_protocol::messages::{
    ApiKey, ApiVersionsRequest, ApiVersionsResponse, MetadataRequest, TopicName,
};
use kafka_protocol::protocol::{Decodable, StrBytes};
use rdkafka::admin::{AdminOptions, NewTopic, TopicReplication};
use rdkafka::error::KafkaError;
use rdkafka::producer::FutureRecord;
use rdkafka::types::RDKafkaErrorCode;

fn batch(value: &str) -> Vec<u8> {
    record_batch(&[value], NO_PRODUCER).to_vec()
}

fn api_versions_ok(port: u16) {
    let mut client = RawClient::connect(port);
    let request = ApiVersionsRequest::default()
        .with_client_software_name(StrBytes::from_static_str("gregor-test"))
        .with_client_software_version(StrBytes::from_static_str("1.0"));
    let response = client.call(&request, 3).expect("ApiVersions answered");
    assert_eq!(response.error_code, 0);
}

fn produce(
    client: &mut RawClient,
    topic: &str,
    partition: i32,
    records: Vec<u8>,
    acks: i16,
) -> (i16, i64) {
    let p = harness::produce_raw(client, topic, partition, acks, Bytes::from(records));
    (p.error_code, p.base_offset)
}

#[test]
fn an_oversized_frame_closes_only_that_connection() {
    let mut broker = BrokerProcess::start(&["socket.request.max.bytes=1048576"]);
    let mut client = RawClient::connect(broker.port);
    client.send_raw(&(200 * 1024 * 1024i32).to_be_bytes());
    client.send_raw(&[0, 18, 0, 3]);
    assert!(
        client.is_closed(),
        "a frame over socket.request.max.bytes closes the connection"
    );
    assert!(broker.is_running());
    api_versions_ok(broker.port);
}

#[test]
fn garbage_and_negative_sizes_close_the_connection() {
    let mut broker = BrokerProcess::start(&[]);
    let mut client = RawClient::connect(broker.port);
    let mut frame = 20i32.to_be_bytes().to_vec();
    frame.extend_from_slice(&[
        0x7f, 0x13, 0xde, 0xad, 0xbe, 0xef, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14,
    ]);
    client.send_raw(&frame);
    assert!(
        client.is_closed(),
        "an unknown API key in garbage closes the connection"
    );
    let mut client = RawClient::connect(broker.port);
    client.send_raw(&(-5i32).to_be_bytes());
    assert!(client.is_closed(), "a negative size closes the connection");
    let mut client = RawClient::connect(broker.port);
    // A Metadata v12 header followed by a body the codec cannot read.
    let mut frame = 14i32.to_be_bytes().to_vec();
    frame.extend_from_slice(&[0, 3, 0, 12, 0, 0, 0, 1, 0, 1, b'x', 0, 0xff, 0xff]);
    client.send_raw(&frame);
    assert!(
        client.is_closed(),
        "an undecodable body closes the connection"
    );
    assert!(broker.is_running());
    api_versions_ok(broker.port);
}

#[test]
fn api_versions_at_an_unknown_version_answers_v0_with_unsupported_version() {
    let broker = BrokerProcess::start(&[]);
    let mut client = RawClient::connect(broker.port);
    let mut frame = Vec::new();
    let body = [
        &18i16.to_be_bytes()[..],
        &99i16.to_be_bytes(),
        &7i32.to_be_bytes(),
        &(-1i16).to_be_bytes(),
    ]
    .concat();
    frame.extend_from_slice(&(body.len() as i32).to_be_bytes());
    frame.extend_from_slice(&body);
    client.send_raw(&frame);
    let mut response = client
        .read_frame()
        .expect("an answer, not a closed connection");
    let correlation_id = bytes::Buf::get_i32(&mut response);
    assert_eq!(correlation_id, 7);
    let versions =
        ApiVersionsResponse::decode(&mut response, 0).expect("a v0 ApiVersions response");
    assert_eq!(
        versions.error_code,
        ResponseError::UnsupportedVersion.code()
    );
    let keys: Vec<i16> = versions.api_keys.iter().map(|k| k.api_key).collect();
    assert!(keys.contains(&(ApiKey::Produce as i16)) && keys.contains(&(ApiKey::Fetch as i16)));
}

#[test]
fn api_versions_lists_exactly_the_served_apis() {
    let broker = BrokerProcess::start(&[]);
    let mut client = RawClient::connect(broker.port);
    let request = ApiVersionsRequest::default()
        .with_client_software_name(StrBytes::from_static_str("gregor-test"))
        .with_client_software_version(StrBytes::from_static_str("1.0"));
    let response = client.call(&request, 4).expect("ApiVersions answered");
    let mut keys: Vec<i16> = response.api_keys.iter().map(|k| k.api_key).collect();
    keys.sort();
    let expected = [
        ApiKey::Produce,
        ApiKey::Fetch,
        ApiKey::ListOffsets,
        ApiKey::Metadata,
        ApiKey::ApiVersions,
        ApiKey::CreateTopics,
        ApiKey::DeleteTopics,
        ApiKey::DeleteRecords,
        ApiKey::OffsetForLeaderEpoch,
        ApiKey::DescribeConfigs,
        ApiKey::AlterConfigs,
        ApiKey::DescribeLogDirs,
        ApiKey::AlterReplicaLogDirs,
        ApiKey::CreatePartitions,
        ApiKey::IncrementalAlterConfigs,
        ApiKey::DescribeCluster,
        ApiKey::FindCoordinator,
        ApiKey::JoinGroup,
        ApiKey::SyncGroup,
        ApiKey::Heartbeat,
        ApiKey::LeaveGroup,
        ApiKey::OffsetCommit,
        ApiKey::OffsetFetch,
        ApiKey::ListGroups,
        ApiKey::DescribeGroups,
        ApiKey::DeleteGroups,
        ApiKey::OffsetDelete,
        ApiKey::ConsumerGroupHeartbeat,
        ApiKey::ConsumerGroupDescribe,
        ApiKey::InitProducerId,
        ApiKey::AddPartitionsToTxn,
        ApiKey::AddOffsetsToTxn,
        ApiKey::TxnOffsetCommit,
        ApiKey::EndTxn,
        ApiKey::DescribeTransactions,
        ApiKey::ListTransactions,
        ApiKey::WriteTxnMarkers,
        ApiKey::AlterPartitionReassignments,
        ApiKey::ListPartitionReassignments,
        ApiKey::ElectLeaders,
        ApiKey::DescribeAcls,
        ApiKey::CreateAcls,
        ApiKey::DeleteAcls,
        ApiKey::SaslHandshake,
        ApiKey::SaslAuthenticate,
        ApiKey::DescribeUserScramCredentials,
        ApiKey::AlterUserScramCredentials,
        ApiKey::DescribeProducers,
        ApiKey::DescribeTopicPartitions,
        ApiKey::DescribeQuorum,
        ApiKey::UpdateFeatures,
        ApiKey::AddRaftVoter,
        ApiKey::RemoveRaftVoter,
        ApiKey::GetTelemetrySubscriptions,
        ApiKey::PushTelemetry,
        ApiKey::ListConfigResources,
        ApiKey::DescribeClientQuotas,
        ApiKey::AlterClientQuotas,
        ApiKey::ShareGroupHeartbeat,
        ApiKey::ShareGroupDescribe,
        ApiKey::ShareFetch,
        ApiKey::ShareAcknowledge,
        ApiKey::InitializeShareGroupState,
        ApiKey::ReadShareGroupState,
        ApiKey::WriteShareGroupState,
        ApiKey::DeleteShareGroupState,
        ApiKey::ReadShareGroupStateSummary,
        ApiKey::DescribeShareGroupOffsets,
        ApiKey::AlterShareGroupOffsets,
        ApiKey::DeleteShareGroupOffsets,
    ];
    let mut want: Vec<i16> = expected.iter().map(|k| *k as i16).collect();
    want.sort();
    assert_eq!(keys, want);
    assert!(response
        .api_keys
        .iter()
        .all(|k| k.min_version <= k.max_version));
    let produce = response
        .api_keys
        .iter()
        .find(|k| k.api_key == ApiKey::Produce as i16)
        .unwrap();
    assert!(
        produce.max_version >= 9,
        "flexible Produce versions are served"
    );
}

#[test]
fn unknown_api_keys_and_unsupported_versions_close_the_connection() {
    let mut broker = BrokerProcess::start(&[]);
    for (key, version) in [
        (9999i16, 0i16),
        (ApiKey::Produce as i16, 1),
        (ApiKey::Metadata as i16, 99),
        (ApiKey::InitProducerId as i16, 4),
    ] {
        let mut client = RawClient::connect(broker.port);
        let body = [
            &key.to_be_bytes()[..],
            &version.to_be_bytes(),
            &1i32.to_be_bytes(),
            &(-1i16).to_be_bytes(),
        ]
        .concat();
        let mut frame = (body.len() as i32).to_be_bytes().to_vec();
        frame.extend_from_slice(&body);
        client.send_raw(&frame);
        assert!(
            client.is_closed(),
            "api key {key} v{version} closes the connection"
        );
    }
    assert!(broker.is_running());
    api_versions_ok(broker.port);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn corrupt_batches_get_kafka_error_codes_and_write_nothing() {
    let broker = BrokerProcess::start(&[]);
    create_topic(&broker.bootstrap(), "guarded", 1, &[]).await;
    let mut client = RawClient::connect(broker.port);

    let mut bad_crc = batch("bad");
    let last = bad_crc.len() - 2;
    bad_crc[last] ^= 0x40;
    assert_eq!(
        produce(&mut client, "guarded", 0, bad_crc, -1).0,
        ResponseError::CorruptMessage.code()
    );

    // Kafka 4 takes magic 2 only (ProduceRequest.validateRecords).
    let mut old_magic = batch("old");
    old_magic[16] = 1;
    assert_eq!(
        produce(&mut client, "guarded", 0, old_magic, -1).0,
        ResponseError::InvalidRecord.code()
    );

    let whole = batch("cut");
    let cut = whole[..whole.len() - 10].to_vec();
    assert_eq!(
        produce(&mut client, "guarded", 0, cut, -1).0,
        ResponseError::CorruptMessage.code()
    );

    assert_eq!(
        produce(&mut client, "guarded", 0, batch("x"), 5).0,
        ResponseError::InvalidRequiredAcks.code()
    );
    assert_eq!(
        produce(&mut client, "no-such-topic", 0, batch("x"), -1).0,
        ResponseError::UnknownTopicOrPartition.code()
    );
    assert_eq!(
        produce(&mut client, "guarded", 7, batch("x"), -1).0,
        ResponseError::UnknownTopicOrPartition.code()
    );

    assert_eq!(
        produce(&mut client, "guarded", 0, batch("good"), -1),
        (0, 0),
        "nothing from the bad batches was written"
    );
    let got = consume(
        &broker.bootstrap(),
        "guarded",
        0,
        0,
        2,
        Duration::from_secs(3),
    );
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].value.as_deref(), Some(&b"good"[..]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_over_max_message_bytes_is_refused() {
    let broker = BrokerProcess::start(&[]);
    create_topic(
        &broker.bootstrap(),
        "small",
        1,
        &[("max.message.bytes", "2000")],
    )
    .await;
    let p = producer(
        &broker.bootstrap(),
        &[
            ("message.max.bytes", "1000000"),
            ("compression.type", "none"),
        ],
    );
    let big = "z".repeat(10_000);
    let err = p
        .send(
            FutureRecord::<(), _>::to("small")
                .partition(0)
                .payload(&big),
            Duration::from_secs(10),
        )
        .await
        .expect_err("a 10 KB record on a 2000-byte topic is refused");
    assert_eq!(
        err.0,
        KafkaError::MessageProduction(RDKafkaErrorCode::MessageSizeTooLarge)
    );
    let ok = p
        .send(
            FutureRecord::<(), _>::to("small")
                .partition(0)
                .payload("fits"),
            Duration::from_secs(10),
        )
        .await
        .expect("a small record still goes through");
    assert_eq!(ok.offset, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_topic_names_are_refused_and_never_created() {
    let broker = BrokerProcess::start(&[]);
    let admin = harness::admin(&broker.bootstrap());
    let long = "n".repeat(250);
    for name in ["bad name!", "..", long.as_str()] {
        let topic = NewTopic::new(name, 1, TopicReplication::Fixed(1));
        let result = admin
            .create_topics([&topic], &AdminOptions::new())
            .await
            .expect("request answered");
        assert_eq!(
            result[0].as_ref().unwrap_err().1,
            RDKafkaErrorCode::InvalidTopic,
            "{name:?}"
        );
    }
    let mut client = RawClient::connect(broker.port);
    let request = MetadataRequest::default()
        .with_allow_auto_topic_creation(true)
        .with_topics(Some(vec![MetadataRequestTopic::default()
            .with_name(Some(TopicName(StrBytes::from_static_str("bad name!"))))]));
    let response = client.call(&request, 12).expect("metadata answered");
    assert_eq!(
        response.topics[0].error_code,
        ResponseError::InvalidTopicException.code()
    );
    let all = client
        .call(&MetadataRequest::default(), 12)
        .expect("metadata answered");
    assert!(all.topics.is_empty(), "no invalid topic was created");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_idle_connections_do_not_stop_the_broker_serving() {
    let broker = BrokerProcess::start(&[]);
    let idle: Vec<TcpStream> = (0..1000)
        .map(|_| TcpStream::connect(("127.0.0.1", broker.port)).expect("connect"))
        .collect();
    create_topic(&broker.bootstrap(), "busy", 1, &[]).await;
    let p = producer(&broker.bootstrap(), &[]);
    p.send(
        FutureRecord::<(), _>::to("busy")
            .partition(0)
            .payload("still here"),
        Duration::from_secs(10),
    )
    .await
    .expect("delivered with 1000 idle connections open");
    let got = consume(
        &broker.bootstrap(),
        "busy",
        0,
        0,
        1,
        Duration::from_secs(10),
    );
    assert_eq!(got[0].value.as_deref(), Some(&b"still here"[..]));
    assert_eq!(
        idle.len(),
        1000,
        "the idle connections stayed open throughout"
    );
}

/// Kafka's request-level checks of a partition's records
/// (ProduceRequest.validateRecords): magic 0 and 1 batches, two batches for
/// one partition, zstd before Produce v7; the partition keeps none of them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn produce_records_are_checked_as_kafka_4_checks_them() {
    use kafka_protocol::messages::produce_request::{PartitionProduceData, TopicProduceData};
    use kafka_protocol::messages::ProduceRequest;
    use kafka_protocol::records::Compression;

    let broker = BrokerProcess::start(&[]);
    create_topic(&broker.bootstrap(), "checked", 1, &[]).await;
    let mut client = RawClient::connect(broker.port);
    let mut send = |records: Vec<u8>, version: i16| {
        let request = ProduceRequest::default()
            .with_acks(-1)
            .with_timeout_ms(5000)
            .with_topic_data(vec![TopicProduceData::default()
                .with_name(TopicName(StrBytes::from_static_str("checked")))
                .with_partition_data(vec![PartitionProduceData::default()
                    .with_index(0)
                    .with_records(Some(Bytes::from(records)))])]);
        let response = client.call(&request, version).expect("produce answered");
        let p = &response.responses[0].partition_responses[0];
        (p.error_code, p.base_offset)
    };
    for magic in [0u8, 1] {
        let mut old = batch("old");
        old[16] = magic;
        assert_eq!(send(old, 9).0, ResponseError::InvalidRecord.code());
    }
    let two = [batch("one"), batch("two")].concat();
    assert_eq!(send(two, 9).0, ResponseError::InvalidRecord.code());

    let records: Vec<_> =
        kafka_protocol::records::RecordBatchDecoder::decode(&mut Bytes::from(batch("zstd")))
            .expect("decodes")
            .records;
    let zstd = harness::encode_batch(&records, Compression::Zstd).to_vec();
    assert_eq!(
        send(zstd.clone(), 6).0,
        ResponseError::UnsupportedCompressionType.code()
    );
    assert_eq!(send(zstd, 7), (0, 0), "zstd is taken from v7 on");
    assert_eq!(send(batch("next"), 9), (0, 1), "nothing refused was stored");
}
