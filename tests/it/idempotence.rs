//! Idempotent producers: InitProducerId, retried batches answered with
//! their original offsets and never written twice (across restarts and a
//! `kill -9` too), sequence gaps and stale epochs refused, and librdkafka's
//! idempotent producer losing nothing and duplicating nothing while the
//! broker is killed under it.

use crate::harness;

use std::collections::BTreeMap;
use std::time::Duration;

use bytes::Bytes;
use harness::{
    client_config, consume, create_topic, producer, record_batch, BrokerProcess, FaultyProxy,
    RawClient,
};
use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::InitProducerIdRequest;
use kafka_protocol::protocol::StrBytes;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::producer::FutureRecord;

fn text(value: &Option<Vec<u8>>) -> String {
    String::from_utf8_lossy(value.as_deref().unwrap_or_default()).into_owned()
}

/// A batch of `count` records from producer (`id`, `epoch`) starting at `sequence`.
fn batch(id: i64, epoch: i16, sequence: i32, count: i32) -> Bytes {
    let values: Vec<String> = (0..count).map(|i| format!("{sequence}+{i}")).collect();
    let values: Vec<&str> = values.iter().map(String::as_str).collect();
    record_batch(&values, (id, epoch, sequence))
}

/// (error code, base offset) of one produce.
fn produce(client: &mut RawClient, topic: &str, records: Bytes) -> (i16, i64) {
    let p = harness::produce_raw(client, topic, 0, -1, records);
    (p.error_code, p.base_offset)
}

fn init_producer_id(client: &mut RawClient) -> (i64, i16) {
    let response = client
        .call(
            &InitProducerIdRequest::default()
                .with_transactional_id(None)
                .with_transaction_timeout_ms(60_000),
            4,
        )
        .expect("InitProducerId answered");
    assert_eq!(response.error_code, 0);
    (response.producer_id.0, response.producer_epoch)
}

#[tokio::test]
async fn retries_are_answered_with_their_first_offsets_even_after_a_crash() {
    let mut broker = BrokerProcess::start(&[]);
    create_topic(&broker.bootstrap(), "once", 1, &[]).await;
    let mut client = RawClient::connect(broker.port);
    let (id, epoch) = init_producer_id(&mut client);
    assert!(id >= 0);
    assert_eq!(epoch, 0);
    let (other, _) = init_producer_id(&mut client);
    assert_ne!(id, other, "every producer gets its own id");
    let empty = client
        .call(
            &InitProducerIdRequest::default()
                .with_transactional_id(Some(StrBytes::from_static_str("").into()))
                .with_transaction_timeout_ms(60_000),
            4,
        )
        .expect("answered");
    assert_eq!(empty.error_code, ResponseError::InvalidRequest.code());

    assert_eq!(produce(&mut client, "once", batch(id, 0, 0, 3)), (0, 0));
    assert_eq!(produce(&mut client, "once", batch(id, 0, 3, 2)), (0, 3));
    assert_eq!(
        produce(&mut client, "once", batch(id, 0, 0, 3)),
        (0, 0),
        "a retry gets its first offset back"
    );
    assert_eq!(
        produce(&mut client, "once", batch(id, 0, 9, 1)).0,
        ResponseError::OutOfOrderSequenceNumber.code()
    );
    assert_eq!(produce(&mut client, "once", batch(other, 0, 0, 1)), (0, 5));

    // A clean stop snapshots the state; a kill -9 leaves it to be rebuilt
    // from the log. Either way the retry is still recognised.
    broker.stop();
    broker.restart();
    let mut client = RawClient::connect(broker.port);
    assert_eq!(produce(&mut client, "once", batch(id, 0, 3, 2)), (0, 3));
    assert_eq!(produce(&mut client, "once", batch(id, 0, 5, 1)), (0, 6));
    broker.kill9();
    broker.restart();
    let mut client = RawClient::connect(broker.port);
    assert_eq!(produce(&mut client, "once", batch(id, 0, 5, 1)), (0, 6));
    assert_eq!(produce(&mut client, "once", batch(other, 0, 0, 1)), (0, 5));

    // A producer that bumped its epoch starts again at 0; the old epoch is fenced.
    assert_eq!(produce(&mut client, "once", batch(id, 1, 0, 1)), (0, 7));
    assert_eq!(
        produce(&mut client, "once", batch(id, 0, 6, 1)).0,
        ResponseError::InvalidProducerEpoch.code()
    );
    assert_eq!(
        produce(&mut client, "once", batch(id, 2, 5, 1)).0,
        ResponseError::OutOfOrderSequenceNumber.code(),
        "a new epoch must start at sequence 0"
    );

    let records = consume(
        &broker.bootstrap(),
        "once",
        0,
        0,
        8,
        Duration::from_secs(15),
    );
    let values: Vec<String> = records.iter().map(|r| text(&r.value)).collect();
    assert_eq!(
        values,
        ["0+0", "0+1", "0+2", "3+0", "3+1", "0+0", "5+0", "0+0"],
        "every batch once, in order"
    );
}

/// Every 7th response is lost on the way (the connection breaks instead),
/// so librdkafka retries batches the broker already wrote; and the broker
/// is killed halfway. Each record is still written exactly once, in order.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lost_acknowledgements_and_a_kill_9_cause_no_duplicates_or_gaps() {
    let proxy = FaultyProxy::start(7);
    let advertised = format!("advertised.listeners=PLAINTEXT://127.0.0.1:{}", proxy.port);
    let mut broker = BrokerProcess::start(&[&advertised]);
    proxy.forward_to(broker.port);
    create_topic(&broker.bootstrap(), "exactly", 3, &[]).await;
    let bs = format!("127.0.0.1:{}", proxy.port);
    let p = producer(
        &bs,
        &[
            ("enable.idempotence", "true"),
            ("message.timeout.ms", "60000"),
            ("linger.ms", "2"),
        ],
    );
    let mut deliveries = Vec::new();
    for i in 0..3000 {
        if i == 1500 {
            broker.kill9();
            broker.restart_on_same_port();
        }
        let value = i.to_string();
        let record = FutureRecord::<(), _>::to("exactly")
            .partition(i % 3)
            .payload(&value);
        deliveries.push(
            p.send_result(record)
                .unwrap_or_else(|(e, _)| panic!("enqueue: {e}")),
        );
        if i % 10 == 0 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
    for d in deliveries {
        d.await.expect("delivery").expect("delivered");
    }
    assert!(proxy.dropped() > 0, "some acknowledgements were lost");
    proxy.heal();
    let bs = broker.bootstrap();
    let mut by_partition: BTreeMap<i32, Vec<i64>> = BTreeMap::new();
    for partition in 0..3 {
        let records = consume(&bs, "exactly", partition, 0, 1000, Duration::from_secs(30));
        by_partition.insert(
            partition,
            records
                .iter()
                .map(|r| text(&r.value).parse().unwrap())
                .collect(),
        );
        let reader: BaseConsumer = client_config(&bs).create().expect("consumer");
        let (_, end) = reader
            .fetch_watermarks("exactly", partition, Duration::from_secs(10))
            .expect("watermarks");
        assert_eq!(end, 1000, "partition {partition} holds nothing twice");
    }
    for (partition, values) in by_partition {
        let expected: Vec<i64> = (0..3000)
            .filter(|i| i % 3 == i64::from(partition))
            .collect();
        assert_eq!(
            values, expected,
            "partition {partition}: each record once, in order"
        );
    }
}

/// A clean stop snapshots each partition's producer state at its log end
/// (Kafka's `UnifiedLog.close`), so the next start loads it instead of
/// replaying the active segment's batches; retries are still recognised.
#[tokio::test]
async fn a_clean_stop_snapshots_producer_state_at_the_log_end() {
    let mut broker = BrokerProcess::start(&[]);
    create_topic(&broker.bootstrap(), "snapped", 1, &[]).await;
    let mut client = RawClient::connect(broker.port);
    let (id, epoch) = init_producer_id(&mut client);
    assert_eq!(
        produce(&mut client, "snapped", batch(id, epoch, 0, 3)),
        (0, 0)
    );
    assert_eq!(
        produce(&mut client, "snapped", batch(id, epoch, 3, 4)),
        (0, 3)
    );
    drop(client);
    broker.stop();
    let snapshot = broker
        .dir
        .join("snapped-0")
        .join(format!("{:020}.snapshot", 7));
    assert!(
        snapshot.exists(),
        "{} after a clean stop; the partition holds {:?}",
        snapshot.display(),
        std::fs::read_dir(broker.dir.join("snapped-0"))
            .map(|d| d.flatten().map(|e| e.file_name()).collect::<Vec<_>>())
    );
    broker.restart();
    let mut client = RawClient::connect(broker.port);
    assert_eq!(
        produce(&mut client, "snapped", batch(id, epoch, 3, 4)),
        (0, 3),
        "a retry of the last batch gets its first offset back"
    );
    assert_eq!(
        produce(&mut client, "snapped", batch(id, epoch, 7, 1)),
        (0, 7)
    );
}
