//! Rack-aware replica placement: brokers started with `broker.rack` report
//! their racks in Metadata and DescribeCluster, and the controller puts the
//! replicas of every partition it places, at CreateTopics and at
//! CreatePartitions, in both racks of a two-rack cluster.

use crate::harness;

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use harness::{start_cluster_per_node, wait_until, RawClient};
use kafka_protocol::messages::{DescribeClusterRequest, MetadataRequest, MetadataResponse};
use rdkafka::admin::{AdminOptions, NewPartitions, NewTopic, TopicReplication};

const CLUSTER: &[&str] = &[
    "offsets.topic.num.partitions=3",
    "transaction.state.log.num.partitions=3",
    "offsets.topic.replication.factor=1",
];

const RACKS: &[&[&str]] = &[
    &["broker.rack=a"],
    &["broker.rack=a"],
    &["broker.rack=b"],
    &["broker.rack=b"],
];

fn metadata(port: u16) -> MetadataResponse {
    RawClient::connect(port)
        .call(&MetadataRequest::default().with_topics(None), 12)
        .expect("Metadata answered")
}

/// Broker id -> rack, as the broker on `port` reports them.
fn racks(port: u16) -> BTreeMap<i32, Option<String>> {
    metadata(port)
        .brokers
        .iter()
        .map(|b| (b.node_id.0, b.rack.as_ref().map(|r| r.to_string())))
        .collect()
}

/// The replicas of each partition of `topic`, by partition index, as the
/// broker on `port` reports them.
fn replicas_of(port: u16, topic: &str) -> Vec<Vec<i32>> {
    let mut partitions: Vec<(i32, Vec<i32>)> = metadata(port)
        .topics
        .iter()
        .filter(|t| t.name.as_ref().is_some_and(|n| n.0.as_str() == topic))
        .flat_map(|t| &t.partitions)
        .map(|p| {
            (
                p.partition_index,
                p.replica_nodes.iter().map(|b| b.0).collect(),
            )
        })
        .collect();
    partitions.sort();
    partitions.into_iter().map(|(_, r)| r).collect()
}

/// Waits until the broker on `port` reports `count` partitions of `topic`
/// and checks each has its two replicas in racks a and b.
fn assert_both_racks(port: u16, topic: &str, count: usize, racks: &BTreeMap<i32, Option<String>>) {
    let mut replicas = Vec::new();
    assert!(
        wait_until(Duration::from_secs(10), || {
            replicas = replicas_of(port, topic);
            replicas.len() == count
        }),
        "{topic} has {count} partitions; got {replicas:?}"
    );
    for (p, r) in replicas.iter().enumerate() {
        let spanned: BTreeSet<&str> = r.iter().filter_map(|id| racks[id].as_deref()).collect();
        assert_eq!(
            (r.len(), spanned),
            (2, BTreeSet::from(["a", "b"])),
            "partition {p} of {topic} has replicas {r:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replicas_of_every_partition_span_both_racks() {
    let brokers = start_cluster_per_node(4, CLUSTER, RACKS);
    let expected: BTreeMap<i32, Option<String>> = [(1, "a"), (2, "a"), (3, "b"), (4, "b")]
        .into_iter()
        .map(|(id, rack)| (id, Some(rack.to_string())))
        .collect();
    // Placement only considers registered brokers: wait for all four.
    let mut reported = BTreeMap::new();
    assert!(
        wait_until(Duration::from_secs(10), || {
            reported = racks(brokers[0].port);
            reported == expected
        }),
        "Metadata reports every broker's rack; got {reported:?}"
    );
    let cluster = RawClient::connect(brokers[3].port)
        .call(&DescribeClusterRequest::default(), 0)
        .expect("DescribeCluster answered");
    assert_eq!(cluster.error_code, 0);
    let described: BTreeMap<i32, Option<String>> = cluster
        .brokers
        .iter()
        .map(|b| (b.broker_id.0, b.rack.as_ref().map(|r| r.to_string())))
        .collect();
    assert_eq!(
        described, expected,
        "DescribeCluster reports every broker's rack"
    );

    let admin = harness::admin(&brokers[0].bootstrap());
    let topic = NewTopic::new("striped", 6, TopicReplication::Fixed(2));
    for r in admin
        .create_topics([&topic], &AdminOptions::new())
        .await
        .expect("CreateTopics answered")
    {
        r.unwrap_or_else(|(t, e)| panic!("creating {t}: {e}"));
    }
    assert_both_racks(brokers[1].port, "striped", 6, &expected);

    for r in admin
        .create_partitions([&NewPartitions::new("striped", 10)], &AdminOptions::new())
        .await
        .expect("CreatePartitions answered")
    {
        r.unwrap_or_else(|(t, e)| panic!("adding partitions to {t}: {e}"));
    }
    assert_both_racks(brokers[2].port, "striped", 10, &expected);
}
