//! Client quotas end to end: set with config-admin (DescribeClientQuotas /
//! AlterClientQuotas), kept in the metadata quorum across a restart, and
//! enforced on Produce as Kafka does (throttle_time_ms in the response, the
//! connection muted meanwhile), for one client id and not another.

mod common;

use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{run_tool, BrokerProcess};
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
    common::create_topic(&bs, "metered", 1, &[("retention.bytes", "104857600")]).await;
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
