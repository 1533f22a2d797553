//! KIP-848 consumer groups (`group.protocol=consumer`) with librdkafka: the
//! broker assigns partitions, members split a topic without overlap, hand
//! partitions over when one leaves, and commit with their member epoch.

mod common;

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use common::{client_config, create_topic, producer, BrokerProcess, RawClient};
use kafka_protocol::messages::ListGroupsRequest;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer};
use rdkafka::producer::FutureRecord;
use rdkafka::Message;

const BROKER: &[&str] = &["group.consumer.heartbeat.interval.ms=300"];

fn member(bootstrap: &str, group: &str, topic: &str) -> BaseConsumer {
    let consumer: BaseConsumer = client_config(bootstrap)
        .set("group.id", group)
        .set("group.protocol", "consumer")
        .set("enable.auto.commit", "false")
        .set("auto.offset.reset", "earliest")
        .create()
        .expect("consumer");
    consumer.subscribe(&[topic]).expect("subscribe");
    consumer
}

fn assigned(c: &BaseConsumer) -> BTreeSet<i32> {
    c.assignment()
        .map(|a| a.elements().iter().map(|e| e.partition()).collect())
        .unwrap_or_default()
}

fn poll_until(
    consumers: &[&BaseConsumer],
    timeout: Duration,
    mut done: impl FnMut(&[Vec<String>]) -> bool,
) -> Vec<Vec<String>> {
    let deadline = Instant::now() + timeout;
    let mut seen = vec![Vec::new(); consumers.len()];
    while Instant::now() < deadline && !done(&seen) {
        for (i, c) in consumers.iter().enumerate() {
            if let Some(Ok(m)) = c.poll(Duration::from_millis(50)) {
                seen[i].push(String::from_utf8_lossy(m.payload().unwrap_or_default()).to_string());
            }
        }
    }
    seen
}

async fn produce_values(
    bootstrap: &str,
    topic: &str,
    range: std::ops::Range<usize>,
    partitions: i32,
) {
    let p = producer(bootstrap, &[]);
    for i in range {
        let value = format!("{i}");
        p.send(
            FutureRecord::<(), _>::to(topic)
                .partition(i as i32 % partitions)
                .payload(&value),
            Duration::from_secs(10),
        )
        .await
        .expect("delivered");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn consumer_protocol_members_split_and_hand_over_partitions() {
    let broker = BrokerProcess::start(BROKER);
    let bs = broker.bootstrap();
    create_topic(&bs, "kip848", 6, &[]).await;
    let a = member(&bs, "modern", "kip848");
    poll_until(&[&a], Duration::from_secs(30), |_| assigned(&a).len() == 6);
    assert_eq!(assigned(&a).len(), 6, "a lone member gets every partition");
    let b = member(&bs, "modern", "kip848");
    poll_until(&[&a, &b], Duration::from_secs(30), |_| {
        let (x, y) = (assigned(&a), assigned(&b));
        x.len() == 3 && y.len() == 3 && x.is_disjoint(&y)
    });
    let (pa, pb) = (assigned(&a), assigned(&b));
    assert!(
        pa.len() == 3 && pb.len() == 3 && pa.is_disjoint(&pb),
        "split without overlap: {pa:?} / {pb:?}"
    );

    produce_values(&bs, "kip848", 0..300, 6).await;
    let seen = poll_until(&[&a, &b], Duration::from_secs(30), |s| {
        s[0].len() + s[1].len() >= 300
    });
    let mut values: Vec<usize> = seen.iter().flatten().map(|v| v.parse().unwrap()).collect();
    values.sort();
    assert_eq!(
        values,
        (0..300).collect::<Vec<_>>(),
        "every record exactly once"
    );
    a.commit_consumer_state(CommitMode::Sync)
        .expect("a commits with its member epoch");
    b.commit_consumer_state(CommitMode::Sync)
        .expect("b commits with its member epoch");

    drop(b);
    poll_until(&[&a], Duration::from_secs(30), |_| assigned(&a).len() == 6);
    assert_eq!(assigned(&a).len(), 6, "b's partitions come back to a");
    produce_values(&bs, "kip848", 300..330, 6).await;
    let after = poll_until(&[&a], Duration::from_secs(30), |s| s[0].len() >= 30);
    let mut values: Vec<usize> = after[0].iter().map(|v| v.parse().unwrap()).collect();
    values.sort();
    assert_eq!(
        values,
        (300..330).collect::<Vec<_>>(),
        "resumed from the committed offsets"
    );

    let mut client = RawClient::connect(broker.port);
    let listed = client
        .call(&ListGroupsRequest::default(), 5)
        .expect("list groups");
    let g = listed
        .groups
        .iter()
        .find(|g| g.group_id.0.as_str() == "modern")
        .expect("listed");
    assert_eq!(
        (g.group_type.as_str(), g.group_state.as_str()),
        ("consumer", "Stable")
    );
}
