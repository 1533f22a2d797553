//! Hostile input on the wire: frames built to make the broker allocate,
//! inflate or trust more than they carry. Each must close at most its own
//! connection (or get a Kafka error code) while the broker keeps serving.

use crate::harness;

use bytes::{BufMut, BytesMut};
use harness::{BrokerProcess, RawClient};
use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::*;
use kafka_protocol::protocol::{Encodable, StrBytes};

/// A frame for `key` at `version`: a request header, then `body`.
fn frame(key: ApiKey, version: i16, body: &[u8]) -> Vec<u8> {
    let header = RequestHeader::default()
        .with_request_api_key(key as i16)
        .with_request_api_version(version)
        .with_correlation_id(1)
        .with_client_id(Some(StrBytes::from_static_str("hostile")));
    let mut out = BytesMut::new();
    header
        .encode(&mut out, key.request_header_version(version))
        .unwrap();
    out.put_slice(body);
    let mut framed = (out.len() as i32).to_be_bytes().to_vec();
    framed.extend_from_slice(&out);
    framed
}

/// Sends one frame on its own connection and waits until the broker has
/// dealt with it: closed the connection, answered, or (a long poll) kept
/// it waiting for half a second.
fn send_and_settle(port: u16, frame: &[u8]) {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).expect("connect");
    stream
        .set_read_timeout(Some(std::time::Duration::from_millis(500)))
        .unwrap();
    stream.write_all(frame).expect("write");
    let _ = stream.read(&mut [0u8; 1]);
}

fn assert_serving(broker: &mut BrokerProcess, what: &str) {
    assert!(broker.is_running(), "the broker died on {what}");
    let mut client = RawClient::connect(broker.port);
    let response = client
        .call(
            &ApiVersionsRequest::default()
                .with_client_software_name(StrBytes::from_static_str("gregor-test"))
                .with_client_software_version(StrBytes::from_static_str("1.0")),
            3,
        )
        .unwrap_or_else(|| panic!("no ApiVersions answer after {what}"));
    assert_eq!(response.error_code, 0);
}

#[test]
fn a_metadata_request_claiming_two_billion_topics_closes_only_its_connection() {
    let mut broker = BrokerProcess::start(&[]);
    // Metadata v1: the header, then a topics array that claims 0x7fffffff
    // entries and carries none. The codec used to reserve room for all of
    // them and abort the process.
    let mut client = RawClient::connect(broker.port);
    client.send_raw(&frame(ApiKey::Metadata, 1, &0x7fff_ffffi32.to_be_bytes()));
    assert!(
        client.is_closed(),
        "an undecodable body closes the connection"
    );
    assert_serving(&mut broker, "Metadata v1 with 2^31 topics");

    // The same lie in a flexible version: a compact array of 2^32-2 entries.
    let mut client = RawClient::connect(broker.port);
    client.send_raw(&frame(
        ApiKey::Metadata,
        12,
        &[0xff, 0xff, 0xff, 0xff, 0x0f],
    ));
    assert!(
        client.is_closed(),
        "an undecodable body closes the connection"
    );
    assert_serving(&mut broker, "Metadata v12 with 2^32 topics");
}

/// Every API at its oldest and newest version, with a huge element count
/// written over each position of its default request in turn, so that
/// every array the request has claims billions of elements at some point.
#[test]
fn huge_declared_counts_in_any_request_leave_the_broker_serving() {
    let mut broker = BrokerProcess::start(&[]);
    let mut sent = 0;
    for (key, version, body) in harness::requests::default_bodies() {
        let versions = key.valid_versions();
        if version != versions.min && version != versions.max {
            continue;
        }
        let flexible = key.request_header_version(version) >= 2;
        let lie: &[u8] = if flexible {
            &[0xff, 0xff, 0xff, 0xff, 0x0f]
        } else {
            &[0x7f, 0xff, 0xff, 0xff]
        };
        for at in 0..body.len() {
            let mut hostile = body.clone();
            let end = (at + lie.len()).min(hostile.len());
            hostile.splice(at..end, lie.iter().copied());
            send_and_settle(broker.port, &frame(key, version, &hostile));
            sent += 1;
        }
        assert!(
            broker.is_running(),
            "the broker died on {key:?} v{version} with a huge declared count"
        );
    }
    assert!(sent > 500, "only {sent} hostile frames were built");
    assert_serving(&mut broker, "huge declared counts");
}

/// A snappy-compressed batch of one record (timestamp `ts`) whose payload
/// is `payload`, with a valid CRC: the broker stores it as it comes.
fn snappy_batch(payload: &[u8], ts: i64) -> Vec<u8> {
    let mut b = Vec::new();
    b.extend_from_slice(&0i64.to_be_bytes()); // base offset
    b.extend_from_slice(&((49 + payload.len()) as i32).to_be_bytes()); // length after this field
    b.extend_from_slice(&(-1i32).to_be_bytes()); // partition leader epoch
    b.push(2); // magic
    b.extend_from_slice(&[0; 4]); // crc, below
    b.extend_from_slice(&2i16.to_be_bytes()); // attributes: snappy
    b.extend_from_slice(&0i32.to_be_bytes()); // last offset delta
    b.extend_from_slice(&ts.to_be_bytes()); // base timestamp
    b.extend_from_slice(&ts.to_be_bytes()); // max timestamp
    b.extend_from_slice(&(-1i64).to_be_bytes()); // producer id
    b.extend_from_slice(&(-1i16).to_be_bytes()); // producer epoch
    b.extend_from_slice(&(-1i32).to_be_bytes()); // base sequence
    b.extend_from_slice(&1i32.to_be_bytes()); // record count
    b.extend_from_slice(payload);
    let crc = crc32c::crc32c(&b[21..]);
    b[17..21].copy_from_slice(&crc.to_be_bytes());
    b
}

/// Snappy blocks whose five-byte length header claims gigabytes: the codec
/// allocated the claimed size (raw snappy) or zero-filled it (Kafka's
/// framed snappy) before finding the data is not there. The broker inflates
/// batches to validate them and to answer ListOffsets by timestamp, so two
/// small produce requests could make it reserve 4 GiB and touch 1 GiB.
/// Found by tests/fuzz_decoder.rs.
#[test]
fn snappy_blocks_claiming_gigabytes_allocate_nothing() {
    let broker = BrokerProcess::start(&[]);
    let mut client = RawClient::connect(broker.port);
    let created = client
        .call(
            &CreateTopicsRequest::default()
                .with_timeout_ms(10_000)
                .with_topics(vec![create_topics_request::CreatableTopic::default()
                    .with_name(TopicName(StrBytes::from_static_str("bombs")))
                    .with_num_partitions(1)
                    .with_replication_factor(1)]),
            5,
        )
        .expect("CreateTopics answered");
    assert_eq!(created.topics[0].error_code, 0);

    // Raw snappy claiming 4 GiB - 1, and one framed block claiming 1 GiB.
    let raw = [0xff, 0xff, 0xff, 0xff, 0x0f, 0x00, 0x00];
    let mut framed = b"\x82SNAPPY\x00\x00\x00\x00\x01\x00\x00\x00\x01".to_vec();
    framed.extend_from_slice(&7u32.to_be_bytes());
    framed.extend_from_slice(&[0x80, 0x80, 0x80, 0x80, 0x04, 0x00, 0x00]);
    let ts = 1_700_000_000_000;
    let (reserved, resident) = (broker.memory("VmPeak"), broker.memory("VmHWM"));
    for (i, payload) in [&raw[..], &framed[..]].into_iter().enumerate() {
        let produced = client
            .call(
                &ProduceRequest::default()
                    .with_acks(1)
                    .with_timeout_ms(10_000)
                    .with_topic_data(vec![produce_request::TopicProduceData::default()
                        .with_name(TopicName(StrBytes::from_static_str("bombs")))
                        .with_partition_data(vec![
                            produce_request::PartitionProduceData::default()
                                .with_index(0)
                                .with_records(Some(snappy_batch(payload, ts + i as i64).into())),
                        ])]),
                7,
            )
            .expect("Produce answered");
        let code = produced.responses[0].partition_responses[0].error_code;
        assert!(
            code == ResponseError::CorruptMessage.code()
                || code == ResponseError::MessageTooLarge.code(),
            "a batch whose snappy block claims gigabytes it does not hold is refused, got {code}"
        );
    }

    for ts in [ts, ts + 1] {
        let answer = client.call(
            &ListOffsetsRequest::default()
                .with_replica_id(BrokerId(-1))
                .with_topics(vec![list_offsets_request::ListOffsetsTopic::default()
                    .with_name(TopicName(StrBytes::from_static_str("bombs")))
                    .with_partitions(vec![
                        list_offsets_request::ListOffsetsPartition::default()
                            .with_partition_index(0)
                            .with_timestamp(ts),
                    ])]),
            5,
        );
        assert!(answer.is_some(), "ListOffsets by time {ts} is answered");
    }
    let reserved = broker.memory("VmPeak").saturating_sub(reserved);
    let resident = broker.memory("VmHWM").saturating_sub(resident);
    assert!(
        reserved < 1 << 30,
        "the broker reserved {reserved} bytes for a 7-byte raw snappy block \
         (and its resident memory grew by {resident} bytes)"
    );
    assert!(
        resident < 256 << 20,
        "the broker touched {resident} bytes for a 7-byte framed snappy block"
    );
    let mut broker = broker;
    assert_serving(&mut broker, "snappy blocks claiming gigabytes");
}
