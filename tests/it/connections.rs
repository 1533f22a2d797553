//! What slow, idle and numerous clients may hold: connections.max.idle.ms,
//! max.connections.per.ip and its overrides (changed without a restart),
//! queued.max.request.bytes, and memory that follows the bytes a client
//! sent rather than the sizes it announced, on the broker's listeners and
//! for admin clients on the CONTROLLER listener; and the request a
//! handler's log lines come from.

use crate::harness;

use std::io::Write;
use std::net::TcpStream;
use std::time::Duration;

use bytes::BytesMut;
use harness::{create_topic, run_tool, wait_until, BrokerProcess, RawClient};
use kafka_protocol::messages::create_topics_request::CreatableTopic;
use kafka_protocol::messages::fetch_request::{FetchPartition, FetchTopic};
use kafka_protocol::messages::{
    ApiKey, ApiVersionsRequest, BrokerId, CreateTopicsRequest, FetchRequest, RequestHeader,
    TopicName,
};
use kafka_protocol::protocol::{Encodable, StrBytes};

fn api_versions() -> ApiVersionsRequest {
    ApiVersionsRequest::default()
        .with_client_software_name(StrBytes::from_static_str("gregor-test"))
        .with_client_software_version(StrBytes::from_static_str("1.0"))
}

/// An ApiVersions v3 request, framed.
fn api_versions_frame() -> Vec<u8> {
    let header = RequestHeader::default()
        .with_request_api_key(ApiKey::ApiVersions as i16)
        .with_request_api_version(3)
        .with_correlation_id(1);
    let mut body = BytesMut::new();
    header.encode(&mut body, 2).unwrap();
    api_versions().encode(&mut body, 3).unwrap();
    let mut framed = (body.len() as i32).to_be_bytes().to_vec();
    framed.extend_from_slice(&body);
    framed
}

/// True if the broker answers an ApiVersions request on `client`.
fn served(client: &mut RawClient) -> bool {
    client
        .call(&api_versions(), 3)
        .is_some_and(|r| r.error_code == 0)
}

/// Waits until the broker has closed `client`'s connection.
fn closed_within(client: &mut RawClient, timeout: Duration) -> bool {
    client.set_read_timeout(Duration::from_millis(100));
    wait_until(timeout, || client.is_closed())
}

/// Twenty clients each announce a 100 MB request and send ten bytes of it.
/// The broker used to reserve the whole announced size at once; now a
/// frame's buffer grows with what arrives, and connections.max.idle.ms
/// closes the stalled ones. Linux commits memory only as it is touched, so
/// the address space the broker reserved (VmPeak) is what showed the 2 GB;
/// resident memory (VmHWM) must not grow by it either.
#[test]
fn stalled_big_requests_cost_what_arrived_and_are_closed_when_idle() {
    let broker = BrokerProcess::start(&["connections.max.idle.ms=1500"]);
    // Warm up what the broker allocates on its first request.
    assert!(served(&mut RawClient::connect(broker.port)));
    let (peak_before, resident_before) = (broker.memory("VmPeak"), broker.memory("VmHWM"));

    const CLIENTS: u64 = 20;
    const ANNOUNCED: u64 = 100_000_000;
    let mut stalled: Vec<TcpStream> = (0..CLIENTS)
        .map(|_| {
            let mut s = TcpStream::connect(("127.0.0.1", broker.port)).expect("connect");
            s.write_all(&(ANNOUNCED as i32).to_be_bytes()).unwrap();
            s.write_all(&[0u8; 10]).unwrap();
            s
        })
        .collect();
    // The stalled clients hold nothing that keeps others out.
    assert!(served(&mut RawClient::connect(broker.port)));

    for (i, s) in stalled.drain(..).enumerate() {
        let mut client = RawClient::over(s);
        assert!(
            closed_within(&mut client, Duration::from_secs(30)),
            "stalled connection {i} is closed once idle for connections.max.idle.ms"
        );
    }
    let announced = CLIENTS * ANNOUNCED;
    let reserved = broker.memory("VmPeak").saturating_sub(peak_before);
    let resident = broker.memory("VmHWM").saturating_sub(resident_before);
    assert!(
        reserved < announced / 4,
        "the broker reserved {reserved} bytes for {announced} bytes announced and 200 sent"
    );
    assert!(
        resident < 64 << 20,
        "the broker's resident memory grew by {resident} bytes for 200 bytes sent"
    );
    assert!(served(&mut RawClient::connect(broker.port)));
}

/// Connections that made a request and went quiet, and connections that
/// never sent a byte, are both closed after connections.max.idle.ms; one
/// whose request the broker is still answering (a Fetch long poll longer
/// than the idle limit) is not.
#[tokio::test]
async fn idle_connections_are_closed_after_connections_max_idle_ms() {
    let broker = BrokerProcess::start(&["connections.max.idle.ms=1000"]);
    create_topic(&broker.bootstrap(), "quiet", 1, &[]).await;

    let mut used = RawClient::connect(broker.port);
    assert!(served(&mut used));
    let mut silent = RawClient::connect(broker.port);
    assert!(closed_within(&mut used, Duration::from_secs(30)));
    assert!(closed_within(&mut silent, Duration::from_secs(30)));

    let mut polling = RawClient::connect(broker.port);
    let long_poll = FetchRequest::default()
        .with_replica_id(BrokerId(-1))
        .with_max_wait_ms(3000)
        .with_min_bytes(1)
        .with_max_bytes(1 << 20)
        .with_session_epoch(-1)
        .with_topics(vec![FetchTopic::default()
            .with_topic(TopicName(StrBytes::from_static_str("quiet")))
            .with_partitions(vec![FetchPartition::default()
                .with_partition(0)
                .with_fetch_offset(0)
                .with_current_leader_epoch(-1)
                .with_partition_max_bytes(1 << 20)])]);
    let response = tokio::task::spawn_blocking(move || polling.call(&long_poll, 12))
        .await
        .unwrap()
        .expect("a long poll longer than connections.max.idle.ms is answered");
    assert_eq!(response.responses[0].partitions[0].error_code, 0);
}

/// max.connections.per.ip=2 turns the third connection from 127.0.0.1 away
/// while 127.0.0.2, raised to 4 by max.connections.per.ip.overrides, gets
/// four; a closed connection frees its address's place.
#[test]
fn max_connections_per_ip_refuses_the_next_connection_but_honours_overrides() {
    let broker = BrokerProcess::start(&[
        "max.connections.per.ip=2",
        "max.connections.per.ip.overrides=127.0.0.2:4",
    ]);
    let mut local: Vec<RawClient> = (0..2)
        .map(|_| harness::connect_from("127.0.0.1", broker.port))
        .collect();
    for c in &mut local {
        assert!(
            served(c),
            "connections up to max.connections.per.ip are served"
        );
    }
    let mut refused = harness::connect_from("127.0.0.1", broker.port);
    assert!(
        closed_within(&mut refused, Duration::from_secs(10)),
        "a third connection from 127.0.0.1 is closed"
    );

    let mut other: Vec<RawClient> = (0..4)
        .map(|_| harness::connect_from("127.0.0.2", broker.port))
        .collect();
    for c in &mut other {
        assert!(served(c), "127.0.0.2 gets its overridden limit of 4");
    }
    let mut fifth = harness::connect_from("127.0.0.2", broker.port);
    assert!(closed_within(&mut fifth, Duration::from_secs(10)));

    drop(local.pop());
    assert!(
        wait_until(Duration::from_secs(10), || served(
            &mut harness::connect_from("127.0.0.1", broker.port)
        )),
        "a closed connection makes room for another from its address"
    );
}

/// An admin client on the CONTROLLER listener (KIP-919) is held to what a
/// client of the broker's listeners is: its first request to
/// socket.request.max.bytes (only the quorum's own messages may be
/// larger), its connection to max.connections.per.ip, counted together
/// with its address's connections to the broker's listeners.
#[test]
fn controller_listener_clients_are_held_to_the_broker_limits() {
    let cluster = harness::start_cluster(
        1,
        &[
            "socket.request.max.bytes=1048576",
            "max.connections.per.ip.overrides=127.0.0.4:2",
        ],
    );
    let controller = cluster[0].controller_port();

    // Refused from its size: the quorum's server used to wait for the
    // 200 MB under its own limit until its 10 s handshake timeout.
    let mut oversized = harness::connect_from("127.0.0.5", controller);
    oversized.send_raw(&(200 * 1024 * 1024i32).to_be_bytes());
    oversized.send_raw(&[0, 18, 0, 3]);
    assert!(
        closed_within(&mut oversized, Duration::from_secs(5)),
        "a first request over socket.request.max.bytes closes the connection"
    );

    let mut admins: Vec<RawClient> = (0..2)
        .map(|_| harness::connect_from("127.0.0.4", controller))
        .collect();
    for c in &mut admins {
        assert!(served(c), "admin clients up to the limit are served");
    }
    let mut third = harness::connect_from("127.0.0.4", controller);
    assert!(
        !served(&mut third),
        "a third admin client from 127.0.0.4 is closed"
    );
    let mut on_the_broker = harness::connect_from("127.0.0.4", cluster[0].port);
    assert!(
        closed_within(&mut on_the_broker, Duration::from_secs(10)),
        "the CONTROLLER listener's clients count toward the address's limit"
    );
    drop(admins.pop());
    assert!(
        wait_until(Duration::from_secs(10), || served(
            &mut harness::connect_from("127.0.0.4", controller)
        )),
        "a closed admin client makes room for another"
    );
}

/// With max.connections reached by clients that went quiet, newcomers are
/// turned away only until connections.max.idle.ms reaps the quiet ones.
/// Whether, with two connections from `from` open and served, a third is
/// closed by the broker.
fn third_connection_refused(from: &str, port: u16) -> bool {
    let mut open: Vec<RawClient> = (0..2).map(|_| harness::connect_from(from, port)).collect();
    assert!(open.iter_mut().all(served), "two connections are served");
    let mut third = harness::connect_from(from, port);
    closed_within(&mut third, Duration::from_secs(1))
}

/// max.connections.per.ip set and removed as a dynamic broker config
/// applies to new connections without a restart, as in Kafka.
#[test]
fn max_connections_per_ip_changes_without_a_restart() {
    let broker = BrokerProcess::start(&[]);
    let config_admin = env!("CARGO_BIN_EXE_config-admin");
    let alter = |change: &[&str]| {
        let mut args = vec!["--alter", "--broker-defaults"];
        args.extend_from_slice(change);
        let out = run_tool(config_admin, &broker.bootstrap(), &args, b"");
        assert_eq!(out.code, Some(0), "{}", out.stderr);
    };
    assert!(!third_connection_refused("127.0.0.3", broker.port));
    alter(&["--add-config", "max.connections.per.ip=2"]);
    assert!(
        wait_until(Duration::from_secs(20), || third_connection_refused(
            "127.0.0.3",
            broker.port
        )),
        "the dynamic max.connections.per.ip never applied"
    );
    alter(&["--delete-config", "max.connections.per.ip"]);
    assert!(
        wait_until(Duration::from_secs(20), || !third_connection_refused(
            "127.0.0.3",
            broker.port
        )),
        "removing the dynamic max.connections.per.ip never applied"
    );
}

#[test]
fn reaped_idle_connections_make_room_under_max_connections() {
    let broker = BrokerProcess::start(&["max.connections=3", "connections.max.idle.ms=1500"]);
    let mut quiet: Vec<RawClient> = (0..3).map(|_| RawClient::connect(broker.port)).collect();
    for c in &mut quiet {
        assert!(served(c));
    }
    let mut turned_away = RawClient::connect(broker.port);
    assert!(closed_within(&mut turned_away, Duration::from_secs(10)));
    for c in &mut quiet {
        assert!(closed_within(c, Duration::from_secs(30)));
    }
    assert!(
        wait_until(Duration::from_secs(10), || served(&mut RawClient::connect(
            broker.port
        ))),
        "a new client gets in once the idle ones are closed"
    );
}

/// queued.max.request.bytes counts a request from its size on: a client
/// that announces a request as large as the whole pool and stalls keeps
/// every other request unread until its connection is closed as idle. The
/// request waiting for the pool is not idle itself.
#[test]
fn queued_max_request_bytes_holds_requests_back_while_the_pool_is_taken() {
    let broker = BrokerProcess::start(&[
        "socket.request.max.bytes=1048576",
        "queued.max.request.bytes=1048576",
        "connections.max.idle.ms=3000",
    ]);
    // The stalled request follows an ApiVersions request in the same write,
    // so the broker has taken the pool for it by the time the hog has its
    // answer (it reads on without waiting for the answer to go out).
    let mut hog = RawClient::connect(broker.port);
    let mut bytes = api_versions_frame();
    bytes.extend_from_slice(&1_048_576i32.to_be_bytes());
    bytes.extend_from_slice(&[0u8; 1000]);
    hog.send_raw(&bytes);
    assert!(
        hog.read_frame().is_some(),
        "the hog's first request is answered"
    );

    let mut waiting = RawClient::connect(broker.port);
    let answer = std::thread::spawn(move || served(&mut waiting));
    assert!(wait_until(Duration::from_secs(30), || answer.is_finished()));
    hog.set_read_timeout(Duration::from_millis(100));
    assert!(
        hog.is_closed(),
        "a request was read while a stalled one held all of queued.max.request.bytes"
    );
    assert!(
        answer.join().unwrap(),
        "the waiting request is answered once the pool is free"
    );
}

/// Many quiet clients cost little each: the broker keeps no read or write
/// buffer for a connection between requests.
#[test]
fn quiet_connections_hold_no_buffers() {
    let broker = BrokerProcess::start(&[]);
    assert!(served(&mut RawClient::connect(broker.port)));
    let before = broker.memory("VmRSS");
    const CLIENTS: u64 = 400;
    let mut clients: Vec<RawClient> = (0..CLIENTS)
        .map(|_| RawClient::connect(broker.port))
        .collect();
    for c in &mut clients {
        assert!(served(c));
    }
    let per_connection = broker.memory("VmRSS").saturating_sub(before) / CLIENTS;
    assert!(
        per_connection < 16 * 1024,
        "each quiet connection holds {per_connection} bytes"
    );
}

/// What a handler logs carries its request (Kafka's request log fields):
/// the API, version, correlation id, client id, peer and principal, as a
/// span around the handler, on when the connection's target logs at debug.
#[test]
fn a_handlers_log_lines_name_the_request() {
    let dir = tempfile::tempdir().unwrap();
    let broker = harness::LoggedBroker::launch_logging(
        dir.path(),
        &["listeners=PLAINTEXT://127.0.0.1:0".to_string()],
        "info,gregor::server::connection=debug,openraft=off",
    );
    let port = broker
        .port(Duration::from_secs(30))
        .expect("the broker serves");
    let created = RawClient::connect(port)
        .with_client_id("span-test")
        .call(
            &CreateTopicsRequest::default()
                .with_topics(vec![CreatableTopic::default()
                    .with_name(TopicName(StrBytes::from_static_str("spanned")))
                    .with_num_partitions(1)
                    .with_replication_factor(1)])
                .with_timeout_ms(10_000),
            7,
        )
        .expect("CreateTopics answered");
    assert_eq!(created.topics[0].error_code, 0);
    let mut line = String::new();
    let logged = wait_until(Duration::from_secs(10), || {
        line = broker
            .log
            .lock()
            .unwrap()
            .lines()
            .find(|l| l.contains("created topic"))
            .unwrap_or_default()
            .to_string();
        !line.is_empty()
    });
    assert!(logged, "{}", broker.log.lock().unwrap());
    for field in [
        "request{api=CreateTopics",
        "version=7",
        "correlation_id=1",
        "client_id=\"span-test\"",
        "principal=User:ANONYMOUS",
    ] {
        assert!(line.contains(field), "{field} in {line}");
    }
}
