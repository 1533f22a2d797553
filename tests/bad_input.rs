//! Bad input from clients: oversized, garbage and unparseable frames close the
//! connection without hurting the broker; bad produce payloads, acks, topics
//! and sizes get Kafka's error codes and write nothing.

mod common;

use std::net::TcpStream;
use std::time::Duration;

use bytes::{Buf, BufMut, Bytes, BytesMut};
use common::{consume, create_topic, producer, BrokerProcess, RawClient};
use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::metadata_request::MetadataRequestTopic;
use kafka_protocol::messages::produce_request::{PartitionProduceData, TopicProduceData};
use kafka_protocol::messages::{
    ApiKey, ApiVersionsRequest, ApiVersionsResponse, MetadataRequest, MetadataResponse,
    ProduceRequest, TopicName,
};
use kafka_protocol::protocol::{Decodable, StrBytes};
use kafka_protocol::records::{
    Compression, Record, RecordBatchEncoder, RecordEncodeOptions, TimestampType,
};
use rdkafka::admin::{AdminOptions, NewTopic, TopicReplication};
use rdkafka::error::KafkaError;
use rdkafka::producer::FutureRecord;
use rdkafka::types::RDKafkaErrorCode;

// ---------------------------------------------------------------- helpers

/// A request header v1 (api key, version, correlation id, nullable client id).
fn header_v1(api_key: i16, version: i16, correlation_id: i32) -> BytesMut {
    let mut b = BytesMut::new();
    b.put_i16(api_key);
    b.put_i16(version);
    b.put_i32(correlation_id);
    let client_id = b"gregor-bad-input";
    b.put_i16(client_id.len() as i16);
    b.put_slice(client_id);
    b
}

/// Prefixes `body` with its 4-byte size.
fn frame(body: &[u8]) -> Vec<u8> {
    let mut f = Vec::with_capacity(body.len() + 4);
    f.extend_from_slice(&(body.len() as i32).to_be_bytes());
    f.extend_from_slice(body);
    f
}

/// ApiVersions v3+ needs a valid client software name and version (Kafka
/// answers INVALID_REQUEST to the empty defaults).
fn api_versions_request() -> ApiVersionsRequest {
    ApiVersionsRequest::default()
        .with_client_software_name(StrBytes::from_static_str("gregor-test"))
        .with_client_software_version(StrBytes::from_static_str("1.0"))
}

/// A fresh connection gets a normal ApiVersions v3 answer.
fn assert_api_versions_ok(port: u16) {
    let mut client = RawClient::connect(port);
    let response = client
        .call(&api_versions_request(), 3)
        .expect("a fresh connection gets an ApiVersions answer");
    assert_eq!(response.error_code, 0, "ApiVersions v3 error code");
    assert!(
        response.api_keys.iter().any(|k| k.api_key == 0),
        "ApiVersions lists Produce"
    );
}

/// The broker closed the connection and still serves: process alive, fresh ApiVersions answered.
fn assert_closed_and_still_serving(broker: &mut BrokerProcess, client: &mut RawClient, what: &str) {
    assert!(
        client.is_closed(),
        "{what}: the broker closes the connection"
    );
    assert!(
        broker.is_running(),
        "{what}: the broker process is still running"
    );
    assert_api_versions_ok(broker.port);
}

fn record(offset: i64, timestamp: i64, value: &[u8]) -> Record {
    Record {
        transactional: false,
        control: false,
        delete_horizon: false,
        partition_leader_epoch: -1,
        producer_id: -1,
        producer_epoch: -1,
        timestamp_type: TimestampType::Creation,
        offset,
        sequence: -1,
        timestamp,
        key: None,
        value: Some(Bytes::copy_from_slice(value)),
        headers: Default::default(),
    }
}

/// One uncompressed v2 record batch holding `values`.
fn batch(values: &[&str]) -> Vec<u8> {
    let records: Vec<Record> = values
        .iter()
        .enumerate()
        .map(|(i, v)| record(i as i64, 1_700_000_000_000 + i as i64, v.as_bytes()))
        .collect();
    let mut buf = BytesMut::new();
    RecordBatchEncoder::encode(
        &mut buf,
        &records,
        &RecordEncodeOptions {
            version: 2,
            compression: Compression::None,
        },
    )
    .expect("encode record batch");
    buf.to_vec()
}

/// Raw Produce v9; returns (partition error code, base offset).
fn produce(
    client: &mut RawClient,
    topic: &str,
    partition: i32,
    records: Vec<u8>,
    acks: i16,
) -> (i16, i64) {
    let request = ProduceRequest::default()
        .with_acks(acks)
        .with_timeout_ms(5000)
        .with_topic_data(vec![TopicProduceData::default()
            .with_name(TopicName(StrBytes::from_string(topic.to_string())))
            .with_partition_data(vec![PartitionProduceData::default()
                .with_index(partition)
                .with_records(Some(Bytes::from(records)))])]);
    let response = client
        .call(&request, 9)
        .expect("the broker answers Produce");
    assert_eq!(response.responses.len(), 1, "one topic in the response");
    let topic_response = &response.responses[0];
    assert_eq!(&**topic_response.name, topic);
    assert_eq!(topic_response.partition_responses.len(), 1);
    let p = &topic_response.partition_responses[0];
    assert_eq!(p.index, partition);
    (p.error_code, p.base_offset)
}

/// Raw Metadata v12 for one topic name.
fn metadata(client: &mut RawClient, topic: &str, auto_create: bool) -> MetadataResponse {
    let request = MetadataRequest::default()
        .with_topics(Some(vec![MetadataRequestTopic::default().with_name(Some(
            TopicName(StrBytes::from_string(topic.to_string())),
        ))]))
        .with_allow_auto_topic_creation(auto_create);
    client
        .call(&request, 12)
        .expect("the broker answers Metadata")
}

/// Deterministic pseudo-random bytes (xorshift), so failures reproduce.
fn pseudo_random(n: usize, mut seed: u64) -> Vec<u8> {
    (0..n)
        .map(|_| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            (seed >> 24) as u8
        })
        .collect()
}

const CORRUPT_MESSAGE: i16 = 2;

// ------------------------------------------------------------ framing

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_frame_closes_the_connection_and_the_broker_keeps_serving() {
    let mut broker = BrokerProcess::start(&["socket.request.max.bytes=1048576"]);
    let bootstrap = broker.bootstrap();

    let mut client = RawClient::connect(broker.port);
    let mut bytes = (200i32 * 1024 * 1024).to_be_bytes().to_vec();
    bytes.extend_from_slice(&[0, 18, 0, 3, 0, 0, 0, 1]);
    client.send_raw(&bytes);
    assert_closed_and_still_serving(&mut broker, &mut client, "200 MiB size prefix");

    // rdkafka clients still work end to end.
    create_topic(&bootstrap, "after-oversized", 1, &[]).await;
    let p = producer(&bootstrap, &[]);
    let d = p
        .send(
            FutureRecord::<(), _>::to("after-oversized")
                .partition(0)
                .payload("still here"),
            Duration::from_secs(10),
        )
        .await
        .expect("produce after an oversized frame");
    assert_eq!(d.offset, 0);
    let got = consume(
        &bootstrap,
        "after-oversized",
        0,
        0,
        1,
        Duration::from_secs(20),
    );
    assert_eq!(got.len(), 1, "consume after an oversized frame");
    assert_eq!(got[0].value.as_deref(), Some(&b"still here"[..]));
}

#[test]
fn garbage_frames_close_the_connection_and_the_broker_keeps_serving() {
    let mut broker = BrokerProcess::start(&[]);

    // A plausible size followed by random bytes; the first two bytes make an
    // api key no broker knows, whatever the generator yields.
    let mut body = pseudo_random(60, 0x9E37_79B9_7F4A_7C15);
    body[0] = 0xDE;
    body[1] = 0xAD;
    let mut client = RawClient::connect(broker.port);
    client.send_raw(&frame(&body));
    assert_closed_and_still_serving(&mut broker, &mut client, "random bytes");

    // A valid Metadata v12 header whose body cannot decode: the topic array
    // claims 126 entries but three bytes follow.
    let mut body = header_v1(ApiKey::Metadata as i16, 12, 7);
    body.put_u8(0); // header tagged fields
    body.put_u8(0x7F); // compact array length 126
    body.put_slice(&[0xFF, 0xFF, 0xFF]);
    let mut client = RawClient::connect(broker.port);
    client.send_raw(&frame(&body));
    assert_closed_and_still_serving(&mut broker, &mut client, "Metadata header with a junk body");

    // A negative size.
    let mut client = RawClient::connect(broker.port);
    let mut bytes = (-5i32).to_be_bytes().to_vec();
    bytes.extend_from_slice(&[1, 2, 3, 4, 5, 6, 7, 8]);
    client.send_raw(&bytes);
    assert_closed_and_still_serving(&mut broker, &mut client, "negative size");
}

#[test]
fn api_versions_at_an_unsupported_version_answers_v0_with_unsupported_version() {
    let broker = BrokerProcess::start(&[]);
    let mut client = RawClient::connect(broker.port);
    // Header v2 (v1 plus an empty tagged-field section), as a client that
    // believes v99 is flexible would send, then a v3-style body.
    let mut body = header_v1(ApiKey::ApiVersions as i16, 99, 4242);
    body.put_u8(0); // header tagged fields
    body.put_u8(5); // compact string "gtst"
    body.put_slice(b"gtst");
    body.put_u8(4); // compact string "1.0"
    body.put_slice(b"1.0");
    body.put_u8(0); // body tagged fields
    client.send_raw(&frame(&body));

    let mut response = client
        .read_frame()
        .expect("the broker answers ApiVersions at an unsupported version");
    assert_eq!(
        response.get_i32(),
        4242,
        "response header v0: just the correlation id"
    );
    let decoded = ApiVersionsResponse::decode(&mut response, 0)
        .expect("the answer decodes as ApiVersions v0");
    assert_eq!(
        decoded.error_code,
        ResponseError::UnsupportedVersion.code(),
        "error code 35"
    );
    let keys: Vec<i16> = decoded.api_keys.iter().map(|k| k.api_key).collect();
    assert!(
        keys.contains(&(ApiKey::Produce as i16)),
        "the v0 answer lists Produce so the client can pick a version: {keys:?}"
    );
    assert!(
        keys.contains(&(ApiKey::Fetch as i16)),
        "and Fetch: {keys:?}"
    );
    assert!(
        !response.has_remaining(),
        "nothing follows the v0 body ({} bytes left)",
        response.remaining()
    );
    // The connection stays usable for a supported version.
    let again = client
        .call(&api_versions_request(), 3)
        .expect("the same connection then answers ApiVersions v3");
    assert_eq!(again.error_code, 0);
}

#[test]
fn an_unknown_api_key_closes_the_connection() {
    let mut broker = BrokerProcess::start(&[]);
    let mut client = RawClient::connect(broker.port);
    let mut body = header_v1(9999, 0, 1);
    body.put_slice(&[0, 0, 0, 0]);
    client.send_raw(&frame(&body));
    assert_closed_and_still_serving(&mut broker, &mut client, "api key 9999");
}

#[test]
fn an_unsupported_version_of_another_api_closes_the_connection() {
    let mut broker = BrokerProcess::start(&[]);

    // Produce v1: a body of (acks, timeout, empty topic array).
    let mut client = RawClient::connect(broker.port);
    let mut body = header_v1(ApiKey::Produce as i16, 1, 1);
    body.put_i16(-1);
    body.put_i32(1000);
    body.put_i32(0);
    client.send_raw(&frame(&body));
    assert_closed_and_still_serving(&mut broker, &mut client, "Produce v1");

    // Metadata v99.
    let mut client = RawClient::connect(broker.port);
    let mut body = header_v1(ApiKey::Metadata as i16, 99, 2);
    body.put_u8(0);
    body.put_u8(0);
    body.put_u8(0);
    client.send_raw(&frame(&body));
    assert_closed_and_still_serving(&mut broker, &mut client, "Metadata v99");
}

#[test]
fn api_versions_advertises_every_served_api() {
    let broker = BrokerProcess::start(&[]);
    let mut client = RawClient::connect(broker.port);
    let response = client
        .call(&api_versions_request(), 3)
        .expect("ApiVersions v3 answered");
    assert_eq!(response.error_code, 0);
    // (api, lowest max version a current librdkafka client needs to work well)
    let expected: [(ApiKey, i16); 15] = [
        (ApiKey::Produce, 7),
        (ApiKey::Fetch, 11),
        (ApiKey::ListOffsets, 5),
        (ApiKey::Metadata, 9),
        (ApiKey::ApiVersions, 3),
        (ApiKey::CreateTopics, 4),
        (ApiKey::DeleteTopics, 1),
        (ApiKey::DeleteRecords, 1),
        (ApiKey::OffsetForLeaderEpoch, 2),
        (ApiKey::DescribeConfigs, 1),
        (ApiKey::AlterConfigs, 0),
        (ApiKey::DescribeLogDirs, 0),
        (ApiKey::CreatePartitions, 0),
        (ApiKey::IncrementalAlterConfigs, 1),
        (ApiKey::DescribeCluster, 0),
    ];
    for (key, needed_max) in expected {
        let found: Vec<_> = response
            .api_keys
            .iter()
            .filter(|k| k.api_key == key as i16)
            .collect();
        assert_eq!(found.len(), 1, "{key:?} is advertised exactly once");
        let v = found[0];
        assert!(
            v.min_version >= 0 && v.min_version <= v.max_version,
            "{key:?}: sane range {}..={}",
            v.min_version,
            v.max_version
        );
        assert!(
            v.max_version >= needed_max,
            "{key:?}: max version {} is below what librdkafka uses ({needed_max})",
            v.max_version
        );
    }
    let mut keys: Vec<i16> = response.api_keys.iter().map(|k| k.api_key).collect();
    keys.sort();
    keys.dedup();
    assert_eq!(
        keys.len(),
        response.api_keys.len(),
        "no api key is listed twice"
    );
}

// ------------------------------------------------------------ produce payloads

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_with_a_bad_crc_is_corrupt_and_writes_nothing() {
    let broker = BrokerProcess::start(&[]);
    let bootstrap = broker.bootstrap();
    create_topic(&bootstrap, "crc", 1, &[]).await;
    let mut client = RawClient::connect(broker.port);

    let mut bad = batch(&["corrupted-value"]);
    // The record ends with its value then a 1-byte header count: flip a bit in
    // the value's last byte, which the CRC covers.
    let i = bad.len() - 2;
    bad[i] ^= 0x01;
    let (error, _) = produce(&mut client, "crc", 0, bad, -1);
    assert_eq!(error, CORRUPT_MESSAGE, "a CRC mismatch is CORRUPT_MESSAGE");

    let (error, base_offset) = produce(&mut client, "crc", 0, batch(&["valid"]), -1);
    assert_eq!(error, 0, "a valid batch afterwards is accepted");
    assert_eq!(base_offset, 0, "nothing of the corrupt batch was written");

    let got = consume(&bootstrap, "crc", 0, 0, 1, Duration::from_secs(20));
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].offset, 0);
    assert_eq!(got[0].value.as_deref(), Some(&b"valid"[..]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_with_magic_1_is_refused_as_an_unsupported_format() {
    let broker = BrokerProcess::start(&[]);
    let bootstrap = broker.bootstrap();
    create_topic(&bootstrap, "magic", 1, &[]).await;
    let mut client = RawClient::connect(broker.port);

    let mut old = batch(&["old-format"]);
    assert_eq!(old[16], 2, "byte 16 of a v2 batch is its magic");
    old[16] = 1;
    let (error, _) = produce(&mut client, "magic", 0, old, -1);
    // Kafka refuses non-v2 batches in Produce v3+ as a format problem, not as
    // corruption: ProduceRequest.validateRecords throws InvalidRecordException
    // (INVALID_RECORD, 87); UNSUPPORTED_FOR_MESSAGE_FORMAT (43) says the same.
    assert_ne!(
        error, CORRUPT_MESSAGE,
        "magic 1 is not reported as a CRC/corruption error"
    );
    assert!(
        error == ResponseError::UnsupportedForMessageFormat.code()
            || error == ResponseError::InvalidRecord.code(),
        "magic 1 batch: expected UNSUPPORTED_FOR_MESSAGE_FORMAT (43) or INVALID_RECORD (87), got {error}"
    );

    let (error, base_offset) = produce(&mut client, "magic", 0, batch(&["v2"]), -1);
    assert_eq!(error, 0);
    assert_eq!(base_offset, 0, "nothing of the magic-1 batch was written");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_truncated_batch_is_refused_and_writes_nothing() {
    let broker = BrokerProcess::start(&[]);
    let bootstrap = broker.bootstrap();
    create_topic(&bootstrap, "truncated", 1, &[]).await;
    let mut client = RawClient::connect(broker.port);

    let mut cut = batch(&["first-record-value", "second-record-value"]);
    cut.truncate(cut.len() - 10);
    let (error, _) = produce(&mut client, "truncated", 0, cut, -1);
    assert!(
        error == CORRUPT_MESSAGE || error == ResponseError::InvalidRecord.code(),
        "a truncated batch: expected CORRUPT_MESSAGE (2) or INVALID_RECORD (87), got {error}"
    );

    let (error, base_offset) = produce(&mut client, "truncated", 0, batch(&["whole"]), -1);
    assert_eq!(error, 0);
    assert_eq!(base_offset, 0, "nothing of the truncated batch was written");
    let got = consume(&bootstrap, "truncated", 0, 0, 1, Duration::from_secs(20));
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].value.as_deref(), Some(&b"whole"[..]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn produce_with_acks_5_is_invalid_required_acks() {
    let broker = BrokerProcess::start(&[]);
    let bootstrap = broker.bootstrap();
    create_topic(&bootstrap, "acks", 1, &[]).await;
    let mut client = RawClient::connect(broker.port);

    let (error, _) = produce(&mut client, "acks", 0, batch(&["x"]), 5);
    assert_eq!(error, ResponseError::InvalidRequiredAcks.code());

    let (error, base_offset) = produce(&mut client, "acks", 0, batch(&["y"]), 1);
    assert_eq!(error, 0);
    assert_eq!(base_offset, 0, "the acks=5 request wrote nothing");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn produce_to_an_unknown_topic_or_partition_is_refused() {
    let broker = BrokerProcess::start(&[]);
    let bootstrap = broker.bootstrap();
    create_topic(&bootstrap, "one-partition", 1, &[]).await;
    let mut client = RawClient::connect(broker.port);
    let unknown = ResponseError::UnknownTopicOrPartition.code();

    let (error, _) = produce(&mut client, "no-such-topic", 0, batch(&["x"]), -1);
    assert_eq!(error, unknown, "unknown topic");
    let md = metadata(&mut client, "no-such-topic", false);
    assert_eq!(
        md.topics[0].error_code, unknown,
        "Produce does not auto-create topics"
    );

    let (error, _) = produce(&mut client, "one-partition", 1, batch(&["x"]), -1);
    assert_eq!(error, unknown, "partition 1 of a 1-partition topic");
    let (error, _) = produce(&mut client, "one-partition", 7, batch(&["x"]), -1);
    assert_eq!(error, unknown, "partition 7 of a 1-partition topic");
    let (error, _) = produce(&mut client, "one-partition", -1, batch(&["x"]), -1);
    assert_eq!(error, unknown, "partition -1");

    let (error, base_offset) = produce(&mut client, "one-partition", 0, batch(&["ok"]), -1);
    assert_eq!(error, 0);
    assert_eq!(base_offset, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_record_larger_than_max_message_bytes_is_refused() {
    let broker = BrokerProcess::start(&[]);
    let bootstrap = broker.bootstrap();
    create_topic(
        &bootstrap,
        "small-messages",
        1,
        &[("max.message.bytes", "2000")],
    )
    .await;
    let p = producer(
        &bootstrap,
        &[
            ("message.max.bytes", "1000000"),
            ("compression.type", "none"),
        ],
    );

    let big = vec![b'z'; 10 * 1024];
    let result = p
        .send(
            FutureRecord::<(), _>::to("small-messages")
                .partition(0)
                .payload(&big),
            Duration::from_secs(10),
        )
        .await;
    match result {
        Err((KafkaError::MessageProduction(code), _)) => assert_eq!(
            code,
            RDKafkaErrorCode::MessageSizeTooLarge,
            "a 10 KB record on a topic with max.message.bytes=2000"
        ),
        other => panic!("expected MessageSizeTooLarge, got {other:?}"),
    }

    let d = p
        .send(
            FutureRecord::<(), _>::to("small-messages")
                .partition(0)
                .payload("small"),
            Duration::from_secs(10),
        )
        .await
        .expect("a small record is accepted");
    assert_eq!(d.offset, 0, "the refused record took no offset");
    let got = consume(
        &bootstrap,
        "small-messages",
        0,
        0,
        1,
        Duration::from_secs(20),
    );
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].value.as_deref(), Some(&b"small"[..]));
}

// ------------------------------------------------------------ topic names

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_topic_names_are_refused() {
    let broker = BrokerProcess::start(&[]);
    let bootstrap = broker.bootstrap();
    let admin = common::admin(&bootstrap);
    let long = "x".repeat(250);
    for name in ["bad name!", "..", long.as_str()] {
        let topic = NewTopic::new(name, 1, TopicReplication::Fixed(1));
        let results = admin
            .create_topics([&topic], &AdminOptions::new())
            .await
            .expect("create_topics request");
        assert_eq!(results.len(), 1);
        match &results[0] {
            Err((_, code)) => {
                assert_eq!(*code, RDKafkaErrorCode::InvalidTopic, "topic name {name:?}")
            }
            Ok(t) => panic!("topic name {name:?} was accepted as {t:?}"),
        }
    }

    // Metadata with auto-creation on: the name is refused, nothing is created.
    let mut client = RawClient::connect(broker.port);
    let md = metadata(&mut client, "bad name!", true);
    assert_eq!(md.topics.len(), 1);
    assert_eq!(
        md.topics[0].error_code,
        ResponseError::InvalidTopicException.code(),
        "Metadata for \"bad name!\" with auto-creation"
    );
    let all = client
        .call(&MetadataRequest::default().with_topics(None), 12)
        .expect("Metadata for all topics");
    let names: Vec<String> = all
        .topics
        .iter()
        .filter_map(|t| t.name.as_ref().map(|n| n.0.to_string()))
        .collect();
    assert!(names.is_empty(), "no topic was created: {names:?}");
    assert!(
        !std::fs::read_dir(&broker.dir)
            .unwrap()
            .filter_map(Result::ok)
            .any(|e| e.file_name().to_string_lossy().starts_with("bad name!")),
        "no log directory for the invalid name"
    );
}

// ------------------------------------------------------------ connections

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_idle_connections_do_not_starve_clients() {
    let mut broker = BrokerProcess::start(&[]);
    let bootstrap = broker.bootstrap();
    let idle: Vec<TcpStream> = (0..1000)
        .map(|i| {
            TcpStream::connect(("127.0.0.1", broker.port))
                .unwrap_or_else(|e| panic!("idle connection {i}: {e}"))
        })
        .collect();

    create_topic(&bootstrap, "busy", 1, &[]).await;
    let p = producer(&bootstrap, &[]);
    let d = p
        .send(
            FutureRecord::<(), _>::to("busy")
                .partition(0)
                .payload("through the crowd"),
            Duration::from_secs(10),
        )
        .await
        .expect("produce with 1000 idle connections open");
    assert_eq!(d.offset, 0);
    let got = consume(&bootstrap, "busy", 0, 0, 1, Duration::from_secs(20));
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].value.as_deref(), Some(&b"through the crowd"[..]));
    assert_api_versions_ok(broker.port);
    assert!(broker.is_running());
    // Keep the idle connections open until the round trip is done.
    drop(idle);
}
