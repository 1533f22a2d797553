//! Several `broker-start` processes forming one cluster through the
//! metadata quorum (every node a broker and a controller voter): they
//! share one metadata image, spread a topic's partitions over the brokers
//! and serve each partition from its leader, and keep making metadata
//! changes when the active controller is killed; the killed node catches
//! up when it comes back. Followers replicate their leaders' logs; one
//! that stalls (SIGSTOP) leaves the ISR so acks=all goes on, and rejoins
//! once caught up, with every acknowledged record read back once. Killing
//! one leader after another loses no acknowledged record; a group resumes
//! from its commits when its coordinator dies; transactions span
//! partitions led by different brokers; metadata and records survive
//! restarting the whole cluster. A broker-only fourth node joins the
//! running cluster and takes a partition over by reassignment while a
//! producer writes; leadership returns to preferred replicas on request
//! and by itself; a broker stopped cleanly hands its leaderships over
//! first; a restarted leader drops the tail its followers never had;
//! acks=all reports an ISR that shrank below min.insync.replicas.
//! Followers fetch in sessions that follow leadership as it moves, and one
//! whose session the leader evicted fetches in full and keeps up. A
//! follower restarted on a wiped disk rejoins the ISR with the leader's log.

use crate::harness;

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use harness::{client_config, create_topic, start_cluster, wait_until, RawClient};
use kafka_protocol::messages::{DescribeLogDirsRequest, MetadataRequest};
use rdkafka::admin::{AdminOptions, NewTopic, TopicReplication};
use rdkafka::consumer::Consumer;
use rdkafka::producer::FutureRecord;

const CLUSTER: &[&str] = &[
    "offsets.topic.num.partitions=3",
    "transaction.state.log.num.partitions=3",
    "offsets.topic.replication.factor=1",
    "group.initial.rebalance.delay.ms=0",
];

/// (controller id, broker ids, topic -> partition leaders) as one broker reports them.
fn metadata(port: u16) -> (i32, BTreeSet<i32>, BTreeMap<String, Vec<i32>>) {
    let response = RawClient::connect(port)
        .call(&MetadataRequest::default().with_topics(None), 12)
        .expect("Metadata answered");
    let brokers = response.brokers.iter().map(|b| b.node_id.0).collect();
    let topics = response
        .topics
        .iter()
        .map(|t| {
            let name = t.name.as_ref().map(|n| n.0.to_string()).unwrap_or_default();
            let mut leaders: Vec<(i32, i32)> = t
                .partitions
                .iter()
                .map(|p| (p.partition_index, p.leader_id.0))
                .collect();
            leaders.sort();
            (name, leaders.into_iter().map(|(_, l)| l).collect())
        })
        .collect();
    (response.controller_id.0, brokers, topics)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_brokers_share_the_metadata_and_serve_their_partitions() {
    let brokers = start_cluster(3, CLUSTER);
    create_topic(&brokers[0].bootstrap(), "spread", 6, &[]).await;

    // Every broker serves the same image once it has applied the change.
    for b in &brokers {
        assert!(
            wait_until(Duration::from_secs(10), || {
                let (controller, ids, topics) = metadata(b.port);
                controller > 0
                    && ids == BTreeSet::from([1, 2, 3])
                    && topics.get("spread").is_some_and(|l| l.len() == 6)
            }),
            "broker on port {} serves the shared metadata",
            b.port
        );
    }
    let (_, _, topics) = metadata(brokers[2].port);
    let leaders: BTreeSet<i32> = topics["spread"].iter().copied().collect();
    assert_eq!(
        leaders,
        BTreeSet::from([1, 2, 3]),
        "partitions are spread over the brokers"
    );

    // Clients bootstrapped at any broker produce to and read from every leader.
    let producer = harness::producer(&brokers[1].bootstrap(), &[]);
    for i in 0..60 {
        let key = format!("k{i}");
        let value = format!("{i}");
        producer
            .send(
                FutureRecord::to("spread").key(&key).payload(&value),
                Duration::from_secs(10),
            )
            .await
            .expect("delivered");
    }
    let consumer = harness::Member::new(
        client_config(&brokers[2].bootstrap())
            .set("group.id", "spread-readers")
            .set("auto.offset.reset", "earliest")
            .create()
            .expect("consumer"),
    );
    consumer.subscribe(&["spread"]).expect("subscribe");
    let seen = harness::poll_until(&[&consumer], Duration::from_secs(30), |seen| {
        seen[0].len() >= 60
    });
    let values = harness::values_read(&seen);
    assert_eq!(
        values,
        (0..60).collect::<Vec<_>>(),
        "every record read once"
    );
    let partitions: BTreeSet<i32> = seen[0].iter().map(|r| r.0).collect();
    assert_eq!(partitions.len(), 6, "from every partition");
}

/// The values of partition 0 of `topic` from its start: `count` of them,
/// or what arrived within 20 s (asking one more than expected waits the
/// whole time, to catch duplicates).
fn values_from_start(bootstrap: &str, topic: &str, count: usize) -> Vec<String> {
    harness::consume(bootstrap, topic, 0, 0, count, Duration::from_secs(20))
        .iter()
        .map(|r| String::from_utf8_lossy(r.value.as_deref().unwrap_or_default()).into_owned())
        .collect()
}

/// Every broker's address, for clients that must find the cluster
/// whichever brokers are down.
fn bootstrap_all(brokers: &[harness::BrokerProcess]) -> String {
    brokers
        .iter()
        .map(|b| b.bootstrap())
        .collect::<Vec<_>>()
        .join(",")
}

/// Creates `name` with three replicas of each partition.
async fn create_replicated(bootstrap: &str, name: &str, partitions: i32, configs: &[(&str, &str)]) {
    let mut topic = NewTopic::new(name, partitions, TopicReplication::Fixed(3));
    for (k, v) in configs {
        topic = topic.set(k, v);
    }
    for r in harness::admin(bootstrap)
        .create_topics([&topic], &AdminOptions::new())
        .await
        .expect("CreateTopics answered")
    {
        r.unwrap_or_else(|(t, e)| panic!("creating {t}: {e}"));
    }
}

/// (leader, ISR) of partition 0 of `topic` as the broker on `port` reports it.
fn leadership(port: u16, topic: &str) -> (i32, BTreeSet<i32>) {
    let (leader, isr) = harness::leadership(port, topic);
    (leader, isr.into_iter().collect())
}

/// Bytes the broker on `port` holds for partition 0 of `topic`.
fn size_on(port: u16, topic: &str) -> i64 {
    let response = RawClient::connect(port)
        .call(&DescribeLogDirsRequest::default().with_topics(None), 1)
        .expect("DescribeLogDirs answered");
    response
        .results
        .iter()
        .flat_map(|d| &d.topics)
        .filter(|t| t.name.0.as_str() == topic)
        .flat_map(|t| &t.partitions)
        .filter(|p| p.partition_index == 0)
        .map(|p| p.partition_size)
        .sum()
}

async fn produce_all(bootstrap: &str, topic: &str, values: std::ops::Range<usize>) {
    let producer = harness::producer(bootstrap, &[("acks", "all")]);
    for i in values {
        let value = format!("{i}");
        producer
            .send(
                FutureRecord::<(), _>::to(topic)
                    .partition(0)
                    .payload(&value),
                Duration::from_secs(15),
            )
            .await
            .unwrap_or_else(|(e, _)| panic!("record {i} not acknowledged: {e}"));
    }
}

/// The high watermark of `topic`-0 on its leader at `port` (ListOffsets latest).
fn high_watermark(client: &mut RawClient, topic: &str) -> Option<i64> {
    use kafka_protocol::messages::list_offsets_request::{ListOffsetsPartition, ListOffsetsTopic};
    use kafka_protocol::messages::{BrokerId, ListOffsetsRequest, TopicName};
    let request = ListOffsetsRequest::default()
        .with_replica_id(BrokerId(-1))
        .with_topics(vec![ListOffsetsTopic::default()
            .with_name(TopicName(topic.to_string().into()))
            .with_partitions(vec![ListOffsetsPartition::default()
                .with_partition_index(0)
                .with_timestamp(-1)
                .with_current_leader_epoch(-1)])]);
    let response = client.call(&request, 7)?;
    let p = &response.topics[0].partitions[0];
    (p.error_code == 0).then_some(p.offset)
}

/// Samples the high watermark on the leader at `port` until `stop` is set;
/// every sample in order.
fn sample_high_watermark(
    port: u16,
    topic: &'static str,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
) -> std::thread::JoinHandle<Vec<i64>> {
    std::thread::spawn(move || {
        let mut client = RawClient::connect(port);
        let mut samples = Vec::new();
        while !stop.load(std::sync::atomic::Ordering::Acquire) {
            samples.extend(high_watermark(&mut client, topic));
            std::thread::sleep(Duration::from_millis(20));
        }
        samples
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn followers_replicate_and_a_stalled_one_leaves_and_rejoins_the_isr() {
    let mut overrides = CLUSTER.to_vec();
    overrides.push("replica.lag.time.max.ms=2000");
    let mut brokers = start_cluster(3, &overrides);
    let bs = brokers[0].bootstrap();
    create_replicated(&bs, "copies", 1, &[("min.insync.replicas", "2")]).await;
    produce_all(&bs, "copies", 0..100).await;
    let ports: Vec<u16> = brokers.iter().map(|b| b.port).collect();
    assert!(
        wait_until(Duration::from_secs(10), || {
            let sizes: BTreeSet<i64> = ports.iter().map(|p| size_on(*p, "copies")).collect();
            sizes.len() == 1 && sizes.iter().all(|s| *s > 0)
        }),
        "every replica holds the same log"
    );

    // A follower that stops answering leaves the ISR, and acks=all goes on
    // with the two left (min.insync.replicas=2).
    let (leader, isr) = leadership(ports[0], "copies");
    assert_eq!(isr, BTreeSet::from([1, 2, 3]));
    let stalled = (1..=3).find(|id| *id != leader).unwrap();
    let live = ports[(leader - 1) as usize];
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let sampler = sample_high_watermark(live, "copies", stop.clone());
    brokers[(stalled - 1) as usize].pause(true);
    produce_all(&format!("127.0.0.1:{live}"), "copies", 100..150).await;
    assert!(
        leadership(live, "copies").1.len() == 2,
        "the stalled follower left the ISR"
    );

    // Back, it catches up and rejoins.
    brokers[(stalled - 1) as usize].pause(false);
    assert!(
        wait_until(Duration::from_secs(15), || leadership(live, "copies")
            .1
            .len()
            == 3),
        "the follower rejoins the ISR once caught up"
    );
    let stalled_port = ports[(stalled - 1) as usize];
    assert_eq!(size_on(stalled_port, "copies"), size_on(live, "copies"));
    stop.store(true, std::sync::atomic::Ordering::Release);
    let samples = sampler.join().expect("sampler");
    assert!(!samples.is_empty());
    assert!(
        samples.windows(2).all(|w| w[0] <= w[1]),
        "the high watermark never goes backwards: {samples:?}"
    );
    assert!(
        samples.iter().all(|hw| (100..=150).contains(hw)),
        "nor past the records the ISR acknowledged: {samples:?}"
    );

    assert_eq!(
        values_from_start(&format!("127.0.0.1:{live}"), "copies", 150),
        (0..150).map(|i| i.to_string()).collect::<Vec<_>>()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metadata_changes_go_on_after_the_active_controller_dies() {
    let mut brokers = start_cluster(3, CLUSTER);
    create_topic(&brokers[0].bootstrap(), "before", 3, &[]).await;
    let (controller, _, _) = metadata(brokers[0].port);
    assert!((1..=3).contains(&controller));
    let dead = (controller - 1) as usize;
    brokers[dead].kill9();

    let survivor = (dead + 1) % 3;
    let port = brokers[survivor].port;
    assert!(
        wait_until(Duration::from_secs(15), || {
            let (now, _, _) = metadata(port);
            now > 0 && now != controller
        }),
        "the remaining voters elect a new active controller"
    );
    create_topic(&brokers[survivor].bootstrap(), "after", 2, &[]).await;
    let (_, _, topics) = metadata(brokers[(dead + 2) % 3].port);
    assert!(topics.contains_key("before") && topics.contains_key("after"));

    // The old controller comes back with its data and catches up.
    brokers[dead].restart();
    let port = brokers[dead].port;
    assert!(
        wait_until(Duration::from_secs(15), || {
            let (_, _, topics) = metadata(port);
            topics.contains_key("after")
        }),
        "the restarted node applies what it missed"
    );
}

/// The partition's current leader as the live brokers report it, once it
/// is one of them.
fn live_leader(brokers: &mut [harness::BrokerProcess], topic: &str) -> Option<i32> {
    let live: Vec<(i32, u16)> = brokers
        .iter_mut()
        .enumerate()
        .filter_map(|(i, b)| b.is_running().then_some((i as i32 + 1, b.port)))
        .collect();
    live.iter().find_map(|(_, port)| {
        let (leader, _) = leadership(*port, topic);
        live.iter().any(|(id, _)| *id == leader).then_some(leader)
    })
}

/// Sends `values` with an idempotent acks=all producer while `disrupt`
/// runs after the first acknowledgements; every record must be acknowledged.
async fn produce_through(
    bootstrap: &str,
    topic: &str,
    values: std::ops::Range<usize>,
    disrupt: impl FnOnce(),
) {
    let producer = harness::producer(
        bootstrap,
        &[
            ("acks", "all"),
            ("enable.idempotence", "true"),
            ("message.timeout.ms", "60000"),
        ],
    );
    let mut pending = Vec::new();
    let mut disrupt = Some(disrupt);
    let start = values.start;
    for i in values {
        let value = format!("{i}");
        pending.push(
            producer
                .send_result(
                    FutureRecord::<(), _>::to(topic)
                        .partition(0)
                        .payload(&value),
                )
                .unwrap_or_else(|(e, _)| panic!("enqueue {i}: {e}")),
        );
        if i == start + 100 {
            for p in pending.drain(..) {
                p.await
                    .expect("delivery")
                    .expect("acknowledged before the failure");
            }
            if let Some(disrupt) = disrupt.take() {
                disrupt();
            }
        }
        if i % 20 == 0 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
    for (n, p) in pending.into_iter().enumerate() {
        p.await
            .expect("delivery")
            .unwrap_or_else(|(e, _)| panic!("record {n} after the failure not acknowledged: {e}"));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_records_survive_killing_one_leader_after_another() {
    let mut overrides = CLUSTER.to_vec();
    overrides.extend([
        "replica.lag.time.max.ms=2000",
        "broker.session.timeout.ms=2000",
        "broker.heartbeat.interval.ms=300",
    ]);
    let mut brokers = start_cluster(3, &overrides);
    create_replicated(
        &brokers[0].bootstrap(),
        "failover",
        1,
        &[("min.insync.replicas", "2")],
    )
    .await;
    let bootstrap = bootstrap_all(&brokers);
    // A consumer group member reads along through both failovers.
    let reader = {
        let bootstrap = bootstrap.clone();
        std::thread::spawn(move || {
            let member = harness::subscribed_member(&bootstrap, "readers", "failover", &[]);
            let mut seen = BTreeSet::new();
            let deadline = std::time::Instant::now() + Duration::from_secs(120);
            while seen.len() < 800 && std::time::Instant::now() < deadline {
                if let Some(Ok(m)) = member.poll(Duration::from_millis(100)) {
                    use rdkafka::Message;
                    let value = String::from_utf8_lossy(m.payload().unwrap_or_default());
                    seen.extend(value.parse::<usize>().ok());
                }
            }
            seen
        })
    };

    for round in 0..2 {
        let leader = live_leader(&mut brokers, "failover").expect("a leader");
        let values = round * 400..(round + 1) * 400;
        let victim = &mut brokers[(leader - 1) as usize];
        produce_through(&bootstrap, "failover", values, || victim.kill9()).await;
        // The killed broker comes back, catches up and rejoins the ISR
        // before the next leader is killed.
        brokers[(leader - 1) as usize].restart();
        assert!(
            wait_until(Duration::from_secs(30), || {
                live_leader(&mut brokers, "failover").is_some_and(|l| {
                    leadership(brokers[(l - 1) as usize].port, "failover")
                        .1
                        .len()
                        == 3
                })
            }),
            "round {round}: the restarted broker rejoins the ISR"
        );
    }

    let leader = live_leader(&mut brokers, "failover").expect("a leader");
    let leader_bs = brokers[(leader - 1) as usize].bootstrap();
    assert_eq!(
        values_from_start(&leader_bs, "failover", 800),
        (0..800).map(|i| i.to_string()).collect::<Vec<_>>(),
        "every acknowledged record, in order"
    );
    assert_eq!(
        harness::log_end(&leader_bs, "failover", 0),
        800,
        "each once"
    );
    assert_eq!(
        reader.join().expect("reader"),
        (0..800).collect::<BTreeSet<_>>(),
        "the group member carried on through both failovers"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_group_resumes_from_its_commits_when_its_coordinator_dies() {
    use kafka_protocol::messages::FindCoordinatorRequest;
    use kafka_protocol::protocol::StrBytes;
    let mut brokers = start_cluster(
        3,
        &[
            "offsets.topic.num.partitions=3",
            "group.initial.rebalance.delay.ms=0",
            "replica.lag.time.max.ms=2000",
            "broker.session.timeout.ms=2000",
            "broker.heartbeat.interval.ms=300",
        ],
    );
    let bootstrap = bootstrap_all(&brokers);
    create_replicated(&brokers[0].bootstrap(), "work", 3, &[]).await;
    harness::produce_values(&bootstrap, "work", 0..30, 3).await;
    let member = harness::subscribed_member(&bootstrap, "workers", "work", &[]);
    let seen = harness::poll_until(&[&member], Duration::from_secs(30), |s| s[0].len() >= 30);
    assert_eq!(harness::values_read(&seen), (0..30).collect::<Vec<_>>());
    member
        .commit_consumer_state(rdkafka::consumer::CommitMode::Sync)
        .expect("commit");

    // The group's coordinator dies; its offsets partition's new leader
    // takes the group over from the log it replicated.
    let found = RawClient::connect(brokers[0].port)
        .call(
            &FindCoordinatorRequest::default()
                .with_key_type(0)
                .with_coordinator_keys(vec![StrBytes::from_static_str("workers")]),
            4,
        )
        .expect("FindCoordinator answered");
    let coordinator = found.coordinators[0].node_id.0;
    assert!((1..=3).contains(&coordinator));
    let offsets_error = |port: u16| {
        use kafka_protocol::messages::offset_fetch_request::OffsetFetchRequestGroup;
        use kafka_protocol::messages::{GroupId, OffsetFetchRequest};
        let request =
            OffsetFetchRequest::default().with_groups(vec![OffsetFetchRequestGroup::default()
                .with_group_id(GroupId(StrBytes::from_static_str("workers")))
                .with_topics(None)]);
        RawClient::connect(port)
            .call(&request, 8)
            .expect("OffsetFetch answered")
            .groups[0]
            .error_code
    };
    for (i, b) in brokers.iter().enumerate() {
        let expected = if i as i32 + 1 == coordinator {
            0
        } else {
            kafka_protocol::error::ResponseError::NotCoordinator.code()
        };
        assert_eq!(offsets_error(b.port), expected, "broker {}", i + 1);
    }
    brokers[(coordinator - 1) as usize].kill9();
    harness::produce_values(&bootstrap, "work", 30..60, 3).await;
    let seen = harness::poll_until(&[&member], Duration::from_secs(60), |s| s[0].len() >= 30);
    assert_eq!(
        harness::values_read(&seen),
        (30..60).collect::<Vec<_>>(),
        "the member resumes at its committed offsets under the new coordinator"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transactions_span_partitions_led_by_different_brokers() {
    use rdkafka::producer::{BaseRecord, Producer, ThreadedProducer};
    let brokers = start_cluster(3, CLUSTER);
    let bootstrap = bootstrap_all(&brokers);
    create_topic(&bootstrap, "spanning", 3, &[]).await;
    let (_, _, topics) = metadata(brokers[0].port);
    let leaders: BTreeSet<i32> = topics["spanning"].iter().copied().collect();
    assert_eq!(leaders.len(), 3, "each partition has a different leader");

    let producer: ThreadedProducer<rdkafka::producer::DefaultProducerContext> =
        client_config(&bootstrap)
            .set("transactional.id", "spanning")
            .create()
            .expect("transactional producer");
    let timeout = Duration::from_secs(15);
    producer.init_transactions(timeout).expect("init");
    for (round, commit) in [(0, true), (1, false), (2, true)] {
        producer.begin_transaction().expect("begin");
        for partition in 0..3 {
            let value = format!("{round}-{partition}");
            producer
                .send(
                    BaseRecord::<(), _>::to("spanning")
                        .partition(partition)
                        .payload(&value),
                )
                .unwrap_or_else(|(e, _)| panic!("enqueue: {e}"));
        }
        producer.flush(timeout).expect("flush");
        if commit {
            producer.commit_transaction(timeout).expect("commit");
        } else {
            producer.abort_transaction(timeout).expect("abort");
        }
    }
    let reader = harness::Member::new(
        client_config(&bootstrap)
            .set("group.id", "spanning-reader")
            .set("isolation.level", "read_committed")
            .set("auto.offset.reset", "earliest")
            .create()
            .expect("consumer"),
    );
    reader.subscribe(&["spanning"]).expect("subscribe");
    let seen = harness::poll_until(&[&reader], Duration::from_secs(20), |s| s[0].len() >= 6);
    let mut values: Vec<String> = seen[0].iter().map(|r| r.2.clone()).collect();
    values.sort();
    assert_eq!(
        values,
        ["0-0", "0-1", "0-2", "2-0", "2-1", "2-2"],
        "committed records from every partition, none of the aborted ones"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metadata_and_records_survive_restarting_the_whole_cluster() {
    let mut brokers = start_cluster(3, CLUSTER);
    create_replicated(&brokers[0].bootstrap(), "lasting", 1, &[]).await;
    create_topic(&brokers[1].bootstrap(), "spread-out", 3, &[]).await;
    produce_all(&brokers[2].bootstrap(), "lasting", 0..50).await;
    for b in brokers.iter_mut() {
        b.stop();
    }
    harness::restart_cluster(&mut brokers);

    let port = brokers[0].port;
    assert!(
        wait_until(Duration::from_secs(15), || {
            let (controller, ids, topics) = metadata(port);
            controller > 0
                && ids == BTreeSet::from([1, 2, 3])
                && topics
                    .get("lasting")
                    .is_some_and(|l| l.len() == 1 && l[0] > 0)
                && topics.get("spread-out").is_some_and(|l| l.len() == 3)
        }),
        "the quorum comes back with every topic and broker"
    );
    let bootstrap = bootstrap_all(&brokers);
    assert_eq!(
        values_from_start(&bootstrap, "lasting", 50),
        (0..50).map(|i| i.to_string()).collect::<Vec<_>>()
    );
}

/// Moves `topic`-`partition` onto `target` (None cancels); the partition's error code.
fn reassign(port: u16, topic: &str, partition: i32, target: Option<&[i32]>) -> i16 {
    use kafka_protocol::messages::alter_partition_reassignments_request::{
        ReassignablePartition, ReassignableTopic,
    };
    use kafka_protocol::messages::{AlterPartitionReassignmentsRequest, BrokerId, TopicName};
    let request = AlterPartitionReassignmentsRequest::default().with_topics(vec![
        ReassignableTopic::default()
            .with_name(TopicName(topic.to_string().into()))
            .with_partitions(vec![ReassignablePartition::default()
                .with_partition_index(partition)
                .with_replicas(
                    target.map(|t| t.iter().copied().map(BrokerId).collect()),
                )]),
    ]);
    let response = RawClient::connect(port)
        .call(&request, 0)
        .expect("AlterPartitionReassignments answered");
    assert_eq!(response.error_code, 0, "{:?}", response.error_message);
    response.responses[0].partitions[0].error_code
}

/// A partition in reassignment: (topic, partition, replicas, adding, removing).
type Moving = (String, i32, Vec<i32>, Vec<i32>, Vec<i32>);

fn reassignments(port: u16) -> Vec<Moving> {
    use kafka_protocol::messages::ListPartitionReassignmentsRequest;
    let ids = |v: &[kafka_protocol::messages::BrokerId]| v.iter().map(|b| b.0).collect();
    RawClient::connect(port)
        .call(&ListPartitionReassignmentsRequest::default(), 0)
        .expect("ListPartitionReassignments answered")
        .topics
        .iter()
        .flat_map(|t| {
            t.partitions.iter().map(|p| {
                (
                    t.name.0.to_string(),
                    p.partition_index,
                    ids(&p.replicas),
                    ids(&p.adding_replicas),
                    ids(&p.removing_replicas),
                )
            })
        })
        .collect()
}

/// (leader, replicas) of `topic`-`partition` as the broker on `port` reports them.
fn replicas_of(port: u16, topic: &str, partition: i32) -> (i32, Vec<i32>) {
    RawClient::connect(port)
        .call(&MetadataRequest::default().with_topics(None), 12)
        .expect("Metadata answered")
        .topics
        .iter()
        .find(|t| t.name.as_ref().is_some_and(|n| n.0.as_str() == topic))
        .and_then(|t| t.partitions.iter().find(|p| p.partition_index == partition))
        .map(|p| (p.leader_id.0, p.replica_nodes.iter().map(|b| b.0).collect()))
        .unwrap_or((-1, Vec::new()))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fourth_broker_takes_over_a_partition_by_reassignment_while_producing() {
    use kafka_protocol::error::ResponseError;
    let mut overrides = CLUSTER.to_vec();
    overrides.extend([
        "replica.lag.time.max.ms=2000",
        "broker.session.timeout.ms=2000",
        "broker.heartbeat.interval.ms=300",
    ]);
    let brokers = start_cluster(3, &overrides);
    create_replicated(
        &brokers[0].bootstrap(),
        "expand",
        2,
        &[("min.insync.replicas", "2")],
    )
    .await;
    let port = brokers[0].port;
    let mut fourth = harness::add_broker(&brokers, 4);
    assert!(
        wait_until(Duration::from_secs(30), || metadata(port).1.contains(&4)),
        "the new broker registers through the quorum it joined as an observer"
    );

    // Partition 0 moves off its leader onto the new broker while an
    // acks=all producer writes to it.
    let (old_leader, original) = replicas_of(port, "expand", 0);
    let target: Vec<i32> = std::iter::once(4)
        .chain(original.iter().copied().filter(|b| *b != old_leader))
        .collect();
    let bootstrap = format!("{},{}", bootstrap_all(&brokers), fourth.bootstrap());
    produce_through(&bootstrap, "expand", 0..3000, || {
        assert_eq!(reassign(port, "expand", 0, Some(&target)), 0);
    })
    .await;
    assert!(
        wait_until(Duration::from_secs(30), || reassignments(port).is_empty()
            && replicas_of(port, "expand", 0) == (4, target.clone())),
        "the move completes: {:?}, {:?}",
        reassignments(port),
        replicas_of(port, "expand", 0)
    );
    assert_eq!(
        values_from_start(&fourth.bootstrap(), "expand", 3000),
        (0..3000).map(|i| i.to_string()).collect::<Vec<_>>(),
        "the new leader has every acknowledged record, in order"
    );
    assert_eq!(
        harness::log_end(&fourth.bootstrap(), "expand", 0),
        3000,
        "each once"
    );
    let old = &brokers[(old_leader - 1) as usize];
    assert!(
        wait_until(Duration::from_secs(10), || size_on(old.port, "expand") == 0),
        "the removed replica is deleted"
    );

    // A move onto a broker that cannot catch up stays in progress, is
    // listed, and can be cancelled.
    let (_, before) = replicas_of(port, "expand", 1);
    let onto_fourth: Vec<i32> = std::iter::once(4)
        .chain(before[1..].iter().copied())
        .collect();
    fourth.pause(true);
    assert_eq!(reassign(port, "expand", 1, Some(&onto_fourth)), 0);
    let listed = reassignments(port);
    assert_eq!(listed.len(), 1, "{listed:?}");
    assert_eq!(
        (listed[0].1, &listed[0].3, &listed[0].4),
        (1, &vec![4], &vec![before[0]])
    );
    assert_eq!(reassign(port, "expand", 1, None), 0);
    fourth.pause(false);
    assert!(reassignments(port).is_empty());
    let (_, after) = replicas_of(port, "expand", 1);
    assert_eq!(
        after.iter().copied().collect::<BTreeSet<_>>(),
        before.iter().copied().collect::<BTreeSet<_>>(),
        "cancelled: back on the original replicas"
    );
    assert_eq!(
        reassign(port, "expand", 1, None),
        ResponseError::NoReassignmentInProgress.code()
    );
    assert_eq!(
        reassign(port, "expand", 1, Some(&[1, 9])),
        ResponseError::InvalidReplicaAssignment.code()
    );
    assert_eq!(
        reassign(port, "missing", 0, Some(&[1])),
        ResponseError::UnknownTopicOrPartition.code()
    );
}

/// Elects leaders of `partitions` (None: all) with `election_type` (0
/// preferred, 1 unclean); (topic, partition, error code) per result.
fn elect(
    port: u16,
    election_type: i8,
    partitions: Option<&[(&str, i32)]>,
) -> Vec<(String, i32, i16)> {
    use kafka_protocol::messages::elect_leaders_request::TopicPartitions;
    use kafka_protocol::messages::{ElectLeadersRequest, TopicName};
    let request = ElectLeadersRequest::default()
        .with_election_type(election_type)
        .with_topic_partitions(partitions.map(|ps| {
            ps.iter()
                .map(|(t, p)| {
                    TopicPartitions::default()
                        .with_topic(TopicName(t.to_string().into()))
                        .with_partitions(vec![*p])
                })
                .collect()
        }));
    let response = RawClient::connect(port)
        .call(&request, 2)
        .expect("ElectLeaders answered");
    assert_eq!(response.error_code, 0);
    response
        .replica_election_results
        .iter()
        .flat_map(|t| {
            t.partition_result
                .iter()
                .map(|p| (t.topic.0.to_string(), p.partition_id, p.error_code))
        })
        .collect()
}

/// Kills the preferred leader of `topic`-0 and brings it back in sync; its
/// id. Leadership stays with the replica that took over.
fn bounce_preferred_leader(brokers: &mut [harness::BrokerProcess], topic: &str) -> i32 {
    let port = brokers[0].port;
    let (leader, replicas) = replicas_of(port, topic, 0);
    assert_eq!(
        leader, replicas[0],
        "a new partition is led by its first replica"
    );
    let survivor = brokers
        .iter()
        .enumerate()
        .find(|(i, _)| *i as i32 + 1 != leader)
        .map(|(_, b)| b.port)
        .expect("another broker");
    brokers[(leader - 1) as usize].kill9();
    assert!(
        wait_until(Duration::from_secs(30), || {
            let (now, _) = replicas_of(survivor, topic, 0);
            now != leader && now != -1
        }),
        "another replica takes over"
    );
    assert!(
        !metadata(survivor).1.contains(&leader),
        "Metadata leaves out a fenced broker"
    );
    assert_eq!(
        fenced_brokers(survivor),
        BTreeSet::from([leader]),
        "DescribeCluster shows it when asked to"
    );
    brokers[(leader - 1) as usize].restart();
    assert!(
        wait_until(Duration::from_secs(30), || leadership(survivor, topic)
            .1
            .contains(&leader)),
        "the preferred replica is back in sync"
    );
    leader
}

/// The brokers DescribeCluster (v2, fenced included) reports fenced.
fn fenced_brokers(port: u16) -> BTreeSet<i32> {
    use kafka_protocol::messages::DescribeClusterRequest;
    RawClient::connect(port)
        .call(
            &DescribeClusterRequest::default().with_include_fenced_brokers(true),
            2,
        )
        .expect("DescribeCluster answered")
        .brokers
        .iter()
        .filter(|b| b.is_fenced)
        .map(|b| b.broker_id.0)
        .collect()
}

const FAST_FAILOVER: &[&str] = &[
    "replica.lag.time.max.ms=2000",
    "broker.session.timeout.ms=2000",
    "broker.heartbeat.interval.ms=300",
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn elect_leaders_gives_leadership_back_to_the_preferred_replica() {
    use kafka_protocol::error::ResponseError;
    let mut overrides = CLUSTER.to_vec();
    overrides.extend(FAST_FAILOVER);
    overrides.push("auto.leader.rebalance.enable=false");
    let mut brokers = start_cluster(3, &overrides);
    create_replicated(&brokers[0].bootstrap(), "preferred", 1, &[]).await;
    let preferred = bounce_preferred_leader(&mut brokers, "preferred");
    let port = brokers[(preferred % 3) as usize].port;
    assert_ne!(replicas_of(port, "preferred", 0).0, preferred);

    assert_eq!(
        elect(port, 0, Some(&[("preferred", 0)])),
        vec![("preferred".to_string(), 0, 0)]
    );
    assert_eq!(replicas_of(port, "preferred", 0).0, preferred);
    assert_eq!(
        elect(port, 0, Some(&[("preferred", 0), ("nothing", 0)])),
        vec![
            (
                "nothing".to_string(),
                0,
                ResponseError::UnknownTopicOrPartition.code()
            ),
            (
                "preferred".to_string(),
                0,
                ResponseError::ElectionNotNeeded.code()
            ),
        ]
    );
    assert!(
        elect(port, 0, None)
            .iter()
            .all(|(t, _, _)| t != "preferred"),
        "an election on every partition leaves out those that need none"
    );
    assert_eq!(
        elect(port, 1, Some(&[("preferred", 0)])),
        vec![(
            "preferred".to_string(),
            0,
            ResponseError::ElectionNotNeeded.code()
        )],
        "an unclean election is only for partitions without a leader"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_controller_moves_leadership_back_to_preferred_replicas_by_itself() {
    let mut overrides = CLUSTER.to_vec();
    overrides.extend(FAST_FAILOVER);
    overrides.push("leader.imbalance.check.interval.seconds=1");
    let mut brokers = start_cluster(3, &overrides);
    create_replicated(&brokers[0].bootstrap(), "rebalanced", 1, &[]).await;
    let preferred = bounce_preferred_leader(&mut brokers, "rebalanced");
    let port = brokers[(preferred % 3) as usize].port;
    assert!(
        wait_until(Duration::from_secs(30), || replicas_of(
            port,
            "rebalanced",
            0
        )
        .0 == preferred),
        "auto.leader.rebalance.enable elects the preferred replica again"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acks_all_reports_an_isr_that_shrank_below_min_insync_while_it_waited() {
    use kafka_protocol::error::ResponseError;
    use kafka_protocol::messages::produce_request::{PartitionProduceData, TopicProduceData};
    use kafka_protocol::messages::{ProduceRequest, TopicName};
    let mut overrides = CLUSTER.to_vec();
    overrides.extend(FAST_FAILOVER);
    let mut brokers = start_cluster(3, &overrides);
    create_replicated(
        &brokers[0].bootstrap(),
        "three-copies",
        1,
        &[("min.insync.replicas", "3")],
    )
    .await;
    let (leader, _) = leadership(brokers[0].port, "three-copies");
    let follower = (1..=3).find(|b| *b != leader).expect("a follower");
    let mut client = RawClient::connect(brokers[(leader - 1) as usize].port);
    let mut produce = || {
        let request = ProduceRequest::default()
            .with_acks(-1)
            .with_timeout_ms(20_000)
            .with_topic_data(vec![TopicProduceData::default()
                .with_name(TopicName("three-copies".to_string().into()))
                .with_partition_data(vec![PartitionProduceData::default()
                    .with_index(0)
                    .with_records(Some(harness::record_batch(&["v"], (-1, -1, -1))))])]);
        client
            .call(&request, 9)
            .expect("Produce answered")
            .responses[0]
            .partition_responses[0]
            .error_code
    };
    assert_eq!(produce(), 0, "three in sync: acknowledged");

    // Appended with three in sync; the follower stalls, leaves the ISR, and
    // the high watermark passes the record with two copies.
    brokers[(follower - 1) as usize].pause(true);
    assert_eq!(
        produce(),
        ResponseError::NotEnoughReplicasAfterAppend.code()
    );
    assert_eq!(
        produce(),
        ResponseError::NotEnoughReplicas.code(),
        "now refused before the append"
    );
    brokers[(follower - 1) as usize].pause(false);
}

/// Produce requests pipeline: one waiting for acks=all does not hold back
/// the append of the next on its connection, which waits beside it; the
/// answers still come in request order.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_waiting_acks_all_produce_does_not_hold_back_the_next_append() {
    use kafka_protocol::messages::produce_request::{PartitionProduceData, TopicProduceData};
    use kafka_protocol::messages::{ProduceRequest, TopicName};
    let mut overrides = CLUSTER.to_vec();
    overrides.push("replica.lag.time.max.ms=60000");
    let mut brokers = start_cluster(3, &overrides);
    create_replicated(&brokers[0].bootstrap(), "piped", 1, &[]).await;
    let (leader, _) = leadership(brokers[0].port, "piped");
    let follower = (1..=3).find(|b| *b != leader).expect("a follower");
    let leader_port = brokers[(leader - 1) as usize].port;
    let produce = |value: &str| {
        ProduceRequest::default()
            .with_acks(-1)
            .with_timeout_ms(30_000)
            .with_topic_data(vec![TopicProduceData::default()
                .with_name(TopicName("piped".to_string().into()))
                .with_partition_data(vec![PartitionProduceData::default()
                    .with_index(0)
                    .with_records(Some(harness::record_batch(&[value], (-1, -1, -1))))])])
    };

    // A stalled follower stays in the ISR for replica.lag.time.max.ms:
    // the high watermark stops, and acks=all waits.
    brokers[(follower - 1) as usize].pause(true);
    let mut client = RawClient::connect(leader_port);
    client.set_read_timeout(Duration::from_secs(60));
    let first = client.send(&produce("first"), 9);
    assert!(
        wait_until(Duration::from_secs(10), || size_on(leader_port, "piped")
            > 0),
        "the first request is appended"
    );
    let one_batch = size_on(leader_port, "piped");
    let second = client.send(&produce("second"), 9);
    assert!(
        wait_until(Duration::from_secs(10), || size_on(leader_port, "piped")
            > one_batch),
        "the second request waited for the first's acks=all to be appended"
    );

    brokers[(follower - 1) as usize].pause(false);
    for (correlation_id, base_offset) in [(first, 0), (second, 1)] {
        let answer = client
            .receive::<ProduceRequest>(9, correlation_id)
            .expect("Produce answered");
        let partition = &answer.responses[0].partition_responses[0];
        assert_eq!(partition.error_code, 0);
        assert_eq!(partition.base_offset, base_offset);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broker_stopped_cleanly_hands_its_leaderships_over_first() {
    // Kafka's default broker.session.timeout.ms (9 s): without a controlled
    // shutdown, leadership would move only once the session expired.
    let mut brokers = start_cluster(3, CLUSTER);
    create_replicated(
        &brokers[0].bootstrap(),
        "handover",
        1,
        &[("min.insync.replicas", "2")],
    )
    .await;
    let bootstrap = bootstrap_all(&brokers);
    let (leader, _) = leadership(brokers[0].port, "handover");
    let survivor = brokers[(leader % 3) as usize].port;
    let victim = &mut brokers[(leader - 1) as usize];
    produce_through(&bootstrap, "handover", 0..600, || {
        victim.stop();
        assert!(
            wait_until(Duration::from_secs(3), || {
                let (now, isr) = leadership(survivor, "handover");
                now != leader && now != -1 && !isr.contains(&leader)
            }),
            "leadership moved, and the stopped broker left the ISR, as it stopped"
        );
    })
    .await;
    let survivor_bs = format!("127.0.0.1:{survivor}");
    assert_eq!(
        values_from_start(&survivor_bs, "handover", 600),
        (0..600).map(|i| i.to_string()).collect::<Vec<_>>(),
        "every acknowledged record, in order"
    );
    assert_eq!(
        harness::log_end(&survivor_bs, "handover", 0),
        600,
        "each once"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restarted_leader_drops_the_tail_its_followers_never_had() {
    let mut overrides = CLUSTER.to_vec();
    overrides.extend(FAST_FAILOVER);
    overrides.push("auto.leader.rebalance.enable=false");
    let mut brokers = start_cluster(3, &overrides);
    create_replicated(&brokers[0].bootstrap(), "diverge", 1, &[]).await;
    let (leader, _) = leadership(brokers[0].port, "diverge");
    let followers: Vec<i32> = (1..=3).filter(|b| *b != leader).collect();
    let leader_bs = brokers[(leader - 1) as usize].bootstrap();
    produce_all(&leader_bs, "diverge", 0..50).await;
    let ports: Vec<u16> = brokers.iter().map(|b| b.port).collect();
    assert!(
        wait_until(Duration::from_secs(10), || {
            let sizes: BTreeSet<i64> = ports.iter().map(|p| size_on(*p, "diverge")).collect();
            sizes.len() == 1
        }),
        "every replica holds the first 50"
    );

    // With both followers stalled, acks=1 records reach the leader alone;
    // then it dies, and a follower leads without them.
    for f in &followers {
        brokers[(f - 1) as usize].pause(true);
    }
    let alone = harness::producer(&leader_bs, &[("acks", "1")]);
    for i in 0..10 {
        let value = format!("lost-{i}");
        alone
            .send(
                FutureRecord::<(), _>::to("diverge")
                    .partition(0)
                    .payload(&value),
                Duration::from_secs(10),
            )
            .await
            .unwrap_or_else(|(e, _)| panic!("acks=1 record {i}: {e}"));
    }
    drop(alone);
    brokers[(leader - 1) as usize].kill9();
    for f in &followers {
        brokers[(f - 1) as usize].pause(false);
    }
    let follower_port = ports[(followers[0] - 1) as usize];
    assert!(
        wait_until(Duration::from_secs(30), || followers
            .contains(&leadership(follower_port, "diverge").0)),
        "a follower takes over"
    );
    let (new_leader, _) = leadership(follower_port, "diverge");
    let new_leader_bs = brokers[(new_leader - 1) as usize].bootstrap();
    produce_all(&new_leader_bs, "diverge", 50..80).await;
    // A follower's fetch already waiting at the leader when it stalled may
    // have carried the first acks=1 record over; the rest only the old
    // leader ever had.
    let end = high_watermark(
        &mut RawClient::connect(ports[(new_leader - 1) as usize]),
        "diverge",
    )
    .expect("the new leader's high watermark") as usize;
    let kept = values_from_start(&new_leader_bs, "diverge", end);
    assert_eq!(
        kept.iter()
            .filter(|v| !v.starts_with("lost-"))
            .cloned()
            .collect::<Vec<_>>(),
        (0..80).map(|i| i.to_string()).collect::<Vec<_>>()
    );
    assert!(!kept.contains(&"lost-9".to_string()), "{kept:?}");

    // The old leader comes back: it cuts the records nobody else has,
    // catches up, and, elected again, serves the new leader's log.
    brokers[(leader - 1) as usize].restart();
    assert!(
        wait_until(Duration::from_secs(30), || leadership(
            follower_port,
            "diverge"
        )
        .1
        .contains(&leader)),
        "the old leader rejoins the ISR"
    );
    let port = brokers[(leader - 1) as usize].port;
    assert_eq!(
        elect(port, 0, Some(&[("diverge", 0)])),
        vec![("diverge".to_string(), 0, 0)]
    );
    assert!(wait_until(Duration::from_secs(10), || leadership(
        port, "diverge"
    )
    .0 == leader));
    assert!(
        wait_until(Duration::from_secs(10), || high_watermark(
            &mut RawClient::connect(port),
            "diverge"
        ) == Some(end as i64)),
        "the old leader's log ends where the new leader's did"
    );
    assert_eq!(
        values_from_start(&brokers[(leader - 1) as usize].bootstrap(), "diverge", end),
        kept,
        "the divergent tail is gone: the old leader holds the new leader's log"
    );
}

/// As Kafka's KRaftMetadataCache: a partition whose leader has no endpoint
/// on the listener the request came in on names no leader, and says
/// LISTENER_NOT_FOUND (Metadata v6+) or LEADER_NOT_AVAILABLE (v5 and
/// before), rather than a broker the client cannot reach there.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_leader_without_the_requests_listener_is_not_named() {
    let cluster = harness::start_cluster_listening(
        3,
        "PLAINTEXT://127.0.0.1:0,EXTERNAL://127.0.0.1:0",
        &[
            "listener.security.protocol.map=PLAINTEXT:PLAINTEXT,EXTERNAL:PLAINTEXT,CONTROLLER:PLAINTEXT",
            "inter.broker.listener.name=PLAINTEXT",
        ],
        // Node 3 does not advertise EXTERNAL.
        &[&[], &[], &["advertised.listeners=PLAINTEXT://127.0.0.1:0"]],
    );
    create_topic(&cluster[0].bootstrap(), "split", 6, &[]).await;
    let leaders = |port: u16, version: i16| -> Vec<(i16, i32)> {
        let response = RawClient::connect(port)
            .call(
                &MetadataRequest::default().with_topics(Some(vec![
                    kafka_protocol::messages::metadata_request::MetadataRequestTopic::default()
                        .with_name(Some(kafka_protocol::messages::TopicName(
                            kafka_protocol::protocol::StrBytes::from_static_str("split"),
                        ))),
                ])),
                version,
            )
            .expect("metadata");
        let mut partitions: Vec<_> = response.topics[0]
            .partitions
            .iter()
            .map(|p| (p.partition_index, p.error_code, p.leader_id.0))
            .collect();
        partitions.sort_unstable();
        partitions.into_iter().map(|(_, e, l)| (e, l)).collect()
    };
    let mut internal = Vec::new();
    assert!(wait_until(Duration::from_secs(15), || {
        internal = leaders(cluster[0].port, 12);
        internal.iter().all(|(e, l)| *e == 0 && *l > 0)
    }));
    assert!(
        internal.iter().any(|(_, l)| *l == 3),
        "no partition led by node 3: {internal:?}"
    );
    let external = cluster[0].listener_port("EXTERNAL");
    let expect = |unreachable: i16| -> Vec<(i16, i32)> {
        internal
            .iter()
            .map(|&(_, l)| if l == 3 { (unreachable, -1) } else { (0, l) })
            .collect()
    };
    assert_eq!(
        leaders(external, 12),
        expect(72),
        "LISTENER_NOT_FOUND from v6"
    );
    assert_eq!(
        leaders(external, 5),
        expect(5),
        "LEADER_NOT_AVAILABLE before v6"
    );
    let brokers: BTreeSet<i32> = RawClient::connect(external)
        .call(&MetadataRequest::default().with_topics(None), 12)
        .expect("metadata")
        .brokers
        .iter()
        .map(|b| b.node_id.0)
        .collect();
    assert_eq!(brokers, BTreeSet::from([1, 2]));
}

/// (fetch sessions, partitions they hold) on the broker whose metrics
/// endpoint is on `metrics_port`.
fn fetch_sessions(metrics_port: u16) -> (f64, f64) {
    let samples = harness::scrape::scrape(metrics_port);
    let gauge = |name| harness::scrape::sample(&samples, name, &[]).unwrap_or(-1.0);
    (
        gauge("kafka_server_fetchsessioncache_numincrementalfetchsessions"),
        gauge("kafka_server_fetchsessioncache_numincrementalfetchpartitionscached"),
    )
}

/// How many partitions of `topic` each broker leads, as the broker on
/// `port` reports it (-1 for a partition without a leader).
fn led(port: u16, topic: &str) -> BTreeMap<i32, usize> {
    let mut counts = BTreeMap::new();
    for leader in metadata(port).2.remove(topic).unwrap_or_default() {
        *counts.entry(leader).or_default() += 1;
    }
    counts
}

/// Whether `broker` is in the ISR of every partition of `topic`, as the
/// broker on `port` reports it.
fn in_every_isr(port: u16, topic: &str, broker: i32) -> bool {
    let response = RawClient::connect(port)
        .call(&MetadataRequest::default().with_topics(None), 12)
        .expect("Metadata answered");
    response
        .topics
        .iter()
        .filter(|t| t.name.as_ref().is_some_and(|n| n.0.as_str() == topic))
        .flat_map(|t| &t.partitions)
        .all(|p| p.isr_nodes.iter().any(|b| b.0 == broker))
}

/// Bytes the broker on `port` holds of each partition of `topic`.
fn sizes_on(port: u16, topic: &str) -> BTreeMap<i32, i64> {
    let response = RawClient::connect(port)
        .call(&DescribeLogDirsRequest::default().with_topics(None), 1)
        .expect("DescribeLogDirs answered");
    response
        .results
        .iter()
        .flat_map(|d| &d.topics)
        .filter(|t| t.name.0.as_str() == topic)
        .flat_map(|t| &t.partitions)
        .map(|p| (p.partition_index, p.partition_size))
        .collect()
}

/// Values `p-i` for `i` in `values` to each partition `p` of `partitions`,
/// acks=all.
async fn produce_each(
    bootstrap: &str,
    topic: &str,
    partitions: i32,
    values: std::ops::Range<usize>,
) {
    let producer = harness::producer(bootstrap, &[("acks", "all")]);
    for i in values {
        for p in 0..partitions {
            let value = format!("{p}-{i}");
            producer
                .send(
                    FutureRecord::<(), _>::to(topic)
                        .partition(p)
                        .payload(&value),
                    Duration::from_secs(15),
                )
                .await
                .unwrap_or_else(|(e, _)| panic!("record {value} not acknowledged: {e}"));
        }
    }
}

/// Every broker holds the same bytes of every partition of `topic`, and
/// each partition reads back `p-0` .. `p-{count-1}` once, in order.
fn replicated_alike(
    brokers: &[harness::BrokerProcess],
    topic: &str,
    partitions: i32,
    count: usize,
) {
    let ports: Vec<u16> = brokers.iter().map(|b| b.port).collect();
    assert!(
        wait_until(Duration::from_secs(20), || {
            let sizes: BTreeSet<BTreeMap<i32, i64>> =
                ports.iter().map(|p| sizes_on(*p, topic)).collect();
            sizes.len() == 1 && sizes.iter().all(|s| s.len() == partitions as usize)
        }),
        "every replica holds the same log: {:?}",
        ports
            .iter()
            .map(|p| sizes_on(*p, topic))
            .collect::<Vec<_>>()
    );
    let bootstrap = bootstrap_all(brokers);
    for p in 0..partitions {
        let values: Vec<String> =
            harness::consume(&bootstrap, topic, p, 0, count, Duration::from_secs(20))
                .iter()
                .map(|r| {
                    String::from_utf8_lossy(r.value.as_deref().unwrap_or_default()).into_owned()
                })
                .collect();
        assert_eq!(
            values,
            (0..count).map(|i| format!("{p}-{i}")).collect::<Vec<_>>()
        );
    }
}

/// num.replica.fetchers=2: a follower fetches the partitions it follows at
/// one leader in two sessions, each of the partitions Kafka's hash gives
/// it (partitions 0 and 1 never share one), and acks=all producing to
/// both is acknowledged and replicated.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn followers_with_two_replica_fetchers_fetch_in_two_sessions_per_leader() {
    let metrics: Vec<u16> = (0..3).map(|_| harness::free_port()).collect();
    let listeners: Vec<String> = metrics
        .iter()
        .map(|p| format!("metrics.listener=http://127.0.0.1:{p}"))
        .collect();
    let per_node: Vec<[&str; 1]> = listeners.iter().map(|l| [l.as_str()]).collect();
    let per_node: Vec<&[&str]> = per_node.iter().map(|l| &l[..]).collect();
    let mut overrides = CLUSTER.to_vec();
    overrides.push("num.replica.fetchers=2");
    overrides.push("auto.leader.rebalance.enable=false");
    let brokers = harness::start_cluster_per_node(3, &overrides, &per_node);
    let topic = "two-fetchers";
    // Both partitions led by broker 1, followed by 2 and 3.
    let placed = NewTopic::new(
        topic,
        2,
        TopicReplication::Variable(&[&[1, 2, 3], &[1, 3, 2]]),
    )
    .set("min.insync.replicas", "3");
    for r in harness::admin(&brokers[0].bootstrap())
        .create_topics([&placed], &AdminOptions::new())
        .await
        .expect("CreateTopics answered")
    {
        r.unwrap_or_else(|(t, e)| panic!("creating {t}: {e}"));
    }
    assert!(
        wait_until(Duration::from_secs(10), || led(brokers[0].port, topic)
            == BTreeMap::from([(1, 2)])),
        "{:?}",
        led(brokers[0].port, topic)
    );
    // On broker 1: two sessions from each follower, of one partition each.
    assert!(
        wait_until(Duration::from_secs(20), || fetch_sessions(metrics[0])
            == (4.0, 4.0)),
        "{:?}",
        fetch_sessions(metrics[0])
    );
    produce_each(&bootstrap_all(&brokers), topic, 2, 0..50).await;
    replicated_alike(&brokers, topic, 2, 50);
    assert_eq!(fetch_sessions(metrics[0]), (4.0, 4.0));
}

/// Followers fetch in sessions (KIP-227): each leader holds one per
/// follower, with the partitions it leads there. Partitions join and leave
/// those sessions as leadership moves (a leader stopped, back, elected
/// again); a follower whose leader restarted opens a new session; every
/// replica ends with the same log.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn followers_fetch_in_sessions_that_follow_leadership_as_it_moves() {
    let metrics: Vec<u16> = (0..3).map(|_| harness::free_port()).collect();
    let listeners: Vec<String> = metrics
        .iter()
        .map(|p| format!("metrics.listener=http://127.0.0.1:{p}"))
        .collect();
    let per_node: Vec<[&str; 1]> = listeners.iter().map(|l| [l.as_str()]).collect();
    let per_node: Vec<&[&str]> = per_node.iter().map(|l| &l[..]).collect();
    let mut overrides = CLUSTER.to_vec();
    overrides.push("auto.leader.rebalance.enable=false");
    let mut brokers = harness::start_cluster_per_node(3, &overrides, &per_node);
    let topic = "sessions";
    create_replicated(
        &brokers[0].bootstrap(),
        topic,
        6,
        &[("min.insync.replicas", "2")],
    )
    .await;
    let two_each = BTreeMap::from([(1, 2), (2, 2), (3, 2)]);
    assert!(
        wait_until(Duration::from_secs(10), || led(brokers[0].port, topic)
            == two_each),
        "each broker leads 2 of the 6 partitions: {:?}",
        led(brokers[0].port, topic)
    );
    // (sessions, partitions) on the nodes at `nodes` (0-based).
    let sessions = |nodes: std::ops::Range<usize>| {
        metrics[nodes]
            .iter()
            .map(|p| fetch_sessions(*p))
            .collect::<Vec<_>>()
    };
    // Each leader: one session per follower, of the 2 partitions it leads.
    assert!(
        wait_until(Duration::from_secs(20), || sessions(0..3)
            == vec![(2.0, 4.0); 3]),
        "{:?}",
        sessions(0..3)
    );
    produce_each(&bootstrap_all(&brokers), topic, 6, 0..50).await;

    // Broker 1 stops; 2 and 3 lead its partitions and follow them in the
    // sessions they hold with each other (3 partitions each now), beside
    // the session broker 1 held, left until the cache needs room, as Kafka.
    brokers[0].stop();
    let port = brokers[1].port;
    assert!(
        wait_until(Duration::from_secs(20), || led(port, topic)
            == BTreeMap::from([(2, 3), (3, 3)])),
        "{:?}",
        led(port, topic)
    );
    assert!(
        wait_until(Duration::from_secs(20), || sessions(1..3)
            == [(2.0, 5.0); 2]),
        "{:?}",
        sessions(1..3)
    );
    produce_each(&bootstrap_all(&brokers[1..]), topic, 6, 50..100).await;

    // Back and caught up, broker 1 leads its partitions again: they leave
    // the survivors' sessions with each other and join the new sessions
    // with broker 1.
    brokers[0].restart();
    assert!(
        wait_until(Duration::from_secs(30), || in_every_isr(port, topic, 1)),
        "broker 1 rejoins every ISR"
    );
    let preferred: Vec<(&str, i32)> = (0..6).map(|p| (topic, p)).collect();
    elect(port, 0, Some(&preferred));
    assert!(
        wait_until(Duration::from_secs(20), || led(port, topic) == two_each),
        "{:?}",
        led(port, topic)
    );
    // On 2 and 3: broker 1's old session, its new one and the other
    // survivor's, 2 partitions each.
    assert!(
        wait_until(Duration::from_secs(20), || sessions(0..3)
            == vec![(2.0, 4.0), (3.0, 6.0), (3.0, 6.0)]),
        "{:?}",
        sessions(0..3)
    );
    produce_each(&bootstrap_all(&brokers), topic, 6, 100..150).await;
    replicated_alike(&brokers, topic, 6, 150);
}

/// A leader that evicts a follower's fetch session (a larger one needs its
/// only slot) answers the next incremental fetch FETCH_SESSION_ID_NOT_FOUND;
/// the follower fetches in full from then on and keeps up.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_follower_whose_fetch_session_is_evicted_fetches_in_full_and_keeps_up() {
    use kafka_protocol::messages::fetch_request::{FetchPartition, FetchTopic};
    use kafka_protocol::messages::{BrokerId, FetchRequest, TopicName};
    let metrics: Vec<u16> = (0..3).map(|_| harness::free_port()).collect();
    let listeners: Vec<String> = metrics
        .iter()
        .map(|p| format!("metrics.listener=http://127.0.0.1:{p}"))
        .collect();
    let per_node: Vec<[&str; 1]> = listeners.iter().map(|l| [l.as_str()]).collect();
    let per_node: Vec<&[&str]> = per_node.iter().map(|l| &l[..]).collect();
    let mut overrides = CLUSTER.to_vec();
    overrides.push("max.incremental.fetch.session.cache.slots=1");
    let brokers = harness::start_cluster_per_node(3, &overrides, &per_node);
    let topic = "evicted";
    create_replicated(
        &brokers[0].bootstrap(),
        topic,
        1,
        &[("min.insync.replicas", "2")],
    )
    .await;
    let (leader, _) = leadership(brokers[0].port, topic);
    let leader_metrics = metrics[(leader - 1) as usize];
    // One follower holds the only slot; the other fetches in full.
    assert!(
        wait_until(Duration::from_secs(20), || fetch_sessions(leader_metrics)
            == (1.0, 1.0)),
        "{:?}",
        fetch_sessions(leader_metrics)
    );
    produce_each(&bootstrap_all(&brokers), topic, 1, 0..50).await;

    // A consumer's session of 2 partitions takes the slot.
    let request = FetchRequest::default()
        .with_replica_id(BrokerId(-1))
        .with_max_wait_ms(0)
        .with_session_id(0)
        .with_session_epoch(0)
        .with_topics(vec![FetchTopic::default()
            .with_topic(TopicName(topic.to_string().into()))
            .with_partitions(
                (0..2)
                    .map(|p| {
                        FetchPartition::default()
                            .with_partition(p)
                            .with_partition_max_bytes(1024)
                    })
                    .collect(),
            )]);
    let response = RawClient::connect(brokers[(leader - 1) as usize].port)
        .call(&request, 12)
        .expect("Fetch answered");
    assert_eq!(response.error_code, 0);
    assert!(response.session_id > 0, "the larger session took the slot");
    assert_eq!(fetch_sessions(leader_metrics), (1.0, 2.0));

    produce_each(&bootstrap_all(&brokers), topic, 1, 50..100).await;
    replicated_alike(&brokers, topic, 1, 100);
    assert_eq!(
        fetch_sessions(leader_metrics),
        (1.0, 2.0),
        "the followers fetch without a session: neither can evict the larger one"
    );
}

/// KIP-903: a follower killed and started again on an empty log dir registers
/// at a new broker epoch, leaves the ISR at that registration (it was never
/// fenced, so it stopped uncleanly), fetches the whole log again by topic
/// id at Fetch v15, and is back in the ISR with the leader's log.
#[tokio::test(flavor = "multi_thread")]
async fn a_follower_restarted_on_a_wiped_disk_rejoins_the_isr_with_the_leaders_log() {
    let mut overrides = CLUSTER.to_vec();
    overrides.extend([
        "replica.lag.time.max.ms=2000",
        "broker.heartbeat.interval.ms=300",
    ]);
    let brokers = start_cluster(3, &overrides);
    let port = brokers[0].port;
    // A broker-only node, its metadata log kept apart from its log dir: the
    // disk lost is the one holding its partitions.
    let metadata_dir = tempfile::tempdir().expect("tempdir");
    let mut fourth: Vec<String> = brokers[0]
        .overrides()
        .iter()
        .filter(|o| !o.starts_with("node.id=") && !o.starts_with("listeners="))
        .cloned()
        .collect();
    fourth.extend([
        "node.id=4".to_string(),
        "process.roles=broker".to_string(),
        format!(
            "listeners=PLAINTEXT://127.0.0.1:0,CONTROLLER://127.0.0.1:{}",
            harness::free_port()
        ),
        format!("metadata.log.dir={}", metadata_dir.path().display()),
    ]);
    let fourth: Vec<&str> = fourth.iter().map(String::as_str).collect();
    let mut follower = harness::BrokerProcess::start(&fourth);
    assert!(
        wait_until(Duration::from_secs(30), || metadata(port).1.contains(&4)),
        "the broker-only node registers"
    );
    let topic = NewTopic::new("reborn", 1, TopicReplication::Variable(&[&[1, 2, 4]]));
    for r in harness::admin(&brokers[0].bootstrap())
        .create_topics([&topic], &AdminOptions::new())
        .await
        .expect("CreateTopics answered")
    {
        r.unwrap_or_else(|(t, e)| panic!("creating {t}: {e}"));
    }
    produce_all(&brokers[0].bootstrap(), "reborn", 0..300).await;
    let all_in = |port| leadership(port, "reborn").1 == BTreeSet::from([1, 2, 4]);
    assert!(
        wait_until(Duration::from_secs(30), || all_in(port)),
        "every replica in the ISR"
    );
    let leader_size = size_on(port, "reborn");
    assert!(leader_size > 0);

    follower.kill9();
    std::fs::remove_dir_all(&follower.dir).expect("wipe the data dir");
    std::fs::create_dir_all(&follower.dir).expect("recreate the data dir");
    follower.restart();
    assert!(
        wait_until(Duration::from_secs(30), || all_in(port)
            && all_in(follower.port)
            && size_on(follower.port, "reborn") == leader_size),
        "the wiped follower is back in the ISR with the leader's log: ISR {:?}, {} of {leader_size} bytes",
        leadership(port, "reborn").1,
        size_on(follower.port, "reborn")
    );
}

/// A broker-only node (a learner of the metadata log) restarted on a wiped
/// disk, metadata log included, gets the log again from the quorum's
/// leader (openraft's leader panicked on the reverted log before
/// loosen-follower-log-revert), registers at a new broker epoch and is
/// back in the ISR with the leader's log, while every voter keeps applying
/// changes. A voter started on a wiped disk is refused in one line: it
/// could vote without the log (KIP-853 refuses it too). It comes back the
/// way the refusal says: removed from the voters, started as a broker-only
/// node to receive the log, added back.
#[tokio::test(flavor = "multi_thread")]
async fn a_wiped_broker_only_node_gets_the_metadata_log_again_and_a_wiped_voter_is_refused() {
    let mut overrides = CLUSTER.to_vec();
    overrides.extend([
        "replica.lag.time.max.ms=2000",
        "broker.heartbeat.interval.ms=300",
    ]);
    let mut brokers = start_cluster(3, &overrides);
    let port = brokers[0].port;
    let mut observer = harness::add_broker(&brokers, 4);
    assert!(
        wait_until(Duration::from_secs(30), || metadata(port).1.contains(&4)),
        "the broker-only node registers"
    );
    let topic = NewTopic::new("relearned", 1, TopicReplication::Variable(&[&[1, 2, 4]]));
    for r in harness::admin(&brokers[0].bootstrap())
        .create_topics([&topic], &AdminOptions::new())
        .await
        .expect("CreateTopics answered")
    {
        r.unwrap_or_else(|(t, e)| panic!("creating {t}: {e}"));
    }
    produce_all(&brokers[0].bootstrap(), "relearned", 0..300).await;
    let all_in = |port| leadership(port, "relearned").1 == BTreeSet::from([1, 2, 4]);
    assert!(
        wait_until(Duration::from_secs(30), || all_in(port)),
        "every replica in the ISR"
    );
    let leader_size = size_on(port, "relearned");

    observer.kill9();
    std::fs::remove_dir_all(&observer.dir).expect("wipe the data dir");
    std::fs::create_dir_all(&observer.dir).expect("recreate the data dir");
    observer.restart();
    assert!(
        wait_until(Duration::from_secs(30), || all_in(port)
            && all_in(observer.port)
            && size_on(observer.port, "relearned") == leader_size),
        "the wiped broker-only node is back in the ISR with the leader's log: ISR {:?}, {} of {leader_size} bytes",
        leadership(port, "relearned").1,
        size_on(observer.port, "relearned")
    );
    create_topic(&brokers[0].bootstrap(), "afterwards", 1, &[]).await;
    for b in brokers.iter_mut().chain([&mut observer]) {
        let port = b.port;
        assert!(
            b.is_running()
                && wait_until(Duration::from_secs(15), || metadata(port)
                    .2
                    .contains_key("afterwards")),
            "broker on {port} still applies the metadata log"
        );
    }

    brokers[2].kill9();
    let refusal = harness::refused_start(brokers[2].overrides());
    assert!(
        refusal.contains("node 3 is a voter") && refusal.contains("lost its log"),
        "{refusal}"
    );
    assert!(brokers[0].is_running() && brokers[1].is_running());

    // The way back the refusal names: out of the voters, in again as an
    // observer that receives the log, then a voter once more.
    let bootstrap = brokers[0].bootstrap();
    let tool = |args: &[&str]| {
        harness::run_tool(env!("CARGO_BIN_EXE_metadata-quorum"), &bootstrap, args, b"")
    };
    tool(&["remove-controller", "--controller-id", "3"]).ok();
    let mut as_observer: Vec<String> = brokers[2]
        .overrides()
        .iter()
        .map(|o| match o.strip_prefix("controller.quorum.voters=") {
            Some(voters) => {
                let others: Vec<&str> =
                    voters.split(',').filter(|v| !v.starts_with("3@")).collect();
                format!("controller.quorum.voters={}", others.join(","))
            }
            None => o.clone(),
        })
        .collect();
    as_observer.push("process.roles=broker".into());
    let as_observer: Vec<&str> = as_observer.iter().map(String::as_str).collect();
    let mut third = harness::BrokerProcess::start(&as_observer);
    assert!(
        wait_until(Duration::from_secs(30), || metadata(third.port)
            .2
            .contains_key("afterwards")),
        "node 3 receives the log again as an observer"
    );
    tool(&["add-controller", "--controller-id", "3"]).ok();
    let status = tool(&["describe", "--status", "--output", "json"]);
    let status: serde_json::Value = serde_json::from_str(status.ok()).expect("JSON output");
    let voters: BTreeSet<i64> = status["current_voters"]
        .as_array()
        .expect("voters")
        .iter()
        .filter_map(|v| v["id"].as_i64().or(v.as_i64()))
        .collect();
    assert_eq!(voters, BTreeSet::from([1, 2, 3]));
    assert!(third.is_running());
}
