//! Topic ids on disk: every partition directory records its topic's id in
//! `partition.metadata`, so a broker that was down while a topic was
//! deleted and re-created under the same name drops its replica of the old
//! topic instead of serving its records as the new topic's.

use crate::harness;

use std::collections::BTreeSet;
use std::time::Duration;

use harness::{client_config, produce_values, start_cluster, wait_until, RawClient};
use kafka_protocol::messages::{MetadataRequest, TopicName};
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::producer::FutureRecord;
use uuid::Uuid;

const CLUSTER: &[&str] = &[
    "offsets.topic.num.partitions=1",
    "transaction.state.log.num.partitions=1",
    "offsets.topic.replication.factor=1",
];

/// Leader, ISR and topic id of partition 0 of `topic` as the broker on
/// `port` reports them; None while it does not know the topic.
fn partition_0(port: u16, topic: &str) -> Option<(i32, BTreeSet<i32>, Uuid)> {
    let response = RawClient::connect(port)
        .call(&MetadataRequest::default().with_topics(None), 12)
        .expect("Metadata answered");
    let t = response
        .topics
        .iter()
        .find(|t| t.name.as_ref().is_some_and(|n| n.0.as_str() == topic))?;
    let p = t.partitions.iter().find(|p| p.partition_index == 0)?;
    Some((
        p.leader_id.0,
        p.isr_nodes.iter().map(|b| b.0).collect(),
        t.topic_id,
    ))
}

/// Creates `topic` through the broker on `port` with one partition on
/// `replicas` (the first preferred), retrying while a deletion of that
/// name is still under way; the error code of the last attempt.
fn create_on(port: u16, topic: &str, replicas: &[i32]) -> i16 {
    use kafka_protocol::messages::create_topics_request::{
        CreatableReplicaAssignment, CreatableTopic,
    };
    use kafka_protocol::messages::{BrokerId, CreateTopicsRequest};
    let request = CreateTopicsRequest::default()
        .with_timeout_ms(30_000)
        .with_topics(vec![CreatableTopic::default()
            .with_name(TopicName(topic.to_string().into()))
            .with_num_partitions(-1)
            .with_replication_factor(-1)
            .with_assignments(vec![CreatableReplicaAssignment::default()
                .with_partition_index(0)
                .with_broker_ids(
                    replicas.iter().map(|b| BrokerId(*b)).collect(),
                )])]);
    let mut code = -1;
    wait_until(Duration::from_secs(20), || {
        let response = RawClient::connect(port)
            .call(&request, 7)
            .expect("CreateTopics answered");
        code = response.topics[0].error_code;
        code == 0
    });
    code
}

fn delete(port: u16, topic: &str) -> i16 {
    use kafka_protocol::messages::delete_topics_request::DeleteTopicState;
    use kafka_protocol::messages::DeleteTopicsRequest;
    let request = DeleteTopicsRequest::default()
        .with_timeout_ms(30_000)
        .with_topics(vec![
            DeleteTopicState::default().with_name(Some(TopicName(topic.to_string().into())))
        ]);
    let response = RawClient::connect(port)
        .call(&request, 6)
        .expect("DeleteTopics answered");
    response.responses[0].error_code
}

fn elect_preferred(port: u16, topic: &str) -> i16 {
    use kafka_protocol::messages::elect_leaders_request::TopicPartitions;
    use kafka_protocol::messages::ElectLeadersRequest;
    let request = ElectLeadersRequest::default()
        .with_election_type(0)
        .with_topic_partitions(Some(vec![TopicPartitions::default()
            .with_topic(TopicName(topic.to_string().into()))
            .with_partitions(vec![0])]));
    let response = RawClient::connect(port)
        .call(&request, 2)
        .expect("ElectLeaders answered");
    response.replica_election_results[0].partition_result[0].error_code
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_topic_recreated_while_a_replica_was_down_does_not_serve_the_old_records() {
    let mut brokers = start_cluster(3, CLUSTER);
    let first = brokers[0].bootstrap();
    let port = brokers[0].port;
    assert_eq!(create_on(port, "reborn", &[3, 1, 2]), 0);
    // acks=all with all three in the ISR: broker 3 holds every old record.
    // One batch each, so that a follower's truncation to the new topic's
    // log end would keep old batches below it.
    let producer = harness::producer(&first, &[]);
    for i in 0..20 {
        producer
            .send(
                FutureRecord::<(), _>::to("reborn").payload(&format!("old-{i}")),
                Duration::from_secs(30),
            )
            .await
            .expect("delivered");
    }
    let (_, _, old_id) = partition_0(port, "reborn").expect("topic known");
    let dir = brokers[2].dir.join("reborn-0");
    let recorded = std::fs::read_to_string(dir.join("partition.metadata")).expect("written");
    assert!(recorded.starts_with("version: 0\ntopic_id: "), "{recorded}");

    brokers[2].stop();
    assert_eq!(delete(port, "reborn"), 0);
    assert!(
        wait_until(Duration::from_secs(20), || partition_0(port, "reborn")
            .is_none()),
        "the deletion reached broker 1"
    );
    // Broker 3 is still registered, only fenced: it gets a replica again.
    assert_eq!(create_on(port, "reborn", &[3, 1, 2]), 0);
    let (_, _, new_id) = partition_0(port, "reborn").expect("re-created");
    assert_ne!(new_id, old_id);
    produce_values(&first, "reborn", 100..103, 1).await;

    brokers[2].restart();
    assert!(
        wait_until(Duration::from_secs(30), || {
            partition_0(port, "reborn").is_some_and(|(_, isr, _)| isr.contains(&3))
        }),
        "broker 3 caught up with the new topic and joined its ISR"
    );
    assert!(
        wait_until(Duration::from_secs(30), || {
            elect_preferred(port, "reborn");
            partition_0(brokers[2].port, "reborn").is_some_and(|(leader, _, _)| leader == 3)
        }),
        "leadership moved back to broker 3"
    );
    let third = brokers[2].bootstrap();
    let c: BaseConsumer = client_config(&third).create().expect("consumer");
    assert_eq!(
        c.fetch_watermarks("reborn", 0, Duration::from_secs(10))
            .expect("ListOffsets"),
        (0, 3),
        "broker 3 as leader holds the new topic's three records, none of the old"
    );
    assert_eq!(
        harness::read_from_start(&third, "reborn", 3),
        ["100", "101", "102"]
    );
    let recorded = std::fs::read_to_string(dir.join("partition.metadata")).expect("written");
    let old_text = format!("topic_id: {}", kafka_text(old_id));
    assert!(
        recorded.contains(&format!("topic_id: {}", kafka_text(new_id))),
        "{recorded}"
    );
    assert!(!recorded.contains(&old_text));
}

/// Kafka's text for a Uuid: URL-safe base64 without padding.
fn kafka_text(id: Uuid) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(id.as_bytes())
}
