//! librdkafka clients as the tests configure them, and helpers that
//! produce and read records through them.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer, ConsumerContext, DefaultConsumerContext};
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::{Message, Offset, TopicPartitionList};

pub fn client_config(bootstrap: &str) -> ClientConfig {
    let mut c = ClientConfig::new();
    c.set("bootstrap.servers", bootstrap)
        .set("broker.address.family", "v4")
        .set("socket.timeout.ms", "10000");
    c
}

/// A group member subscribed to `topic` that commits only when told and
/// starts new partitions at the beginning; `settings` add to or override that.
pub fn subscribed_member(
    bootstrap: &str,
    group: &str,
    topic: &str,
    settings: &[(&str, &str)],
) -> Member {
    let mut config = client_config(bootstrap);
    config
        .set("group.id", group)
        .set("enable.auto.commit", "false")
        .set("auto.offset.reset", "earliest");
    for (k, v) in settings {
        config.set(*k, *v);
    }
    let consumer = Member::new(config.create().expect("consumer"));
    consumer.subscribe(&[topic]).expect("subscribe");
    consumer
}

/// A consumer that subscribes: it leaves its group (see [`leave`]) when
/// dropped, also when its test panics or returns early.
pub struct Member<C: ConsumerContext = DefaultConsumerContext>(Option<BaseConsumer<C>>);

impl<C: ConsumerContext> Member<C> {
    /// Wraps a consumer before it subscribes.
    pub fn new(consumer: BaseConsumer<C>) -> Member<C> {
        Member(Some(consumer))
    }

    /// Closes the consumer as an application would, without leaving
    /// first: for tests of what a close itself does (a static member's
    /// close keeps its place in the group). Only while no rebalance is
    /// pending.
    pub fn close_without_leaving(mut self) {
        drop(self.0.take());
    }
}

impl<C: ConsumerContext> std::ops::Deref for Member<C> {
    type Target = BaseConsumer<C>;

    fn deref(&self) -> &BaseConsumer<C> {
        self.0
            .as_ref()
            .expect("a member is open until it is dropped")
    }
}

impl<C: ConsumerContext> Drop for Member<C> {
    fn drop(&mut self) {
        if let Some(consumer) = self.0.take() {
            leave(&consumer);
        }
    }
}

/// Leaves the group before the consumer is dropped: librdkafka 2.12 can
/// hang for good in a close that finds a rebalance callback pending (the
/// callback's rd_kafka_assign waits on a group handler that is closing), so
/// the revocation is served here, in a plain poll, instead. [`Member`]
/// does this when dropped.
pub fn leave<C: ConsumerContext>(consumer: &BaseConsumer<C>) {
    consumer.unsubscribe();
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline && consumer.assignment().is_ok_and(|a| a.count() > 0) {
        consumer.poll(Duration::from_millis(50));
    }
    consumer.poll(Duration::from_millis(50));
}

pub fn producer(bootstrap: &str, extra: &[(&str, &str)]) -> FutureProducer {
    let mut c = client_config(bootstrap);
    c.set("message.timeout.ms", "15000").set("linger.ms", "5");
    for (k, v) in extra {
        c.set(*k, *v);
    }
    c.create().expect("create producer")
}

pub fn admin(bootstrap: &str) -> AdminClient<DefaultClientContext> {
    client_config(bootstrap)
        .create()
        .expect("create admin client")
}

pub async fn create_topic(bootstrap: &str, name: &str, partitions: i32, configs: &[(&str, &str)]) {
    let admin = admin(bootstrap);
    let mut topic = NewTopic::new(name, partitions, TopicReplication::Fixed(1));
    for (k, v) in configs {
        topic = topic.set(k, v);
    }
    let results = admin
        .create_topics([&topic], &AdminOptions::new())
        .await
        .expect("create_topics request");
    for r in results {
        r.unwrap_or_else(|(t, e)| panic!("creating topic {t} failed: {e}"));
    }
}

/// A consumed record, owned.
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    pub partition: i32,
    pub offset: i64,
    pub key: Option<Vec<u8>>,
    pub value: Option<Vec<u8>>,
    pub timestamp: Option<i64>,
    pub headers: Vec<(String, Option<Vec<u8>>)>,
}

/// Reads `partition` of `topic` from `from` until `count` records arrived or `timeout` passed.
pub fn consume(
    bootstrap: &str,
    topic: &str,
    partition: i32,
    from: i64,
    count: usize,
    timeout: Duration,
) -> Vec<Record> {
    use rdkafka::message::Headers;
    // librdkafka needs a group.id to assign(), even though nothing is committed.
    let consumer: BaseConsumer = client_config(bootstrap)
        .set("group.id", "gregor-test-reader")
        .set("enable.auto.commit", "false")
        .set("enable.partition.eof", "false")
        .create()
        .expect("create consumer");
    let mut tpl = TopicPartitionList::new();
    tpl.add_partition_offset(topic, partition, Offset::Offset(from))
        .expect("tpl");
    consumer.assign(&tpl).expect("assign");
    let deadline = Instant::now() + timeout;
    let mut out = Vec::new();
    while out.len() < count && Instant::now() < deadline {
        match consumer.poll(Duration::from_millis(200)) {
            Some(Ok(m)) => out.push(Record {
                partition: m.partition(),
                offset: m.offset(),
                key: m.key().map(<[u8]>::to_vec),
                value: m.payload().map(<[u8]>::to_vec),
                timestamp: m.timestamp().to_millis(),
                headers: m
                    .headers()
                    .map(|h| {
                        h.iter()
                            .map(|h| (h.key.to_string(), h.value.map(<[u8]>::to_vec)))
                            .collect()
                    })
                    .unwrap_or_default(),
            }),
            Some(Err(e)) => panic!("consume error: {e}"),
            None => {}
        }
    }
    out
}

/// The high watermark of `topic`'s `partition`, from its leader.
pub fn log_end(bootstrap: &str, topic: &str, partition: i32) -> i64 {
    let c: BaseConsumer = client_config(bootstrap).create().expect("consumer");
    c.fetch_watermarks(topic, partition, Duration::from_secs(10))
        .expect("ListOffsets")
        .1
}

/// The partitions currently assigned to `c`.
pub fn assigned(c: &BaseConsumer) -> BTreeSet<i32> {
    c.assignment()
        .map(|a| a.elements().iter().map(|e| e.partition()).collect())
        .unwrap_or_default()
}

/// Polls every consumer until `done` holds; returns the (partition, offset, value) each one read.
pub fn poll_until(
    consumers: &[&BaseConsumer],
    timeout: Duration,
    mut done: impl FnMut(&[Vec<(i32, i64, String)>]) -> bool,
) -> Vec<Vec<(i32, i64, String)>> {
    let deadline = Instant::now() + timeout;
    let mut seen = vec![Vec::new(); consumers.len()];
    while Instant::now() < deadline && !done(&seen) {
        for (i, c) in consumers.iter().enumerate() {
            if let Some(Ok(m)) = c.poll(Duration::from_millis(50)) {
                seen[i].push((
                    m.partition(),
                    m.offset(),
                    String::from_utf8_lossy(m.payload().unwrap_or_default()).to_string(),
                ));
            }
        }
    }
    seen
}

/// Produces the numbers in `values` as strings, record i to partition i % partitions.
pub async fn produce_values(
    bootstrap: &str,
    topic: &str,
    values: std::ops::Range<usize>,
    partitions: i32,
) {
    let p = producer(bootstrap, &[]);
    let mut sends = Vec::new();
    for i in values {
        let value = format!("{i}");
        let record = FutureRecord::<(), _>::to(topic)
            .partition(i as i32 % partitions)
            .payload(&value);
        sends.push(
            p.send_result(record)
                .unwrap_or_else(|(e, _)| panic!("enqueue: {e}")),
        );
    }
    for s in sends {
        s.await.expect("delivery").expect("delivered");
    }
}

/// The numbers every consumer read (as produced by `produce_values`), sorted.
pub fn values_read(seen: &[Vec<(i32, i64, String)>]) -> Vec<usize> {
    let mut values: Vec<usize> = seen
        .iter()
        .flatten()
        .map(|r| r.2.parse().expect("a produced number"))
        .collect();
    values.sort();
    values
}

/// Sends `record-{from}` up to `record-{from + n - 1}` to partition 0 of
/// `topic`, all in flight at once, and waits for every acknowledgement;
/// `extra` is the producer's configuration.
pub async fn produce_numbered(
    bootstrap: &str,
    topic: &str,
    from: usize,
    n: usize,
    extra: &[(&str, &str)],
) {
    let p = producer(bootstrap, extra);
    let sends: Vec<_> = (from..from + n)
        .map(|i| {
            let value = format!("record-{i}");
            p.send_result(
                FutureRecord::<(), _>::to(topic)
                    .partition(0)
                    .payload(&value),
            )
            .unwrap_or_else(|(e, _)| panic!("enqueue {i}: {e}"))
        })
        .collect();
    for (i, s) in sends.into_iter().enumerate() {
        s.await
            .expect("delivery future completes")
            .unwrap_or_else(|(e, _)| panic!("send {} failed: {e}", from + i));
    }
}

/// `record-0` up to `record-{n - 1}`, as `produce_numbered` sends them.
pub fn numbered(n: usize) -> Vec<String> {
    (0..n).map(|i| format!("record-{i}")).collect()
}

/// The records' values as text.
pub fn record_values(records: &[Record]) -> Vec<String> {
    records
        .iter()
        .map(|r| String::from_utf8(r.value.clone().unwrap()).unwrap())
        .collect()
}

/// The values of the first `count` records of partition 0 of `topic`
/// (fewer if they do not all arrive within 30 s).
pub fn read_from_start(bootstrap: &str, topic: &str, count: usize) -> Vec<String> {
    record_values(&consume(
        bootstrap,
        topic,
        0,
        0,
        count,
        Duration::from_secs(30),
    ))
}
