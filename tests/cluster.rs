//! Several `broker-start` processes forming one cluster through the
//! metadata quorum (every node a broker and a controller voter): they
//! share one metadata image, spread a topic's partitions over the brokers
//! and serve each partition from its leader, and keep making metadata
//! changes when the active controller is killed; the killed node catches
//! up when it comes back.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use common::{client_config, create_topic, start_cluster, wait_until, RawClient};
use kafka_protocol::messages::MetadataRequest;
use rdkafka::admin::{AdminOptions, NewTopic, TopicReplication};
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::RDKafkaErrorCode;
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
    let producer = common::producer(&brokers[1].bootstrap(), &[]);
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
    let consumer: BaseConsumer = client_config(&brokers[2].bootstrap())
        .set("group.id", "spread-readers")
        .set("auto.offset.reset", "earliest")
        .create()
        .expect("consumer");
    consumer.subscribe(&["spread"]).expect("subscribe");
    let seen = common::poll_until(&[&consumer], Duration::from_secs(30), |seen| {
        seen[0].len() >= 60
    });
    let values = common::values_read(&seen);
    assert_eq!(
        values,
        (0..60).collect::<Vec<_>>(),
        "every record read once"
    );
    let partitions: BTreeSet<i32> = seen[0].iter().map(|r| r.0).collect();
    assert_eq!(partitions.len(), 6, "from every partition");

    // Until partitions replicate, a second replica is refused rather than
    // left in the ISR without the data.
    let admin = common::admin(&brokers[0].bootstrap());
    let replicated = NewTopic::new("replicated", 1, TopicReplication::Fixed(3));
    let results = admin
        .create_topics([&replicated], &AdminOptions::new())
        .await
        .expect("CreateTopics answered");
    assert!(matches!(
        &results[0],
        Err((_, RDKafkaErrorCode::InvalidReplicationFactor))
    ));
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
