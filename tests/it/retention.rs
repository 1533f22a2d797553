//! Retention and DeleteRecords remove whole old segments and move the log
//! start offset; ListOffsets by timestamp finds the right offset.

use crate::harness;

use std::collections::HashMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use harness::{admin, client_config, consume, create_topic, producer, wait_until, BrokerProcess};
use rdkafka::admin::AdminOptions;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::producer::FutureRecord;
use rdkafka::{Offset, TopicPartitionList};

fn low_watermark(bootstrap: &str, topic: &str) -> i64 {
    let c: BaseConsumer = client_config(bootstrap).create().unwrap();
    c.fetch_watermarks(topic, 0, Duration::from_secs(5))
        .expect("watermarks")
        .0
}

async fn produce_each(bootstrap: &str, topic: &str, n: usize, timestamp: Option<i64>) {
    let p = producer(bootstrap, &[("linger.ms", "0")]);
    for i in 0..n {
        let value = format!("{i:0100}");
        let mut r = FutureRecord::<(), _>::to(topic)
            .partition(0)
            .payload(&value);
        if let Some(ts) = timestamp {
            r = r.timestamp(ts);
        }
        p.send(r, Duration::from_secs(10)).await.expect("delivered");
    }
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retention_bytes_deletes_whole_old_segments() {
    let broker = BrokerProcess::start(&["log.retention.check.interval.ms=200"]);
    let bs = broker.bootstrap();
    create_topic(
        &bs,
        "by-bytes",
        1,
        &[("segment.bytes", "2048"), ("retention.bytes", "4096")],
    )
    .await;
    produce_each(&bs, "by-bytes", 200, None).await;
    assert!(
        wait_until(Duration::from_secs(20), || low_watermark(&bs, "by-bytes")
            > 0),
        "retention.bytes must move the log start offset"
    );
    let dir = broker.dir.join("by-bytes-0");
    assert!(
        wait_until(Duration::from_secs(10), || harness::segment_files(&dir)
            .len()
            <= 4),
        "old segments deleted, {} left",
        harness::segment_files(&dir).len()
    );
    let start = low_watermark(&bs, "by-bytes");
    let rest = consume(&bs, "by-bytes", 0, start, 200, Duration::from_secs(10));
    assert_eq!(
        rest.len() as i64,
        200 - start,
        "everything from the log start offset is still readable"
    );
    assert_eq!(rest.last().unwrap().offset, 199);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retention_ms_deletes_segments_whose_records_are_old() {
    let broker = BrokerProcess::start(&["log.retention.check.interval.ms=200"]);
    let bs = broker.bootstrap();
    let old_config = [("segment.bytes", "2048"), ("retention.ms", "60000")];
    create_topic(&bs, "by-time", 1, &old_config).await;
    create_topic(&bs, "witness", 1, &old_config).await;
    produce_each(&bs, "by-time", 60, Some(now_ms() - 3_600_000)).await;
    // Every record is an hour old, so the active segment is rolled and goes
    // too; waiting for that keeps the outcome independent of whether a
    // retention pass falls between the old and the recent records.
    assert!(
        wait_until(Duration::from_secs(20), || low_watermark(&bs, "by-time")
            == 60),
        "hour-old segments must go, low watermark is {}",
        low_watermark(&bs, "by-time")
    );
    produce_each(&bs, "by-time", 20, None).await;
    // A retention pass has run after the recent records once the witness
    // topic's old records are gone.
    produce_each(&bs, "witness", 10, Some(now_ms() - 3_600_000)).await;
    assert!(
        wait_until(Duration::from_secs(20), || low_watermark(&bs, "witness")
            == 10),
        "the witness topic's old records must go"
    );
    assert_eq!(low_watermark(&bs, "by-time"), 60, "recent records are kept");
    let rest = consume(&bs, "by-time", 0, 60, 20, Duration::from_secs(10));
    assert_eq!(rest.len(), 20);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delete_records_moves_the_log_start_offset() {
    let broker = BrokerProcess::start(&[]);
    let bs = broker.bootstrap();
    create_topic(&bs, "trim", 1, &[("segment.bytes", "2048")]).await;
    produce_each(&bs, "trim", 100, None).await;
    let mut tpl = TopicPartitionList::new();
    tpl.add_partition_offset("trim", 0, Offset::Offset(60))
        .unwrap();
    let result = admin(&bs)
        .delete_records(&tpl, &AdminOptions::new())
        .await
        .expect("delete_records");
    let elem = result.find_partition("trim", 0).expect("result for trim-0");
    elem.error().expect("no error");
    assert_eq!(low_watermark(&bs, "trim"), 60);
    let rest = consume(&bs, "trim", 0, 60, 40, Duration::from_secs(10));
    assert_eq!(rest.first().map(|r| r.offset), Some(60));
    assert_eq!(rest.len(), 40);
    assert!(
        harness::segment_files(&broker.dir.join("trim-0")).len() < 7,
        "segments wholly below the new start are deleted"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_offsets_by_timestamp_finds_the_first_record_at_or_after_it() {
    let broker = BrokerProcess::start(&[]);
    let bs = broker.bootstrap();
    create_topic(&bs, "times", 1, &[]).await;
    let p = producer(&bs, &[("linger.ms", "0")]);
    for i in 0..10i64 {
        let v = format!("{i}");
        p.send(
            FutureRecord::<(), _>::to("times")
                .partition(0)
                .payload(&v)
                .timestamp(1_000_000 + i * 1000),
            Duration::from_secs(10),
        )
        .await
        .expect("delivered");
    }
    let c: BaseConsumer = client_config(&bs).create().unwrap();
    let lookup = |ts: i64| {
        let mut tpl = TopicPartitionList::new();
        tpl.add_partition_offset("times", 0, Offset::Offset(ts))
            .unwrap();
        let found = c
            .offsets_for_times(tpl, Duration::from_secs(5))
            .expect("offsets_for_times");
        let elem = found.find_partition("times", 0).unwrap();
        elem.offset()
    };
    let mut want = HashMap::new();
    want.insert(1_000_000, Offset::Offset(0));
    want.insert(1_002_500, Offset::Offset(3));
    want.insert(1_009_000, Offset::Offset(9));
    want.insert(1_009_001, Offset::End);
    for (ts, expect) in want {
        assert_eq!(lookup(ts), expect, "timestamp {ts}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn segment_ms_rolls_segments_without_new_writes() {
    let broker = BrokerProcess::start(&[]);
    let bs = broker.bootstrap();
    create_topic(&bs, "rolling", 1, &[("segment.ms", "200")]).await;
    produce_each(&bs, "rolling", 3, None).await;
    let dir = broker.dir.join("rolling-0");
    assert!(
        wait_until(Duration::from_secs(10), || harness::segment_files(&dir)
            .len()
            >= 2),
        "segment.ms must roll the active segment on its own"
    );
    produce_each(&bs, "rolling", 1, None).await;
    let all = consume(&bs, "rolling", 0, 0, 4, Duration::from_secs(10));
    assert_eq!(
        all.iter().map(|r| r.offset).collect::<Vec<_>>(),
        vec![0, 1, 2, 3]
    );
}

/// Legacy AlterConfigs (rdkafka's, the whole set) of one resource.
async fn alter(
    bs: &str,
    resource: rdkafka::admin::ResourceSpecifier<'_>,
    configs: &[(&str, &str)],
) {
    let mut alter = rdkafka::admin::AlterConfig::new(resource);
    for (k, v) in configs {
        alter = alter.set(k, v);
    }
    let results = admin(bs)
        .alter_configs(&[alter], &AdminOptions::new())
        .await
        .unwrap();
    assert!(results[0].is_ok(), "{results:?}");
}

/// A metadata change reaches only the partitions it changed, and a change
/// of the broker's dynamic configs reaches them all: a retention set on a
/// topic, then as the broker's default, applies to logs already open.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retention_set_later_applies_to_open_logs() {
    use rdkafka::admin::ResourceSpecifier;
    let broker = BrokerProcess::start(&["log.retention.check.interval.ms=200"]);
    let bs = broker.bootstrap();
    for topic in ["overridden", "defaulted"] {
        create_topic(&bs, topic, 1, &[("segment.bytes", "2048")]).await;
        produce_each(&bs, topic, 200, None).await;
    }
    let small = [("segment.bytes", "2048"), ("retention.bytes", "4096")];
    alter(&bs, ResourceSpecifier::Topic("overridden"), &small).await;
    assert!(
        wait_until(Duration::from_secs(20), || low_watermark(&bs, "overridden")
            > 0),
        "the topic's new retention.bytes must reach its open log"
    );
    assert_eq!(
        low_watermark(&bs, "defaulted"),
        0,
        "the other topic keeps everything"
    );
    alter(
        &bs,
        ResourceSpecifier::Broker(1),
        &[("log.retention.bytes", "4096")],
    )
    .await;
    assert!(
        wait_until(Duration::from_secs(20), || low_watermark(&bs, "defaulted")
            > 0),
        "the broker's new log.retention.bytes must reach every open log"
    );
}
