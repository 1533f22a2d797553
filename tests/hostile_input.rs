//! Hostile input on the wire: frames built to make the broker allocate,
//! inflate or trust more than they carry. Each must close at most its own
//! connection (or get a Kafka error code) while the broker keeps serving.

mod common;

use bytes::{BufMut, BytesMut};
use common::{BrokerProcess, RawClient};
use kafka_protocol::messages::*;
use kafka_protocol::protocol::{Encodable, Message, StrBytes};

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

/// The default request of every API the broker serves, encoded at every
/// version the codec knows.
fn default_bodies() -> Vec<(ApiKey, i16, Vec<u8>)> {
    let mut out = Vec::new();
    macro_rules! bodies {
        ($($ty:ty),* $(,)?) => {$(
            let request = <$ty>::default();
            let key = ApiKey::try_from(<$ty as kafka_protocol::protocol::Request>::KEY).unwrap();
            let versions = <$ty as Message>::VERSIONS;
            for version in versions.min..=versions.max {
                let mut body = BytesMut::new();
                if request.encode(&mut body, version).is_ok() {
                    out.push((key, version, body.to_vec()));
                }
            }
        )*};
    }
    bodies!(
        AddOffsetsToTxnRequest,
        AddPartitionsToTxnRequest,
        AlterConfigsRequest,
        AlterPartitionReassignmentsRequest,
        ApiVersionsRequest,
        ConsumerGroupDescribeRequest,
        ConsumerGroupHeartbeatRequest,
        CreatePartitionsRequest,
        CreateTopicsRequest,
        DeleteGroupsRequest,
        DeleteRecordsRequest,
        DeleteTopicsRequest,
        DescribeClusterRequest,
        DescribeConfigsRequest,
        DescribeGroupsRequest,
        DescribeLogDirsRequest,
        DescribeTransactionsRequest,
        ElectLeadersRequest,
        EndTxnRequest,
        FetchRequest,
        FindCoordinatorRequest,
        HeartbeatRequest,
        IncrementalAlterConfigsRequest,
        InitProducerIdRequest,
        JoinGroupRequest,
        LeaveGroupRequest,
        ListGroupsRequest,
        ListOffsetsRequest,
        ListPartitionReassignmentsRequest,
        ListTransactionsRequest,
        MetadataRequest,
        OffsetCommitRequest,
        OffsetDeleteRequest,
        OffsetFetchRequest,
        OffsetForLeaderEpochRequest,
        ProduceRequest,
        SyncGroupRequest,
        TxnOffsetCommitRequest,
        WriteTxnMarkersRequest,
    );
    out
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
    for (key, version, body) in default_bodies() {
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
