//! Log compaction against a broker the test starts: a topic with
//! cleanup.policy=compact keeps each key's latest record at its offset, and
//! `__consumer_offsets` stops growing with every commit while the latest
//! commit still survives a restart; a compacted topic refuses keyless records.

use crate::harness;

use std::collections::BTreeMap;
use std::time::Duration;

use harness::{client_config, consume, create_topic, producer, wait_until, BrokerProcess};
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::producer::FutureRecord;
use rdkafka::{Offset, TopicPartitionList};

/// The cleaner looks for work every log.cleaner.backoff.ms, apart from
/// retention (left at its 5 minutes: librdkafka's 0077 found compaction
/// waiting for it); small segments give it something to do.
const CLEANING_BROKER: &[&str] = &[
    "log.cleaner.backoff.ms=300",
    "offsets.topic.segment.bytes=4096",
    "group.initial.rebalance.delay.ms=0",
];

fn text(value: &Option<Vec<u8>>) -> String {
    String::from_utf8_lossy(value.as_deref().unwrap_or_default()).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_compacted_topic_keeps_each_keys_latest_record() {
    let broker = BrokerProcess::start(CLEANING_BROKER);
    let bs = broker.bootstrap();
    create_topic(
        &bs,
        "latest",
        1,
        &[("cleanup.policy", "compact"), ("segment.bytes", "2048")],
    )
    .await;
    let p = producer(&bs, &[("linger.ms", "0")]);
    for i in 0..300 {
        let key = format!("key-{}", i % 10);
        let value = format!("{i}");
        p.send(
            FutureRecord::to("latest").key(&key).payload(&value),
            Duration::from_secs(10),
        )
        .await
        .expect("delivered");
    }
    let read = || consume(&bs, "latest", 0, 0, 300, Duration::from_secs(3));
    assert!(
        wait_until(Duration::from_secs(30), || read().len() < 100),
        "older values of the keys are compacted away"
    );
    let records = read();
    let mut latest: BTreeMap<String, i64> = BTreeMap::new();
    let mut last_offset = -1;
    for r in &records {
        assert!(r.offset > last_offset, "offsets only grow");
        last_offset = r.offset;
        let key = text(&r.key);
        let value: i64 = text(&r.value).parse().unwrap();
        assert!(
            latest.get(&key).is_none_or(|v| *v < value),
            "{key}: {value} after a newer value"
        );
        latest.insert(key, value);
    }
    let expected: BTreeMap<String, i64> =
        (290..300).map(|i| (format!("key-{}", i % 10), i)).collect();
    assert_eq!(latest, expected, "every key's latest value is there");
    assert_eq!(
        records.last().map(|r| r.offset),
        Some(299),
        "the log end is unchanged"
    );
    let keyless = p
        .send(
            FutureRecord::<(), _>::to("latest").payload("no key"),
            Duration::from_secs(10),
        )
        .await;
    match keyless {
        Err((KafkaError::MessageProduction(code), _)) => {
            assert_eq!(code, RDKafkaErrorCode::InvalidRecord)
        }
        other => panic!("a keyless record on a compacted topic is refused: {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn consumer_offsets_are_compacted_and_the_latest_commit_survives() {
    let mut broker = BrokerProcess::start(CLEANING_BROKER);
    let bs = broker.bootstrap();
    create_topic(&bs, "tracked", 1, &[]).await;
    let committer: BaseConsumer = client_config(&bs)
        .set("group.id", "busy")
        .create()
        .expect("consumer");
    for i in 1..=400 {
        let mut tpl = TopicPartitionList::new();
        tpl.add_partition_offset("tracked", 0, Offset::Offset(i))
            .unwrap();
        committer.commit(&tpl, CommitMode::Sync).expect("commit");
    }
    drop(committer);
    let partition = gregor::group::partition_for("busy", 50);
    let offsets_records = || {
        consume(
            &bs,
            "__consumer_offsets",
            partition,
            0,
            400,
            Duration::from_secs(3),
        )
        .len()
    };
    assert!(
        wait_until(Duration::from_secs(30), || offsets_records() < 100),
        "old commits are compacted away"
    );

    broker.stop();
    broker.restart();
    let reader: BaseConsumer = client_config(&broker.bootstrap())
        .set("group.id", "busy")
        .create()
        .expect("consumer");
    let mut tpl = TopicPartitionList::new();
    tpl.add_partition("tracked", 0);
    let committed = reader
        .committed_offsets(tpl, Duration::from_secs(10))
        .expect("committed offsets");
    assert_eq!(committed.elements()[0].offset(), Offset::Offset(400));
}
