//! Client quotas end to end: set with config-admin (DescribeClientQuotas /
//! AlterClientQuotas), kept in the metadata quorum across a restart, and
//! enforced as Kafka does (throttle_time_ms in the response, the
//! connection muted meanwhile), for one client id and not another: the
//! produce byte rate, the request quota (request_percentage) and the
//! controller mutation quota (KIP-599), with their metrics on the
//! metrics endpoint; and the connection creation rates of KIP-612, per
//! client address and broker-wide.

use crate::harness;

use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use harness::scrape::{sample, scrape};
use harness::{connect_from, free_port, run_tool, wait_until, BrokerProcess, RawClient};
use kafka_protocol::messages::create_topics_request::CreatableTopic;
use kafka_protocol::messages::delete_topics_request::DeleteTopicState;
use kafka_protocol::messages::{
    ApiVersionsRequest, CreateTopicsRequest, DeleteTopicsRequest, MetadataRequest,
    MetadataResponse, TopicName,
};
use kafka_protocol::protocol::StrBytes;
use rdkafka::config::ClientConfig;
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::producer::{BaseRecord, DeliveryResult, Producer, ProducerContext, ThreadedProducer};
use rdkafka::{ClientContext, Statistics};

const CONFIG_ADMIN: &str = env!("CARGO_BIN_EXE_config-admin");

/// Counts delivered bytes and keeps the largest throttle librdkafka's
/// statistics report for any broker.
#[derive(Default)]
struct Counting {
    delivered: AtomicU64,
    max_throttle_ms: AtomicI64,
}

struct Ctx(Arc<Counting>);

impl ClientContext for Ctx {
    fn stats(&self, statistics: Statistics) {
        for broker in statistics.brokers.values() {
            if let Some(throttle) = &broker.throttle {
                self.0
                    .max_throttle_ms
                    .fetch_max(throttle.max, Ordering::Relaxed);
            }
        }
    }
}

impl ProducerContext for Ctx {
    type DeliveryOpaque = ();
    fn delivery(&self, result: &DeliveryResult<'_>, _: ()) {
        if let Ok(m) = result {
            use rdkafka::Message;
            let bytes = m.payload().map_or(0, |p| p.len());
            self.0.delivered.fetch_add(bytes as u64, Ordering::Relaxed);
        }
    }
}

/// Produces 1 KB values as fast as librdkafka takes them until `until`,
/// returning the bytes delivered by then.
fn produce_flat_out(
    bootstrap: &str,
    client_id: &str,
    topic: &str,
    until: Instant,
) -> Arc<Counting> {
    let counting = Arc::new(Counting::default());
    let mut config = ClientConfig::new();
    config
        .set("bootstrap.servers", bootstrap)
        .set("broker.address.family", "v4")
        .set("client.id", client_id)
        .set("batch.size", "16384")
        .set("linger.ms", "5")
        .set("statistics.interval.ms", "500")
        .set("message.timeout.ms", "60000");
    let producer: ThreadedProducer<Ctx> = config
        .create_with_context(Ctx(counting.clone()))
        .expect("producer");
    let value = vec![b'q'; 1000];
    while Instant::now() < until {
        match producer.send(BaseRecord::<(), _>::to(topic).payload(&value)) {
            Ok(()) => {}
            Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), _)) => {
                std::thread::sleep(Duration::from_millis(2));
            }
            Err((e, _)) => panic!("produce: {e}"),
        }
    }
    // What is delivered by the deadline counts; the rest is let go.
    let counted = Arc::new(Counting::default());
    counted.delivered.store(
        counting.delivered.load(Ordering::Relaxed),
        Ordering::Relaxed,
    );
    // Statistics come every 500 ms: one more round for the last throttles.
    std::thread::sleep(Duration::from_millis(1200));
    counted.max_throttle_ms.store(
        counting.max_throttle_ms.load(Ordering::Relaxed),
        Ordering::Relaxed,
    );
    producer.purge(rdkafka::producer::PurgeConfig::default().queue().inflight());
    counted
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_producer_over_its_quota_is_held_to_it_and_others_are_not() {
    let broker = BrokerProcess::start(&[]);
    let bs = broker.bootstrap();
    harness::create_topic(&bs, "metered", 1, &[("retention.bytes", "104857600")]).await;
    const QUOTA: f64 = 1_048_576.0;
    run_tool(
        CONFIG_ADMIN,
        &bs,
        &[
            "--alter",
            "--client",
            "A",
            "--add-config",
            "producer_byte_rate=1048576",
        ],
        b"",
    )
    .ok();
    // Kafka's rate is the bytes in its 11 one-second samples over the
    // time they span, counted as at least 10 s plus the current window's
    // part: a new client's first burst takes that many seconds' worth at
    // once and is then held (each later request is taken, then throttled
    // for about a window: small batches keep that trickle small). So from
    // the first send, what gets through in a little under 11 s is the
    // quota times the time taken; at 11 s the first sample expires and
    // the next burst begins.
    let run = Duration::from_millis(10_800);
    let start = Instant::now();
    let until = start + run;
    let (a, b) = std::thread::scope(|s| {
        let a = s.spawn(|| produce_flat_out(&bs, "A", "metered", until));
        let b = s.spawn(|| produce_flat_out(&bs, "B", "metered", until));
        (a.join().unwrap(), b.join().unwrap())
    });
    let seconds = run.as_secs_f64();
    let rate_a = a.delivered.load(Ordering::Relaxed) as f64 / seconds;
    let rate_b = b.delivered.load(Ordering::Relaxed) as f64 / seconds;
    eprintln!(
        "A: {:.0} B/s ({:.3} of its quota), B: {rate_b:.0} B/s, A's largest throttle {} ms",
        rate_a,
        rate_a / QUOTA,
        a.max_throttle_ms.load(Ordering::Relaxed)
    );
    assert!(
        (rate_a / QUOTA - 1.0).abs() <= 0.10,
        "client A measured {rate_a:.0} B/s against a quota of {QUOTA} B/s"
    );
    assert!(
        rate_b > 2.0 * rate_a,
        "client B, without a quota, was held back: {rate_b:.0} B/s"
    );
    assert!(
        a.max_throttle_ms.load(Ordering::Relaxed) > 0,
        "librdkafka's statistics show the throttle"
    );
    assert_eq!(
        b.max_throttle_ms.load(Ordering::Relaxed),
        0,
        "B was never throttled"
    );
}

#[test]
fn quotas_follow_kafkas_precedence_and_survive_a_restart() {
    let mut broker = BrokerProcess::start(&[]);
    let bs = broker.bootstrap();
    let tool = |bs: &str, args: &[&str]| run_tool(CONFIG_ADMIN, bs, args, b"");
    tool(
        &bs,
        &[
            "--alter",
            "--entity-type",
            "clients",
            "--entity-default",
            "--add-config",
            "producer_byte_rate=1000,consumer_byte_rate=2000",
        ],
    )
    .ok();
    assert_eq!(
        tool(
            &bs,
            &[
                "--alter",
                "--user",
                "alice",
                "--client",
                "app",
                "--add-config",
                "producer_byte_rate=5000",
            ],
        )
        .ok(),
        "Completed updating config for user-principal 'alice', client-id 'app'.\n"
    );
    tool(
        &bs,
        &[
            "--alter",
            "--user",
            "bob",
            "--add-config",
            "request_percentage=50",
        ],
    )
    .ok();

    // Kafka's checks, with its messages.
    let refused = tool(
        &bs,
        &["--alter", "--client", "app", "--add-config", "bogus_rate=1"],
    );
    assert_ne!(refused.code, Some(0));
    assert!(
        refused.stderr.contains("INVALID_REQUEST") || refused.stderr.contains("InvalidRequest"),
        "{}",
        refused.stderr
    );
    assert!(
        refused
            .stderr
            .contains("Invalid configuration key bogus_rate"),
        "{}",
        refused.stderr
    );
    let negative = tool(
        &bs,
        &[
            "--alter",
            "--client",
            "app",
            "--add-config",
            "producer_byte_rate=-5",
        ],
    );
    assert!(
        negative.stderr.contains("must be greater than 0"),
        "{}",
        negative.stderr
    );

    let check = |bs: &str| {
        assert_eq!(
            tool(bs, &["--describe", "--entity-type", "clients", "--entity-default"]).ok(),
            "Quota configs for the default client-id are consumer_byte_rate=2000.0, producer_byte_rate=1000.0\n"
        );
        assert_eq!(
            tool(bs, &["--describe", "--user", "alice", "--client", "app"]).ok(),
            "Quota configs for user-principal 'alice', client-id 'app' are producer_byte_rate=5000.0\n"
        );
        let users: serde_json::Value = serde_json::from_str(
            tool(
                bs,
                &["--describe", "--user", "bob", "--client-defaults", "--json"],
            )
            .ok(),
        )
        .unwrap();
        assert_eq!(users, serde_json::json!([]), "bob has a user quota only");
        // Describing users shows their quotas after their SCRAM credentials.
        let bob = tool(bs, &["--describe", "--entity-type", "users"]);
        assert!(
            bob.ok()
                .contains("Quota configs for user-principal 'bob' are request_percentage=50.0"),
            "{}",
            bob.stdout
        );
    };
    check(&bs);
    broker.stop();
    broker.restart();
    check(&broker.bootstrap());

    // Removing the pair's quota leaves the default to apply.
    let bs = broker.bootstrap();
    tool(
        &bs,
        &[
            "--alter",
            "--user",
            "alice",
            "--client",
            "app",
            "--delete-config",
            "producer_byte_rate",
        ],
    )
    .ok();
    assert_eq!(
        tool(&bs, &["--describe", "--user", "alice", "--client", "app"]).ok(),
        ""
    );
}

/// The quota window the tests below run with: two samples of a second, so
/// that a controller mutation bucket holds two seconds' worth of credits.
const SHORT_WINDOW: [&str; 2] = ["quota.window.num=2", "quota.window.size.seconds=1"];

/// A broker on the short quota window with a metrics endpoint, and the
/// endpoint's port.
fn short_window_broker(extra: &[&str]) -> (BrokerProcess, u16) {
    let metrics_port = free_port();
    let listener = format!("metrics.listener=http://127.0.0.1:{metrics_port}");
    let mut overrides = SHORT_WINDOW.to_vec();
    overrides.push(&listener);
    overrides.extend_from_slice(extra);
    (BrokerProcess::start(&overrides), metrics_port)
}

fn metadata(client: &mut RawClient) -> MetadataResponse {
    client
        .call(
            &MetadataRequest::default().with_topics(Some(Vec::new())),
            12,
        )
        .expect("metadata answered")
}

#[test]
fn a_client_over_its_request_quota_is_throttled_and_others_are_not() {
    let (broker, metrics_port) = short_window_broker(&[]);
    let bs = broker.bootstrap();
    // A ten-thousandth of a percent of one thread: a microsecond of
    // handler time a second, which any request exceeds.
    run_tool(
        CONFIG_ADMIN,
        &bs,
        &[
            "--alter",
            "--client",
            "busy",
            "--add-config",
            "request_percentage=0.0001",
        ],
        b"",
    )
    .ok();
    let port: u16 = bs.rsplit_once(':').unwrap().1.parse().unwrap();
    let mut busy = RawClient::connect(port).with_client_id("busy");
    assert!(
        wait_until(Duration::from_secs(15), || metadata(&mut busy)
            .throttle_time_ms
            > 0),
        "the quota never throttled the busy client"
    );
    // From then on every response carries a throttle time, and the next
    // request is not read before the last throttle is over (KIP-219).
    for _ in 0..3 {
        let response = metadata(&mut busy);
        assert!(response.throttle_time_ms > 0, "{response:?}");
        // At most one window (Kafka's bound for the request quota).
        assert!(response.throttle_time_ms <= 1000, "{response:?}");
        let next = Instant::now();
        let again = metadata(&mut busy);
        assert!(again.throttle_time_ms > 0);
        assert!(
            next.elapsed() + Duration::from_millis(100)
                >= Duration::from_millis(response.throttle_time_ms as u64),
            "the request after a {} ms throttle was answered {:?} later",
            response.throttle_time_ms,
            next.elapsed()
        );
    }
    let mut other = RawClient::connect(port).with_client_id("other");
    for _ in 0..20 {
        assert_eq!(
            metadata(&mut other).throttle_time_ms,
            0,
            "a client without a quota is not throttled"
        );
    }

    let samples = scrape(metrics_port);
    let busy_labels = [("user", ""), ("client_id", "busy")];
    let throttle = sample(&samples, "kafka_server_request_throttle_time", &busy_labels);
    assert!(throttle.is_some_and(|t| t > 0.0), "{throttle:?}");
    let time = sample(&samples, "kafka_server_request_request_time", &busy_labels);
    assert!(time.is_some_and(|t| t > 0.0), "{time:?}");
    assert_eq!(
        sample(
            &samples,
            "kafka_server_request_request_time",
            &[("client_id", "other")]
        ),
        None,
        "a client without a quota has no quota sensor"
    );
    let throttled_ms = sample(
        &samples,
        "kafka_network_requestmetrics_throttletimems_sum",
        &[("request", "Metadata")],
    );
    assert!(throttled_ms.is_some_and(|t| t > 0.0), "{throttled_ms:?}");
}

fn topic(name: &str, partitions: i32) -> CreatableTopic {
    CreatableTopic::default()
        .with_name(TopicName(StrBytes::from_string(name.to_string())))
        .with_num_partitions(partitions)
        .with_replication_factor(1)
}

#[test]
fn the_controller_mutation_quota_refuses_new_clients_and_throttles_old_ones() {
    let (broker, metrics_port) = short_window_broker(&[]);
    let bs = broker.bootstrap();
    // One partition a second: a bucket of two credits with this window.
    for client in ["admin", "old-admin"] {
        run_tool(
            CONFIG_ADMIN,
            &bs,
            &[
                "--alter",
                "--client",
                client,
                "--add-config",
                "controller_mutation_rate=1",
            ],
            b"",
        )
        .ok();
    }
    let port: u16 = bs.rsplit_once(':').unwrap().1.parse().unwrap();
    let mut observer = RawClient::connect(port).with_client_id("observer");
    // This broker answers DescribeClientQuotas from the image it enforces.
    assert!(wait_until(Duration::from_secs(10), || {
        let described = run_tool(
            CONFIG_ADMIN,
            &bs,
            &["--describe", "--entity-type", "clients"],
            b"",
        );
        described
            .stdout
            .matches("controller_mutation_rate=1.0")
            .count()
            == 2
    }));

    // KIP-599's strict versions: ten partitions in five topics against two
    // credits. The first topic takes them, the second overdraws the bucket
    // (a mutation is refused only once it is overdrawn), the rest are
    // refused with THROTTLING_QUOTA_EXCEEDED.
    let mut admin = RawClient::connect(port).with_client_id("admin");
    let names: Vec<String> = (0..5).map(|i| format!("strict-{i}")).collect();
    let request = CreateTopicsRequest::default()
        .with_timeout_ms(30_000)
        .with_topics(names.iter().map(|n| topic(n, 2)).collect());
    let response = admin.call(&request, 7).expect("create topics answered");
    let codes: Vec<i16> = response.topics.iter().map(|t| t.error_code).collect();
    assert_eq!(codes, vec![0, 0, 89, 89, 89], "{response:?}");
    assert!(
        response.topics[2]
            .error_message
            .as_ref()
            .is_some_and(|m| m.contains("throttling quota")),
        "{response:?}"
    );
    assert!(
        response.throttle_time_ms > 0 && response.throttle_time_ms <= 2000,
        "{response:?}"
    );
    // DeleteTopics v5+ is strict too. Asked at once on another connection
    // (this one is muted until the bucket is back at zero), the bucket is
    // still overdrawn.
    let mut admin_again = RawClient::connect(port).with_client_id("admin");
    let delete = DeleteTopicsRequest::default()
        .with_timeout_ms(30_000)
        .with_topics(vec![DeleteTopicState::default()
            .with_name(Some(TopicName(StrBytes::from_string(names[0].clone()))))]);
    let deleted = admin_again
        .call(&delete, 6)
        .expect("delete topics answered");
    assert_eq!(deleted.responses[0].error_code, 89, "{deleted:?}");
    assert!(deleted.throttle_time_ms > 0, "{deleted:?}");
    // The sensors' figures are over the two-second window: read them now.
    let samples = scrape(metrics_port);
    let labels = [("user", ""), ("client_id", "admin")];
    let throttle = sample(
        &samples,
        "kafka_server_controllermutation_throttle_time",
        &labels,
    );
    assert!(throttle.is_some_and(|t| t > 0.0), "{throttle:?}");
    let rate = sample(
        &samples,
        "kafka_server_controllermutation_mutation_rate",
        &labels,
    );
    assert!(rate.is_some_and(|r| r > 0.0), "{rate:?}");

    let existing: Vec<String> = observer
        .call(&MetadataRequest::default().with_topics(None), 12)
        .expect("metadata")
        .topics
        .iter()
        .filter_map(|t| t.name.as_ref().map(|n| n.0.to_string()))
        .collect();
    assert!(existing.contains(&names[0]) && existing.contains(&names[1]));
    assert!(
        !existing.iter().any(|n| names[2..].contains(n)),
        "{existing:?}"
    );

    // Older versions are permissive: every topic is created, and the
    // client is throttled for the overdraft (eight credits, eight seconds).
    let mut old = RawClient::connect(port).with_client_id("old-admin");
    let old_names: Vec<String> = (0..5).map(|i| format!("permissive-{i}")).collect();
    let request = CreateTopicsRequest::default()
        .with_timeout_ms(30_000)
        .with_topics(old_names.iter().map(|n| topic(n, 2)).collect());
    let response = old.call(&request, 5).expect("create topics answered");
    assert!(
        response.topics.iter().all(|t| t.error_code == 0),
        "{response:?}"
    );
    assert!(
        response.throttle_time_ms > 4000 && response.throttle_time_ms <= 8000,
        "{response:?}"
    );

    let samples = scrape(metrics_port);
    let labels = [("user", ""), ("client_id", "old-admin")];
    let tokens = sample(&samples, "kafka_server_controllermutation_tokens", &labels);
    assert!(tokens.is_some_and(|t| t < 0.0), "{tokens:?}");
    let throttle = sample(
        &samples,
        "kafka_server_controllermutation_throttle_time",
        &labels,
    );
    assert!(throttle.is_some_and(|t| t > 0.0), "{throttle:?}");
    let throttled = sample(
        &samples,
        "kafka_network_requestmetrics_throttletimems_sum",
        &[("request", "CreateTopics")],
    );
    assert!(throttled.is_some_and(|t| t > 4000.0), "{throttled:?}");
}

/// Whether a new connection from `client` is served: its ApiVersions is
/// answered rather than the connection closed unread.
fn served(mut client: RawClient) -> bool {
    client.call(&ApiVersionsRequest::default(), 0).is_some()
}

#[test]
fn an_address_over_its_connection_creation_rate_is_held_off_and_others_are_not() {
    let (broker, metrics_port) = short_window_broker(&[]);
    let bs = broker.bootstrap();
    let set = run_tool(
        CONFIG_ADMIN,
        &bs,
        &[
            "--alter",
            "--ip",
            "127.0.0.1",
            "--add-config",
            "connection_creation_rate=2",
        ],
        b"",
    );
    assert_eq!(set.code, Some(0), "{}", set.stderr);
    let described = run_tool(
        CONFIG_ADMIN,
        &bs,
        &["--describe", "--entity-type", "ips"],
        b"",
    );
    assert_eq!(
        described.stdout.trim(),
        "Quota configs for ip '127.0.0.1' are connection_creation_rate=2.0",
        "{}",
        described.stderr
    );
    let refused = run_tool(
        CONFIG_ADMIN,
        &bs,
        &[
            "--alter",
            "--ip",
            "not-an-address",
            "--add-config",
            "connection_creation_rate=2",
        ],
        b"",
    );
    assert_ne!(refused.code, Some(0));
    assert!(
        refused
            .stderr
            .contains("not-an-address is not a valid IP or resolvable host"),
        "{}",
        refused.stderr
    );

    // config-admin's own connections count too: once the address is
    // served again, connections faster than two a second are soon held for
    // the throttle and closed unanswered.
    let port = broker.port;
    assert!(
        wait_until(Duration::from_secs(10), || served(RawClient::connect(port))),
        "127.0.0.1 is never served"
    );
    let held = (0..20)
        .find_map(|_| {
            let started = Instant::now();
            (!served(RawClient::connect(port))).then(|| started.elapsed())
        })
        .expect("twenty connections in a row were all served");
    assert!(
        held <= Duration::from_millis(1500),
        "a throttled connection is held at most one window, was {held:?}"
    );
    // Another address has no quota: it is served meanwhile.
    for _ in 0..5 {
        assert!(served(connect_from("127.0.0.2", port)));
    }
    let samples = scrape(metrics_port);
    let throttled = sample(
        &samples,
        "kafka_server_socket_server_metrics_ip_connection_accept_throttled_total",
        &[("listener", "PLAINTEXT")],
    );
    assert!(throttled.is_some_and(|t| t >= 1.0), "{throttled:?}");
    // Refused connections are not counted, so the address is served again
    // once its rate is back under the quota.
    assert!(
        wait_until(Duration::from_secs(10), || served(RawClient::connect(port))),
        "127.0.0.1 is never served again"
    );
}

#[test]
fn the_broker_connection_creation_rate_delays_connections_without_refusing_them() {
    let (broker, metrics_port) = short_window_broker(&["max.connection.creation.rate=2"]);
    let port = broker.port;
    let started = Instant::now();
    for i in 0..8 {
        assert!(
            served(RawClient::connect(port)),
            "connection {i} was refused"
        );
    }
    // Eight connections at two a second over a one-second span: the
    // listener waits before serving at least the last few.
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "eight connections took only {:?}",
        started.elapsed()
    );
    let samples = scrape(metrics_port);
    let delayed = sample(
        &samples,
        "kafka_server_socket_server_metrics_connection_accept_throttled_total",
        &[("listener", "PLAINTEXT")],
    );
    assert!(delayed.is_some_and(|d| d >= 1.0), "{delayed:?}");
}
