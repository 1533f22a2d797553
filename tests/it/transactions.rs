//! Transactions with librdkafka's transactional producer against a broker
//! the test starts: committed records reach read_committed consumers and
//! aborted ones do not, an open transaction holds them at the last stable
//! offset, a second producer with the same transactional.id fences the
//! first, a hung transaction is aborted at its timeout, and a
//! consume-transform-produce loop is exactly-once across a `kill -9` of the
//! broker and the death of the application mid-transaction. Transactions
//! are described and listed, and bad requests get Kafka's error codes.

use crate::harness;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use harness::{client_config, create_topic, produce_values, wait_until, BrokerProcess, Member};
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::KafkaError;
use rdkafka::producer::{BaseRecord, DefaultProducerContext, Producer, ThreadedProducer};
use rdkafka::{Message, Offset, TopicPartitionList};

type TxnProducer = ThreadedProducer<DefaultProducerContext>;

const TIMEOUT: Duration = Duration::from_secs(15);

/// Small internal topics keep start-up quick; timed-out transactions are
/// looked for often.
const BROKER: &[&str] = &[
    "offsets.topic.num.partitions=3",
    "transaction.state.log.num.partitions=3",
    "transaction.abort.timed.out.transaction.cleanup.interval.ms=200",
    "group.initial.rebalance.delay.ms=0",
];

fn transactional_producer(bootstrap: &str, id: &str, extra: &[(&str, &str)]) -> TxnProducer {
    let mut config = client_config(bootstrap);
    config
        .set("transactional.id", id)
        .set("linger.ms", "5")
        .set("message.timeout.ms", "15000");
    for (k, v) in extra {
        config.set(*k, *v);
    }
    let producer: TxnProducer = config.create().expect("transactional producer");
    producer
        .init_transactions(TIMEOUT)
        .expect("init_transactions");
    producer
}

fn send(producer: &TxnProducer, topic: &str, partition: i32, values: &[&str]) {
    for v in values {
        producer
            .send(
                BaseRecord::<(), _>::to(topic)
                    .partition(partition)
                    .payload(*v),
            )
            .unwrap_or_else(|(e, _)| panic!("enqueue {v}: {e}"));
    }
    producer.flush(TIMEOUT).expect("flush");
}

/// A reader of `topic`'s partition 0 from the beginning at `isolation`.
fn reader(bootstrap: &str, topic: &str, isolation: &str) -> BaseConsumer {
    let consumer: BaseConsumer = client_config(bootstrap)
        .set("group.id", "gregor-txn-reader")
        .set("enable.auto.commit", "false")
        .set("isolation.level", isolation)
        .create()
        .expect("consumer");
    let mut tpl = TopicPartitionList::new();
    tpl.add_partition_offset(topic, 0, Offset::Beginning)
        .expect("tpl");
    consumer.assign(&tpl).expect("assign");
    consumer
}

/// Values read until `count` arrived or `timeout` passed.
fn read(consumer: &BaseConsumer, count: usize, timeout: Duration) -> Vec<String> {
    let deadline = Instant::now() + timeout;
    let mut out = Vec::new();
    while out.len() < count && Instant::now() < deadline {
        match consumer.poll(Duration::from_millis(100)) {
            Some(Ok(m)) => {
                out.push(String::from_utf8_lossy(m.payload().unwrap_or_default()).into_owned())
            }
            Some(Err(e)) => panic!("consume error: {e}"),
            None => {}
        }
    }
    out
}

/// The latest offset of partition 0 as a consumer at `isolation` sees it:
/// the last stable offset under read_committed.
fn latest(bootstrap: &str, topic: &str, isolation: &str) -> i64 {
    let consumer: BaseConsumer = client_config(bootstrap)
        .set("group.id", "gregor-txn-watermarks")
        .set("isolation.level", isolation)
        .create()
        .expect("consumer");
    consumer
        .fetch_watermarks(topic, 0, Duration::from_secs(5))
        .expect("watermarks")
        .1
}

fn is_fenced(e: &KafkaError) -> bool {
    match e {
        KafkaError::Transaction(e) => e.is_fatal(),
        _ => false,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn read_committed_sees_commits_only_and_waits_at_the_stable_offset() {
    let broker = BrokerProcess::start(BROKER);
    let bs = broker.bootstrap();
    create_topic(&bs, "tx", 1, &[]).await;
    let p = transactional_producer(&bs, "writer", &[]);
    for (values, commit) in [
        (&["c1", "c2"][..], true),
        (&["a1", "a2"][..], false),
        (&["c3"][..], true),
    ] {
        p.begin_transaction().expect("begin");
        send(&p, "tx", 0, values);
        if commit {
            p.commit_transaction(TIMEOUT).expect("commit");
        } else {
            p.abort_transaction(TIMEOUT).expect("abort");
        }
    }
    let committed = reader(&bs, "tx", "read_committed");
    assert_eq!(read(&committed, 3, TIMEOUT), ["c1", "c2", "c3"]);
    let uncommitted = reader(&bs, "tx", "read_uncommitted");
    assert_eq!(
        read(&uncommitted, 5, TIMEOUT),
        ["c1", "c2", "a1", "a2", "c3"],
        "read_uncommitted sees aborted records too"
    );

    // Records 0-1, marker 2, 3-4, marker 5, record 6, marker 7: the open
    // transaction starts at 8.
    p.begin_transaction().expect("begin");
    send(&p, "tx", 0, &["open"]);
    assert_eq!(latest(&bs, "tx", "read_committed"), 8);
    assert_eq!(latest(&bs, "tx", "read_uncommitted"), 9);
    assert_eq!(
        read(&committed, 1, Duration::from_secs(2)),
        Vec::<String>::new(),
        "read_committed stops at the open transaction"
    );
    assert_eq!(read(&uncommitted, 1, TIMEOUT), ["open"]);
    p.commit_transaction(TIMEOUT).expect("commit");
    assert_eq!(read(&committed, 1, TIMEOUT), ["open"]);
    assert_eq!(latest(&bs, "tx", "read_committed"), 10);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_producer_with_the_same_id_fences_the_first() {
    let broker = BrokerProcess::start(BROKER);
    let bs = broker.bootstrap();
    create_topic(&bs, "fenced", 1, &[]).await;
    let zombie = transactional_producer(&bs, "shared-id", &[]);
    zombie.begin_transaction().expect("begin");
    send(&zombie, "fenced", 0, &["zombie"]);

    let successor = transactional_producer(&bs, "shared-id", &[]);
    let committed = zombie.commit_transaction(TIMEOUT);
    assert!(
        committed.as_ref().is_err_and(is_fenced),
        "the first producer is fenced: {committed:?}"
    );
    successor.begin_transaction().expect("begin");
    send(&successor, "fenced", 0, &["successor"]);
    successor.commit_transaction(TIMEOUT).expect("commit");
    let committed = reader(&bs, "fenced", "read_committed");
    assert_eq!(
        read(&committed, 2, Duration::from_secs(5)),
        ["successor"],
        "the fenced producer's open transaction was aborted"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hung_transaction_is_aborted_at_its_timeout() {
    let broker = BrokerProcess::start(BROKER);
    let bs = broker.bootstrap();
    create_topic(&bs, "hung", 1, &[]).await;
    let p = transactional_producer(
        &bs,
        "hangs",
        &[
            ("transaction.timeout.ms", "2000"),
            ("socket.timeout.ms", "2000"),
            ("message.timeout.ms", "2000"),
        ],
    );
    p.begin_transaction().expect("begin");
    send(&p, "hung", 0, &["never committed"]);
    assert_eq!(latest(&bs, "hung", "read_committed"), 0);
    assert!(
        wait_until(TIMEOUT, || latest(&bs, "hung", "read_committed") == 2),
        "the coordinator aborts the transaction and the stable offset moves past its marker"
    );
    let committed = p.commit_transaction(TIMEOUT);
    assert!(
        committed.is_err(),
        "the producer whose transaction timed out cannot commit it"
    );
    let reader = reader(&bs, "hung", "read_committed");
    assert_eq!(
        read(&reader, 1, Duration::from_secs(2)),
        Vec::<String>::new()
    );
}

/// Reads the whole of `topic` partition 0 at read_committed: value -> count.
fn committed_counts(bootstrap: &str, topic: &str, expected: usize) -> BTreeMap<String, usize> {
    let consumer = reader(bootstrap, topic, "read_committed");
    let mut counts = BTreeMap::new();
    for v in read(&consumer, expected + 1, Duration::from_secs(5)) {
        *counts.entry(v).or_insert(0) += 1;
    }
    counts
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn consume_transform_produce_is_exactly_once_across_kill_9() {
    const RECORDS: usize = 300;
    const BATCH: usize = 20;
    let mut broker = BrokerProcess::start(BROKER);
    let bs = broker.bootstrap();
    create_topic(&bs, "ctp-in", 1, &[]).await;
    create_topic(&bs, "ctp-out", 1, &[]).await;
    produce_values(&bs, "ctp-in", 0..RECORDS, 1).await;

    let start = |bs: &str| -> (Member, TxnProducer) {
        let consumer = Member::new(
            client_config(bs)
                .set("group.id", "ctp")
                .set("enable.auto.commit", "false")
                .set("auto.offset.reset", "earliest")
                .set("isolation.level", "read_committed")
                .create()
                .expect("consumer"),
        );
        consumer.subscribe(&["ctp-in"]).expect("subscribe");
        let producer = transactional_producer(bs, "ctp-transformer", &[]);
        (consumer, producer)
    };
    let (mut consumer, mut producer) = start(&bs);
    let mut killed = false;
    let mut batches = 0;
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        assert!(Instant::now() < deadline, "the pipeline did not finish");
        let mut values = Vec::new();
        let poll_until = Instant::now() + Duration::from_millis(500);
        while values.len() < BATCH && Instant::now() < poll_until {
            if let Some(Ok(m)) = consumer.poll(Duration::from_millis(50)) {
                values.push(String::from_utf8_lossy(m.payload().unwrap_or_default()).into_owned());
            }
        }
        if values.is_empty() {
            if committed_counts(&bs, "ctp-out", RECORDS).len() == RECORDS {
                break;
            }
            continue;
        }
        let step = (|| -> Result<(), KafkaError> {
            producer.begin_transaction()?;
            for v in &values {
                let out = format!("out-{v}");
                producer
                    .send(BaseRecord::<(), _>::to("ctp-out").payload(&out))
                    .map_err(|(e, _)| e)?;
            }
            producer.flush(TIMEOUT)?;
            batches += 1;
            if batches == 5 && !killed {
                // Mid-transaction: its records are in the log, its end is not.
                killed = true;
                broker.kill9();
                broker.restart_on_same_port();
            }
            if batches == 10 {
                // The application dies mid-transaction: its successor must
                // abort what it wrote and redo it from the committed offsets.
                return Err(KafkaError::Canceled);
            }
            let position = consumer.position()?;
            producer.send_offsets_to_transaction(
                &position,
                &consumer.group_metadata().expect("group metadata"),
                TIMEOUT,
            )?;
            producer.commit_transaction(TIMEOUT)
        })();
        if let Err(e) = step {
            // The standard recovery: start over from the committed offsets
            // with a new producer, which fences and aborts the old one.
            eprintln!("transaction failed ({e}); restarting the pipeline");
            drop(producer);
            drop(consumer);
            (consumer, producer) = start(&bs);
        }
    }
    assert!(killed, "the broker was killed mid-stream");
    let counts = committed_counts(&bs, "ctp-out", RECORDS);
    let expected: BTreeMap<String, usize> = (0..RECORDS).map(|i| (format!("out-{i}"), 1)).collect();
    assert_eq!(
        counts, expected,
        "every input is in the output exactly once"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transactions_are_described_listed_and_refused_with_kafka_errors() {
    use kafka_protocol::error::ResponseError;
    use kafka_protocol::messages::{
        DescribeTransactionsRequest, EndTxnRequest, FindCoordinatorRequest, InitProducerIdRequest,
        ListTransactionsRequest, ProducerId, TransactionalId,
    };
    use kafka_protocol::protocol::StrBytes;

    let broker = BrokerProcess::start(BROKER);
    let bs = broker.bootstrap();
    create_topic(&bs, "listed", 2, &[]).await;
    let p = transactional_producer(&bs, "described", &[]);
    p.begin_transaction().expect("begin");
    send(&p, "listed", 0, &["x"]);
    send(&p, "listed", 1, &["y"]);

    let mut client = harness::RawClient::connect(broker.port);
    let id = |s: &'static str| TransactionalId(StrBytes::from_static_str(s));
    let found = client
        .call(
            &FindCoordinatorRequest::default()
                .with_key_type(1)
                .with_coordinator_keys(vec![StrBytes::from_static_str("described")]),
            4,
        )
        .expect("FindCoordinator answered");
    assert_eq!(found.coordinators[0].error_code, 0);
    assert_eq!(found.coordinators[0].port, i32::from(broker.port));

    let described = client
        .call(
            &DescribeTransactionsRequest::default()
                .with_transactional_ids(vec![id("described"), id("unknown")]),
            0,
        )
        .expect("DescribeTransactions answered");
    let open = &described.transaction_states[0];
    assert_eq!(open.error_code, 0);
    assert_eq!(open.transaction_state.as_str(), "Ongoing");
    assert!(open.transaction_start_time_ms > 0);
    let partitions: Vec<(String, Vec<i32>)> = open
        .topics
        .iter()
        .map(|t| (t.topic.0.to_string(), t.partitions.clone()))
        .collect();
    assert_eq!(partitions, [("listed".to_string(), vec![0, 1])]);
    assert_eq!(
        described.transaction_states[1].error_code,
        ResponseError::TransactionalIdNotFound.code()
    );

    let list = |client: &mut harness::RawClient, states: &[&'static str]| {
        client
            .call(
                &ListTransactionsRequest::default()
                    .with_state_filters(
                        states
                            .iter()
                            .map(|s| StrBytes::from_static_str(s))
                            .collect(),
                    )
                    .with_duration_filter(-1),
                1,
            )
            .expect("ListTransactions answered")
    };
    let ongoing = list(&mut client, &["Ongoing", "Sleeping"]);
    assert_eq!(ongoing.transaction_states.len(), 1);
    assert_eq!(
        ongoing.transaction_states[0].transactional_id.0.as_str(),
        "described"
    );
    assert_eq!(ongoing.transaction_states[0].producer_id, open.producer_id);
    assert_eq!(
        ongoing.unknown_state_filters,
        [StrBytes::from_static_str("Sleeping")]
    );

    // A stale epoch and an unknown id are refused as Kafka refuses them.
    let end = |client: &mut harness::RawClient, txn: &'static str, epoch: i16| {
        client
            .call(
                &EndTxnRequest::default()
                    .with_transactional_id(id(txn))
                    .with_producer_id(open.producer_id)
                    .with_producer_epoch(epoch)
                    .with_committed(true),
                3,
            )
            .expect("EndTxn answered")
            .error_code
    };
    assert_eq!(
        end(&mut client, "described", open.producer_epoch - 1),
        ResponseError::ProducerFenced.code()
    );
    assert_eq!(
        end(&mut client, "unknown", 0),
        ResponseError::InvalidProducerIdMapping.code()
    );
    let too_long = client
        .call(
            &InitProducerIdRequest::default()
                .with_transactional_id(Some(id("too-long")))
                .with_transaction_timeout_ms(3_600_000)
                .with_producer_id(ProducerId(-1))
                .with_producer_epoch(-1),
            4,
        )
        .expect("InitProducerId answered");
    assert_eq!(
        too_long.error_code,
        ResponseError::InvalidTransactionTimeout.code()
    );

    p.commit_transaction(TIMEOUT).expect("commit");
    let complete = list(&mut client, &["CompleteCommit"]);
    assert_eq!(complete.transaction_states.len(), 1);
    assert!(list(&mut client, &["Ongoing"])
        .transaction_states
        .is_empty());
}

/// The end offset of `topic`'s `partition` at read_uncommitted: records and
/// markers alike.
fn end_offset(bootstrap: &str, topic: &str, partition: i32) -> i64 {
    let consumer: BaseConsumer = client_config(bootstrap)
        .set("group.id", "gregor-txn-watermarks")
        .create()
        .expect("consumer");
    consumer
        .fetch_watermarks(topic, partition, Duration::from_secs(5))
        .expect("watermarks")
        .1
}

/// A marker that cannot be written yet (its partition's leader is down)
/// is written once the leader is back, and the partitions that already
/// had theirs get no second one from those retries.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_marker_retry_writes_only_the_markers_still_missing() {
    use kafka_protocol::messages::{
        DescribeTransactionsRequest, FindCoordinatorRequest, MetadataRequest, TransactionalId,
    };
    use kafka_protocol::protocol::StrBytes;
    use rdkafka::admin::{AdminOptions, NewTopic, TopicReplication};

    let mut brokers = harness::start_cluster(
        3,
        &[
            "offsets.topic.num.partitions=1",
            "offsets.topic.replication.factor=1",
            "transaction.state.log.num.partitions=1",
            "transaction.state.log.replication.factor=1",
            "transaction.abort.timed.out.transaction.cleanup.interval.ms=200",
            "broker.session.timeout.ms=2000",
        ],
    );
    let bootstrap = brokers
        .iter()
        .map(|b| b.bootstrap())
        .collect::<Vec<_>>()
        .join(",");
    let mut coordinator = 0;
    assert!(
        wait_until(TIMEOUT, || {
            let found = harness::RawClient::connect(brokers[0].port)
                .call(
                    &FindCoordinatorRequest::default()
                        .with_key(StrBytes::from_static_str("retrying"))
                        .with_key_type(1),
                    1,
                )
                .expect("FindCoordinator answered");
            coordinator = found.node_id.0;
            found.error_code == 0
        }),
        "the transaction coordinator is found"
    );
    let other = if coordinator == 1 { 2 } else { 1 };
    // Partition 0 is led by the coordinator, partition 1 by the other broker.
    let (on_coordinator, on_other) = ([coordinator], [other]);
    let replicas: [&[i32]; 2] = [&on_coordinator, &on_other];
    let topic = NewTopic::new("retried", 2, TopicReplication::Variable(&replicas));
    for r in harness::admin(&bootstrap)
        .create_topics([&topic], &AdminOptions::new())
        .await
        .expect("create_topics")
    {
        r.expect("topic created");
    }

    let p = transactional_producer(&bootstrap, "retrying", &[]);
    p.begin_transaction().expect("begin");
    send(&p, "retried", 0, &["here"]);
    send(&p, "retried", 1, &["there"]);
    brokers[other as usize - 1].kill9();
    // Decided once the PrepareCommit record is written: answered although
    // one marker waits for its leader.
    p.commit_transaction(TIMEOUT).expect("commit");

    // The coordinator retries the missing marker meanwhile (every 200 ms)
    // until the controller takes the dead broker's partition offline.
    let port = brokers[coordinator as usize - 1].port;
    let leader_of_partition_1 = || {
        let response = harness::RawClient::connect(port)
            .call(&MetadataRequest::default().with_topics(None), 12)
            .expect("Metadata answered");
        response
            .topics
            .iter()
            .find(|t| t.name.as_ref().is_some_and(|n| n.0.as_str() == "retried"))
            .and_then(|t| t.partitions.iter().find(|p| p.partition_index == 1))
            .map(|p| p.leader_id.0)
    };
    assert!(
        wait_until(Duration::from_secs(20), || leader_of_partition_1()
            == Some(-1)),
        "the dead broker's partition goes offline"
    );
    brokers[other as usize - 1].restart_on_same_port();

    let state = || {
        harness::RawClient::connect(port)
            .call(
                &DescribeTransactionsRequest::default().with_transactional_ids(vec![
                    TransactionalId(StrBytes::from_static_str("retrying")),
                ]),
                0,
            )
            .expect("DescribeTransactions answered")
            .transaction_states[0]
            .transaction_state
            .to_string()
    };
    assert!(
        wait_until(Duration::from_secs(30), || state() == "CompleteCommit"),
        "the transaction completes once the leader is back: {}",
        state()
    );
    assert_eq!(
        (
            end_offset(&bootstrap, "retried", 0),
            end_offset(&bootstrap, "retried", 1)
        ),
        (2, 2),
        "one record and one COMMIT marker on each partition"
    );
}
