//! Fetch semantics on the wire: long poll on min_bytes / max_wait_ms,
//! max_bytes and partition_max_bytes, KIP-74's first-batch rule, offsets out
//! of range, and the watermarks every response carries.

use crate::harness;

use std::time::{Duration, Instant};

use harness::{create_topic, producer, record_offsets, BrokerProcess, RawClient};
use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::fetch_request::{FetchPartition, FetchTopic};
use kafka_protocol::messages::fetch_response::PartitionData;
use kafka_protocol::messages::{FetchRequest, TopicName};
use kafka_protocol::protocol::StrBytes;
use rdkafka::producer::FutureRecord;

const FETCH_VERSION: i16 = 12;

fn fetch(
    topic: &str,
    offset: i64,
    max_wait_ms: i32,
    min_bytes: i32,
    max_bytes: i32,
    partition_max_bytes: i32,
) -> FetchRequest {
    FetchRequest::default()
        .with_replica_id(kafka_protocol::messages::BrokerId(-1))
        .with_max_wait_ms(max_wait_ms)
        .with_min_bytes(min_bytes)
        .with_max_bytes(max_bytes)
        .with_session_epoch(-1)
        .with_topics(vec![FetchTopic::default()
            .with_topic(TopicName(StrBytes::from_string(topic.to_string())))
            .with_partitions(vec![FetchPartition::default()
                .with_partition(0)
                .with_fetch_offset(offset)
                .with_current_leader_epoch(-1)
                .with_partition_max_bytes(partition_max_bytes)])])
}

fn only_partition(client: &mut RawClient, request: &FetchRequest) -> PartitionData {
    let response = client.call(request, FETCH_VERSION).expect("fetch response");
    assert_eq!(response.error_code, 0);
    response.responses[0].partitions[0].clone()
}

async fn produce_batches(bootstrap: &str, topic: &str, n: usize, size: usize) {
    produce_batches_to(bootstrap, topic, 0, n, size).await
}

/// acks=all (the client's default): each send returns once replicated.
async fn produce_batches_to(bootstrap: &str, topic: &str, partition: i32, n: usize, size: usize) {
    let p = producer(
        bootstrap,
        &[("linger.ms", "0"), ("compression.type", "none")],
    );
    for i in 0..n {
        let value = format!("{i:0size$}");
        p.send(
            FutureRecord::<(), _>::to(topic)
                .partition(partition)
                .payload(&value),
            Duration::from_secs(10),
        )
        .await
        .expect("delivered");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_long_poll_is_answered_when_data_arrives() {
    let broker = BrokerProcess::start(&[]);
    create_topic(&broker.bootstrap(), "poll", 1, &[]).await;
    let port = broker.port;
    // Kafka caps nothing here; Gregor caps max_wait at 60 s, and the raw
    // client gives up after 10 s, so only a wake-up on append can answer in time.
    let waiter = std::thread::spawn(move || {
        let mut client = RawClient::connect(port);
        only_partition(&mut client, &fetch("poll", 0, 60_000, 1, 1 << 20, 1 << 20))
    });
    let mut probe = RawClient::connect(port);
    let empty = only_partition(&mut probe, &fetch("poll", 0, 0, 0, 1 << 20, 1 << 20));
    assert_eq!(
        (empty.high_watermark, record_offsets(&empty).len()),
        (0, 0),
        "nothing to read yet"
    );
    produce_batches(&broker.bootstrap(), "poll", 1, 10).await;
    let answered = waiter
        .join()
        .expect("long poll answered before the client's 10 s timeout");
    assert_eq!(record_offsets(&answered), vec![0]);
    assert_eq!(answered.high_watermark, 1);
    assert_eq!(answered.log_start_offset, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_long_poll_waits_for_its_own_partition_and_not_for_others() {
    let broker = BrokerProcess::start(&[]);
    create_topic(&broker.bootstrap(), "two", 2, &[]).await;
    let port = broker.port;
    let (sent, sent_rx) = std::sync::mpsc::channel();
    let waiter = std::thread::spawn(move || {
        let mut client = RawClient::connect(port);
        sent.send(()).unwrap();
        let asked = Instant::now();
        let answer = only_partition(&mut client, &fetch("two", 0, 60_000, 1, 1 << 20, 1 << 20));
        (answer, asked.elapsed())
    });
    sent_rx.recv().unwrap();
    produce_batches_to(&broker.bootstrap(), "two", 1, 5, 10).await;
    assert!(
        !waiter.is_finished(),
        "a long poll on partition 0 answered by appends to partition 1"
    );
    let appended = Instant::now();
    produce_batches_to(&broker.bootstrap(), "two", 0, 1, 10).await;
    let (answered, waited) = waiter
        .join()
        .expect("long poll answered before the client's 10 s timeout");
    assert_eq!(record_offsets(&answered), vec![0]);
    assert_eq!(answered.high_watermark, 1);
    // Answered by the append itself, not by max_wait (60 s).
    assert!(
        waited < Duration::from_secs(9) && appended.elapsed() < Duration::from_secs(9),
        "answered after {waited:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn byte_limits_are_honoured_and_the_first_batch_always_comes_back() {
    let broker = BrokerProcess::start(&[]);
    create_topic(&broker.bootstrap(), "limits", 1, &[]).await;
    produce_batches(&broker.bootstrap(), "limits", 10, 1000).await;
    let mut client = RawClient::connect(broker.port);

    let all = only_partition(&mut client, &fetch("limits", 0, 0, 1, 1 << 20, 1 << 20));
    assert_eq!(record_offsets(&all), (0..10).collect::<Vec<_>>());
    assert_eq!(all.high_watermark, 10);

    let batch_size = all.records.as_ref().unwrap().len() / 10;
    let two = only_partition(
        &mut client,
        &fetch(
            "limits",
            0,
            0,
            1,
            1 << 20,
            (batch_size * 2 + batch_size / 2) as i32,
        ),
    );
    assert_eq!(
        record_offsets(&two),
        vec![0, 1],
        "partition_max_bytes stops at whole batches"
    );
    let capped = only_partition(
        &mut client,
        &fetch("limits", 3, 0, 1, (batch_size * 3) as i32, 1 << 20),
    );
    assert_eq!(
        record_offsets(&capped),
        vec![3, 4, 5],
        "max_bytes bounds the response"
    );
    let tiny = only_partition(&mut client, &fetch("limits", 7, 0, 1, 10, 10));
    assert_eq!(
        record_offsets(&tiny),
        vec![7],
        "a batch over the limits still comes back first (KIP-74)"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn offsets_outside_the_log_are_out_of_range() {
    let broker = BrokerProcess::start(&[]);
    create_topic(&broker.bootstrap(), "range", 1, &[]).await;
    produce_batches(&broker.bootstrap(), "range", 3, 10).await;
    let mut client = RawClient::connect(broker.port);
    let beyond = only_partition(&mut client, &fetch("range", 4, 0, 1, 1 << 20, 1 << 20));
    assert_eq!(beyond.error_code, ResponseError::OffsetOutOfRange.code());
    assert_eq!(
        (beyond.high_watermark, beyond.log_start_offset),
        (3, 0),
        "watermarks come back with the error"
    );
    let at_end = only_partition(&mut client, &fetch("range", 3, 0, 1, 1 << 20, 1 << 20));
    assert_eq!(
        at_end.error_code, 0,
        "fetching at the log end is not an error"
    );
    assert!(record_offsets(&at_end).is_empty());
    let unknown = only_partition(
        &mut client,
        &fetch("no-such-topic", 0, 0, 1, 1 << 20, 1 << 20),
    );
    assert_eq!(
        unknown.error_code,
        ResponseError::UnknownTopicOrPartition.code()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_brokers_fetch_max_bytes_caps_what_a_client_asks_for() {
    let broker = BrokerProcess::start(&["fetch.max.bytes=2500"]);
    create_topic(&broker.bootstrap(), "capped", 1, &[]).await;
    produce_batches(&broker.bootstrap(), "capped", 10, 1000).await;
    let mut client = RawClient::connect(broker.port);
    let got = only_partition(&mut client, &fetch("capped", 0, 0, 1, 1 << 20, 1 << 20));
    assert_eq!(
        record_offsets(&got),
        vec![0, 1],
        "two ~1 KB batches fit in 2500 bytes, a third does not"
    );
}
