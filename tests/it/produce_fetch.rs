//! Round trips through a real broker with librdkafka: keys, values, headers
//! and timestamps, for every compression codec; offsets dense and ordered.

use crate::harness;

use std::time::Duration;

use harness::{consume, create_topic, producer, BrokerProcess};
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::FutureRecord;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn round_trip_every_compression_codec() {
    let broker = BrokerProcess::start(&[]);
    let bootstrap = broker.bootstrap();
    for codec in ["none", "gzip", "snappy", "lz4", "zstd"] {
        let topic = format!("round-trip-{codec}");
        create_topic(&bootstrap, &topic, 1, &[]).await;
        let p = producer(
            &bootstrap,
            &[("compression.type", codec), ("linger.ms", "20")],
        );
        let n = 200;
        let mut sends = Vec::new();
        for i in 0..n {
            let key = format!("key-{i}");
            // Repetitive values so that compression really shrinks the batch.
            let value = format!("value-{i}-{}", "x".repeat(i % 50));
            let headers = OwnedHeaders::new()
                .insert(Header {
                    key: "h1",
                    value: Some(format!("hv-{i}").as_bytes()),
                })
                .insert(Header {
                    key: "null-header",
                    value: None::<&[u8]>,
                });
            let record = FutureRecord::to(&topic)
                .partition(0)
                .key(&key)
                .payload(&value)
                .timestamp(1_700_000_000_000 + i as i64)
                .headers(headers);
            sends.push(
                p.send_result(record)
                    .unwrap_or_else(|(e, _)| panic!("{codec}: enqueue {i}: {e}")),
            );
        }
        for (i, s) in sends.into_iter().enumerate() {
            let delivery = s
                .await
                .expect("delivery future completes")
                .unwrap_or_else(|(e, _)| panic!("{codec}: send {i} failed: {e}"));
            assert_eq!(delivery.partition, 0);
            assert_eq!(
                delivery.offset, i as i64,
                "{codec}: offsets must be dense and in send order"
            );
        }
        let got = consume(&bootstrap, &topic, 0, 0, n, Duration::from_secs(20));
        assert_eq!(got.len(), n, "{codec}: read back every record");
        for (i, r) in got.iter().enumerate() {
            assert_eq!(r.offset, i as i64, "{codec}");
            assert_eq!(
                r.key.as_deref(),
                Some(format!("key-{i}").as_bytes()),
                "{codec}"
            );
            assert_eq!(
                r.value.as_deref(),
                Some(format!("value-{i}-{}", "x".repeat(i % 50)).as_bytes()),
                "{codec}"
            );
            assert_eq!(r.timestamp, Some(1_700_000_000_000 + i as i64), "{codec}");
            assert_eq!(
                r.headers,
                vec![
                    ("h1".to_string(), Some(format!("hv-{i}").into_bytes())),
                    ("null-header".to_string(), None)
                ],
                "{codec}"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn partitions_keep_their_own_dense_offsets() {
    let broker = BrokerProcess::start(&[]);
    let bootstrap = broker.bootstrap();
    create_topic(&bootstrap, "multi", 3, &[]).await;
    let p = producer(&bootstrap, &[]);
    let mut sends = Vec::new();
    for i in 0..300 {
        let value = format!("{i}");
        let record = FutureRecord::<(), _>::to("multi")
            .partition(i % 3)
            .payload(&value);
        sends.push(
            p.send_result(record)
                .unwrap_or_else(|(e, _)| panic!("enqueue {i}: {e}")),
        );
    }
    let mut next = [0i64; 3];
    for s in sends {
        let d = s
            .await
            .expect("delivery future completes")
            .expect("delivered");
        assert_eq!(d.offset, next[d.partition as usize]);
        next[d.partition as usize] += 1;
    }
    for part in 0..3 {
        let got = consume(&bootstrap, "multi", part, 0, 100, Duration::from_secs(20));
        let values: Vec<i32> = got
            .iter()
            .map(|r| {
                String::from_utf8_lossy(r.value.as_deref().unwrap())
                    .parse()
                    .unwrap()
            })
            .collect();
        let expected: Vec<i32> = (0..300).filter(|i| i % 3 == part).collect();
        assert_eq!(
            values, expected,
            "partition {part} holds its records in order"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn producing_to_an_unknown_topic_auto_creates_it() {
    let broker = BrokerProcess::start(&["num.partitions=2"]);
    let bootstrap = broker.bootstrap();
    let p = producer(&bootstrap, &[]);
    let d = p
        .send(
            FutureRecord::to("auto-created").key("k").payload("v"),
            Duration::from_secs(10),
        )
        .await
        .expect("delivered to an auto-created topic");
    let got = consume(
        &bootstrap,
        "auto-created",
        d.partition,
        0,
        1,
        Duration::from_secs(20),
    );
    assert_eq!(got[0].value.as_deref(), Some(&b"v"[..]));
    let md = harness::admin(&bootstrap);
    let meta = md
        .inner()
        .fetch_metadata(Some("auto-created"), Duration::from_secs(5))
        .unwrap();
    assert_eq!(
        meta.topics()[0].partitions().len(),
        2,
        "num.partitions applies to auto-created topics"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn log_append_time_topics_carry_the_brokers_timestamp() {
    let broker = BrokerProcess::start(&[]);
    let bootstrap = broker.bootstrap();
    create_topic(
        &bootstrap,
        "stamped",
        1,
        &[("message.timestamp.type", "LogAppendTime")],
    )
    .await;
    let before = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    let p = producer(&bootstrap, &[]);
    p.send(
        FutureRecord::<(), _>::to("stamped")
            .partition(0)
            .payload("x")
            .timestamp(1_000),
        Duration::from_secs(10),
    )
    .await
    .expect("delivered");
    let got = consume(&bootstrap, "stamped", 0, 0, 1, Duration::from_secs(20));
    let ts = got[0].timestamp.expect("a timestamp");
    assert!(
        ts >= before,
        "the producer's timestamp 1000 was replaced by the append time, got {ts}"
    );
}
